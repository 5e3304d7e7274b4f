//! Tests across images: the images are the trials (METHOD.md, "Statistics
//! across images"). Each function takes one value per image (or per pair of
//! images) and returns a [`Test`] with n, the effect, its t-interval, the
//! t-test p-value and an exact or Monte Carlo permutation p-value.
//!
//! # Formulas (x₁ … xₙ the finite values; non-finite ones are dropped)
//!
//! - mean x̄ = Σxᵢ/n; sample sd s = √(Σ(xᵢ − x̄)²/(n − 1)); se = s/√n.
//! - **t-interval** at level 1 − α: x̄ ± t_{1−α/2, n−1} · se (Student's t
//!   quantile with n − 1 degrees of freedom, [`super::distribution`]).
//! - **one-sample t-test** of H₀: E[x] = μ₀: t = (x̄ − μ₀)/se with n − 1
//!   degrees of freedom, two-sided p = P(|T| ≥ |t|).
//! - **paired t-test** of a against b over the same images: the one-sample
//!   test of dᵢ = aᵢ − bᵢ against 0 (pairs with a non-finite member dropped).
//! - **Welch's t-test** of two independent sets: t = (ā − b̄)/√(s_a²/n_a +
//!   s_b²/n_b), Welch–Satterthwaite degrees of freedom
//!   ν = (s_a²/n_a + s_b²/n_b)² / ((s_a²/n_a)²/(n_a−1) + (s_b²/n_b)²/(n_b−1));
//!   the interval is (ā − b̄) ± t_{1−α/2, ν}·√(s_a²/n_a + s_b²/n_b).
//! - **sign-flip permutation test** (one-sample and paired): under H₀ the
//!   centred values yᵢ = xᵢ − μ₀ (or the differences dᵢ) are symmetric about
//!   0, so each of the 2ⁿ sign patterns is equally likely. p = share of
//!   patterns whose |Σ ±yᵢ| ≥ |Σ yᵢ| (two-sided). Σyᵢ² does not change under
//!   sign flips, so |t| is an increasing function of |Σyᵢ| and this is also the
//!   permutation p-value of |t|. The smallest p possible is 2/2ⁿ (1/512 for
//!   n = 10): with few images, no correction survives many tests.
//! - **two-sample permutation test** (independent sets): all C(n_a + n_b,
//!   n_a) ways to relabel the pooled values into sets of n_a and n_b;
//!   p = share with |mean difference| ≥ the observed one (two-sided).
//! - **one-sided** p-values ([`Alternative::Greater`] / `Less`): P(T ≥ t)
//!   (P(T ≤ t)), and the share of patterns whose signed Σ (mean difference)
//!   is at least (at most) the observed one. Intervals stay two-sided.
//!
//! Exact enumeration when the number of patterns is at most
//! [`Permutations::max_exact`] (default 2²⁰: sign flips up to n = 20, two
//! sets of 10); otherwise `draws` random patterns from a seeded generator
//! (`rand`'s `StdRng`, reproducible for a given seed and freqtag version),
//! with p = (1 + hits)/(1 + draws) so that p is never 0 (Phipson & Smyth
//! 2010). Observed and permuted statistics are compared with a relative
//! tolerance of 1e-9 so that float rounding does not split ties.
//!
//! # Assumptions
//!
//! Images are independent draws from the population of images the claim is
//! about (units of one image are *not* independent: do not use them as
//! trials). The t-test and t-interval assume the per-image values are
//! roughly normal (or n large enough for the mean to be); the sign-flip test
//! assumes only symmetry of the values (differences) about μ₀ under H₀, the
//! two-sample permutation test only exchangeability of the images between
//! sets. Fewer than 2 finite values give NaN statistics (n is still
//! reported); a zero sd gives t = ±∞ (p = 0) for a non-zero effect and NaN
//! for a zero one.

use rand::{seq::SliceRandom, Rng, SeedableRng};

use super::distribution::{t_quantile, t_two_sided};
use crate::error::{Error, Result};

/// How permutation p-values are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permutations {
    /// Enumerate every pattern when there are at most this many (else draw).
    pub max_exact: u64,
    /// Random patterns drawn when enumeration would be larger (0: no
    /// permutation test, `p_perm` NaN).
    pub draws: usize,
    /// Seed of the random patterns.
    pub seed: u64,
}

impl Default for Permutations {
    /// Exact up to 2²⁰ patterns, else 100 000 seeded draws (seed 0).
    fn default() -> Self {
        Permutations { max_exact: 1 << 20, draws: 100_000, seed: 0 }
    }
}

impl Permutations {
    /// No permutation test (only t): for very many tests at once.
    pub fn none() -> Self {
        Permutations { max_exact: 0, draws: 0, seed: 0 }
    }
}

/// Which departures from H₀ a test looks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Alternative {
    /// Either direction: p = P(|T| ≥ |t|) (and |Σ| for permutations).
    #[default]
    TwoSided,
    /// Effect above the null (e.g. a response above the noise floor):
    /// p = P(T ≥ t); permutations count patterns with Σ ≥ the observed Σ.
    Greater,
    /// Effect below the null: p = P(T ≤ t).
    Less,
}

/// Options of the tests across images.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TestOptions {
    /// Level of the (two-sided) t-intervals: 0.95.
    pub level: f64,
    /// How permutation p-values are computed.
    pub permutations: Permutations,
    /// The alternative hypothesis of the p-values (the intervals stay
    /// two-sided): two-sided by default.
    pub alternative: Alternative,
    /// False-discovery rate of the `discovery` column of the tables
    /// ([`super::tables`]): 0.05.
    pub fdr: f64,
}

impl Default for TestOptions {
    fn default() -> Self {
        TestOptions {
            level: 0.95,
            permutations: Permutations::default(),
            alternative: Alternative::TwoSided,
            fdr: 0.05,
        }
    }
}

impl TestOptions {
    /// The same options with another alternative.
    pub fn alternative(mut self, alternative: Alternative) -> Self {
        self.alternative = alternative;
        self
    }
}

/// The t-test p-value of `t` with `df` degrees of freedom under `alt`.
fn t_p(t: f64, df: f64, alt: Alternative) -> f64 {
    match alt {
        Alternative::TwoSided => t_two_sided(t, df),
        Alternative::Greater => 1.0 - super::distribution::t_cdf(t, df),
        Alternative::Less => super::distribution::t_cdf(t, df),
    }
}

/// The permuted statistic as compared with the observed one under `alt`:
/// |s| two-sided, s for `Greater`, −s for `Less`.
fn oriented(s: f64, alt: Alternative) -> f64 {
    match alt {
        Alternative::TwoSided => s.abs(),
        Alternative::Greater => s,
        Alternative::Less => -s,
    }
}

/// Mean and t-interval of one sample (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    /// Finite values used.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1).
    pub sd: f64,
    /// Standard error sd/√n.
    pub se: f64,
    /// Lower end of the t-interval.
    pub low: f64,
    /// Upper end of the t-interval.
    pub high: f64,
}

/// The result of a test across images (see the module doc for formulas).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Test {
    /// Images (pairs, for a paired test; n_a + n_b for two sets).
    pub n: usize,
    /// The effect: mean − μ₀, mean difference a − b.
    pub effect: f64,
    /// Standard error of the effect.
    pub se: f64,
    /// Lower end of the effect's t-interval.
    pub low: f64,
    /// Upper end of the effect's t-interval.
    pub high: f64,
    /// t statistic.
    pub t: f64,
    /// Degrees of freedom (n − 1, or Welch's ν).
    pub df: f64,
    /// Two-sided p-value of the t-test.
    pub p_t: f64,
    /// Two-sided permutation p-value (NaN when not computed).
    pub p_perm: f64,
    /// Whether `p_perm` enumerated every pattern.
    pub exact: bool,
    /// Patterns enumerated or drawn.
    pub permutations: u64,
}

fn finite(x: &[f64]) -> Vec<f64> {
    x.iter().copied().filter(|v| v.is_finite()).collect()
}

fn mean_sd(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    if x.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let m = x.iter().sum::<f64>() / n;
    let sd = if x.len() < 2 { f64::NAN } else { (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() };
    (m, sd)
}

fn check_level(level: f64) -> Result<()> {
    if level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(Error::Data(format!("confidence level must be between 0 and 1 (e.g. 0.95), got {level}")))
    }
}

/// Mean of the finite values of `x` and its t-interval at `level` (e.g.
/// 0.95): x̄ ± t_{(1+level)/2, n−1}·s/√n.
pub fn interval(x: &[f64], level: f64) -> Result<Interval> {
    check_level(level)?;
    let x = finite(x);
    let (mean, sd) = mean_sd(&x);
    let n = x.len();
    let se = sd / (n as f64).sqrt();
    let half = t_quantile(0.5 + level / 2.0, n as f64 - 1.0) * se;
    Ok(Interval { n, mean, sd, se, low: mean - half, high: mean + half })
}

/// t from an effect and its se: ±∞ for a non-zero effect with se 0.
fn t_of(effect: f64, se: f64) -> f64 {
    if se == 0.0 && effect != 0.0 {
        effect.signum() * f64::INFINITY
    } else {
        effect / se
    }
}

fn close_enough(stat: f64, obs: f64, scale: f64) -> bool {
    stat >= obs - 1e-9 * scale
}

/// One-sample test of H₀: E[x] = `mu0` over the finite values of `x`
/// (t-test, t-interval, sign-flip permutation p; see [`TestOptions`]).
pub fn one_sample(x: &[f64], mu0: f64, opts: &TestOptions) -> Result<Test> {
    let level = opts.level;
    check_level(level)?;
    if !mu0.is_finite() {
        return Err(Error::Data(format!("the null value μ₀ must be finite, got {mu0}")));
    }
    let y: Vec<f64> = finite(x).into_iter().map(|v| v - mu0).collect();
    let iv = interval(&y, level)?;
    let t = t_of(iv.mean, iv.se);
    let df = iv.n as f64 - 1.0;
    let p_t = if iv.n < 2 || t.is_nan() { f64::NAN } else { t_p(t, df, opts.alternative) };
    let (p_perm, exact, permutations) = sign_flip(&y, &opts.permutations, opts.alternative);
    Ok(Test {
        n: iv.n,
        effect: iv.mean,
        se: iv.se,
        low: iv.low,
        high: iv.high,
        t,
        df,
        p_t,
        p_perm,
        exact,
        permutations,
    })
}

/// Paired test of a against b over the same images (`a[i]` and `b[i]` from
/// image i): the one-sample test of aᵢ − bᵢ against 0. Pairs with a
/// non-finite member are dropped; `a` and `b` must have the same length.
pub fn paired(a: &[f64], b: &[f64], opts: &TestOptions) -> Result<Test> {
    if a.len() != b.len() {
        return Err(Error::Data(format!(
            "a paired test needs one value per image in both conditions: {} against {} values",
            a.len(),
            b.len()
        )));
    }
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).filter(|v| v.is_finite()).collect();
    one_sample(&d, 0.0, opts)
}

/// Welch's t-test and the two-sample permutation test of two independent
/// sets of images (effect: mean(a) − mean(b); non-finite values dropped).
pub fn two_sample(a: &[f64], b: &[f64], opts: &TestOptions) -> Result<Test> {
    let level = opts.level;
    check_level(level)?;
    let (a, b) = (finite(a), finite(b));
    let (ma, sa) = mean_sd(&a);
    let (mb, sb) = mean_sd(&b);
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (va, vb) = (sa * sa / na, sb * sb / nb);
    let se = (va + vb).sqrt();
    let effect = ma - mb;
    let df = (va + vb).powi(2) / (va * va / (na - 1.0) + vb * vb / (nb - 1.0));
    let t = t_of(effect, se);
    let ok = a.len() >= 2 && b.len() >= 2;
    let p_t = if ok && !t.is_nan() { t_p(t, df, opts.alternative) } else { f64::NAN };
    let half = t_quantile(0.5 + level / 2.0, df) * se;
    let (p_perm, exact, permutations) =
        if ok { relabel(&a, &b, &opts.permutations, opts.alternative) } else { (f64::NAN, false, 0) };
    Ok(Test {
        n: a.len() + b.len(),
        effect,
        se,
        low: effect - half,
        high: effect + half,
        t,
        df,
        p_t,
        p_perm,
        exact,
        permutations,
    })
}

/// Sign-flip p-value of the centred values `y` under `alt` (see the module
/// doc). Returns (p, exact, patterns).
pub fn sign_flip(y: &[f64], perm: &Permutations, alt: Alternative) -> (f64, bool, u64) {
    let n = y.len();
    if n == 0 {
        return (f64::NAN, false, 0);
    }
    let obs = oriented(y.iter().sum::<f64>(), alt);
    let scale: f64 = y.iter().map(|v| v.abs()).sum::<f64>().max(f64::MIN_POSITIVE);
    let hit = |s: f64| u64::from(close_enough(oriented(s, alt), obs, scale));
    let patterns = if n < 64 { 1u64 << n } else { u64::MAX };
    if patterns <= perm.max_exact {
        // Gray code: pattern g and g+1 differ in one sign, so each sum is
        // the previous one plus or minus twice one value.
        let mut s: f64 = y.iter().sum();
        let mut signs = vec![1.0f64; n];
        let mut hits = hit(s);
        for g in 1..patterns {
            let i = g.trailing_zeros() as usize;
            signs[i] = -signs[i];
            s += 2.0 * signs[i] * y[i];
            hits += hit(s);
        }
        (hits as f64 / patterns as f64, true, patterns)
    } else if perm.draws > 0 {
        let mut rng = rand::rngs::StdRng::seed_from_u64(perm.seed);
        let mut hits = 0u64;
        for _ in 0..perm.draws {
            let s: f64 = y.iter().map(|v| if rng.random::<bool>() { *v } else { -*v }).sum();
            hits += hit(s);
        }
        ((1 + hits) as f64 / (1 + perm.draws) as f64, false, perm.draws as u64)
    } else {
        (f64::NAN, false, 0)
    }
}

/// C(n, k) saturating at u64::MAX.
fn binomial(n: u64, k: u64) -> u64 {
    let k = k.min(n - k);
    let mut c: u128 = 1;
    for i in 0..k {
        c = c * (n - i) as u128 / (i + 1) as u128;
        if c > u64::MAX as u128 {
            return u64::MAX;
        }
    }
    c as u64
}

/// Relabelling p-value of mean(a) − mean(b) under `alt` (see the module doc).
fn relabel(a: &[f64], b: &[f64], perm: &Permutations, alt: Alternative) -> (f64, bool, u64) {
    let (na, nb) = (a.len(), b.len());
    let pooled: Vec<f64> = a.iter().chain(b).copied().collect();
    let total: f64 = pooled.iter().sum();
    // mean(A) − mean(B) of a relabelling whose set A sums to s
    let diff = |s: f64| s / na as f64 - (total - s) / nb as f64;
    let obs = oriented(diff(a.iter().sum()), alt);
    let scale = pooled.iter().map(|v| v.abs()).sum::<f64>().max(f64::MIN_POSITIVE);
    let hit = |s: f64| u64::from(close_enough(oriented(diff(s), alt), obs, scale));
    let patterns = binomial((na + nb) as u64, na as u64);
    if patterns <= perm.max_exact {
        let mut hits = 0u64;
        let mut count = 0u64;
        // depth-first over "is pooled[i] in set A", with running sums
        fn walk(v: &[f64], i: usize, left: usize, s: f64, visit: &mut dyn FnMut(f64)) {
            if left == 0 {
                visit(s);
                return;
            }
            if v.len() - i < left {
                return;
            }
            walk(v, i + 1, left - 1, s + v[i], visit);
            walk(v, i + 1, left, s, visit);
        }
        walk(&pooled, 0, na, 0.0, &mut |s| {
            count += 1;
            hits += hit(s);
        });
        (hits as f64 / count as f64, true, count)
    } else if perm.draws > 0 {
        let mut rng = rand::rngs::StdRng::seed_from_u64(perm.seed);
        let mut v = pooled.clone();
        let mut hits = 0u64;
        for _ in 0..perm.draws {
            v.shuffle(&mut rng);
            hits += hit(v[..na].iter().sum());
        }
        ((1 + hits) as f64 / (1 + perm.draws) as f64, false, perm.draws as u64)
    } else {
        (f64::NAN, false, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_flip_by_hand() {
        // y = (1, 2, 3): sums over the 8 sign patterns are ±6, ±4, ±2, ±0;
        // |sum| ≥ 6 for 2 of 8 patterns
        let (p, exact, k) = sign_flip(&[1.0, 2.0, 3.0], &Permutations::default(), Alternative::TwoSided);
        assert_eq!((p, exact, k), (0.25, true, 8));
        // y = (1, 1, 1, -1): |sum| ≥ 2 for 2·(1 + 4) = 10 of 16 patterns
        let (p, _, _) = sign_flip(&[1.0, 1.0, 1.0, -1.0], &Permutations::default(), Alternative::TwoSided);
        assert_eq!(p, 10.0 / 16.0);
        // one-sided: Σ = ε₁ + ε₂ + ε₃ − ε₄ ≥ 2 for ε₄ = +1 with ε₁ = ε₂ = ε₃ = +1
        // (1 pattern) and for ε₄ = −1 with ε₁ + ε₂ + ε₃ ≥ 1 (4 patterns): 5 of 16
        let (p, _, _) = sign_flip(&[1.0, 1.0, 1.0, -1.0], &Permutations::default(), Alternative::Greater);
        assert_eq!(p, 5.0 / 16.0);
        let (p, _, _) = sign_flip(&[1.0, 2.0, 3.0], &Permutations::default(), Alternative::Less);
        assert_eq!(p, 1.0);
    }

    #[test]
    fn relabelling_by_hand() {
        // a = (3, 4), b = (1, 2): C(4, 2) = 6 splits; |mean diff| ≥ 2 for {3,4} and {1,2}
        let t = two_sample(&[3.0, 4.0], &[1.0, 2.0], &TestOptions::default()).unwrap();
        assert_eq!((t.p_perm, t.exact, t.permutations), (2.0 / 6.0, true, 6));
        assert_eq!(t.effect, 2.0);
    }

    #[test]
    fn one_sample_by_hand() {
        // x = (1, 2, 3, 4, 5) against 2: mean − μ₀ = 1, s = √2.5, se = √0.5, t = √2
        let t = one_sample(&[1.0, 2.0, 3.0, 4.0, 5.0], 2.0, &TestOptions::default()).unwrap();
        assert!((t.t - 2f64.sqrt()).abs() < 1e-12 && t.df == 4.0);
        // t_{0.975, 4} = 2.776445105…
        assert!((t.high - (1.0 + 2.776_445_105_197_793 * 0.5f64.sqrt())).abs() < 1e-9);
        // sign flips of y = x − 2 = (−1, 0, 1, 2, 3), Σy = 5: flipping a subset of
        // sum S gives 5 − 2S, and |5 − 2S| ≥ 5 when S ≤ 0 ({}, {0}, {−1}, {−1,0},
        // {−1,1}, {−1,0,1}) or S ≥ 5 (their complements): 12 of 32
        assert_eq!(t.p_perm, 12.0 / 32.0);
        assert!(paired(&[1.0], &[1.0, 2.0], &TestOptions::default()).is_err());
        assert!(interval(&[1.0, 2.0], 1.5).is_err());
    }

    #[test]
    fn monte_carlo_is_seeded_and_close_to_exact() {
        let y: Vec<f64> = (0..14).map(|i| (i as f64 * 0.7).sin() + 0.3).collect();
        let exact = sign_flip(&y, &Permutations::default(), Alternative::TwoSided).0;
        let mc = Permutations { max_exact: 0, draws: 20_000, seed: 7 };
        let (p1, e, k) = sign_flip(&y, &mc, Alternative::TwoSided);
        assert!(!e && k == 20_000 && (p1 - exact).abs() < 0.01, "{p1} vs {exact}");
        assert_eq!(sign_flip(&y, &mc, Alternative::TwoSided).0, p1);
    }
}

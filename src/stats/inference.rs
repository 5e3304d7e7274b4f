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

fn close_enough(stat: f64, obs: f64) -> bool {
    stat >= obs - 1e-9 * obs.abs().max(f64::MIN_POSITIVE)
}

/// One-sample test of H₀: E[x] = `mu0` over the finite values of `x`
/// (t-test, t-interval at `level`, sign-flip permutation p).
pub fn one_sample(x: &[f64], mu0: f64, level: f64, perm: &Permutations) -> Result<Test> {
    check_level(level)?;
    if !mu0.is_finite() {
        return Err(Error::Data(format!("the null value μ₀ must be finite, got {mu0}")));
    }
    let y: Vec<f64> = finite(x).into_iter().map(|v| v - mu0).collect();
    let iv = interval(&y, level)?;
    let t = t_of(iv.mean, iv.se);
    let df = iv.n as f64 - 1.0;
    let p_t = if iv.n < 2 || t.is_nan() { f64::NAN } else { t_two_sided(t, df) };
    let (p_perm, exact, permutations) = sign_flip(&y, perm);
    Ok(Test { n: iv.n, effect: iv.mean, se: iv.se, low: iv.low, high: iv.high, t, df, p_t, p_perm, exact, permutations })
}

/// Paired test of a against b over the same images (`a[i]` and `b[i]` from
/// image i): the one-sample test of aᵢ − bᵢ against 0. Pairs with a
/// non-finite member are dropped; `a` and `b` must have the same length.
pub fn paired(a: &[f64], b: &[f64], level: f64, perm: &Permutations) -> Result<Test> {
    if a.len() != b.len() {
        return Err(Error::Data(format!(
            "a paired test needs one value per image in both conditions: {} against {} values",
            a.len(),
            b.len()
        )));
    }
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).filter(|v| v.is_finite()).collect();
    one_sample(&d, 0.0, level, perm)
}

/// Welch's t-test and the two-sample permutation test of two independent
/// sets of images (effect: mean(a) − mean(b); non-finite values dropped).
pub fn two_sample(a: &[f64], b: &[f64], level: f64, perm: &Permutations) -> Result<Test> {
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
    let p_t = if ok && !t.is_nan() { t_two_sided(t, df) } else { f64::NAN };
    let half = t_quantile(0.5 + level / 2.0, df) * se;
    let (p_perm, exact, permutations) = if ok { relabel(&a, &b, perm) } else { (f64::NAN, false, 0) };
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

/// Two-sided sign-flip p-value of the centred values `y` (see the module doc).
/// Returns (p, exact, patterns).
pub fn sign_flip(y: &[f64], perm: &Permutations) -> (f64, bool, u64) {
    let n = y.len();
    if n == 0 {
        return (f64::NAN, false, 0);
    }
    let obs = y.iter().sum::<f64>().abs();
    let patterns = if n < 64 { 1u64 << n } else { u64::MAX };
    if patterns <= perm.max_exact {
        // Gray code: pattern g and g+1 differ in one sign, so each sum is
        // the previous one plus or minus twice one value.
        let mut s: f64 = y.iter().sum();
        let mut signs = vec![1.0f64; n];
        let mut hits = u64::from(close_enough(s.abs(), obs));
        for g in 1..patterns {
            let i = g.trailing_zeros() as usize;
            signs[i] = -signs[i];
            s += 2.0 * signs[i] * y[i];
            hits += u64::from(close_enough(s.abs(), obs));
        }
        (hits as f64 / patterns as f64, true, patterns)
    } else if perm.draws > 0 {
        let mut rng = rand::rngs::StdRng::seed_from_u64(perm.seed);
        let mut hits = 0u64;
        for _ in 0..perm.draws {
            let s: f64 = y.iter().map(|v| if rng.random::<bool>() { *v } else { -*v }).sum();
            hits += u64::from(close_enough(s.abs(), obs));
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

/// Two-sided relabelling p-value of mean(a) − mean(b) (see the module doc).
fn relabel(a: &[f64], b: &[f64], perm: &Permutations) -> (f64, bool, u64) {
    let (na, nb) = (a.len(), b.len());
    let pooled: Vec<f64> = a.iter().chain(b).copied().collect();
    let total: f64 = pooled.iter().sum();
    // mean(A) − mean(B) of a relabelling whose set A sums to s
    let diff = |s: f64| s / na as f64 - (total - s) / nb as f64;
    let obs = diff(a.iter().sum()).abs();
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
            hits += u64::from(close_enough(diff(s).abs(), obs));
        });
        (hits as f64 / count as f64, true, count)
    } else if perm.draws > 0 {
        let mut rng = rand::rngs::StdRng::seed_from_u64(perm.seed);
        let mut v = pooled.clone();
        let mut hits = 0u64;
        for _ in 0..perm.draws {
            v.shuffle(&mut rng);
            hits += u64::from(close_enough(diff(v[..na].iter().sum()).abs(), obs));
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
        let (p, exact, k) = sign_flip(&[1.0, 2.0, 3.0], &Permutations::default());
        assert_eq!((p, exact, k), (0.25, true, 8));
        // y = (1, 1, 1, -1): |sum| ≥ 2 for 2·(1 + 4) = 10 of 16 patterns
        let (p, _, _) = sign_flip(&[1.0, 1.0, 1.0, -1.0], &Permutations::default());
        assert_eq!(p, 10.0 / 16.0);
    }

    #[test]
    fn relabelling_by_hand() {
        // a = (3, 4), b = (1, 2): C(4, 2) = 6 splits; |mean diff| ≥ 2 for {3,4} and {1,2}
        let t = two_sample(&[3.0, 4.0], &[1.0, 2.0], 0.95, &Permutations::default()).unwrap();
        assert_eq!((t.p_perm, t.exact, t.permutations), (2.0 / 6.0, true, 6));
        assert_eq!(t.effect, 2.0);
    }

    #[test]
    fn one_sample_by_hand() {
        // x = (1, 2, 3, 4, 5) against 2: mean − μ₀ = 1, s = √2.5, se = √0.5, t = √2
        let t = one_sample(&[1.0, 2.0, 3.0, 4.0, 5.0], 2.0, 0.95, &Permutations::default()).unwrap();
        assert!((t.t - 2f64.sqrt()).abs() < 1e-12 && t.df == 4.0);
        // t_{0.975, 4} = 2.776445105…
        assert!((t.high - (1.0 + 2.776_445_105_197_793 * 0.5f64.sqrt())).abs() < 1e-9);
        // sign flips of y = x − 2 = (−1, 0, 1, 2, 3), Σy = 5: flipping a subset of
        // sum S gives 5 − 2S, and |5 − 2S| ≥ 5 when S ≤ 0 ({}, {0}, {−1}, {−1,0},
        // {−1,1}, {−1,0,1}) or S ≥ 5 (their complements): 12 of 32
        assert_eq!(t.p_perm, 12.0 / 32.0);
        assert!(paired(&[1.0], &[1.0, 2.0], 0.95, &Permutations::default()).is_err());
        assert!(interval(&[1.0, 2.0], 1.5).is_err());
    }

    #[test]
    fn monte_carlo_is_seeded_and_close_to_exact() {
        let y: Vec<f64> = (0..14).map(|i| (i as f64 * 0.7).sin() + 0.3).collect();
        let exact = sign_flip(&y, &Permutations::default()).0;
        let mc = Permutations { max_exact: 0, draws: 20_000, seed: 7 };
        let (p1, e, k) = sign_flip(&y, &mc);
        assert!(!e && k == 20_000 && (p1 - exact).abs() < 0.01, "{p1} vs {exact}");
        assert_eq!(sign_flip(&y, &mc).0, p1);
    }
}

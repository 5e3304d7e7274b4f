//! Uncertainty of the areas: a percentile bootstrap over evaluation images.
//!
//! In: per evaluation image, a value (its area under a deletion curve: the
//! area is linear in the metric, so the area of the mean curve is the mean
//! of the images' areas), and per image the *group* it was drawn from (a
//! photo and its mirrored and cropped variants are one group; a digit is its
//! own group). Out: an [`Interval`] — the percentile bootstrap interval of
//! the mean over images.
//!
//! The method ([`Bootstrap`]): draw `resamples` (B) resamples of the groups
//! with replacement (as many groups as there are; a cluster bootstrap, since
//! the variants of one photo are not independent images), take the mean
//! over the images of the drawn groups in each, and report the empirical
//! (1 − level)/2 and (1 + level)/2 quantiles of the B means (linear
//! interpolation between order statistics, NumPy's default). The draws come
//! from a SplitMix64 stream started at `seed`, so an interval is the same on
//! every machine for its seed. Every curve of a study is resampled with the
//! *same* B draws ([`Resamples`]), so intervals of different rankings — and
//! of their differences — refer to the same resampled image sets.
//!
//! What it does not cover: the choice of ranking images (the rankings are
//! fixed), and the seeds of random rankings (their spread is the sd column).

use serde::Serialize;

use crate::error::{Error, Result};

/// How to bootstrap: B resamples, the interval's coverage, the seed.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Bootstrap {
    /// Resamples B (≥ 10; 0 turns intervals off, they are then NaN).
    pub resamples: usize,
    /// Coverage of the interval, e.g. 0.95.
    pub level: f64,
    /// Seed of the resampling stream.
    pub seed: u64,
}

impl Default for Bootstrap {
    /// 2,000 resamples, 95 %, seed 0.
    fn default() -> Self {
        Bootstrap { resamples: 2000, level: 0.95, seed: 0 }
    }
}

impl Bootstrap {
    /// Check the settings: B = 0 (off) or ≥ 10, 0 < level < 1.
    pub fn validate(&self) -> Result<()> {
        if self.resamples != 0 && self.resamples < 10 {
            return Err(Error::Config(format!(
                "bootstrap resamples must be 0 (off) or at least 10, got {}",
                self.resamples
            )));
        }
        if !(self.level > 0.0 && self.level < 1.0) {
            return Err(Error::Config(format!("bootstrap level must be in (0, 1), got {}", self.level)));
        }
        Ok(())
    }

    /// Draw the resamples for images in `groups` (one group id per image).
    pub fn draw(&self, groups: &[usize]) -> Resamples {
        let mut ids: Vec<usize> = groups.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let members: Vec<Vec<usize>> =
            ids.iter().map(|g| (0..groups.len()).filter(|&i| groups[i] == *g).collect()).collect();
        let mut state = self.seed;
        let mut next = || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            mix(state)
        };
        let (counts, drawn) = (0..self.resamples)
            .map(|_| {
                let mut count = vec![0u32; groups.len()];
                let mut drawn = 0usize;
                for _ in 0..ids.len() {
                    let g = (next() % ids.len() as u64) as usize;
                    for &i in &members[g] {
                        count[i] += 1;
                    }
                    drawn += members[g].len();
                }
                (count, drawn.max(1))
            })
            .unzip();
        Resamples { counts, drawn, level: self.level, images: groups.len() }
    }
}

/// SplitMix64's finaliser.
fn mix(x: u64) -> u64 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The B resamples of one evaluation set, as counts per image (an image
/// drawn twice counts twice) and the images drawn in all. A resample's mean
/// is Σ count · value / drawn: sums of whole counts, so the mean of a
/// constant is that constant exactly.
#[derive(Clone, Debug, PartialEq)]
pub struct Resamples {
    counts: Vec<Vec<u32>>,
    drawn: Vec<usize>,
    level: f64,
    images: usize,
}

impl Resamples {
    /// No resamples: every interval is NaN.
    pub fn none() -> Resamples {
        Resamples { counts: vec![], drawn: vec![], level: f64::NAN, images: 0 }
    }
    /// Resamples B.
    pub fn len(&self) -> usize {
        self.counts.len()
    }
    /// No resamples (intervals off).
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
    /// The interval's coverage.
    pub fn level(&self) -> f64 {
        self.level
    }

    /// The percentile interval of the mean of `values` (one per image). NaN
    /// bounds when there are no resamples, the length is wrong or a value
    /// is not finite.
    pub fn interval(&self, values: &[f64]) -> Interval {
        if self.counts.is_empty() || values.len() != self.images || values.iter().any(|v| !v.is_finite()) {
            return Interval::NAN;
        }
        let mut means: Vec<f64> = self
            .counts
            .iter()
            .zip(&self.drawn)
            .map(|(c, &d)| c.iter().zip(values).map(|(&c, v)| f64::from(c) * v).sum::<f64>() / d as f64)
            .collect();
        means.sort_by(f64::total_cmp);
        let tail = (1.0 - self.level) / 2.0;
        Interval { lo: quantile(&means, tail), hi: quantile(&means, 1.0 - tail) }
    }
}

/// The `q` quantile of sorted values, linear interpolation between order
/// statistics (position q·(n − 1); NumPy's default). NaN when empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos - pos.floor());
    match sorted.get(i + 1) {
        Some(next) if frac > 0.0 => sorted[i] + frac * (next - sorted[i]),
        _ => sorted[i],
    }
}

/// A confidence interval (lo ≤ hi; NaN when not computed).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Interval {
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
}

impl Interval {
    /// Not computed.
    pub const NAN: Interval = Interval { lo: f64::NAN, hi: f64::NAN };

    /// "[lo, hi]" with three decimals, or "" when not computed.
    pub fn text(self) -> String {
        if self.lo.is_finite() && self.hi.is_finite() {
            format!("[{:.3}, {:.3}]", self.lo, self.hi)
        } else {
            String::new()
        }
    }

    /// " [lo, hi]" (with a leading space) to follow a value, or "".
    pub fn suffix(self) -> String {
        let t = self.text();
        if t.is_empty() {
            t
        } else {
            format!(" {t}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        // numpy.quantile([1, 2, 3, 4], [0, 0.25, 0.5, 0.975, 1]) = 1, 1.75, 2.5, 3.925, 4
        for (q, want) in [(0.0, 1.0), (0.25, 1.75), (0.5, 2.5), (0.975, 3.925), (1.0, 4.0)] {
            assert!((quantile(&v, q) - want).abs() < 1e-12, "q {q}: {}", quantile(&v, q));
        }
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn three_images_give_the_exact_bootstrap_distribution() {
        // values 0, 0, 1: the resampled mean is k/3 with k ~ Binomial(3, 1/3):
        // P(0) = 8/27 ≈ 0.296, P(1/3) = 12/27, P(2/3) = 6/27, P(1) = 1/27 ≈ 0.037.
        // The 2.5 % quantile is 0; 1/27 > 2.5 %, so the 97.5 % quantile is 1.
        let r = Bootstrap { resamples: 20_000, level: 0.95, seed: 7 }.draw(&[0, 1, 2]);
        let i = r.interval(&[0.0, 0.0, 1.0]);
        assert_eq!((i.lo, i.hi), (0.0, 1.0));
        // at 50 % coverage: the 25 % quantile is 0 (P(0) ≈ 0.30 > 25 %); the 75 % quantile is 2/3,
        // since P(mean ≤ 1/3) = 20/27 ≈ 0.74 < 0.75 ≤ P(mean ≤ 2/3) = 26/27
        let half = Bootstrap { resamples: 20_000, level: 0.5, seed: 7 }.draw(&[0, 1, 2]).interval(&[0.0, 0.0, 1.0]);
        assert_eq!(half.lo, 0.0);
        assert!((half.hi - 2.0 / 3.0).abs() < 1e-12, "{half:?}");
        // the share of resamples with mean 1 (image 2 drawn three times) is close to 1/27
        let ones = r.counts.iter().filter(|c| c[2] == 3).count() as f64 / r.len() as f64;
        assert!((ones - 1.0 / 27.0).abs() < 0.006, "{ones}");
    }

    #[test]
    fn groups_are_resampled_whole_and_constant_values_give_a_point() {
        // two photos with two variants each: a resample holds 0, 2 or 4 images of photo 0
        let r = Bootstrap { resamples: 500, level: 0.95, seed: 1 }.draw(&[3, 3, 9, 9]);
        for (c, &d) in r.counts.iter().zip(&r.drawn) {
            assert_eq!(c[0], c[1]);
            assert_eq!(c[2], c[3]);
            assert_eq!((c.iter().sum::<u32>() as usize, d), (4, 4));
            assert!([0, 1, 2].contains(&c[0]), "{c:?}");
        }
        let i = r.interval(&[0.4; 4]);
        assert!((i.lo - 0.4).abs() < 1e-12 && (i.hi - 0.4).abs() < 1e-12);
        // a constant 1 (every image agrees) is exactly 1 in every resample
        assert_eq!(r.interval(&[1.0; 4]), Interval { lo: 1.0, hi: 1.0 });
        // the same seed draws the same resamples; NaN values give no interval
        assert_eq!(r, Bootstrap { resamples: 500, level: 0.95, seed: 1 }.draw(&[3, 3, 9, 9]));
        assert!(r.interval(&[0.0, f64::NAN, 0.0, 0.0]).lo.is_nan());
        assert!(Bootstrap { resamples: 5, ..Bootstrap::default() }.validate().is_err());
    }
}

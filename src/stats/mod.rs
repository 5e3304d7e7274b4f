//! Statistics: small shared summaries, and statistics across images — the
//! images are the trials (METHOD.md, "Statistics across images").
//!
//! In: values (`f64`), possibly with NaN or infinities for undefined ones
//! (e.g. the integration index of a silent unit); per-image results of an
//! experiment ([`crate::Results`], or image by image). Out: summaries that
//! skip the undefined values and say so with NaN when none is left; tests,
//! intervals and Polars tables across images.
//!
//! | what | where |
//! |---|---|
//! | mean and t-interval; one-sample, paired and two-sample tests with t and exact / Monte Carlo permutation p-values | [`inference`] ([`interval`], [`one_sample`], [`paired`], [`two_sample`], [`Permutations`]) |
//! | Benjamini–Hochberg q-values and discoveries | [`fdr`] ([`benjamini_hochberg`]) |
//! | the same over the groups of a long table (one row per image and group), with BH over the groups | [`tables`] ([`intervals`], [`one_sample_tests`], [`paired_tests`], [`two_sample_tests`], [`with_fdr`]) |
//! | per-image aggregates of an experiment by tap, op type or network; tests of every tag, harmonic and IM against the noise floor; the SNR spectrum | [`across`] ([`AcrossImages`], [`SnrSpectrum`]) |
//! | Student's t distribution | [`distribution`] |
//!
//! Every formula and assumption is stated where it is implemented; each
//! test is checked against a hand-computed case (unit tests) and against
//! SciPy's numbers recorded once in `tests/fixtures/stats_scipy.json` by
//! `scripts/stats_fixtures.py` (`tests/stats.rs`; SciPy is not needed to
//! run the tests).
//!
//! ```
//! use freqtag::stats::{paired, TestOptions};
//! // integration index of 6 images, halves aligned (a) and misaligned (b)
//! let a = [0.61, 0.58, 0.64, 0.59, 0.62, 0.60];
//! let b = [0.55, 0.57, 0.58, 0.56, 0.59, 0.54];
//! let t = paired(&a, &b, &TestOptions::default())?;
//! assert!(t.exact && t.permutations == 64);
//! // every difference is positive: only the all-plus and all-minus sign
//! // patterns reach the observed |Σd|, p = 2/64
//! assert_eq!(t.p_perm, 2.0 / 64.0);
//! assert!(t.low > 0.0 && t.p_t < 0.01);
//! # Ok::<(), freqtag::Error>(())
//! ```

pub mod across;
pub mod columns;
pub mod distribution;
pub mod fdr;
pub mod inference;
pub mod tables;

pub use across::{AcrossImages, Level, SnrSpectrum};
pub use fdr::{benjamini_hochberg, discoveries};
pub use inference::{
    interval, one_sample, paired, sign_flip, two_sample, Alternative, Interval, Permutations, Test, TestOptions,
};
pub use tables::{intervals, one_sample_tests, paired_tests, two_sample_tests, with_fdr};

/// Mean of the finite values (NaN if none).
pub fn mean_finite(it: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = it.filter(|v| v.is_finite()).fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        s / n as f64
    }
}

/// Σ frames ÷ Σ seconds over (frames, network seconds) of some images
/// (NaN when no time was spent).
pub fn frames_per_second(images: impl Iterator<Item = (usize, f64)>) -> f64 {
    let (frames, secs) = images.fold((0usize, 0f64), |(f, s), (fi, si)| (f + fi, s + si));
    if secs > 0.0 {
        frames as f64 / secs
    } else {
        f64::NAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_finite_skips_undefined_values() {
        assert_eq!(mean_finite([1.0, f64::NAN, 3.0, f64::INFINITY].into_iter()), 2.0);
        assert!(mean_finite([f64::NAN].into_iter()).is_nan());
        assert!(mean_finite(std::iter::empty()).is_nan());
    }
}

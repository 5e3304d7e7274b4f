//! Shared statistics: small summaries used by the analysis, the ablation
//! study and the figures alike.
//!
//! In: values (`f64`), possibly with NaN or infinities for undefined ones
//! (e.g. the integration index of a silent unit). Out: summaries that skip
//! the undefined values and say so with NaN when none is left.

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

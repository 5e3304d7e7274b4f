//! Benjamini–Hochberg false-discovery rate over many tests (taps, units,
//! components).
//!
//! For m p-values sorted ascending p₍₁₎ ≤ … ≤ p₍ₘ₎ the BH-adjusted value
//! (q-value) is q₍ᵢ₎ = min_{j ≥ i} min(1, m·p₍ⱼ₎/j), and the tests with
//! q ≤ α are the discoveries — the same set as the step-up rule "reject
//! p₍₁₎ … p₍ₖ₎ for the largest k with p₍ₖ₎ ≤ k·α/m" (Benjamini & Hochberg
//! 1995). It controls the expected share of false discoveries at α when
//! the tests are independent or positively dependent (PRDS), as tests of
//! neighbouring taps on the same images typically are. NaN p-values (tests
//! that could not be made) are left out of m and get a NaN q.
//! Matches SciPy's `false_discovery_control(p, method="bh")`.

/// BH-adjusted p-values (q-values), in the order of `p` (NaN stays NaN).
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    idx.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let m = idx.len() as f64;
    let mut q = vec![f64::NAN; p.len()];
    let mut running = 1.0f64;
    for (rank, &i) in idx.iter().enumerate().rev() {
        running = running.min(m * p[i] / (rank as f64 + 1.0)).min(1.0);
        q[i] = running;
    }
    q
}

/// Discoveries at false-discovery rate `alpha`: q ≤ alpha.
pub fn discoveries(p: &[f64], alpha: f64) -> Vec<bool> {
    benjamini_hochberg(p).into_iter().map(|q| q <= alpha).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hand() {
        // m = 4: p = .01 .04 .03 .20 → sorted .01 .03 .04 .20;
        // m·p/rank = .04 .06 .0533 .20 → running minimum from the top:
        // .04, .0533, .0533, .20
        let q = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.2]);
        let want = [0.04, 0.16 / 3.0, 0.16 / 3.0, 0.2];
        for (a, b) in q.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{q:?}");
        }
        assert_eq!(discoveries(&[0.01, 0.04, 0.03, 0.2], 0.05), [true, false, false, false]);
        let q = benjamini_hochberg(&[f64::NAN, 0.5]);
        assert!(q[0].is_nan() && q[1] == 0.5);
    }
}

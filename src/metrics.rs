//! Metrics on spectra: neighbour-bin SNR and per-unit scores.
//!
//! In: a [`Spectrum`] and the design's [`Lattice`]. Out: per component
//! ([`ComponentMetrics`]) the amplitude, phase, a neighbour-bin baseline with
//! SNR, baseline-corrected amplitude (BCA) and z; per unit ([`UnitScores`])
//! the scores of METHOD.md §9.
//!
//! # Neighbour-bin presets ([`SnrPreset`])
//!
//! For bin k the *baseline* is computed from `count` bins on each side after
//! skipping the `skip` nearest ones (bins k±(skip+1) … k±(skip+count)); bin 0
//! (DC) never counts as a neighbour. If a neighbour falls outside 1 … N/2 the
//! metrics are NaN (edge bins).
//!
//! | preset | neighbours | SNR |
//! |---|---|---|
//! | `Mne` (MNE tutorial) | k±2 … k±4 | power ratio `A_k² / mean(A_j²)` |
//! | `Letswave` | k±2 … k±5 | `A_k / mean(A_j)` |
//! | `Fpvs` (Rossion lab) | k±2 … k±11, highest and lowest dropped | `A_k / mean(A_j)` |
//! | `MeigenBach` (1999) | k±1 | `A_k / mean(A_j)`; 2.82 / 4.55 / 8.40 for p = .05 / .01 / .001 |
//! | `Authors` (2025 code) | k±2 … k±4 | `A_k / mean(A_j)` |
//!
//! For all presets: BCA = `A_k − mean(A_j)`, z = `(A_k − mean(A_j)) / sd(A_j)`
//! (sample standard deviation).
//!
//! Without injected noise the bins between lattice points are exactly zero
//! and neighbours of a lattice point are often other lattice points, so
//! there is no noise floor to compare with: a component's neighbour metrics
//! ([`ComponentMetrics::neighbours`]: the `snr`, `bca` and `z` columns) are
//! NaN in a noise-free design, and presence is judged against the unit's
//! own strongest component (see [`Significance`]). The authors' score and
//! harmonic sums below are computed in every design, as their rules say.
//!
//! # Per-unit scores ([`UnitScores`]), amplitudes `A` in activation units
//!
//! - `tagged[t]` = Σ A over the fundamental and harmonics of tag t on the
//!   lattice (components whose lowest-order label is `n·f_t`);
//!   `tagged_total` = Σ_t tagged[t].
//! - `im` = Σ A over intermodulation components up to the lattice order.
//! - `share_fundamental`, `share_harmonic`, `share_im`, `share_other`: the
//!   unit's AC power (Σ_{k≥1} A_k²) split into fundamentals, harmonics, IMs,
//!   and the rest (higher orders and noise); they sum to 1.
//! - `selectivity` = (tagged[0] − tagged[1]) / (tagged[0] + tagged[1]):
//!   +1 responds to part 1 only, −1 to part 2 only (first two tags).
//! - `integration` = im / (tagged_total + im).
//! - The ratios (shares, `selectivity`, `integration`) and every
//!   component's relative amplitude ([`ComponentMetrics::relative`]) are NaN
//!   for a *silent* unit — one that does not respond (see below): a
//!   constant channel's "spectrum" is float rounding, and its ratios would
//!   be noise (a residue of 1.1e-16 over a strongest residue of 1.1e-16
//!   reads as a relative amplitude of 1.0).
//! - `authors_snr`: the authors' score, the mean over the tag fundamentals of
//!   `A_k / mean(A_{k±2…k±4})` (their 2025 code's rule).
//! - `harmonic_sum[t]`: baseline-corrected amplitudes of tag t's significant
//!   harmonics summed ([`harmonic_sum`], Retter, Rossion & Schiltz 2021);
//!   meant for designs with injected noise.
//!
//! # Silent units
//!
//! A unit is *silent* when its strongest lattice component `A_max` is at
//! most `floor × max(|DC|, S)` (or is zero), with `floor` =
//! [`Significance::responsive_floor`] (1e-5) and `S` the scale of its tap
//! ([`tap_scale`]: the root mean square over the tap's units of
//! `√(DC² + Σ_k A_k²)`, a typical activation magnitude of the tap).
//! Why: the network runs in f32, whose rounding is ≈ 6e-8 of the magnitude
//! of the values being summed — the tap's values, not only this unit's — and
//! a convolution's sums grow that by up to ≈ √(fan-in) (tens); 1e-5 leaves
//! another factor ≈ 10 above the largest rounding residue. A channel whose
//! every frame is the same number (a dead filter: output = bias) has
//! `A_max` ≈ 1e-16 × DC from the f64 FFT alone; one whose DC is also near
//! zero is caught by `S`. [`unit_metrics`] alone knows no tap and uses
//! `S = 0` (the unit's own DC only); [`tap_metrics`] (what experiments use)
//! applies the tap's scale.

use serde::{Deserialize, Serialize};

use crate::components::{Kind, Lattice};
use crate::spectrum::Spectrum;

/// A neighbour-bin convention.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SnrPreset {
    /// MNE-Python SSVEP tutorial: power ratio over k±2…k±4.
    Mne,
    /// letswave: amplitude ratio over k±2…k±5.
    Letswave,
    /// FPVS (Rossion lab): k±2…k±11 without the highest and lowest.
    #[default]
    Fpvs,
    /// Meigen & Bach 1999: the two adjacent lines.
    MeigenBach,
    /// The paper's authors' 2025 code: amplitude ratio over k±2…k±4.
    Authors,
}

impl SnrPreset {
    /// Parse a preset name.
    pub fn parse(s: &str) -> Option<SnrPreset> {
        Some(match s.trim().to_lowercase().as_str() {
            "mne" => SnrPreset::Mne,
            "letswave" => SnrPreset::Letswave,
            "fpvs" => SnrPreset::Fpvs,
            "meigen-bach" | "meigenbach" => SnrPreset::MeigenBach,
            "authors" => SnrPreset::Authors,
            _ => return None,
        })
    }
    /// (skip, count, drop extremes, power ratio)
    fn params(self) -> (usize, usize, bool, bool) {
        match self {
            SnrPreset::Mne => (1, 3, false, true),
            SnrPreset::Letswave => (1, 4, false, false),
            SnrPreset::Fpvs => (1, 10, true, false),
            SnrPreset::MeigenBach => (0, 1, false, false),
            SnrPreset::Authors => (1, 3, false, false),
        }
    }
    /// The preset's name.
    pub fn name(self) -> &'static str {
        match self {
            SnrPreset::Mne => "mne",
            SnrPreset::Letswave => "letswave",
            SnrPreset::Fpvs => "fpvs",
            SnrPreset::MeigenBach => "meigen-bach",
            SnrPreset::Authors => "authors",
        }
    }
}

/// Baseline statistics of a bin's neighbours.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Neighbourhood {
    /// Signal-to-noise ratio (power or amplitude ratio, by preset).
    pub snr: f64,
    /// Baseline-corrected amplitude A − mean(neighbours).
    pub bca: f64,
    /// (A − mean) / sd of the neighbours.
    pub z: f64,
}

/// Neighbour metrics of bin `k` of one unit's amplitudes (`amps` has N/2+1
/// entries). NaN where a neighbour is off the spectrum.
pub fn neighbourhood(amps: &[f32], k: usize, preset: SnrPreset) -> Neighbourhood {
    let nan = Neighbourhood { snr: f64::NAN, bca: f64::NAN, z: f64::NAN };
    let (skip, count, drop, power) = preset.params();
    let reach = skip + count;
    if k <= reach || k + reach >= amps.len() {
        return nan;
    }
    let mut vals: Vec<f64> = (skip + 1..=reach).flat_map(|j| [amps[k - j] as f64, amps[k + j] as f64]).collect();
    if drop {
        vals.sort_by(|a, b| a.total_cmp(b));
        vals = vals[1..vals.len() - 1].to_vec();
    }
    let n = vals.len() as f64;
    let mean = vals.iter().sum::<f64>() / n;
    let sd = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
    let a = amps[k] as f64;
    let snr = if power {
        let pm = vals.iter().map(|v| v * v).sum::<f64>() / n;
        a * a / pm
    } else {
        a / mean
    };
    Neighbourhood { snr, bca: a - mean, z: (a - mean) / sd }
}

/// How a component is judged present.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Significance {
    /// Noisy designs: z above this (FPVS neighbours) counts (1.64: p < .05
    /// one-tailed).
    pub z_threshold: f64,
    /// Noise-free designs: amplitude at least this fraction of the unit's
    /// strongest lattice component counts.
    pub relative_threshold: f64,
    /// A unit whose strongest lattice component is at most this fraction of
    /// max(|DC|, the tap's scale) is silent: its ratios and relative
    /// amplitudes are NaN and none of its components is significant
    /// (numerical floor of f32 inference; see "Silent units" in the module
    /// doc).
    pub responsive_floor: f64,
}

impl Default for Significance {
    fn default() -> Self {
        Significance { z_threshold: 1.64, relative_threshold: 0.01, responsive_floor: 1e-5 }
    }
}

/// Metrics of one lattice component for one unit.
#[derive(Clone, Debug, PartialEq)]
pub struct ComponentMetrics {
    /// Index into [`Lattice::components`].
    pub component: usize,
    /// Amplitude (activation units).
    pub amplitude: f32,
    /// Phase (radians, cosine phase).
    pub phase: f32,
    /// Amplitude ÷ the unit's strongest lattice component; NaN for a silent
    /// unit (see "Silent units" in the module doc).
    pub relative: f32,
    /// Neighbour metrics under the chosen preset; NaN in a noise-free
    /// design (no noise floor: see the module doc).
    pub neighbours: Neighbourhood,
    /// Present, by [`Significance`].
    pub significant: bool,
}

/// Scores of one unit (see the module doc for formulas).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UnitScores {
    /// Σ amplitude of each tag's fundamental and harmonics.
    pub tagged: Vec<f64>,
    /// Σ over tags.
    pub tagged_total: f64,
    /// Σ amplitude of IM components.
    pub im: f64,
    /// Share of AC power at fundamentals.
    pub share_fundamental: f64,
    /// Share of AC power at harmonics.
    pub share_harmonic: f64,
    /// Share of AC power at IMs.
    pub share_im: f64,
    /// Share of AC power elsewhere (higher orders, noise).
    pub share_other: f64,
    /// (R1 − R2)/(R1 + R2) of the first two tags.
    pub selectivity: f64,
    /// im / (tagged_total + im).
    pub integration: f64,
    /// Mean over fundamentals of A / mean(A at k±2…k±4).
    pub authors_snr: f64,
    /// Number of significant IM components.
    pub significant_im: usize,
    /// Number of significant fundamentals and harmonics.
    pub significant_tagged: usize,
    /// Mean activation (DC).
    pub dc: f64,
    /// Harmonic-summed BCA of each tag ([`harmonic_sum`]).
    pub harmonic_sum: Vec<f64>,
}

/// The scale of a tap for the silence rule (module doc, "Silent units"):
/// the root mean square over its units of `√(DC² + Σ_{k≥1} A_k²)`, in
/// activation units; 0 for a tap without units.
pub fn tap_scale(spectrum: &Spectrum) -> f64 {
    if spectrum.units == 0 {
        return 0.0;
    }
    let sum: f64 = (0..spectrum.units)
        .map(|u| {
            let dc = spectrum.unit_amplitude(u)[0] as f64;
            dc * dc + spectrum.ac_power(u)
        })
        .sum();
    (sum / spectrum.units as f64).sqrt()
}

/// [`unit_metrics`] of every unit of a tap, with the tap's scale
/// ([`tap_scale`]) in the silence rule: per unit its component metrics and
/// its scores, in unit order.
pub fn tap_metrics(
    spectrum: &Spectrum,
    lattice: &Lattice,
    preset: SnrPreset,
    sig: &Significance,
    noisy: bool,
) -> (Vec<Vec<ComponentMetrics>>, Vec<UnitScores>) {
    let scale = tap_scale(spectrum);
    (0..spectrum.units).map(|u| unit_metrics_at_scale(spectrum, u, lattice, preset, sig, noisy, scale)).unzip()
}

/// Everything computed for one unit, judged silent against its own DC only
/// (no tap scale: see [`tap_metrics`]).
pub fn unit_metrics(
    spectrum: &Spectrum,
    unit: usize,
    lattice: &Lattice,
    preset: SnrPreset,
    sig: &Significance,
    noisy: bool,
) -> (Vec<ComponentMetrics>, UnitScores) {
    unit_metrics_at_scale(spectrum, unit, lattice, preset, sig, noisy, 0.0)
}

/// Everything computed for one unit of a tap whose scale is `tap_scale`
/// (activation units, [`tap_scale`]): the unit is silent when its strongest
/// lattice component is at most `sig.responsive_floor × max(|DC|, tap_scale)`.
pub fn unit_metrics_at_scale(
    spectrum: &Spectrum,
    unit: usize,
    lattice: &Lattice,
    preset: SnrPreset,
    sig: &Significance,
    noisy: bool,
    tap_scale: f64,
) -> (Vec<ComponentMetrics>, UnitScores) {
    let amps = spectrum.unit_amplitude(unit);
    let phases = spectrum.unit_phase(unit);
    let strongest = lattice.components.iter().map(|c| amps[c.bin]).fold(0f32, f32::max);
    let dc = amps[0] as f64;
    let scale = dc.abs().max(if tap_scale.is_finite() { tap_scale } else { 0.0 });
    let responsive = strongest as f64 > sig.responsive_floor * scale && strongest > 0.0;
    let n_tags = lattice.components.iter().map(|c| c.coefficients.len()).max().unwrap_or(0);
    let mut tagged = vec![0f64; n_tags];
    let (mut im, mut p_fund, mut p_harm, mut p_im) = (0f64, 0f64, 0f64, 0f64);
    let (mut sig_im, mut sig_tag) = (0usize, 0usize);
    let mut fundamentals_snr = Vec::new();
    let metrics: Vec<ComponentMetrics> = lattice
        .components
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let a = amps[c.bin];
            let a64 = a as f64;
            let neighbours = if noisy {
                neighbourhood(amps, c.bin, preset)
            } else {
                Neighbourhood { snr: f64::NAN, bca: f64::NAN, z: f64::NAN }
            };
            let relative = if responsive { a / strongest } else { f32::NAN };
            let significant = if noisy {
                neighbourhood(amps, c.bin, SnrPreset::Fpvs).z > sig.z_threshold
            } else {
                responsive && relative as f64 >= sig.relative_threshold
            };
            match c.kind {
                Kind::Fundamental | Kind::Harmonic => {
                    if let Some(t) = c.tag() {
                        tagged[t] += a64;
                    }
                    if c.kind == Kind::Fundamental {
                        p_fund += a64 * a64;
                        fundamentals_snr.push(neighbourhood(amps, c.bin, SnrPreset::Authors).snr);
                    } else {
                        p_harm += a64 * a64;
                    }
                    sig_tag += usize::from(significant);
                }
                Kind::Intermodulation => {
                    im += a64;
                    p_im += a64 * a64;
                    sig_im += usize::from(significant);
                }
            }
            ComponentMetrics { component: i, amplitude: a, phase: phases[c.bin], relative, neighbours, significant }
        })
        .collect();
    // Ratios of an unresponsive unit (a constant channel, a dead ReLU) would
    // be ratios of float rounding residues (1e-17 of 1e-17), not of responses:
    // they are NaN, like those of a unit with no AC power at all.
    let ac = spectrum.ac_power(unit);
    let share = |p: f64| if responsive && ac > 0.0 { p / ac } else { f64::NAN };
    let tagged_total: f64 = tagged.iter().sum();
    let selectivity = if responsive && n_tags >= 2 && tagged[0] + tagged[1] > 0.0 {
        (tagged[0] - tagged[1]) / (tagged[0] + tagged[1])
    } else {
        f64::NAN
    };
    let integration = if responsive && tagged_total + im > 0.0 { im / (tagged_total + im) } else { f64::NAN };
    let authors_snr = if fundamentals_snr.is_empty() {
        f64::NAN
    } else {
        fundamentals_snr.iter().sum::<f64>() / fundamentals_snr.len() as f64
    };
    let harmonic_sum = (0..n_tags)
        .map(|t| {
            lattice
                .of_kind(Kind::Fundamental)
                .find(|c| c.tag() == Some(t))
                .map(|c| harmonic_sum(amps, c.bin, sig.z_threshold).0)
                .unwrap_or(f64::NAN)
        })
        .collect();
    let scores = UnitScores {
        harmonic_sum,
        tagged,
        tagged_total,
        im,
        share_fundamental: share(p_fund),
        share_harmonic: share(p_harm),
        share_im: share(p_im),
        share_other: share((ac - p_fund - p_harm - p_im).max(0.0)),
        selectivity,
        integration,
        authors_snr,
        significant_im: sig_im,
        significant_tagged: sig_tag,
        dc,
    };
    (metrics, scores)
}

/// Harmonic summation (Retter, Rossion & Schiltz 2021) for one tag of one
/// unit: walk the harmonics h·f below Nyquist, judge each by FPVS z >
/// `z_threshold`, stop after two non-significant harmonics in a row, and sum
/// the baseline-corrected amplitudes of the significant ones. Returns
/// (sum of BCA, number of significant harmonics).
pub fn harmonic_sum(amps: &[f32], fundamental_bin: usize, z_threshold: f64) -> (f64, usize) {
    let (mut total, mut count, mut misses) = (0.0, 0usize, 0);
    let mut h = 1;
    while fundamental_bin > 0 && h * fundamental_bin < amps.len() && misses < 2 {
        let nb = neighbourhood(amps, h * fundamental_bin, SnrPreset::Fpvs);
        if nb.z > z_threshold {
            total += nb.bca;
            count += 1;
            misses = 0;
        } else {
            misses += 1;
        }
        h += 1;
    }
    (total, count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stimulus::Design;

    #[test]
    fn neighbour_presets_on_a_known_spectrum() {
        // flat floor of 1 with a peak of 5 at bin 20 and a bump of 3 at bin 22
        let mut amps = vec![1f32; 61];
        amps[20] = 5.0;
        amps[22] = 3.0;
        let m = neighbourhood(&amps, 20, SnrPreset::MeigenBach);
        assert!((m.snr - 5.0).abs() < 1e-9);
        // MNE: neighbours 17,18,19 and 21,22,23 → powers 1,1,1,1,9,1 mean 14/6
        let m = neighbourhood(&amps, 20, SnrPreset::Mne);
        assert!((m.snr - 25.0 / (14.0 / 6.0)).abs() < 1e-9, "{}", m.snr);
        // letswave: 16..19 and 21..24 → mean (7 + 3)/8 = 1.25
        let m = neighbourhood(&amps, 20, SnrPreset::Letswave);
        assert!((m.snr - 4.0).abs() < 1e-9 && (m.bca - 3.75).abs() < 1e-9);
        // FPVS drops the 3 (highest) and one 1 (lowest): all ones left, sd 0 → z inf
        let m = neighbourhood(&amps, 20, SnrPreset::Fpvs);
        assert!((m.bca - 4.0).abs() < 1e-9 && m.z.is_infinite());
        // edge bins are NaN
        assert!(neighbourhood(&amps, 3, SnrPreset::Mne).snr.is_nan());
        assert!(neighbourhood(&amps, 58, SnrPreset::Mne).snr.is_nan());
    }

    #[test]
    fn harmonic_summation_stops_after_two_misses() {
        let mut amps: Vec<f32> = (0..121).map(|k| 1.0 + 0.1 * ((k * 7 % 5) as f32)).collect();
        for (h, a) in [(1, 6.0), (2, 4.0), (3, 1.0), (4, 1.1), (5, 5.0)] {
            amps[h * 12] = a;
        }
        let (_, n) = harmonic_sum(&amps, 12, 1.64);
        assert_eq!(n, 2, "the 5th harmonic comes after two misses");
    }

    #[test]
    fn scores_split_power_by_kind() {
        let d = Design::paper();
        let lattice = Lattice::new(&d, 3);
        // synthetic unit: f1 amp 2, 2f1 amp 1, f1+f2 amp 0.5, off-lattice bin 1 amp 0.1
        let bins = d.bins();
        let mut amp = vec![0f32; bins];
        amp[0] = 3.0;
        amp[12] = 2.0;
        amp[24] = 1.0;
        amp[27] = 0.5;
        amp[1] = 0.1;
        let s = Spectrum { fs_hz: 120.0, frames: 240, units: 1, amplitude: amp, phase: vec![0.0; bins] };
        let (m, sc) = unit_metrics(&s, 0, &lattice, SnrPreset::Fpvs, &Significance::default(), false);
        assert_eq!(m.len(), lattice.components.len());
        assert!((sc.tagged[0] - 3.0).abs() < 1e-9 && sc.tagged[1] == 0.0);
        assert!((sc.im - 0.5).abs() < 1e-9);
        let ac = 4.0 + 1.0 + 0.25 + 0.01;
        assert!((sc.share_fundamental - 4.0 / ac).abs() < 1e-6);
        assert!((sc.share_harmonic - 1.0 / ac).abs() < 1e-6);
        assert!((sc.share_im - 0.25 / ac).abs() < 1e-6);
        assert!((sc.share_other - 0.01 / ac).abs() < 1e-6);
        assert!((sc.selectivity - 1.0).abs() < 1e-12);
        assert!((sc.integration - 0.5 / 3.5).abs() < 1e-12);
        assert_eq!(sc.significant_im, 1);
        assert_eq!(sc.significant_tagged, 2);
    }

    #[test]
    fn an_unresponsive_unit_has_no_ratios() {
        // a constant channel: DC 1.2, rounding residues of 1e-17 on the lattice
        // (seen in EfficientNet-Lite0's stem conv, whose IM share was 0.88)
        let d = Design::paper();
        let lattice = Lattice::new(&d, 4);
        let bins = d.bins();
        let mut amp = vec![1e-17f32; bins];
        amp[0] = 1.2;
        amp[27] = 3e-17;
        let s = Spectrum { fs_hz: 120.0, frames: 240, units: 1, amplitude: amp, phase: vec![0.0; bins] };
        let (m, sc) = unit_metrics(&s, 0, &lattice, SnrPreset::Fpvs, &Significance::default(), false);
        for v in [sc.share_fundamental, sc.share_harmonic, sc.share_im, sc.share_other, sc.selectivity, sc.integration]
        {
            assert!(v.is_nan(), "{sc:?}");
        }
        assert!(m.iter().all(|c| !c.significant));
        assert_eq!((sc.significant_im, sc.significant_tagged), (0, 0));
        // its relative amplitudes are NaN too: 3e-17 ÷ 3e-17 is not "as strong as its strongest"
        assert!(m.iter().all(|c| c.relative.is_nan()), "{:?}", m.iter().map(|c| c.relative).collect::<Vec<_>>());
        // the same unit with a real response just above the floor has ratios
        let mut amp = s.amplitude.clone();
        amp[12] = 1e-4;
        let s = Spectrum { amplitude: amp, ..s };
        let (_, sc) = unit_metrics(&s, 0, &lattice, SnrPreset::Fpvs, &Significance::default(), false);
        assert!(sc.share_fundamental > 0.99 && sc.integration < 1e-9, "{sc:?}");
    }

    #[test]
    fn a_unit_silent_at_its_taps_scale_has_no_relative_amplitudes() {
        // two units of one tap: unit 0 answers at f1 with amplitude 1 around
        // a DC of 2; unit 1 has DC 0 and rounding residues of 1e-12 (far
        // below f32 resolution of a tap whose values are about 2). Judged by
        // its own DC alone (0) unit 1 looks responsive; at the tap's scale it
        // is silent, and its relative amplitudes are NaN, not 1.0.
        let d = Design::paper();
        let lattice = Lattice::new(&d, 4);
        let bins = d.bins();
        let mut amp = vec![0f32; 2 * bins];
        amp[0] = 2.0;
        amp[12] = 1.0;
        amp[bins + 12] = 1e-12;
        amp[bins + 27] = 1e-12;
        let s = Spectrum { fs_hz: 120.0, frames: 240, units: 2, amplitude: amp, phase: vec![0.0; 2 * bins] };
        assert!((tap_scale(&s) - (5.0f64 / 2.0).sqrt()).abs() < 1e-9, "{}", tap_scale(&s));
        let sig = Significance::default();
        let (alone, _) = unit_metrics(&s, 1, &lattice, SnrPreset::Fpvs, &sig, false);
        let f1_f2 = lattice.components.iter().position(|c| c.bin == 27).unwrap();
        assert_eq!(alone[f1_f2].relative, 1.0, "without a tap scale the residue is its own strongest");
        let (comps, scores) = tap_metrics(&s, &lattice, SnrPreset::Fpvs, &sig, false);
        assert!(comps[1].iter().all(|c| c.relative.is_nan() && !c.significant));
        assert!(scores[1].integration.is_nan() && scores[1].share_im.is_nan());
        // the responsive unit keeps its numbers
        let f1 = lattice.components.iter().position(|c| c.bin == 12).unwrap();
        assert_eq!(comps[0][f1].relative, 1.0);
        assert!(comps[0][f1].significant && scores[0].integration == 0.0);
    }
}

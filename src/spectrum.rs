//! Spectra of unit activations over frames.
//!
//! In: activations `[frames, units]` (one number per unit per frame, from the
//! probe). Out: a [`Spectrum`] with, for every unit, the one-sided amplitude
//! and phase at bins k = 0 … N/2, frequency k·fs/N Hz.
//!
//! # Scaling
//!
//! With `X_k = Σ_i x_i e^{−2πi·ki/N}` (the real FFT, unnormalised), the
//! amplitude is
//!
//! - `|X_0| / N` at DC (the mean activation),
//! - `2 |X_k| / N` for 0 < k < N/2,
//! - `|X_{N/2}| / N` at Nyquist (even N),
//!
//! so that an activation `A cos(2π f t + θ)` with f on bin k reads `A` at k,
//! in the activation's own units. The phase is `arg X_k` (radians), the θ of
//! that cosine; a sine `A sin(2π f t + φ)` reads θ = φ − π/2. No window, no
//! detrending, no zero padding (METHOD.md conventions 2 and 5).
//!
//! # Periodic shortcut
//!
//! When the design is periodic with period P frames (N = r·P), only P frames
//! need the network. The N-frame DFT of r repeats of a P-frame block is
//! `X^N_{r·j} = r · X^P_j` and exactly zero at every other bin, so the
//! amplitudes at bins r·j equal the P-frame amplitudes at j.
//! [`Spectrum::from_period`] builds the N-frame spectrum that way; a test on a
//! real model checks it against running all N frames.

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

use crate::error::{Error, Result};

/// One-sided amplitude and phase spectra of a set of units.
#[derive(Clone, Debug, PartialEq)]
pub struct Spectrum {
    /// Frame rate (Hz).
    pub fs_hz: f64,
    /// Frames N in the analysis window.
    pub frames: usize,
    /// Units (rows).
    pub units: usize,
    /// Amplitude, row-major `[units, bins]`, activation units (see module doc).
    pub amplitude: Vec<f32>,
    /// Phase in radians, `[units, bins]`.
    pub phase: Vec<f32>,
}

impl Spectrum {
    /// Number of bins, N/2 + 1.
    pub fn bins(&self) -> usize {
        self.frames / 2 + 1
    }
    /// Frequency of bin `k` in Hz.
    pub fn frequency(&self, k: usize) -> f64 {
        k as f64 * self.fs_hz / self.frames as f64
    }
    /// All bin frequencies in Hz.
    pub fn frequencies(&self) -> Vec<f64> {
        (0..self.bins()).map(|k| self.frequency(k)).collect()
    }
    /// Amplitudes of unit `u`, one per bin.
    pub fn unit_amplitude(&self, u: usize) -> &[f32] {
        &self.amplitude[u * self.bins()..(u + 1) * self.bins()]
    }

    /// The mean amplitude over units at every bin (activation units).
    pub fn mean_amplitude(&self) -> Vec<f32> {
        let bins = self.bins();
        let mut m = vec![0f64; bins];
        for u in 0..self.units {
            for (k, a) in self.unit_amplitude(u).iter().enumerate() {
                m[k] += *a as f64;
            }
        }
        m.into_iter().map(|v| (v / self.units.max(1) as f64) as f32).collect()
    }
    /// Phases of unit `u`, one per bin.
    pub fn unit_phase(&self, u: usize) -> &[f32] {
        &self.phase[u * self.bins()..(u + 1) * self.bins()]
    }
    /// Amplitude of unit `u` at bin `k`.
    pub fn amp(&self, u: usize, k: usize) -> f32 {
        self.amplitude[u * self.bins() + k]
    }

    /// The amplitudes at some bins only, row-major `[units, bins.len()]`
    /// (e.g. at [`carried_bins`], as the `.npy` files hold them).
    pub fn amplitude_at(&self, bins: &[usize]) -> Vec<f32> {
        gather_columns(&self.amplitude, self.bins(), bins)
    }
    /// The phases at some bins only, row-major `[units, bins.len()]`.
    pub fn phase_at(&self, bins: &[usize]) -> Vec<f32> {
        gather_columns(&self.phase, self.bins(), bins)
    }

    /// Spectra of all `units` from activations laid out `[frames, units]`
    /// (frame-major, as the probe produces them).
    pub fn from_activations(acts: &[f32], frames: usize, units: usize, fs_hz: f64) -> Result<Spectrum> {
        if frames < 2 || acts.len() != frames * units {
            return Err(Error::Data(format!(
                "activations: {} values do not fill {frames} frames × {units} units",
                acts.len()
            )));
        }
        let bins = frames / 2 + 1;
        let fft = fft_for(frames);
        let mut amplitude = vec![0f32; units * bins];
        let mut phase = vec![0f32; units * bins];
        let mut input = fft.make_input_vec();
        let mut output = fft.make_output_vec();
        let mut scratch = fft.make_scratch_vec();
        let mut column = vec![0f64; frames];
        for u in 0..units {
            for (i, c) in column.iter_mut().enumerate() {
                *c = acts[i * units + u] as f64;
            }
            input.copy_from_slice(&column);
            fft.process_with_scratch(&mut input, &mut output, &mut scratch)
                .map_err(|e| Error::Data(format!("fft: {e}")))?;
            for (k, x) in output.iter().enumerate() {
                let scale = if k == 0 || (frames.is_multiple_of(2) && k == frames / 2) { 1.0 } else { 2.0 };
                amplitude[u * bins + k] = (scale * x.norm() / frames as f64) as f32;
                phase[u * bins + k] = x.arg() as f32;
            }
        }
        Ok(Spectrum { fs_hz, frames, units, amplitude, phase })
    }

    /// The N-frame spectrum from one period of P frames (`acts` is
    /// `[period, units]`, N a multiple of P): amplitudes and phases of the
    /// P-frame spectrum at bins (N/P)·j, exactly zero elsewhere.
    pub fn from_period(acts: &[f32], period: usize, units: usize, fs_hz: f64, frames: usize) -> Result<Spectrum> {
        if period == 0 || !frames.is_multiple_of(period) {
            return Err(Error::Data(format!("{frames} frames are not a whole number of {period}-frame periods")));
        }
        if period == frames {
            return Spectrum::from_activations(acts, frames, units, fs_hz);
        }
        let r = frames / period;
        let bins = frames / 2 + 1;
        let mut amplitude = vec![0f32; units * bins];
        let mut phase = vec![0f32; units * bins];
        if period == 1 {
            for u in 0..units {
                amplitude[u * bins] = acts[u].abs();
                phase[u * bins] = if acts[u] < 0.0 { std::f32::consts::PI } else { 0.0 };
            }
            return Ok(Spectrum { fs_hz, frames, units, amplitude, phase });
        }
        let short = Spectrum::from_activations(acts, period, units, fs_hz)?;
        let sb = short.bins();
        for u in 0..units {
            for j in 0..sb {
                // bin j of P frames is bin r·j of N frames (P's Nyquist is N's)
                let k = j * r;
                amplitude[u * bins + k] = short.amplitude[u * sb + j];
                phase[u * bins + k] = short.phase[u * sb + j];
            }
        }
        Ok(Spectrum { fs_hz, frames, units, amplitude, phase })
    }

    /// Sum of squared amplitudes over bins 1 … N/2 for unit `u`: the unit's
    /// AC power up to a constant (a cosine of amplitude A contributes A²).
    pub fn ac_power(&self, u: usize) -> f64 {
        self.unit_amplitude(u)[1..].iter().map(|&a| (a as f64) * (a as f64)).sum()
    }
}

/// The bins of an N-frame window (N = `frames`) that a run of `frames_run`
/// frames can make non-zero: all N/2 + 1 when the whole window ran; with the
/// periodicity shortcut (N = r·P, P = `frames_run` frames run) the bins
/// 0, r, 2r, …, r·⌊P/2⌋ — P/2 + 1 of them, frequency j·fs/P — because every
/// other bin of r repeats of a P-frame block is exactly zero
/// ([`Spectrum::from_period`]). The `.npy` spectra hold these bins only.
pub fn carried_bins(frames: usize, frames_run: usize) -> Vec<usize> {
    let step = if frames_run > 0 && frames_run < frames && frames.is_multiple_of(frames_run) {
        frames / frames_run
    } else {
        1
    };
    (0..=frames / 2).step_by(step).collect()
}

/// Columns `bins` of a row-major array with `width` columns.
fn gather_columns(values: &[f32], width: usize, bins: &[usize]) -> Vec<f32> {
    if bins.len() == width {
        return values.to_vec();
    }
    let mut out = Vec::with_capacity(values.len() / width.max(1) * bins.len());
    for row in values.chunks_exact(width) {
        out.extend(bins.iter().map(|&k| row[k]));
    }
    out
}

fn fft_for(n: usize) -> Arc<dyn RealToComplex<f64>> {
    thread_local! {
        static PLANNER: std::cell::RefCell<RealFftPlanner<f64>> = std::cell::RefCell::new(RealFftPlanner::new());
    }
    PLANNER.with(|p| p.borrow_mut().plan_fft_forward(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn signal(n: usize, fs: f64, f: impl Fn(f64) -> f64) -> Vec<f32> {
        (0..n).map(|i| f(i as f64 / fs) as f32).collect()
    }

    #[test]
    fn a_sinusoid_reads_its_amplitude_and_phase() {
        let (n, fs) = (240, 120.0);
        let x = signal(n, fs, |t| 0.3 + 2.0 * (2.0 * PI * 6.0 * t).sin() + 0.5 * (2.0 * PI * 7.5 * t + 1.0).cos());
        let s = Spectrum::from_activations(&x, n, 1, fs).unwrap();
        assert_eq!(s.bins(), 121);
        assert!((s.amp(0, 0) - 0.3).abs() < 1e-5);
        assert!((s.amp(0, 12) - 2.0).abs() < 1e-5, "{}", s.amp(0, 12));
        assert!((s.unit_phase(0)[12] as f64 + PI / 2.0).abs() < 1e-4);
        assert!((s.amp(0, 15) - 0.5).abs() < 1e-5);
        assert!((s.unit_phase(0)[15] - 1.0).abs() < 1e-4);
        let rest: f32 = (1..121).filter(|&k| k != 12 && k != 15).map(|k| s.amp(0, k)).sum();
        assert!(rest < 1e-4, "{rest}");
        // Nyquist bin: cos(π i) has amplitude 1
        let nyq = signal(8, 8.0, |t| (2.0 * PI * 4.0 * t).cos());
        let s = Spectrum::from_activations(&nyq, 8, 1, 8.0).unwrap();
        assert!((s.amp(0, 4) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn carried_bins_are_the_period_bins() {
        // 240 frames, one 80-frame period: bins 0, 3, …, 120
        let b = carried_bins(240, 80);
        assert_eq!((b.len(), b[1], *b.last().unwrap()), (41, 3, 120));
        assert_eq!(carried_bins(240, 240), (0..=120).collect::<Vec<_>>());
        // odd period: P/2 + 1 bins, the last below N/2
        assert_eq!(carried_bins(240, 15), vec![0, 16, 32, 48, 64, 80, 96, 112]);
        assert_eq!(carried_bins(240, 1), vec![0]);
        // a run that is not a whole number of periods carries every bin
        assert_eq!(carried_bins(240, 70).len(), 121);
        // every bin left out is exactly zero, for even and odd periods
        for period in [80, 15, 48] {
            let units = 2;
            let acts: Vec<f32> = (0..period * units).map(|i| ((i * 7919) % 113) as f32 / 37.0).collect();
            let s = Spectrum::from_period(&acts, period, units, 120.0, 240).unwrap();
            let kept = carried_bins(240, period);
            assert_eq!(kept.len(), period / 2 + 1);
            for u in 0..units {
                for k in (0..s.bins()).filter(|k| !kept.contains(k)) {
                    assert_eq!((s.amp(u, k), s.unit_phase(u)[k]), (0.0, 0.0), "period {period}, bin {k}");
                }
            }
            let at = s.amplitude_at(&kept);
            assert_eq!(at.len(), units * kept.len());
            assert_eq!(at[kept.len() + 1], s.amp(1, kept[1]));
        }
    }

    #[test]
    fn period_shortcut_equals_the_full_transform() {
        let (n, fs) = (240, 120.0);
        let f = |t: f64| {
            let a = (2.0 * PI * 6.0 * t).sin();
            let b = (2.0 * PI * 7.5 * t + 0.3).sin();
            (a + b + 0.4).max(0.0) + 0.1 * a * b
        };
        let units = 2;
        let full: Vec<f32> = (0..n).flat_map(|i| [f(i as f64 / fs) as f32, 2.0 * f(i as f64 / fs) as f32]).collect();
        let a = Spectrum::from_activations(&full, n, units, fs).unwrap();
        let b = Spectrum::from_period(&full[..80 * units], 80, units, fs, n).unwrap();
        for (x, y) in a.amplitude.iter().zip(&b.amplitude) {
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
        for k in (0..121).filter(|k| k % 3 == 0) {
            if a.amp(0, k) > 1e-3 {
                let d = (a.unit_phase(0)[k] - b.unit_phase(0)[k]).abs();
                assert!(d < 1e-3 || (d - 2.0 * std::f32::consts::PI).abs() < 1e-3);
            }
        }
        // a period-4 sequence over 8 frames: its P-Nyquist bin lands inside
        let p4: Vec<f32> = (0..8).map(|i| [1.0, 0.0, -1.0, 0.5][i % 4]).collect();
        let a = Spectrum::from_activations(&p4, 8, 1, 8.0).unwrap();
        let b = Spectrum::from_period(&p4[..4], 4, 1, 8.0, 8).unwrap();
        for (x, y) in a.amplitude.iter().zip(&b.amplitude) {
            assert!((x - y).abs() < 1e-6, "{x} vs {y}");
        }
        assert!(Spectrum::from_period(&p4[..3], 3, 1, 8.0, 8).is_err());
    }
}

//! What an experiment found, accumulated image by image in memory that
//! does not grow with the number of images.
//!
//! In: [`ImageResult`]s one at a time (or whole [`Results`]). Out: a
//! [`Summary`] — per tap, counts and sums over units and images (units with
//! a significant IM, mean tagged and IM responses, mean IM share, mean
//! integration index, mean relative amplitude of every lattice component),
//! per image its name, timings and top classes, the first image (for the
//! stimulus figures) and the spectra of the strongest integrating units —
//! and from it the [`Findings`]: where IMs first appear, how many units
//! carry them, which units integrate most.
//!
//! The report, the layer table and the layer figures read a summary, so a
//! run over a thousand images holds one image's spectra at a time.

use std::fmt::Write as _;

use crate::components::Lattice;
use crate::experiment::{Analysis, ImageResult, Results};
use crate::images::Image;
use crate::model::Tap;
use crate::spectrum::Spectrum;
use crate::stimulus::Design;

/// How many strongest integrating units a summary keeps (with spectra).
pub const TOP_UNITS: usize = 6;

/// A unit worth looking at.
#[derive(Clone, Debug, PartialEq)]
pub struct NotableUnit {
    /// Image.
    pub image: String,
    /// Tap name.
    pub tap: String,
    /// Index of the tap in the results.
    pub tap_index: usize,
    /// Unit index.
    pub unit: usize,
    /// Its IM response (Σ amplitude at IMs).
    pub im: f64,
    /// Its integration index.
    pub integration: f64,
}

impl NotableUnit {
    /// The ranking key: IM response × integration index.
    fn key(&self) -> f64 {
        self.im * self.integration
    }
}

/// One tap's aggregates over all units of all images added so far.
#[derive(Clone, Debug)]
pub struct TapSummary {
    /// The tap.
    pub tap: Tap,
    /// Units per image.
    pub units: usize,
    /// Unit observations (units × images).
    pub n: usize,
    /// Observations with at least one significant IM.
    pub with_im: usize,
    /// Σ tagged_total.
    pub tagged_sum: f64,
    /// Σ im.
    pub im_sum: f64,
    /// Σ share_im over observations where it is finite, and their count.
    pub share_im_sum: f64,
    /// Count of finite share_im.
    pub share_im_n: usize,
    /// Σ integration over observations where it is finite.
    pub integration_sum: f64,
    /// Count of finite integration.
    pub integration_n: usize,
    /// Per lattice component (lattice order): Σ relative amplitude over the
    /// observations where it is finite (silent units have none: NaN).
    pub relative_sum: Vec<f64>,
    /// Per lattice component: how many observations entered `relative_sum`.
    pub relative_n: Vec<usize>,
}

impl TapSummary {
    /// Share of unit observations with a significant IM.
    pub fn share_with_im(&self) -> f64 {
        self.with_im as f64 / self.n.max(1) as f64
    }
    /// Mean relative amplitude of lattice component `c` over the unit
    /// observations that have one (silent units do not: see
    /// [`crate::metrics`]); NaN when none has.
    pub fn mean_relative(&self, c: usize) -> f64 {
        match (self.relative_sum.get(c), self.relative_n.get(c)) {
            (Some(sum), Some(&n)) if n > 0 => sum / n as f64,
            _ => f64::NAN,
        }
    }
    /// Mean of the finite IM shares (NaN when none is finite).
    pub fn mean_share_im(&self) -> f64 {
        if self.share_im_n == 0 {
            f64::NAN
        } else {
            self.share_im_sum / self.share_im_n as f64
        }
    }
    /// Mean of the finite integration indices (NaN when none is finite).
    pub fn mean_integration(&self) -> f64 {
        if self.integration_n == 0 {
            f64::NAN
        } else {
            self.integration_sum / self.integration_n as f64
        }
    }
}

/// One image's bookkeeping.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageInfo {
    /// Image name.
    pub image: String,
    /// Frames of the sequence computed (one period under the shortcut).
    pub frames_run: usize,
    /// Frames of those that went through the network.
    pub network_frames: usize,
    /// Wall time of its network runs (s).
    pub network_seconds: f64,
    /// Top classes of the unmodulated image (empty for models without classes).
    pub top_classes: Vec<(String, f32)>,
}

/// An experiment's aggregates (see the module doc).
#[derive(Clone, Debug)]
pub struct Summary {
    /// Model name.
    pub model: String,
    /// The design.
    pub design: Design,
    /// Analysis options.
    pub analysis: Analysis,
    /// The component lattice.
    pub lattice: Lattice,
    /// Per tap, in tap order (empty until the first image).
    pub taps: Vec<TapSummary>,
    /// Per image, in order.
    pub images: Vec<ImageInfo>,
    /// The first image, unmodulated and model-sized.
    pub first_image: Option<Image>,
    /// The strongest integrating units (at most [`TOP_UNITS`]), strongest
    /// first, each with its spectrum (a one-unit [`Spectrum`]).
    pub top_units: Vec<(NotableUnit, Spectrum)>,
    /// Total wall time (s), set by the caller when the run ends.
    pub seconds: f64,
    /// The engine that ran the network.
    pub engine: String,
    /// Per-image aggregates for the statistics across images (the images
    /// are the trials, [`crate::stats::AcrossImages`]).
    pub across: crate::stats::AcrossImages,
    /// What the model outputs, in words.
    pub model_output: String,
}

impl Summary {
    /// An empty summary for an experiment (`context`: its results before
    /// any image, [`crate::Experiment::context`]; images there are ignored).
    pub fn new(context: &Results) -> Summary {
        Summary {
            model: context.model.clone(),
            design: context.design.clone(),
            analysis: context.analysis.clone(),
            lattice: context.lattice.clone(),
            taps: vec![],
            images: vec![],
            first_image: None,
            top_units: vec![],
            seconds: 0.0,
            engine: context.engine.clone(),
            across: crate::stats::AcrossImages::new(context),
            model_output: context.model_output.clone(),
        }
    }

    /// The summary of whole results.
    pub fn of(results: &Results) -> Summary {
        let mut s = Summary::new(results);
        for img in &results.images {
            s.add(img);
        }
        s.seconds = results.seconds;
        s
    }

    /// Add one image's results.
    pub fn add(&mut self, img: &ImageResult) {
        if self.taps.is_empty() {
            self.taps = img
                .taps
                .iter()
                .map(|t| TapSummary {
                    tap: t.tap.clone(),
                    units: t.spectrum.units,
                    n: 0,
                    with_im: 0,
                    tagged_sum: 0.0,
                    im_sum: 0.0,
                    share_im_sum: 0.0,
                    share_im_n: 0,
                    integration_sum: 0.0,
                    integration_n: 0,
                    relative_sum: vec![0.0; self.lattice.components.len()],
                    relative_n: vec![0; self.lattice.components.len()],
                })
                .collect();
            self.first_image = Some(img.prepared.clone());
        }
        // (key, tap, unit) of every ranked unit; names are copied for the
        // few that make the list only
        let mut candidates: Vec<(f64, usize, usize)> = Vec::new();
        for (ti, (sum, t)) in self.taps.iter_mut().zip(&img.taps).enumerate() {
            for (u, s) in t.scores.iter().enumerate() {
                sum.n += 1;
                sum.with_im += usize::from(s.significant_im > 0);
                sum.tagged_sum += s.tagged_total;
                sum.im_sum += s.im;
                if s.share_im.is_finite() {
                    sum.share_im_sum += s.share_im;
                    sum.share_im_n += 1;
                }
                if s.integration.is_finite() {
                    sum.integration_sum += s.integration;
                    sum.integration_n += 1;
                }
                if s.im.is_finite() && s.integration.is_finite() {
                    candidates.push((s.im * s.integration, ti, u));
                }
            }
            for unit in &t.components {
                for ((acc, n), m) in sum.relative_sum.iter_mut().zip(sum.relative_n.iter_mut()).zip(unit) {
                    if m.relative.is_finite() {
                        *acc += m.relative as f64;
                        *n += 1;
                    }
                }
            }
        }
        // strongest first, ties in tap and unit order (a stable sort of the
        // TOP_UNITS strongest: the order a full stable sort would give)
        let by_key =
            |a: &(f64, usize, usize), b: &(f64, usize, usize)| b.0.total_cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2)));
        if candidates.len() > TOP_UNITS {
            candidates.select_nth_unstable_by(TOP_UNITS - 1, by_key);
            candidates.truncate(TOP_UNITS);
        }
        candidates.sort_by(by_key);
        for (_, ti, u) in candidates {
            let s = &img.taps[ti].scores[u];
            let c = NotableUnit {
                image: img.image.clone(),
                tap: img.taps[ti].tap.info.name.clone(),
                tap_index: ti,
                unit: u,
                im: s.im,
                integration: s.integration,
            };
            let spectrum = one_unit(&img.taps[c.tap_index].spectrum, c.unit);
            self.top_units.push((c, spectrum));
        }
        self.top_units.sort_by(|a, b| b.0.key().total_cmp(&a.0.key()));
        self.top_units.truncate(TOP_UNITS);
        self.across.add(img);
        self.images.push(ImageInfo {
            image: img.image.clone(),
            frames_run: img.frames_run,
            network_frames: img.network_frames,
            network_seconds: img.network_seconds,
            top_classes: img.top_classes.clone(),
        });
    }

    /// Units per image over all taps.
    pub fn units(&self) -> usize {
        self.taps.iter().map(|t| t.units).sum()
    }

    /// Frames through the network per second, over all images.
    pub fn frames_per_second(&self) -> f64 {
        crate::stats::frames_per_second(self.images.iter().map(|i| (i.network_frames, i.network_seconds)))
    }

    /// The headline numbers (`threshold`: the share of units that marks a
    /// tap as "showing IMs", e.g. 0.1).
    pub fn findings(&self, threshold: f64) -> Findings {
        let mut first_im_tap = None;
        let (mut total, mut with_im) = (0usize, 0usize);
        let mut by_op: Vec<(String, usize, usize, usize)> = Vec::new();
        for t in &self.taps {
            total += t.n;
            with_im += t.with_im;
            let share = t.share_with_im();
            if first_im_tap.is_none() && share >= threshold {
                first_im_tap = Some((t.tap.info.name.clone(), share));
            }
            let op = &t.tap.info.op;
            match by_op.iter_mut().find(|r| &r.0 == op) {
                Some(r) => {
                    r.1 += 1;
                    r.2 += t.n;
                    r.3 += t.with_im;
                }
                None => by_op.push((op.clone(), 1, t.n, t.with_im)),
            }
        }
        Findings {
            taps: self.taps.len(),
            units: self.units(),
            first_im_tap,
            threshold,
            share_units_with_im: with_im as f64 / total.max(1) as f64,
            by_op: by_op.into_iter().map(|(op, t, n, k)| (op, t, k as f64 / n.max(1) as f64)).collect(),
            top_units: self.top_units.iter().map(|(u, _)| u.clone()).collect(),
        }
    }
}

/// Unit `u` of `s` as a one-unit spectrum.
fn one_unit(s: &Spectrum, u: usize) -> Spectrum {
    Spectrum {
        fs_hz: s.fs_hz,
        frames: s.frames,
        units: 1,
        amplitude: s.unit_amplitude(u).to_vec(),
        phase: s.unit_phase(u).to_vec(),
    }
}

/// Headline numbers of an experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct Findings {
    /// Taps analysed.
    pub taps: usize,
    /// Units per image over all taps.
    pub units: usize,
    /// The first tap (graph order) where at least `threshold` of units carry
    /// a significant IM, with that share.
    pub first_im_tap: Option<(String, f64)>,
    /// The share used for `first_im_tap`.
    pub threshold: f64,
    /// Share of all units (all images) with at least one significant IM.
    pub share_units_with_im: f64,
    /// Per op type: (op, taps, share of units with a significant IM).
    pub by_op: Vec<(String, usize, f64)>,
    /// Units with the largest IM response times integration index.
    pub top_units: Vec<NotableUnit>,
}

impl Findings {
    /// Plain-text summary (a few lines).
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} taps, {} units per image; {:.1}% of units carry a significant IM",
            self.taps,
            self.units,
            100.0 * self.share_units_with_im
        );
        match &self.first_im_tap {
            Some((t, share)) => {
                let _ = write!(
                    s,
                    "\nfirst tap where ≥{:.0}% of units carry IMs: {t} ({:.1}%)",
                    100.0 * self.threshold,
                    100.0 * share
                );
            }
            None => {
                let _ = write!(s, "\nno tap has ≥{:.0}% of units with IMs", 100.0 * self.threshold);
            }
        }
        for (op, taps, share) in &self.by_op {
            let _ = write!(s, "\n  {op:>8}: {taps:3} taps, {:.1}% of units with IMs", 100.0 * share);
        }
        if let Some(u) = self.top_units.first() {
            let _ = write!(
                s,
                "\nstrongest integrating unit: {} unit {} on {} (IM {:.4}, integration {:.3})",
                u.tap, u.unit, u.image, u.im, u.integration
            );
        }
        s
    }
}

/// The findings of whole results (see [`Summary::findings`]).
pub fn findings(results: &Results, threshold: f64) -> Findings {
    Summary::of(results).findings(threshold)
}

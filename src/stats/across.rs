//! Per-image aggregates of an experiment, accumulated image by image, and
//! the tables, tests and SNR spectrum made from them.
//!
//! Images are the trials: units of one image are not independent, so each
//! image contributes **one value per group** — a tap, all taps of one ONNX
//! op type, or the whole network ([`Level`]) — pooled over the group's units:
//!
//! - `tagged`, `im`: mean over units of the unit scores `tagged_total` and
//!   `im` (activation units, [`crate::metrics`]);
//! - `integration`: the population integration index
//!   Σ im / Σ (tagged_total + im) over the units (pooling amplitudes keeps
//!   near-silent units, whose ratio is rounding noise, from weighing as much
//!   as responsive ones);
//! - `units_with_im`: the share of units with at least one significant IM;
//! - per lattice component: the mean over units of `amplitude`, and, with
//!   injected noise, of the neighbour-bin `bca`, `z` and `snr` (finite values
//!   only; the run's [`crate::SnrPreset`]);
//! - per bin (noise only): the mean over units of the neighbour-bin SNR, for
//!   the SNR spectrum ([`SnrSpectrum`]).
//!
//! Memory grows with images × taps × (components + bins), not with units:
//! [`crate::summary::Summary`] keeps one for the report.

use polars::prelude::*;

use super::inference::interval;
use super::inference::{Alternative, TestOptions};
use super::tables::{intervals, one_sample_tests};
use crate::components::Lattice;
use crate::error::{Error, Result};
use crate::experiment::{ImageResult, Results};
use crate::metrics::{neighbourhood, SnrPreset};
use crate::model::TapInfo;

/// Which units an image's value pools.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// One tap (a node output; what freqtag's tables call a layer). Group column `tap`.
    Tap,
    /// All taps of one ONNX op type (Conv, Relu, …). Group column `op`.
    Op,
    /// Every tap of the run. Group column `network` (the model's name).
    Network,
}

impl Level {
    /// The name of the group column in tables of this level.
    pub fn column(self) -> &'static str {
        match self {
            Level::Tap => "tap",
            Level::Op => "op",
            Level::Network => "network",
        }
    }

    /// The key columns of a group in the per-image tables: the group column,
    /// `op` (unless it is the group column) and `depth`.
    pub fn keys(self) -> Vec<&'static str> {
        if self == Level::Op {
            vec!["op", "depth"]
        } else {
            vec![self.column(), "op", "depth"]
        }
    }
}

/// A sum and a count of finite values.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Acc {
    sum: f64,
    n: usize,
}

impl Acc {
    fn push(&mut self, v: f64) {
        if v.is_finite() {
            self.sum += v;
            self.n += 1;
        }
    }
    fn merge(&mut self, o: &Acc) {
        self.sum += o.sum;
        self.n += o.n;
    }
    fn mean(&self) -> f64 {
        if self.n == 0 {
            f64::NAN
        } else {
            self.sum / self.n as f64
        }
    }
}

/// One image's sums over one tap's (or group's) units.
#[derive(Clone, Debug, Default, PartialEq)]
struct Sums {
    units: usize,
    tagged: Acc,
    im: Acc,
    with_im: usize,
    amplitude: Vec<Acc>,
    bca: Vec<Acc>,
    z: Vec<Acc>,
    snr: Vec<Acc>,
    snr_bins: Vec<Acc>,
}

impl Sums {
    fn merge(&mut self, o: &Sums) {
        self.units += o.units;
        self.tagged.merge(&o.tagged);
        self.im.merge(&o.im);
        self.with_im += o.with_im;
        for (a, b) in [
            (&mut self.amplitude, &o.amplitude),
            (&mut self.bca, &o.bca),
            (&mut self.z, &o.z),
            (&mut self.snr, &o.snr),
            (&mut self.snr_bins, &o.snr_bins),
        ] {
            if a.len() < b.len() {
                a.resize(b.len(), Acc::default());
            }
            for (x, y) in a.iter_mut().zip(b) {
                x.merge(y);
            }
        }
    }
    fn integration(&self) -> f64 {
        let d = self.tagged.sum + self.im.sum;
        if d > 0.0 {
            self.im.sum / d
        } else {
            f64::NAN
        }
    }
}

/// Per-image aggregates of an experiment (see the module doc).
#[derive(Clone, Debug)]
pub struct AcrossImages {
    /// Model name.
    pub model: String,
    /// The component lattice.
    pub lattice: Lattice,
    /// Neighbour-bin convention of the SNR spectrum (the run's preset by default).
    pub preset: SnrPreset,
    /// Whether the design has injected noise (neighbour-bin metrics defined).
    pub noisy: bool,
    /// Bin frequencies (Hz).
    pub frequencies: Vec<f64>,
    /// The taps, in the order of the first image.
    pub taps: Vec<TapInfo>,
    /// Image names, in order.
    pub images: Vec<String>,
    /// Images left out because their taps differ from the first image's.
    pub skipped: Vec<String>,
    sums: Vec<Vec<Sums>>,
}

impl AcrossImages {
    /// Empty aggregates for an experiment (`context`: its results before any
    /// image; images there are ignored).
    pub fn new(context: &Results) -> AcrossImages {
        let d = &context.design;
        AcrossImages {
            model: context.model.clone(),
            lattice: context.lattice.clone(),
            preset: context.analysis.preset,
            noisy: !d.is_periodic(),
            frequencies: (0..d.bins()).map(|k| k as f64 * d.resolution_hz()).collect(),
            taps: vec![],
            images: vec![],
            skipped: vec![],
            sums: vec![],
        }
    }

    /// The same, with the SNR spectrum under another neighbour preset (set
    /// before adding images; the component columns keep the run's preset).
    pub fn with_preset(mut self, preset: SnrPreset) -> AcrossImages {
        self.preset = preset;
        self
    }

    /// The aggregates of whole results.
    pub fn of(results: &Results) -> AcrossImages {
        let mut a = AcrossImages::new(results);
        for img in &results.images {
            a.add(img);
        }
        a
    }

    /// Add one image (an image whose taps differ from the first image's is
    /// listed in [`AcrossImages::skipped`] instead).
    pub fn add(&mut self, img: &ImageResult) {
        let infos: Vec<&TapInfo> = img.taps.iter().map(|t| &t.tap.info).collect();
        if self.taps.is_empty() && self.images.is_empty() {
            self.taps = infos.iter().map(|i| (*i).clone()).collect();
        } else if infos.len() != self.taps.len() || infos.iter().zip(&self.taps).any(|(a, b)| a.name != b.name) {
            self.skipped.push(img.image.clone());
            return;
        }
        let nc = self.lattice.components.len();
        let per_tap = img
            .taps
            .iter()
            .map(|t| {
                let mut s = Sums {
                    units: t.scores.len(),
                    amplitude: vec![Acc::default(); nc],
                    bca: vec![Acc::default(); nc],
                    z: vec![Acc::default(); nc],
                    snr: vec![Acc::default(); nc],
                    ..Sums::default()
                };
                for sc in &t.scores {
                    s.tagged.push(sc.tagged_total);
                    s.im.push(sc.im);
                    s.with_im += usize::from(sc.significant_im > 0);
                }
                for unit in &t.components {
                    for m in unit {
                        if m.component < nc {
                            s.amplitude[m.component].push(m.amplitude as f64);
                            s.bca[m.component].push(m.neighbours.bca);
                            s.z[m.component].push(m.neighbours.z);
                            s.snr[m.component].push(m.neighbours.snr);
                        }
                    }
                }
                if self.noisy {
                    let bins = t.spectrum.bins();
                    s.snr_bins = vec![Acc::default(); bins];
                    for u in 0..t.spectrum.units {
                        let amps = t.spectrum.unit_amplitude(u);
                        for (k, acc) in s.snr_bins.iter_mut().enumerate().skip(1) {
                            acc.push(neighbourhood(amps, k, self.preset).snr);
                        }
                    }
                }
                s
            })
            .collect();
        self.sums.push(per_tap);
        self.images.push(img.image.clone());
    }

    /// Groups of a level: (name, depth of its first tap, op, tap indices).
    fn groups(&self, level: Level) -> Vec<(String, usize, String, Vec<usize>)> {
        match level {
            Level::Tap => {
                self.taps.iter().enumerate().map(|(i, t)| (t.name.clone(), t.depth, t.op.clone(), vec![i])).collect()
            }
            Level::Op => {
                let mut g: Vec<(String, usize, String, Vec<usize>)> = vec![];
                for (i, t) in self.taps.iter().enumerate() {
                    match g.iter_mut().find(|x| x.0 == t.op) {
                        Some(x) => x.3.push(i),
                        None => g.push((t.op.clone(), t.depth, t.op.clone(), vec![i])),
                    }
                }
                g
            }
            Level::Network => vec![(
                self.model.clone(),
                self.taps.first().map(|t| t.depth).unwrap_or(0),
                String::new(),
                (0..self.taps.len()).collect(),
            )],
        }
    }

    /// Sums of image `i` over the taps `taps`.
    fn pooled(&self, i: usize, taps: &[usize]) -> Sums {
        let mut s = Sums::default();
        for &t in taps {
            if let Some(x) = self.sums.get(i).and_then(|v| v.get(t)) {
                s.merge(x);
            }
        }
        s
    }

    fn need_images(&self) -> Result<()> {
        if self.images.is_empty() {
            Err(Error::Data("no images in the statistics across images".into()))
        } else {
            Ok(())
        }
    }

    /// One row per (image, group): `image`, `image_index` (position in the
    /// run, for pairing two runs over the same images), the group column
    /// ([`Level::column`]), `op` (not repeated at [`Level::Op`]) and `depth`
    /// (of the group's first tap),
    /// `units`, `tagged`, `im`, `integration`, `units_with_im` (see the module doc).
    pub fn per_image(&self, level: Level) -> Result<DataFrame> {
        self.need_images()?;
        let groups = self.groups(level);
        let mut c = Rows::default();
        for (i, name) in self.images.iter().enumerate() {
            for (g, depth, op, taps) in &groups {
                let s = self.pooled(i, taps);
                c.key(name, i, g, op, *depth);
                c.units.push(s.units as u32);
                c.tagged.push(s.tagged.mean());
                c.im.push(s.im.mean());
                c.integration.push(s.integration());
                c.with_im.push(s.with_im as f64 / s.units.max(1) as f64);
            }
        }
        let n = c.image.len();
        let mut cols = c.key_columns(level);
        cols.extend([
            Column::new("units".into(), c.units),
            Column::new("tagged".into(), c.tagged),
            Column::new("im".into(), c.im),
            Column::new("integration".into(), c.integration),
            Column::new("units_with_im".into(), c.with_im),
        ]);
        DataFrame::new(n, cols).map_err(|e| Error::Data(format!("per-image table: {e}")))
    }

    /// One row per (image, group, lattice component): the keys of
    /// [`AcrossImages::per_image`], `component`, `kind`, `order`,
    /// `frequency_hz`, and the means over the group's units of `amplitude`,
    /// `bca`, `z`, `snr` (the last three NaN without injected noise).
    pub fn per_image_components(&self, level: Level) -> Result<DataFrame> {
        self.need_images()?;
        let groups = self.groups(level);
        let comps = &self.lattice.components;
        let mut c = Rows::default();
        let (mut label, mut kind, mut order, mut freq) = (vec![], vec![], vec![], vec![]);
        let (mut amp, mut bca, mut z, mut snr) = (vec![], vec![], vec![], vec![]);
        for (i, name) in self.images.iter().enumerate() {
            for (g, depth, op, taps) in &groups {
                let s = self.pooled(i, taps);
                for (k, comp) in comps.iter().enumerate() {
                    c.key(name, i, g, op, *depth);
                    label.push(comp.label.as_str());
                    kind.push(comp.kind.as_str());
                    order.push(comp.order);
                    freq.push(comp.frequency_hz);
                    let mean = |v: &[Acc]| v.get(k).map(Acc::mean).unwrap_or(f64::NAN);
                    amp.push(mean(&s.amplitude));
                    bca.push(mean(&s.bca));
                    z.push(mean(&s.z));
                    snr.push(mean(&s.snr));
                }
            }
        }
        let n = c.image.len();
        let mut cols = c.key_columns(level);
        cols.extend([
            Column::new("component".into(), label),
            Column::new("kind".into(), kind),
            Column::new("order".into(), order),
            Column::new("frequency_hz".into(), freq),
            Column::new("amplitude".into(), amp),
            Column::new("bca".into(), bca),
            Column::new("z".into(), z),
            Column::new("snr".into(), snr),
        ]);
        DataFrame::new(n, cols).map_err(|e| Error::Data(format!("per-image component table: {e}")))
    }

    /// Mean and t-interval across images of a per-image measure (`tagged`,
    /// `im`, `integration`, `units_with_im`) per group of `level`: the key
    /// columns ([`Level::keys`]), then `n`, `mean`, `sd`, `se`, `ci_low`, `ci_high`.
    pub fn intervals(&self, level: Level, measure: &str, ci: f64) -> Result<DataFrame> {
        intervals(&self.per_image(level)?, &level.keys(), measure, ci)
    }

    /// Tests of every lattice component against the noise floor, per group
    /// of `level`: across images, the one-sample test of the per-image mean
    /// `measure` — `bca` (baseline-corrected amplitude) or `z` against 0,
    /// `snr` against 1 — with t-interval, t-test, sign-flip permutation p
    /// and BH over all rows ([`super::tables::one_sample_tests`]). A response
    /// lies *above* the noise floor, so the p-values are one-sided
    /// ([`Alternative::Greater`]) whatever `opts.alternative` says: a
    /// component whose neighbours hold a stronger component (e.g. 2f2 − f1
    /// next to f1 and f2 with the FPVS window of ±11 bins) reads a negative
    /// BCA, which is no response. Components whose window reaches past DC
    /// or Nyquist have no neighbour metrics: n = 0, NaN statistics. Columns:
    /// the key columns ([`Level::keys`]), `component`, `kind`, `order`,
    /// `frequency_hz`, then the test columns. An error without injected
    /// noise (no noise floor: [`crate::metrics`]).
    pub fn noise_floor_tests(&self, level: Level, measure: &str, opts: &TestOptions) -> Result<DataFrame> {
        if !self.noisy {
            return Err(Error::Data(
                "tests against the noise floor need a design with injected noise (Design::noise(sigma, seed)): \
without it the bins between lattice points are exactly zero and neighbour-bin metrics are undefined"
                    .into(),
            ));
        }
        let mu0 = match measure {
            "bca" | "z" => 0.0,
            "snr" => 1.0,
            other => return Err(Error::Data(format!("noise-floor tests use 'bca', 'z' or 'snr', got '{other}'"))),
        };
        let mut by = level.keys();
        by.extend(["component", "kind", "order", "frequency_hz"]);
        one_sample_tests(&self.per_image_components(level)?, &by, measure, mu0, &opts.alternative(Alternative::Greater))
    }

    /// The SNR spectrum over the units of the taps `taps` (all taps when
    /// empty): per image the mean over units of the neighbour-bin SNR at
    /// every bin, then across images the mean and its t-interval at `level`.
    /// An error without injected noise or when a tap is unknown.
    pub fn snr_spectrum(&self, taps: &[&str], level: f64) -> Result<SnrSpectrum> {
        self.need_images()?;
        if !self.noisy {
            return Err(Error::Data(
                "an SNR spectrum needs a design with injected noise (Design::noise(sigma, seed)): \
without noise the bins off the lattice are exactly zero"
                    .into(),
            ));
        }
        let idx: Vec<usize> = if taps.is_empty() {
            (0..self.taps.len()).collect()
        } else {
            taps.iter()
                .map(|name| {
                    self.taps.iter().position(|t| t.name == *name).ok_or_else(|| Error::UnknownTap {
                        name: name.to_string(),
                        model: self.model.clone(),
                        suggestions: crate::pattern::closest_names(name, self.taps.iter().map(|t| t.name.as_str()), 3),
                    })
                })
                .collect::<Result<_>>()?
        };
        let per_image: Vec<Vec<f64>> =
            (0..self.images.len()).map(|i| self.pooled(i, &idx).snr_bins.iter().map(Acc::mean).collect()).collect();
        let bins = self.frequencies.len();
        let mut mean = vec![f64::NAN; bins];
        let (mut low, mut high) = (vec![f64::NAN; bins], vec![f64::NAN; bins]);
        for k in 1..bins {
            let x: Vec<f64> = per_image.iter().map(|v| v.get(k).copied().unwrap_or(f64::NAN)).collect();
            let iv = interval(&x, level)?;
            (mean[k], low[k], high[k]) = (iv.mean, iv.low, iv.high);
        }
        Ok(SnrSpectrum {
            frequencies: self.frequencies.clone(),
            mean,
            low,
            high,
            per_image,
            images: self.images.len(),
            units: idx.iter().map(|&t| self.sums.first().map(|s| s[t].units).unwrap_or(0)).sum(),
            taps: idx.iter().map(|&t| self.taps[t].name.clone()).collect(),
            preset: self.preset,
            level,
            lattice: self.lattice.clone(),
        })
    }
}

/// Key columns of the per-image tables.
#[derive(Default)]
struct Rows<'a> {
    image: Vec<&'a str>,
    index: Vec<u32>,
    group: Vec<String>,
    op: Vec<String>,
    depth: Vec<u32>,
    units: Vec<u32>,
    tagged: Vec<f64>,
    im: Vec<f64>,
    integration: Vec<f64>,
    with_im: Vec<f64>,
}

impl<'a> Rows<'a> {
    fn key(&mut self, image: &'a str, i: usize, group: &str, op: &str, depth: usize) {
        self.image.push(image);
        self.index.push(i as u32);
        self.group.push(group.to_string());
        self.op.push(op.to_string());
        self.depth.push(depth as u32);
    }
    fn key_columns(&mut self, level: Level) -> Vec<Column> {
        let mut cols = vec![
            Column::new("image".into(), std::mem::take(&mut self.image)),
            Column::new("image_index".into(), std::mem::take(&mut self.index)),
            Column::new(level.column().into(), std::mem::take(&mut self.group)),
        ];
        if level != Level::Op {
            cols.push(Column::new("op".into(), std::mem::take(&mut self.op)));
        }
        cols.push(Column::new("depth".into(), std::mem::take(&mut self.depth)));
        cols
    }
}

/// The neighbour-bin SNR spectrum averaged over units and images
/// ([`AcrossImages::snr_spectrum`]); bin 0 (DC) and edge bins are NaN.
#[derive(Clone, Debug)]
pub struct SnrSpectrum {
    /// Bin frequencies (Hz).
    pub frequencies: Vec<f64>,
    /// Mean over images of the per-image mean SNR over units.
    pub mean: Vec<f64>,
    /// Lower end of the t-interval across images.
    pub low: Vec<f64>,
    /// Upper end of the t-interval across images.
    pub high: Vec<f64>,
    /// Per image, the mean SNR over units at every bin.
    pub per_image: Vec<Vec<f64>>,
    /// Images.
    pub images: usize,
    /// Units per image pooled.
    pub units: usize,
    /// The taps pooled.
    pub taps: Vec<String>,
    /// The neighbour convention (a power ratio for `Mne`, else an amplitude ratio).
    pub preset: SnrPreset,
    /// Level of the interval.
    pub level: f64,
    /// The lattice (for marking tags, harmonics and IMs).
    pub lattice: Lattice,
}

impl SnrSpectrum {
    /// One row per bin: `frequency_hz`, `snr` (mean), `ci_low`, `ci_high`,
    /// `component` (lattice label or null), `kind`.
    pub fn table(&self) -> Result<DataFrame> {
        let n = self.frequencies.len();
        let comp: Vec<Option<&str>> = (0..n).map(|k| self.lattice.at_bin(k).map(|c| c.label.as_str())).collect();
        let kind: Vec<Option<&str>> = (0..n).map(|k| self.lattice.at_bin(k).map(|c| c.kind.as_str())).collect();
        DataFrame::new(
            n,
            vec![
                Column::new("frequency_hz".into(), self.frequencies.clone()),
                Column::new("snr".into(), self.mean.clone()),
                Column::new("ci_low".into(), self.low.clone()),
                Column::new("ci_high".into(), self.high.clone()),
                Column::new("component".into(), comp),
                Column::new("kind".into(), kind),
            ],
        )
        .map_err(|e| Error::Data(format!("SNR spectrum table: {e}")))
    }

    /// Mean SNR over the bins off the lattice (the noise floor; ≈ 1 for an
    /// amplitude ratio of pure noise, see the module doc of [`crate::metrics`]).
    pub fn off_lattice_mean(&self) -> f64 {
        crate::stats::mean_finite(self.lattice.off_lattice_bins().into_iter().map(|k| self.mean[k]))
    }
}

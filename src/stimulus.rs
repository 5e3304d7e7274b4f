//! Stimulus design: parts of an image flickered at tag frequencies.
//!
//! In: a [`Design`] (parts, one [`Tag`] per part, modulation mode, frame rate
//! and frame count) and a model-sized [`Image`]. Out: a [`Stimulus`] that
//! renders frame `i` as float pixels in [0, 1], before the model's
//! normalisation.
//!
//! Frame `i` is shown at `t_i = i / fs` (never `linspace` with the end
//! point). Part `k` is modulated by
//!
//! ```text
//! α_k(t) = mean_k + depth_k · sin(2π f_k t + φ_k)
//! ```
//!
//! *multiplicatively* (`pixel · α_k`, what the paper's authors did) or as
//! *contrast* around the part's per-channel mean `m` (`m + α_k · (pixel − m)`).
//! Pixels in no part are shown unchanged. No clipping or 8-bit quantisation
//! unless the design asks for it. The paper's design is [`Design::paper`]:
//! left/right halves at 6 and 7.5 Hz, 120 frames/s, 240 frames, α in
//! [0.5, 1.0].
//!
//! [`Design::validate`] rejects, with the offending value named, any tag that
//! does not complete a whole number of cycles in the window (unless leakage
//! is allowed), any tag at or above Nyquist, non-positive rates and depths,
//! and parts that do not match the tags. [`Design::period_frames`] gives the
//! fundamental period P of the frame sequence (METHOD.md §6), and
//! [`Design::schedule`] the frames of a period that must go through the
//! network: a noise-free frame is a function of its parts' α alone, so a
//! frame whose α are, to the bit, those of an earlier frame is that frame
//! again and reuses its activations (the paper's design: 49 distinct frames
//! in its 80-frame period).

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::images::Image;

/// How the image is divided into parts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum PartLayout {
    /// The whole image is one part.
    Whole,
    /// Left and right halves, split at column `width / 2` (left first).
    LeftRight,
    /// Top and bottom halves, split at row `height / 2` (top first).
    TopBottom,
    /// Four quadrants: top-left, top-right, bottom-left, bottom-right.
    Quadrants,
    /// An even grid of `rows × cols` cells, row by row.
    Grid {
        /// Cell rows.
        rows: usize,
        /// Cell columns.
        cols: usize,
    },
    /// A label image: label 0 is left unmodulated, labels 1..=K are parts
    /// 1..=K. It is scaled to the model's input size by nearest neighbour.
    Labels {
        /// Label per pixel, row-major.
        labels: Vec<u16>,
        /// Rows of the label image.
        height: usize,
        /// Columns of the label image.
        width: usize,
    },
}

/// The paper's tag frequencies (Hz): 6 Hz on the left half, 7.5 Hz on the right.
const PAPER_FREQUENCIES_HZ: [f64; 2] = [6.0, 7.5];
/// The tag frequency of a single part when none is given (Hz).
const SINGLE_PART_FREQUENCY_HZ: f64 = 12.0;

impl PartLayout {
    /// Parse `whole`, `left-right`, `top-bottom`, `quadrants` or `grid:RxC`.
    pub fn parse(s: &str) -> Result<PartLayout> {
        let s = s.trim().to_lowercase();
        Ok(match s.as_str() {
            "whole" | "one" => PartLayout::Whole,
            "left-right" | "halves" | "lr" => PartLayout::LeftRight,
            "top-bottom" | "tb" => PartLayout::TopBottom,
            "quadrants" | "quad" => PartLayout::Quadrants,
            g if g.starts_with("grid:") => {
                let dims: Vec<&str> = g[5..].split('x').collect();
                let parse = |v: &str| v.parse::<usize>().ok().filter(|n| *n > 0);
                match (dims.len(), dims.first().and_then(|v| parse(v)), dims.get(1).and_then(|v| parse(v))) {
                    (2, Some(rows), Some(cols)) => PartLayout::Grid { rows, cols },
                    _ => return Err(Error::Config(format!("grid parts must look like grid:2x3, got '{s}'"))),
                }
            }
            _ => {
                return Err(Error::Config(format!(
                    "unknown parts '{s}'; use whole, left-right, top-bottom, quadrants, grid:RxC, or a label image"
                )))
            }
        })
    }

    /// Read a label image (PNG, grey levels 0..=K) as a layout.
    pub fn from_label_image(path: impl AsRef<Path>) -> Result<PartLayout> {
        let path = path.as_ref();
        let img = image::open(path).map_err(|e| Error::image(path, format!("cannot read label image: {e}")))?;
        let grey = img.to_luma16();
        let labels: Vec<u16> = grey.pixels().map(|p| p.0[0]).collect();
        // 8-bit images come back scaled by 257; undo it so labels stay 0..=K.
        let labels = if img.color().bytes_per_pixel() == 1 { labels.iter().map(|v| v / 257).collect() } else { labels };
        Ok(PartLayout::Labels { labels, height: grey.height() as usize, width: grey.width() as usize })
    }

    /// How many parts this layout has for the given image size.
    pub fn count(&self) -> usize {
        match self {
            PartLayout::Whole => 1,
            PartLayout::LeftRight | PartLayout::TopBottom => 2,
            PartLayout::Quadrants => 4,
            PartLayout::Grid { rows, cols } => rows * cols,
            PartLayout::Labels { labels, .. } => labels.iter().copied().max().unwrap_or(0) as usize,
        }
    }

    /// The tag frequencies (Hz) this layout gets when none are given: 12 Hz
    /// for one part, the paper's 6 and 7.5 Hz for two ([`Design::paper`]);
    /// `None` for any other count, whose frequencies must be given.
    pub fn default_frequencies(&self) -> Option<Vec<f64>> {
        match self.count() {
            1 => Some(vec![SINGLE_PART_FREQUENCY_HZ]),
            2 => Some(PAPER_FREQUENCIES_HZ.to_vec()),
            _ => None,
        }
    }

    /// Short name for tables ("left-right", "grid:2x3", "labels:3").
    pub fn name(&self) -> String {
        match self {
            PartLayout::Whole => "whole".into(),
            PartLayout::LeftRight => "left-right".into(),
            PartLayout::TopBottom => "top-bottom".into(),
            PartLayout::Quadrants => "quadrants".into(),
            PartLayout::Grid { rows, cols } => format!("grid:{rows}x{cols}"),
            PartLayout::Labels { .. } => format!("labels:{}", self.count()),
        }
    }

    /// The parts on an image of `height × width` pixels: each part's name and
    /// the index (row-major) of every pixel it owns.
    pub fn parts(&self, height: usize, width: usize) -> Result<Vec<Part>> {
        let cell = |name: String, r0: usize, r1: usize, c0: usize, c1: usize| Part {
            name,
            pixels: (r0..r1).flat_map(|y| (c0..c1).map(move |x| y * width + x)).collect(),
        };
        let (h2, w2) = (height / 2, width / 2);
        let parts = match self {
            PartLayout::Whole => vec![cell("whole".into(), 0, height, 0, width)],
            PartLayout::LeftRight => {
                vec![cell("left".into(), 0, height, 0, w2), cell("right".into(), 0, height, w2, width)]
            }
            PartLayout::TopBottom => {
                vec![cell("top".into(), 0, h2, 0, width), cell("bottom".into(), h2, height, 0, width)]
            }
            PartLayout::Quadrants => vec![
                cell("top-left".into(), 0, h2, 0, w2),
                cell("top-right".into(), 0, h2, w2, width),
                cell("bottom-left".into(), h2, height, 0, w2),
                cell("bottom-right".into(), h2, height, w2, width),
            ],
            PartLayout::Grid { rows, cols } => {
                if *rows > height || *cols > width {
                    return Err(Error::Design(format!(
                        "grid {rows}x{cols} has more cells than the {height}×{width} image has pixels"
                    )));
                }
                let mut v = Vec::new();
                for r in 0..*rows {
                    for c in 0..*cols {
                        v.push(cell(
                            format!("r{r}c{c}"),
                            r * height / rows,
                            (r + 1) * height / rows,
                            c * width / cols,
                            (c + 1) * width / cols,
                        ));
                    }
                }
                v
            }
            PartLayout::Labels { labels, height: lh, width: lw } => {
                if labels.len() != lh * lw || labels.is_empty() {
                    return Err(Error::Design(format!("label image has {} labels for {lh}×{lw}", labels.len())));
                }
                let k = self.count();
                let mut v: Vec<Part> = (1..=k).map(|i| Part { name: format!("label{i}"), pixels: vec![] }).collect();
                for y in 0..height {
                    let sy = y * lh / height;
                    for x in 0..width {
                        let l = labels[sy * lw + x * lw / width] as usize;
                        if l > 0 {
                            v[l - 1].pixels.push(y * width + x);
                        }
                    }
                }
                v
            }
        };
        if let Some(empty) = parts.iter().find(|p| p.pixels.is_empty()) {
            return Err(Error::Design(format!(
                "part '{}' of layout {} covers no pixel of the {height}×{width} input",
                empty.name,
                self.name()
            )));
        }
        Ok(parts)
    }
}

/// One part of the image: a name and the pixels (row-major indices) it owns.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    /// "left", "right", "top-left", "r0c1", "label2", ...
    pub name: String,
    /// Row-major pixel indices (`y * width + x`).
    pub pixels: Vec<usize>,
}

/// The frequency tag of one part: `α(t) = mean + depth · sin(2π f t + phase)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    /// Tag frequency in Hz.
    pub frequency_hz: f64,
    /// Phase φ in radians.
    #[serde(default)]
    pub phase_rad: f64,
    /// Mean modulation level c (0.75 for the paper's 0.5–1.0 range).
    #[serde(default = "default_mean")]
    pub mean: f64,
    /// Modulation depth d (0.25 for the paper's 0.5–1.0 range).
    #[serde(default = "default_depth")]
    pub depth: f64,
}

fn default_mean() -> f64 {
    0.75
}
fn default_depth() -> f64 {
    0.25
}

impl Tag {
    /// A tag at `frequency_hz` with the paper's range (0.5–1.0) and phase 0.
    pub fn new(frequency_hz: f64) -> Tag {
        Tag { frequency_hz, phase_rad: 0.0, mean: default_mean(), depth: default_depth() }
    }

    /// α at time `t` seconds.
    pub fn alpha(&self, t: f64) -> f64 {
        self.mean + self.depth * (2.0 * std::f64::consts::PI * self.frequency_hz * t + self.phase_rad).sin()
    }
}

/// How α modulates a part's pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Modulation {
    /// `pixel · α` (the authors' choice; the part's mean brightness flickers).
    #[default]
    Multiplicative,
    /// `m + α · (pixel − m)` with `m` the part's per-channel mean: contrast
    /// flickers around a constant mean brightness.
    Contrast,
}

impl Modulation {
    /// Parse `multiplicative` or `contrast`.
    pub fn parse(s: &str) -> Result<Modulation> {
        match s.trim().to_lowercase().as_str() {
            "multiplicative" | "mul" => Ok(Modulation::Multiplicative),
            "contrast" => Ok(Modulation::Contrast),
            other => Err(Error::Config(format!("unknown modulation '{other}'; use multiplicative or contrast"))),
        }
    }
}

impl fmt::Display for Modulation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Modulation::Multiplicative => "multiplicative",
            Modulation::Contrast => "contrast",
        })
    }
}

/// Optional per-frame pixel noise, to emulate a noisy biological recording.
/// Independent Gaussian noise of standard deviation `sigma` (pixel units,
/// [0, 1] scale) is added to every pixel of every frame after modulation; the
/// stream is fixed by `seed`, the image's index and the frame index, so runs
/// are reproducible whatever the thread count.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Noise {
    /// Standard deviation in pixel units.
    pub sigma: f64,
    /// Seed of the noise stream.
    pub seed: u64,
}

/// A complete stimulus design. Build it with [`Design::paper`] or
/// [`Design::new`] and the builder methods, then [`Design::validate`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Design {
    /// Frame rate in frames per second (Hz).
    pub fs_hz: f64,
    /// Number of frames N in the analysis window.
    pub frames: usize,
    /// The parts.
    pub layout: PartLayout,
    /// One tag per part, in the layout's part order.
    pub tags: Vec<Tag>,
    /// Multiplicative or contrast modulation.
    #[serde(default)]
    pub modulation: Modulation,
    /// Accept tags that do not complete a whole number of cycles (their
    /// energy leaks over the spectrum); off by default.
    #[serde(default)]
    pub allow_leakage: bool,
    /// Optional per-frame pixel noise.
    #[serde(default)]
    pub noise: Option<Noise>,
    /// Clip frames to [0, 1] (adds a nonlinearity that is not the network's).
    #[serde(default)]
    pub clip: bool,
    /// Quantise frames to 8 bits (adds a nonlinearity that is not the network's).
    #[serde(default)]
    pub quantize_8bit: bool,
}

impl Design {
    /// The paper's design: left/right halves at 6 and 7.5 Hz, 120 frames/s,
    /// 240 frames (2 s, 0.5 Hz bins), multiplicative α in [0.5, 1.0], φ = 0.
    pub fn paper() -> Design {
        Design::new(PartLayout::LeftRight, &PAPER_FREQUENCIES_HZ)
    }

    /// A design with the paper's rate, length and range on another layout
    /// and frequencies (one per part).
    pub fn new(layout: PartLayout, frequencies_hz: &[f64]) -> Design {
        Design {
            fs_hz: 120.0,
            frames: 240,
            layout,
            tags: frequencies_hz.iter().map(|&f| Tag::new(f)).collect(),
            modulation: Modulation::Multiplicative,
            allow_leakage: false,
            noise: None,
            clip: false,
            quantize_8bit: false,
        }
    }

    /// Set the frame rate (Hz).
    pub fn fs(mut self, fs_hz: f64) -> Self {
        self.fs_hz = fs_hz;
        self
    }
    /// Set the number of frames.
    pub fn frames(mut self, frames: usize) -> Self {
        self.frames = frames;
        self
    }
    /// Set the modulation mode.
    pub fn modulation(mut self, m: Modulation) -> Self {
        self.modulation = m;
        self
    }
    /// Set every tag's range to `[lo, hi]` (mean (lo+hi)/2, depth (hi−lo)/2).
    pub fn range(mut self, lo: f64, hi: f64) -> Self {
        for t in &mut self.tags {
            t.mean = (lo + hi) / 2.0;
            t.depth = (hi - lo) / 2.0;
        }
        self
    }
    /// Set every tag's depth, keeping its mean.
    pub fn depth(mut self, depth: f64) -> Self {
        self.tags.iter_mut().for_each(|t| t.depth = depth);
        self
    }
    /// Set the tags' phases (radians), in part order.
    pub fn phases(mut self, phases_rad: &[f64]) -> Self {
        for (t, p) in self.tags.iter_mut().zip(phases_rad) {
            t.phase_rad = *p;
        }
        self
    }
    /// Add seeded Gaussian pixel noise to every frame.
    pub fn noise(mut self, sigma: f64, seed: u64) -> Self {
        self.noise = Some(Noise { sigma, seed });
        self
    }
    /// Accept off-bin tags.
    pub fn allow_leakage(mut self, yes: bool) -> Self {
        self.allow_leakage = yes;
        self
    }

    /// Frequency resolution fs/N in Hz.
    pub fn resolution_hz(&self) -> f64 {
        self.fs_hz / self.frames as f64
    }
    /// Nyquist frequency fs/2 in Hz.
    pub fn nyquist_hz(&self) -> f64 {
        self.fs_hz / 2.0
    }
    /// Number of one-sided spectrum bins, N/2 + 1 (DC to Nyquist).
    pub fn bins(&self) -> usize {
        self.frames / 2 + 1
    }
    /// The tag frequencies in Hz.
    pub fn frequencies(&self) -> Vec<f64> {
        self.tags.iter().map(|t| t.frequency_hz).collect()
    }

    /// The tags as text: `f1 = 6 Hz, f2 = 7.5 Hz`.
    pub fn tags_label(&self) -> String {
        self.tags
            .iter()
            .enumerate()
            .map(|(i, t)| format!("f{} = {} Hz", i + 1, t.frequency_hz))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Cycles each tag completes in the window, f·N/fs, rounded when within
    /// 1e-6 of an integer; `None` for a tag that is off its bin.
    pub fn cycles(&self) -> Vec<Option<u64>> {
        self.tags
            .iter()
            .map(|t| {
                let c = t.frequency_hz * self.frames as f64 / self.fs_hz;
                let r = c.round();
                ((c - r).abs() < 1e-6 && r >= 0.0).then_some(r as u64)
            })
            .collect()
    }

    /// Check the design; the error names the offending value and what would
    /// be valid.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Design(m));
        if !(self.fs_hz.is_finite() && self.fs_hz > 0.0) {
            return bad(format!("frame rate must be positive, got {} Hz", self.fs_hz));
        }
        if self.frames < 4 {
            return bad(format!("need at least 4 frames, got {}", self.frames));
        }
        if self.tags.is_empty() {
            return bad("no tag frequencies given".into());
        }
        let parts = self.layout.count();
        if parts != self.tags.len() {
            return bad(format!(
                "layout {} has {parts} part(s) but {} tag frequencies were given ({:?} Hz); give one per part",
                self.layout.name(),
                self.tags.len(),
                self.frequencies()
            ));
        }
        let res = self.resolution_hz();
        for (i, t) in self.tags.iter().enumerate() {
            let f = t.frequency_hz;
            if !(f.is_finite() && f > 0.0) {
                return bad(format!("tag {} frequency must be positive, got {f} Hz", i + 1));
            }
            if f >= self.nyquist_hz() {
                return bad(format!(
                    "tag {} at {f} Hz is at or above Nyquist ({} Hz at {} frames/s)",
                    i + 1,
                    self.nyquist_hz(),
                    self.fs_hz
                ));
            }
            if !(t.depth.is_finite() && t.depth > 0.0) {
                return bad(format!("tag {} depth must be positive, got {}", i + 1, t.depth));
            }
            if !t.mean.is_finite() || !t.phase_rad.is_finite() {
                return bad(format!("tag {} mean and phase must be finite numbers", i + 1));
            }
            if self.modulation == Modulation::Multiplicative && t.mean - t.depth < 0.0 {
                return bad(format!(
                    "tag {}: α dips to {} < 0 (mean {} − depth {}); multiplicative modulation needs α ≥ 0",
                    i + 1,
                    t.mean - t.depth,
                    t.mean,
                    t.depth
                ));
            }
            if !self.allow_leakage && self.cycles()[i].is_none() {
                let lo = (f / res).floor() * res;
                return bad(format!(
                    "tag {} at {f} Hz is off its bin: {:.4} cycles in {} frames at {} frames/s (bins every {res} Hz; \
                     nearest {lo} or {} Hz); choose a frequency on the bin grid, change the frame count, or allow leakage",
                    i + 1,
                    f * self.frames as f64 / self.fs_hz,
                    self.frames,
                    self.fs_hz,
                    lo + res
                ));
            }
        }
        for i in 0..self.tags.len() {
            for j in i + 1..self.tags.len() {
                if (self.tags[i].frequency_hz - self.tags[j].frequency_hz).abs() < 1e-9 {
                    return bad(format!(
                        "tags {} and {} are both at {} Hz; their responses could not be told apart",
                        i + 1,
                        j + 1,
                        self.tags[i].frequency_hz
                    ));
                }
            }
        }
        if let Some(n) = self.noise {
            if !(n.sigma.is_finite() && n.sigma >= 0.0) {
                return bad(format!("noise sigma must be ≥ 0, got {}", n.sigma));
            }
        }
        Ok(())
    }

    /// True when every frame is a deterministic function of its index and
    /// every tag is on its bin, so the sequence repeats exactly.
    pub fn is_periodic(&self) -> bool {
        self.is_noise_free() && self.cycles().iter().all(Option::is_some)
    }

    /// True when no pixel noise is added: each frame is a function of its
    /// α alone.
    fn is_noise_free(&self) -> bool {
        self.noise.is_none_or(|n| n.sigma == 0.0)
    }

    /// The fundamental period P in frames: the smallest P dividing N for
    /// which every tag completes a whole number of cycles (N / gcd(N, cycles));
    /// N itself when the design is not periodic (noise or leakage).
    pub fn period_frames(&self) -> usize {
        if !self.is_periodic() {
            return self.frames;
        }
        let g = self.cycles().iter().flatten().fold(self.frames as u64, |g, &c| gcd(g, c));
        (self.frames as u64 / g.max(1)) as usize
    }

    /// Frames that must go through the network per image: the distinct
    /// frames of one period when periodic ([`Design::schedule`]), else N.
    pub fn frames_to_run(&self) -> usize {
        self.schedule(self.period_frames()).network_frames()
    }

    /// α of every part at frame `i` as frames are rendered (f32): with the
    /// noise, all that makes one frame differ from another.
    pub fn frame_alphas(&self, i: usize) -> Vec<f32> {
        let t = i as f64 / self.fs_hz;
        self.tags.iter().map(|tag| tag.alpha(t) as f32).collect()
    }

    /// Which of the frames `0..frames` go through the network. Without
    /// noise a frame is a deterministic function of [`Design::frame_alphas`]
    /// (the image, parts, modulation, clipping and quantisation are the same
    /// for every frame), so a frame whose α equal an earlier frame's to the
    /// bit is the same input, and a deterministic network gives it the same
    /// activations: it is not run again. Sines repeat their values within a
    /// period (sin x = sin(π − x)), so this is frequent: the paper's 6 and
    /// 7.5 Hz at 120 frames/s take 49 distinct frames in their 80-frame
    /// period. Exact, not an approximation; with noise every frame runs.
    pub fn schedule(&self, frames: usize) -> Schedule {
        if !self.is_noise_free() {
            return Schedule::every(frames);
        }
        let mut first: HashMap<Vec<u32>, usize> = HashMap::with_capacity(frames);
        let mut run = Vec::new();
        let source = (0..frames)
            .map(|i| {
                let key: Vec<u32> = self.frame_alphas(i).iter().map(|a| a.to_bits()).collect();
                *first.entry(key).or_insert_with(|| {
                    run.push(i);
                    run.len() - 1
                })
            })
            .collect();
        Schedule { run, source }
    }
}

/// The frames of a sequence that go through the network and where every
/// frame's activations come from ([`Design::schedule`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Frames to render and run, ascending (each the first of its kind).
    pub run: Vec<usize>,
    /// For every frame of the sequence, its row among the frames run.
    pub source: Vec<usize>,
}

impl Schedule {
    /// Every one of `frames` frames runs (noise, or a check of the shortcut).
    pub fn every(frames: usize) -> Schedule {
        Schedule { run: (0..frames).collect(), source: (0..frames).collect() }
    }
    /// Frames through the network.
    pub fn network_frames(&self) -> usize {
        self.run.len()
    }
    /// Frames of the sequence.
    pub fn frames(&self) -> usize {
        self.source.len()
    }
    /// The whole sequence's frame-major rows (`units` values each) from the
    /// rows of the frames run.
    pub fn expand(&self, rows: &[f32], units: usize) -> Vec<f32> {
        if self.run.len() == self.source.len() {
            return rows.to_vec();
        }
        let mut out = Vec::with_capacity(self.source.len() * units);
        for &r in &self.source {
            out.extend_from_slice(&rows[r * units..(r + 1) * units]);
        }
        out
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// A design applied to one image: renders frames.
#[derive(Clone, Debug)]
pub struct Stimulus {
    design: Design,
    image: Image,
    parts: Vec<Part>,
    /// Per part, per channel mean (contrast mode).
    part_means: Vec<Vec<f32>>,
    /// Index of the image in its set, mixed into the noise seed.
    image_index: u64,
}

impl Stimulus {
    /// Apply a validated design to a model-sized image.
    pub fn new(design: &Design, image: &Image) -> Result<Stimulus> {
        design.validate()?;
        let parts = design.layout.parts(image.height, image.width)?;
        let plane = image.height * image.width;
        let part_means = parts
            .iter()
            .map(|p| {
                (0..image.channels)
                    .map(|c| {
                        let s: f64 = p.pixels.iter().map(|&i| image.data[c * plane + i] as f64).sum();
                        (s / p.pixels.len() as f64) as f32
                    })
                    .collect()
            })
            .collect();
        Ok(Stimulus { design: design.clone(), image: image.clone(), parts, part_means, image_index: 0 })
    }

    /// Set the image's index (changes the noise stream only).
    pub fn with_image_index(mut self, index: u64) -> Self {
        self.image_index = index;
        self
    }

    /// The design.
    pub fn design(&self) -> &Design {
        &self.design
    }
    /// The unmodulated image.
    pub fn image(&self) -> &Image {
        &self.image
    }
    /// The parts, in tag order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// α of every part at frame `i` (t = i / fs).
    pub fn alphas(&self, i: usize) -> Vec<f64> {
        let t = i as f64 / self.design.fs_hz;
        self.design.tags.iter().map(|tag| tag.alpha(t)).collect()
    }

    /// Render frame `i` into `out` (planar, [0, 1] scale, not normalised).
    pub fn render(&self, i: usize, out: &mut [f32]) {
        let img = &self.image;
        let plane = img.height * img.width;
        out.copy_from_slice(&img.data);
        // the α that Design::schedule compares frames by
        let alphas = self.design.frame_alphas(i);
        for (k, part) in self.parts.iter().enumerate() {
            let a = alphas[k];
            for c in 0..img.channels {
                let base = c * plane;
                match self.design.modulation {
                    Modulation::Multiplicative => {
                        for &p in &part.pixels {
                            out[base + p] *= a;
                        }
                    }
                    Modulation::Contrast => {
                        let m = self.part_means[k][c];
                        for &p in &part.pixels {
                            out[base + p] = m + a * (out[base + p] - m);
                        }
                    }
                }
            }
        }
        if let Some(noise) = self.design.noise.filter(|n| n.sigma > 0.0) {
            let seed = noise.seed
                ^ self.image_index.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ (i as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let s = noise.sigma as f32;
            for v in out.iter_mut() {
                let z: f32 = rng.sample(StandardNormal);
                *v += s * z;
            }
        }
        if self.design.clip || self.design.quantize_8bit {
            out.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
        }
        if self.design.quantize_8bit {
            out.iter_mut().for_each(|v| *v = (*v * 255.0).round() / 255.0);
        }
    }

    /// Frame `i` as an image (for display).
    pub fn frame(&self, i: usize) -> Image {
        let mut data = vec![0f32; self.image.data.len()];
        self.render(i, &mut data);
        Image { name: format!("{}_frame{i}", self.image.name), data, ..self.image.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_design_is_valid_and_three_periods_long() {
        let d = Design::paper();
        d.validate().unwrap();
        assert_eq!(d.cycles(), vec![Some(12), Some(15)]);
        assert_eq!(d.period_frames(), 80);
        assert_eq!(d.bins(), 121);
        assert!((d.resolution_hz() - 0.5).abs() < 1e-12);
        // the 2025 code's 120 frames put 7.5 Hz between bins
        let short = Design::paper().frames(120);
        let err = short.validate().unwrap_err().to_string();
        assert!(err.contains("7.5 Hz is off its bin"), "{err}");
        assert!(short.clone().allow_leakage(true).validate().is_ok());
        assert_eq!(short.allow_leakage(true).period_frames(), 120);
    }

    #[test]
    fn validation_names_the_culprit() {
        let e = Design::paper().fs(10.0).frames(20).validate().unwrap_err().to_string();
        assert!(e.contains("6 Hz is at or above Nyquist (5 Hz"), "{e}");
        let e = Design::new(PartLayout::Quadrants, &[6.0, 7.5]).validate().unwrap_err().to_string();
        assert!(e.contains("4 part(s) but 2 tag"), "{e}");
        let e = Design::new(PartLayout::LeftRight, &[6.0, -1.0]).validate().unwrap_err().to_string();
        assert!(e.contains("tag 2 frequency must be positive"), "{e}");
        let e = Design::paper().depth(0.0).validate().unwrap_err().to_string();
        assert!(e.contains("depth must be positive"), "{e}");
        let e = Design::paper().range(-0.5, 1.0).validate().unwrap_err().to_string();
        assert!(e.contains("α ≥ 0"), "{e}");
        let e = Design::new(PartLayout::LeftRight, &[6.0, 6.0]).validate().unwrap_err().to_string();
        assert!(e.contains("both at 6 Hz"), "{e}");
        assert!(Design::paper().fs(0.0).validate().is_err());
    }

    #[test]
    fn period_is_smallest_common_cycle() {
        // 12 Hz alone at 120 fps: 10 frames
        assert_eq!(Design::new(PartLayout::Whole, &[12.0]).period_frames(), 10);
        // noise breaks periodicity
        assert_eq!(Design::paper().noise(0.01, 1).period_frames(), 240);
        // 5 and 7 Hz over 240 frames: 10 and 14 cycles, gcd 2 → 120
        assert_eq!(Design::new(PartLayout::LeftRight, &[5.0, 7.0]).period_frames(), 120);
    }

    #[test]
    fn layouts_cover_the_image_once() {
        for layout in [
            PartLayout::Whole,
            PartLayout::LeftRight,
            PartLayout::TopBottom,
            PartLayout::Quadrants,
            PartLayout::Grid { rows: 3, cols: 5 },
        ] {
            let parts = layout.parts(7, 11).unwrap();
            assert_eq!(parts.len(), layout.count());
            let mut all: Vec<usize> = parts.iter().flat_map(|p| p.pixels.clone()).collect();
            all.sort();
            assert_eq!(all, (0..77).collect::<Vec<_>>(), "{}", layout.name());
        }
        let lr = PartLayout::LeftRight.parts(2, 5).unwrap();
        assert_eq!(lr[0].pixels, vec![0, 1, 5, 6]); // columns < 5/2 = 2
        assert!(PartLayout::Grid { rows: 9, cols: 1 }.parts(4, 4).is_err());
        assert_eq!(PartLayout::parse("grid:2x3").unwrap(), PartLayout::Grid { rows: 2, cols: 3 });
        assert!(PartLayout::parse("grid:2").is_err());
        let labels = PartLayout::Labels { labels: vec![0, 1, 0, 3], height: 2, width: 2 };
        let e = labels.parts(4, 4).unwrap_err().to_string();
        assert!(e.contains("label2") && e.contains("covers no pixel"), "{e}");
    }

    #[test]
    fn multiplicative_and_contrast_frames_follow_alpha() {
        let img = Image::new("t", 1, 1, 4, vec![0.2, 0.4, 0.6, 0.8]).unwrap();
        let d = Design::paper();
        let s = Stimulus::new(&d, &img).unwrap();
        let i = 7;
        let t = i as f64 / 120.0;
        let a1 = 0.75 + 0.25 * (2.0 * std::f64::consts::PI * 6.0 * t).sin();
        let a2 = 0.75 + 0.25 * (2.0 * std::f64::consts::PI * 7.5 * t).sin();
        let f = s.frame(i);
        let want = [0.2 * a1, 0.4 * a1, 0.6 * a2, 0.8 * a2];
        for (g, w) in f.data.iter().zip(want) {
            assert!((*g as f64 - w).abs() < 1e-6);
        }
        let c = Stimulus::new(&d.modulation(Modulation::Contrast), &img).unwrap().frame(i);
        let want = [0.3 + a1 * -0.1, 0.3 + a1 * 0.1, 0.7 + a2 * -0.1, 0.7 + a2 * 0.1];
        for (g, w) in c.data.iter().zip(want) {
            assert!((*g as f64 - w).abs() < 1e-6);
        }
    }

    #[test]
    fn noise_is_seeded_and_frame_specific() {
        let img = Image::new("t", 1, 2, 2, vec![0.5; 4]).unwrap();
        let d = Design::paper().noise(0.1, 42);
        let s = Stimulus::new(&d, &img).unwrap();
        assert_eq!(s.frame(3), s.frame(3));
        assert_ne!(s.frame(3).data, s.frame(83).data);
        let s2 = Stimulus::new(&d, &img).unwrap().with_image_index(1);
        assert_ne!(s.frame(3).data, s2.frame(3).data);
    }

    #[test]
    fn schedule_runs_each_distinct_frame_once() {
        // In the paper's 80-frame period tag 1 makes 4 cycles and tag 2 five:
        // sin(2π·4i/80) repeats at i ± 20 and at 10 − i (mod 20), sin(2π·5i/80)
        // at i ± 16 and 8 − i (mod 16). Both hold together for even i through
        // (i + 20k ≡ 8 − i mod 16): 15 pairs and 10 frames alone (i ≡ 4 mod 8),
        // and for odd i through (10 − i mod 20, i + 16k): 16 pairs and 8 alone
        // (i ≡ 5 mod 10). 25 + 24 = 49 distinct frames.
        let d = Design::paper();
        let sched = d.schedule(d.period_frames());
        assert_eq!((sched.network_frames(), sched.frames()), (49, 80));
        assert_eq!(d.frames_to_run(), 49);
        let pixels: Vec<f32> = (0..3 * 6 * 8).map(|i| ((i * 37) % 101) as f32 / 100.0).collect();
        let img = Image::new("t", 3, 6, 8, pixels).unwrap();
        for modulation in [Modulation::Multiplicative, Modulation::Contrast] {
            let s = Stimulus::new(&d.clone().modulation(modulation), &img).unwrap();
            let rendered: Vec<Vec<f32>> = (0..80).map(|i| s.frame(i).data).collect();
            for (i, &r) in sched.source.iter().enumerate() {
                // a frame left out is, to the bit, the frame that runs for it
                assert_eq!(rendered[i], rendered[sched.run[r]], "frame {i}");
            }
            for (a, &i) in sched.run.iter().enumerate() {
                for &j in &sched.run[a + 1..] {
                    assert_ne!(rendered[i], rendered[j], "frames {i} and {j} both run");
                }
            }
        }
        // frames run ascend, each the first of its kind
        assert!(sched.run.windows(2).all(|w| w[0] < w[1]));
        assert!(sched.run.iter().enumerate().all(|(r, &i)| sched.source[i] == r));
        // phases that break the symmetry leave every frame distinct; noise runs all
        assert_eq!(d.clone().phases(&[0.3, 1.1]).frames_to_run(), 80);
        assert_eq!(d.clone().noise(0.1, 1).schedule(240), Schedule::every(240));
        assert_eq!(Design::paper().noise(0.0, 1).frames_to_run(), 49);
    }

    #[test]
    fn schedule_expands_rows_to_the_sequence() {
        let sched = Schedule { run: vec![0, 1], source: vec![0, 1, 1, 0] };
        assert_eq!(sched.expand(&[1.0, 2.0, 3.0, 4.0], 2), vec![1.0, 2.0, 3.0, 4.0, 3.0, 4.0, 1.0, 2.0]);
        assert_eq!(Schedule::every(2).expand(&[5.0, 6.0], 1), vec![5.0, 6.0]);
    }
}

//! Sweeps: grids of experiments, streamed to partitioned Parquet, resumable
//! and shardable across machines.
//!
//! In: a sweep file (TOML, [`SweepFile`]) or a [`Sweep`] built in code — grids
//! over models, tap selections, images (files, folders, globs, `.npy`
//! stacks), part layouts, tag frequencies, modulation depths, phases,
//! modulation modes and noise levels, plus the settings every point shares
//! (frame rate, frame count, α mean, lattice order, SNR preset, tables).
//! Out, under an output folder `OUT`:
//!
//! ```text
//! OUT/sweep.json                    the shared settings and the grid (checked on every re-run)
//! OUT/<table>/model=…/taps=…/image=…/parts=…/freqs_hz=…/mod_depth=…/phases_rad=…/modulation=…/noise=…/part.parquet
//! OUT/_done/<point id>.json         completion marker of a point, written last
//! ```
//!
//! `<table>` is `scores`, `components`, `layers` (per tap, this point's image)
//! and, when asked for, `spectra` (one row per tap, unit and bin: large) —
//! the tables of [`crate::tables`] for one point, with every sweep parameter
//! as a column too (`model`, `taps`, `image`, `parts`, `freqs_hz`,
//! `mod_depth`, `phases_rad`, `modulation`, `noise`). The folders are
//! hive-style `key=value` (values percent-encoded), so a lazy scan reads only
//! the slice a filter asks for:
//!
//! ```no_run
//! use freqtag::polars::prelude::*;
//! use freqtag::sweep::{scan, Table};
//! let slice = scan("out/sweep".as_ref(), Table::Scores)?
//!     .filter(col("mod_depth").eq(lit(0.25)).and(col("parts").eq(lit("left-right"))))
//!     .collect()
//!     .map_err(|e| freqtag::Error::Data(e.to_string()))?;
//! # Ok::<(), freqtag::Error>(())
//! ```
//!
//! # A point, and the order of the points
//!
//! A point is one combination of the grid: model × taps × image × parts ×
//! frequencies × depth × phases × modulation × noise, in that order (the
//! last varies fastest), so one compiled network serves every point of a
//! model and tap selection, and one decoded image every design. Frequencies
//! and phases are lists per point; a frequency (or phase) list is combined
//! only with the part layouts that have as many parts — combinations of other
//! lengths are not points — and a list that fits no layout is an error.
//!
//! # Streaming, resuming, sharding
//!
//! Points run one after another; each point's tables are written (atomically:
//! temporary file, then rename, [`crate::export::write_atomic`]) and then its
//! marker, and the point's results are dropped before the next one starts, so
//! memory does not grow with the number of points or images. A re-run skips
//! every point whose marker and files exist; a run killed at any moment
//! (`kill -9` included) loses at most the point in flight, whose leftover
//! temporary files are removed when it is run again, and leaves no
//! half-written Parquet file.
//!
//! `--shard i/n` (see [`Shard`]) runs the `i`-th of `n` runs of consecutive
//! points cut so that each holds about the same network work (frames): each
//! shard compiles a model once and decodes an image once, and noisy points
//! (which run every frame) do not pile up in one shard. Shards may write into
//! one shared folder (their point folders are disjoint) or into separate
//! folders joined by [`merge`]; either way a scan gives the same table as one
//! unsharded run.
//!
//! The settings shared by all points (design other than the grid, analysis,
//! tables, backend) are fixed per output folder: re-running with other
//! settings into the same folder is an error rather than a silent mix. The
//! grid itself may grow — new values add points, finished ones stay.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::time::Instant;

use polars::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::config::{load_images, AnalysisConfig, DesignConfig};
use crate::error::{Error, Result};
use crate::experiment::{Analysis, Compiled, Experiment, Results};
use crate::export::{write_bytes, write_parquet};
use crate::images::{is_image_file, Image};
use crate::model::{Backend, Model};
use crate::pattern::glob_match;
use crate::stimulus::{Design, Modulation, PartLayout};
use crate::tables;

/// The partition keys, outermost first: the folder levels under each table
/// and the parameter columns of every row.
pub const KEYS: [&str; 9] =
    ["model", "taps", "image", "parts", "freqs_hz", "mod_depth", "phases_rad", "modulation", "noise"];

/// Folder of completion markers inside the output folder.
const DONE: &str = "_done";
/// File name of each point's table inside its partition folder.
const PART: &str = "part.parquet";

/// A table written for every point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Table {
    /// One row per (tap, unit): the unit scores ([`tables::scores`]).
    Scores,
    /// One row per (tap, unit, lattice component) ([`tables::components`]).
    Components,
    /// One row per tap: the layer summary ([`tables::layer_summary`]).
    Layers,
    /// One row per (tap, unit, bin) ([`tables::spectra`]); large.
    Spectra,
    /// Not a table: the spectra of every unit of every tap as two arrays,
    /// `amplitude.npy` and `phase.npy`, float32 `[units, bins]` (the taps'
    /// units one after another, in tap order), and `spectra.json` (each
    /// tap's first row and unit count, the frequencies, the scaling) in the
    /// point's folder under `spectra-npy/`.
    SpectraNpy,
}

impl Table {
    /// Every table, in folder order.
    pub const ALL: [Table; 5] = [Table::Scores, Table::Components, Table::Layers, Table::Spectra, Table::SpectraNpy];

    /// The folder name (`scores`, `components`, `layers`, `spectra`).
    pub fn name(self) -> &'static str {
        match self {
            Table::Scores => "scores",
            Table::Components => "components",
            Table::Layers => "layers",
            Table::Spectra => "spectra",
            Table::SpectraNpy => "spectra-npy",
        }
    }

    /// The file written last in a point's folder (its presence means the
    /// point's output of this kind is whole).
    fn last_file(self) -> &'static str {
        match self {
            Table::SpectraNpy => "spectra.json",
            _ => PART,
        }
    }

    /// Parse a table name.
    pub fn parse(s: &str) -> Result<Table> {
        Table::ALL.into_iter().find(|t| t.name() == s.trim()).ok_or_else(|| {
            Error::Config(format!("unknown table '{s}'; use scores, components, layers, spectra or spectra-npy"))
        })
    }

    /// Columns that order the rows within one point (after the keys).
    fn row_order(self) -> &'static [&'static str] {
        match self {
            Table::Scores => &["depth", "tap", "unit"],
            Table::Components => &["depth", "tap", "unit", "bin"],
            Table::Layers => &["depth", "tap"],
            Table::Spectra => &["tap", "unit", "bin"],
            Table::SpectraNpy => &[],
        }
    }

    fn build(self, results: &Results) -> Result<DataFrame> {
        match self {
            Table::Scores => tables::scores(results),
            Table::Components => tables::components(results),
            Table::Layers => tables::layer_summary(results),
            Table::Spectra => tables::spectra(results),
            Table::SpectraNpy => Err(Error::Data("spectra-npy holds .npy arrays, not a table".into())),
        }
    }
}

/// Which shard of a sweep to run (`0/1` is the whole sweep): see
/// [`Plan::owners`]. Deterministic: the same grid gives every shard the same
/// points on every machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Shard {
    /// This shard, `0 ≤ index < count`.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Default for Shard {
    fn default() -> Self {
        Shard { index: 0, count: 1 }
    }
}

impl Shard {
    /// Parse `i/n` (e.g. `0/4` … `3/4`).
    pub fn parse(s: &str) -> Result<Shard> {
        let bad = || Error::Config(format!("shard must look like i/n with 0 ≤ i < n (e.g. 0/4), got '{s}'"));
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) =
            (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// Cut points of the given costs, in order, into `count` runs of about equal
/// cost: a point goes to the shard its cost midpoint falls in (integer
/// arithmetic, so every machine cuts alike). Returns each point's shard.
fn split(costs: &[usize], count: usize) -> Vec<usize> {
    let total = costs.iter().map(|&c| c as u128).sum::<u128>().max(1);
    let mut before = 0u128;
    costs
        .iter()
        .map(|&c| {
            let mid2 = 2 * before + c as u128;
            before += c as u128;
            ((mid2 * count as u128 / (2 * total)) as usize).min(count.saturating_sub(1))
        })
        .collect()
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

// ---------------------------------------------------------------------------
// The sweep file

/// A sweep file (TOML). Every key but `images` is optional; grid values
/// default to the paper's design.
///
/// ```toml
/// out    = "out/sweep"
/// models = ["data/models/efficientnet_lite0.onnx"]   # or model = "…"
/// images = ["data/images/*.png", "data/images/rocket.jpg", "data/images/lfw_subset.npy:0-9"]
/// taps   = ["default"]                 # each entry is one tap selection (see `freqtag inspect`)
/// tables = ["scores", "components", "layers"]   # + "spectra" (every bin, long table: large), "spectra-npy" (arrays)
/// backend = "tract"                    # or "ort" (builds with the `ort` feature)
///
/// [grid]
/// parts      = ["left-right", "top-bottom"]      # whole, quadrants, grid:RxC, labels:FILE.png
/// freqs      = [[6.0, 7.5], [5.0, 8.0]]          # Hz, one list per point, one value per part
/// depth      = [0.25, 0.125]                     # modulation depth d (α = mean ± d)
/// phases     = [[0.0, 0.0], [0.0, 1.5707963]]    # radians, one list per point (default zeros)
/// modulation = ["multiplicative", "contrast"]
/// noise      = [0.0, 0.05]                       # Gaussian pixel noise σ (0 = none)
///
/// [design]            # shared by every point (the keys of an experiment file's [design])
/// fs     = 120.0
/// frames = 240
/// range  = [0.5, 1.0] # α mean (0.75) and the default depth (0.25)
/// seed   = 0
///
/// [analysis]
/// order  = 4
/// preset = "fpvs"
/// batch  = 1
/// ```
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepFile {
    /// Output folder.
    pub out: Option<PathBuf>,
    /// One model (ONNX with its card beside it, or the card).
    pub model: Option<PathBuf>,
    /// Several models (a grid axis).
    #[serde(default)]
    pub models: Vec<PathBuf>,
    /// Image specs: files, folders, globs (`*`, `?`, `**`), `.npy` stacks with optional `:A-B`.
    #[serde(default)]
    pub images: Vec<String>,
    /// Tap selections (a grid axis); a single string is one selection.
    pub taps: Option<toml::Value>,
    /// Tables to write per point.
    pub tables: Option<Vec<String>>,
    /// Inference backend: `tract` (default) or `ort`.
    pub backend: Option<String>,
    /// The grid.
    #[serde(default)]
    pub grid: GridFile,
    /// Design settings shared by every point (the `[design]` table of an
    /// experiment file; its one-value keys `parts`, `labels`, `freqs`,
    /// `phases`, `modulation`, `noise` act as one-value grid axes).
    #[serde(default)]
    pub design: DesignConfig,
    /// Analysis settings.
    #[serde(default)]
    pub analysis: AnalysisConfig,
}

/// The `[grid]` table: each key a list of values (a single value is a list
/// of one).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridFile {
    /// Part layouts.
    pub parts: Option<toml::Value>,
    /// Frequency lists (Hz).
    pub freqs: Option<toml::Value>,
    /// Modulation depths.
    pub depth: Option<toml::Value>,
    /// Phase lists (radians).
    pub phases: Option<toml::Value>,
    /// Modulation modes.
    pub modulation: Option<toml::Value>,
    /// Noise σ values.
    pub noise: Option<toml::Value>,
}

impl SweepFile {
    /// Read and parse a sweep file.
    pub fn load(path: &Path) -> Result<SweepFile> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("cannot read sweep file", path, e))?;
        toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {}", path.display(), e.message().trim())))
    }

    /// The sweep this file describes (values checked here; images, models and
    /// designs are checked by [`Sweep::plan`]).
    pub fn to_sweep(&self) -> Result<Sweep> {
        let mut models = self.models.clone();
        if let Some(m) = &self.model {
            models.insert(0, m.clone());
        }
        let g = &self.grid;
        let d = &self.design;
        for (key, in_grid, in_design) in [
            ("parts", g.parts.is_some(), d.parts.is_some() || d.labels.is_some()),
            ("freqs", g.freqs.is_some(), d.freqs.is_some()),
            ("phases", g.phases.is_some(), d.phases.is_some()),
            ("modulation", g.modulation.is_some(), d.modulation.is_some()),
            ("noise", g.noise.is_some(), d.noise.is_some()),
        ] {
            if in_grid && in_design {
                return Err(Error::Config(format!("{key} is given in both [grid] and [design]; give it once")));
            }
        }
        let mut s = Sweep::default();
        if !models.is_empty() {
            s.models = models;
        }
        s.images = self.images.clone();
        if let Some(t) = &self.taps {
            s.taps = strings(t, "taps")?;
        }
        if let Some(v) = &g.parts {
            s.parts = strings(v, "grid.parts")?;
        } else if let Some(l) = &d.labels {
            s.parts = vec![format!("labels:{}", l.display())];
        } else if let Some(p) = &d.parts {
            s.parts = vec![p.clone()];
        }
        if let Some(v) = &g.freqs {
            s.freqs = Some(lists(v, "grid.freqs", "[[6.0, 7.5], [5.0, 8.0]]")?);
        } else if let Some(f) = &d.freqs {
            s.freqs = Some(vec![f.clone()]);
        }
        if let Some(v) = &g.depth {
            s.depths = Some(numbers(v, "grid.depth")?);
        }
        if let Some(v) = &g.phases {
            s.phases = Some(lists(v, "grid.phases", "[[0.0, 0.0], [0.0, 1.5708]]")?);
        } else if let Some(p) = &d.phases {
            s.phases = Some(vec![p.clone()]);
        }
        let modulations = match (&g.modulation, &d.modulation) {
            (Some(v), _) => strings(v, "grid.modulation")?,
            (None, Some(m)) => vec![m.clone()],
            (None, None) => vec![],
        };
        if !modulations.is_empty() {
            s.modulations = modulations.iter().map(|m| Modulation::parse(m)).collect::<Result<_>>()?;
        }
        if let Some(v) = &g.noise {
            s.noise = numbers(v, "grid.noise")?;
        } else if let Some(n) = d.noise {
            s.noise = vec![n];
        }
        if let Some(fs) = d.fs {
            s.fs_hz = fs;
        }
        if let Some(n) = d.frames {
            s.frames = n;
        }
        if let Some([lo, hi]) = d.range {
            if hi <= lo {
                return Err(Error::Config(format!("design.range must go from low to high, got [{lo}, {hi}]")));
            }
            s.mean = (lo + hi) / 2.0;
            s.default_depth = (hi - lo) / 2.0;
        }
        s.seed = d.seed.unwrap_or(0);
        s.allow_leakage = d.allow_leakage.unwrap_or(false);
        s.clip = d.clip.unwrap_or(false);
        s.quantize_8bit = d.quantize_8bit.unwrap_or(false);
        s.analysis = self.analysis.to_analysis()?;
        if let Some(t) = &self.tables {
            s.tables = t.iter().map(|t| Table::parse(t)).collect::<Result<_>>()?;
        }
        if let Some(b) = &self.backend {
            s.backend = b.trim().to_lowercase();
        }
        Ok(s)
    }
}

fn type_name(v: &toml::Value) -> &'static str {
    v.type_str()
}

/// A string or a list of strings.
fn strings(v: &toml::Value, key: &str) -> Result<Vec<String>> {
    let one = |x: &toml::Value| {
        x.as_str()
            .map(str::to_string)
            .ok_or_else(|| Error::Config(format!("{key} takes strings, got {} {x}", type_name(x))))
    };
    match v {
        toml::Value::Array(a) => a.iter().map(one).collect(),
        x => Ok(vec![one(x)?]),
    }
}

fn number(x: &toml::Value, key: &str) -> Result<f64> {
    match x {
        toml::Value::Float(f) => Ok(*f),
        toml::Value::Integer(i) => Ok(*i as f64),
        other => Err(Error::Config(format!("{key} takes numbers, got {} {other}", type_name(other)))),
    }
}

/// A number or a list of numbers.
fn numbers(v: &toml::Value, key: &str) -> Result<Vec<f64>> {
    match v {
        toml::Value::Array(a) => a.iter().map(|x| number(x, key)).collect(),
        x => Ok(vec![number(x, key)?]),
    }
}

/// A list of number lists (`[[6, 7.5], [5, 8]]`).
fn lists(v: &toml::Value, key: &str, example: &str) -> Result<Vec<Vec<f64>>> {
    let hint = || Error::Config(format!("{key} takes a list of lists, one list per point (e.g. {example}), got {v}"));
    let toml::Value::Array(outer) = v else { return Err(hint()) };
    outer
        .iter()
        .map(|inner| match inner {
            toml::Value::Array(a) => a.iter().map(|x| number(x, key)).collect(),
            _ => Err(hint()),
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The sweep in code

/// A sweep: the grid and the settings every point shares. Build it from a
/// file ([`SweepFile::to_sweep`]) or in code, then [`Sweep::plan`] it.
///
/// ```no_run
/// use freqtag::sweep::{Shard, Sweep};
/// let mut sweep = Sweep::default();
/// sweep.models = vec!["data/models/efficientnet_lite0.onnx".into()];
/// sweep.images = vec!["data/images/*.png".into()];
/// sweep.freqs = Some(vec![vec![6.0, 7.5], vec![5.0, 8.0]]);
/// sweep.depths = Some(vec![0.25, 0.125]);
/// let plan = sweep.plan()?;
/// let summary = plan.run("out/sweep".as_ref(), Shard::default(), &|_| {}, &|_, _| {})?;
/// println!("{summary}");
/// # Ok::<(), freqtag::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Sweep {
    /// Model files (ONNX with a card beside it, or cards).
    pub models: Vec<PathBuf>,
    /// Tap selections, each a comma-separated selector list (`default`, `conv`, …).
    pub taps: Vec<String>,
    /// Image specs: files, folders, globs, `.npy` stacks (`file.npy:A-B`).
    pub images: Vec<String>,
    /// Part layouts (`left-right`, `quadrants`, `grid:2x3`, `labels:FILE.png`, …).
    pub parts: Vec<String>,
    /// Frequency lists in Hz (one value per part); `None`: 12 Hz for one
    /// part, 6 and 7.5 Hz for two.
    pub freqs: Option<Vec<Vec<f64>>>,
    /// Modulation depths d; `None`: the default depth.
    pub depths: Option<Vec<f64>>,
    /// Phase lists in radians; `None`: zeros.
    pub phases: Option<Vec<Vec<f64>>>,
    /// Modulation modes.
    pub modulations: Vec<Modulation>,
    /// Noise σ values (pixel units; 0 = none).
    pub noise: Vec<f64>,
    /// Frame rate (Hz), shared.
    pub fs_hz: f64,
    /// Frames per point, shared.
    pub frames: usize,
    /// α mean c, shared.
    pub mean: f64,
    /// Depth used when `depths` is `None`.
    pub default_depth: f64,
    /// Noise seed, shared.
    pub seed: u64,
    /// Accept off-bin tags.
    pub allow_leakage: bool,
    /// Clip frames to [0, 1].
    pub clip: bool,
    /// Quantise frames to 8 bits.
    pub quantize_8bit: bool,
    /// Analysis options, shared.
    pub analysis: Analysis,
    /// Tables written per point.
    pub tables: Vec<Table>,
    /// Inference backend name (`tract` or `ort`).
    pub backend: String,
}

impl Default for Sweep {
    fn default() -> Self {
        let paper = Design::paper();
        Sweep {
            models: vec![crate::data_dir().join("models/efficientnet_lite0.onnx")],
            taps: vec!["default".into()],
            images: vec![],
            parts: vec!["left-right".into()],
            freqs: None,
            depths: None,
            phases: None,
            modulations: vec![Modulation::Multiplicative],
            noise: vec![0.0],
            fs_hz: paper.fs_hz,
            frames: paper.frames,
            mean: paper.tags[0].mean,
            default_depth: paper.tags[0].depth,
            seed: 0,
            allow_leakage: false,
            clip: false,
            quantize_8bit: false,
            analysis: Analysis::default(),
            tables: vec![Table::Scores, Table::Components, Table::Layers],
            backend: "tract".into(),
        }
    }
}

/// Where one image comes from (loaded only when its points run).
#[derive(Clone, Debug, PartialEq)]
pub enum ImageSource {
    /// A PNG or JPEG file.
    File(PathBuf),
    /// Image `index` of a `.npy` stack.
    Stack {
        /// The `.npy` file.
        path: PathBuf,
        /// Index in the stack.
        index: usize,
    },
}

/// One image of the sweep: its name (the `image` key) and source.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepImage {
    /// Name: the file stem, or `<stem>_<index>` for a stack item.
    pub name: String,
    /// Where it is read from.
    pub source: ImageSource,
}

impl SweepImage {
    /// Decode the image.
    pub fn load(&self) -> Result<Image> {
        match &self.source {
            ImageSource::File(p) => Image::open(p),
            ImageSource::Stack { path, index } => load_images(&[format!("{}:{index}", path.display())])?
                .pop()
                .ok_or_else(|| Error::image(path, format!("no image {index} in the stack"))),
        }
    }
}

/// One point of a sweep.
#[derive(Clone, Debug)]
pub struct Point {
    /// Position in the whole grid.
    pub index: usize,
    /// Index into [`Plan::models`].
    pub model: usize,
    /// The tap selection.
    pub taps: String,
    /// Index into [`Plan::images`] (also the image's number in the noise stream).
    pub image: usize,
    /// The validated design.
    pub design: Design,
    /// The partition key values, in [`KEYS`] order.
    pub key: Vec<String>,
}

impl Point {
    /// The partition folder, relative to a table folder:
    /// `model=…/taps=…/…/noise=…` (values percent-encoded).
    pub fn partition(&self) -> PathBuf {
        KEYS.iter().zip(&self.key).map(|(k, v)| format!("{k}={}", encode(v))).collect()
    }
    /// A stable identifier: FNV-1a (64 bit) of the partition path, in hex.
    pub fn id(&self) -> String {
        format!("{:016x}", fnv1a(self.partition().to_string_lossy().as_bytes()))
    }
    /// `key=value` pairs for messages.
    pub fn describe(&self) -> String {
        KEYS.iter().zip(&self.key).map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
    }
}

/// A planned sweep: every point expanded and checked, models loaded.
pub struct Plan {
    /// The sweep.
    pub sweep: Sweep,
    /// Loaded models, in grid order.
    pub models: Vec<Model>,
    /// Images, in grid order.
    pub images: Vec<SweepImage>,
    /// Every point of the grid, in grid order.
    pub points: Vec<Point>,
}

impl Sweep {
    /// The settings every point shares, as JSON (kept in `OUT/sweep.json`; a
    /// re-run into the same folder must have the same).
    pub fn settings(&self) -> serde_json::Value {
        let a = &self.analysis;
        json!({
            "fs_hz": self.fs_hz,
            "frames": self.frames,
            "mean": self.mean,
            "default_depth": self.default_depth,
            "seed": self.seed,
            "allow_leakage": self.allow_leakage,
            "clip": self.clip,
            "quantize_8bit": self.quantize_8bit,
            "max_order": a.max_order,
            "preset": a.preset,
            "significance": a.significance,
            "full_window": a.full_window,
            "tables": self.tables,
            "backend": self.backend,
        })
    }

    /// Expand the grid and check everything a user can get wrong before
    /// anything runs: empty or repeated grid values, unknown layouts or
    /// modulations, frequency lists that fit no layout, invalid designs (the
    /// error names the point), images that are missing or do not decode,
    /// models that do not load, tap selections a model lacks, duplicate
    /// image or model names.
    pub fn plan(&self) -> Result<Plan> {
        if self.models.is_empty() {
            return Err(Error::Config("no models given (models = [...] in the sweep file)".into()));
        }
        nonempty(&self.taps, "taps")?;
        nonempty(&self.parts, "grid.parts")?;
        nonempty(&self.modulations, "grid.modulation")?;
        nonempty(&self.noise, "grid.noise")?;
        if self.tables.is_empty() {
            return Err(Error::Config(
                "tables is empty; give at least one of scores, components, layers, spectra".into(),
            ));
        }
        let backend = Backend::parse(&self.backend)?;
        let layouts: Vec<(String, PartLayout)> = self
            .parts
            .iter()
            .map(|p| parse_parts(p).map_err(|e| Error::Config(format!("grid.parts value '{p}': {e}"))))
            .collect::<Result<_>>()?;
        unique(layouts.iter().map(|(k, _)| k.clone()), "grid.parts")?;
        let freqs = match &self.freqs {
            Some(f) => {
                nonempty(f, "grid.freqs")?;
                f.clone()
            }
            None => {
                let mut v: Vec<Vec<f64>> = Vec::new();
                for (name, l) in &layouts {
                    let d = match l.count() {
                        1 => vec![12.0],
                        2 => vec![6.0, 7.5],
                        n => {
                            return Err(Error::Config(format!(
                                "grid.parts '{name}' has {n} parts; give their frequencies in grid.freqs"
                            )))
                        }
                    };
                    if !v.contains(&d) {
                        v.push(d);
                    }
                }
                v
            }
        };
        unique(freqs.iter().map(|f| join(f)), "grid.freqs")?;
        for f in &freqs {
            if !layouts.iter().any(|(_, l)| l.count() == f.len()) {
                return Err(Error::Config(format!(
                    "grid.freqs [{}] has {} value(s) but no layout in grid.parts has {} part(s)",
                    join(f),
                    f.len(),
                    f.len()
                )));
            }
        }
        for (name, l) in &layouts {
            if !freqs.iter().any(|f| f.len() == l.count()) {
                return Err(Error::Config(format!(
                    "grid.parts '{name}' has {} part(s) but no list in grid.freqs has {} frequencies",
                    l.count(),
                    l.count()
                )));
            }
        }
        let depths = self.depths.clone().unwrap_or_else(|| vec![self.default_depth]);
        nonempty(&depths, "grid.depth")?;
        unique(depths.iter().map(|d| d.to_string()), "grid.depth")?;
        if let Some(p) = &self.phases {
            nonempty(p, "grid.phases")?;
            unique(p.iter().map(|x| join(x)), "grid.phases")?;
            for x in p {
                if !freqs.iter().any(|f| f.len() == x.len()) {
                    return Err(Error::Config(format!(
                        "grid.phases [{}] has {} value(s) but no list in grid.freqs has {}",
                        join(x),
                        x.len(),
                        x.len()
                    )));
                }
            }
        }
        unique(self.modulations.iter().map(|m| m.to_string()), "grid.modulation")?;
        unique(self.noise.iter().map(|n| n.to_string()), "grid.noise")?;

        let images = expand_images(&self.images)?;
        let mut models = Vec::with_capacity(self.models.len());
        for path in &self.models {
            let m = Model::load(path)?.with_backend(backend)?;
            if let Some(other) = models.iter().find(|o: &&Model| o.name == m.name) {
                return Err(Error::Config(format!(
                    "models {} and {} are both named '{}'; give each model its own name in its card",
                    other.path.display(),
                    path.display(),
                    m.name
                )));
            }
            for t in &self.taps {
                m.select_taps(t)?;
            }
            models.push(m);
        }
        unique(self.taps.iter().cloned(), "taps")?;

        let mut points = Vec::new();
        for (mi, model) in models.iter().enumerate() {
            for taps in &self.taps {
                for (ii, image) in images.iter().enumerate() {
                    for (parts_key, layout) in &layouts {
                        for f in freqs.iter().filter(|f| f.len() == layout.count()) {
                            for &depth in &depths {
                                let phase_lists: Vec<Vec<f64>> = match &self.phases {
                                    Some(p) => p.iter().filter(|p| p.len() == f.len()).cloned().collect(),
                                    None => vec![vec![0.0; f.len()]],
                                };
                                for ph in &phase_lists {
                                    for &modulation in &self.modulations {
                                        for &sigma in &self.noise {
                                            let design = self.design(layout, f, depth, ph, modulation, sigma);
                                            let key = vec![
                                                model.name.clone(),
                                                taps.trim().to_string(),
                                                image.name.clone(),
                                                parts_key.clone(),
                                                join(f),
                                                depth.to_string(),
                                                join(ph),
                                                modulation.to_string(),
                                                sigma.to_string(),
                                            ];
                                            let point = Point {
                                                index: points.len(),
                                                model: mi,
                                                taps: taps.clone(),
                                                image: ii,
                                                design,
                                                key,
                                            };
                                            point.design.validate().map_err(|e| {
                                                Error::Config(format!("grid point {}: {e}", point.describe()))
                                            })?;
                                            for (k, v) in KEYS.iter().zip(&point.key) {
                                                if encode(v).len() > 200 {
                                                    return Err(Error::Config(format!(
                                                        "the {k} value '{v}' is too long for a folder name; shorten it"
                                                    )));
                                                }
                                            }
                                            points.push(point);
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(Plan { sweep: self.clone(), models, images, points })
    }

    fn design(
        &self,
        layout: &PartLayout,
        freqs: &[f64],
        depth: f64,
        phases: &[f64],
        m: Modulation,
        sigma: f64,
    ) -> Design {
        let mut d = Design::new(layout.clone(), freqs).fs(self.fs_hz).frames(self.frames).modulation(m).phases(phases);
        for t in &mut d.tags {
            t.mean = self.mean;
            t.depth = depth;
        }
        if sigma != 0.0 {
            d = d.noise(sigma, self.seed);
        }
        d.allow_leakage = self.allow_leakage;
        d.clip = self.clip;
        d.quantize_8bit = self.quantize_8bit;
        d
    }
}

fn nonempty<T>(v: &[T], key: &str) -> Result<()> {
    if v.is_empty() {
        return Err(Error::Config(format!("{key} is empty; give at least one value")));
    }
    Ok(())
}

fn unique(values: impl Iterator<Item = String>, key: &str) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for v in values {
        if !seen.insert(v.clone()) {
            return Err(Error::Config(format!("{key} lists '{v}' twice")));
        }
    }
    Ok(())
}

fn join(v: &[f64]) -> String {
    v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",")
}

/// A layout and its key: the layout's own name, or `labels:<file stem>` for a label image.
fn parse_parts(p: &str) -> Result<(String, PartLayout)> {
    let p = p.trim();
    if let Some(file) = p.strip_prefix("labels:") {
        let path = Path::new(file);
        let layout = PartLayout::from_label_image(path)?;
        if layout.count() == 0 {
            return Err(Error::image(path, "the label image has no part (every pixel is 0)"));
        }
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        return Ok((format!("labels:{stem}"), layout));
    }
    let layout = PartLayout::parse(p)?;
    Ok((layout.name(), layout))
}

// ---------------------------------------------------------------------------
// Images: files, folders, globs, stacks

/// Expand image specs into named sources, checking that every file exists
/// and its header decodes (the pixels are read when the image's points run).
pub fn expand_images(specs: &[String]) -> Result<Vec<SweepImage>> {
    if specs.is_empty() {
        return Err(Error::Config("no images given (images = [...] in the sweep file)".into()));
    }
    let mut out: Vec<SweepImage> = Vec::new();
    let push = |img: SweepImage, out: &mut Vec<SweepImage>| -> Result<()> {
        if let Some(other) = out.iter().find(|o| o.name == img.name) {
            if other.source == img.source {
                return Ok(()); // listed twice (e.g. a file and its folder): one image
            }
            return Err(Error::Config(format!(
                "two images are named '{}' ({} and {}); image names (file stems) must be unique in a sweep",
                img.name,
                describe_source(&other.source),
                describe_source(&img.source)
            )));
        }
        out.push(img);
        Ok(())
    };
    for spec in specs {
        let path = spec.rsplit_once(':').map(|(p, _)| p).filter(|p| p.ends_with(".npy")).unwrap_or(spec);
        if path.ends_with(".npy") {
            // a stack (with its optional range) read as the experiment files read it
            for img in load_images(std::slice::from_ref(spec))? {
                let index = img.name.rsplit_once('_').and_then(|(_, i)| i.parse().ok()).ok_or_else(|| {
                    Error::image(path, format!("stack image '{}' has no index in its name", img.name))
                })?;
                push(
                    SweepImage { name: img.name, source: ImageSource::Stack { path: PathBuf::from(path), index } },
                    &mut out,
                )?;
            }
            continue;
        }
        let is_dir = Path::new(path).is_dir();
        let files: Vec<PathBuf> = if is_dir || path.contains(['*', '?']) {
            let pattern = if is_dir { format!("{}/*", path.trim_end_matches('/')) } else { path.to_string() };
            let v: Vec<PathBuf> = glob_files(&pattern)?.into_iter().filter(|f| is_image_file(f)).collect();
            if v.is_empty() {
                return Err(Error::Config(format!(
                    "image {} '{path}' has no PNG or JPEG file",
                    if is_dir { "folder" } else { "pattern" }
                )));
            }
            v
        } else {
            vec![PathBuf::from(path)]
        };
        for f in files {
            if !f.is_file() {
                return Err(Error::image(&f, "no such file"));
            }
            image::image_dimensions(&f).map_err(|e| Error::image(&f, format!("cannot decode: {e}")))?;
            let name = f.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "image".into());
            push(SweepImage { name, source: ImageSource::File(f) }, &mut out)?;
        }
    }
    Ok(out)
}

fn describe_source(s: &ImageSource) -> String {
    match s {
        ImageSource::File(p) => p.display().to_string(),
        ImageSource::Stack { path, index } => format!("{}:{index}", path.display()),
    }
}

/// Files matching a glob pattern: `*` and `?` within a path component, `**`
/// for any number of folders. Sorted.
pub fn glob_files(pattern: &str) -> Result<Vec<PathBuf>> {
    let mut bases = vec![PathBuf::new()];
    for comp in Path::new(pattern).components() {
        let Component::Normal(part) = comp else {
            bases.iter_mut().for_each(|b| b.push(comp.as_os_str()));
            continue;
        };
        let part = part.to_string_lossy();
        if part == "**" {
            let mut all = Vec::new();
            for b in &bases {
                all.extend(subfolders(b));
            }
            bases = all;
        } else if part.contains(['*', '?']) {
            let mut next = Vec::new();
            for b in &bases {
                let dir = if b.as_os_str().is_empty() { Path::new(".") } else { b.as_path() };
                let Ok(rd) = std::fs::read_dir(dir) else { continue };
                for e in rd.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if !name.starts_with('.') && glob_match(&part, &name) {
                        next.push(b.join(&name));
                    }
                }
            }
            bases = next;
        } else {
            bases.iter_mut().for_each(|b| b.push(part.as_ref()));
        }
    }
    let mut files: Vec<PathBuf> = bases.into_iter().filter(|p| p.is_file()).collect();
    files.sort();
    files.dedup();
    Ok(files)
}

/// `base` and every folder below it (hidden folders skipped).
fn subfolders(base: &Path) -> Vec<PathBuf> {
    let mut out = vec![base.to_path_buf()];
    let dir = if base.as_os_str().is_empty() { Path::new(".") } else { base };
    if let Ok(rd) = std::fs::read_dir(dir) {
        let mut subs: Vec<PathBuf> = rd
            .flatten()
            .filter(|e| e.path().is_dir() && !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| base.join(e.file_name()))
            .collect();
        subs.sort();
        for s in subs {
            out.extend(subfolders(&s));
        }
    }
    out
}

/// Percent-encode a partition value: every byte outside `[A-Za-z0-9,._-]`
/// (and a leading `.`) becomes `%XX`; Polars decodes it when it scans.
pub fn encode(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for (i, b) in v.bytes().enumerate() {
        let keep = b.is_ascii_alphanumeric() || matches!(b, b',' | b'_' | b'-') || (b == b'.' && i > 0);
        if keep {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100000001b3))
}

// ---------------------------------------------------------------------------
// Running

/// What a run did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// The output folder.
    pub out: PathBuf,
    /// The shard run.
    pub shard: Option<Shard>,
    /// Points in the whole grid.
    pub grid_points: usize,
    /// Points of this shard.
    pub shard_points: usize,
    /// Points already finished by an earlier run (skipped).
    pub skipped: usize,
    /// Points run now.
    pub ran: usize,
    /// Frames through the network.
    pub frames: usize,
    /// Network time (s).
    pub network_seconds: f64,
    /// Wall time (s).
    pub seconds: f64,
    /// Rows written per table.
    pub rows: BTreeMap<String, usize>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shard = self.shard.map(|s| format!(" (shard {s})")).unwrap_or_default();
        writeln!(
            f,
            "sweep{shard}: {} of {} point(s) in this shard run now, {} already done; {} grid point(s) in all",
            self.ran, self.shard_points, self.skipped, self.grid_points
        )?;
        if self.ran > 0 {
            writeln!(
                f,
                "  {:.1} s wall, {:.2} s per point, {} frames at {:.1} frames/s through the network",
                self.seconds,
                self.seconds / self.ran as f64,
                self.frames,
                if self.network_seconds > 0.0 { self.frames as f64 / self.network_seconds } else { f64::NAN }
            )?;
        }
        let rows: Vec<String> = self.rows.iter().map(|(t, n)| format!("{t} {n}")).collect();
        if !rows.is_empty() {
            writeln!(f, "  rows written: {}", rows.join(", "))?;
        }
        write!(
            f,
            "  tables under {} (scan with freqtag::sweep::scan or any hive-aware Parquet reader)",
            self.out.display()
        )
    }
}

/// Progress of a run, reported before each point and as frames finish.
#[derive(Clone, Debug)]
pub enum Progress<'a> {
    /// The run starts: frames and points to run in this shard.
    Start {
        /// Frames of all points still to run.
        frames: usize,
        /// Points still to run.
        points: usize,
        /// Points already done.
        skipped: usize,
    },
    /// A point starts.
    Point(&'a Point),
}

impl Plan {
    /// Points of `shard` whose marker and tables already exist under `out`.
    pub fn finished(&self, out: &Path, shard: Shard) -> Vec<usize> {
        self.shard_points(shard).into_iter().filter(|p| self.is_done(out, p)).map(|p| p.index).collect()
    }

    /// The shard of every point when the sweep is cut into `count` shards:
    /// runs of consecutive points with about equal frames through the
    /// network each.
    pub fn owners(&self, count: usize) -> Vec<usize> {
        split(&self.points.iter().map(|p| self.frames_of(p)).collect::<Vec<_>>(), count.max(1))
    }

    /// The points of `shard`, in grid order.
    pub fn shard_points(&self, shard: Shard) -> Vec<&Point> {
        let owners = self.owners(shard.count);
        self.points.iter().filter(|p| owners[p.index] == shard.index).collect()
    }

    fn is_done(&self, out: &Path, p: &Point) -> bool {
        out.join(DONE).join(format!("{}.json", p.id())).is_file()
            && self.sweep.tables.iter().all(|t| out.join(t.name()).join(p.partition()).join(t.last_file()).is_file())
    }

    /// Frames the network runs for a point.
    pub fn frames_of(&self, p: &Point) -> usize {
        if self.sweep.analysis.full_window {
            p.design.frames
        } else {
            p.design.frames_to_run()
        }
    }

    /// Run the points of `shard` not yet finished under `out`, writing each
    /// point's tables and then its marker. `events` hears of the start and
    /// of each point; `frames(n)` is called as frames finish (from worker
    /// threads).
    pub fn run(
        &self,
        out: &Path,
        shard: Shard,
        frames: &(dyn Fn(usize) + Sync),
        events: &dyn Fn(Progress<'_>, &Summary),
    ) -> Result<Summary> {
        let start = Instant::now();
        crate::export::prepare_dir(out)?;
        self.check_settings(out)?;
        let mine = self.shard_points(shard);
        let todo: Vec<&Point> = mine.iter().copied().filter(|p| !self.is_done(out, p)).collect();
        let mut summary = Summary {
            out: out.to_path_buf(),
            shard: (shard.count > 1).then_some(shard),
            grid_points: self.points.len(),
            shard_points: mine.len(),
            skipped: mine.len() - todo.len(),
            ..Summary::default()
        };
        events(
            Progress::Start {
                frames: todo.iter().map(|p| self.frames_of(p)).sum(),
                points: todo.len(),
                skipped: summary.skipped,
            },
            &summary,
        );
        let mut compiled: Option<((usize, String), Compiled)> = None;
        let mut image: Option<(usize, Image)> = None;
        for p in todo {
            events(Progress::Point(p), &summary);
            let t0 = Instant::now();
            for t in &self.sweep.tables {
                remove_stale(&out.join(t.name()).join(p.partition()));
            }
            let model = &self.models[p.model];
            let exp = Experiment::new(model.clone(), p.design.clone())?
                .with_taps(&p.taps)?
                .with_analysis(self.sweep.analysis.clone());
            let key = (p.model, p.taps.clone());
            if compiled.as_ref().is_none_or(|(k, _)| *k != key) {
                drop(compiled.take()); // free the old networks first
                compiled = Some((key, exp.compile()?));
            }
            if image.as_ref().is_none_or(|(i, _)| *i != p.image) {
                drop(image.take());
                image = Some((p.image, self.images[p.image].load()?));
            }
            let (Some((_, c)), Some((_, img))) = (&compiled, &image) else { unreachable!("set above") };
            let results = exp.run_compiled(c, std::slice::from_ref(img), p.image as u64, frames)?;
            let mut written = Vec::new();
            for &t in &self.sweep.tables {
                if t == Table::SpectraNpy {
                    let folder = out.join(t.name()).join(p.partition());
                    written.extend(write_spectra_npy(&results, &folder)?.iter().map(|f| rel(out, f)));
                    continue;
                }
                let mut df = t.build(&results)?;
                with_key_columns(&mut df, p)?;
                let path = out.join(t.name()).join(p.partition()).join(PART);
                write_parquet(&path, &mut df, &[("freqtag.sweep.point", p.describe())])?;
                *summary.rows.entry(t.name().to_string()).or_default() += df.height();
                written.push(rel(out, &path));
            }
            let img = &results.images[0];
            let marker = json!({
                "id": p.id(),
                "index": p.index,
                "partition": p.partition(),
                "params": KEYS.iter().zip(&p.key).map(|(k, v)| (k.to_string(), v.clone())).collect::<BTreeMap<_, _>>(),
                "files": written,
                "frames_run": img.frames_run,
                "network_seconds": img.network_seconds,
                "seconds": t0.elapsed().as_secs_f64(),
                "top_classes": img.top_classes,
            });
            let mp = out.join(DONE).join(format!("{}.json", p.id()));
            write_bytes(&mp, marker.to_string().as_bytes())?;
            summary.ran += 1;
            summary.frames += img.frames_run;
            summary.network_seconds += img.network_seconds;
        }
        summary.seconds = start.elapsed().as_secs_f64();
        Ok(summary)
    }

    /// Write `OUT/sweep.json`, or check that the one there has the same
    /// settings.
    fn check_settings(&self, out: &Path) -> Result<()> {
        let path = out.join("sweep.json");
        let settings = self.sweep.settings();
        if path.is_file() {
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io("cannot read", &path, e))?;
            let old: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| Error::Config(format!("{}: not a sweep record ({e})", path.display())))?;
            let old = &old["settings"];
            if let (Some(o), Some(n)) = (old.as_object(), settings.as_object()) {
                for (k, v) in n {
                    if o.get(k) != Some(v) {
                        return Err(Error::Config(format!(
                            "{} holds a sweep with other settings ({k} was {}, now {v}); use another output folder",
                            out.display(),
                            o.get(k).map(|x| x.to_string()).unwrap_or_else(|| "unset".into())
                        )));
                    }
                }
            }
        }
        let record = json!({
            "freqtag_version": env!("CARGO_PKG_VERSION"),
            "settings": settings,
            "keys": KEYS,
            "grid_points": self.points.len(),
            "models": self.models.iter().map(|m| json!({"name": m.name, "path": m.path})).collect::<Vec<_>>(),
            "images": self.images.iter().map(|i| json!({"name": i.name, "source": describe_source(&i.source)})).collect::<Vec<_>>(),
        });
        write_bytes(&path, serde_json::to_string_pretty(&record).map_err(|e| Error::export(&path, e))?.as_bytes())
    }
}

fn rel(out: &Path, p: &Path) -> String {
    p.strip_prefix(out).unwrap_or(p).to_string_lossy().into_owned()
}

/// All taps' amplitude and phase spectra as two `[units, bins]` arrays,
/// then `spectra.json`; returns the files.
fn write_spectra_npy(results: &Results, folder: &Path) -> Result<Vec<PathBuf>> {
    let img = results.images.first().ok_or_else(|| Error::Data("no image in the results".into()))?;
    let bins = results.design.bins();
    let rows: usize = img.taps.iter().map(|t| t.spectrum.units).sum();
    let (mut amplitude, mut phase) = (Vec::with_capacity(rows * bins), Vec::with_capacity(rows * bins));
    let mut taps = Vec::new();
    for t in &img.taps {
        let s = &t.spectrum;
        taps.push(json!({"tap": t.tap.info.name, "op": t.tap.info.op, "depth": t.tap.info.depth, "first_row": amplitude.len() / bins, "units": s.units}));
        amplitude.extend_from_slice(&s.amplitude);
        phase.extend_from_slice(&s.phase);
    }
    let mut files = Vec::new();
    for (name, data) in [("amplitude.npy", &amplitude), ("phase.npy", &phase)] {
        let f = folder.join(name);
        crate::export::write_npy(&f, data, rows, bins)?;
        files.push(f);
    }
    let d = &results.design;
    let sidecar = json!({
        "image": img.image,
        "model": results.model,
        "fs_hz": d.fs_hz,
        "frames": d.frames,
        "tags": d.tags,
        "frequencies_hz": img.taps.first().map(|t| t.spectrum.frequencies()).unwrap_or_default(),
        "layout": "amplitude.npy and phase.npy (rad): float32 [units, bins]; tap k's units are rows first_row .. first_row + units",
        "scaling": "single-sided amplitude in activation units: |X_0|/N at DC, 2|X_k|/N for 0<k<N/2, |X_N/2|/N at Nyquist",
        "taps": taps,
    });
    let f = folder.join("spectra.json");
    write_bytes(&f, serde_json::to_string_pretty(&sidecar).map_err(|e| Error::export(&f, e))?.as_bytes())?;
    files.push(f);
    Ok(files)
}

/// Remove temporary files a killed run left in a point's folder.
fn remove_stale(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Set the key columns of a point's table to the point's values (the
/// tables' own `model`, `parts`, `freqs_hz`, `mod_depth`, `modulation`,
/// `image` columns are replaced by the same values; `taps`, `phases_rad`,
/// `noise` are added), so files and folder names agree.
fn with_key_columns(df: &mut DataFrame, p: &Point) -> Result<()> {
    let h = df.height();
    let pl = |e: PolarsError| Error::Data(format!("table: {e}"));
    for (k, v) in KEYS.iter().zip(&p.key) {
        let col = match *k {
            "mod_depth" | "noise" => {
                let x: f64 = v.parse().map_err(|_| Error::Data(format!("key {k}={v} is not a number")))?;
                Column::new_scalar((*k).into(), Scalar::new(DataType::Float64, AnyValue::Float64(x)), h)
            }
            _ => Column::new_scalar(
                (*k).into(),
                Scalar::new(DataType::String, AnyValue::StringOwned(v.as_str().into())),
                h,
            ),
        };
        df.with_column(col).map_err(pl)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Reading and merging

/// The schema of the key columns (for scans).
fn key_schema() -> Schema {
    KEYS.iter()
        .map(|k| {
            Field::new(
                (*k).into(),
                if matches!(*k, "mod_depth" | "noise") { DataType::Float64 } else { DataType::String },
            )
        })
        .collect()
}

/// Parquet files of `table` under `out`, sorted (markers, temporary and
/// other files are not part of it).
pub fn table_files(out: &Path, table: Table) -> Vec<PathBuf> {
    fn walk(dir: &Path, v: &mut Vec<PathBuf>) {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, v);
                } else if e.file_name() == PART {
                    v.push(p);
                }
            }
        }
    }
    let mut v = Vec::new();
    walk(&out.join(table.name()), &mut v);
    v.sort();
    v
}

/// A lazy scan of one table over every point under `out` (hive
/// partitioning on, so filters on the keys skip whole folders).
pub fn scan(out: &Path, table: Table) -> Result<LazyFrame> {
    if table == Table::SpectraNpy {
        return Err(Error::Config(
            "spectra-npy holds .npy arrays (read them with NumPy or ndarray-npy), not a table to scan".into(),
        ));
    }
    let dir = out.join(table.name());
    let files = table_files(out, table);
    if files.is_empty() {
        return Err(Error::Data(format!("no {} tables under {}", table.name(), out.display())));
    }
    let root = dir.to_string_lossy().into_owned();
    let paths: Vec<PlRefPath> = files.iter().map(|f| PlRefPath::new(f.to_string_lossy().as_ref())).collect();
    let args = ScanArgsParquet {
        hive_options: HiveOptions {
            enabled: Some(true),
            hive_start_idx: root.len(),
            schema: Some(Arc::new(key_schema())),
            try_parse_dates: false,
        },
        ..Default::default()
    };
    LazyFrame::scan_parquet_files(paths.into_iter().collect(), args).map_err(|e| Error::export(&dir, e))
}

/// One table of a sweep folder, collected and sorted by the keys and then
/// by tap and unit (and bin): the same rows in the same order whether the
/// sweep ran in one go or in shards.
pub fn collect(out: &Path, table: Table) -> Result<DataFrame> {
    let lf = scan(out, table)?;
    let mut by: Vec<PlSmallStr> = KEYS.iter().map(|k| (*k).into()).collect();
    by.extend(table.row_order().iter().map(|k| PlSmallStr::from(*k)));
    lf.sort(by, SortMultipleOptions::default().with_maintain_order(true))
        .collect()
        .map_err(|e| Error::export(out.join(table.name()), e))
}

/// What [`merge`] did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MergeSummary {
    /// Points copied (or already present).
    pub points: usize,
    /// Points of the grid (from `sweep.json`).
    pub grid_points: usize,
    /// Files copied.
    pub files: usize,
}

/// Merge sweep folders written by separate shards into `out`: every
/// finished point's files and marker are copied (atomically) into the same
/// layout, so [`scan`] on `out` reads the whole sweep. The folders must hold
/// the same settings. Points present in several folders are copied once.
pub fn merge(inputs: &[PathBuf], out: &Path) -> Result<MergeSummary> {
    if inputs.is_empty() {
        return Err(Error::Config("nothing to merge: give the shards' output folders".into()));
    }
    let mut record: Option<(PathBuf, serde_json::Value)> = None;
    let mut grid_points = 0;
    for dir in inputs {
        let path = dir.join("sweep.json");
        let text =
            std::fs::read_to_string(&path).map_err(|e| Error::io("not a sweep folder: cannot read", &path, e))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::Config(format!("{}: not a sweep record ({e})", path.display())))?;
        grid_points = grid_points.max(v["grid_points"].as_u64().unwrap_or(0) as usize);
        match &record {
            None => record = Some((dir.clone(), v)),
            Some((first, r)) if r["settings"] != v["settings"] => {
                return Err(Error::Config(format!(
                    "{} and {} hold sweeps with different settings; they cannot be merged",
                    first.display(),
                    dir.display()
                )))
            }
            Some(_) => {}
        }
    }
    crate::export::prepare_dir(out)?;
    let mut summary = MergeSummary { grid_points, ..Default::default() };
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    for dir in inputs {
        let done = dir.join(DONE);
        let Ok(rd) = std::fs::read_dir(&done) else { continue };
        let mut markers: Vec<PathBuf> =
            rd.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect();
        markers.sort();
        for m in markers {
            let text = std::fs::read_to_string(&m).map_err(|e| Error::io("cannot read", &m, e))?;
            let v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| Error::Config(format!("{}: not a point marker ({e})", m.display())))?;
            let id = v["id"].as_str().unwrap_or_default().to_string();
            if seen.contains_key(&id) {
                continue;
            }
            let files: Vec<String> = v["files"]
                .as_array()
                .map(|a| a.iter().filter_map(|f| f.as_str().map(String::from)).collect())
                .unwrap_or_default();
            if dir.canonicalize().ok() != out.canonicalize().ok() {
                for f in &files {
                    let (src, dst) = (dir.join(f), out.join(f));
                    let bytes = std::fs::read(&src).map_err(|e| Error::io("cannot read", &src, e))?;
                    write_bytes(&dst, &bytes)?;
                    summary.files += 1;
                }
                write_bytes(&out.join(DONE).join(format!("{id}.json")), text.as_bytes())?;
            }
            seen.insert(id, dir.clone());
            summary.points += 1;
        }
    }
    if let Some((_, r)) = record {
        let p = out.join("sweep.json");
        write_bytes(&p, serde_json::to_string_pretty(&r).map_err(|e| Error::export(&p, e))?.as_bytes())?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_split_the_grid() {
        assert_eq!(Shard::parse("1/4").unwrap(), Shard { index: 1, count: 4 });
        for bad in ["4/4", "1/0", "x/2", "3", "-1/2"] {
            assert!(Shard::parse(bad).unwrap_err().to_string().contains("i/n"), "{bad}");
        }
        // equal costs: equal runs; a costly tail gets a shard of its own
        assert_eq!(split(&[80; 6], 3), vec![0, 0, 1, 1, 2, 2]);
        assert_eq!(split(&[80, 80, 80, 80, 240, 240], 2), vec![0, 0, 0, 0, 1, 1]);
        assert_eq!(split(&[80; 3], 5), vec![0, 2, 4]);
        assert_eq!(split(&[80; 4], 1), vec![0; 4]);
    }

    #[test]
    fn wildcards_and_encoding() {
        assert!(glob_match("*.png", "cat.png"));
        assert!(glob_match("c?t*", "cat.png"));
        assert!(!glob_match("*.png", "cat.jpg"));
        assert!(glob_match("*", ""));
        assert_eq!(encode("grid:2x3"), "grid%3A2x3");
        assert_eq!(encode("/_blocks.1*"), "%2F_blocks.1%2A");
        assert_eq!(encode(".hidden"), "%2Ehidden");
        assert_eq!(encode("6,7.5"), "6,7.5");
    }

    #[test]
    fn grid_values_are_read_with_clear_errors() {
        let f: SweepFile = toml::from_str("images=['x.png']\n[grid]\nfreqs=[6.0, 7.5]\n").unwrap();
        let e = f.to_sweep().unwrap_err().to_string();
        assert!(e.contains("grid.freqs takes a list of lists"), "{e}");
        let f: SweepFile = toml::from_str("[grid]\ndepth='deep'\n").unwrap();
        assert!(f.to_sweep().unwrap_err().to_string().contains("grid.depth takes numbers"));
        let f: SweepFile = toml::from_str("[grid]\nparts='left-right'\ndepth=0.1\n").unwrap();
        let s = f.to_sweep().unwrap();
        assert_eq!(s.parts, vec!["left-right"]);
        assert_eq!(s.depths, Some(vec![0.1]));
        let e = toml::from_str::<SweepFile>("[grid]\nfreq=[[6]]\n").unwrap_err().to_string();
        assert!(e.contains("unknown field"), "{e}");
        // an experiment file's one-value [design] keys are one-value grid axes
        let f: SweepFile =
            toml::from_str("[design]\nfreqs=[5.0, 8.0]\nrange=[0.4, 1.0]\nmodulation='contrast'\n").unwrap();
        let s = f.to_sweep().unwrap();
        assert_eq!(s.freqs, Some(vec![vec![5.0, 8.0]]));
        assert_eq!(s.modulations, vec![Modulation::Contrast]);
        assert!((s.mean - 0.7).abs() < 1e-12 && (s.default_depth - 0.3).abs() < 1e-12);
        let f: SweepFile = toml::from_str("[grid]\nfreqs=[[6, 7.5]]\n[design]\nfreqs=[5.0, 8.0]\n").unwrap();
        assert!(f.to_sweep().unwrap_err().to_string().contains("freqs is given in both [grid] and [design]"));
    }
}

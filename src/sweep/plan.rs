//! Planning a sweep: the grid in code, expanded into checked points, and
//! the points cut into shards.
//!
//! In: a [`Sweep`] (from a sweep file or built in code). Out: a [`Plan`] —
//! the models loaded, the images named ([`expand_images`]), every [`Point`]
//! of the grid in grid order with its validated design and key values — or
//! one error naming the first value a user got wrong. [`Shard`] and
//! [`Plan::owners`] cut the points into runs of about equal network work.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::json;

use super::store::{encode, fnv1a, Table, KEYS};
use super::SweepImage;
use crate::error::{Error, Result};
use crate::experiment::Analysis;
use crate::io::sources;
use crate::model::{Backend, Model};
use crate::stimulus::{Design, Modulation, PartLayout};

/// A sweep: the grid and the settings every point shares. Build it from a
/// file ([`SweepFile::to_sweep`](super::SweepFile::to_sweep)) or in code, then [`Sweep::plan`] it.
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
            parts: vec![paper.layout.name()],
            freqs: None,
            depths: None,
            phases: None,
            modulations: vec![paper.modulation],
            noise: vec![0.0],
            fs_hz: paper.fs_hz,
            frames: paper.frames,
            mean: paper.tags[0].mean,
            default_depth: paper.tags[0].depth,
            seed: 0,
            allow_leakage: paper.allow_leakage,
            clip: paper.clip,
            quantize_8bit: paper.quantize_8bit,
            analysis: Analysis::default(),
            tables: vec![Table::Scores, Table::Components, Table::Layers],
            backend: "tract".into(),
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
                    let d = l.default_frequencies().ok_or_else(|| {
                        Error::Config(format!(
                            "grid.parts '{name}' has {} parts; give their frequencies in grid.freqs",
                            l.count()
                        ))
                    })?;
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

/// Expand the image specs of a sweep ([`crate::io::sources`]: files,
/// folders, globs, `.npy` stacks) into named sources, checking that every
/// file exists and its header decodes (the pixels are read when the image's
/// points run). The names are the `image` key: a source listed twice (e.g. a
/// file and its folder) is one image, two sources with one name an error.
pub fn expand_images(specs: &[String]) -> Result<Vec<SweepImage>> {
    if specs.is_empty() {
        return Err(Error::Config("no images given (images = [...] in the sweep file)".into()));
    }
    let mut out: Vec<SweepImage> = Vec::new();
    for img in sources::expand(specs)? {
        if let Some(other) = out.iter().find(|o| o.name == img.name) {
            if other.source == img.source {
                continue; // listed twice: one image
            }
            return Err(Error::Config(format!(
                "two images are named '{}' ({} and {}); image names (file stems) must be unique in a sweep",
                img.name, other.source, img.source
            )));
        }
        out.push(img);
    }
    Ok(out)
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

impl Plan {
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

    /// Frames the network runs for a point.
    pub fn frames_of(&self, p: &Point) -> usize {
        if self.sweep.analysis.full_window {
            p.design.frames
        } else {
            p.design.frames_to_run()
        }
    }
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
}

//! The sweep file: a TOML description of a sweep, read into a [`Sweep`].
//!
//! In: the text of a sweep file (keys below; `[design]` and `[analysis]` are
//! an experiment file's tables, [`crate::config`]). Out: a [`SweepFile`] and,
//! with its values checked, the [`Sweep`] it describes. Every error names the
//! key and shows the form it takes (`grid.freqs takes a list of lists, one
//! list per point (e.g. [[6.0, 7.5], [5.0, 8.0]])`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Sweep, Table};
use crate::config::{AnalysisConfig, DesignConfig};
use crate::error::{Error, Result};
use crate::stimulus::Modulation;

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

#[cfg(test)]
mod tests {
    use super::*;

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

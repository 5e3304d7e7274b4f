//! Experiment files (TOML).
//!
//! In: a TOML file or command-line values. Out: a validated [`Design`],
//! [`Analysis`] options, the model path, tap selectors and image specs
//! (expanded and decoded by [`load_images`], whose grammar lives in
//! [`crate::io::sources`]). Every key is optional; missing ones take the
//! paper's values.
//!
//! ```toml
//! model  = "data/models/efficientnet_lite0.onnx"
//! images = ["data/images/chelsea.png", "data/images/c*.png", "data/images/lfw_subset.npy:0-9"]
//! taps   = "default"            # or "conv", "act", "op:Clip", "/_blocks.*/Conv", ...
//! per_position = "/_conv_stem/Conv"  # optional: keep every position of these taps as units
//! tokens = "1+16x16"            # optional: a transformer's token layout (special tokens + patch grid), if its card lacks it
//! special_tokens = "blocks"     # optional: read the CLS/register tokens of these token taps as their own units
//! out    = "out/my-run"
//!
//! [design]
//! parts      = "left-right"     # whole, top-bottom, quadrants, grid:RxC
//! labels     = "parts.png"      # instead of parts: a label image (0 = unmodulated)
//! freqs      = [6.0, 7.5]       # Hz, one per part
//! fs         = 120.0            # frames per second
//! frames     = 240
//! modulation = "multiplicative" # or "contrast"
//! range      = [0.5, 1.0]       # α from .. to
//! phases     = [0.0, 0.0]       # radians
//! noise      = 0.0              # Gaussian pixel noise σ per frame
//! seed       = 0
//! allow_leakage = false
//!
//! [input]                       # only for a model without a card: explicit preprocessing
//! channels = 3
//! height = 224
//! width = 224
//! resize_short_side = 256       # optional
//! center_crop = 224             # optional
//! value_scale = 255.0           # model input = (x·value_scale − mean) / std, x in [0, 1]
//! mean = [127.0]
//! std  = [128.0]
//!
//! [analysis]
//! order  = 4                    # lattice order
//! preset = "fpvs"               # mne, letswave, fpvs, meigen-bach, authors
//! batch  = 1
//! full_window = false
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::experiment::Analysis;
use crate::images::Preprocess;
/// Image lists (files, folders, globs, `.npy` stacks): defined in [`crate::io::sources`].
pub use crate::io::sources::load_images;
use crate::metrics::SnrPreset;
use crate::model::{InputSpec, Model, TokenLayout};
use crate::stimulus::{Design, Modulation, PartLayout};

/// The `[design]` table.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesignConfig {
    /// Part layout name.
    pub parts: Option<String>,
    /// Label image for parts.
    pub labels: Option<PathBuf>,
    /// Tag frequencies (Hz).
    pub freqs: Option<Vec<f64>>,
    /// Frame rate (Hz).
    pub fs: Option<f64>,
    /// Frame count.
    pub frames: Option<usize>,
    /// Modulation mode.
    pub modulation: Option<String>,
    /// α range [lo, hi].
    pub range: Option<[f64; 2]>,
    /// Phases (rad).
    pub phases: Option<Vec<f64>>,
    /// Noise σ.
    pub noise: Option<f64>,
    /// Noise seed.
    pub seed: Option<u64>,
    /// Accept off-bin tags.
    pub allow_leakage: Option<bool>,
    /// Clip to [0, 1].
    pub clip: Option<bool>,
    /// Quantise to 8 bits.
    pub quantize_8bit: Option<bool>,
}

/// The `[analysis]` table.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisConfig {
    /// Lattice order.
    pub order: Option<u32>,
    /// SNR preset name.
    pub preset: Option<String>,
    /// Frames per network run.
    pub batch: Option<usize>,
    /// Run every frame.
    pub full_window: Option<bool>,
}

/// The `[input]` table: explicit input spec and preprocessing, for models
/// without a model card.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputConfig {
    /// Channels (1 or 3).
    pub channels: usize,
    /// Input rows.
    pub height: usize,
    /// Input columns.
    pub width: usize,
    /// Resize the short side to this before cropping.
    pub resize_short_side: Option<usize>,
    /// Centre crop size.
    pub center_crop: Option<usize>,
    /// Scale of [0, 1] values before mean/std (default 1).
    pub value_scale: Option<f32>,
    /// Per-channel (or one) mean (default 0).
    pub mean: Option<Vec<f32>>,
    /// Per-channel (or one) std (default 1).
    pub std: Option<Vec<f32>>,
}

/// A whole experiment file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentFile {
    /// Model (ONNX or card).
    pub model: Option<PathBuf>,
    /// Image specs: files, folders, globs (`*`, `?`, `**`), `.npy` stacks with
    /// optional `:A-B` ([`crate::io::sources`]).
    #[serde(default)]
    pub images: Vec<String>,
    /// Tap selectors.
    pub taps: Option<String>,
    /// Taps (selectors) whose units are kept per position instead of the
    /// spatial mean.
    pub per_position: Option<String>,
    /// A transformer's token layout `PREFIX+ROWSxCOLS` (e.g. `1+16x16`),
    /// overriding the card's.
    pub tokens: Option<String>,
    /// Token taps (selectors) whose special tokens (CLS, registers) are read
    /// as their own units instead of the mean over the patch tokens.
    pub special_tokens: Option<String>,
    /// Output folder.
    pub out: Option<PathBuf>,
    /// Explicit input spec (models without a card).
    #[serde(default)]
    pub input: Option<InputConfig>,
    /// Stimulus design.
    #[serde(default)]
    pub design: DesignConfig,
    /// Analysis options.
    #[serde(default)]
    pub analysis: AnalysisConfig,
}

impl ExperimentFile {
    /// Read and parse a TOML file; relative paths inside stay relative to the
    /// current directory.
    pub fn load(path: &Path) -> Result<ExperimentFile> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("cannot read experiment file", path, e))?;
        toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {}", path.display(), e.message())))
    }
}

impl ExperimentFile {
    /// Load the model: with its card, or with the explicit `[input]` table.
    pub fn load_model(&self) -> Result<Model> {
        let path = self
            .model
            .as_ref()
            .ok_or_else(|| Error::Config("no model given (--model or `model =` in the experiment file)".into()))?;
        let model = match &self.input {
            None => Model::load(path)?,
            Some(i) => {
                let spec = InputSpec {
                    name: "input".into(),
                    layout: "NCHW".into(),
                    channels: i.channels,
                    height: i.height,
                    width: i.width,
                };
                let pre = Preprocess {
                    resize_short_side: i.resize_short_side,
                    center_crop: i.center_crop,
                    value_scale: i.value_scale.unwrap_or(1.0),
                    mean: i.mean.clone().unwrap_or_else(|| vec![0.0]),
                    std: i.std.clone().unwrap_or_else(|| vec![1.0]),
                };
                Model::load_with(path, spec, pre)?
            }
        };
        Ok(match &self.tokens {
            Some(t) => model.with_tokens(TokenLayout::parse(t).map_err(Error::Config)?),
            None => model,
        })
    }
}

impl DesignConfig {
    /// Build and validate the design.
    pub fn to_design(&self) -> Result<Design> {
        let layout = match (&self.labels, &self.parts) {
            (Some(p), _) => PartLayout::from_label_image(p)?,
            (None, Some(p)) => PartLayout::parse(p)?,
            (None, None) => Design::paper().layout,
        };
        // no default for more than two parts: the paper's two frequencies,
        // which validation then refuses naming the part count
        let freqs = self
            .freqs
            .clone()
            .or_else(|| layout.default_frequencies())
            .unwrap_or_else(|| Design::paper().frequencies());
        let mut d = Design::new(layout, &freqs);
        if let Some(fs) = self.fs {
            d = d.fs(fs);
        }
        if let Some(n) = self.frames {
            d = d.frames(n);
        }
        if let Some(m) = &self.modulation {
            d = d.modulation(Modulation::parse(m)?);
        }
        if let Some([lo, hi]) = self.range {
            if hi <= lo {
                return Err(Error::Design(format!("range must go from low to high, got [{lo}, {hi}]")));
            }
            d = d.range(lo, hi);
        }
        if let Some(p) = &self.phases {
            if p.len() != d.tags.len() {
                return Err(Error::Design(format!("{} phases given for {} tags", p.len(), d.tags.len())));
            }
            d = d.phases(p);
        }
        if let Some(s) = self.noise.filter(|s| *s != 0.0) {
            d = d.noise(s, self.seed.unwrap_or(0));
        }
        d.allow_leakage = self.allow_leakage.unwrap_or(false);
        d.clip = self.clip.unwrap_or(false);
        d.quantize_8bit = self.quantize_8bit.unwrap_or(false);
        d.validate()?;
        Ok(d)
    }
}

impl AnalysisConfig {
    /// Build the analysis options.
    pub fn to_analysis(&self) -> Result<Analysis> {
        let mut a = Analysis::default();
        if let Some(o) = self.order {
            if o == 0 || o > 12 {
                return Err(Error::Config(format!("lattice order must be 1 to 12, got {o}")));
            }
            a.max_order = o;
        }
        if let Some(p) = &self.preset {
            a.preset = SnrPreset::parse(p).ok_or_else(|| {
                Error::Config(format!("unknown SNR preset '{p}'; use mne, letswave, fpvs, meigen-bach or authors"))
            })?;
        }
        if let Some(b) = self.batch {
            a.batch = b.max(1);
        }
        a.full_window = self.full_window.unwrap_or(false);
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn experiment_file_parses_and_defaults_to_the_paper() {
        let f: ExperimentFile = toml::from_str("[design]\nfreqs = [6.0, 7.5]\n").unwrap();
        assert_eq!(f.design.to_design().unwrap(), Design::paper());
        let f: ExperimentFile =
            toml::from_str("[design]\nparts = \"quadrants\"\nfreqs = [3, 4.5, 6, 7.5]\nrange=[0.1,1.0]\n").unwrap();
        let d = f.design.to_design().unwrap();
        assert_eq!(d.tags.len(), 4);
        assert!((d.tags[0].depth - 0.45).abs() < 1e-12);
        let e = toml::from_str::<ExperimentFile>("[design]\nfreq = [6]\n").unwrap_err().to_string();
        assert!(e.contains("unknown field"), "{e}");
        let f: ExperimentFile = toml::from_str("[design]\nfreqs = [6.2, 7.5]\n").unwrap();
        assert!(f.design.to_design().unwrap_err().to_string().contains("off its bin"));
        let f: ExperimentFile = toml::from_str("[analysis]\npreset = \"nope\"\n").unwrap();
        assert!(f.analysis.to_analysis().is_err());
    }
}

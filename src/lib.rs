//! # freqtag — frequency tagging of artificial neural networks
//!
//! Neuroscientists flicker parts of a picture at different frequencies and
//! read the brain's response at those frequencies, their harmonics and their
//! intermodulations (n·f1 ± m·f2, the sign that parts were combined).
//! freqtag does the same to a CNN (Böge et al. 2024, arXiv 2411.10084): parts
//! of an image are contrast-modulated sinusoidally over frames, every frame
//! goes through the network, and each unit's activation over the frames is
//! Fourier-analysed.
//!
//! ## The path of the data, one module per stage
//!
//! | stage | module | in → out |
//! |---|---|---|
//! | images | [`images`], [`io::sources`] | PNG/JPEG/NumPy, folders, globs → float [`Image`] in [0, 1] |
//! | stimulus | [`stimulus`] | [`Design`] + image → frames (t_i = i/fs) |
//! | model | [`model`] | ONNX [`Model`] + card, taps; a [`Probe`] runs frames on an engine (tract or onnxruntime, [`model::engine`]) → activations `[frames, units]` |
//! | spectrum | [`spectrum`] | activations → one-sided amplitude/phase [`Spectrum`] |
//! | components | [`components`] | design → the n·f1 + m·f2 [`Lattice`] |
//! | metrics | [`metrics`] | spectrum + lattice → SNR, BCA, z, unit scores |
//! | experiment | [`experiment`] | all of the above over images → [`Results`], whole or image by image |
//! | summary | [`summary`] | image results → per-tap aggregates and [`summary::Findings`], memory flat in the images |
//! | io | [`io::config`], [`io::tables`], [`io::export`] | experiment files; results → Polars DataFrames (long format) → Parquet, `.npy` + JSON sidecars (streamed, atomic) |
//! | present | [`present::plots`], [`present::report`], [`present::notebook`] | figures (plotters SVG/PNG), the self-contained `report.html`, inline display in evcxr notebooks; depends on the rest, never the other way |
//! | sweep | [`sweep`] | grids of models × taps × images × designs → per-point Parquet partitions (resumable, sharded) |
//! | ablation | [`ablation`] | model + taps + tagging results + held-out images → ablated ONNX and masks, unit rankings, deletion curves, areas; its figures in [`present::ablation`] |
//! | stats | [`stats`] | statistics across images (the trials): t-intervals, one-sample, paired and two-sample tests with exact permutation p-values, Benjamini–Hochberg, tests against the noise floor, the SNR spectrum ([`AcrossImages`]) |
//! | pattern | [`pattern`] | wildcards and closest-name suggestions |
//!
//! The modules of earlier releases keep their paths: `freqtag::probe` is
//! [`model`], `freqtag::{config, tables, export}` are in [`io`],
//! `freqtag::{plots, report, notebook}` in [`present`].
//!
//! ## Conventions (see `METHOD.md` in the shared docs)
//!
//! Frame times are `i / fs`; tags must sit on a bin (whole cycles in the
//! window) and below Nyquist; frames are float, unclipped and unquantised;
//! units are reduced by the linear spatial mean; amplitudes are single-sided
//! (a sinusoid of amplitude A reads A); only one fundamental period of frames
//! goes through the network when the design is noise-free, which gives the
//! same spectrum exactly.
//!
//! ## Example: the paper's experiment
//!
//! ```no_run
//! use freqtag::{Design, Experiment, Image, Model};
//! let model = Model::load("data/models/efficientnet_lite0.onnx")?;
//! let images = vec![Image::open("data/images/chelsea.png")?];
//! let results = Experiment::new(model, Design::paper())?.run(&images, &|_| {})?;
//! let scores = freqtag::tables::scores(&results)?;
//! println!("{scores}");
//! # Ok::<(), freqtag::Error>(())
//! ```
#![deny(missing_docs)]

pub mod ablation;
pub mod components;
pub mod error;
pub mod experiment;
pub mod images;
pub mod io;
pub mod metrics;
pub mod model;
pub mod pattern;
pub mod present;
pub mod spectrum;
pub mod stats;
pub mod stimulus;
pub mod summary;
pub mod sweep;

// The paths of earlier releases, kept so that notebooks and users do not
// break: `freqtag::probe::Model`, `freqtag::tables::scores`, `freqtag::plots::…`.
#[doc(no_inline)]
pub use io::{config, export, tables};
#[doc(no_inline)]
pub use model as probe;
#[doc(no_inline)]
pub use present::{notebook, plots, report};

pub use components::{Component, Kind, Lattice};
pub use error::{Error, Result};
pub use experiment::{Analysis, Experiment, ImageResult, Results, TapResult};
pub use images::{Image, Preprocess};
pub use metrics::{Significance, SnrPreset, UnitScores};
pub use model::{Model, Probe, Reduction, Role, Tap, TapInfo, TapLayout, TokenLayout};
pub use spectrum::Spectrum;
pub use stats::{AcrossImages, SnrSpectrum};
pub use stimulus::{Design, Modulation, PartLayout, Schedule, Stimulus, Tag};

/// Re-export of Polars, so notebooks and users can work with the tables
/// without a second, possibly mismatched, dependency.
pub use polars;

/// The folder with the shipped models and images: `$FREQTAG_DATA` if set,
/// else `./data` if it holds the models, else the `data/` folder of the
/// source tree freqtag was built from.
pub fn data_dir() -> std::path::PathBuf {
    if let Some(d) = std::env::var_os("FREQTAG_DATA") {
        return d.into();
    }
    let local = std::path::Path::new("data");
    if local.join("models").is_dir() {
        return local.to_path_buf();
    }
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

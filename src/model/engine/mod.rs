//! The engines that run a compiled network: [tract](https://crates.io/crates/tract-onnx)
//! (pure Rust, always built) and onnxruntime (cargo feature `ort`, the
//! shared library loaded at run time).
//!
//! In: an ONNX graph (possibly edited, e.g. with mask inputs), the shapes of
//! its inputs and what to read out (the model's own outputs, or taps). Out: a
//! [`Network`] that hands out one [`Session`] per worker thread; a session
//! runs one batch and passes each output, flattened, to a callback.
//!
//! Everything above this module — the probe, the masked networks of the
//! ablation study — is written against these two traits, so the choice of
//! engine ([`Backend`]) reaches all of them.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tract_onnx::pb::ModelProto;

use super::taps::Tap;
use crate::error::{Error, Result};

#[cfg(feature = "ort")]
pub(crate) mod ort;
pub(crate) mod tract;

/// The engine that runs the network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// tract, pure Rust (the default).
    #[default]
    Tract,
    /// onnxruntime through the `ort` crate: needs freqtag built with the
    /// cargo feature `ort` and `ORT_DYLIB_PATH` naming `libonnxruntime.so`
    /// (e.g. the one the PyPI `onnxruntime` wheel ships).
    Ort,
}

impl Backend {
    /// Parse `tract` or `ort`; `ort` is an error when freqtag was built
    /// without the `ort` feature.
    pub fn parse(s: &str) -> Result<Backend> {
        match s.trim().to_lowercase().as_str() {
            "tract" => Ok(Backend::Tract),
            "ort" | "onnxruntime" if cfg!(feature = "ort") => Ok(Backend::Ort),
            "ort" | "onnxruntime" => Err(ort_missing()),
            other => Err(Error::Config(format!("unknown backend '{other}'; use tract or ort"))),
        }
    }
}

/// One input tensor of a run: its shape and its values (row-major).
pub(crate) struct Input<'a> {
    pub shape: &'a [usize],
    pub data: &'a [f32],
}

/// What to compile.
pub(crate) struct NetSpec<'a> {
    /// The graph.
    pub proto: &'a ModelProto,
    /// The file it came from (for error messages).
    pub path: &'a Path,
    /// The model's display name (for error messages).
    pub model_name: &'a str,
    /// The graph inputs in the order they are fed, with their shapes: the
    /// image batch `[batch, C, H, W]` first, then any extra inputs by name
    /// (e.g. the masks of a masked network).
    pub image_shape: [usize; 4],
    /// Extra inputs after the image: (graph input name, shape).
    pub extra_inputs: Vec<(String, Vec<usize>)>,
    /// The taps to read, in order; empty: the model's own outputs.
    pub taps: &'a [Tap],
}

/// A compiled network.
pub(crate) trait Network: Send + Sync {
    /// A running state for one worker thread.
    fn session(&self) -> Result<Box<dyn Session + '_>>;
    /// Whether output `k` holds spatial means computed in the graph
    /// (`[batch, channels]`) rather than the tap's whole output.
    fn reduced(&self, k: usize) -> bool;
}

/// One worker's running state.
pub(crate) trait Session {
    /// Run one batch (inputs in [`NetSpec`] order) and hand each output
    /// `(index, values)` to `take`, without copying it.
    fn run(&mut self, inputs: &[Input<'_>], take: &mut dyn FnMut(usize, &[f32]) -> Result<()>) -> Result<()>;
}

/// Compile `spec` on `backend`.
pub(crate) fn compile(backend: Backend, spec: &NetSpec<'_>) -> Result<Box<dyn Network>> {
    match backend {
        Backend::Tract => Ok(Box::new(tract::TractNet::new(spec)?)),
        #[cfg(feature = "ort")]
        Backend::Ort => Ok(Box::new(ort::OrtNet::new(spec)?)),
        #[cfg(not(feature = "ort"))]
        Backend::Ort => Err(ort_missing()),
    }
}

/// The error for `ort` in a build without the `ort` feature.
pub(crate) fn ort_missing() -> Error {
    Error::Config(
        "backend 'ort' needs freqtag built with the onnxruntime feature: cargo build --release --features ort".into(),
    )
}

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

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tract_onnx::pb::ModelProto;

use super::taps::Tap;
use crate::error::{Error, Result};

mod depthwise;
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
    /// Parse `tract`, `ort` (`onnxruntime`) or `auto` ([`Backend::auto`]);
    /// `ort` is an error when freqtag was built without the `ort` feature.
    pub fn parse(s: &str) -> Result<Backend> {
        match s.trim().to_lowercase().as_str() {
            "auto" => Ok(Backend::auto()),
            "tract" => Ok(Backend::Tract),
            "ort" | "onnxruntime" if cfg!(feature = "ort") => Ok(Backend::Ort),
            "ort" | "onnxruntime" => Err(ort_missing()),
            other => Err(Error::Config(format!("unknown backend '{other}'; use tract, ort or auto"))),
        }
    }

    /// The fastest engine this machine has: onnxruntime when freqtag was
    /// built with the `ort` feature (the default) and its shared library can
    /// be found ([`onnxruntime_library`]), else tract.
    pub fn auto() -> Backend {
        if cfg!(feature = "ort") && onnxruntime_library().is_some() {
            Backend::Ort
        } else {
            Backend::Tract
        }
    }

    /// `tract` or `ort`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Tract => "tract",
            Backend::Ort => "ort",
        }
    }

    /// One line saying which engine this is and where it comes from, e.g.
    /// `onnxruntime (/…/libonnxruntime.so.1.32.0)`.
    pub fn describe(self) -> String {
        match self {
            Backend::Tract if depthwise::available() => {
                "tract 0.23 (pure Rust; depthwise convolutions: freqtag's AVX2 operator)".to_string()
            }
            Backend::Tract => "tract 0.23 (pure Rust)".to_string(),
            Backend::Ort => match onnxruntime_library() {
                Some(p) => format!("onnxruntime ({})", p.display()),
                None => "onnxruntime (library not found)".to_string(),
            },
        }
    }
}

/// Where the onnxruntime shared library is, first match wins:
/// 1. `ORT_DYLIB_PATH` (taken as given, even if the file is missing, so that
///    a wrong path is reported rather than ignored);
/// 2. the copy `scripts/install-onnxruntime.sh` installs, under
///    `$FREQTAG_ORT_DIR` (default `~/.local/share/freqtag/onnxruntime`);
/// 3. an `onnxruntime` wheel in the active Python environment
///    (`$VIRTUAL_ENV`, `$CONDA_PREFIX`), or the one `python3` imports.
///
/// The wheel on PyPI carries the library as
/// `onnxruntime/capi/libonnxruntime.so.<version>`.
pub fn onnxruntime_library() -> Option<PathBuf> {
    static FOUND: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    FOUND.get_or_init(find_onnxruntime).clone()
}

fn find_onnxruntime() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let own = std::env::var_os("FREQTAG_ORT_DIR")
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(".local/share/freqtag/onnxruntime")));
    if let Some(found) = own.as_deref().and_then(in_package_dir) {
        return Some(found);
    }
    for var in ["VIRTUAL_ENV", "CONDA_PREFIX"] {
        let Some(prefix) = std::env::var_os(var).map(PathBuf::from) else { continue };
        let Ok(lib) = std::fs::read_dir(prefix.join("lib")) else { continue };
        for entry in lib.flatten() {
            if entry.file_name().to_string_lossy().starts_with("python3") {
                if let Some(found) = in_package_dir(&entry.path().join("site-packages")) {
                    return Some(found);
                }
            }
        }
    }
    // the interpreter on PATH, if it has the wheel
    let out = std::process::Command::new("python3")
        .args(["-c", "import onnxruntime, os; print(os.path.dirname(os.path.dirname(onnxruntime.__file__)))"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !dir.is_empty()).then(|| in_package_dir(Path::new(&dir))).flatten()
}

/// `dir/onnxruntime/capi/libonnxruntime.so*` (dir: a site-packages folder
/// or a `pip install --target` folder).
fn in_package_dir(dir: &Path) -> Option<PathBuf> {
    let capi = dir.join("onnxruntime").join("capi");
    let mut libs: Vec<PathBuf> = std::fs::read_dir(&capi)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            name.starts_with("libonnxruntime.so") || name.starts_with("libonnxruntime.") && name.ends_with(".dylib")
        })
        .collect();
    libs.sort();
    libs.pop()
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

/// Time spent in one kind of operator during a profiled run.
#[derive(Clone, Debug, PartialEq)]
pub struct OpTime {
    /// The engine's name for the operator (tract's op name, e.g. `Conv`,
    /// `Clip`, `Add`).
    pub op: String,
    /// Nodes of this kind evaluated.
    pub calls: usize,
    /// Wall time inside them (s).
    pub seconds: f64,
}

/// One worker's running state.
pub(crate) trait Session {
    /// Run one batch (inputs in [`NetSpec`] order) and hand each output
    /// `(index, values)` to `take`, without copying it.
    fn run(&mut self, inputs: &[Input<'_>], take: &mut dyn FnMut(usize, &[f32]) -> Result<()>) -> Result<()>;
    /// Run one batch timing every operator, where the engine can (tract):
    /// the time per kind of operator, most first; `None` where it cannot.
    fn profile(&mut self, _inputs: &[Input<'_>]) -> Result<Option<Vec<OpTime>>> {
        Ok(None)
    }
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
        "backend 'ort' needs freqtag built with the `ort` cargo feature (on by default; this build has --no-default-features)".into(),
    )
}

//! The model probe: load an ONNX image CNN with tract, list and select its
//! taps, and run frames through it, reading every tap.
//!
//! In: an `.onnx` file and its model card (`<stem>.card.json` beside it: input
//! shape, layout, normalisation, class names), or explicit preprocessing;
//! frames rendered by the stimulus stage. Out: per tap, activations
//! `[frames, units]` ([`TapActivations`]).
//!
//! A *tap* is the output of one ONNX node, named by the node's name (or, for
//! unnamed nodes, its output tensor's name); users may give either. A tap's
//! *units* are its channels (axis 1), each reduced to one number per frame by
//! the spatial mean ([`Reduction::SpatialMean`], linear, so every
//! nonlinearity in a spectrum is the network's), or every element
//! ([`Reduction::PerPosition`]).
//!
//! The network is compiled once per batch size with the input shape pinned
//! (tract is much faster with concrete shapes), and batches of frames are
//! spread over all cores, each worker with its own state.
//!
//! The engine is [tract](https://crates.io/crates/tract-onnx) (pure Rust,
//! the default) or, with the cargo feature `ort`, onnxruntime
//! ([`Backend::Ort`], chosen at run time with [`Model::with_backend`]), which
//! reads the spatial means in the graph itself (a `ReduceMean` after each
//! tap) and loads the onnxruntime shared library named by `ORT_DYLIB_PATH`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use tract_onnx::pb::ModelProto;
use tract_onnx::prelude::*;

use crate::error::{closest_names, Error, Result};
use crate::images::{Image, Preprocess};

/// ONNX op types that count as convolutions for the default tap selection.
pub const CONV_OPS: &[&str] = &["Conv", "ConvTranspose"];
/// ONNX op types that count as activations for the default tap selection.
pub const ACTIVATION_OPS: &[&str] = &[
    "Relu",
    "Clip",
    "Sigmoid",
    "Tanh",
    "LeakyRelu",
    "Elu",
    "Selu",
    "HardSigmoid",
    "HardSwish",
    "Softplus",
    "PRelu",
    "Gelu",
    "Mish",
    "Celu",
    "ThresholdedRelu",
];

/// The input a model expects.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputSpec {
    /// Name of the ONNX input.
    #[serde(default = "default_input_name")]
    pub name: String,
    /// Only "NCHW" is supported.
    #[serde(default = "default_layout")]
    pub layout: String,
    /// Channels (1 grey, 3 RGB).
    pub channels: usize,
    /// Input rows.
    pub height: usize,
    /// Input columns.
    pub width: usize,
}

fn default_input_name() -> String {
    "input".into()
}
fn default_layout() -> String {
    "NCHW".into()
}

/// A model card: what the loader needs to know beyond the ONNX graph.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    /// Display name.
    pub name: String,
    /// ONNX file, relative to the card.
    pub file: String,
    /// Input shape and layout.
    pub input: InputSpec,
    /// Preprocessing.
    pub preprocess: Preprocess,
    /// File with one class name per line, relative to the card.
    #[serde(default)]
    pub classes_file: Option<String>,
    /// Class names inline.
    #[serde(default)]
    pub classes: Option<Vec<String>>,
    /// Where the weights come from.
    #[serde(default)]
    pub source: Option<String>,
    /// Licence of the weights.
    #[serde(default)]
    pub license: Option<String>,
}

/// One tappable node output.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TapInfo {
    /// ONNX node name (or output tensor name for unnamed nodes).
    pub name: String,
    /// ONNX output tensor name.
    pub tensor: String,
    /// ONNX op type ("Conv", "Clip", ...).
    pub op: String,
    /// Output shape for one frame (batch axis removed), e.g. [32, 112, 112].
    pub shape: Vec<usize>,
    /// Position of the node in the graph (0 = first node): a depth order.
    pub depth: usize,
}

impl TapInfo {
    /// Channels (units under the spatial mean): the first axis after batch.
    pub fn channels(&self) -> usize {
        self.shape.first().copied().unwrap_or(1)
    }
    /// Elements per channel (spatial positions).
    pub fn positions(&self) -> usize {
        self.shape.iter().skip(1).product::<usize>().max(1)
    }
    /// A file-name-safe version of the tap name: leading '/' dropped, other
    /// characters outside `[A-Za-z0-9._-]` replaced by '-'.
    pub fn file_stem(&self) -> String {
        file_stem(&self.name)
    }
}

/// File-name-safe tap name (see [`TapInfo::file_stem`]).
pub fn file_stem(name: &str) -> String {
    let s: String = name
        .trim_start_matches('/')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' })
        .collect();
    if s.is_empty() {
        "tap".into()
    } else {
        s
    }
}

/// How a tap's output becomes units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reduction {
    /// One unit per channel: the mean over all positions (linear).
    #[default]
    SpatialMean,
    /// One unit per element (channel × position), no reduction.
    PerPosition,
    /// One unit per channel: the mean of squares. WARNING: the square makes
    /// 2f and f1±f2 by itself; responses at those frequencies are then not
    /// the network's. Offered for comparison with tansylu/ssvep only.
    MeanOfSquares,
}

/// A tap chosen for a run, with its reduction.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Tap {
    /// The tapped node.
    pub info: TapInfo,
    /// How its output becomes units.
    pub reduction: Reduction,
}

impl Tap {
    /// Units this tap yields per frame.
    pub fn units(&self) -> usize {
        match self.reduction {
            Reduction::PerPosition => self.info.channels() * self.info.positions(),
            _ => self.info.channels(),
        }
    }
}

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
            "ort" | "onnxruntime" => Err(Error::Config(
                "backend 'ort' needs freqtag built with the onnxruntime feature: cargo build --release --features ort"
                    .into(),
            )),
            other => Err(Error::Config(format!("unknown backend '{other}'; use tract or ort"))),
        }
    }
}

/// A loaded model.
#[derive(Clone, Debug)]
pub struct Model {
    /// Display name (from the card, else the file stem).
    pub name: String,
    /// The ONNX file.
    pub path: PathBuf,
    /// Input shape and layout.
    pub input: InputSpec,
    /// Preprocessing.
    pub preprocess: Preprocess,
    /// Class names (may be empty).
    pub classes: Vec<String>,
    proto: Arc<ModelProto>,
    taps: Vec<TapInfo>,
    backend: Backend,
}

impl Model {
    /// Load a model from an `.onnx` file (its card `<stem>.card.json` beside
    /// it) or from a card file.
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        let path = path.as_ref();
        if !path.exists() {
            return Err(Error::model(path, "no such file"));
        }
        let (card_path, onnx_path) = if path.extension().is_some_and(|e| e == "json") {
            let card = read_card(path)?;
            (path.to_path_buf(), path.parent().unwrap_or(Path::new(".")).join(card.file))
        } else {
            let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            (path.with_file_name(format!("{stem}.card.json")), path.to_path_buf())
        };
        if !card_path.exists() {
            return Err(Error::model(
                path,
                format!(
                    "no model card at {} (it gives input size and normalisation); write one, or give the input explicitly (CLI: --input CxHxW --mean … --std …; experiment file: [input]; library: Model::load_with)",
                    card_path.display()
                ),
            ));
        }
        let card = read_card(&card_path)?;
        let base = card_path.parent().unwrap_or(Path::new("."));
        let classes = match (&card.classes, &card.classes_file) {
            (Some(c), _) => c.clone(),
            (None, Some(f)) => {
                let p = base.join(f);
                std::fs::read_to_string(&p)
                    .map_err(|e| Error::io("cannot read class names", &p, e))?
                    .lines()
                    .map(|l| l.trim().to_string())
                    .filter(|l| !l.is_empty())
                    .collect()
            }
            (None, None) => vec![],
        };
        let mut m = Model::load_with(&onnx_path, card.input, card.preprocess)?;
        m.name = card.name;
        m.classes = classes;
        Ok(m)
    }

    /// Load an ONNX file with explicit input spec and preprocessing.
    pub fn load_with(path: impl AsRef<Path>, input: InputSpec, preprocess: Preprocess) -> Result<Model> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read model", path, e))?;
        let proto = tract_onnx::onnx()
            .proto_model_for_read(&mut bytes.as_slice())
            .map_err(|e| Error::model(path, format!("not a readable ONNX model ({e})")))?;
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
        Model::from_proto(proto, name, path.to_path_buf(), input, preprocess)
    }

    /// Build from an ONNX protobuf already in memory (e.g. an ablated copy).
    pub fn from_proto(
        proto: ModelProto,
        name: String,
        path: PathBuf,
        input: InputSpec,
        preprocess: Preprocess,
    ) -> Result<Model> {
        if input.layout.to_uppercase() != "NCHW" {
            return Err(Error::model(&path, format!("layout {} is not supported; use NCHW", input.layout)));
        }
        preprocess.validate(input.channels).map_err(|e| Error::model(&path, e))?;
        let mut model = Model {
            name,
            path,
            input,
            preprocess,
            classes: vec![],
            proto: Arc::new(proto),
            taps: vec![],
            backend: Backend::Tract,
        };
        model.taps = model.discover_taps()?;
        Ok(model)
    }

    /// Run this model's probes on `backend` (tract by default).
    pub fn with_backend(mut self, backend: Backend) -> Result<Model> {
        if backend == Backend::Ort && !cfg!(feature = "ort") {
            return Backend::parse("ort").map(|_| self);
        }
        #[cfg(feature = "ort")]
        if backend == Backend::Ort {
            crate::ort_backend::environment(&self)?; // load onnxruntime now: a missing library is reported before anything runs
        }
        self.backend = backend;
        Ok(self)
    }

    /// The engine this model's probes run on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The ONNX protobuf.
    pub fn proto(&self) -> &ModelProto {
        &self.proto
    }

    /// Every node output that can be tapped, in graph order.
    pub fn taps(&self) -> &[TapInfo] {
        &self.taps
    }

    fn inference_model(&self, batch: usize) -> Result<InferenceModel> {
        let err = |e: TractError| Error::model(&self.path, format!("{e:#}"));
        let mut m = tract_onnx::onnx().model_for_proto_model(&self.proto).map_err(err)?;
        let i = &self.input;
        m.set_input_fact(0, f32::fact([batch, i.channels, i.height, i.width]).into()).map_err(err)?;
        Ok(m)
    }

    fn discover_taps(&self) -> Result<Vec<TapInfo>> {
        let err = |e: TractError| Error::model(&self.path, format!("cannot analyse the graph: {e:#}"));
        let graph = self.proto.graph.as_ref().ok_or_else(|| Error::model(&self.path, "the ONNX file has no graph"))?;
        let mut model = self.inference_model(1)?;
        // make every node output a model output so the shapes are all inferred
        let mut outlets = Vec::new();
        let mut nodes = Vec::new();
        for (depth, node) in graph.node.iter().enumerate() {
            let Some(tensor) = node.output.first().filter(|t| !t.is_empty()) else { continue };
            if let Some(outlet) = model.find_outlet_label(tensor) {
                let name = if node.name.is_empty() { tensor.clone() } else { node.name.clone() };
                outlets.push(outlet);
                nodes.push((name, tensor.clone(), node.op_type.clone(), depth));
            }
        }
        model.select_output_outlets(&outlets).map_err(err)?;
        let typed = model.into_typed().map_err(err)?;
        let mut taps = Vec::new();
        for (i, (name, tensor, op, depth)) in nodes.into_iter().enumerate() {
            let outlet = typed.output_outlets().map_err(err)?[i];
            let fact = typed.outlet_fact(outlet).map_err(err)?;
            let Some(shape) = fact.shape.as_concrete() else { continue };
            if shape.first() != Some(&1) || fact.datum_type != f32::datum_type() {
                continue; // not a per-frame float feature (e.g. shape constants)
            }
            taps.push(TapInfo { name, tensor, op, shape: shape[1..].to_vec(), depth });
        }
        if taps.is_empty() {
            return Err(Error::model(&self.path, "no tappable float node outputs found"));
        }
        Ok(taps)
    }

    /// Find a tap by node name or tensor name; the error suggests close names.
    pub fn tap(&self, name: &str) -> Result<&TapInfo> {
        self.taps.iter().find(|t| t.name == name || t.tensor == name).ok_or_else(|| Error::UnknownTap {
            name: name.to_string(),
            model: self.name.clone(),
            suggestions: closest_names(name, self.taps.iter().map(|t| t.name.as_str()), 3),
        })
    }

    /// Select taps by a comma-separated list of selectors:
    /// `default` (every conv and activation output), `conv`, `act`, `all`
    /// (every float node output), `op:Type`, a node or tensor name, or a
    /// pattern with `*` and `?` wildcards. An empty selector means `default`.
    /// Results keep graph order, without duplicates.
    pub fn select_taps(&self, selectors: &str) -> Result<Vec<TapInfo>> {
        let sels: Vec<&str> = selectors.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        let sels = if sels.is_empty() { vec!["default"] } else { sels };
        let mut keep = vec![false; self.taps.len()];
        for sel in sels {
            let lower = sel.to_lowercase();
            let hits: Vec<usize> = match lower.as_str() {
                "default" => {
                    self.indices(|t| CONV_OPS.contains(&t.op.as_str()) || ACTIVATION_OPS.contains(&t.op.as_str()))
                }
                "conv" => self.indices(|t| CONV_OPS.contains(&t.op.as_str())),
                "act" | "activation" | "activations" => self.indices(|t| ACTIVATION_OPS.contains(&t.op.as_str())),
                "all" => (0..self.taps.len()).collect(),
                _ if lower.starts_with("op:") => {
                    let op = &sel[3..];
                    let v = self.indices(|t| t.op.eq_ignore_ascii_case(op));
                    if v.is_empty() {
                        let mut ops: Vec<&str> = self.taps.iter().map(|t| t.op.as_str()).collect();
                        ops.sort();
                        ops.dedup();
                        return Err(Error::Config(format!(
                            "no node of op type '{op}' in {}; it has {}",
                            self.name,
                            ops.join(", ")
                        )));
                    }
                    v
                }
                _ if sel.contains('*') => {
                    let v = self.indices(|t| glob_match(sel, &t.name) || glob_match(sel, &t.tensor));
                    if v.is_empty() {
                        return Err(Error::Config(format!("pattern '{sel}' matches no tap of {}", self.name)));
                    }
                    v
                }
                _ => {
                    let t = self.tap(sel)?;
                    vec![self.taps.iter().position(|x| x == t).unwrap_or(0)]
                }
            };
            hits.into_iter().for_each(|i| keep[i] = true);
        }
        Ok(self.taps.iter().zip(keep).filter(|(_, k)| *k).map(|(t, _)| t.clone()).collect())
    }

    fn indices(&self, f: impl Fn(&TapInfo) -> bool) -> Vec<usize> {
        (0..self.taps.len()).filter(|&i| f(&self.taps[i])).collect()
    }

    /// Prepare an image for this model (channels, resize, crop); values stay
    /// in [0, 1].
    pub fn prepare(&self, image: &Image) -> Result<Image> {
        image.for_model(&self.preprocess, self.input.channels, self.input.height, self.input.width)
    }

    /// Compile a probe reading `taps` with `batch` frames per run.
    pub fn probe(&self, taps: &[Tap], batch: usize) -> Result<Probe> {
        let batch = batch.max(1);
        #[cfg(feature = "ort")]
        if self.backend == Backend::Ort {
            let engine = crate::ort_backend::OrtEngine::new(self, taps, batch)?;
            return Ok(Probe {
                model_name: self.name.clone(),
                input: self.input.clone(),
                preprocess: self.preprocess.clone(),
                taps: taps.to_vec(),
                batch,
                engine: Engine::Ort(engine),
            });
        }
        let err = |e: TractError| Error::model(&self.path, format!("cannot compile: {e:#}"));
        let mut m = self.inference_model(batch)?;
        let mut outlets = Vec::with_capacity(taps.len());
        for t in taps {
            let outlet = m.find_outlet_label(&t.info.tensor).ok_or_else(|| Error::UnknownTap {
                name: t.info.name.clone(),
                model: self.name.clone(),
                suggestions: vec![],
            })?;
            outlets.push(outlet);
        }
        if !taps.is_empty() {
            m.select_output_outlets(&outlets).map_err(err)?;
        }
        let plan = m.into_optimized().map_err(err)?.into_runnable().map_err(err)?;
        Ok(Probe {
            model_name: self.name.clone(),
            input: self.input.clone(),
            preprocess: self.preprocess.clone(),
            taps: taps.to_vec(),
            batch,
            engine: Engine::Tract(plan),
        })
    }

    /// Logits (the model's first output) for images already prepared with
    /// [`Model::prepare`]; one row per image. Compiles a plan each call: for
    /// repeated use, keep a [`Model::classifier`].
    pub fn logits(&self, images: &[Image]) -> Result<Vec<Vec<f32>>> {
        self.classifier(images.len().clamp(1, 8))?.logits(images)
    }

    /// A compiled plan for the model's own outputs (no taps).
    pub fn classifier(&self, batch: usize) -> Result<Probe> {
        self.probe(&[], batch)
    }

    /// Logits for an input tensor already normalised, `[n, C, H, W]`
    /// flattened (e.g. a reference input saved from PyTorch).
    pub fn logits_raw(&self, input: &[f32], n: usize) -> Result<Vec<Vec<f32>>> {
        let probe = self.probe(&[], n.max(1))?;
        let out = probe.run_raw(input.to_vec())?;
        let logits = out.first().ok_or_else(|| Error::Data("model has no output".into()))?;
        let classes = logits.len() / n.max(1);
        Ok(logits.chunks(classes).map(|c| c.to_vec()).collect())
    }

    /// Class name of index `i` ("class i" when unknown).
    pub fn class_name(&self, i: usize) -> String {
        self.classes.get(i).cloned().unwrap_or_else(|| format!("class {i}"))
    }
}

fn read_card(path: &Path) -> Result<ModelCard> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("cannot read model card", path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::model(path, format!("invalid model card: {e}")))
}

/// Whole-text wildcard match: `*` matches any run of characters, `?` any
/// one character, everything else literally (tap selectors, file globs).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            pi += 1;
            mark = ti;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Activations of one tap over frames: `data[frame * units + unit]`.
#[derive(Clone, Debug, PartialEq)]
pub struct TapActivations {
    /// The tap.
    pub tap: Tap,
    /// Units per frame.
    pub units: usize,
    /// Frames.
    pub frames: usize,
    /// Frame-major values.
    pub data: Vec<f32>,
}

/// A compiled model reading a set of taps.
pub struct Probe {
    model_name: String,
    input: InputSpec,
    preprocess: Preprocess,
    taps: Vec<Tap>,
    batch: usize,
    engine: Engine,
}

/// The compiled network of a probe.
enum Engine {
    Tract(Arc<TypedSimplePlan>),
    #[cfg(feature = "ort")]
    Ort(crate::ort_backend::OrtEngine),
}

/// One worker's running state.
enum Worker {
    Tract(Box<TypedSimpleState>),
    #[cfg(feature = "ort")]
    Ort,
}

impl Probe {
    /// The taps read, in order.
    pub fn taps(&self) -> &[Tap] {
        &self.taps
    }
    /// Frames per network run.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Logits (first output) for prepared images (values in [0, 1],
    /// model-sized); normalisation is applied here. One row per image.
    pub fn logits(&self, images: &[Image]) -> Result<Vec<Vec<f32>>> {
        let i = &self.input;
        let per = i.channels * i.height * i.width;
        let mut rows = Vec::with_capacity(images.len());
        for chunk in images.chunks(self.batch) {
            let mut buf = vec![0f32; self.batch * per];
            for (j, img) in chunk.iter().enumerate() {
                if img.data.len() != per {
                    return Err(Error::Data(format!(
                        "image {} is {}×{}×{}, the model wants {}×{}×{}; prepare it with Model::prepare",
                        img.name, img.channels, img.height, img.width, i.channels, i.height, i.width
                    )));
                }
                let slot = &mut buf[j * per..(j + 1) * per];
                slot.copy_from_slice(&img.data);
                self.preprocess.normalise(slot, i.channels);
            }
            let out = self.run_raw(buf)?;
            let logits = out.first().ok_or_else(|| Error::Data("model has no output".into()))?;
            let classes = logits.len() / self.batch;
            rows.extend((0..chunk.len()).map(|j| logits[j * classes..(j + 1) * classes].to_vec()));
        }
        Ok(rows)
    }

    /// Run a normalised input batch `[batch, C, H, W]`; each output flattened.
    fn run_raw(&self, input: Vec<f32>) -> Result<Vec<Vec<f32>>> {
        let mut worker = self.worker()?;
        self.run_with(&mut worker, input, |_, o| Ok(o.to_vec()))
    }

    fn worker(&self) -> Result<Worker> {
        match &self.engine {
            Engine::Tract(plan) => Ok(Worker::Tract(Box::new(plan.spawn().map_err(|e| self.inference_error(e))?))),
            #[cfg(feature = "ort")]
            Engine::Ort(_) => Ok(Worker::Ort),
        }
    }

    /// Run one batch and hand each output `(index, values)` to `take`,
    /// without copying it.
    fn run_with<T>(
        &self,
        worker: &mut Worker,
        input: Vec<f32>,
        mut take: impl FnMut(usize, &[f32]) -> Result<T>,
    ) -> Result<Vec<T>> {
        let i = &self.input;
        match (worker, &self.engine) {
            (Worker::Tract(state), Engine::Tract(_)) => {
                let arr = tract_ndarray::Array4::from_shape_vec((self.batch, i.channels, i.height, i.width), input)
                    .map_err(|e| Error::Data(format!("input batch: {e}")))?;
                let out = state.run(tvec!(arr.into_tensor().into())).map_err(|e| self.inference_error(e))?;
                out.iter()
                    .enumerate()
                    .map(|(k, t)| {
                        let view = t.to_plain_array_view::<f32>().map_err(|e| self.inference_error(e))?;
                        match view.as_slice() {
                            Some(s) => take(k, s),
                            None => take(k, &view.iter().copied().collect::<Vec<f32>>()),
                        }
                    })
                    .collect()
            }
            #[cfg(feature = "ort")]
            (Worker::Ort, Engine::Ort(engine)) => engine.run(self.batch, i, &input, take),
            #[cfg(feature = "ort")]
            _ => Err(Error::Data("probe worker does not match its engine".into())),
        }
    }

    fn inference_error(&self, e: impl std::fmt::Display) -> Error {
        Error::Inference { model: self.model_name.clone(), message: format!("{e:#}") }
    }

    /// Run `frames` frames through the network. `render(i, buf)` writes frame
    /// `i` (planar [0, 1] values, model-sized) into `buf`; normalisation is
    /// applied here. `progress(done)` is called after each batch with the
    /// number of frames finished. Batches run in parallel on all cores.
    pub fn run<R, P>(&self, frames: usize, render: R, progress: P) -> Result<Vec<TapActivations>>
    where
        R: Fn(usize, &mut [f32]) + Sync,
        P: Fn(usize) + Sync,
    {
        let per = self.input.channels * self.input.height * self.input.width;
        let n_batches = frames.div_ceil(self.batch);
        let units: Vec<usize> = self.taps.iter().map(Tap::units).collect();
        let results: Vec<Result<Vec<Vec<f32>>>> = (0..n_batches)
            .into_par_iter()
            .map_init(
                || self.worker(),
                |worker, b| {
                    let worker = worker
                        .as_mut()
                        .map_err(|e| Error::Inference { model: self.model_name.clone(), message: e.to_string() })?;
                    let first = b * self.batch;
                    let mut buf = vec![0f32; self.batch * per];
                    for j in 0..self.batch {
                        // pad the last batch by repeating its last frame
                        let f = (first + j).min(frames - 1);
                        let slot = &mut buf[j * per..(j + 1) * per];
                        render(f, slot);
                        self.preprocess.normalise(slot, self.input.channels);
                    }
                    let real = (frames - first).min(self.batch);
                    let reduced = self.run_with(worker, buf, |k, o| match (self.taps.get(k), units.get(k)) {
                        (Some(tap), Some(&u)) => reduce(o, self.batch, real, tap, u, self.reduced_in_graph(k)),
                        _ => Ok(Vec::new()), // the model's own outputs of a probe without taps
                    })?;
                    progress(real);
                    Ok(reduced)
                },
            )
            .collect();
        let mut acts: Vec<TapActivations> = self
            .taps
            .iter()
            .zip(&units)
            .map(|(t, &u)| TapActivations { tap: t.clone(), units: u, frames, data: Vec::with_capacity(frames * u) })
            .collect();
        for r in results {
            for (a, part) in acts.iter_mut().zip(r?) {
                a.data.extend_from_slice(&part);
            }
        }
        Ok(acts)
    }
}

/// Reduce one tap's batch output `[batch, C, ...]` to `[real, units]`
/// (`in_graph`: the engine already took the spatial mean, `[batch, C]`).
fn reduce(out: &[f32], batch: usize, real: usize, tap: &Tap, units: usize, in_graph: bool) -> Result<Vec<f32>> {
    let per_frame = out.len() / batch;
    let c = tap.info.channels();
    if in_graph {
        if per_frame != units {
            return Err(Error::Data(format!(
                "tap {} produced {per_frame} means per frame, expected {units}",
                tap.info.name
            )));
        }
        return Ok(out[..real * units].to_vec());
    }
    if per_frame != c * tap.info.positions() {
        return Err(Error::Data(format!(
            "tap {} produced {per_frame} values per frame, expected shape {:?}",
            tap.info.name, tap.info.shape
        )));
    }
    let pos = tap.info.positions();
    let mut v = Vec::with_capacity(real * units);
    for f in 0..real {
        let frame = &out[f * per_frame..(f + 1) * per_frame];
        match tap.reduction {
            Reduction::PerPosition => v.extend_from_slice(frame),
            Reduction::SpatialMean => v.extend(frame.chunks(pos).map(|ch| (sum_f32(ch) / pos as f64) as f32)),
            Reduction::MeanOfSquares => v.extend(
                frame
                    .chunks(pos)
                    .map(|ch| (ch.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>() / pos as f64) as f32),
            ),
        }
    }
    Ok(v)
}

/// Sum of `x` in f64 precision, fast: 8 independent f32 lanes over blocks
/// of 512 values (which the compiler vectorises), each block's total added
/// in f64. The error is that of 64-term f32 sums, far below the f32 output.
fn sum_f32(x: &[f32]) -> f64 {
    let mut total = 0f64;
    for block in x.chunks(512) {
        let mut lanes = [0f32; 8];
        let mut it = block.chunks_exact(8);
        for c in &mut it {
            for (l, v) in lanes.iter_mut().zip(c) {
                *l += v;
            }
        }
        total += lanes.iter().map(|&l| l as f64).sum::<f64>() + it.remainder().iter().map(|&v| v as f64).sum::<f64>();
    }
    total
}

impl Probe {
    /// Whether the engine returns tap `k` already reduced to spatial means.
    fn reduced_in_graph(&self, k: usize) -> bool {
        match &self.engine {
            Engine::Tract(_) => {
                let _ = k; // tract hands back whole feature maps
                false
            }
            #[cfg(feature = "ort")]
            Engine::Ort(e) => e.reduced(k),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_sum_matches_f64_sum() {
        let x: Vec<f32> = (0..12_545).map(|i| ((i * 7919) % 1000) as f32 / 997.0 - 0.3).collect();
        let exact: f64 = x.iter().map(|&v| v as f64).sum();
        // f32 lanes: the error bound scales with Σ|x| and f32's epsilon (1.2e-7)
        let scale: f64 = x.iter().map(|&v| (v as f64).abs()).sum();
        assert!((sum_f32(&x) - exact).abs() < 1e-6 * scale, "{} vs {exact}", sum_f32(&x));
        assert_eq!(sum_f32(&[]), 0.0);
        assert_eq!(sum_f32(&[1.5, 2.5, 3.0]), 7.0);
    }

    #[test]
    fn globs_and_file_stems() {
        assert!(glob_match("/_blocks.*/Conv", "/_blocks.3/Conv"));
        assert!(glob_match("*Clip", "/_blocks.8/_swish/Clip"));
        assert!(!glob_match("*Clip", "/_blocks.8/_swish/Conv"));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert_eq!(file_stem("/_blocks.8/_swish/Clip"), "_blocks.8-_swish-Clip");
        assert_eq!(file_stem("///"), "tap");
    }
}

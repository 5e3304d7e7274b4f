//! The model: load an ONNX image network with its card, list and select its
//! taps, and compile probes that run frames through it, reading every tap.
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
//! | file | holds |
//! |---|---|
//! | `card.rs` | [`ModelCard`], [`InputSpec`]: what a model needs beyond its graph |
//! | `taps.rs` | [`TapInfo`], [`Tap`], [`Reduction`], tap selectors |
//! | `probe.rs` | [`Probe`]: frames in, [`TapActivations`] out |
//! | `engine/` | [`Backend`]: tract and onnxruntime behind one trait |
//!
//! The engine is [tract](https://crates.io/crates/tract-onnx) (pure Rust,
//! the default) or, with the cargo feature `ort`, onnxruntime
//! ([`Backend::Ort`], chosen at run time with [`Model::with_backend`]), which
//! reads the spatial means in the graph itself (a `ReduceMean` after each
//! tap) and loads the onnxruntime shared library named by `ORT_DYLIB_PATH`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tract_onnx::pb::ModelProto;
use tract_onnx::prelude::Framework as _;

use crate::error::{Error, Result};
use crate::images::{Image, Preprocess};
use crate::pattern::closest_names;

pub(crate) mod card;
pub mod engine;
pub(crate) mod probe;
pub(crate) mod taps;
pub(crate) mod transformer;

#[doc(no_inline)]
pub use crate::pattern::glob_match;
pub use card::{InputSpec, ModelCard};
pub use engine::Backend;
pub use probe::{Probe, TapActivations};
pub use taps::{file_stem, Reduction, Role, Tap, TapInfo, TapLayout, TokenLayout, ACTIVATION_OPS, CONV_OPS};

/// The ONNX operator-set version of the default domain (13 when absent).
pub(crate) fn onnx_opset(proto: &ModelProto) -> i64 {
    proto.opset_import.iter().find(|o| o.domain.is_empty() || o.domain == "ai.onnx").map(|o| o.version).unwrap_or(13)
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
    /// Class names (empty for a model that is not a classifier, or whose
    /// card names no classes: then no "top-1" is reported).
    pub classes: Vec<String>,
    /// What the output is, in words, from the card (e.g. "saliency map").
    pub output: Option<String>,
    /// A transformer's token sequence, from the card ([`Model::with_tokens`]).
    pub tokens: Option<TokenLayout>,
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
            let card = card::read_card(path)?;
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
        let card = card::read_card(&card_path)?;
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
        m.output = card.output;
        Ok(match card.tokens {
            Some(t) => m.with_tokens(t),
            None => m,
        })
    }

    /// Load an ONNX file with explicit input spec and preprocessing.
    pub fn load_with(path: impl AsRef<Path>, input: InputSpec, preprocess: Preprocess) -> Result<Model> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read model", path, e))?;
        let proto = tract_onnx::onnx()
            .proto_model_for_read(&mut bytes.as_slice())
            .map_err(|e| Error::model_from(path, "not a readable ONNX model", e))?;
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
        let mut taps = engine::tract::discover_taps(&proto, &path, &input)?;
        transformer::annotate(&proto, &mut taps, None);
        Ok(Model {
            name,
            path,
            input,
            preprocess,
            classes: vec![],
            output: None,
            tokens: None,
            proto: Arc::new(proto),
            taps,
            backend: Backend::Tract,
        })
    }

    /// Declare the model's token sequence (what a card's `tokens` entry
    /// says): `[tokens, channels]` tensors then have channels as units, and
    /// the transformer's blocks are found (see [`Role`]).
    pub fn with_tokens(mut self, tokens: TokenLayout) -> Model {
        transformer::annotate(&self.proto, &mut self.taps, Some(&tokens));
        self.tokens = Some(tokens);
        self
    }

    /// Whether the model names classes (a "top-1" means something).
    pub fn is_classifier(&self) -> bool {
        !self.classes.is_empty()
    }

    /// What the model outputs, in words: the card's `output`, else
    /// "N classes" or "an unnamed output".
    pub fn output_description(&self) -> String {
        match (&self.output, self.classes.len()) {
            (Some(o), _) => o.clone(),
            (None, 0) => "output not described (the card names no classes)".into(),
            (None, n) => format!("classifier, {n} classes"),
        }
    }

    /// Run this model's probes on `backend` (tract by default).
    pub fn with_backend(mut self, backend: Backend) -> Result<Model> {
        if backend == Backend::Ort && !cfg!(feature = "ort") {
            return Err(engine::ort_missing());
        }
        #[cfg(feature = "ort")]
        if backend == Backend::Ort {
            // load onnxruntime now: a missing library is reported before anything runs
            engine::ort::environment(&self.path)?;
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

    /// Prepare an image for this model (channels, resize, crop); values stay
    /// in [0, 1].
    pub fn prepare(&self, image: &Image) -> Result<Image> {
        image.for_model(&self.preprocess, self.input.channels, self.input.height, self.input.width)
    }

    /// Compile a probe reading `taps` with `batch` frames per run, on this
    /// model's engine ([`Model::with_backend`]).
    pub fn probe(&self, taps: &[Tap], batch: usize) -> Result<Probe> {
        let batch = batch.max(1);
        for t in taps {
            t.check(&self.name)?;
        }
        let i = &self.input;
        let net = engine::compile(
            self.backend,
            &engine::NetSpec {
                proto: &self.proto,
                path: &self.path,
                model_name: &self.name,
                image_shape: [batch, i.channels, i.height, i.width],
                extra_inputs: vec![],
                taps,
            },
        )?;
        Ok(Probe {
            model_name: self.name.clone(),
            input: self.input.clone(),
            preprocess: self.preprocess.clone(),
            taps: taps.to_vec(),
            batch,
            net,
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
        let out = probe.run_raw(input)?;
        let logits = out.first().ok_or_else(|| Error::Data("model has no output".into()))?;
        let classes = logits.len() / n.max(1);
        Ok(logits.chunks(classes).map(|c| c.to_vec()).collect())
    }

    /// Class name of index `i` ("class i" when unknown).
    pub fn class_name(&self, i: usize) -> String {
        self.classes.get(i).cloned().unwrap_or_else(|| format!("class {i}"))
    }
}

impl Model {
    /// Find a tap by node name or tensor name; the error suggests close names.
    pub fn tap(&self, name: &str) -> Result<&TapInfo> {
        self.taps.iter().find(|t| t.name == name || t.tensor == name).ok_or_else(|| Error::UnknownTap {
            name: name.to_string(),
            model: self.name.clone(),
            suggestions: closest_names(name, self.taps.iter().map(|t| t.name.as_str()), 3),
        })
    }

    /// Select taps by a comma-separated list of selectors:
    /// `default` (every conv and activation output, and for a transformer
    /// its patch embedding and per block the attention output, the MLP
    /// activation and the block output; never a tap whose unit axis is
    /// unknown), `conv`, `act`, `all` (every float node output), `op:Type`,
    /// a node or tensor name, or a pattern with `*` and `?` wildcards.
    /// Transformer roles (models with a token layout, see [`Role`]): `embed`
    /// (patch embedding and embeddings), `attn` (attention outputs),
    /// `attn-probs` (attention probabilities), `mlp` (MLP activations),
    /// `resid` (residual stream after attention), `blocks` (block outputs).
    /// An empty selector means `default`. Results keep graph order, without
    /// duplicates.
    pub fn select_taps(&self, selectors: &str) -> Result<Vec<TapInfo>> {
        let sels: Vec<&str> = selectors.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        let sels = if sels.is_empty() { vec!["default"] } else { sels };
        let mut keep = vec![false; self.taps.len()];
        for sel in sels {
            let lower = sel.to_lowercase();
            let hits: Vec<usize> = match lower.as_str() {
                "default" => self.indices(|t| {
                    t.layout != TapLayout::Unknown
                        && (CONV_OPS.contains(&t.op.as_str())
                            || ACTIVATION_OPS.contains(&t.op.as_str())
                            || matches!(t.role, Some(Role::Attention(_) | Role::Mlp(_) | Role::Block(_))))
                }),
                "embed" | "attn" | "attn-probs" | "mlp" | "resid" | "blocks" => {
                    let v = self.indices(|t| {
                        matches!(
                            (lower.as_str(), t.role),
                            ("embed", Some(Role::PatchEmbedding | Role::Embeddings))
                                | ("attn", Some(Role::Attention(_)))
                                | ("attn-probs", Some(Role::AttentionProbs(_)))
                                | ("mlp", Some(Role::Mlp(_)))
                                | ("resid", Some(Role::Residual(_)))
                                | ("blocks", Some(Role::Block(_)))
                        )
                    });
                    if v.is_empty() {
                        return Err(Error::Config(match self.tokens {
                            None => format!(
                                "'{sel}' selects transformer taps, and {} has no token layout: give its card \"tokens\" (e.g. {{\"prefix\": 1, \"grid\": [16, 16]}}) or --tokens 1+16x16",
                                self.name
                            ),
                            Some(t) => format!(
                                "'{sel}' matches no tap of {} (token layout {t}): no transformer block of that shape was found; `freqtag inspect --all` lists every tap with its layout",
                                self.name
                            ),
                        }));
                    }
                    v
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
}

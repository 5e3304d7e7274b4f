//! Ablation and pruning: does a unit's score say how much the network needs
//! the unit?
//!
//! The paper proposes the tagged response as an importance measure for
//! pruning but shows no numbers; this module measures it (METHOD.md, "Does
//! the score mean anything?"). A *unit* is one channel of a tap, as
//! everywhere in freqtag.
//!
//! In: a [`Model`], the taps whose channels are the units, the [`Results`] of
//! a tagging experiment on *ranking* images, and an [`EvalSet`] of
//! *evaluation* images (labelled or not) that the ranking never saw.
//! Out, stage by stage:
//!
//! 1. **Ablation** ([`ablate`]): an edited ONNX model in which chosen units
//!    are silenced, in one of two [`Mode`]s —
//!    - [`Mode::ZeroWeights`]: zero the producing convolution's (or Gemm's)
//!      output channel, weights `W[c, …]` and bias `b[c]`. For a Conv/Gemm
//!      tap that is the tap itself. For an activation tap the walk goes back
//!      through activations that map an all-zero channel to zero (Relu,
//!      Clip with min ≤ 0 ≤ max — ReLU6 of a BN-folded conv —, LeakyRelu,
//!      HardSwish, …) to a single Conv/Gemm whose output feeds nothing else.
//!      It refuses, naming the node, when that does not hold: an Add (a
//!      residual sum passes the other branch through), a Pad, a
//!      BatchNormalization (BN(0) ≠ 0), Sigmoid (σ(0) = ½), a Clip whose range
//!      excludes 0, or a producer output that feeds other nodes too.
//!    - [`Mode::Mask`]: insert a `Mul` by a per-channel 0/1 initializer
//!      (`[1, C, 1, 1]`, or `[1, C]` for flat taps) after the tap and rewire
//!      its consumers; works after any tap.
//!
//!    [`Ablated::write`] exports the model as ONNX (with a model card beside
//!    it, so `freqtag run` takes it as is) and the masks as JSON and `.npy`.
//! 2. **Rankings** ([`Ranking`]) of the units of every tap and network-wide,
//!    by a [`Criterion`]: the freqtag scores `tagged_total`, `im`,
//!    `integration`, `authors_snr` (mean over the ranking images), and the
//!    baselines — L1 norm of the producing filter's weights (Li et al. 2017),
//!    mean activation magnitude and APoZ (Hu et al. 2016; both on the
//!    unmodulated ranking images, per position), random (seeded). Higher
//!    *importance* = more important; APoZ enters as `1 − APoZ`; a NaN score
//!    (a silent unit has no integration index) ranks last. Ties are broken by
//!    a seeded hash, so a ranking is deterministic for its seed.
//!    Network-wide, each tap's importances are divided by their root mean
//!    square first (layer-wise ℓ2 normalisation as in Molchanov et al. 2017,
//!    scaled by √C so that wide layers are not favoured): raw scores are on
//!    different scales in different layers.
//! 3. **Evaluation** ([`Evaluator`]): the network with a runtime 0/1 mask on
//!    every ranked tap (one compiled plan for every ablation, which gives the
//!    same outputs as zeroing the weights; tested), scored by [`Damage`] —
//!    top-1 accuracy against labels, top-1 agreement with the unablated
//!    network, and the mean KL divergence KL(p_unablated ‖ p_ablated) of the
//!    softmax outputs, in nats.
//! 4. **Deletion curves** ([`deletion_curves`]): remove the top-k (most
//!    important first) and the bottom-k (least important first) units of each
//!    ranking at increasing sparsity (k = round(s · units)), per tap and
//!    network-wide; random rankings give one curve per seed. [`areas`] gives
//!    the area under each curve, normalised by the sparsity range (so it is
//!    the metric's mean over sparsities 0 … s_max, trapezoid rule, the
//!    unablated point included); [`summarise`] collapses seeds to mean, sd,
//!    min, max; [`verdict`] states in plain words which ranking damages most
//!    when its top units go and least when its bottom units go.
//! 5. **Tables**: [`rankings_table`], [`curves_table`], [`areas_table`],
//!    [`summary_table`] (Polars), written as Parquet with the rest of a
//!    [`Study`] by [`Study::write`].
//!
//! ```no_run
//! use freqtag::ablation::{ablate, Ablation, Mode};
//! use freqtag::Model;
//! let model = Model::load("data/models/mnist_cnn.onnx")?;
//! let ablation = Ablation::new(Mode::ZeroWeights).silence("/conv_layers/conv_layers.1/Relu", [0, 5, 7]);
//! let ablated = ablate(&model, &ablation)?;
//! ablated.write("out/ablated".as_ref(), "mnist_cnn")?;
//! # Ok::<(), freqtag::Error>(())
//! ```

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use plotters::style::RGBColor;
use polars::prelude::{Column, DataFrame};
use prost::Message;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tract_onnx::pb::{self, GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto};

use crate::error::{Error, Result};
use crate::experiment::{Experiment, Results};
use crate::export::{write_atomic, write_bytes, write_parquet};
use crate::images::{digits_to_mnist, read_npy_f32, read_npy_labels, Image, Preprocess};
use crate::model::engine::{self, Input, Network};
use crate::model::probe::batched_logits;
use crate::model::{file_stem, InputSpec, Model, ModelCard, Reduction, Tap, TapInfo};
use crate::plots::{self, mean_finite, CurveBand, CurveLine, DeletionPlot, Figure};
use crate::stimulus::Design;

// ===========================================================================
// 1. Ablation: editing the ONNX graph
// ===========================================================================

/// How units are silenced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Zero the producing Conv/Gemm output channel (weights and bias).
    #[default]
    ZeroWeights,
    /// Multiply the tap's output by a per-channel 0/1 mask (a `Mul` node).
    Mask,
}

impl Mode {
    /// Parse `zero` / `zero-weights` or `mask`.
    pub fn parse(s: &str) -> Result<Mode> {
        match s.trim().to_lowercase().as_str() {
            "zero" | "zero-weights" | "weights" => Ok(Mode::ZeroWeights),
            "mask" => Ok(Mode::Mask),
            other => Err(Error::Config(format!("ablation mode '{other}' is not known; use 'zero' or 'mask'"))),
        }
    }
    /// The mode's name as written in files.
    pub fn name(self) -> &'static str {
        match self {
            Mode::ZeroWeights => "zero-weights",
            Mode::Mask => "mask",
        }
    }
}

/// The channels to silence in one tap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TapUnits {
    /// Tap (node or tensor name).
    pub tap: String,
    /// Channels (units) to silence.
    pub channels: Vec<usize>,
}

impl TapUnits {
    /// Parse `TAP:CHANNELS`, channels comma-separated, with inclusive ranges:
    /// `/conv/Conv:0,3,8-11`.
    pub fn parse(spec: &str) -> Result<TapUnits> {
        let (tap, list) = spec.rsplit_once(':').ok_or_else(|| {
            Error::Config(format!("unit spec '{spec}' should be TAP:CHANNELS, e.g. '/conv/Conv:0,3,8-11'"))
        })?;
        if tap.trim().is_empty() {
            return Err(Error::Config(format!("unit spec '{spec}' names no tap")));
        }
        let mut channels = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let num = |s: &str| {
                s.trim().parse::<usize>().map_err(|_| {
                    Error::Config(format!("unit spec '{spec}': '{item}' is not a channel number or range A-B"))
                })
            };
            match item.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (num(a)?, num(b)?);
                    if a > b {
                        return Err(Error::Config(format!("unit spec '{spec}': range '{item}' runs backwards")));
                    }
                    channels.extend(a..=b);
                }
                None => channels.push(num(item)?),
            }
        }
        if channels.is_empty() {
            return Err(Error::Config(format!("unit spec '{spec}' lists no channels")));
        }
        Ok(TapUnits { tap: tap.trim().to_string(), channels })
    }
}

/// Which units to silence, and how.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Ablation {
    /// How.
    pub mode: Mode,
    /// Which (per tap).
    pub units: Vec<TapUnits>,
}

impl Ablation {
    /// An empty ablation in `mode`.
    pub fn new(mode: Mode) -> Ablation {
        Ablation { mode, units: vec![] }
    }

    /// Add channels of a tap.
    pub fn silence(mut self, tap: &str, channels: impl IntoIterator<Item = usize>) -> Ablation {
        self.units.push(TapUnits { tap: tap.to_string(), channels: channels.into_iter().collect() });
        self
    }

    /// Read the `mask.json` written by [`Ablated::write`] (or by `freqtag
    /// prune`): its mode and, per tap, the `silenced` channels.
    pub fn from_mask_json(path: &Path) -> Result<Ablation> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("cannot read mask", path, e))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::Config(format!("mask {}: not JSON ({e})", path.display())))?;
        let bad = |what: &str| Error::Config(format!("mask {}: {what}", path.display()));
        let mode = match v.get("mode").and_then(|m| m.as_str()) {
            Some(m) => Mode::parse(m)?,
            None => Mode::default(),
        };
        let taps = v.get("taps").and_then(|t| t.as_array()).ok_or_else(|| bad("no 'taps' list"))?;
        let mut units = Vec::new();
        for t in taps {
            let tap = t.get("tap").and_then(|x| x.as_str()).ok_or_else(|| bad("a tap entry has no 'tap' name"))?;
            let silenced = t
                .get("silenced")
                .and_then(|x| x.as_array())
                .ok_or_else(|| bad(&format!("tap '{tap}' has no 'silenced' list")))?;
            let channels = silenced
                .iter()
                .map(|c| {
                    c.as_u64()
                        .map(|c| c as usize)
                        .ok_or_else(|| bad(&format!("tap '{tap}': channel {c} is not a number")))
                })
                .collect::<Result<Vec<_>>>()?;
            units.push(TapUnits { tap: tap.to_string(), channels });
        }
        Ok(Ablation { mode, units })
    }

    /// Check the ablation against a model: every tap exists (else
    /// [`Error::UnknownTap`] with the closest names), every channel is in
    /// range. Entries for the same tap are merged; channels sorted, unique.
    pub fn resolve(&self, model: &Model) -> Result<Vec<(TapInfo, Vec<usize>)>> {
        if self.units.is_empty() {
            return Err(Error::Config("nothing to ablate: no units given".into()));
        }
        let mut out: Vec<(TapInfo, Vec<usize>)> = Vec::new();
        for u in &self.units {
            let info = model.tap(&u.tap)?.clone();
            let c = info.channels();
            if let Some(&bad) = u.channels.iter().find(|&&ch| ch >= c) {
                return Err(Error::Config(format!(
                    "tap '{}' has {c} channels (0–{}); channel {bad} is out of range",
                    info.name,
                    c.saturating_sub(1)
                )));
            }
            match out.iter_mut().find(|(t, _)| t.name == info.name) {
                Some((_, chans)) => chans.extend(&u.channels),
                None => out.push((info, u.channels.clone())),
            }
        }
        for (_, chans) in &mut out {
            chans.sort_unstable();
            chans.dedup();
        }
        Ok(out)
    }
}

/// The Conv or Gemm whose output channel `c` is unit `c` of a tap.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Producer {
    /// The producing node's name.
    pub node: String,
    /// Its op type (`Conv` or `Gemm`).
    pub op: String,
    /// The weight initializer.
    pub weight: String,
    /// The bias initializer, when there is one to zero.
    pub bias: Option<String>,
    /// Axis of the weight that indexes output channels (0 for Conv and for
    /// Gemm with transB = 1, 1 for Gemm with transB = 0).
    pub channel_axis: usize,
    /// Activations between the producer and the tap (producer side last).
    pub through: Vec<String>,
    #[serde(skip)]
    node_index: usize,
}

/// Find the producer of a tap's channels, or say why zeroing weights would
/// not silence them (the error suggests the mask mode).
pub fn producer(model: &Model, tap: &str) -> Result<Producer> {
    let info = model.tap(tap)?;
    let g = GraphIndex::new(model.proto(), &model.path)?;
    resolve_producer(&g, info).map_err(|why| refusal(model, info, &why))
}

fn refusal(model: &Model, info: &TapInfo, why: &str) -> Error {
    Error::model(
        &model.path,
        format!(
            "cannot silence tap '{}' by zeroing weights: {why}; use the mask mode (--mode mask), which multiplies the tap's output by a 0/1 mask",
            info.name
        ),
    )
}

/// Who produces and who consumes each tensor of an ONNX graph.
struct GraphIndex<'a> {
    graph: &'a GraphProto,
    producer: HashMap<&'a str, usize>,
    consumers: HashMap<&'a str, Vec<usize>>,
    initializer: HashMap<&'a str, usize>,
    outputs: HashSet<&'a str>,
    opset: i64,
}

impl<'a> GraphIndex<'a> {
    fn new(proto: &'a ModelProto, path: &Path) -> Result<GraphIndex<'a>> {
        let graph = proto.graph.as_ref().ok_or_else(|| Error::model(path, "the ONNX file has no graph"))?;
        let mut producer = HashMap::new();
        let mut consumers: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, n) in graph.node.iter().enumerate() {
            for o in n.output.iter().filter(|o| !o.is_empty()) {
                producer.insert(o.as_str(), i);
            }
            for inp in n.input.iter().filter(|x| !x.is_empty()) {
                consumers.entry(inp.as_str()).or_default().push(i);
            }
        }
        let initializer = graph.initializer.iter().enumerate().map(|(i, t)| (t.name.as_str(), i)).collect();
        let outputs = graph.output.iter().map(|o| o.name.as_str()).collect();
        let opset = proto
            .opset_import
            .iter()
            .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
            .map(|o| o.version)
            .unwrap_or(13);
        Ok(GraphIndex { graph, producer, consumers, initializer, outputs, opset })
    }

    /// Values of a constant tensor: an initializer or a `Constant` node.
    fn constant(&self, name: &str) -> Option<Vec<f32>> {
        if let Some(&i) = self.initializer.get(name) {
            return tensor_f32(&self.graph.initializer[i]).ok();
        }
        let node = &self.graph.node[*self.producer.get(name)?];
        if node.op_type != "Constant" {
            return None;
        }
        node.attribute.iter().find_map(|a| match a.name.as_str() {
            "value" => a.t.as_ref().and_then(|t| tensor_f32(t).ok()),
            "value_float" => Some(vec![a.f]),
            _ => None,
        })
    }

    fn initializer_tensor(&self, name: &str) -> Option<&'a TensorProto> {
        self.initializer.get(name).map(|&i| &self.graph.initializer[i])
    }
}

/// A node's name, or its first output's for unnamed nodes (as taps are named).
fn node_label(node: &NodeProto) -> String {
    if node.name.is_empty() {
        node.output.first().cloned().unwrap_or_default()
    } else {
        node.name.clone()
    }
}

fn attr_int(node: &NodeProto, name: &str) -> Option<i64> {
    node.attribute.iter().find(|a| a.name == name).map(|a| a.i)
}

fn attr_float(node: &NodeProto, name: &str) -> Option<f32> {
    node.attribute.iter().find(|a| a.name == name).map(|a| a.f)
}

fn resolve_producer(g: &GraphIndex, info: &TapInfo) -> std::result::Result<Producer, String> {
    let mut through = Vec::new();
    let mut tensor = info.tensor.as_str();
    for _ in 0..32 {
        let &ni = g.producer.get(tensor).ok_or_else(|| format!("'{tensor}' is a graph input, not a node output"))?;
        let node = &g.graph.node[ni];
        let name = node_label(node);
        match node.op_type.as_str() {
            "Conv" | "Gemm" => return weights_of(g, ni, through, info.channels()),
            op => {
                keeps_zero(g, node)?;
                let input = node
                    .input
                    .first()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| format!("{op} '{name}' has no input"))?;
                if g.outputs.contains(input.as_str()) {
                    return Err(format!("the input of {op} '{name}' is also a graph output"));
                }
                let users = g.consumers.get(input.as_str()).map(Vec::len).unwrap_or(0);
                if users != 1 {
                    let src = g
                        .producer
                        .get(input.as_str())
                        .map(|&p| node_label(&g.graph.node[p]))
                        .unwrap_or_else(|| input.clone());
                    return Err(format!(
                        "the output of '{src}' feeds {users} nodes, not only {op} '{name}', so zeroing it would silence more than this tap"
                    ));
                }
                through.push(name);
                tensor = input;
            }
        }
    }
    Err("more than 32 activations in a row before a Conv or Gemm".into())
}

/// Whether an all-zero channel stays all-zero through `node` (elementwise,
/// f(0) = 0); the reason when not.
fn keeps_zero(g: &GraphIndex, node: &NodeProto) -> std::result::Result<(), String> {
    let name = node_label(node);
    let op = node.op_type.as_str();
    match op {
        "Relu" | "LeakyRelu" | "PRelu" | "Elu" | "Selu" | "Celu" | "Gelu" | "Mish" | "Tanh" | "HardSwish"
        | "ThresholdedRelu" | "Identity" => Ok(()),
        "Clip" => {
            let (lo, hi) = clip_bounds(g, node)?;
            if lo <= 0.0 && hi >= 0.0 {
                Ok(())
            } else {
                Err(format!("Clip '{name}' has range [{lo}, {hi}], so an all-zero input comes out as {}", if lo > 0.0 { lo } else { hi }))
            }
        }
        "Add" | "Sum" | "Sub" | "Concat" | "Mul" | "Div" => Err(format!(
            "'{name}' is {op}: it combines several inputs (a residual Add passes the other branch through), so zeroing one producer does not zero its output"
        )),
        "Pad" => Err(format!("'{name}' is a Pad: its widths and fill value decide what a zero channel becomes")),
        "BatchNormalization" => Err(format!(
            "'{name}' is a BatchNormalization: BN(0) = β − γμ/√(σ²+ε) is not zero; fold the batch norm into the convolution first"
        )),
        "Sigmoid" | "HardSigmoid" | "Softplus" => Err(format!("'{name}' is {op}, and {op}(0) ≠ 0")),
        _ => Err(format!("'{name}' is {op}, which is not known to map an all-zero channel to zero")),
    }
}

/// Clip's (min, max): attributes before opset 11, inputs 1 and 2 after.
fn clip_bounds(g: &GraphIndex, node: &NodeProto) -> std::result::Result<(f32, f32), String> {
    let name = node_label(node);
    if g.opset < 11 {
        return Ok((attr_float(node, "min").unwrap_or(f32::MIN), attr_float(node, "max").unwrap_or(f32::MAX)));
    }
    let bound = |i: usize, default: f32| match node.input.get(i).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(t) => g
            .constant(t)
            .and_then(|v| v.first().copied())
            .ok_or_else(|| format!("the bound '{t}' of Clip '{name}' is computed at run time, not a constant")),
    };
    Ok((bound(1, f32::NEG_INFINITY)?, bound(2, f32::INFINITY)?))
}

fn weights_of(
    g: &GraphIndex,
    ni: usize,
    through: Vec<String>,
    channels: usize,
) -> std::result::Result<Producer, String> {
    let node = &g.graph.node[ni];
    let name = node_label(node);
    let op = node.op_type.clone();
    let weight =
        node.input.get(1).filter(|s| !s.is_empty()).ok_or_else(|| format!("{op} '{name}' has no weight input"))?;
    let w = g
        .initializer_tensor(weight)
        .ok_or_else(|| format!("the weights '{weight}' of {op} '{name}' are computed at run time, not stored"))?;
    let channel_axis = if op == "Gemm" && attr_int(node, "transB").unwrap_or(0) == 0 { 1 } else { 0 };
    if op == "Gemm" && w.dims.len() != 2 {
        return Err(format!("the weights of Gemm '{name}' have shape {:?}, not 2-D", w.dims));
    }
    let have = w.dims.get(channel_axis).copied().unwrap_or(0);
    if have != channels as i64 {
        return Err(format!("{op} '{name}' has {have} output channels but the tap has {channels}"));
    }
    let mut bias = None;
    if let Some(b) = node.input.get(2).filter(|s| !s.is_empty()) {
        let bt = g
            .initializer_tensor(b)
            .ok_or_else(|| format!("the bias '{b}' of {op} '{name}' is computed at run time"))?;
        let n: i64 = bt.dims.iter().product();
        let beta = attr_float(node, "beta").unwrap_or(1.0);
        let per_channel = bt.dims.last() == Some(&(channels as i64)) && (op == "Conv" || bt.dims.len() <= 2);
        if per_channel {
            bias = Some(b.clone());
        } else if n == 1 || bt.dims.is_empty() {
            let v = tensor_f32(bt)?;
            if beta != 0.0 && v.iter().any(|&x| x != 0.0) {
                return Err(format!("the bias of {op} '{name}' is one value broadcast over all outputs, so a zeroed channel would still read {}", v[0] * beta));
            }
        } else {
            return Err(format!("the bias of {op} '{name}' has shape {:?}, not one value per output channel", bt.dims));
        }
    }
    Ok(Producer { node: name, op, weight: weight.clone(), bias, channel_axis, through, node_index: ni })
}

/// Flat indices of output channel `c` of a tensor of shape `dims` along `axis`
/// (0: leading axis, any rank; 1: columns of a matrix; for a bias of shape
/// `[rows, C]`, every row's column c).
fn channel_indices(dims: &[i64], axis: usize, c: usize) -> Vec<usize> {
    let d: Vec<usize> = dims.iter().map(|&x| x.max(0) as usize).collect();
    match (axis, d.len()) {
        (_, 0) => vec![0],
        (0, 1) => vec![c],
        (0, _) => {
            let block: usize = d[1..].iter().product();
            (c * block..(c + 1) * block).collect()
        }
        (_, _) => {
            let cols = d[d.len() - 1];
            let rows = d.iter().product::<usize>() / cols.max(1);
            (0..rows).map(|r| r * cols + c).collect()
        }
    }
}

/// Float32 values of an ONNX tensor (from `float_data` or little-endian
/// `raw_data`).
fn tensor_f32(t: &TensorProto) -> std::result::Result<Vec<f32>, String> {
    if t.data_location == Some(pb::tensor_proto::DataLocation::External as i32) {
        return Err(format!("tensor '{}' keeps its data in an external file", t.name));
    }
    if t.data_type != pb::tensor_proto::DataType::Float as i32 {
        return Err(format!("tensor '{}' is not float32 (ONNX data type {})", t.name, t.data_type));
    }
    let n = t.dims.iter().map(|&d| d.max(0) as usize).product::<usize>();
    let v: Vec<f32> = if t.raw_data.is_empty() {
        t.float_data.clone()
    } else {
        t.raw_data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
    };
    if v.len() != n {
        return Err(format!("tensor '{}' holds {} values for shape {:?}", t.name, v.len(), t.dims));
    }
    Ok(v)
}

/// Write values back in the storage the tensor used.
fn set_tensor_f32(t: &mut TensorProto, v: &[f32]) {
    if t.raw_data.is_empty() {
        t.float_data = v.to_vec();
    } else {
        t.raw_data = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    }
}

/// The index of the initializer feeding input `input` of node `ni`, copied
/// under a new name first if other nodes share it (so editing it touches
/// only this node).
fn private_initializer(graph: &mut GraphProto, ni: usize, input: usize) -> std::result::Result<usize, String> {
    let name = graph.node[ni].input[input].clone();
    let pos = graph
        .initializer
        .iter()
        .position(|t| t.name == name)
        .ok_or_else(|| format!("'{name}' is not an initializer"))?;
    let uses: usize = graph.node.iter().map(|n| n.input.iter().filter(|i| **i == name).count()).sum::<usize>()
        + graph.output.iter().filter(|o| o.name == name).count();
    if uses <= 1 {
        return Ok(pos);
    }
    let mut copy = graph.initializer[pos].clone();
    copy.name = format!("{name}.freqtag.{}", node_label(&graph.node[ni]));
    graph.node[ni].input[input] = copy.name.clone();
    graph.initializer.push(copy);
    Ok(graph.initializer.len() - 1)
}

/// Zero output channels `channels` of the producer's weights and bias.
fn zero_channels(graph: &mut GraphProto, p: &Producer, channels: &[usize]) -> std::result::Result<(), String> {
    let inputs: Vec<(usize, usize)> =
        std::iter::once((1, p.channel_axis)).chain(p.bias.as_ref().map(|_| (2, 1))).collect();
    for (input, axis) in inputs {
        let i = private_initializer(graph, p.node_index, input)?;
        let t = &mut graph.initializer[i];
        let mut v = tensor_f32(t)?;
        // a bias is [C] (axis 0 of rank 1) or [rows, C] (its last axis)
        let axis = if input == 2 && t.dims.len() == 1 { 0 } else { axis };
        for &c in channels {
            for k in channel_indices(&t.dims, axis, c) {
                v[k] = 0.0;
            }
        }
        set_tensor_f32(t, &v);
    }
    Ok(())
}

/// Per-channel L1 norms Σ|W[c, …]| of the producer's weights.
fn weight_l1(g: &GraphIndex, p: &Producer) -> std::result::Result<Vec<f64>, String> {
    let w = g.initializer_tensor(&p.weight).ok_or_else(|| format!("'{}' is not an initializer", p.weight))?;
    let v = tensor_f32(w)?;
    let c = w.dims.get(p.channel_axis).copied().unwrap_or(0).max(0) as usize;
    Ok((0..c)
        .map(|ch| channel_indices(&w.dims, p.channel_axis, ch).into_iter().map(|k| v[k].abs() as f64).sum())
        .collect())
}

/// Where a mask's values come from.
enum MaskSource<'a> {
    /// A constant initializer with these values.
    Constant(&'a [f32]),
    /// A graph input of that name, set at run time.
    Input(&'a str),
}

/// The name of the `Mul` node that [`Mode::Mask`] inserts after `tap`; it is
/// itself a tap of the ablated model (its output is the masked activation).
pub fn mask_node_name(tap: &str) -> String {
    format!("freqtag_mask:{tap}")
}

/// Insert `masked = tensor · mask` right after the tap's producer and make
/// every consumer (and a graph output of that name) read `masked`.
fn insert_mask(graph: &mut GraphProto, info: &TapInfo, source: MaskSource) -> std::result::Result<String, String> {
    let node_name = mask_node_name(&info.name);
    let masked = format!("{node_name}:out");
    let dims: Vec<i64> = std::iter::once(1)
        .chain(std::iter::once(info.channels() as i64))
        .chain(std::iter::repeat_n(1, info.shape.len().saturating_sub(1)))
        .collect();
    let mask_tensor = match source {
        MaskSource::Constant(values) => {
            let name = format!("{node_name}:values");
            graph.initializer.push(TensorProto {
                name: name.clone(),
                dims: dims.clone(),
                data_type: pb::tensor_proto::DataType::Float as i32,
                float_data: values.to_vec(),
                ..Default::default()
            });
            name
        }
        MaskSource::Input(name) => {
            graph.input.push(float_value_info(name, &dims));
            name.to_string()
        }
    };
    let at = graph
        .node
        .iter()
        .position(|n| n.output.contains(&info.tensor))
        .ok_or_else(|| format!("no node produces '{}'", info.tensor))?;
    for n in &mut graph.node {
        for i in n.input.iter_mut().filter(|i| **i == info.tensor) {
            *i = masked.clone();
        }
    }
    for o in graph.output.iter_mut().filter(|o| o.name == info.tensor) {
        o.name = masked.clone();
    }
    let mul = NodeProto {
        name: node_name.clone(),
        op_type: "Mul".into(),
        input: vec![info.tensor.clone(), mask_tensor],
        output: vec![masked],
        ..Default::default()
    };
    graph.node.insert(at + 1, mul);
    Ok(node_name)
}

fn float_value_info(name: &str, dims: &[i64]) -> ValueInfoProto {
    use pb::tensor_shape_proto::{dimension, Dimension};
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: pb::tensor_proto::DataType::Float as i32,
                shape: Some(pb::TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|&d| Dimension { value: Some(dimension::Value::DimValue(d)), ..Default::default() })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// One tap of an ablated model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SilencedTap {
    /// The tap (in the original model).
    pub tap: TapInfo,
    /// Its silenced channels, sorted.
    pub silenced: Vec<usize>,
    /// [`Mode::ZeroWeights`]: the Conv/Gemm that was edited.
    pub producer: Option<Producer>,
    /// [`Mode::Mask`]: the inserted `Mul` node (a tap of the ablated model).
    pub mask_node: Option<String>,
}

impl SilencedTap {
    /// The per-channel mask: 1 kept, 0 silenced.
    pub fn mask(&self) -> Vec<f32> {
        let mut m = vec![1f32; self.tap.channels()];
        for &c in &self.silenced {
            m[c] = 0.0;
        }
        m
    }
}

/// An ablated model and what was done to it.
#[derive(Clone, Debug)]
pub struct Ablated {
    /// The ablated model (runs like any other).
    pub model: Model,
    /// How the units were silenced.
    pub mode: Mode,
    /// Per tap.
    pub taps: Vec<SilencedTap>,
    /// The original model's file.
    pub source: PathBuf,
}

/// Silence the units of `ablation` in a copy of `model`. Errors name the
/// unknown tap, the channel out of range, or (zero mode) the node that makes
/// zeroing weights not silence the tap.
pub fn ablate(model: &Model, ablation: &Ablation) -> Result<Ablated> {
    let targets = ablation.resolve(model)?;
    let mut proto = model.proto().clone();
    let mut taps = Vec::with_capacity(targets.len());
    match ablation.mode {
        Mode::ZeroWeights => {
            let producers = {
                let g = GraphIndex::new(&proto, &model.path)?;
                targets
                    .iter()
                    .map(|(info, _)| resolve_producer(&g, info).map_err(|why| refusal(model, info, &why)))
                    .collect::<Result<Vec<_>>>()?
            };
            let graph = graph_mut(&mut proto, &model.path)?;
            for ((info, chans), p) in targets.into_iter().zip(producers) {
                zero_channels(graph, &p, &chans)
                    .map_err(|e| Error::model(&model.path, format!("tap '{}': {e}", info.name)))?;
                taps.push(SilencedTap { tap: info, silenced: chans, producer: Some(p), mask_node: None });
            }
        }
        Mode::Mask => {
            let graph = graph_mut(&mut proto, &model.path)?;
            for (info, chans) in targets {
                let mut t = SilencedTap { tap: info, silenced: chans, producer: None, mask_node: None };
                let values = t.mask();
                let node = insert_mask(graph, &t.tap, MaskSource::Constant(&values))
                    .map_err(|e| Error::model(&model.path, format!("tap '{}': {e}", t.tap.name)))?;
                t.mask_node = Some(node);
                taps.push(t);
            }
        }
    }
    let record = json!({"mode": ablation.mode.name(), "taps": taps.iter().map(|t| json!({"tap": t.tap.name, "silenced": t.silenced})).collect::<Vec<_>>()});
    proto.metadata_props.push(pb::StringStringEntryProto { key: "freqtag.ablation".into(), value: record.to_string() });
    let stem = model.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
    let path = model.path.with_file_name(format!("{stem}.ablated.onnx"));
    let mut ablated = Model::from_proto(
        proto,
        format!("{} (ablated)", model.name),
        path,
        model.input.clone(),
        model.preprocess.clone(),
    )?;
    ablated.classes = model.classes.clone();
    Ok(Ablated { model: ablated, mode: ablation.mode, taps, source: model.path.clone() })
}

fn graph_mut<'a>(proto: &'a mut ModelProto, path: &Path) -> Result<&'a mut GraphProto> {
    proto.graph.as_mut().ok_or_else(|| Error::model(path, "the ONNX file has no graph"))
}

impl Ablated {
    /// The ablated model as ONNX bytes.
    pub fn onnx_bytes(&self) -> Vec<u8> {
        self.model.proto().encode_to_vec()
    }

    /// The masks as JSON (read back by [`Ablation::from_mask_json`]).
    pub fn mask_json(&self) -> serde_json::Value {
        json!({
            "freqtag_version": env!("CARGO_PKG_VERSION"),
            "model": self.model.name,
            "source": self.source,
            "mode": self.mode.name(),
            "layout": "per tap: 'mask' has one value per channel (axis 1 of the tap's output): 1 kept, 0 silenced",
            "taps": self.taps.iter().map(|t| json!({
                "tap": t.tap.name,
                "tensor": t.tap.tensor,
                "op": t.tap.op,
                "shape": t.tap.shape,
                "channels": t.tap.channels(),
                "silenced": t.silenced,
                "mask": t.mask(),
                "mask_file": format!("masks/{}.npy", t.tap.file_stem()),
                "producer": t.producer,
                "mask_node": t.mask_node,
            })).collect::<Vec<_>>(),
        })
    }

    /// Write `<stem>.onnx`, `<stem>.card.json` (so `freqtag run --model
    /// DIR/<stem>.onnx` works), `mask.json` and `masks/<tap>.npy` (float32
    /// `[channels]`, 1 kept / 0 silenced) into `dir`, atomically. Returns the
    /// files written.
    pub fn write(&self, dir: &Path, stem: &str) -> Result<Vec<PathBuf>> {
        crate::export::prepare_dir(dir)?;
        let mut files = Vec::new();
        let onnx = dir.join(format!("{stem}.onnx"));
        write_bytes(&onnx, &self.onnx_bytes())?;
        files.push(onnx);
        let card = ModelCard {
            name: self.model.name.clone(),
            file: format!("{stem}.onnx"),
            input: self.model.input.clone(),
            preprocess: self.model.preprocess.clone(),
            classes_file: None,
            classes: (!self.model.classes.is_empty()).then(|| self.model.classes.clone()),
            source: Some(format!("{} with units silenced by freqtag ({})", self.source.display(), self.mode.name())),
            license: None,
        };
        let p = dir.join(format!("{stem}.card.json"));
        write_json(&p, &serde_json::to_value(&card).map_err(|e| Error::export(&p, e))?)?;
        files.push(p);
        let p = dir.join("mask.json");
        write_json(&p, &self.mask_json())?;
        files.push(p);
        for t in &self.taps {
            let p = dir.join("masks").join(format!("{}.npy", t.tap.file_stem()));
            write_npy_1d(&p, &t.mask())?;
            files.push(p);
        }
        Ok(files)
    }
}

fn write_json(path: &Path, v: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(v).map_err(|e| Error::export(path, e))?;
    write_bytes(path, text.as_bytes())
}

fn write_npy_1d(path: &Path, values: &[f32]) -> Result<()> {
    use ndarray_npy::WriteNpyExt;
    let arr = ndarray::ArrayView1::from(values);
    write_atomic(path, |f| {
        let mut w = std::io::BufWriter::new(f);
        arr.write_npy(&mut w).map_err(|e| Error::export(path, e))?;
        w.flush().map_err(|e| Error::io("cannot write", path, e))
    })
}

/// Refuse tap sets in which one tap's channels are another's: a Relu tap
/// and the Conv feeding it are the same units (ranking both would count
/// them twice). Taps without a producer are not checked.
pub fn check_distinct_units(model: &Model, taps: &[TapInfo]) -> Result<()> {
    let g = GraphIndex::new(model.proto(), &model.path)?;
    let names: HashSet<&str> = taps.iter().map(|t| t.name.as_str()).collect();
    for t in taps {
        if let Ok(p) = resolve_producer(&g, t) {
            for other in p.through.iter().skip(1).chain(std::iter::once(&p.node)) {
                if other != &t.name && names.contains(other.as_str()) {
                    return Err(Error::Config(format!(
                        "taps '{}' and '{other}' are the same units ('{}' is computed elementwise from '{other}'); select one of them",
                        t.name, t.name
                    )));
                }
            }
        }
    }
    Ok(())
}

// ===========================================================================
// 2. Rankings
// ===========================================================================

/// What a ranking ranks units by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// freqtag: Σ amplitude at each tag's fundamental and harmonics.
    TaggedTotal,
    /// freqtag: Σ amplitude at intermodulation components.
    Im,
    /// freqtag: im / (tagged_total + im).
    Integration,
    /// freqtag: the authors' score, mean neighbour-bin SNR at the fundamentals.
    AuthorsSnr,
    /// Baseline: L1 norm of the producing filter's weights (Li et al. 2017).
    L1,
    /// Baseline: mean |activation| over positions and images.
    Activation,
    /// Baseline: average percentage of zeros (Hu et al. 2016); importance 1 − APoZ.
    Apoz,
    /// Baseline: a seeded random order.
    Random,
}

impl Criterion {
    /// Every criterion, freqtag scores first.
    pub const ALL: [Criterion; 8] = [
        Criterion::TaggedTotal,
        Criterion::Im,
        Criterion::Integration,
        Criterion::AuthorsSnr,
        Criterion::L1,
        Criterion::Activation,
        Criterion::Apoz,
        Criterion::Random,
    ];

    /// The name used in tables (the score's column name for freqtag scores).
    pub fn name(self) -> &'static str {
        match self {
            Criterion::TaggedTotal => "tagged_total",
            Criterion::Im => "im",
            Criterion::Integration => "integration",
            Criterion::AuthorsSnr => "authors_snr",
            Criterion::L1 => "l1",
            Criterion::Activation => "activation",
            Criterion::Apoz => "apoz",
            Criterion::Random => "random",
        }
    }

    /// Parse a name.
    pub fn parse(s: &str) -> Result<Criterion> {
        let s = s.trim().to_lowercase().replace('-', "_");
        Criterion::ALL.into_iter().find(|c| c.name() == s).ok_or_else(|| {
            Error::Config(format!(
                "ranking criterion '{s}' is not known; use {}",
                Criterion::ALL.map(|c| c.name()).join(", ")
            ))
        })
    }

    /// A freqtag score (needs a tagging experiment).
    pub fn is_tagging(self) -> bool {
        matches!(self, Criterion::TaggedTotal | Criterion::Im | Criterion::Integration | Criterion::AuthorsSnr)
    }

    /// What the criterion measures, in a few words.
    pub fn describe(self) -> &'static str {
        match self {
            Criterion::TaggedTotal => {
                "freqtag: Σ amplitude at the tags' fundamentals and harmonics, mean over ranking images"
            }
            Criterion::Im => "freqtag: Σ amplitude at intermodulation components, mean over ranking images",
            Criterion::Integration => "freqtag: integration index im / (tagged + im), mean over ranking images",
            Criterion::AuthorsSnr => {
                "freqtag: the authors' mean SNR at the fundamentals (neighbours k±2…k±4), mean over ranking images"
            }
            Criterion::L1 => "baseline: L1 norm of the producing filter's weights (Li et al. 2017)",
            Criterion::Activation => "baseline: mean |activation| over positions and ranking images",
            Criterion::Apoz => {
                "baseline: average percentage of zeros of the output (Hu et al. 2016); importance 1 − APoZ"
            }
            Criterion::Random => "baseline: random order (seeded)",
        }
    }

    /// A fixed colour for plots.
    pub fn colour(self) -> RGBColor {
        match self {
            Criterion::TaggedTotal => RGBColor(31, 119, 180),
            Criterion::Im => RGBColor(214, 39, 40),
            Criterion::Integration => RGBColor(148, 103, 189),
            Criterion::AuthorsSnr => RGBColor(23, 190, 207),
            Criterion::L1 => RGBColor(255, 127, 14),
            Criterion::Activation => RGBColor(44, 160, 44),
            Criterion::Apoz => RGBColor(140, 86, 75),
            Criterion::Random => RGBColor(127, 127, 127),
        }
    }
}

/// The units of a set of taps, ordered by one criterion.
#[derive(Clone, Debug, PartialEq)]
pub struct Ranking {
    /// The criterion.
    pub criterion: Criterion,
    /// The seed of a random ranking.
    pub seed: Option<u64>,
    /// The taps, in graph order.
    pub taps: Vec<TapInfo>,
    /// Per tap, per unit: the criterion as measured (APoZ as a fraction).
    pub values: Vec<Vec<f64>>,
    /// Per tap, per unit: importance, higher = more important (NaN = least).
    pub importance: Vec<Vec<f64>>,
    /// Seed of the hash that breaks ties between equal importances.
    pub tie_seed: u64,
}

/// SplitMix64 finaliser: a fixed, portable hash.
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn unit_hash(seed: u64, tap: usize, unit: usize) -> u64 {
    splitmix(splitmix(splitmix(seed) ^ tap as u64) ^ unit as u64)
}

/// Descending, NaN last.
fn by_importance(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => b.total_cmp(&a),
    }
}

impl Ranking {
    /// A ranking from per-tap values and importances (checked for shape).
    pub fn new(
        criterion: Criterion,
        seed: Option<u64>,
        taps: &[TapInfo],
        values: Vec<Vec<f64>>,
        importance: Vec<Vec<f64>>,
        tie_seed: u64,
    ) -> Result<Ranking> {
        if values.len() != taps.len() || importance.len() != taps.len() {
            return Err(Error::Data(format!(
                "ranking {}: {} value rows for {} taps",
                criterion.name(),
                values.len(),
                taps.len()
            )));
        }
        for ((t, v), i) in taps.iter().zip(&values).zip(&importance) {
            if v.len() != t.channels() || i.len() != t.channels() {
                return Err(Error::Data(format!(
                    "ranking {}: tap '{}' has {} channels, got {} values",
                    criterion.name(),
                    t.name,
                    t.channels(),
                    v.len()
                )));
            }
        }
        Ok(Ranking { criterion, seed, taps: taps.to_vec(), values, importance, tie_seed })
    }

    /// "l1", "random (seed 3)".
    pub fn label(&self) -> String {
        match self.seed {
            Some(s) => format!("{} (seed {s})", self.criterion.name()),
            None => self.criterion.name().to_string(),
        }
    }

    /// Units in all taps.
    pub fn units(&self) -> usize {
        self.taps.iter().map(TapInfo::channels).sum()
    }

    /// Units of tap `t`, most important first.
    pub fn order_in_tap(&self, t: usize) -> Vec<usize> {
        let imp = &self.importance[t];
        let mut idx: Vec<usize> = (0..imp.len()).collect();
        idx.sort_by(|&a, &b| {
            by_importance(imp[a], imp[b]).then(unit_hash(self.tie_seed, t, a).cmp(&unit_hash(self.tie_seed, t, b)))
        });
        idx
    }

    /// Importances divided by their tap's root mean square (finite values).
    pub fn normalised(&self) -> Vec<Vec<f64>> {
        self.importance
            .iter()
            .map(|imp| {
                let finite: Vec<f64> = imp.iter().copied().filter(|v| v.is_finite()).collect();
                let rms = (finite.iter().map(|v| v * v).sum::<f64>() / finite.len().max(1) as f64).sqrt();
                imp.iter()
                    .map(|v| {
                        if rms > 0.0 {
                            v / rms
                        } else if v.is_nan() {
                            f64::NAN
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// (tap, unit) over all taps, most important first, by normalised importance.
    pub fn order_network(&self) -> Vec<(usize, usize)> {
        let norm = self.normalised();
        let mut idx: Vec<(usize, usize)> =
            norm.iter().enumerate().flat_map(|(t, v)| (0..v.len()).map(move |u| (t, u))).collect();
        idx.sort_by(|&(ta, ua), &(tb, ub)| {
            by_importance(norm[ta][ua], norm[tb][ub]).then(unit_hash(self.tie_seed, ta, ua).cmp(&unit_hash(
                self.tie_seed,
                tb,
                ub,
            )))
        });
        idx
    }
}

/// The four freqtag rankings from a tagging experiment: each unit's
/// `tagged_total`, `im`, `integration`, `authors_snr`, averaged over the
/// experiment's images (finite values only; NaN when none). The experiment
/// must have read every tap of `taps`.
pub fn tagging_rankings(
    results: &Results,
    taps: &[TapInfo],
    criteria: &[Criterion],
    tie_seed: u64,
) -> Result<Vec<Ranking>> {
    let first = results.images.first().ok_or_else(|| Error::Data("the tagging experiment has no images".into()))?;
    let index: Vec<usize> = taps
        .iter()
        .map(|t| {
            first
                .taps
                .iter()
                .position(|r| r.tap.info.name == t.name)
                .ok_or_else(|| Error::Data(format!("the tagging experiment did not read tap '{}'", t.name)))
        })
        .collect::<Result<_>>()?;
    let mut out = Vec::new();
    for &crit in criteria.iter().filter(|c| c.is_tagging()) {
        let pick = |s: &crate::metrics::UnitScores| match crit {
            Criterion::TaggedTotal => s.tagged_total,
            Criterion::Im => s.im,
            Criterion::Integration => s.integration,
            _ => s.authors_snr,
        };
        let values: Vec<Vec<f64>> = taps
            .iter()
            .zip(&index)
            .map(|(t, &ti)| {
                (0..t.channels())
                    .map(|u| mean_finite(results.images.iter().map(|img| pick(&img.taps[ti].scores[u]))))
                    .collect()
            })
            .collect();
        out.push(Ranking::new(crit, None, taps, values.clone(), values, tie_seed)?);
    }
    Ok(out)
}

/// The L1 ranking: Σ|W| of each unit's producing filter (see [`producer`]).
pub fn l1_ranking(model: &Model, taps: &[TapInfo], tie_seed: u64) -> Result<Ranking> {
    let g = GraphIndex::new(model.proto(), &model.path)?;
    let values = taps
        .iter()
        .map(|t| {
            let p = resolve_producer(&g, t).map_err(|why| {
                Error::model(
                    &model.path,
                    format!(
                        "no L1 ranking for tap '{}': {why} (leave l1 out of --criteria, or choose other taps)",
                        t.name
                    ),
                )
            })?;
            weight_l1(&g, &p).map_err(|e| Error::model(&model.path, format!("tap '{}': {e}", t.name)))
        })
        .collect::<Result<Vec<_>>>()?;
    Ranking::new(Criterion::L1, None, taps, values.clone(), values, tie_seed)
}

/// Per tap, per unit: statistics of the outputs over positions and images.
#[derive(Clone, Debug, PartialEq)]
pub struct ActivationStats {
    /// Mean |activation|.
    pub mean_abs: Vec<Vec<f64>>,
    /// Average percentage of zeros (APoZ, Hu et al. 2016) as a fraction:
    /// the share of outputs exactly 0.
    pub apoz: Vec<Vec<f64>>,
}

/// Mean |activation| and APoZ of every unit, over every position of the
/// unmodulated `images` (prepared for the model here). `progress(n)` is
/// called as images finish.
pub fn activation_stats(
    model: &Model,
    taps: &[TapInfo],
    images: &[Image],
    progress: &(dyn Fn(usize) + Sync),
) -> Result<ActivationStats> {
    if images.is_empty() {
        return Err(Error::Data("no ranking images for the activation statistics".into()));
    }
    let probe_taps: Vec<Tap> =
        taps.iter().map(|info| Tap { info: info.clone(), reduction: Reduction::PerPosition }).collect();
    let probe = model.probe(&probe_taps, 1)?;
    let mut abs_sum: Vec<Vec<f64>> = taps.iter().map(|t| vec![0.0; t.channels()]).collect();
    let mut zeros: Vec<Vec<f64>> = abs_sum.clone();
    // a few images at a time keeps the per-position outputs small
    for chunk in images.chunks(4) {
        let prepared = chunk.iter().map(|i| model.prepare(i)).collect::<Result<Vec<_>>>()?;
        let acts = probe.run(prepared.len(), |i, buf| buf.copy_from_slice(&prepared[i].data), |_| {})?;
        for (ti, a) in acts.iter().enumerate() {
            let pos = taps[ti].positions();
            for frame in a.data.chunks(a.units) {
                for (c, ch) in frame.chunks(pos).enumerate() {
                    abs_sum[ti][c] += ch.iter().map(|&x| x.abs() as f64).sum::<f64>();
                    zeros[ti][c] += ch.iter().filter(|&&x| x == 0.0).count() as f64;
                }
            }
        }
        progress(chunk.len());
    }
    let norm = |v: Vec<Vec<f64>>| -> Vec<Vec<f64>> {
        v.into_iter()
            .zip(taps)
            .map(|(row, t)| row.into_iter().map(|s| s / (t.positions() * images.len()) as f64).collect())
            .collect()
    };
    Ok(ActivationStats { mean_abs: norm(abs_sum), apoz: norm(zeros) })
}

/// The mean-activation and APoZ rankings from [`activation_stats`].
pub fn activation_rankings(taps: &[TapInfo], stats: ActivationStats, tie_seed: u64) -> Result<(Ranking, Ranking)> {
    let keep = stats.apoz.iter().map(|r| r.iter().map(|z| 1.0 - z).collect()).collect();
    Ok((
        Ranking::new(Criterion::Activation, None, taps, stats.mean_abs.clone(), stats.mean_abs, tie_seed)?,
        Ranking::new(Criterion::Apoz, None, taps, stats.apoz, keep, tie_seed)?,
    ))
}

/// A random ranking: each unit's importance is a uniform number in [0, 1)
/// hashed from (seed, tap, unit); the same seed gives the same order.
pub fn random_ranking(taps: &[TapInfo], seed: u64) -> Result<Ranking> {
    let values: Vec<Vec<f64>> = taps
        .iter()
        .enumerate()
        .map(|(t, info)| {
            (0..info.channels()).map(|u| (unit_hash(seed, t, u) >> 11) as f64 / (1u64 << 53) as f64).collect()
        })
        .collect();
    Ranking::new(Criterion::Random, Some(seed), taps, values.clone(), values, seed)
}

/// The tagging experiment behind the freqtag rankings: `design` on `taps`
/// (spatial mean), everything else default.
pub fn tagging_experiment(model: &Model, taps: &[TapInfo], design: Design) -> Result<Experiment> {
    let mut exp = Experiment::new(model.clone(), design)?;
    exp.taps = taps.iter().map(|info| Tap { info: info.clone(), reduction: Reduction::SpatialMean }).collect();
    Ok(exp)
}

// ===========================================================================
// 3. Evaluation
// ===========================================================================

/// Per tap, one value per channel: 1 kept, 0 silenced.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitMask {
    /// Per tap, per channel.
    pub values: Vec<Vec<f32>>,
}

impl UnitMask {
    /// Everything kept.
    pub fn ones(taps: &[TapInfo]) -> UnitMask {
        UnitMask { values: taps.iter().map(|t| vec![1.0; t.channels()]).collect() }
    }
    /// Silence unit `u` of tap `t`.
    pub fn silence(&mut self, t: usize, u: usize) {
        self.values[t][u] = 0.0;
    }
    /// Units silenced.
    pub fn silenced(&self) -> usize {
        self.values.iter().flatten().filter(|&&v| v == 0.0).count()
    }
}

/// The network with a runtime 0/1 mask after every one of a set of taps
/// (graph inputs named `freqtag_mask:<tap>:mask`), compiled once on the
/// model's engine ([`Model::with_backend`]): every ablation of these taps
/// runs on the same plan.
pub struct MaskedNet {
    model_name: String,
    input: InputSpec,
    preprocess: Preprocess,
    taps: Vec<TapInfo>,
    batch: usize,
    net: Box<dyn Network>,
}

impl MaskedNet {
    /// Compile `model` with masks after `taps`, `batch` images per run.
    pub fn new(model: &Model, taps: &[TapInfo], batch: usize) -> Result<MaskedNet> {
        let batch = batch.max(1);
        let mut proto = model.proto().clone();
        let graph = graph_mut(&mut proto, &model.path)?;
        let names: Vec<String> = taps.iter().map(|t| format!("{}:mask", mask_node_name(&t.name))).collect();
        for (t, name) in taps.iter().zip(&names) {
            insert_mask(graph, t, MaskSource::Input(name))
                .map_err(|e| Error::model(&model.path, format!("tap '{}': {e}", t.name)))?;
        }
        let i = &model.input;
        let net = engine::compile(
            model.backend(),
            &engine::NetSpec {
                proto: &proto,
                path: &model.path,
                model_name: &model.name,
                image_shape: [batch, i.channels, i.height, i.width],
                extra_inputs: names.iter().cloned().zip(taps.iter().map(mask_dims)).collect(),
                taps: &[],
            },
        )
        .map_err(|e| match e {
            Error::Model { path, message, source } => {
                Error::Model { path, message: format!("the masked network: {message}"), source }
            }
            other => other,
        })?;
        Ok(MaskedNet {
            model_name: model.name.clone(),
            input: model.input.clone(),
            preprocess: model.preprocess.clone(),
            taps: taps.to_vec(),
            batch,
            net,
        })
    }

    /// The masked taps.
    pub fn taps(&self) -> &[TapInfo] {
        &self.taps
    }

    /// Logits (first output) of prepared images under `mask`; one row per
    /// image. Batches run in parallel.
    pub fn logits(&self, images: &[Image], mask: &UnitMask) -> Result<Vec<Vec<f32>>> {
        if mask.values.len() != self.taps.len()
            || mask.values.iter().zip(&self.taps).any(|(v, t)| v.len() != t.channels())
        {
            return Err(Error::Data(format!("mask does not fit the {} masked taps", self.taps.len())));
        }
        let dims: Vec<Vec<usize>> = self.taps.iter().map(mask_dims).collect();
        let masks: Vec<Input<'_>> = dims.iter().zip(&mask.values).map(|(d, v)| Input { shape: d, data: v }).collect();
        batched_logits(self.net.as_ref(), &self.model_name, &self.input, &self.preprocess, self.batch, images, &masks)
    }
}

fn mask_dims(t: &TapInfo) -> Vec<usize> {
    std::iter::once(1)
        .chain(std::iter::once(t.channels()))
        .chain(std::iter::repeat_n(1, t.shape.len().saturating_sub(1)))
        .collect()
}

/// Index of the largest value (the first one on ties).
pub fn argmax(v: &[f32]) -> usize {
    v.iter().enumerate().fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &x)| if x > bv { (i, x) } else { (bi, bv) }).0
}

/// Share of rows whose arg-max is the label.
pub fn accuracy(logits: &[Vec<f32>], labels: &[u32]) -> f64 {
    let hits = logits.iter().zip(labels).filter(|(l, &y)| argmax(l) == y as usize).count();
    hits as f64 / logits.len().max(1) as f64
}

/// Share of rows whose arg-max is the same in both.
pub fn top1_agreement(base: &[Vec<f32>], other: &[Vec<f32>]) -> f64 {
    let same = base.iter().zip(other).filter(|(a, b)| argmax(a) == argmax(b)).count();
    same as f64 / base.len().max(1) as f64
}

fn log_softmax(l: &[f32]) -> Vec<f64> {
    let m = l.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let lse = m + l.iter().map(|&x| (x as f64 - m).exp()).sum::<f64>().ln();
    l.iter().map(|&x| x as f64 - lse).collect()
}

/// Mean over rows of KL(softmax(base) ‖ softmax(other)) = Σ p (ln p − ln q),
/// in nats.
pub fn mean_kl(base: &[Vec<f32>], other: &[Vec<f32>]) -> f64 {
    let total: f64 = base
        .iter()
        .zip(other)
        .map(|(a, b)| {
            let (lp, lq) = (log_softmax(a), log_softmax(b));
            lp.iter().zip(&lq).map(|(p, q)| p.exp() * (p - q)).sum::<f64>()
        })
        .sum();
    total / base.len().max(1) as f64
}

/// Area under y(x) by the trapezoid rule, divided by the x range: the mean
/// of y over [x_first, x_last]. NaN for fewer than two points or any NaN y.
pub fn auc(x: &[f64], y: &[f64]) -> f64 {
    if x.len() < 2 || x.len() != y.len() {
        return f64::NAN;
    }
    let area: f64 = x.windows(2).zip(y.windows(2)).map(|(xs, ys)| (xs[1] - xs[0]) * (ys[0] + ys[1]) / 2.0).sum();
    let span = x[x.len() - 1] - x[0];
    if span > 0.0 {
        area / span
    } else {
        f64::NAN
    }
}

/// How much an ablation hurts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Damage {
    /// Top-1 accuracy against the labels (NaN without labels).
    pub accuracy: f64,
    /// Share of images whose top-1 class is the unablated network's.
    pub agreement: f64,
    /// Mean KL(p_unablated ‖ p_ablated) of the softmax outputs (nats).
    pub kl: f64,
}

/// Evaluation images (prepared for the model), with labels when known.
#[derive(Clone, Debug)]
pub struct EvalSet {
    /// What the images are.
    pub description: String,
    /// Model-sized images in [0, 1].
    pub images: Vec<Image>,
    /// Class indices, one per image.
    pub labels: Option<Vec<u32>>,
}

impl EvalSet {
    /// Prepare `images` for `model`; `labels` (if any) must match them.
    pub fn new(
        model: &Model,
        description: impl Into<String>,
        images: &[Image],
        labels: Option<Vec<u32>>,
    ) -> Result<EvalSet> {
        if images.is_empty() {
            return Err(Error::Data("the evaluation set has no images".into()));
        }
        if let Some(l) = &labels {
            if l.len() != images.len() {
                return Err(Error::Data(format!("{} labels for {} evaluation images", l.len(), images.len())));
            }
        }
        let images = images.iter().map(|i| model.prepare(i)).collect::<Result<Vec<_>>>()?;
        Ok(EvalSet { description: description.into(), images, labels })
    }
}

/// Scores ablations of a set of taps on an evaluation set against the
/// unablated network.
pub struct Evaluator {
    net: MaskedNet,
    set: EvalSet,
    base: Vec<Vec<f32>>,
}

impl Evaluator {
    /// Compile the masked network and run the unablated one once.
    pub fn new(model: &Model, taps: &[TapInfo], set: EvalSet, batch: usize) -> Result<Evaluator> {
        let net = MaskedNet::new(model, taps, batch)?;
        let base = net.logits(&set.images, &UnitMask::ones(taps))?;
        Ok(Evaluator { net, set, base })
    }
    /// The evaluation set.
    pub fn set(&self) -> &EvalSet {
        &self.set
    }
    /// The unablated network's logits.
    pub fn base_logits(&self) -> &[Vec<f32>] {
        &self.base
    }
    /// The taps.
    pub fn taps(&self) -> &[TapInfo] {
        self.net.taps()
    }
    /// The unablated network's scores (agreement 1, KL 0).
    pub fn base(&self) -> Damage {
        self.score(&self.base)
    }
    /// Logits under `mask`.
    pub fn logits(&self, mask: &UnitMask) -> Result<Vec<Vec<f32>>> {
        self.net.logits(&self.set.images, mask)
    }
    /// Scores under `mask`.
    pub fn damage(&self, mask: &UnitMask) -> Result<Damage> {
        Ok(self.score(&self.logits(mask)?))
    }
    fn score(&self, logits: &[Vec<f32>]) -> Damage {
        Damage {
            accuracy: self.set.labels.as_ref().map(|l| accuracy(logits, l)).unwrap_or(f64::NAN),
            agreement: top1_agreement(&self.base, logits),
            kl: mean_kl(&self.base, logits),
        }
    }
}

// ===========================================================================
// 4. Deletion curves, areas, verdict
// ===========================================================================

/// Which units go first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Most important first.
    Top,
    /// Least important first.
    Bottom,
    /// A random ranking's order (top and bottom alike).
    Random,
}

impl Direction {
    /// "top", "bottom", "random".
    pub fn name(self) -> &'static str {
        match self {
            Direction::Top => "top",
            Direction::Bottom => "bottom",
            Direction::Random => "random",
        }
    }
}

/// Where the curves are measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CurvePlan {
    /// Sparsities (fractions of the units removed) network-wide; empty: none.
    pub network: Vec<f64>,
    /// Taps (indices into the ranked taps) with per-layer curves.
    pub per_tap: Vec<usize>,
    /// Sparsities within a tap.
    pub layer: Vec<f64>,
}

impl CurvePlan {
    /// Check sparsities (0 < s ≤ 1, ascending, unique) and tap indices.
    pub fn validate(&self, taps: usize) -> Result<()> {
        for (what, s) in [("network", &self.network), ("per-layer", &self.layer)] {
            if let Some(bad) = s.iter().find(|v| !(v.is_finite() && **v > 0.0 && **v <= 1.0)) {
                return Err(Error::Config(format!("{what} sparsity {bad} is not in (0, 1]")));
            }
            if s.windows(2).any(|w| w[1] <= w[0]) {
                return Err(Error::Config(format!("{what} sparsities {s:?} must increase")));
            }
        }
        if let Some(bad) = self.per_tap.iter().find(|&&t| t >= taps) {
            return Err(Error::Config(format!("per-layer tap index {bad} is out of range (there are {taps} taps)")));
        }
        if !self.per_tap.is_empty() && self.layer.is_empty() {
            return Err(Error::Config("per-layer curves need per-layer sparsities".into()));
        }
        Ok(())
    }

    /// Network evaluations for rankings by `criteria` (random once per
    /// seed, the others top and bottom) under this plan.
    pub fn evaluations(&self, criteria: &[Criterion], seeds: usize) -> usize {
        let curves: usize = criteria.iter().map(|&c| if c == Criterion::Random { seeds } else { 2 }).sum();
        curves * (self.network.len() + self.per_tap.len() * self.layer.len())
    }
}

/// The name of the network-wide scope in tables.
pub const NETWORK: &str = "network";

/// One point of a deletion curve.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CurvePoint {
    /// [`NETWORK`] or the tap's name.
    pub scope: String,
    /// Units in the scope.
    pub units: usize,
    /// The ranking's criterion.
    pub criterion: Criterion,
    /// The ranking's seed (random).
    pub seed: Option<u64>,
    /// Which units went first.
    pub direction: Direction,
    /// Requested fraction removed (0 = unablated).
    pub sparsity: f64,
    /// Units removed (round(sparsity · units)).
    pub removed: usize,
    /// The damage.
    pub damage: Damage,
}

/// Measure deletion curves: for every ranking (top and bottom; random
/// rankings once), every scope of the plan and every sparsity, silence the
/// first k units of the order and score the network. Every curve starts with
/// the unablated point (sparsity 0). `progress()` is called after each
/// network evaluation.
pub fn deletion_curves(
    eval: &Evaluator,
    rankings: &[Ranking],
    plan: &CurvePlan,
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<CurvePoint>> {
    let taps = eval.taps();
    plan.validate(taps.len())?;
    for r in rankings {
        if r.taps.len() != taps.len() || r.taps.iter().zip(taps).any(|(a, b)| a.name != b.name) {
            return Err(Error::Data(format!("ranking {} is over other taps than the evaluator", r.label())));
        }
    }
    let base = eval.base();
    let mut points = Vec::new();
    let mut scopes: Vec<(String, Option<usize>, &[f64])> = Vec::new();
    if !plan.network.is_empty() {
        scopes.push((NETWORK.to_string(), None, &plan.network));
    }
    for &t in &plan.per_tap {
        scopes.push((taps[t].name.clone(), Some(t), &plan.layer));
    }
    for (scope, tap, sparsities) in &scopes {
        for r in rankings {
            let order: Vec<(usize, usize)> = match tap {
                None => r.order_network(),
                Some(t) => r.order_in_tap(*t).into_iter().map(|u| (*t, u)).collect(),
            };
            let n = order.len();
            let directions: &[Direction] = if r.criterion == Criterion::Random {
                &[Direction::Random]
            } else {
                &[Direction::Top, Direction::Bottom]
            };
            for &direction in directions {
                let point = |sparsity: f64, removed: usize, damage: Damage| CurvePoint {
                    scope: scope.clone(),
                    units: n,
                    criterion: r.criterion,
                    seed: r.seed,
                    direction,
                    sparsity,
                    removed,
                    damage,
                };
                points.push(point(0.0, 0, base));
                for &s in sparsities.iter() {
                    let k = ((s * n as f64).round() as usize).min(n);
                    let mut mask = UnitMask::ones(taps);
                    let chosen: Box<dyn Iterator<Item = &(usize, usize)>> = if direction == Direction::Bottom {
                        Box::new(order.iter().rev())
                    } else {
                        Box::new(order.iter())
                    };
                    for &(t, u) in chosen.take(k) {
                        mask.silence(t, u);
                    }
                    points.push(point(s, k, eval.damage(&mask)?));
                    progress();
                }
            }
        }
    }
    Ok(points)
}

/// The area under one deletion curve (mean of each metric over the
/// sparsity range, see [`auc`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Area {
    /// Scope ([`NETWORK`] or a tap).
    pub scope: String,
    /// Units in the scope.
    pub units: usize,
    /// Criterion.
    pub criterion: Criterion,
    /// Seed (random).
    pub seed: Option<u64>,
    /// Direction.
    pub direction: Direction,
    /// The largest sparsity of the curve.
    pub max_sparsity: f64,
    /// Area under accuracy (NaN without labels).
    pub accuracy: f64,
    /// Area under top-1 agreement.
    pub agreement: f64,
    /// Area under mean KL (nats).
    pub kl: f64,
}

/// Areas under every curve in `points` (grouped by scope, criterion, seed,
/// direction, in order of first appearance).
pub fn areas(points: &[CurvePoint]) -> Vec<Area> {
    let mut keys: Vec<(&str, Criterion, Option<u64>, Direction)> = Vec::new();
    for p in points {
        let k = (p.scope.as_str(), p.criterion, p.seed, p.direction);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys.into_iter()
        .map(|(scope, criterion, seed, direction)| {
            let mut curve: Vec<&CurvePoint> = points
                .iter()
                .filter(|p| p.scope == scope && p.criterion == criterion && p.seed == seed && p.direction == direction)
                .collect();
            curve.sort_by(|a, b| a.sparsity.total_cmp(&b.sparsity));
            let x: Vec<f64> = curve.iter().map(|p| p.sparsity).collect();
            let under = |f: fn(&Damage) -> f64| auc(&x, &curve.iter().map(|p| f(&p.damage)).collect::<Vec<_>>());
            Area {
                scope: scope.to_string(),
                units: curve[0].units,
                criterion,
                seed,
                direction,
                max_sparsity: x.last().copied().unwrap_or(0.0),
                accuracy: under(|d| d.accuracy),
                agreement: under(|d| d.agreement),
                kl: under(|d| d.kl),
            }
        })
        .collect()
}

/// Mean, sample standard deviation, min and max.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Stat {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (0 for one value).
    pub sd: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
}

impl Stat {
    /// For a table cell: "mean ± sd" over `curves` > 1 curves, else the
    /// mean; "–" when undefined (e.g. accuracy without labels).
    pub fn cell(self, curves: usize) -> String {
        if !self.mean.is_finite() {
            "–".to_string()
        } else if curves > 1 {
            format!("{:.3} ± {:.3}", self.mean, self.sd)
        } else {
            format!("{:.3}", self.mean)
        }
    }

    /// Of a set of values.
    pub fn of(v: &[f64]) -> Stat {
        let n = v.len().max(1) as f64;
        let mean = v.iter().sum::<f64>() / n;
        let sd = if v.len() > 1 { (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() } else { 0.0 };
        Stat {
            mean,
            sd,
            min: v.iter().copied().fold(f64::INFINITY, f64::min),
            max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

/// Areas of one (scope, criterion, direction) over seeds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AreaSummary {
    /// Scope.
    pub scope: String,
    /// Units in the scope.
    pub units: usize,
    /// Criterion.
    pub criterion: Criterion,
    /// Direction.
    pub direction: Direction,
    /// Curves (seeds) summarised.
    pub curves: usize,
    /// The largest sparsity.
    pub max_sparsity: f64,
    /// Area under accuracy.
    pub accuracy: Stat,
    /// Area under agreement.
    pub agreement: Stat,
    /// Area under KL.
    pub kl: Stat,
}

/// Collapse the seeds of each (scope, criterion, direction).
pub fn summarise(areas: &[Area]) -> Vec<AreaSummary> {
    let mut keys: Vec<(&str, Criterion, Direction)> = Vec::new();
    for a in areas {
        let k = (a.scope.as_str(), a.criterion, a.direction);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys.into_iter()
        .map(|(scope, criterion, direction)| {
            let group: Vec<&Area> = areas
                .iter()
                .filter(|a| a.scope == scope && a.criterion == criterion && a.direction == direction)
                .collect();
            let stat = |f: fn(&Area) -> f64| Stat::of(&group.iter().map(|a| f(a)).collect::<Vec<_>>());
            AreaSummary {
                scope: scope.to_string(),
                units: group[0].units,
                criterion,
                direction,
                curves: group.len(),
                max_sparsity: group[0].max_sparsity,
                accuracy: stat(|a| a.accuracy),
                agreement: stat(|a| a.agreement),
                kl: stat(|a| a.kl),
            }
        })
        .collect()
}

/// Plain statements, one per scope: which ranking damages most when its top
/// units go and least when its bottom units go, against random (mean ± sd
/// over seeds; "beyond random" means beyond every seed), and how well each
/// ranking separates (area after bottom removal − area after top removal). The main metric is accuracy when there are labels, else top-1
/// agreement; higher area = less damage. Generated from the numbers.
pub fn verdict(summary: &[AreaSummary]) -> Vec<String> {
    let mut scopes: Vec<&str> = Vec::new();
    for s in summary {
        if !scopes.contains(&s.scope.as_str()) {
            scopes.push(&s.scope);
        }
    }
    let mut out = Vec::new();
    for scope in scopes {
        let rows: Vec<&AreaSummary> = summary.iter().filter(|s| s.scope == scope).collect();
        let labelled = rows.iter().all(|r| r.accuracy.mean.is_finite());
        let (metric, get): (&str, fn(&AreaSummary) -> f64) =
            if labelled { ("accuracy", |s| s.accuracy.mean) } else { ("top-1 agreement", |s| s.agreement.mean) };
        let pick = |d: Direction| -> Vec<&AreaSummary> {
            let mut v: Vec<&AreaSummary> = rows.iter().copied().filter(|r| r.direction == d).collect();
            v.sort_by(|a, b| get(a).total_cmp(&get(b)));
            v
        };
        let (top, bottom, random) =
            (pick(Direction::Top), pick(Direction::Bottom), rows.iter().find(|r| r.direction == Direction::Random));
        let Some(first) = rows.first() else { continue };
        let where_ = if scope == NETWORK {
            format!("Network-wide ({} units)", first.units)
        } else {
            format!("Tap {scope} ({} units)", first.units)
        };
        let mut s =
            format!("{where_}, {metric} averaged over sparsity 0–{} (higher = less damage): ", first.max_sparsity);
        let extremes = |v: &[&AreaSummary], lead: &str| match (v.first(), v.last()) {
            (Some(most), Some(least)) => format!(
                "{lead} damages most with {} ({:.3}) and least with {} ({:.3})",
                most.criterion.name(),
                get(most),
                least.criterion.name(),
                get(least)
            ),
            _ => String::new(),
        };
        s += &extremes(&top, "removing the top-ranked units");
        if let Some(r) = random {
            let st = if labelled { r.accuracy } else { r.agreement };
            s += &format!("; random removal gives {:.3} ± {:.3} (sd over {} seeds)", st.mean, st.sd, r.curves);
        }
        s += &extremes(&bottom, "; removing the bottom-ranked units");
        // separation: area(bottom) − area(top); > 0 when the ranking orders units by what the network needs
        let mut sep: Vec<(Criterion, f64)> = top
            .iter()
            .filter_map(|t| bottom.iter().find(|b| b.criterion == t.criterion).map(|b| (t.criterion, get(b) - get(t))))
            .collect();
        sep.sort_by(|a, b| b.1.total_cmp(&a.1));
        if !sep.is_empty() {
            s += &format!(
                ". Separation (bottom − top area; 0 = no better than chance): {}",
                sep.iter().map(|(c, v)| format!("{} {v:+.3}", c.name())).collect::<Vec<_>>().join(", ")
            );
        }
        if let Some(r) = random {
            let st = if labelled { r.accuracy } else { r.agreement };
            let names = |v: Vec<&&AreaSummary>| {
                if v.is_empty() {
                    "none".to_string()
                } else {
                    v.iter().map(|t| t.criterion.name()).collect::<Vec<_>>().join(", ")
                }
            };
            s += &format!(
                ". Top removal more damaging than every random seed: {}; bottom removal less damaging than every random seed: {}",
                names(top.iter().filter(|t| get(t) < st.min).collect()),
                names(bottom.iter().filter(|b| get(b) > st.max).collect())
            );
            let odd: Vec<&&AreaSummary> = top.iter().filter(|t| get(t) > st.max).collect();
            if !odd.is_empty() {
                s += &format!(
                    "; top removal less damaging than every random seed (the ranking is inverted): {}",
                    names(odd)
                );
            }
        }
        if !labelled {
            let mut by_kl: Vec<&AreaSummary> = rows.iter().copied().filter(|r| r.direction == Direction::Top).collect();
            by_kl.sort_by(|a, b| b.kl.mean.total_cmp(&a.kl.mean));
            if let Some(k) = by_kl.first() {
                s += &format!(". By mean KL divergence the top removal of {} shifts the output most ({:.3} nats averaged over sparsity)", k.criterion.name(), k.kl.mean);
            }
        }
        s.push('.');
        out.push(s);
    }
    out
}

// ===========================================================================
// 5. Tables
// ===========================================================================

fn pl(e: polars::prelude::PolarsError) -> Error {
    Error::Data(format!("table: {e}"))
}

fn frame(cols: Vec<Column>) -> Result<DataFrame> {
    let height = cols.first().map(|c| c.len()).unwrap_or(0);
    DataFrame::new(height, cols).map_err(pl)
}

/// One row per (ranking, tap, unit): `ranking`, `seed` (random only), `tap`,
/// `op`, `depth`, `unit`, `value` (as measured), `importance`,
/// `normalised` (÷ the tap's RMS), `rank_in_tap` and `rank_network`
/// (0 = most important).
pub fn rankings_table(rankings: &[Ranking]) -> Result<DataFrame> {
    let (mut name, mut seed, mut tap, mut op, mut depth, mut unit) = (vec![], vec![], vec![], vec![], vec![], vec![]);
    let (mut value, mut importance, mut normalised, mut rank_tap, mut rank_net) =
        (vec![], vec![], vec![], vec![], vec![]);
    for r in rankings {
        let norm = r.normalised();
        let mut net = vec![Vec::new(); r.taps.len()];
        for (t, v) in net.iter_mut().enumerate() {
            *v = vec![0u32; r.taps[t].channels()];
        }
        for (k, (t, u)) in r.order_network().into_iter().enumerate() {
            net[t][u] = k as u32;
        }
        for (t, info) in r.taps.iter().enumerate() {
            let mut in_tap = vec![0u32; info.channels()];
            for (k, u) in r.order_in_tap(t).into_iter().enumerate() {
                in_tap[u] = k as u32;
            }
            for u in 0..info.channels() {
                name.push(r.criterion.name());
                seed.push(r.seed);
                tap.push(info.name.clone());
                op.push(info.op.clone());
                depth.push(info.depth as u32);
                unit.push(u as u32);
                value.push(r.values[t][u]);
                importance.push(r.importance[t][u]);
                normalised.push(norm[t][u]);
                rank_tap.push(in_tap[u]);
                rank_net.push(net[t][u]);
            }
        }
    }
    frame(vec![
        Column::new("ranking".into(), name),
        Column::new("seed".into(), seed),
        Column::new("tap".into(), tap),
        Column::new("op".into(), op),
        Column::new("depth".into(), depth),
        Column::new("unit".into(), unit),
        Column::new("value".into(), value),
        Column::new("importance".into(), importance),
        Column::new("normalised".into(), normalised),
        Column::new("rank_in_tap".into(), rank_tap),
        Column::new("rank_network".into(), rank_net),
    ])
}

/// The columns that name a curve: `scope`, `units`, `ranking`, `seed`,
/// `direction`.
fn curve_columns<T>(rows: &[T], key: impl Fn(&T) -> (&str, usize, Criterion, Option<u64>, Direction)) -> Vec<Column> {
    let keys: Vec<_> = rows.iter().map(key).collect();
    vec![
        Column::new("scope".into(), keys.iter().map(|k| k.0).collect::<Vec<_>>()),
        Column::new("units".into(), keys.iter().map(|k| k.1 as u32).collect::<Vec<_>>()),
        Column::new("ranking".into(), keys.iter().map(|k| k.2.name()).collect::<Vec<_>>()),
        Column::new("seed".into(), keys.iter().map(|k| k.3).collect::<Vec<_>>()),
        Column::new("direction".into(), keys.iter().map(|k| k.4.name()).collect::<Vec<_>>()),
    ]
}

/// A float column of `rows`.
fn float_column<T>(name: &str, rows: &[T], f: impl Fn(&T) -> f64) -> Column {
    Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>())
}

/// One row per curve point: `scope`, `units`, `ranking`, `seed`,
/// `direction`, `sparsity`, `removed`, `accuracy`, `agreement`, `kl`.
pub fn curves_table(points: &[CurvePoint]) -> Result<DataFrame> {
    let mut cols = curve_columns(points, |p| (p.scope.as_str(), p.units, p.criterion, p.seed, p.direction));
    cols.push(float_column("sparsity", points, |p| p.sparsity));
    cols.push(Column::new("removed".into(), points.iter().map(|p| p.removed as u32).collect::<Vec<_>>()));
    cols.push(float_column("accuracy", points, |p| p.damage.accuracy));
    cols.push(float_column("agreement", points, |p| p.damage.agreement));
    cols.push(float_column("kl", points, |p| p.damage.kl));
    frame(cols)
}

/// One row per curve: `scope`, `units`, `ranking`, `seed`, `direction`,
/// `max_sparsity`, `auc_accuracy`, `auc_agreement`, `auc_kl`.
pub fn areas_table(areas: &[Area]) -> Result<DataFrame> {
    let mut cols = curve_columns(areas, |a| (a.scope.as_str(), a.units, a.criterion, a.seed, a.direction));
    cols.push(float_column("max_sparsity", areas, |a| a.max_sparsity));
    cols.push(float_column("auc_accuracy", areas, |a| a.accuracy));
    cols.push(float_column("auc_agreement", areas, |a| a.agreement));
    cols.push(float_column("auc_kl", areas, |a| a.kl));
    frame(cols)
}

/// One row per (scope, ranking, direction), seeds collapsed: `curves` and
/// mean / sd / min / max of each area (`auc_accuracy_mean`, …).
pub fn summary_table(summary: &[AreaSummary]) -> Result<DataFrame> {
    let mut cols = curve_columns(summary, |a| (a.scope.as_str(), a.units, a.criterion, None, a.direction));
    cols.retain(|c| c.name().as_str() != "seed");
    cols.push(Column::new("curves".into(), summary.iter().map(|a| a.curves as u32).collect::<Vec<_>>()));
    cols.push(float_column("max_sparsity", summary, |a| a.max_sparsity));
    for (metric, get) in [
        ("accuracy", (|a: &AreaSummary| a.accuracy) as fn(&AreaSummary) -> Stat),
        ("agreement", |a| a.agreement),
        ("kl", |a| a.kl),
    ] {
        for (stat, f) in
            [("mean", (|s: Stat| s.mean) as fn(Stat) -> f64), ("sd", |s| s.sd), ("min", |s| s.min), ("max", |s| s.max)]
        {
            cols.push(float_column(&format!("auc_{metric}_{stat}"), summary, |a| f(get(a))));
        }
    }
    frame(cols)
}

// ===========================================================================
// 6. Data sets and the whole study
// ===========================================================================

/// scikit-learn's labelled digits (`digits/digits_images.npy`,
/// `digits/digits_labels.npy` under `data_dir`) as 28×28 MNIST-style images
/// ([`digits_to_mnist`]) with their labels.
pub fn load_digits(data_dir: &Path) -> Result<(Vec<Image>, Vec<u32>)> {
    let raw = read_npy_f32(&data_dir.join("digits/digits_images.npy"))?;
    // the file holds uint8 0..16, which read_npy_f32 scales by 1/255
    let images = digits_to_mnist(&raw.mapv(|v| (v * 255.0).round()), true)?;
    let labels = read_npy_labels(&data_dir.join("digits/digits_labels.npy"))?;
    if labels.len() != images.len() {
        return Err(Error::Data(format!("{} digit labels for {} digit images", labels.len(), images.len())));
    }
    Ok((images, labels))
}

/// Names of the photo variants made by [`photo_variant`].
pub const PHOTO_VARIANTS: [&str; 6] = ["orig", "flip", "crop-tl", "crop-br", "crop-centre", "flip-crop-centre"];

/// A variant of a photo, before the model's own resize and crop: `orig`,
/// `flip` (left–right mirror), `crop-tl` / `crop-br` (the top-left /
/// bottom-right 75 % × 75 %), `crop-centre` (the central 60 % × 60 %),
/// `flip-crop-centre`. Named `<image>@<variant>`.
pub fn photo_variant(image: &Image, variant: &str) -> Result<Image> {
    let (h, w) = (image.height, image.width);
    let frac = |f: f64, n: usize| ((n as f64 * f).round() as usize).clamp(1, n);
    let out = match variant {
        "orig" => image.clone(),
        "flip" => flip(image),
        "crop-tl" => image.crop(0, 0, frac(0.75, h), frac(0.75, w))?,
        "crop-br" => image.crop(h - frac(0.75, h), w - frac(0.75, w), frac(0.75, h), frac(0.75, w))?,
        "crop-centre" => image.crop((h - frac(0.6, h)) / 2, (w - frac(0.6, w)) / 2, frac(0.6, h), frac(0.6, w))?,
        "flip-crop-centre" => flip(&photo_variant(image, "crop-centre")?),
        other => {
            return Err(Error::Config(format!(
                "photo variant '{other}' is not known; use {}",
                PHOTO_VARIANTS.join(", ")
            )));
        }
    };
    Ok(out.renamed(format!("{}@{variant}", image.name)))
}

fn flip(image: &Image) -> Image {
    let mut data = image.data.clone();
    for row in data.chunks_mut(image.width) {
        row.reverse();
    }
    Image { data, ..image.clone() }
}

/// Everything `freqtag prune` measured, with its set-up.
#[derive(Clone, Debug)]
pub struct Study {
    /// Model name.
    pub model: String,
    /// The ranked taps.
    pub taps: Vec<TapInfo>,
    /// The tagging design behind the freqtag rankings (None: none ranked).
    pub design: Option<Design>,
    /// Names of the ranking images.
    pub rank_images: Vec<String>,
    /// What the evaluation images are.
    pub eval_description: String,
    /// Number of evaluation images.
    pub eval_images: usize,
    /// Whether they have labels.
    pub labelled: bool,
    /// The unablated network on them.
    pub base: Damage,
    /// Random seeds.
    pub seeds: Vec<u64>,
    /// Tie-break seed.
    pub tie_seed: u64,
    /// Where the curves were measured.
    pub plan: CurvePlan,
    /// The rankings.
    pub rankings: Vec<Ranking>,
    /// Every curve point.
    pub points: Vec<CurvePoint>,
    /// Areas under the curves.
    pub areas: Vec<Area>,
    /// Areas with seeds collapsed.
    pub summary: Vec<AreaSummary>,
    /// The plain statement, one sentence group per scope.
    pub verdict: Vec<String>,
    /// Wall time per stage, seconds.
    pub timings: Vec<(String, f64)>,
}

/// What a study needs besides the model and images.
#[derive(Clone, Debug)]
pub struct StudyConfig {
    /// The taps whose channels are the units.
    pub taps: Vec<TapInfo>,
    /// Tagging design for the freqtag criteria.
    pub design: Design,
    /// Criteria to rank by ([`Criterion::Random`] once per seed).
    pub criteria: Vec<Criterion>,
    /// Random seeds.
    pub seeds: Vec<u64>,
    /// Tie-break seed.
    pub tie_seed: u64,
    /// Where to measure.
    pub plan: CurvePlan,
    /// Images per network run in the evaluation.
    pub batch: usize,
}

/// The stages of [`run_study`], for progress reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The tagging experiment (count: frames).
    Tagging,
    /// Activation statistics (count: images).
    Activations,
    /// Deletion curves (count: network evaluations).
    Curves,
}

/// Rank the units of `cfg.taps` on `rank_images` by every criterion and
/// measure the deletion curves on `eval` (images the ranking never saw).
/// `progress(stage, n)` reports work done.
pub fn run_study(
    model: &Model,
    cfg: &StudyConfig,
    rank_images: &[Image],
    eval: EvalSet,
    progress: &(dyn Fn(Stage, usize) + Sync),
) -> Result<Study> {
    if cfg.taps.is_empty() {
        return Err(Error::Config("no taps to rank".into()));
    }
    if cfg.criteria.is_empty() {
        return Err(Error::Config("no ranking criteria".into()));
    }
    if cfg.criteria.contains(&Criterion::Random) && cfg.seeds.is_empty() {
        return Err(Error::Config("random rankings need at least one seed".into()));
    }
    check_distinct_units(model, &cfg.taps)?;
    let rank_names: HashSet<&str> = rank_images.iter().map(|i| i.name.as_str()).collect();
    if let Some(clash) = eval.images.iter().find(|i| rank_names.contains(i.name.as_str())) {
        return Err(Error::Config(format!("image '{}' is used both to rank and to evaluate", clash.name)));
    }
    cfg.plan.validate(cfg.taps.len())?;
    let taps = &cfg.taps;
    let mut timings = Vec::new();
    let mut rankings = Vec::new();
    let mut clock = Instant::now();
    let mut design = None;
    if cfg.criteria.iter().any(|c| c.is_tagging()) {
        let exp = tagging_experiment(model, taps, cfg.design.clone())?;
        let results = exp.run(rank_images, &|n| progress(Stage::Tagging, n))?;
        rankings.extend(tagging_rankings(&results, taps, &cfg.criteria, cfg.tie_seed)?);
        design = Some(cfg.design.clone());
        timings.push(("tagging".to_string(), clock.elapsed().as_secs_f64()));
        clock = Instant::now();
    }
    if cfg.criteria.contains(&Criterion::L1) {
        rankings.push(l1_ranking(model, taps, cfg.tie_seed)?);
    }
    if cfg.criteria.iter().any(|c| matches!(c, Criterion::Activation | Criterion::Apoz)) {
        let stats = activation_stats(model, taps, rank_images, &|n| progress(Stage::Activations, n))?;
        let (act, zeros) = activation_rankings(taps, stats, cfg.tie_seed)?;
        if cfg.criteria.contains(&Criterion::Activation) {
            rankings.push(act);
        }
        if cfg.criteria.contains(&Criterion::Apoz) {
            rankings.push(zeros);
        }
    }
    if cfg.criteria.contains(&Criterion::Random) {
        for &s in &cfg.seeds {
            rankings.push(random_ranking(taps, s)?);
        }
    }
    timings.push(("baselines".to_string(), clock.elapsed().as_secs_f64()));
    clock = Instant::now();
    let evaluator = Evaluator::new(model, taps, eval, cfg.batch)?;
    let points = deletion_curves(&evaluator, &rankings, &cfg.plan, &|| progress(Stage::Curves, 1))?;
    timings.push(("curves".to_string(), clock.elapsed().as_secs_f64()));
    let areas = areas(&points);
    let summary = summarise(&areas);
    let verdict = verdict(&summary);
    let set = evaluator.set();
    Ok(Study {
        model: model.name.clone(),
        taps: taps.clone(),
        design,
        rank_images: rank_images.iter().map(|i| i.name.clone()).collect(),
        eval_description: set.description.clone(),
        eval_images: set.images.len(),
        labelled: set.labels.is_some(),
        base: evaluator.base(),
        seeds: cfg.seeds.clone(),
        tie_seed: cfg.tie_seed,
        plan: cfg.plan.clone(),
        rankings,
        points,
        areas,
        summary,
        verdict,
        timings,
    })
}

impl Study {
    /// The set-up, areas and verdict as JSON (`study.json`).
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "freqtag_version": env!("CARGO_PKG_VERSION"),
            "model": self.model,
            "taps": self.taps.iter().map(|t| json!({"name": t.name, "op": t.op, "channels": t.channels(), "depth": t.depth})).collect::<Vec<_>>(),
            "units": self.taps.iter().map(TapInfo::channels).sum::<usize>(),
            "tagging_design": self.design,
            "rank_images": self.rank_images,
            "eval": {"description": self.eval_description, "images": self.eval_images, "labelled": self.labelled, "unablated": self.base},
            "seeds": self.seeds,
            "tie_seed": self.tie_seed,
            "plan": self.plan,
            "criteria": self.rankings.iter().filter(|r| r.seed.is_none_or(|s| Some(&s) == self.seeds.first())).map(|r| json!({"name": r.criterion.name(), "describe": r.criterion.describe()})).collect::<Vec<_>>(),
            "auc_definition": "area under the metric-vs-sparsity curve (trapezoid, unablated point at sparsity 0 included) divided by the largest sparsity: the metric's mean over the range",
            "summary": self.summary,
            "verdict": self.verdict,
            "timings_s": self.timings.iter().map(|(k, v)| json!({"stage": k, "seconds": v})).collect::<Vec<_>>(),
        })
    }

    /// The set-up, the table of areas (mean ± sd over seeds) and the
    /// verdict as Markdown (`summary.md`).
    pub fn markdown(&self) -> String {
        let units: usize = self.taps.iter().map(TapInfo::channels).sum();
        let mut m = format!(
            "# Deletion curves: {}\n\n- units: the channels of {} taps ({units} units)\n- ranking images ({}): {}\n- evaluation images ({}): {}\n",
            self.model,
            self.taps.len(),
            self.rank_images.len(),
            self.rank_images.join(", "),
            self.eval_images,
            self.eval_description
        );
        if let Some(d) = &self.design {
            let noise = d
                .noise
                .map(|n| format!("pixel noise σ = {} (seed {})", n.sigma, n.seed))
                .unwrap_or_else(|| "no noise".into());
            m += &format!(
                "- tagging design: {} at {} Hz, {} frames at {} frames/s, {noise}\n",
                d.layout.name(),
                d.frequencies().iter().map(|f| f.to_string()).collect::<Vec<_>>().join(" / "),
                d.frames,
                d.fs_hz
            );
        }
        let acc = if self.labelled { format!("accuracy {:.4}", self.base.accuracy) } else { "no labels".into() };
        m += &format!(
            "- unablated: {acc}\n- random rankings: {} seeds; ties broken by seed {}\n- sparsities: network {:?}, per layer {:?}\n\n",
            self.seeds.len(),
            self.tie_seed,
            self.plan.network,
            self.plan.layer
        );
        m += "Area = the metric averaged over sparsity 0 … max (trapezoid rule). Top: most important units removed first; bottom: least important first; random: mean ± sd over seeds.\n\n";
        m += "| scope | units | ranking | direction | area accuracy | area agreement | area KL (nats) |\n|---|---:|---|---|---:|---:|---:|\n";
        for r in &self.summary {
            m += &format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                r.scope,
                r.units,
                r.criterion.name(),
                r.direction.name(),
                r.accuracy.cell(r.curves),
                r.agreement.cell(r.curves),
                r.kl.cell(r.curves)
            );
        }
        m += "\n";
        for v in &self.verdict {
            m += &format!("- {v}\n");
        }
        m += "\nwall time per stage: ";
        m += &self.timings.iter().map(|(k, v)| format!("{k} {v:.1} s")).collect::<Vec<_>>().join(", ");
        m.push('\n');
        m
    }

    /// Write `rankings.parquet`, `curves.parquet`, `areas.parquet`,
    /// `summary.parquet`, `study.json` and `summary.md` into `dir`. Returns
    /// the files.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        crate::export::prepare_dir(dir)?;
        let meta = [("freqtag.study", self.to_json().to_string())];
        let mut files = Vec::new();
        for (name, mut df) in [
            ("rankings.parquet", rankings_table(&self.rankings)?),
            ("curves.parquet", curves_table(&self.points)?),
            ("areas.parquet", areas_table(&self.areas)?),
            ("summary.parquet", summary_table(&self.summary)?),
        ] {
            let p = dir.join(name);
            write_parquet(&p, &mut df, &meta)?;
            files.push(p);
        }
        let p = dir.join("study.json");
        write_json(&p, &self.to_json())?;
        files.push(p);
        let p = dir.join("summary.md");
        write_bytes(&p, self.markdown().as_bytes())?;
        files.push(p);
        Ok(files)
    }

    /// Deletion-curve figures: per scope, the main metric (accuracy with
    /// labels, else agreement and KL), top-k and bottom-k panels side by
    /// side with every ranking, the random seeds as a band (min–max) around
    /// their mean. Returns (figure, caption).
    pub fn figures(&self) -> Result<Vec<(Figure, String)>> {
        let metrics: Vec<Metric> = if self.labelled {
            vec![("accuracy", "accuracy", |d| d.accuracy), ("kl", "mean KL(unablated ‖ ablated) (nats)", |d| d.kl)]
        } else {
            vec![
                ("agreement", "top-1 agreement with the unablated network", |d| d.agreement),
                ("kl", "mean KL(unablated ‖ ablated) (nats)", |d| d.kl),
            ]
        };
        let mut scopes: Vec<&str> = Vec::new();
        for p in &self.points {
            if !scopes.contains(&p.scope.as_str()) {
                scopes.push(&p.scope);
            }
        }
        let mut figs = Vec::new();
        for scope in scopes {
            let pts: Vec<&CurvePoint> = self.points.iter().filter(|p| p.scope == scope).collect();
            for (key, y_desc, get) in &metrics {
                let line = |c: Criterion, d: Direction| -> Option<CurveLine> {
                    let mut v: Vec<(f64, f64)> = pts
                        .iter()
                        .filter(|p| p.criterion == c && p.direction == d)
                        .map(|p| (p.sparsity, get(&p.damage)))
                        .collect();
                    v.sort_by(|a, b| a.0.total_cmp(&b.0));
                    (!v.is_empty()).then(|| CurveLine { label: c.name().to_string(), points: v, colour: c.colour() })
                };
                let panels: Vec<(String, Vec<CurveLine>)> = [
                    (Direction::Top, "remove top-ranked units first"),
                    (Direction::Bottom, "remove bottom-ranked units first"),
                ]
                .into_iter()
                .map(|(d, title)| (title.to_string(), Criterion::ALL.iter().filter_map(|&c| line(c, d)).collect()))
                .collect();
                let band = random_band(&pts, *get);
                let hi = pts.iter().map(|p| get(&p.damage)).filter(|v| v.is_finite()).fold(f64::NEG_INFINITY, f64::max);
                let y_range = if *key == "kl" { (0.0, hi.max(1e-6) * 1.05) } else { (0.0, hi.max(1.0)) };
                let title = format!("{} — {}", if scope == NETWORK { "network-wide" } else { scope }, self.model);
                let plot = DeletionPlot { title, y_desc: y_desc.to_string(), panels, band, y_range };
                let name = format!("deletion_{}_{}", file_stem(scope), key);
                let caption = format!(
                    "{} of {} ({} units) against the share of units removed, {} evaluation images; grey band: random order, min–max over {} seeds",
                    y_desc,
                    if scope == NETWORK { "the whole network" } else { scope },
                    pts.first().map(|p| p.units).unwrap_or(0),
                    self.eval_images,
                    self.seeds.len()
                );
                figs.push((plots::deletion_curves(&name, &plot)?, caption));
            }
        }
        Ok(figs)
    }
}

/// A plotted metric: (file key, axis label, how to read it).
type Metric = (&'static str, &'static str, fn(&Damage) -> f64);

/// Mean and min–max over the random seeds at every sparsity.
fn random_band(points: &[&CurvePoint], get: fn(&Damage) -> f64) -> Option<CurveBand> {
    let random: Vec<&&CurvePoint> = points.iter().filter(|p| p.direction == Direction::Random).collect();
    if random.is_empty() {
        return None;
    }
    let mut xs: Vec<f64> = random.iter().map(|p| p.sparsity).collect();
    xs.sort_by(|a, b| a.total_cmp(b));
    xs.dedup();
    let (mut lo, mut mean, mut hi) = (vec![], vec![], vec![]);
    for &x in &xs {
        let v: Vec<f64> = random.iter().filter(|p| p.sparsity == x).map(|p| get(&p.damage)).collect();
        let s = Stat::of(&v);
        lo.push(s.min);
        mean.push(s.mean);
        hi.push(s.max);
    }
    Some(CurveBand { label: "random (mean, min–max)".into(), x: xs, lo, mean, hi })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_is_the_mean_over_the_range() {
        assert!((auc(&[0.0, 0.5, 1.0], &[1.0, 0.5, 0.0]) - 0.5).abs() < 1e-12);
        // uneven steps: (0.1·(1+0.8)/2 + 0.4·(0.8+0.2)/2) / 0.5
        assert!((auc(&[0.0, 0.1, 0.5], &[1.0, 0.8, 0.2]) - (0.09 + 0.2) / 0.5).abs() < 1e-12);
        assert!(auc(&[0.0], &[1.0]).is_nan());
    }

    #[test]
    fn kl_and_agreement_by_hand() {
        // softmax([0, ln 3]) = [1/4, 3/4]; softmax([0, 0]) = [1/2, 1/2]
        let base = vec![vec![0.0, 3f32.ln()]];
        let other = vec![vec![0.0, 0.0]];
        let want = 0.25 * (0.25f64 / 0.5).ln() + 0.75 * (0.75f64 / 0.5).ln();
        assert!((mean_kl(&base, &other) - want).abs() < 1e-6);
        assert_eq!(mean_kl(&base, &base), 0.0);
        assert_eq!(top1_agreement(&base, &other), 0.0, "argmax of a tie is the first index");
        assert_eq!(accuracy(&[vec![0.1, 0.9], vec![0.7, 0.2]], &[1, 1]), 0.5);
    }

    #[test]
    fn orders_put_nan_last_and_break_ties_by_seed() {
        let tap = TapInfo { name: "t".into(), tensor: "t".into(), op: "Relu".into(), shape: vec![5, 2, 2], depth: 0 };
        let v = vec![vec![1.0, f64::NAN, 3.0, 1.0, 2.0]];
        let r = Ranking::new(Criterion::Activation, None, std::slice::from_ref(&tap), v.clone(), v.clone(), 7).unwrap();
        let o = r.order_in_tap(0);
        assert_eq!((o[0], o[1], o[4]), (2, 4, 1));
        assert!(o[2..4].contains(&0) && o[2..4].contains(&3));
        let again = Ranking::new(Criterion::Activation, None, std::slice::from_ref(&tap), v.clone(), v, 7).unwrap();
        assert_eq!(again.order_in_tap(0), o, "same seed, same order");
    }

    #[test]
    fn channel_slices_of_weights() {
        assert_eq!(channel_indices(&[3, 2, 1, 1], 0, 1), vec![2, 3]);
        assert_eq!(channel_indices(&[2, 3], 1, 2), vec![2, 5]);
        assert_eq!(channel_indices(&[4], 0, 3), vec![3]);
        let mut t = TensorProto {
            name: "w".into(),
            dims: vec![2],
            data_type: pb::tensor_proto::DataType::Float as i32,
            raw_data: [1.5f32, -2.0].iter().flat_map(|x| x.to_le_bytes()).collect(),
            ..Default::default()
        };
        assert_eq!(tensor_f32(&t).unwrap(), vec![1.5, -2.0]);
        set_tensor_f32(&mut t, &[0.0, -2.0]);
        assert!(t.float_data.is_empty() && tensor_f32(&t).unwrap() == vec![0.0, -2.0]);
    }

    #[test]
    fn unit_specs_parse_and_complain() {
        let u = TapUnits::parse("/a/b:Relu:0,3,5-7").unwrap();
        assert_eq!((u.tap.as_str(), u.channels), ("/a/b:Relu", vec![0, 3, 5, 6, 7]));
        assert!(TapUnits::parse("relu").unwrap_err().to_string().contains("TAP:CHANNELS"));
        assert!(TapUnits::parse("relu:1,x").unwrap_err().to_string().contains("'x'"));
        assert!(TapUnits::parse("relu:5-2").unwrap_err().to_string().contains("backwards"));
    }
}

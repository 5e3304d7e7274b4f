//! ONNX graph surgery for ablation: who produces a tap's channels, and the
//! edits that silence them.
//!
//! In: a model's ONNX graph and a tap. Out: the tap's [`Producer`] — the
//! single Conv/Gemm whose output channel `c` is unit `c`, reached back
//! through activations that keep an all-zero channel at zero — or the reason
//! there is none (an Add, a BatchNormalization, a Sigmoid, a shared output, …);
//! and, for the ablation and the masked evaluation, the edits: zero a
//! producer's output channels (weights and bias), or insert a `Mul` by a
//! per-channel mask after the tap ([`mask_node_name`]).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Serialize;
use tract_onnx::pb::{self, GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto};

use crate::error::{Error, Result};
use crate::model::{Model, TapInfo};

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

pub(super) fn refusal(model: &Model, info: &TapInfo, why: &str) -> Error {
    Error::model(
        &model.path,
        format!(
            "cannot silence tap '{}' by zeroing weights: {why}; use the mask mode (--mode mask), which multiplies the tap's output by a 0/1 mask",
            info.name
        ),
    )
}

/// Who produces and who consumes each tensor of an ONNX graph.
pub(super) struct GraphIndex<'a> {
    graph: &'a GraphProto,
    producer: HashMap<&'a str, usize>,
    consumers: HashMap<&'a str, Vec<usize>>,
    initializer: HashMap<&'a str, usize>,
    outputs: HashSet<&'a str>,
    opset: i64,
}

impl<'a> GraphIndex<'a> {
    pub(super) fn new(proto: &'a ModelProto, path: &Path) -> Result<GraphIndex<'a>> {
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
        let opset = crate::model::onnx_opset(proto);
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

pub(super) fn resolve_producer(g: &GraphIndex, info: &TapInfo) -> std::result::Result<Producer, String> {
    if !info.is_channel_map() {
        return Err(format!(
            "it is a {} (shape {:?}); the ablation silences channels of convolutional maps only",
            info.layout.describe(),
            info.shape
        ));
    }
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
pub(super) fn zero_channels(
    graph: &mut GraphProto,
    p: &Producer,
    channels: &[usize],
) -> std::result::Result<(), String> {
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
pub(super) fn weight_l1(g: &GraphIndex, p: &Producer) -> std::result::Result<Vec<f64>, String> {
    let w = g.initializer_tensor(&p.weight).ok_or_else(|| format!("'{}' is not an initializer", p.weight))?;
    let v = tensor_f32(w)?;
    let c = w.dims.get(p.channel_axis).copied().unwrap_or(0).max(0) as usize;
    Ok((0..c)
        .map(|ch| channel_indices(&w.dims, p.channel_axis, ch).into_iter().map(|k| v[k].abs() as f64).sum())
        .collect())
}

/// Where a mask's values come from.
pub(super) enum MaskSource<'a> {
    /// A constant initializer with these values.
    Constant(&'a [f32]),
    /// A graph input of that name, set at run time.
    Input(&'a str),
}

/// The name of the `Mul` node that [`Mode::Mask`](super::Mode::Mask) inserts after `tap`; it is
/// itself a tap of the ablated model (its output is the masked activation).
pub fn mask_node_name(tap: &str) -> String {
    format!("freqtag_mask:{tap}")
}

/// Insert `masked = tensor · mask` right after the tap's producer and make
/// every consumer (and a graph output of that name) read `masked`.
pub(super) fn insert_mask(
    graph: &mut GraphProto,
    info: &TapInfo,
    source: MaskSource,
) -> std::result::Result<String, String> {
    if !info.is_channel_map() {
        return Err(format!(
            "tap '{}' is a {} (shape {:?}); the ablation silences channels of convolutional maps only",
            info.name,
            info.layout.describe(),
            info.shape
        ));
    }
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

pub(super) fn graph_mut<'a>(proto: &'a mut ModelProto, path: &Path) -> Result<&'a mut GraphProto> {
    proto.graph.as_mut().ok_or_else(|| Error::model(path, "the ONNX file has no graph"))
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

#[cfg(test)]
mod tests {
    use super::*;

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
}

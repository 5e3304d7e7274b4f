//! Tiny ONNX models built in code, for integration tests.
//!
//! **In:** a few shape parameters (`channels`, `height`, `width`, plus a
//! threshold / seed where noted).
//! **Out:** the serialised bytes of an ONNX `ModelProto` (opset 13, IR
//! version 8), built with tract-onnx's own protobuf types
//! (`tract_onnx::pb`) and encoded with `prost::Message::encode_to_vec`.
//! Use [`write_model`] to put them on disk for `onnx().model_for_path(..)`.
//!
//! Conventions shared by every model:
//! * one graph input named [`INPUT_NAME`] (`"input"`), f32, shape
//!   `[batch, C, H, W]` where `batch` is the symbolic `dim_param` [`BATCH_PARAM`];
//! * every node has an explicit, readable name (`"square"`, `"conv"`, ...):
//!   the node name is what tract uses as its node name, so it is how taps
//!   are selected;
//! * every node has exactly one output tensor, named `<node name>_out`
//!   (see [`out_name`]); tract uses it as the outlet label;
//! * weights / constants are graph initializers (not listed as graph inputs);
//! * the last node's output is the graph output (except in
//!   [`conv_relu_model`], where it is called `logits`).
//!
//! Nothing here depends on the `freqtag` crate.

#![allow(dead_code)] // each test crate uses a different subset of the builders

use std::path::{Path, PathBuf};

use prost::Message;
use tract_onnx::pb::{
    attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto::dimension,
    tensor_shape_proto::Dimension, type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};

/// ONNX operator set the models are written against (default domain).
pub const OPSET: i64 = 13;
/// ONNX IR version written in the `ModelProto`.
pub const IR_VERSION: i64 = 8;
/// Name of the single graph input of every model.
pub const INPUT_NAME: &str = "input";
/// `dim_param` of the symbolic batch dimension of the input.
pub const BATCH_PARAM: &str = "batch";
/// Number of outputs of the classifier head of [`conv_relu_model`].
pub const N_CLASSES: usize = 4;
/// Name of the graph output of [`conv_relu_model`].
pub const LOGITS_NAME: &str = "logits";

/// Name of the (single) output tensor of the node called `node_name`.
pub fn out_name(node_name: &str) -> String {
    format!("{node_name}_out")
}

// ---------------------------------------------------------------------------
// Model builders
// ---------------------------------------------------------------------------

/// `input → ident → ident_out`.
///
/// Tap `"ident"` (Identity): a copy of the input, shape `[B, C, H, W]`.
pub fn identity_model(channels: usize, height: usize, width: usize) -> Vec<u8> {
    let nodes = vec![node("ident", "Identity", &[INPUT_NAME], vec![])];
    let output = image_info(&out_name("ident"), channels, height, width);
    encode("identity", channels, height, width, nodes, vec![], output)
}

/// `input → square → square_out`.
///
/// Tap `"square"` (`Mul(input, input)`): every element squared, `x²`,
/// shape `[B, C, H, W]`.
pub fn square_model(channels: usize, height: usize, width: usize) -> Vec<u8> {
    let nodes = vec![node("square", "Mul", &[INPUT_NAME, INPUT_NAME], vec![])];
    let output = image_info(&out_name("square"), channels, height, width);
    encode("square", channels, height, width, nodes, vec![], output)
}

/// `input → gmean → gmean_sq → gmean_sq_out`.
///
/// * Tap `"gmean"` (`ReduceMean`, axes `[1, 2, 3]`, keepdims 1): the mean of
///   each batch item over all of C, H, W; shape `[B, 1, 1, 1]`.
/// * Tap `"gmean_sq"` (`Mul(gmean_out, gmean_out)`): that mean squared,
///   shape `[B, 1, 1, 1]`.
pub fn mean_square_model(channels: usize, height: usize, width: usize) -> Vec<u8> {
    let gmean_out = out_name("gmean");
    let nodes = vec![global_mean_node(), node("gmean_sq", "Mul", &[&gmean_out, &gmean_out], vec![])];
    let output = value_info(&out_name("gmean_sq"), per_item_scalar_shape());
    encode("mean_square", channels, height, width, nodes, vec![], output)
}

/// `input → gmean → shift → relu → relu_out`.
///
/// * Tap `"gmean"`: per-item mean over C, H, W, shape `[B, 1, 1, 1]`
///   (as in [`mean_square_model`]).
/// * Tap `"shift"` (`Sub(gmean_out, threshold)`, where `threshold` is a
///   scalar f32 initializer): `mean − threshold`, shape `[B, 1, 1, 1]`.
/// * Tap `"relu"` (`Relu(shift_out)`): `max(mean − threshold, 0)`,
///   shape `[B, 1, 1, 1]`.
pub fn relu_of_mean_model(channels: usize, height: usize, width: usize, threshold: f32) -> Vec<u8> {
    let nodes = vec![
        global_mean_node(),
        node("shift", "Sub", &[&out_name("gmean"), "threshold"], vec![]),
        node("relu", "Relu", &[&out_name("shift")], vec![]),
    ];
    let initializers = vec![f32_tensor("threshold", &[], vec![threshold])];
    let output = value_info(&out_name("relu"), per_item_scalar_shape());
    encode("relu_of_mean", channels, height, width, nodes, initializers, output)
}

/// A very small CNN classifier:
/// `input → conv → relu → pool → flatten → fc → logits`.
///
/// * Tap `"conv"` (`Conv`, 3×3 kernel, pads `[1, 1, 1, 1]`, stride 1, with
///   bias): for output channel `o` at `(y, x)`,
///   `bias[o] + Σ_{i, ky, kx} w[o, i, ky, kx] · input[i, y + ky − 1, x + kx − 1]`,
///   out-of-image input treated as 0. Shape `[B, out_channels, H, W]`.
///   Weights and bias are exactly [`conv_relu_weights`]`(out_channels, channels, seed)`.
/// * Tap `"relu"` (`Relu(conv_out)`): `max(conv, 0)`, shape `[B, out_channels, H, W]`.
/// * Tap `"pool"` (`GlobalAveragePool`): spatial mean of `relu` per channel,
///   shape `[B, out_channels, 1, 1]`.
/// * Tap `"flatten"` (`Flatten`, axis 1): shape `[B, out_channels]`.
/// * Tap `"fc"` (`Gemm`, transB = 1): `flatten · Wᵀ + b` with `W, b` =
///   [`fc_weights`]`(out_channels, seed)`; shape `[B, N_CLASSES]`. Its output
///   tensor is the graph output, named [`LOGITS_NAME`] (not `fc_out`).
pub fn conv_relu_model(channels: usize, height: usize, width: usize, out_channels: usize, seed: u64) -> Vec<u8> {
    let (conv_w, conv_b) = conv_relu_weights(out_channels, channels, seed);
    let (fc_w, fc_b) = fc_weights(out_channels, seed);
    let (oc, ic) = (out_channels as i64, channels as i64);
    let mut nodes = vec![
        conv_node("conv", [INPUT_NAME, "conv_weight", "conv_bias"], 3, 1),
        node("relu", "Relu", &[&out_name("conv")], vec![]),
    ];
    nodes.extend(classifier_head("relu"));
    let initializers = vec![
        f32_tensor("conv_weight", &[oc, ic, 3, 3], conv_w),
        f32_tensor("conv_bias", &[oc], conv_b),
        f32_tensor("fc_weight", &[N_CLASSES as i64, oc], fc_w),
        f32_tensor("fc_bias", &[N_CLASSES as i64], fc_b),
    ];
    let output = value_info(LOGITS_NAME, vec![batch_dim(), fixed_dim(N_CLASSES)]);
    encode("conv_relu", channels, height, width, nodes, initializers, output)
}

/// Two layers of identical units and a threshold, so that the damage of
/// removing units depends only on how many go (not which), in closed form:
/// `input [B, 1, H, W] → conv1 → relu1 → conv2 → relu2 → pool → flatten → fc → logits`.
///
/// * Tap `"conv1"` (`Conv` 1×1, weights 1, bias 0) and `"relu1"`: `n1`
///   copies of the input pixel `x`.
/// * Tap `"conv2"` (`Conv` 1×1, weights `1 / n1`, bias `−c`) and `"relu2"`:
///   `n2` copies of `max(mean over relu1's channels − c, 0)`.
/// * `"pool"` (`GlobalAveragePool`), `"flatten"`, and `"fc"` (`Gemm`,
///   transB = 1) with two outputs: class 0 = the mean of relu2's channels,
///   class 1 = the constant `t`.
///
/// For a constant image of value `m` with `k1` units of relu1 and `k2` of
/// relu2 silenced, class 0's logit is
/// `(1 − k2 / n2) · max(m · (1 − k1 / n1) − c, 0)` against `t`.
pub fn gated_layers_model(n1: usize, n2: usize, c: f32, t: f32, height: usize, width: usize) -> Vec<u8> {
    let (a, b) = (n1 as i64, n2 as i64);
    let mut nodes = vec![
        conv_node("conv1", [INPUT_NAME, "w1", "b1"], 1, 0),
        node("relu1", "Relu", &[&out_name("conv1")], vec![]),
        conv_node("conv2", [&out_name("relu1"), "w2", "b2"], 1, 0),
        node("relu2", "Relu", &[&out_name("conv2")], vec![]),
    ];
    nodes.extend(classifier_head("relu2"));
    let mut fc_w = vec![1.0 / n2 as f32; n2];
    fc_w.extend(vec![0.0; n2]);
    let initializers = vec![
        f32_tensor("w1", &[a, 1, 1, 1], vec![1.0; n1]),
        f32_tensor("b1", &[a], vec![0.0; n1]),
        f32_tensor("w2", &[b, a, 1, 1], vec![1.0 / n1 as f32; n1 * n2]),
        f32_tensor("b2", &[b], vec![-c; n2]),
        f32_tensor("fc_weight", &[2, b], fc_w),
        f32_tensor("fc_bias", &[2], vec![0.0, t]),
    ];
    let output = value_info(LOGITS_NAME, vec![batch_dim(), fixed_dim(2)]);
    encode("gated_layers", 1, height, width, nodes, initializers, output)
}

/// The weights and bias of the `"conv"` node of [`conv_relu_model`].
///
/// Returns `(weights, bias)`: `weights` is row-major `[out_channels,
/// in_channels, 3, 3]` (index `((o * in_channels + i) * 3 + ky) * 3 + kx`),
/// values in `[-0.5, 0.5)`; `bias` has `out_channels` values in `[-0.1, 0.1)`.
/// Deterministic in `seed` (an LCG; no `rand`).
pub fn conv_relu_weights(out_channels: usize, in_channels: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Lcg::new(seed);
    let weights = (0..out_channels * in_channels * 9).map(|_| 0.5 * rng.next_signed()).collect();
    let bias = (0..out_channels).map(|_| 0.1 * rng.next_signed()).collect();
    (weights, bias)
}

/// The weights and bias of the `"fc"` node of [`conv_relu_model`].
///
/// Returns `(weights, bias)`: `weights` is row-major `[N_CLASSES, in_features]`
/// (so `logit[k] = bias[k] + Σ_j weights[k * in_features + j] · x[j]`),
/// values in `[-0.5, 0.5)`; `bias` has `N_CLASSES` values in `[-0.1, 0.1)`.
/// Drawn from a stream independent of [`conv_relu_weights`] for the same seed.
pub fn fc_weights(in_features: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Lcg::new(seed ^ 0x5EED_FC00_D00D_F00D);
    let weights = (0..N_CLASSES * in_features).map(|_| 0.5 * rng.next_signed()).collect();
    let bias = (0..N_CLASSES).map(|_| 0.1 * rng.next_signed()).collect();
    (weights, bias)
}

/// Writes `bytes` to `dir/file_name` and returns the full path.
///
/// Panics on I/O errors (this is test support code).
pub fn write_model(dir: &Path, file_name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(file_name);
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("writing ONNX model to {}: {e}", path.display()));
    path
}

// ---------------------------------------------------------------------------
// Protobuf plumbing
// ---------------------------------------------------------------------------

/// Wraps nodes, initializers and the single output into a serialised model
/// whose only input is `input: f32[batch, C, H, W]`.
fn encode(
    graph_name: &str,
    channels: usize,
    height: usize,
    width: usize,
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    output: ValueInfoProto,
) -> Vec<u8> {
    let graph = GraphProto {
        name: graph_name.to_string(),
        node: nodes,
        initializer: initializers,
        input: vec![image_info(INPUT_NAME, channels, height, width)],
        output: vec![output],
        ..Default::default()
    };
    let model = ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: OPSET }],
        producer_name: "freqtag-tests".to_string(),
        graph: Some(graph),
        ..Default::default()
    };
    model.encode_to_vec()
}

/// A node named `name` with a single output tensor `<name>_out`.
fn node(name: &str, op_type: &str, inputs: &[&str], attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        name: name.to_string(),
        op_type: op_type.to_string(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![out_name(name)],
        attribute,
        ..Default::default()
    }
}

/// `"pool"` (`GlobalAveragePool` of `from`'s output), `"flatten"` (axis 1)
/// and `"fc"` (`Gemm` with `fc_weight`, `fc_bias`, transB = 1), whose output
/// is [`LOGITS_NAME`].
fn classifier_head(from: &str) -> [NodeProto; 3] {
    let mut fc = node("fc", "Gemm", &[&out_name("flatten"), "fc_weight", "fc_bias"], vec![attr_int("transB", 1)]);
    fc.output = vec![LOGITS_NAME.to_string()];
    [
        node("pool", "GlobalAveragePool", &[&out_name(from)], vec![]),
        node("flatten", "Flatten", &[&out_name("pool")], vec![attr_int("axis", 1)]),
        fc,
    ]
}

/// A stride-1 `Conv` node with a `k × k` kernel and `pad` zeros on every
/// side; `inputs`: data, weights, bias.
fn conv_node(name: &str, inputs: [&str; 3], k: i64, pad: i64) -> NodeProto {
    node(
        name,
        "Conv",
        &inputs,
        vec![
            attr_ints("kernel_shape", &[k, k]),
            attr_ints("pads", &[pad; 4]),
            attr_ints("strides", &[1, 1]),
            attr_ints("dilations", &[1, 1]),
            attr_int("group", 1),
        ],
    )
}

/// The `"gmean"` node: ReduceMean over C, H, W with keepdims (opset-13 style,
/// axes as an attribute).
fn global_mean_node() -> NodeProto {
    node("gmean", "ReduceMean", &[INPUT_NAME], vec![attr_ints("axes", &[1, 2, 3]), attr_int("keepdims", 1)])
}

fn attr_int(name: &str, value: i64) -> AttributeProto {
    AttributeProto { name: name.to_string(), r#type: AttributeType::Int as i32, i: value, ..Default::default() }
}

fn attr_ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: AttributeType::Ints as i32,
        ints: values.to_vec(),
        ..Default::default()
    }
}

/// An f32 initializer; `dims` empty means a scalar.
fn f32_tensor(name: &str, dims: &[i64], data: Vec<f32>) -> TensorProto {
    assert_eq!(
        dims.iter().product::<i64>() as usize,
        data.len(),
        "initializer {name}: dims {dims:?} do not match {} values",
        data.len()
    );
    TensorProto {
        name: name.to_string(),
        dims: dims.to_vec(),
        data_type: DataType::Float as i32,
        float_data: data,
        ..Default::default()
    }
}

fn batch_dim() -> Dimension {
    Dimension { value: Some(dimension::Value::DimParam(BATCH_PARAM.to_string())), ..Default::default() }
}

fn fixed_dim(size: usize) -> Dimension {
    Dimension { value: Some(dimension::Value::DimValue(size as i64)), ..Default::default() }
}

/// `[batch, 1, 1, 1]`: one value per batch item, rank kept.
fn per_item_scalar_shape() -> Vec<Dimension> {
    vec![batch_dim(), fixed_dim(1), fixed_dim(1), fixed_dim(1)]
}

/// f32 value info of shape `[batch, C, H, W]`.
fn image_info(name: &str, channels: usize, height: usize, width: usize) -> ValueInfoProto {
    value_info(name, vec![batch_dim(), fixed_dim(channels), fixed_dim(height), fixed_dim(width)])
}

/// f32 value info with the given shape.
fn value_info(name: &str, dims: Vec<Dimension>) -> ValueInfoProto {
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: DataType::Float as i32,
                shape: Some(TensorShapeProto { dim: dims }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Minimal 64-bit LCG (Knuth's MMIX constants), enough for reproducible
/// test weights.
struct Lcg(u64);

impl Lcg {
    fn new(seed: u64) -> Self {
        // Mix the seed once so that small seeds do not start near zero.
        let mut lcg = Lcg(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03);
        lcg.next_u64();
        lcg
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0
    }

    /// Uniform in `[-1, 1)`, from the 24 high bits (exact in f32).
    fn next_signed(&mut self) -> f32 {
        let bits = (self.next_u64() >> 40) as u32; // 24 bits
        bits as f32 / (1u32 << 23) as f32 - 1.0
    }
}

// ---------------------------------------------------------------------------
// A tiny vision transformer
// ---------------------------------------------------------------------------

/// The shape of [`tiny_vit_model`]: a `channels × size × size` image cut
/// into `patch × patch` patches, `dim` channels per token, `heads` heads.
#[derive(Clone, Copy, Debug)]
pub struct TinyVit {
    pub channels: usize,
    pub size: usize,
    pub patch: usize,
    pub dim: usize,
    pub heads: usize,
    pub seed: u64,
}

impl TinyVit {
    /// Patch grid side.
    pub fn grid(&self) -> usize {
        self.size / self.patch
    }
    /// Patch tokens.
    pub fn patches(&self) -> usize {
        self.grid() * self.grid()
    }
    /// All tokens (CLS + patches).
    pub fn tokens(&self) -> usize {
        1 + self.patches()
    }
    /// The weights, drawn in a fixed order from one stream: patch conv
    /// `[dim, C, p, p]` and bias `[dim]`, CLS `[dim]`, position embeddings
    /// `[tokens, dim]`, then Wq, Wk, Wv, Wo `[dim, dim]`, W1 `[dim, 2dim]`, b1
    /// `[2dim]`, W2 `[2dim, dim]` (row-major, `x · W`).
    pub fn weights(&self) -> TinyVitWeights {
        let mut rng = Lcg::new(self.seed ^ 0x7A5F_0000_0000_0001);
        let mut draw = |n: usize, scale: f32| (0..n).map(|_| scale * rng.next_signed()).collect::<Vec<f32>>();
        let (d, c, p, t) = (self.dim, self.channels, self.patch, self.tokens());
        TinyVitWeights {
            patch_w: draw(d * c * p * p, 0.5),
            patch_b: draw(d, 0.1),
            cls: draw(d, 0.5),
            pos: draw(t * d, 0.1),
            wq: draw(d * d, 0.6),
            wk: draw(d * d, 0.6),
            wv: draw(d * d, 0.5),
            wo: draw(d * d, 0.5),
            w1: draw(d * 2 * d, 0.5),
            b1: draw(2 * d, 0.1),
            w2: draw(2 * d * d, 0.5),
        }
    }
}

/// The weights of a [`TinyVit`] (see [`TinyVit::weights`]).
pub struct TinyVitWeights {
    pub patch_w: Vec<f32>,
    pub patch_b: Vec<f32>,
    pub cls: Vec<f32>,
    pub pos: Vec<f32>,
    pub wq: Vec<f32>,
    pub wk: Vec<f32>,
    pub wv: Vec<f32>,
    pub wo: Vec<f32>,
    pub w1: Vec<f32>,
    pub b1: Vec<f32>,
    pub w2: Vec<f32>,
}

/// One pre-norm-free transformer block on patch tokens, as exporters write
/// it (node names in quotes are taps):
///
/// `"patch"` Conv (kernel = stride = patch) `[B, dim, g, g]` → Reshape
/// `[B, dim, g·g]` → `"tokens"` Transpose `[B, g·g, dim]` → a CLS token
/// (`0 · mean + cls`, so it does not depend on the batch size) concatenated
/// in front → `"pos_add"` + position embeddings `[B, T, dim]` →
/// attention: `"q"`, `"k"`, `"v"` MatMul, split into `heads`
/// (`"q_heads"` Reshape `[B, T, h, dh]`, Transposes), `"scores"` QKᵀ·dh^-½,
/// `"probs"` Softmax `[B, h, T, T]`, `"ctx"` probs·V, merged `"merge"`
/// `[B, T, dim]`, `"attn_out"` MatMul Wo → `"resid1"` = pos_add + attn_out →
/// MLP: `"fc1"` (+ b1 `"fc1b"`), exact GELU as Div → Erf → Add → Mul →
/// `"gelu"` Mul, `"fc2"` → `"block"` = fc2 + resid1 (the graph output).
pub fn tiny_vit_model(v: &TinyVit) -> Vec<u8> {
    let w = v.weights();
    let (d, c, p, g, t, h) =
        (v.dim as i64, v.channels as i64, v.patch as i64, v.grid() as i64, v.tokens() as i64, v.heads as i64);
    let dh = d / h;
    let mm = |name: &str, a: &str, b: &str| node(name, "MatMul", &[a, b], vec![]);
    let reshape = |name: &str, x: &str, shape: &str| node(name, "Reshape", &[x, shape], vec![]);
    let transpose = |name: &str, x: &str, perm: &[i64]| node(name, "Transpose", &[x], vec![attr_ints("perm", perm)]);
    let o = out_name;
    let nodes = vec![
        node(
            "patch",
            "Conv",
            &[INPUT_NAME, "patch_w", "patch_b"],
            vec![attr_ints("kernel_shape", &[p, p]), attr_ints("strides", &[p, p])],
        ),
        reshape("flat", &o("patch"), "shape_flat"),
        transpose("tokens", &o("flat"), &[0, 2, 1]),
        node("pool0", "ReduceMean", &[&o("tokens")], vec![attr_ints("axes", &[1]), attr_int("keepdims", 1)]),
        node("zero", "Mul", &[&o("pool0"), "c_zero"], vec![]),
        node("cls", "Add", &[&o("zero"), "cls_token"], vec![]),
        node("seq", "Concat", &[&o("cls"), &o("tokens")], vec![attr_int("axis", 1)]),
        node("pos_add", "Add", &[&o("seq"), "pos_embed"], vec![]),
        mm("q", &o("pos_add"), "wq"),
        mm("k", &o("pos_add"), "wk"),
        mm("v", &o("pos_add"), "wv"),
        reshape("q_heads", &o("q"), "shape_heads"),
        transpose("q_t", &o("q_heads"), &[0, 2, 1, 3]),
        reshape("k_heads", &o("k"), "shape_heads"),
        transpose("k_t", &o("k_heads"), &[0, 2, 3, 1]),
        reshape("v_heads", &o("v"), "shape_heads"),
        transpose("v_t", &o("v_heads"), &[0, 2, 1, 3]),
        mm("scores", &o("q_t"), &o("k_t")),
        node("scaled", "Mul", &[&o("scores"), "c_scale"], vec![]),
        node("probs", "Softmax", &[&o("scaled")], vec![attr_int("axis", -1)]),
        mm("ctx", &o("probs"), &o("v_t")),
        transpose("ctx_t", &o("ctx"), &[0, 2, 1, 3]),
        reshape("merge", &o("ctx_t"), "shape_merge"),
        mm("attn_out", &o("merge"), "wo"),
        node("resid1", "Add", &[&o("pos_add"), &o("attn_out")], vec![]),
        mm("fc1", &o("resid1"), "w1"),
        node("fc1b", "Add", &[&o("fc1"), "b1"], vec![]),
        node("g_div", "Div", &[&o("fc1b"), "c_sqrt2"], vec![]),
        node("g_erf", "Erf", &[&o("g_div")], vec![]),
        node("g_add", "Add", &[&o("g_erf"), "c_one"], vec![]),
        node("g_mul", "Mul", &[&o("fc1b"), &o("g_add")], vec![]),
        node("gelu", "Mul", &[&o("g_mul"), "c_half"], vec![]),
        mm("fc2", &o("gelu"), "w2"),
        node("block", "Add", &[&o("fc2"), &o("resid1")], vec![]),
    ];
    let scalar = |name: &str, x: f32| f32_tensor(name, &[], vec![x]);
    let initializers = vec![
        f32_tensor("patch_w", &[d, c, p, p], w.patch_w),
        f32_tensor("patch_b", &[d], w.patch_b),
        i64_tensor("shape_flat", &[0, d, g * g]),
        i64_tensor("shape_heads", &[0, t, h, dh]),
        i64_tensor("shape_merge", &[0, t, d]),
        scalar("c_zero", 0.0),
        f32_tensor("cls_token", &[1, 1, d], w.cls),
        f32_tensor("pos_embed", &[1, t, d], w.pos),
        f32_tensor("wq", &[d, d], w.wq),
        f32_tensor("wk", &[d, d], w.wk),
        f32_tensor("wv", &[d, d], w.wv),
        f32_tensor("wo", &[d, d], w.wo),
        scalar("c_scale", 1.0 / (dh as f32).sqrt()),
        f32_tensor("w1", &[d, 2 * d], w.w1),
        f32_tensor("b1", &[2 * d], w.b1),
        scalar("c_sqrt2", std::f32::consts::SQRT_2),
        scalar("c_one", 1.0),
        scalar("c_half", 0.5),
        f32_tensor("w2", &[2 * d, d], w.w2),
    ];
    let output = value_info(&out_name("block"), vec![batch_dim(), fixed_dim(v.tokens()), fixed_dim(v.dim)]);
    encode("tiny_vit", v.channels, v.size, v.size, nodes, initializers, output)
}

/// An int64 initializer of rank 1 (e.g. a Reshape's shape).
fn i64_tensor(name: &str, values: &[i64]) -> TensorProto {
    TensorProto {
        name: name.to_string(),
        dims: vec![values.len() as i64],
        data_type: DataType::Int64 as i32,
        int64_data: values.to_vec(),
        ..Default::default()
    }
}

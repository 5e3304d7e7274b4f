//! Transformers: what each tap of a token model is.
//!
//! In: the ONNX graph, its taps (with shapes) and the model card's token
//! layout. Out: every tap's [`TapLayout`] (what its units are), and for the
//! taps of a transformer encoder their [`Role`]: patch embedding, embeddings,
//! and per block the attention probabilities, the attention output, the
//! residual stream after attention, the MLP activation and the block output.
//!
//! Roles come from the graph's structure, not from node names, so they hold
//! for any exporter:
//! - a *residual add* is an `Add` of two token sequences of one shape where
//!   one input (the *skip*) is an ancestor of the other (the *branch*);
//! - a residual add whose branch (the nodes between the skip and the add)
//!   holds a `Softmax` closes an attention sub-block: its branch tensor is
//!   the attention output, its output the mid-block residual stream, the
//!   softmax output the attention probabilities; any other residual add
//!   closes the MLP sub-block, its output is the block's output;
//! - the MLP activation is the output of the branch's first nonlinearity
//!   followed forward through single-consumer elementwise nodes (so the
//!   `Erf`-based GELU that exporters write as Div → Erf → Add → Mul → Mul
//!   ends at its last `Mul`);
//! - the embeddings are the skip input of the first residual add, the patch
//!   embedding a convolution before it whose output is `[C, rows, cols]` of
//!   the patch grid.

use std::collections::HashMap;

use tract_onnx::pb::ModelProto;

use super::taps::{Role, TapInfo, TapLayout, TokenLayout};

/// Ops that make an MLP's nonlinearity (the first one in a branch starts
/// the activation).
const NONLINEAR: &[&str] = &[
    "Erf",
    "Gelu",
    "Relu",
    "Sigmoid",
    "Tanh",
    "HardSigmoid",
    "HardSwish",
    "Softplus",
    "Mish",
    "Elu",
    "Selu",
    "LeakyRelu",
    "Clip",
];
/// Elementwise ops an activation's chain may continue through.
const ELEMENTWISE: &[&str] = &["Add", "Mul", "Div", "Sub", "Pow"];

/// Set every tap's layout from its shape and `tokens`, and, when the model
/// has a token layout, the roles of a transformer's taps.
pub(crate) fn annotate(proto: &ModelProto, taps: &mut [TapInfo], tokens: Option<&TokenLayout>) {
    for t in taps.iter_mut() {
        t.layout = TapLayout::of(&t.shape, &t.op, tokens);
        t.role = None;
    }
    let (Some(tokens), Some(graph)) = (tokens, proto.graph.as_ref()) else { return };
    let nodes = &graph.node;
    let producer: HashMap<&str, usize> =
        nodes.iter().enumerate().flat_map(|(i, n)| n.output.iter().map(move |o| (o.as_str(), i))).collect();
    let mut consumers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        for input in &n.input {
            consumers.entry(input.as_str()).or_default().push(i);
        }
    }
    let tap_of: HashMap<String, usize> = taps.iter().enumerate().map(|(i, t)| (t.tensor.clone(), i)).collect();
    let stream = |name: &str| {
        tap_of
            .get(name)
            .is_some_and(|&i| matches!(taps[i].layout, TapLayout::Tokens { prefix, .. } if prefix == tokens.prefix))
    };
    // the nodes between `skip` (exclusive) and the node `to`, walking inputs
    // back from `to`; None when `skip` is not an ancestor of `to`
    let between = |skip: &str, to: usize| -> Option<Vec<usize>> {
        let floor = producer.get(skip).copied().unwrap_or(0);
        let mut seen = vec![to];
        let mut stack = vec![to];
        let mut found = false;
        while let Some(i) = stack.pop() {
            for input in &nodes[i].input {
                if input == skip {
                    found = true;
                    continue;
                }
                if let Some(&p) = producer.get(input.as_str()) {
                    if p > floor && !seen.contains(&p) {
                        seen.push(p);
                        stack.push(p);
                    }
                }
            }
        }
        found.then_some(seen)
    };

    let mut roles: Vec<(String, Role)> = Vec::new();
    let mut block = 0usize;
    let mut first_skip: Option<String> = None;
    for n in nodes {
        if n.op_type != "Add" || n.input.len() != 2 || !n.output.first().is_some_and(|o| stream(o)) {
            continue;
        }
        let (a, b) = (n.input[0].as_str(), n.input[1].as_str());
        if !(stream(a) || stream(b)) || tap_of.get(a).map(|&k| &taps[k].shape) != tap_of.get(b).map(|&k| &taps[k].shape)
        {
            continue;
        }
        // the skip is the input the other one is computed from
        let order = [(a, b), (b, a)];
        let Some((skip, branch, inner)) = order.iter().find_map(|&(s, br)| {
            let p = *producer.get(br)?;
            between(s, p).map(|inner| (s, br, inner))
        }) else {
            continue;
        };
        let out = n.output[0].clone();
        if let Some(&softmax) = inner.iter().find(|&&k| nodes[k].op_type == "Softmax") {
            first_skip.get_or_insert_with(|| skip.to_string());
            roles.push((branch.to_string(), Role::Attention(block)));
            roles.push((out, Role::Residual(block)));
            if let Some(o) = nodes[softmax].output.first() {
                roles.push((o.clone(), Role::AttentionProbs(block)));
            }
        } else if let Some(&first) = inner.iter().filter(|&&k| NONLINEAR.contains(&nodes[k].op_type.as_str())).min() {
            first_skip.get_or_insert_with(|| skip.to_string());
            // follow the activation forward through its elementwise chain
            let mut cur = first;
            while let Some(o) = nodes[cur].output.first() {
                match consumers.get(o.as_str()).map(Vec::as_slice) {
                    Some(&[next]) if inner.contains(&next) && ELEMENTWISE.contains(&nodes[next].op_type.as_str()) => {
                        cur = next
                    }
                    _ => break,
                }
            }
            if let Some(o) = nodes[cur].output.first() {
                roles.push((o.clone(), Role::Mlp(block)));
            }
            roles.push((out, Role::Block(block)));
            block += 1;
        }
    }
    if let Some(skip) = &first_skip {
        let first = producer.get(skip.as_str()).copied().unwrap_or(0);
        roles.push((skip.clone(), Role::Embeddings));
        for t in taps.iter() {
            let grid_map = t.shape.len() == 3 && t.shape[1] == tokens.grid[0] && t.shape[2] == tokens.grid[1];
            if t.op == "Conv" && grid_map && t.depth <= first {
                roles.push((t.tensor.clone(), Role::PatchEmbedding));
            }
        }
    }
    for (tensor, role) in roles {
        if let Some(&k) = tap_of.get(&tensor) {
            taps[k].role.get_or_insert(role);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_from_shapes() {
        let vit = TokenLayout { prefix: 1, grid: [16, 16] };
        let of = |s: &[usize], op: &str, t: Option<&TokenLayout>| TapLayout::of(s, op, t);
        // no token layout: conv maps and vectors as always, [a, b] unknown
        assert_eq!(of(&[32, 112, 112], "Conv", None), TapLayout::Channels);
        assert_eq!(of(&[1000], "Gemm", None), TapLayout::Channels);
        assert_eq!(of(&[257, 384], "Add", None), TapLayout::Unknown);
        assert_eq!(of(&[6, 257, 257], "Softmax", None), TapLayout::Unknown);
        // with one: tokens, patch-only tokens, attention, the patch conv, inner reshapes
        assert_eq!(of(&[257, 384], "Add", Some(&vit)), TapLayout::Tokens { prefix: 1, grid: [16, 16], channels: 384 });
        assert_eq!(
            of(&[256, 384], "Transpose", Some(&vit)),
            TapLayout::Tokens { prefix: 0, grid: [16, 16], channels: 384 }
        );
        assert_eq!(
            of(&[6, 257, 257], "Softmax", Some(&vit)),
            TapLayout::Attention { heads: 6, prefix: 1, grid: [16, 16] }
        );
        assert_eq!(of(&[384, 16, 16], "Conv", Some(&vit)), TapLayout::Channels);
        assert_eq!(of(&[257, 6, 64], "Reshape", Some(&vit)), TapLayout::Unknown);
        assert_eq!(of(&[6, 257, 64], "Transpose", Some(&vit)), TapLayout::Unknown);
        assert_eq!(of(&[100, 384], "Add", Some(&vit)), TapLayout::Unknown);
        assert_eq!(of(&[256, 6, 64], "Reshape", Some(&vit)), TapLayout::Unknown);
        // a decoder's conv map with as many channels as there are patches
        assert_eq!(of(&[256, 32, 32], "ConvTranspose", Some(&vit)), TapLayout::Channels);
    }

    #[test]
    fn token_layouts_parse() {
        assert_eq!(TokenLayout::parse("1+16x16"), Ok(TokenLayout { prefix: 1, grid: [16, 16] }));
        assert_eq!(TokenLayout::parse("5+14×14").map(|t| t.tokens()), Ok(201));
        assert!(TokenLayout::parse("257").unwrap_err().contains("PREFIX+ROWSxCOLS"));
        assert!(TokenLayout::parse("1+0x16").is_err());
    }
}

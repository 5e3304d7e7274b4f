//! Taps: the node outputs of a model that can be read, how they are chosen
//! (selectors) and how a tap's output becomes units (reductions).
//!
//! A *tap* is the output of one ONNX node, named by the node's name (or, for
//! unnamed nodes, its output tensor's name); users may give either. What a
//! tap's *units* are depends on its [`TapLayout`]:
//!
//! | layout | shape (batch removed) | unit (default reduction) | per-position units |
//! |---|---|---|---|
//! | [`TapLayout::Channels`] | `[C, H, W]` (or `[C]`) | channel: spatial mean | channel × position |
//! | [`TapLayout::Tokens`] | `[S + P, C]`: S special tokens (CLS, registers), P patch tokens | channel: mean over the *patch* tokens | channel × patch (maps onto the patch grid) |
//! | [`TapLayout::Attention`] | `[heads, T, T]` (softmax rows over keys) | head × key token: mean over the patch-token *queries* of the attention paid to that key | every element |
//!
//! Every default reduction is linear, so every nonlinearity seen in a
//! spectrum is the network's. A tensor whose unit axis cannot be told from its
//! shape and the model card ([`TapLayout::Unknown`], e.g. `[257, 384]` when the
//! card says nothing of tokens) is never guessed: probing it is refused with
//! an error that names it and says what to set.

use serde::{Deserialize, Serialize};

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

/// The token sequence of a transformer: `prefix` special tokens (CLS, then
/// registers) followed by the patch tokens of a `grid` (rows × columns) in
/// row-major order. Given by the model card's `tokens` entry, e.g.
/// `"tokens": {"prefix": 1, "grid": [16, 16]}` for ViT-S/14 at 224 px.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenLayout {
    /// Leading special tokens (1 for a CLS token, 1 + r with r registers).
    pub prefix: usize,
    /// Patch grid, rows × columns.
    pub grid: [usize; 2],
}

impl TokenLayout {
    /// Patch tokens (rows × columns).
    pub fn patches(&self) -> usize {
        self.grid[0] * self.grid[1]
    }
    /// All tokens: special + patches.
    pub fn tokens(&self) -> usize {
        self.prefix + self.patches()
    }
    /// Parse `PREFIX+ROWSxCOLS`, e.g. `1+16x16`.
    pub fn parse(s: &str) -> std::result::Result<TokenLayout, String> {
        let bad = || format!("token layout '{s}': expected PREFIX+ROWSxCOLS, e.g. 1+16x16 (CLS + a 16×16 patch grid)");
        let (prefix, grid) = s.trim().split_once('+').ok_or_else(bad)?;
        let (r, c) = grid.split_once(['x', '×']).ok_or_else(bad)?;
        let n = |v: &str| v.trim().parse::<usize>().map_err(|_| bad());
        let layout = TokenLayout { prefix: n(prefix)?, grid: [n(r)?, n(c)?] };
        if layout.patches() == 0 {
            return Err(format!("token layout '{s}': the patch grid is empty"));
        }
        Ok(layout)
    }
}

impl std::fmt::Display for TokenLayout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}+{}x{}", self.prefix, self.grid[0], self.grid[1])
    }
}

/// How a tap's output is laid out, which says what its units are (see the
/// module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum TapLayout {
    /// A convolutional map `[C, spatial…]` or a vector `[C]`: units are
    /// channels (axis 0 after batch).
    Channels,
    /// A token sequence `[prefix + rows·cols, channels]`; `prefix` is 0 for
    /// a sequence of patch tokens only.
    Tokens {
        /// Leading special tokens in this tensor.
        prefix: usize,
        /// Patch grid, rows × columns.
        grid: [usize; 2],
        /// Channels (the last axis).
        channels: usize,
    },
    /// Attention probabilities `[heads, tokens, tokens]` (query × key).
    Attention {
        /// Heads.
        heads: usize,
        /// Leading special tokens.
        prefix: usize,
        /// Patch grid, rows × columns.
        grid: [usize; 2],
    },
    /// The unit axis cannot be told from the shape and the model card.
    Unknown,
}

impl TapLayout {
    /// The layout of a node output of `shape` (batch removed) produced by an
    /// `op`, in a model whose token sequence is `tokens` (None: the card says
    /// nothing of tokens).
    ///
    /// Without a token layout, rank-1 and rank ≥ 3 tensors are channel maps
    /// (as for any CNN), rank-2 tensors and rank ≥ 3 softmax outputs are
    /// [`TapLayout::Unknown`]. With one, `[T, C]` with T = prefix + patches (or
    /// T = patches) is a token sequence, `[h, T, T]` attention, `[C, rows,
    /// cols]` a channel map; tensors inside attention (a token-sized axis
    /// after the first, `[T, heads, head_dim]`, or a reshape with a leading
    /// token axis) unknown; other maps (e.g. a decoder's `[256, 32, 32]`)
    /// channel maps.
    pub fn of(shape: &[usize], op: &str, tokens: Option<&TokenLayout>) -> TapLayout {
        match (tokens, shape) {
            (_, [] | [_]) => TapLayout::Channels,
            (None, [_, _]) => TapLayout::Unknown,
            (None, _) if op == "Softmax" => TapLayout::Unknown,
            (None, _) => TapLayout::Channels,
            (Some(t), &[n, c]) if n == t.tokens() || n == t.patches() => {
                TapLayout::Tokens { prefix: n - t.patches(), grid: t.grid, channels: c }
            }
            (Some(t), &[h, q, k]) if q == k && (q == t.tokens() || q == t.patches()) => {
                TapLayout::Attention { heads: h, prefix: q - t.patches(), grid: t.grid }
            }
            (Some(_), [_, _]) => TapLayout::Unknown,
            // a token axis after the first ([heads, T, head_dim], [heads, head_dim, T]), or first in a
            // tensor that only moves token data ([T, heads, head_dim] reshapes): inside attention
            (Some(t), [first, rest @ ..]) => {
                let token_sized = |d: usize| d == t.tokens() || d == t.patches();
                let moved = matches!(op, "Reshape" | "Transpose" | "Squeeze" | "Unsqueeze" | "Flatten");
                if rest.iter().any(|&d| token_sized(d)) || *first == t.tokens() || (token_sized(*first) && moved) {
                    TapLayout::Unknown
                } else {
                    TapLayout::Channels
                }
            }
        }
    }

    /// A short description for listings: `channels`, `tokens 1+16x16 × 384`,
    /// `attention 6 heads × 257`, `unknown`.
    pub fn describe(&self) -> String {
        match self {
            TapLayout::Channels => "channels".into(),
            TapLayout::Tokens { prefix, grid, channels } => {
                format!("tokens {prefix}+{}x{} × {channels} ch", grid[0], grid[1])
            }
            TapLayout::Attention { heads, prefix, grid } => {
                format!("attention {heads} heads × {} keys", prefix + grid[0] * grid[1])
            }
            TapLayout::Unknown => "unknown unit axis".into(),
        }
    }
}

/// What a tap is in a transformer, found from the graph's structure (see
/// `transformer.rs`): the roles the default taps and the selectors `embed`,
/// `attn`, `attn-probs`, `mlp`, `resid` and `blocks` choose from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "role", content = "block")]
pub enum Role {
    /// The patch embedding (the convolution that cuts the image into patches).
    PatchEmbedding,
    /// The token sequence entering the first block (patches, special tokens,
    /// position embeddings).
    Embeddings,
    /// Block `n`'s attention probabilities (the softmax).
    AttentionProbs(usize),
    /// Block `n`'s attention output (what is added to the residual stream).
    Attention(usize),
    /// The residual stream after block `n`'s attention.
    Residual(usize),
    /// Block `n`'s MLP activation (after the nonlinearity).
    Mlp(usize),
    /// The residual stream after block `n` (the block's output).
    Block(usize),
}

impl Role {
    /// A short label: `patch embedding`, `block 3 attention`, ….
    pub fn label(&self) -> String {
        match self {
            Role::PatchEmbedding => "patch embedding".into(),
            Role::Embeddings => "embeddings".into(),
            Role::AttentionProbs(n) => format!("block {n} attention probs"),
            Role::Attention(n) => format!("block {n} attention out"),
            Role::Residual(n) => format!("block {n} mid residual"),
            Role::Mlp(n) => format!("block {n} MLP activation"),
            Role::Block(n) => format!("block {n} output"),
        }
    }
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
    /// How the output is laid out: what its units are.
    pub layout: TapLayout,
    /// Its role in a transformer, when the graph's structure tells one.
    pub role: Option<Role>,
}

impl TapInfo {
    /// A channel-map tap (layout [`TapLayout::Channels`]) with no role.
    pub fn channel_map(name: &str, tensor: &str, op: &str, shape: Vec<usize>, depth: usize) -> TapInfo {
        TapInfo {
            name: name.into(),
            tensor: tensor.into(),
            op: op.into(),
            shape,
            depth,
            layout: TapLayout::Channels,
            role: None,
        }
    }
    /// Channels: for channel maps the first axis after batch (the units of
    /// the spatial mean), for token sequences the last axis, for attention
    /// the heads.
    pub fn channels(&self) -> usize {
        match self.layout {
            TapLayout::Tokens { channels, .. } => channels,
            TapLayout::Attention { heads, .. } => heads,
            _ => self.shape.first().copied().unwrap_or(1),
        }
    }
    /// Elements per channel of a channel map (spatial positions); the patch
    /// tokens of a token sequence; query × key pairs per head of attention.
    pub fn positions(&self) -> usize {
        match self.layout {
            TapLayout::Tokens { grid, .. } => grid[0] * grid[1],
            TapLayout::Attention { prefix, grid, .. } => (prefix + grid[0] * grid[1]).pow(2),
            _ => self.shape.iter().skip(1).product::<usize>().max(1),
        }
    }
    /// Whether this is a channel map (what the ablation can silence).
    pub fn is_channel_map(&self) -> bool {
        self.layout == TapLayout::Channels
    }
    /// Refuse a tap whose unit axis is unknown: the error names the tensor,
    /// its shape and what to set.
    pub fn check_layout(&self, model: &str) -> crate::error::Result<()> {
        if self.layout != TapLayout::Unknown {
            return Ok(());
        }
        Err(crate::error::Error::Config(format!(
            "tap '{}' of {model} (tensor '{}', shape {:?} per frame): freqtag cannot tell which axis holds its units. \
             If it is a transformer's token sequence [tokens, channels], give the model card a token layout, e.g. \
             \"tokens\": {{\"prefix\": 1, \"grid\": [16, 16]}} for a CLS token and a 16×16 patch grid \
             (CLI: --tokens 1+16x16; library: Model::with_tokens); tensors inside attention with a head axis \
             ([tokens, heads, head_dim] and the like) are not read — tap the attention probabilities or its output instead",
            self.name, self.tensor, self.shape
        )))
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
    /// Token sequences and attention only: the special tokens (CLS,
    /// registers) as their own units, channel × special token (for
    /// attention: the special-token queries' rows).
    SpecialTokens,
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
        self.unit_shape().iter().product()
    }

    /// The shape of this tap's units (their index is row-major in it) and
    /// the names of its axes: `[C]` channels; per-position channel maps
    /// `[C, H, W]`; per-token units `[C, rows, cols]` (the patch grid);
    /// special tokens `[C, S]`; attention `[heads, keys]` (mean over patch
    /// queries), per element `[heads, queries, keys]`.
    pub fn unit_axes(&self) -> (Vec<usize>, Vec<&'static str>) {
        let i = &self.info;
        match (i.layout, self.reduction) {
            (TapLayout::Tokens { grid, channels, .. }, Reduction::PerPosition) => {
                (vec![channels, grid[0], grid[1]], vec!["channel", "row", "col"])
            }
            (TapLayout::Tokens { prefix, channels, .. }, Reduction::SpecialTokens) => {
                (vec![channels, prefix], vec!["channel", "special_token"])
            }
            (TapLayout::Tokens { channels, .. }, _) => (vec![channels], vec!["channel"]),
            (TapLayout::Attention { heads, prefix, grid }, Reduction::PerPosition) => {
                let t = prefix + grid[0] * grid[1];
                (vec![heads, t, t], vec!["head", "query", "key"])
            }
            (TapLayout::Attention { heads, prefix, grid }, Reduction::SpecialTokens) => {
                (vec![heads, prefix, prefix + grid[0] * grid[1]], vec!["head", "special_query", "key"])
            }
            (TapLayout::Attention { heads, prefix, grid }, _) => {
                (vec![heads, prefix + grid[0] * grid[1]], vec!["head", "key"])
            }
            (_, Reduction::PerPosition) => {
                let mut s = i.shape.clone();
                if s.is_empty() {
                    s.push(1);
                }
                let mut names = vec!["channel"];
                names.extend(["d1", "d2", "d3", "d4", "d5"].iter().take(s.len() - 1));
                if s.len() == 3 {
                    names = vec!["channel", "row", "col"];
                }
                (s, names)
            }
            _ => (vec![i.channels()], vec!["channel"]),
        }
    }

    /// The units' shape (see [`Tap::unit_axes`]).
    pub fn unit_shape(&self) -> Vec<usize> {
        self.unit_axes().0
    }

    /// Refuse a reduction this tap's layout cannot take, and unknown layouts.
    pub fn check(&self, model: &str) -> crate::error::Result<()> {
        self.info.check_layout(model)?;
        match (self.info.layout, self.reduction) {
            (TapLayout::Tokens { prefix: 0, .. } | TapLayout::Attention { prefix: 0, .. }, Reduction::SpecialTokens) => {
                Err(crate::error::Error::Config(format!(
                    "tap '{}' of {model} has no special (CLS or register) tokens to read; drop it from the special-token selection",
                    self.info.name
                )))
            }
            (TapLayout::Channels, Reduction::SpecialTokens) => Err(crate::error::Error::Config(format!(
                "tap '{}' of {model} is a channel map (shape {:?}), not a token sequence: it has no special tokens",
                self.info.name, self.info.shape
            ))),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems() {
        assert_eq!(file_stem("/_blocks.8/_swish/Clip"), "_blocks.8-_swish-Clip");
        assert_eq!(file_stem("///"), "tap");
    }
}

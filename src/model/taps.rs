//! Taps: the node outputs of a model that can be read, how they are chosen
//! (selectors) and how a tap's output becomes units (reductions).
//!
//! A *tap* is the output of one ONNX node, named by the node's name (or, for
//! unnamed nodes, its output tensor's name); users may give either. A tap's
//! *units* are its channels (axis 1), each reduced to one number per frame by
//! the spatial mean ([`Reduction::SpatialMean`], linear, so every
//! nonlinearity in a spectrum is the network's), or every element
//! ([`Reduction::PerPosition`]).

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems() {
        assert_eq!(file_stem("/_blocks.8/_swish/Clip"), "_blocks.8-_swish-Clip");
        assert_eq!(file_stem("///"), "tap");
    }
}

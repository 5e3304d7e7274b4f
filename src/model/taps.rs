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

use super::Model;
use crate::error::{Error, Result};
use crate::pattern::{closest_names, glob_match};

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

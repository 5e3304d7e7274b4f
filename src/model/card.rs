//! Model cards: what the loader needs to know beyond the ONNX graph (input
//! size and layout, normalisation, class names, source and licence), read
//! from `<stem>.card.json` beside the `.onnx` file.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::images::Preprocess;
use crate::model::taps::TokenLayout;

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
    /// What the model's output is, in words (e.g. "saliency map [224, 224]");
    /// said in reports instead of classes when the model is not a classifier.
    #[serde(default)]
    pub output: Option<String>,
    /// The token sequence of a transformer (special tokens, patch grid): it
    /// tells which axis of a `[tokens, channels]` tensor holds the units.
    #[serde(default)]
    pub tokens: Option<TokenLayout>,
    /// Where the weights come from.
    #[serde(default)]
    pub source: Option<String>,
    /// Licence of the weights.
    #[serde(default)]
    pub license: Option<String>,
}

pub(crate) fn read_card(path: &Path) -> Result<ModelCard> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("cannot read model card", path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::model_from(path, "invalid model card", e))
}

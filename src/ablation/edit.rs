//! Ablation proper: which units to silence, how, and the edited model.
//!
//! In: a [`Model`] and an [`Ablation`] (per tap, the channels to silence, and
//! a [`Mode`]; parsed from `TAP:CHANNELS` specs or read back from a
//! `mask.json`). Out: an [`Ablated`] model — it runs like any other — with,
//! per tap, the silenced channels and what was edited ([`SilencedTap`]);
//! [`Ablated::write`] exports it as ONNX with a model card beside it and the
//! masks as JSON and `.npy`. The graph surgery itself (finding the producing
//! Conv/Gemm, zeroing its channels, inserting a mask) is in `graph.rs`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use prost::Message;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tract_onnx::pb;

use super::graph::{
    graph_mut, insert_mask, refusal, resolve_producer, zero_channels, GraphIndex, MaskSource, Producer,
};
use crate::error::{Error, Result};
use crate::export::{write_atomic, write_bytes};
use crate::model::{Model, ModelCard, TapInfo};

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
            output: self.model.output.clone(),
            tokens: self.model.tokens,
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

pub(super) fn write_json(path: &Path, v: &serde_json::Value) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_specs_parse_and_complain() {
        let u = TapUnits::parse("/a/b:Relu:0,3,5-7").unwrap();
        assert_eq!((u.tap.as_str(), u.channels), ("/a/b:Relu", vec![0, 3, 5, 6, 7]));
        assert!(TapUnits::parse("relu").unwrap_err().to_string().contains("TAP:CHANNELS"));
        assert!(TapUnits::parse("relu:1,x").unwrap_err().to_string().contains("'x'"));
        assert!(TapUnits::parse("relu:5-2").unwrap_err().to_string().contains("backwards"));
    }
}

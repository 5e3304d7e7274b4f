//! The onnxruntime engine (cargo feature `ort`, chosen at run time with
//! [`Backend::Ort`](super::Backend::Ort)).
//!
//! In: a [`NetSpec`]. Out: a compiled network that runs normalised frames
//! `[batch, C, H, W]` (and any extra inputs) and returns, per tap, either the
//! spatial means `[batch, channels]` (computed in the graph: a
//! `GlobalAveragePool` — `ReduceMean` for maps that are not 4-D — is appended
//! after every spatial-mean tap, so the feature maps never leave
//! onnxruntime) or the whole output (per-position and mean-of-squares taps,
//! reduced by the probe as with tract).
//!
//! The shared library is loaded at run time (the `ort` crate's
//! `load-dynamic`), found by [`super::onnxruntime_library`]; nothing is
//! downloaded at build time. The PyPI `onnxruntime` wheel ships one, and
//! `scripts/install-onnxruntime.sh` installs it where freqtag looks first.
//!
//! Each rayon worker has its own session (one intra-op thread each), as each
//! tract worker has its own state: frames run in parallel, not layers.

use std::sync::{Mutex, OnceLock};

use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::TensorRef;
use prost::Message;
use tract_onnx::pb::{
    attribute_proto::AttributeType, tensor_proto::DataType, type_proto, AttributeProto, NodeProto, TensorProto,
    TypeProto, ValueInfoProto,
};

use super::{Input, NetSpec, Network, Session as EngineSession};
use crate::error::{Error, Result};
use crate::model::taps::Reduction;

/// The onnxruntime environment, created once per process.
static ENVIRONMENT: OnceLock<std::result::Result<ort::environment::Environment, String>> = OnceLock::new();

/// Load onnxruntime (once per process); `path` names the model for the error.
pub(crate) fn environment(path: &std::path::Path) -> Result<&'static ort::environment::Environment> {
    let env = ENVIRONMENT.get_or_init(|| {
        let path = super::onnxruntime_library().ok_or_else(|| {
            "the ort backend needs the onnxruntime shared library, which was not found: run \
             scripts/install-onnxruntime.sh (it puts the PyPI wheel's library under \
             ~/.local/share/freqtag/onnxruntime), or set ORT_DYLIB_PATH to a libonnxruntime.so"
                .to_string()
        })?;
        if !path.is_file() {
            return Err(format!("ORT_DYLIB_PATH={} is not a file", path.display()));
        }
        let builder =
            ort::init_from(&path).map_err(|e| format!("cannot load onnxruntime from {}: {e}", path.display()))?;
        builder.with_name("freqtag").with_telemetry(false).build().map_err(|e| format!("onnxruntime: {e}"))
    });
    env.as_ref().map_err(|m| Error::model(path, m))
}

/// A compiled onnxruntime model reading a set of taps.
pub(crate) struct OrtNet {
    sessions: Vec<Mutex<Session>>,
    input_names: Vec<String>,
    outputs: Vec<String>,
    reduced: Vec<bool>,
    model_name: String,
}

impl OrtNet {
    /// Build the tapped graph and one session per rayon worker.
    pub(crate) fn new(spec: &NetSpec<'_>) -> Result<OrtNet> {
        let (path, taps) = (spec.path, spec.taps);
        let env = environment(path)?;
        let mut proto = spec.proto.clone();
        let opset = crate::model::onnx_opset(&proto);
        let graph = proto.graph.as_mut().ok_or_else(|| Error::model(path, "the ONNX file has no graph"))?;
        let initializers: std::collections::HashSet<String> =
            graph.initializer.iter().map(|t| t.name.clone()).collect();
        let extra: Vec<&str> = spec.extra_inputs.iter().map(|(n, _)| n.as_str()).collect();
        let image_inputs: Vec<String> = graph
            .input
            .iter()
            .filter(|i| !initializers.contains(&i.name) && !extra.contains(&i.name.as_str()))
            .map(|i| i.name.clone())
            .collect();
        let [image_input] = &image_inputs[..] else {
            return Err(Error::model(
                path,
                format!("expected one image input, found {}: {}", image_inputs.len(), image_inputs.join(", ")),
            ));
        };
        let input_names: Vec<String> =
            std::iter::once(image_input.clone()).chain(extra.iter().map(|s| s.to_string())).collect();
        let mut outputs = Vec::with_capacity(taps.len());
        let mut reduced = Vec::with_capacity(taps.len());
        if !taps.is_empty() {
            let float = TypeProto {
                value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                    elem_type: DataType::Float as i32,
                    shape: None,
                })),
                ..Default::default()
            };
            let mut new_outputs = Vec::with_capacity(taps.len());
            for (k, tap) in taps.iter().enumerate() {
                let rank = tap.info.shape.len() + 1;
                // GlobalAveragePool for NCHW maps (the fastest here), ReduceMean for other
                // channel maps; token sequences and attention are reduced by the probe
                let mean = tap.reduction == Reduction::SpatialMean && tap.info.is_channel_map();
                let name = if mean && rank == 4 {
                    let out = format!("freqtag_spatial_mean_{k}");
                    graph.node.push(NodeProto {
                        name: out.clone(),
                        op_type: "GlobalAveragePool".into(),
                        input: vec![tap.info.tensor.clone()],
                        output: vec![out.clone()],
                        ..Default::default()
                    });
                    reduced.push(true);
                    out
                } else if mean && rank > 2 {
                    let out = format!("freqtag_spatial_mean_{k}");
                    let axes: Vec<i64> = (2..rank as i64).collect();
                    let mut node = NodeProto {
                        name: format!("freqtag_spatial_mean_{k}"),
                        op_type: "ReduceMean".into(),
                        input: vec![tap.info.tensor.clone()],
                        output: vec![out.clone()],
                        attribute: vec![AttributeProto {
                            name: "keepdims".into(),
                            r#type: AttributeType::Int as i32,
                            i: 0,
                            ..Default::default()
                        }],
                        ..Default::default()
                    };
                    if opset >= 18 {
                        let axes_name = format!("freqtag_axes_{rank}");
                        if !graph.initializer.iter().any(|t| t.name == axes_name) {
                            graph.initializer.push(TensorProto {
                                name: axes_name.clone(),
                                dims: vec![axes.len() as i64],
                                data_type: DataType::Int64 as i32,
                                int64_data: axes,
                                ..Default::default()
                            });
                        }
                        node.input.push(axes_name);
                    } else {
                        node.attribute.push(AttributeProto {
                            name: "axes".into(),
                            r#type: AttributeType::Ints as i32,
                            ints: axes,
                            ..Default::default()
                        });
                    }
                    graph.node.push(node);
                    reduced.push(true);
                    out
                } else {
                    reduced.push(false);
                    tap.info.tensor.clone()
                };
                new_outputs.push(ValueInfoProto {
                    name: name.clone(),
                    r#type: Some(float.clone()),
                    ..Default::default()
                });
                outputs.push(name);
            }
            graph.output = new_outputs;
        } else {
            outputs = graph.output.iter().map(|o| o.name.clone()).collect();
            reduced = vec![false; outputs.len()];
        }
        let bytes = proto.encode_to_vec();
        let workers = rayon::current_num_threads().max(1);
        let err = |e: ort::Error| Error::model_from(path, "onnxruntime cannot load the tapped graph", e);
        let sessions = (0..workers)
            .map(|_| {
                let s = Session::builder(env)
                    .map_err(err)?
                    .with_optimization_level(GraphOptimizationLevel::Level3)
                    .map_err(|e| err(e.into()))?
                    .with_intra_threads(1) // one session per worker beats one session with 2 threads (bench/README.md)
                    .map_err(|e| err(e.into()))?
                    .with_inter_threads(1)
                    .map_err(|e| err(e.into()))?
                    .commit_from_memory(&bytes)
                    .map_err(err)?;
                Ok(Mutex::new(s))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(OrtNet { sessions, input_names, outputs, reduced, model_name: spec.model_name.to_string() })
    }

    fn error(&self, e: &dyn std::fmt::Display) -> Error {
        Error::Inference { model: self.model_name.clone(), message: e.to_string(), source: None }
    }
}

/// The calling worker's session (one per rayon thread, chosen by index).
struct OrtSession<'a> {
    net: &'a OrtNet,
}

impl Network for OrtNet {
    fn session(&self) -> Result<Box<dyn EngineSession + '_>> {
        Ok(Box::new(OrtSession { net: self }))
    }
    fn reduced(&self, k: usize) -> bool {
        self.reduced.get(k).copied().unwrap_or(false)
    }
}

impl EngineSession for OrtSession<'_> {
    fn run(&mut self, inputs: &[Input<'_>], take: &mut dyn FnMut(usize, &[f32]) -> Result<()>) -> Result<()> {
        let net = self.net;
        if inputs.len() != net.input_names.len() {
            return Err(net.error(&format!(
                "{} inputs given, the graph takes {}",
                inputs.len(),
                net.input_names.len()
            )));
        }
        let slot = rayon::current_thread_index().unwrap_or(0) % net.sessions.len();
        let mut session =
            net.sessions[slot].lock().map_err(|_| net.error(&"a session was poisoned by an earlier failure"))?;
        let mut values = Vec::with_capacity(inputs.len());
        for (name, i) in net.input_names.iter().zip(inputs) {
            let shape: Vec<i64> = i.shape.iter().map(|&d| d as i64).collect();
            let tensor = TensorRef::from_array_view((shape, i.data)).map_err(|e| net.error(&e))?;
            values.push((name.as_str(), ort::session::SessionInputValue::from(tensor)));
        }
        let outs = session.run(values).map_err(|e| net.error(&e))?;
        for (k, name) in net.outputs.iter().enumerate() {
            let (_, data) = outs[name.as_str()].try_extract_tensor::<f32>().map_err(|e| net.error(&e))?;
            take(k, data)?;
        }
        Ok(())
    }
}

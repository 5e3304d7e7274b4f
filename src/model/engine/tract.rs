//! The tract engine: the graph compiled with every input shape pinned
//! (tract is much faster with concrete shapes), one `TypedSimpleState` per
//! worker. Also finds a model's taps (tract's shape inference gives every
//! node output its shape).

use std::path::Path;
use std::sync::Arc;

use tract_onnx::pb::ModelProto;
use tract_onnx::prelude::*;

use super::{Input, NetSpec, Network, OpTime, Session};
use crate::error::{Error, Result};
use crate::model::card::InputSpec;
use crate::model::taps::TapInfo;

/// The graph with its image input pinned to `[batch, C, H, W]`.
fn inference_model(proto: &ModelProto, path: &Path, image_shape: [usize; 4]) -> Result<InferenceModel> {
    let err = |e: TractError| Error::model_from(path, "", e);
    let mut m = tract_onnx::onnx().model_for_proto_model(proto).map_err(err)?;
    m.set_input_fact(0, f32::fact(image_shape).into()).map_err(err)?;
    Ok(m)
}

/// A compiled tract plan.
pub(crate) struct TractNet {
    plan: Arc<TypedSimplePlan>,
    model_name: String,
}

impl TractNet {
    pub(crate) fn new(spec: &NetSpec<'_>) -> Result<TractNet> {
        let err = |e: TractError| Error::model_from(spec.path, "cannot compile", e);
        let mut m = tract_onnx::onnx().model_for_proto_model(spec.proto).map_err(err)?;
        if !spec.extra_inputs.is_empty() {
            // the image input first, then the extra inputs in the order given
            let extra: Vec<&str> = spec.extra_inputs.iter().map(|(n, _)| n.as_str()).collect();
            let mut order = Vec::with_capacity(extra.len() + 1);
            for o in m.input_outlets().map_err(err)? {
                let name = m.node(o.node).name.clone();
                if !extra.contains(&name.as_str()) {
                    order.push(name);
                }
            }
            if order.len() != 1 {
                return Err(Error::model(
                    spec.path,
                    format!("expected one image input, found {}: {}", order.len(), order.join(", ")),
                ));
            }
            order.extend(extra.iter().map(|s| s.to_string()));
            m.set_input_names(&order).map_err(err)?;
        }
        m.set_input_fact(0, f32::fact(spec.image_shape).into()).map_err(err)?;
        for (k, (_, shape)) in spec.extra_inputs.iter().enumerate() {
            m.set_input_fact(k + 1, f32::fact(shape).into()).map_err(err)?;
        }
        if !spec.taps.is_empty() {
            let mut outlets = Vec::with_capacity(spec.taps.len());
            for t in spec.taps {
                let outlet = m.find_outlet_label(&t.info.tensor).ok_or_else(|| Error::UnknownTap {
                    name: t.info.name.clone(),
                    model: spec.model_name.to_string(),
                    suggestions: vec![],
                })?;
                outlets.push(outlet);
            }
            m.select_output_outlets(&outlets).map_err(err)?;
        }
        // declutter, put freqtag's depthwise convolution in (engine/depthwise.rs), optimise
        let mut typed = m.into_typed().and_then(|t| t.into_decluttered()).map_err(err)?;
        super::depthwise::rewrite(&mut typed).map_err(err)?;
        let plan = typed.into_optimized().map_err(err)?.into_runnable().map_err(err)?;
        Ok(TractNet { plan, model_name: spec.model_name.to_string() })
    }

    fn error(&self, e: TractError) -> Error {
        Error::inference(&self.model_name, e)
    }
}

struct TractSession<'a> {
    net: &'a TractNet,
    state: TypedSimpleState,
}

impl Network for TractNet {
    fn session(&self) -> Result<Box<dyn Session + '_>> {
        let state = self.plan.spawn().map_err(|e| self.error(e))?;
        Ok(Box::new(TractSession { net: self, state }))
    }
    fn reduced(&self, _k: usize) -> bool {
        false // tract hands back whole feature maps
    }
}

impl Session for TractSession<'_> {
    fn run(&mut self, inputs: &[Input<'_>], take: &mut dyn FnMut(usize, &[f32]) -> Result<()>) -> Result<()> {
        let tensors = inputs
            .iter()
            .map(|i| Tensor::from_shape(i.shape, i.data).map(TValue::from).map_err(|e| self.net.error(e)))
            .collect::<Result<TVec<TValue>>>()?;
        let out = self.state.run(tensors).map_err(|e| self.net.error(e))?;
        for (k, t) in out.iter().enumerate() {
            let view = t.to_plain_array_view::<f32>().map_err(|e| self.net.error(e))?;
            match view.as_slice() {
                Some(s) => take(k, s)?,
                None => take(k, &view.iter().copied().collect::<Vec<f32>>())?,
            }
        }
        Ok(())
    }

    fn profile(&mut self, inputs: &[Input<'_>]) -> Result<Option<Vec<OpTime>>> {
        let tensors = inputs
            .iter()
            .map(|i| Tensor::from_shape(i.shape, i.data).map(TValue::from).map_err(|e| self.net.error(e)))
            .collect::<Result<TVec<TValue>>>()?;
        let mut times: Vec<OpTime> = Vec::new();
        self.state
            .run_plan_with_eval(tensors, |ctx, state, node, input| {
                let t = std::time::Instant::now();
                let out = tract_onnx::tract_core::plan::eval(ctx, state, node, input);
                let name = node.op().name().to_string();
                let seconds = t.elapsed().as_secs_f64();
                match times.iter_mut().find(|o| o.op == name) {
                    Some(o) => {
                        o.calls += 1;
                        o.seconds += seconds;
                    }
                    None => times.push(OpTime { op: name, calls: 1, seconds }),
                }
                out
            })
            .map_err(|e| self.net.error(e))?;
        times.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
        Ok(Some(times))
    }
}

/// Every node output of the graph that can be tapped: a float tensor with a
/// batch axis of 1, with its shape from tract's inference, in graph order.
pub(crate) fn discover_taps(proto: &ModelProto, path: &Path, input: &InputSpec) -> Result<Vec<TapInfo>> {
    let err = |e: TractError| Error::model_from(path, "cannot analyse the graph", e);
    let graph = proto.graph.as_ref().ok_or_else(|| Error::model(path, "the ONNX file has no graph"))?;
    let mut model = inference_model(proto, path, [1, input.channels, input.height, input.width])?;
    // make every node output a model output so the shapes are all inferred
    let mut outlets = Vec::new();
    let mut nodes = Vec::new();
    for (depth, node) in graph.node.iter().enumerate() {
        let Some(tensor) = node.output.first().filter(|t| !t.is_empty()) else { continue };
        if let Some(outlet) = model.find_outlet_label(tensor) {
            let name = if node.name.is_empty() { tensor.clone() } else { node.name.clone() };
            outlets.push(outlet);
            nodes.push((name, tensor.clone(), node.op_type.clone(), depth));
        }
    }
    model.select_output_outlets(&outlets).map_err(err)?;
    let typed = model.into_typed().map_err(err)?;
    let mut taps = Vec::new();
    for (i, (name, tensor, op, depth)) in nodes.into_iter().enumerate() {
        let outlet = typed.output_outlets().map_err(err)?[i];
        let fact = typed.outlet_fact(outlet).map_err(err)?;
        let Some(shape) = fact.shape.as_concrete() else { continue };
        if shape.first() != Some(&1) || fact.datum_type != f32::datum_type() {
            continue; // not a per-frame float feature (e.g. shape constants)
        }
        taps.push(TapInfo::channel_map(&name, &tensor, &op, shape[1..].to_vec(), depth));
    }
    if taps.is_empty() {
        return Err(Error::model(path, "no tappable float node outputs found"));
    }
    Ok(taps)
}

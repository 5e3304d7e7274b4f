//! Checks the hand-built ONNX models of `tests/common/onnx_models.rs`.
//!
//! For every builder: write the model to a temp dir, load it with tract-onnx,
//! pin the input to `[2, C, H, W]`, expose the named intermediate node outputs
//! as model outputs, optimise, run on a deterministic input and compare with
//! values computed by hand here (relative tolerance 1e-5, floored at 1).

mod common;

use common::onnx_models::{self, out_name, INPUT_NAME, LOGITS_NAME, N_CLASSES};
use tract_onnx::prelude::*;

const BATCH: usize = 2;

/// Deterministic input of shape `[BATCH, c, h, w]`, flattened row-major.
///
/// Values of both signs around a per-item offset: item 0 has a clearly
/// positive mean, item 1 a clearly negative one (so thresholded ReLUs see
/// both branches).
fn test_input(c: usize, h: usize, w: usize) -> Vec<f32> {
    let per_item = c * h * w;
    (0..BATCH * per_item)
        .map(|i| {
            let offset = if i / per_item == 0 { 0.6 } else { -0.7 };
            offset + (0.37 * i as f32).sin() + 0.25 * (1.3 * i as f32).cos()
        })
        .collect()
}

/// Loads `bytes` through a temp file, pins the input to `[BATCH, c, h, w]`,
/// makes the outputs of the nodes named in `taps` (in that order) the model
/// outputs, optimises, runs on `input`, and returns the outputs as f32 arrays.
fn run_taps(
    bytes: &[u8],
    (c, h, w): (usize, usize, usize),
    taps: &[&str],
    input: &[f32],
) -> Vec<tract_ndarray::ArrayD<f32>> {
    let dir = tempfile::tempdir().unwrap();
    let path = onnx_models::write_model(dir.path(), "model.onnx", bytes);

    let mut model = tract_onnx::onnx()
        .model_for_path(&path)
        .unwrap()
        .with_input_fact(0, f32::fact([BATCH, c, h, w]).into())
        .unwrap();
    // Node name -> its first output. (ONNX node name == tract node name.)
    let outlets: Vec<OutletId> =
        taps.iter().map(|name| OutletId::new(model.node_by_name(name).unwrap().id, 0)).collect();
    model.select_output_outlets(&outlets).unwrap();

    let plan = model.into_optimized().unwrap().into_runnable().unwrap();
    let input = Tensor::from_shape(&[BATCH, c, h, w], input).unwrap();
    let outputs = plan.run(tvec!(input.into_tvalue())).unwrap();
    assert_eq!(outputs.len(), taps.len());
    outputs.iter().map(|t| t.to_plain_array_view::<f32>().unwrap().to_owned()).collect()
}

fn assert_close(got: f32, want: f64, what: &str) {
    let tol = 1e-5 * want.abs().max(1.0);
    assert!((got as f64 - want).abs() <= tol, "{what}: got {got}, expected {want} (tolerance {tol:e})");
}

/// Element-wise comparison of a tract output with a hand-computed reference.
fn assert_all_close(got: &tract_ndarray::ArrayD<f32>, want: &[f64], shape: &[usize], what: &str) {
    assert_eq!(got.shape(), shape, "{what}: shape");
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_close(*g, *w, &format!("{what}[{i}]"));
    }
}

/// Per-item mean over C, H, W of the flattened `[BATCH, ...]` input.
fn item_means(input: &[f32]) -> Vec<f64> {
    let per_item = input.len() / BATCH;
    input.chunks(per_item).map(|x| x.iter().map(|&v| v as f64).sum::<f64>() / per_item as f64).collect()
}

#[test]
fn identity_tap_copies_the_input() {
    let shape = (3, 4, 5);
    let input = test_input(shape.0, shape.1, shape.2);
    let out = run_taps(&onnx_models::identity_model(3, 4, 5), shape, &["ident"], &input);
    let want: Vec<f64> = input.iter().map(|&x| x as f64).collect();
    assert_all_close(&out[0], &want, &[BATCH, 3, 4, 5], "ident");
}

#[test]
fn square_tap_is_elementwise_square() {
    let shape = (2, 3, 4);
    let input = test_input(shape.0, shape.1, shape.2);
    let out = run_taps(&onnx_models::square_model(2, 3, 4), shape, &["square"], &input);
    let want: Vec<f64> = input.iter().map(|&x| (x as f64).powi(2)).collect();
    assert_all_close(&out[0], &want, &[BATCH, 2, 3, 4], "square");
}

#[test]
fn mean_square_taps() {
    let shape = (3, 5, 4);
    let input = test_input(shape.0, shape.1, shape.2);
    let out = run_taps(&onnx_models::mean_square_model(3, 5, 4), shape, &["gmean", "gmean_sq"], &input);
    let means = item_means(&input);
    let squares: Vec<f64> = means.iter().map(|m| m * m).collect();
    assert_all_close(&out[0], &means, &[BATCH, 1, 1, 1], "gmean");
    assert_all_close(&out[1], &squares, &[BATCH, 1, 1, 1], "gmean_sq");
}

#[test]
fn relu_of_mean_taps() {
    let shape = (2, 4, 4);
    let threshold = 0.1f32;
    let input = test_input(shape.0, shape.1, shape.2);
    let out =
        run_taps(&onnx_models::relu_of_mean_model(2, 4, 4, threshold), shape, &["gmean", "shift", "relu"], &input);
    let means = item_means(&input);
    let shifted: Vec<f64> = means.iter().map(|m| m - threshold as f64).collect();
    let relu: Vec<f64> = shifted.iter().map(|s| s.max(0.0)).collect();
    // The input is designed so that one item is above the threshold and one below.
    assert!(shifted[0] > 0.05 && shifted[1] < -0.05, "test input not informative: {shifted:?}");
    assert_all_close(&out[0], &means, &[BATCH, 1, 1, 1], "gmean");
    assert_all_close(&out[1], &shifted, &[BATCH, 1, 1, 1], "shift");
    assert_all_close(&out[2], &relu, &[BATCH, 1, 1, 1], "relu");
}

/// Reference 3×3 convolution, padding 1, stride 1: returns `[BATCH, oc, h, w]`
/// flattened, in f64.
fn reference_conv(
    input: &[f32],
    (c, h, w): (usize, usize, usize),
    oc: usize,
    weights: &[f32],
    bias: &[f32],
) -> Vec<f64> {
    let mut out = Vec::with_capacity(BATCH * oc * h * w);
    for n in 0..BATCH {
        for o in 0..oc {
            for y in 0..h {
                for x in 0..w {
                    let mut acc = bias[o] as f64;
                    for i in 0..c {
                        for ky in 0..3 {
                            for kx in 0..3 {
                                let (iy, ix) = (y + ky, x + kx); // shifted by +1 (padding)
                                if iy < 1 || ix < 1 || iy > h || ix > w {
                                    continue; // zero padding
                                }
                                let v = input[((n * c + i) * h + iy - 1) * w + ix - 1] as f64;
                                let k = weights[((o * c + i) * 3 + ky) * 3 + kx] as f64;
                                acc += v * k;
                            }
                        }
                    }
                    out.push(acc);
                }
            }
        }
    }
    out
}

#[test]
fn conv_relu_taps() {
    let (c, h, w, oc, seed) = (3, 6, 5, 4, 7);
    let shape = (c, h, w);
    let input = test_input(c, h, w);
    let out = run_taps(
        &onnx_models::conv_relu_model(c, h, w, oc, seed),
        shape,
        &["conv", "relu", "pool", "flatten", "fc"],
        &input,
    );
    let (cw, cb) = onnx_models::conv_relu_weights(oc, c, seed);
    let (fw, fb) = onnx_models::fc_weights(oc, seed);

    // conv: whole tensor against the reference, then a corner position spelled
    // out term by term (only the 2×2 lower-right part of the kernel sees data).
    let conv = reference_conv(&input, shape, oc, &cw, &cb);
    assert_all_close(&out[0], &conv, &[BATCH, oc, h, w], "conv");
    let (n, o) = (1, 2);
    let mut corner = cb[o] as f64;
    for i in 0..c {
        for ky in 1..3 {
            for kx in 1..3 {
                corner +=
                    cw[((o * c + i) * 3 + ky) * 3 + kx] as f64 * input[((n * c + i) * h + ky - 1) * w + kx - 1] as f64;
            }
        }
    }
    assert_close(out[0][[n, o, 0, 0]], corner, "conv corner (1, 2, 0, 0)");
    // An interior position: full 3×3 window around (y, x) = (2, 3).
    let (y, x) = (2, 3);
    let mut interior = cb[o] as f64;
    for i in 0..c {
        for ky in 0..3 {
            for kx in 0..3 {
                interior += cw[((o * c + i) * 3 + ky) * 3 + kx] as f64
                    * input[((n * c + i) * h + y + ky - 1) * w + x + kx - 1] as f64;
            }
        }
    }
    assert_close(out[0][[n, o, y, x]], interior, "conv interior (1, 2, 2, 3)");

    // relu: both signs must occur in conv for this to test anything.
    assert!(conv.iter().any(|&v| v < -1e-3) && conv.iter().any(|&v| v > 1e-3));
    let relu: Vec<f64> = conv.iter().map(|v| v.max(0.0)).collect();
    assert_all_close(&out[1], &relu, &[BATCH, oc, h, w], "relu");

    // pool: spatial mean of relu per (item, channel); flatten: same values, rank 2.
    let pool: Vec<f64> = relu.chunks(h * w).map(|plane| plane.iter().sum::<f64>() / (h * w) as f64).collect();
    assert_all_close(&out[2], &pool, &[BATCH, oc, 1, 1], "pool");
    assert_all_close(&out[3], &pool, &[BATCH, oc], "flatten");

    // fc (= logits): bias + W · features.
    let logits: Vec<f64> = pool
        .chunks(oc)
        .flat_map(|feat| {
            (0..N_CLASSES)
                .map(|k| fb[k] as f64 + feat.iter().enumerate().map(|(j, f)| fw[k * oc + j] as f64 * f).sum::<f64>())
        })
        .collect();
    assert_all_close(&out[4], &logits, &[BATCH, N_CLASSES], "fc");
}

#[test]
fn conv_weights_are_deterministic_and_seeded() {
    let a = onnx_models::conv_relu_weights(4, 3, 1);
    assert_eq!(a, onnx_models::conv_relu_weights(4, 3, 1));
    assert_ne!(a, onnx_models::conv_relu_weights(4, 3, 2));
    assert_eq!(a.0.len(), 4 * 3 * 9);
    assert_eq!(a.1.len(), 4);
    assert!(a.0.iter().all(|v| (-0.5..0.5).contains(v)));
    assert!(a.1.iter().all(|v| (-0.1..0.1).contains(v)));
}

/// The default model outputs (no re-selection) are the declared graph outputs,
/// and the batch dimension is symbolic until pinned: run with batch 3.
#[test]
fn default_outputs_and_symbolic_batch() {
    let (c, h, w) = (2, 3, 3);
    let dir = tempfile::tempdir().unwrap();
    let path = onnx_models::write_model(dir.path(), "conv.onnx", &onnx_models::conv_relu_model(c, h, w, 3, 1));
    let model = tract_onnx::onnx().model_for_path(&path).unwrap();
    let input_fact = format!("{:?}", model.input_fact(0).unwrap());
    assert!(input_fact.contains("batch"), "input fact not symbolic: {input_fact}");
    let outputs = model.output_outlets().unwrap().to_vec();
    assert_eq!(outputs.len(), 1);
    assert_eq!(model.outlet_label(outputs[0]), Some(LOGITS_NAME));
    assert_eq!(model.node(outputs[0].node).name, "fc");

    let plan = model.into_optimized().unwrap().into_runnable().unwrap();
    let input = Tensor::from_shape(&[3, c, h, w], &vec![0.5f32; 3 * c * h * w]).unwrap();
    let out = plan.run(tvec!(input.into_tvalue())).unwrap();
    assert_eq!(out[0].shape(), &[3, N_CLASSES]);
}

/// Node names come from the ONNX node names; outlet labels from the ONNX
/// output tensor names. Selecting by either gives the same outlet. Also pins
/// the tract op names the probe relies on (Relu is a "Clip" in tract-hir).
#[test]
fn node_names_labels_and_op_names() {
    let (c, h, w) = (2, 4, 4);
    let bytes = onnx_models::conv_relu_model(c, h, w, 3, 5);
    let dir = tempfile::tempdir().unwrap();
    let path = onnx_models::write_model(dir.path(), "conv.onnx", &bytes);

    // The raw protobuf round-trips with the intended names and op types.
    let proto = tract_onnx::onnx().proto_model_for_path(&path).unwrap();
    let graph = proto.graph.as_ref().unwrap();
    let nodes: Vec<(&str, &str)> = graph.node.iter().map(|n| (n.name.as_str(), n.op_type.as_str())).collect();
    assert_eq!(
        nodes,
        [("conv", "Conv"), ("relu", "Relu"), ("pool", "GlobalAveragePool"), ("flatten", "Flatten"), ("fc", "Gemm")]
    );
    assert_eq!(graph.input.len(), 1);
    assert_eq!(graph.input[0].name, INPUT_NAME);

    let model = tract_onnx::onnx().model_for_path(&path).unwrap();
    for name in ["conv", "relu", "pool", "flatten"] {
        let by_node = OutletId::new(model.node_by_name(name).unwrap().id, 0);
        let by_label = model.find_outlet_label(&out_name(name)).unwrap();
        assert_eq!(by_node, by_label, "{name}");
    }
    assert_eq!(model.find_outlet_label(LOGITS_NAME).unwrap(), OutletId::new(model.node_by_name("fc").unwrap().id, 0));

    let op_name = |n: &str| model.node_by_name(n).unwrap().op.name().to_string();
    assert_eq!(op_name(INPUT_NAME), "Source");
    assert_eq!(op_name("conv"), "ConvHir");
    assert_eq!(op_name("relu"), "Clip");
    for node in model.nodes() {
        eprintln!("{:>3} {:<12} {:<20} {:?}", node.id, node.name, node.op.name(), node.outputs.len());
    }
}

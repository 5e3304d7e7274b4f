//! Real models against the original framework's numbers (PyTorch reference
//! files under data/models/reference, written by scripts/export_models.py),
//! and the periodicity shortcut on a real network.

use std::path::{Path, PathBuf};

use freqtag::images::{digits_to_mnist, read_npy_f32, read_npy_labels};
use freqtag::{Analysis, Design, Experiment, Image, Model, Reduction, Tap};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

fn npy(rel: &str) -> ndarray::ArrayD<f32> {
    read_npy_f32(&data().join(rel)).unwrap()
}

fn lite0() -> Model {
    Model::load(data().join("models/efficientnet_lite0.onnx")).unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// ImageNet indices of the domestic and wild cat classes (281–287).
const CATS: std::ops::RangeInclusive<usize> = 281..=287;

#[test]
fn lite0_logits_match_pytorch_and_chelsea_is_a_cat() {
    let model = lite0();
    assert_eq!(model.classes.len(), 1000);
    assert_eq!(model.classes[282], "tiger cat");
    for name in ["chelsea", "coffee"] {
        let input = npy(&format!("models/reference/lite0_{name}_input.npy"));
        let want = npy(&format!("models/reference/lite0_{name}_logits.npy"));
        let got = model.logits_raw(input.as_slice().unwrap(), 1).unwrap();
        let d = max_abs_diff(&got[0], want.as_slice().unwrap());
        assert!(d < 1e-4, "{name}: tract vs PyTorch logits differ by {d}");
    }
    // our own preprocessing of the PNG (float resize, not PIL's 8-bit) still
    // lands close to the reference input, and chelsea's top 3 hold a cat
    let img = model.prepare(&Image::open(data().join("images/chelsea.png")).unwrap()).unwrap();
    let mut ours = img.data.clone();
    model.preprocess.normalise(&mut ours, 3);
    let reference = npy("models/reference/lite0_chelsea_input.npy");
    let mean_diff: f32 = ours.iter().zip(reference.iter()).map(|(a, b)| (a - b).abs()).sum::<f32>() / ours.len() as f32;
    assert!(mean_diff < 0.02, "mean |ours − PIL| = {mean_diff} (normalised units)");
    let logits = model.logits(&[img]).unwrap();
    let top3 = freqtag::experiment::top_k(&logits[0], 3);
    assert!(top3.iter().any(|(i, _)| CATS.contains(i)), "top-3 {top3:?} has no cat");
}

#[test]
fn lite0_tap_means_match_pytorch_hooks() {
    let model = lite0();
    let files = [
        ("/_conv_stem/Conv", "conv_stem_Conv"),
        ("/_swish/Clip", "swish_Clip"),
        ("/_blocks.8/_swish/Clip", "blocks_8_swish_Clip"),
        ("/_blocks.8/_project_conv/Conv", "blocks_8_project_conv_Conv"),
        ("/_swish_1/Clip", "swish_1_Clip"),
    ];
    let taps: Vec<Tap> = files
        .iter()
        .map(|(n, _)| Tap { info: model.tap(n).unwrap().clone(), reduction: Reduction::SpatialMean })
        .collect();
    let probe = model.probe(&taps, 1).unwrap();
    // the reference input is normalised; the probe normalises what it is
    // given, so hand it the [0, 1] values back
    let input = npy("models/reference/lite0_chelsea_input.npy");
    let raw: Vec<f32> = input.iter().map(|v| (v * 128.0 + 127.0) / 255.0).collect();
    let acts = probe.run(1, |_, buf| buf.copy_from_slice(&raw), |_| {}).unwrap();
    for ((name, file), a) in files.iter().zip(&acts) {
        let want = npy(&format!("models/reference/lite0_chelsea_tapmeans_{file}.npy"));
        assert_eq!(a.units, want.len(), "{name}");
        let scale = want.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-3);
        let d = max_abs_diff(&a.data, want.as_slice().unwrap());
        assert!(d < 1e-4 * scale.max(1.0), "{name}: spatial means differ from PyTorch hooks by {d}");
    }
}

#[test]
fn mnist_reads_the_labelled_digits() {
    let model = Model::load(data().join("models/mnist_cnn.onnx")).unwrap();
    let digits = npy("digits/digits_images.npy");
    // digits_images.npy holds uint8 0..16, which read_npy_f32 scales by 1/255
    let digits = digits.mapv(|v| (v * 255.0).round());
    let labels = read_npy_labels(&data().join("digits/digits_labels.npy")).unwrap();
    let images = digits_to_mnist(&digits, true).unwrap();
    assert_eq!(images.len(), 1797);
    // our recipe reproduces the reference inputs and PyTorch's logits
    let reference = npy("models/reference/mnist_digits16_input.npy");
    let mut ours: Vec<f32> = images[..16].iter().flat_map(|i| i.data.clone()).collect();
    for chunk in ours.chunks_mut(784) {
        model.preprocess.normalise(chunk, 1);
    }
    let d = max_abs_diff(&ours, reference.as_slice().unwrap());
    assert!(d < 1e-4, "digit preprocessing differs from the reference by {d}");
    let want = npy("models/reference/mnist_digits16_logits.npy");
    let got: Vec<f32> = model.logits_raw(&ours, 16).unwrap().concat();
    assert!(max_abs_diff(&got, want.as_slice().unwrap()) < 1e-4);
    // accuracy on all 1797 labelled digits
    let probe = model.classifier(16).unwrap();
    let logits = probe.logits(&images).unwrap();
    let correct =
        logits.iter().zip(&labels).filter(|(l, &y)| freqtag::experiment::top_k(l, 1)[0].0 == y as usize).count();
    let acc = correct as f64 / images.len() as f64;
    assert!(acc >= 0.80, "accuracy {acc:.4} on the scikit-learn digits");
}

#[test]
fn period_shortcut_equals_the_full_run_on_lite0() {
    let model = lite0();
    let exp = Experiment::new(model, Design::paper())
        .unwrap()
        .with_taps("/_conv_stem/Conv,/_blocks.4/_swish_1/Clip,/_swish_1/Clip")
        .unwrap();
    let image = Image::open(data().join("images/chelsea.png")).unwrap();
    let short = exp.run(std::slice::from_ref(&image), &|_| {}).unwrap();
    let full_exp = exp.clone().with_analysis(Analysis { full_window: true, ..Analysis::default() });
    let full = full_exp.run(&[image], &|_| {}).unwrap();
    assert_eq!((short.images[0].frames_run, short.images[0].network_frames), (80, 49));
    assert_eq!((full.images[0].frames_run, full.images[0].network_frames), (240, 240));
    for (a, b) in short.images[0].taps.iter().zip(&full.images[0].taps) {
        let (sa, sb) = (&a.spectrum, &b.spectrum);
        assert_eq!((sa.units, sa.bins()), (sb.units, sb.bins()));
        let peak =
            sb.amplitude.iter().enumerate().filter(|(i, _)| i % sb.bins() != 0).fold(0f32, |m, (_, v)| m.max(*v));
        assert!(peak > 0.0, "{}: no response at all", a.tap.info.name);
        let d = max_abs_diff(&sa.amplitude, &sb.amplitude);
        assert!(d <= 1e-4 * peak, "{}: shortcut differs from full run by {d} (peak {peak})", a.tap.info.name);
        // the full run itself has all its energy on the 1.5 Hz lattice grid
        let off: f32 = (0..sb.units)
            .flat_map(|u| (1..sb.bins()).filter(|k| k % 3 != 0).map(move |k| (u, k)))
            .map(|(u, k)| sb.amp(u, k))
            .fold(0.0, f32::max);
        assert!(off <= 1e-4 * peak, "{}: off-lattice energy {off} (peak {peak})", a.tap.info.name);
    }
}

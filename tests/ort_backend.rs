//! The onnxruntime backend gives the same spectra as tract. Needs the
//! onnxruntime library (`scripts/install-onnxruntime.sh`, or
//! `ORT_DYLIB_PATH`); without it these tests say so and pass, unless
//! `FREQTAG_REQUIRE_ORT=1` (set by CI), which makes a missing library fail.
//!
//! Truth: the two engines compute the same network in float32, so every
//! unit's amplitude spectrum must agree to float32 accumulation error (the
//! spatial mean is taken in the graph by onnxruntime, in Rust for tract).
#![cfg(feature = "ort")]

mod common;

use std::path::{Path, PathBuf};

use common::{assert_same_spectra, onnxruntime_here};
use freqtag::probe::Backend;
use freqtag::{Design, Experiment, Image, Model, Results};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

fn run(model: &Path, backend: Backend, taps: &str, per_position: Option<&str>, image: &Image) -> Results {
    let m = Model::load(model).unwrap().with_backend(backend).unwrap_or_else(|e| panic!("{e}"));
    let mut exp = Experiment::new(m, Design::paper()).unwrap().with_taps(taps).unwrap();
    if let Some(p) = per_position {
        exp = exp.per_position(p).unwrap();
    }
    exp.run(std::slice::from_ref(image), &|_| {}).unwrap()
}

#[test]
fn tract_and_onnxruntime_give_the_same_spectra_on_lite0() {
    if !onnxruntime_here() {
        return;
    }
    let model = data().join("models/efficientnet_lite0.onnx");
    let image = Image::open(data().join("images/chelsea.png")).unwrap();
    let tract = run(&model, Backend::Tract, "default", None, &image);
    let ort = run(&model, Backend::Ort, "default", None, &image);
    assert_eq!(tract.units(), 40208);
    assert_same_spectra(&tract, &ort, 1e-3); // seen: 7e-5 on Lite0, 2e-7 on MNIST
    assert_eq!(tract.images[0].top_classes[0].0, ort.images[0].top_classes[0].0);
}

#[test]
fn per_position_and_dense_taps_agree_on_mnist() {
    if !onnxruntime_here() {
        return;
    }
    let model = data().join("models/mnist_cnn.onnx");
    let image = Image::open(data().join("images/camera.png")).unwrap();
    let first_conv = Model::load(&model).unwrap().select_taps("conv").unwrap()[0].name.clone();
    let tract = run(&model, Backend::Tract, "all", Some(&first_conv), &image);
    let ort = run(&model, Backend::Ort, "all", Some(&first_conv), &image);
    assert_same_spectra(&tract, &ort, 1e-3); // seen: 7e-5 on Lite0, 2e-7 on MNIST
}

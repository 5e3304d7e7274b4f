//! The command line as a user meets it: a real run on the shipped MNIST
//! model, and every kind of bad input — each must give a one-line error that
//! names the culprit, a non-zero exit, no panic, and no output files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

fn freqtag(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_freqtag")).args(args).output().expect("the binary runs")
}

fn mnist() -> String {
    data().join("models/mnist_cnn.onnx").to_string_lossy().into_owned()
}

fn camera() -> String {
    data().join("images/camera.png").to_string_lossy().into_owned()
}

/// Run, expect failure with `needle` in a single stderr line, and no files in `out`.
fn fails_with(args: &[&str], needle: &str, out: &Path) {
    let o = freqtag(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{args:?} succeeded");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    assert!(err.contains(needle), "{args:?}: expected '{needle}' in: {err}");
    assert_eq!(err.trim().lines().count(), 1, "{args:?}: error is not one line: {err}");
    let leftovers: Vec<_> = walk(out);
    assert!(leftovers.is_empty(), "{args:?} left files behind: {leftovers:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                v.extend(walk(&p));
            } else {
                v.push(p);
            }
        }
    }
    v
}

#[test]
fn a_run_on_mnist_writes_tables_spectra_plots_and_report() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = freqtag(&["run", "--model", &mnist(), "--image", &camera(), "--out", out.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["design.json", "scores.parquet", "components.parquet", "layers.parquet", "report.html"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let scores = freqtag::export::read_parquet(&out.join("scores.parquet")).unwrap();
    // MNIST default taps: 3 conv + 4 relu outputs; units = channels
    let taps = scores.column("tap").unwrap().as_materialized_series().n_unique().unwrap();
    assert_eq!(taps, 7, "{scores}");
    let spectra = out.join("spectra/camera");
    let sidecar_path = walk(&spectra).into_iter().find(|p| p.to_string_lossy().ends_with(".json")).expect("a sidecar");
    let sidecar: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&sidecar_path).unwrap()).unwrap();
    let npy = sidecar_path.with_file_name(sidecar["amplitude_file"].as_str().unwrap());
    let arr = freqtag::images::read_npy_f32(&npy).unwrap();
    // the paper design runs one 80-frame period of its 240 frames: the file
    // holds the 41 bins that period carries (0, 1.5, … 60 Hz), not the 121
    // of the window, of which the other 80 are exactly zero
    assert_eq!(arr.shape(), &[sidecar["units"].as_u64().unwrap() as usize, 41]);
    assert_eq!((sidecar["frames"].as_u64(), sidecar["frames_run"].as_u64()), (Some(240), Some(80)));
    assert_eq!((sidecar["bins"].as_u64(), sidecar["window_bins"].as_u64()), (Some(41), Some(121)));
    assert_eq!((sidecar["bin_index"][1].as_u64(), sidecar["frequencies_hz"][1].as_f64()), (Some(3), Some(1.5)));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("data:image/png;base64,"), "figures not embedded");
    assert!(!html.contains("src=\"plots/"), "report must not depend on side files");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("report:"), "{stdout}");
}

#[test]
fn a_model_without_a_card_runs_with_explicit_preprocessing() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("bare.onnx");
    std::fs::copy(mnist(), &model).unwrap();
    let out = tmp.path().join("out");
    let (m, o) = (model.to_str().unwrap(), out.to_str().unwrap());
    fails_with(&["run", "--model", m, "--image", &camera(), "--out", o, "--no-report"], "--input CxHxW", &out);
    let r = freqtag(&[
        "run",
        "--model",
        m,
        "--input",
        "1x28x28",
        "--mean",
        "0.1307",
        "--std",
        "0.3081",
        "--image",
        &camera(),
        "--out",
        o,
        "--quiet",
        "--no-report",
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(out.join("scores.parquet").is_file());
}

#[test]
fn inspect_lists_taps_with_ops_and_shapes() {
    let o = freqtag(&["inspect", &mnist()]);
    assert!(o.status.success());
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains(" Conv ") && s.contains(" Relu "), "{s}");
    assert!(s.contains("7 taps"), "{s}");
}

#[test]
fn bad_inputs_get_one_line_errors_and_leave_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    let (m, img) = (mnist(), camera());
    // missing model
    fails_with(
        &["run", "--model", "/nonexistent/model.onnx", "--image", &img, "--out", o],
        "/nonexistent/model.onnx",
        &out,
    );
    // corrupt model (with a card, so the ONNX itself is what fails)
    let bad = tmp.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("broken.onnx"), b"this is not a protobuf at all \xff\xfe").unwrap();
    let card = std::fs::read_to_string(data().join("models/mnist_cnn.card.json"))
        .unwrap()
        .replace("mnist_cnn.onnx", "broken.onnx");
    std::fs::write(bad.join("broken.card.json"), card).unwrap();
    fails_with(
        &["run", "--model", bad.join("broken.onnx").to_str().unwrap(), "--image", &img, "--out", o],
        "not a readable ONNX model",
        &out,
    );
    // an image that cannot be decoded
    let not_image = tmp.path().join("notes.png");
    std::fs::write(&not_image, b"plain text").unwrap();
    fails_with(&["run", "--model", &m, "--image", not_image.to_str().unwrap(), "--out", o], "cannot decode", &out);
    fails_with(&["run", "--model", &m, "--image", "/nonexistent.png", "--out", o], "/nonexistent.png", &out);
    // a tap that does not exist: the closest names are suggested
    let o2 = freqtag(&["inspect", &m, "--all"]);
    let listing = String::from_utf8_lossy(&o2.stdout).to_string();
    let conv =
        listing.lines().find(|l| l.contains(" Conv ")).and_then(|l| l.split_whitespace().last()).unwrap().to_string();
    let typo = format!("{conv}x");
    fails_with(
        &["run", "--model", &m, "--image", &img, "--taps", &typo, "--out", o],
        &format!("did you mean '{conv}'"),
        &out,
    );
    // invalid designs
    fails_with(
        &["run", "--model", &m, "--image", &img, "--freqs", "6.2,7.5", "--out", o],
        "6.2 Hz is off its bin",
        &out,
    );
    fails_with(&["run", "--model", &m, "--image", &img, "--freqs", "6,70", "--out", o], "above Nyquist", &out);
    fails_with(
        &["run", "--model", &m, "--image", &img, "--parts", "quadrants", "--out", o],
        "4 part(s) but 2 tag",
        &out,
    );
    fails_with(&["run", "--model", &m, "--image", &img, "--fs", "-5", "--out", o], "frame rate must be positive", &out);
    // an output folder that cannot be made
    let blocker = tmp.path().join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let o3 = freqtag(&["run", "--model", &m, "--image", &img, "--out", blocker.join("sub").to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o3.stderr);
    assert!(!o3.status.success() && err.contains("cannot create output folder") && !err.contains("panicked"), "{err}");
}

//! Analytic ground truth (METHOD.md, "Analytic ground truth for tests"):
//! tiny ONNX models built here, run through the whole pipeline (stimulus →
//! tract → spectrum → lattice), must give the amplitudes the algebra says,
//! and zero where it says zero.
//!
//! With multiplicative modulation α_k = c + d·sin(ω_k t) on part k:
//! - spatial mean of the input: only DC, f1, f2, amplitude d·S_k/(H·W);
//! - spatial mean of the squared input: f_k with 2cd·Q_k/(H·W), 2f_k with
//!   (d²/2)·Q_k/(H·W), and no IM;
//! - square of the global mean: IMs at f1 ± f2 with amplitude d²·S̃1·S̃2;
//! - a ReLU of the global mean: the whole lattice.

mod common;

use std::f64::consts::PI;
use std::path::PathBuf;

use common::onnx_models::*;
use freqtag::probe::InputSpec;
use freqtag::{Design, Experiment, Image, Model, Preprocess, Results};

const C: usize = 3;
const H: usize = 8;
const W: usize = 10;

fn image() -> Image {
    let data = (0..C * H * W).map(|i| 0.1 + 0.8 * (((i * 37) % 101) as f32 / 100.0)).collect();
    Image::new("synthetic", C, H, W, data).unwrap()
}

fn load(dir: &std::path::Path, name: &str, bytes: Vec<u8>) -> Model {
    let path: PathBuf = write_model(dir, &format!("{name}.onnx"), &bytes);
    let input = InputSpec { name: "input".into(), layout: "NCHW".into(), channels: C, height: H, width: W };
    let identity =
        Preprocess { resize_short_side: None, center_crop: None, value_scale: 1.0, mean: vec![0.0], std: vec![1.0] };
    Model::load_with(path, input, identity).unwrap()
}

fn run(model: Model, taps: &str, design: Design) -> Results {
    Experiment::new(model, design).unwrap().with_taps(taps).unwrap().run(&[image()], &|_| {}).unwrap()
}

/// Sum of the left (k = 0) or right (k = 1) half's pixel values (or their
/// squares) in channel `c` (`None`: all channels).
fn part_sum(k: usize, c: Option<usize>, square: bool) -> f64 {
    let img = image();
    let mut s = 0.0;
    for ch in 0..C {
        if c.is_some_and(|c| c != ch) {
            continue;
        }
        for y in 0..H {
            for x in 0..W {
                if (x < W / 2) == (k == 0) {
                    let v = img.at(ch, y, x) as f64;
                    s += if square { v * v } else { v };
                }
            }
        }
    }
    s
}

const CM: f64 = 0.75; // c
const D: f64 = 0.25; // d
const F1_BIN: usize = 12; // 6 Hz at 0.5 Hz resolution
const F2_BIN: usize = 15; // 7.5 Hz

fn assert_close(got: f32, want: f64, what: &str) {
    let tol = 1e-5 * want.abs().max(1e-2);
    assert!((got as f64 - want).abs() <= tol, "{what}: got {got}, want {want}");
}

#[test]
fn identity_tap_reads_only_the_tags() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(load(dir.path(), "identity", identity_model(C, H, W)), "ident", Design::paper());
    let t = &r.images[0].taps[0];
    assert_eq!(t.tap.info.op, "Identity");
    assert_eq!(t.spectrum.units, C);
    let hw = (H * W) as f64;
    for c in 0..C {
        let (s1, s2) = (part_sum(0, Some(c), false), part_sum(1, Some(c), false));
        assert_close(t.spectrum.amp(c, 0), CM * (s1 + s2) / hw, "DC");
        assert_close(t.spectrum.amp(c, F1_BIN), D * s1 / hw, "f1");
        assert_close(t.spectrum.amp(c, F2_BIN), D * s2 / hw, "f2");
        // a sine reads cosine phase −π/2
        assert!((t.spectrum.unit_phase(c)[F1_BIN] as f64 + PI / 2.0).abs() < 1e-3);
        for k in (1..t.spectrum.bins()).filter(|&k| k != F1_BIN && k != F2_BIN) {
            assert!(t.spectrum.amp(c, k) < 1e-6, "bin {k} of channel {c} reads {}", t.spectrum.amp(c, k));
        }
        let s = &t.scores[c];
        assert!(s.im < 1e-5 && s.integration < 1e-4, "a linear tap shows no IM: {s:?}");
    }
}

#[test]
fn per_position_units_are_single_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let model = load(dir.path(), "identity", identity_model(C, H, W));
    let r = Experiment::new(model, Design::paper()).unwrap().with_taps("ident").unwrap().per_position("ident").unwrap();
    let r = r.run(&[image()], &|_| {}).unwrap();
    let t = &r.images[0].taps[0];
    assert_eq!(t.spectrum.units, C * H * W);
    let img = image();
    for (c, y, x) in [(0, 0, 0), (1, 3, 4), (2, 7, 5), (2, 7, 9)] {
        let u = (c * H + y) * W + x;
        let (on, off) = if x < W / 2 { (F1_BIN, F2_BIN) } else { (F2_BIN, F1_BIN) };
        assert_close(t.spectrum.amp(u, on), D * img.at(c, y, x) as f64, "pixel tag amplitude");
        assert!(t.spectrum.amp(u, off) < 1e-6, "pixel ({c},{y},{x}) sees the other tag");
    }
}

#[test]
fn squared_input_gives_harmonics_but_no_intermodulation() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(load(dir.path(), "square", square_model(C, H, W)), "square", Design::paper());
    let t = &r.images[0].taps[0];
    let hw = (H * W) as f64;
    for c in 0..C {
        for (k, f, h2) in [(0, F1_BIN, 2 * F1_BIN), (1, F2_BIN, 2 * F2_BIN)] {
            let q = part_sum(k, Some(c), true);
            assert_close(t.spectrum.amp(c, f), 2.0 * CM * D * q / hw, "f_k");
            assert_close(t.spectrum.amp(c, h2), D * D / 2.0 * q / hw, "2f_k");
        }
        // f1 + f2 (13.5 Hz), f2 − f1 (1.5 Hz), 2f1 − f2 (4.5 Hz): nothing
        for k in [27, 3, 9] {
            assert!(t.spectrum.amp(c, k) < 1e-6, "IM bin {k} reads {}", t.spectrum.amp(c, k));
        }
        assert!(t.scores[c].im < 1e-5);
        assert!(t.scores[c].share_harmonic > 0.0);
    }
}

#[test]
fn square_of_the_global_mean_intermodulates() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(load(dir.path(), "meansq", mean_square_model(C, H, W)), "gmean,gmean_sq", Design::paper());
    let n = (C * H * W) as f64;
    let (s1, s2) = (part_sum(0, None, false) / n, part_sum(1, None, false) / n);
    let a0 = CM * (s1 + s2);
    let mean = &r.images[0].taps[0];
    assert_close(mean.spectrum.amp(0, F1_BIN), D * s1, "mean f1");
    assert!(mean.spectrum.amp(0, 27) < 1e-7, "the mean itself has no IM");
    let sq = &r.images[0].taps[1];
    let s = &sq.spectrum;
    assert_close(s.amp(0, 27), D * D * s1 * s2, "f1+f2");
    assert_close(s.amp(0, 3), D * D * s1 * s2, "f2-f1");
    assert_close(s.amp(0, F1_BIN), 2.0 * a0 * D * s1, "f1");
    assert_close(s.amp(0, 2 * F2_BIN), D * D * s2 * s2 / 2.0, "2f2");
    // the lattice labels these bins as intermodulations and the scores see them
    let lat = &r.lattice;
    assert_eq!(lat.at_bin(27).unwrap().label, "f1+f2");
    assert_eq!(lat.at_bin(3).unwrap().label, "f2-f1");
    let scores = &sq.scores[0];
    assert_close(scores.im as f32, 2.0 * D * D * s1 * s2, "IM response");
    assert_eq!(scores.significant_im, 2);
}

/// Direct DFT (f64, no FFT library) of a real sequence: single-sided amplitudes.
fn dft_amplitudes(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    (0..=n / 2)
        .map(|k| {
            let (mut re, mut im) = (0.0, 0.0);
            for (i, v) in x.iter().enumerate() {
                let ph = -2.0 * PI * (k * i) as f64 / n as f64;
                re += v * ph.cos();
                im += v * ph.sin();
            }
            let scale = if k == 0 || k == n / 2 { 1.0 } else { 2.0 };
            scale * (re * re + im * im).sqrt() / n as f64
        })
        .collect()
}

#[test]
fn relu_of_the_mean_fills_the_lattice() {
    let dir = tempfile::tempdir().unwrap();
    let n = (C * H * W) as f64;
    let (s1, s2) = (part_sum(0, None, false) / n, part_sum(1, None, false) / n);
    let threshold = CM * (s1 + s2); // rectify at the mean: half-wave
    let model = load(dir.path(), "relu", relu_of_mean_model(C, H, W, threshold as f32));
    let d = Design::paper();
    let r = run(model, "relu", d.clone());
    let s = &r.images[0].taps[0].spectrum;
    let truth: Vec<f64> = (0..d.frames)
        .map(|i| {
            let t = i as f64 / d.fs_hz;
            let m = (CM + D * (2.0 * PI * 6.0 * t).sin()) * s1 + (CM + D * (2.0 * PI * 7.5 * t).sin()) * s2;
            (m - threshold).max(0.0)
        })
        .collect();
    let want = dft_amplitudes(&truth);
    let peak = want[1..].iter().copied().fold(0.0, f64::max);
    for (k, w) in want.iter().enumerate() {
        assert!((s.amp(0, k) as f64 - w).abs() < 1e-5 * peak.max(1e-3), "bin {k}: {} vs {w}", s.amp(0, k));
    }
    // IMs are really there, and all energy sits on the lattice grid
    for k in [27, 3, 9] {
        assert!(want[k] > 1e-3 * peak, "analytic IM at bin {k} is {}", want[k]);
    }
    let scores = &r.images[0].taps[0].scores[0];
    assert!(scores.integration > 0.05, "{scores:?}");
}

/// Both shortcuts (one period; each distinct frame of it once) give the
/// spectrum of a run of every frame of the window, for designs whose frames
/// repeat (the paper's, shifted phases) and one whose frames do not.
#[test]
fn repeated_frames_run_once_and_the_spectrum_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let model = load(dir.path(), "cnn", conv_relu_model(C, H, W, 5, 3));
    let designs = [
        (Design::paper(), 49),
        (Design::paper().modulation(freqtag::Modulation::Contrast).phases(&[0.0, PI / 2.0]), 49),
        (Design::paper().phases(&[0.3, 1.1]), 80),
    ];
    for (design, distinct) in designs {
        let exp = Experiment::new(model.clone(), design.clone()).unwrap().with_taps("relu").unwrap();
        assert_eq!(exp.frames_per_image(), distinct);
        let short = exp.run(&[image()], &|_| {}).unwrap();
        let full_window = freqtag::Analysis { full_window: true, ..Default::default() };
        let full = exp.with_analysis(full_window).run(&[image()], &|_| {}).unwrap();
        let (a, b) = (&short.images[0], &full.images[0]);
        assert_eq!((a.frames_run, a.network_frames), (80, distinct));
        assert_eq!((b.frames_run, b.network_frames), (240, 240));
        let (sa, sb) = (&a.taps[0].spectrum, &b.taps[0].spectrum);
        let peak = sb.amplitude.iter().copied().fold(0f32, f32::max);
        assert!(peak > 0.0);
        let d = sa.amplitude.iter().zip(&sb.amplitude).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
        assert!(d <= 1e-5 * peak, "{design:?}: shortcut differs from the full run by {d} (peak {peak})");
    }
}

/// The `.npy` spectra rebuild the whole window: their columns are the
/// spectrum in memory at `bin_index`, and every bin they leave out is zero.
#[test]
fn exported_spectra_rebuild_the_window() {
    use ndarray_npy::ReadNpyExt;
    let dir = tempfile::tempdir().unwrap();
    let model = load(dir.path(), "relu", relu_of_mean_model(C, H, W, 0.4));
    for (design, carried) in [(Design::paper(), 41), (Design::paper().noise(0.05, 3), 121)] {
        let r = run(model.clone(), "relu", design);
        let out = dir.path().join(format!("out{carried}"));
        let folder = freqtag::export::write_image_spectra(&r, &r.images[0], &out).unwrap();
        let t = &r.images[0].taps[0];
        let stem = t.tap.info.file_stem();
        let sidecar: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(folder.join(format!("{stem}.json"))).unwrap()).unwrap();
        let index: Vec<usize> =
            sidecar["bin_index"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        assert_eq!((index.len(), sidecar["bins"].as_u64()), (carried, Some(carried as u64)));
        for (file, values) in
            [(format!("{stem}.npy"), &t.spectrum.amplitude), (format!("{stem}.phase.npy"), &t.spectrum.phase)]
        {
            let a = ndarray::Array2::<f32>::read_npy(std::fs::File::open(folder.join(&file)).unwrap()).unwrap();
            assert_eq!(a.shape(), &[t.spectrum.units, carried], "{file}");
            let mut full = ndarray::Array2::<f32>::zeros((t.spectrum.units, t.spectrum.bins()));
            for (j, &k) in index.iter().enumerate() {
                full.column_mut(k).assign(&a.column(j));
            }
            assert_eq!(full.as_slice().unwrap(), &values[..], "{file} does not rebuild the window");
        }
        let f = sidecar["frequencies_hz"].as_array().unwrap();
        assert_eq!(f[1].as_f64(), Some(t.spectrum.frequency(index[1])));
    }
}

/// The relative amplitude, no longer a column, is one expression away and
/// equals the library's for every unit that responds.
#[test]
fn relative_amplitude_expression_equals_the_library() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let r = run(load(dir.path(), "cnn", conv_relu_model(C, H, W, 5, 3)), "default", Design::paper());
    let df = freqtag::tables::components(&r)
        .unwrap()
        .lazy()
        .with_column(freqtag::tables::relative_amplitude().unwrap().alias("relative"))
        .collect()
        .unwrap();
    let got = freqtag::stats::columns::floats(&df, "relative").unwrap();
    let want: Vec<f32> =
        r.images[0].taps.iter().flat_map(|t| t.components.iter().flatten().map(|m| m.relative)).collect();
    assert_eq!(got.len(), want.len());
    let responding = want.iter().filter(|w| w.is_finite()).count();
    assert!(responding > 50, "only {responding} finite relative amplitudes");
    for (g, w) in got.iter().zip(&want).filter(|(_, w)| w.is_finite()) {
        assert!((g - *w as f64).abs() <= 1e-6, "{g} vs {w}");
    }
    // tables as freqtag writes them (text columns categorical) filter by
    // string literals, read back as text and join as String tables do
    use freqtag::tables::TextAs;
    let df = freqtag::tables::components_as(&r, &r.images, TextAs::Categorical).unwrap();
    assert!(df.column("tap").unwrap().dtype().is_categorical());
    let relu_f1 =
        df.clone().lazy().filter(col("tap").eq(lit("relu")).and(col("component").eq(lit("f1")))).collect().unwrap();
    assert_eq!(relu_f1.height(), 5, "one row per relu unit");
    assert!(freqtag::stats::columns::strings(&relu_f1, "kind").unwrap().iter().all(|k| k == "fundamental"));
    let scores = freqtag::tables::scores_as(&r, &r.images, TextAs::Categorical).unwrap();
    let joined = df
        .lazy()
        .join(
            scores.lazy(),
            [col("image"), col("tap"), col("unit")],
            [col("image"), col("tap"), col("unit")],
            JoinArgs::new(JoinType::Inner),
        )
        .collect()
        .unwrap();
    assert_eq!(joined.height(), want.len(), "components join scores on image, tap and unit");
}

#[test]
fn noise_makes_neighbour_metrics_meaningful_and_is_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let model = load(dir.path(), "identity", identity_model(C, H, W));
    let design = Design::paper().noise(0.05, 7);
    assert_eq!(design.period_frames(), 240, "noise breaks periodicity");
    let a = run(model.clone(), "ident", design.clone());
    let b = run(model, "ident", design);
    assert_eq!(a.images[0].taps[0].spectrum, b.images[0].taps[0].spectrum, "same seed, same spectrum");
    let t = &a.images[0].taps[0];
    let off: f32 = (1..t.spectrum.bins()).filter(|k| k % 3 != 0).map(|k| t.spectrum.amp(0, k)).sum();
    assert!(off > 0.0, "noise must reach the off-lattice bins");
    let f1 = r_component(&a, "f1");
    for c in 0..C {
        let m = &t.components[c][f1];
        assert!(m.significant && m.neighbours.z > 1.64, "channel {c} f1: {m:?}");
    }
}

fn r_component(r: &Results, label: &str) -> usize {
    r.lattice.components.iter().position(|c| c.label == label).unwrap()
}

#[test]
fn default_taps_are_convolutions_and_activations() {
    let dir = tempfile::tempdir().unwrap();
    let m = load(dir.path(), "cnn", conv_relu_model(C, H, W, 5, 3));
    let taps = m.select_taps("default").unwrap();
    let names: Vec<(&str, &str)> = taps.iter().map(|t| (t.name.as_str(), t.op.as_str())).collect();
    assert_eq!(names, vec![("conv", "Conv"), ("relu", "Relu")]);
    assert_eq!(taps[0].shape, vec![5, H, W]);
    assert_eq!(m.select_taps("op:GlobalAveragePool").unwrap()[0].name, "pool");
    assert_eq!(m.select_taps("*u").unwrap().len(), 1);
    let e = m.select_taps("rleu").unwrap_err().to_string();
    assert!(e.contains("did you mean 'relu'"), "{e}");
}

/// Design variants compared in memory: one table, the variant first, each
/// variant's rows equal to a run of that design on its own.
#[test]
fn compare_designs_stacks_each_variants_scores() {
    use freqtag::sweep::compare_designs;
    let dir = tempfile::tempdir().unwrap();
    let model = load(dir.path(), "cnn", conv_relu_model(C, H, W, 5, 3));
    let contrast = Design::paper().modulation(freqtag::Modulation::Contrast);
    let variants = vec![("paper", Design::paper()), ("contrast", contrast.clone())];
    let mut heard = Vec::new();
    let df = compare_designs(&model, &[image()], "relu", &variants, &mut |v| heard.push(v.clone())).unwrap();
    assert_eq!(
        heard.iter().map(|v| (v.label.as_str(), v.frames_per_image)).collect::<Vec<_>>(),
        [("paper", 49), ("contrast", 49)]
    );
    assert_eq!(df.get_column_names()[0].as_str(), "variant");
    assert_eq!(df.height(), 2 * 5, "5 relu units per variant");
    let labels = freqtag::stats::columns::strings(&df, "variant").unwrap();
    assert_eq!(labels[..5], ["paper"; 5]);
    assert_eq!(labels[5..], ["contrast"; 5]);
    let alone = run(model.clone(), "relu", contrast);
    let want: Vec<f64> = alone.images[0].taps[0].scores.iter().map(|s| s.im).collect();
    let got = freqtag::stats::columns::floats(&df, "im").unwrap();
    for (g, w) in got[5..].iter().zip(&want) {
        assert!((g - w).abs() <= 1e-6 * w.abs().max(1e-3), "{g} vs {w}");
    }
    assert!(want.iter().zip(&got[..5]).any(|(w, p)| (w - p).abs() > 1e-6), "the two designs must differ somewhere");
    // a design with four tags has columns the two-tag design has not
    let quads = freqtag::Design::new(freqtag::PartLayout::Quadrants, &[6.0, 7.5, 8.5, 9.5]);
    let mixed = vec![("halves", Design::paper()), ("quadrants", quads)];
    let df = compare_designs(&model, &[image()], "relu", &mixed, &mut |_| {}).unwrap();
    let f4 = freqtag::stats::columns::floats(&df, "tagged_f4").unwrap();
    assert!(f4[..5].iter().all(|v| v.is_nan()) && f4[5..].iter().all(|v| v.is_finite()), "{f4:?}");
    let twice = vec![("a", Design::paper()), ("a", Design::paper())];
    let e = compare_designs(&model, &[image()], "relu", &twice, &mut |_| {}).unwrap_err().to_string();
    assert!(e.contains("'a' is given twice"), "{e}");
    let none: Vec<(&str, Design)> = vec![];
    assert!(compare_designs(&model, &[image()], "relu", &none, &mut |_| {}).is_err());
}

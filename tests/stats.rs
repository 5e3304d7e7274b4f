//! Statistics across images (`freqtag::stats`): against SciPy's numbers
//! recorded in `tests/fixtures/stats_scipy.json` (by
//! `scripts/stats_fixtures.py`; SciPy is not needed here), on tables with
//! hand-computed answers, and on a tiny analytic model with injected noise
//! whose truth is known: SNR peaks at the tags, ≈ 1 elsewhere.

mod common;

use std::path::PathBuf;

use common::onnx_models::*;
use freqtag::polars::prelude::*;
use freqtag::probe::InputSpec;
use freqtag::stats::{self, columns, distribution, Alternative, Level, TestOptions};
use freqtag::{AcrossImages, Design, Experiment, Image, Model, Preprocess};
use serde_json::Value;

fn fixture() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stats_scipy.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn fs(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(f).collect()
}

fn close(got: f64, want: f64, rel: f64, what: &str) {
    let tol = rel * want.abs().max(1e-300) + 1e-15;
    assert!((got - want).abs() <= tol, "{what}: got {got}, SciPy {want}");
}

#[test]
fn t_distribution_matches_scipy() {
    let fx = fixture();
    assert!(fx["scipy"].as_str().is_some());
    for c in fx["t_distribution"].as_array().unwrap() {
        let df = f(&c["df"]);
        if let Some(cdf) = c.get("cdf") {
            let t = f(&c["t"]);
            close(distribution::t_cdf(t, df), f(cdf), 1e-11, &format!("cdf({t}, {df})"));
        } else {
            let p = f(&c["p"]);
            close(distribution::t_quantile(p, df), f(&c["quantile"]), 1e-10, &format!("quantile({p}, {df})"));
        }
    }
}

fn check_test(t: &stats::Test, c: &Value, what: &str) {
    close(t.t, f(&c["t"]), 1e-11, &format!("{what}: t"));
    close(t.df, f(&c["df"]), 1e-11, &format!("{what}: df"));
    close(t.p_t, f(&c["p_t"]), 1e-9, &format!("{what}: p (t)"));
    close(t.low, f(&c["ci_low"]), 1e-9, &format!("{what}: ci low"));
    close(t.high, f(&c["ci_high"]), 1e-9, &format!("{what}: ci high"));
    assert!(t.exact, "{what}: enumerated");
    close(t.p_perm, f(&c["p_perm"]), 1e-12, &format!("{what}: p (permutation)"));
}

#[test]
fn one_sample_paired_and_welch_match_scipy() {
    let fx = fixture();
    let opts = TestOptions::default();
    for c in fx["one_sample"].as_array().unwrap() {
        let t = stats::one_sample(&fs(&c["x"]), f(&c["mu0"]), &opts).unwrap();
        check_test(&t, c, c["name"].as_str().unwrap());
    }
    for c in fx["paired"].as_array().unwrap() {
        let t = stats::paired(&fs(&c["a"]), &fs(&c["b"]), &opts).unwrap();
        check_test(&t, c, c["name"].as_str().unwrap());
    }
    for c in fx["welch"].as_array().unwrap() {
        let t = stats::two_sample(&fs(&c["a"]), &fs(&c["b"]), &opts).unwrap();
        check_test(&t, c, c["name"].as_str().unwrap());
    }
}

#[test]
fn one_sided_tests_match_scipy() {
    for c in fixture()["one_sided"].as_array().unwrap() {
        let alt = match c["alternative"].as_str().unwrap() {
            "greater" => Alternative::Greater,
            _ => Alternative::Less,
        };
        let t = stats::one_sample(&fs(&c["x"]), f(&c["mu0"]), &TestOptions::default().alternative(alt)).unwrap();
        let what = c["name"].as_str().unwrap();
        close(t.t, f(&c["t"]), 1e-11, &format!("{what}: t"));
        close(t.p_t, f(&c["p_t"]), 1e-9, &format!("{what}: p (t)"));
        close(t.p_perm, f(&c["p_perm"]), 1e-12, &format!("{what}: p (permutation)"));
    }
}

#[test]
fn benjamini_hochberg_matches_scipy() {
    for c in fixture()["bh"].as_array().unwrap() {
        let q = stats::benjamini_hochberg(&fs(&c["p"]));
        for (got, want) in q.iter().zip(fs(&c["q"])) {
            close(*got, want, 1e-12, "BH q");
        }
    }
}

/// Two taps × three images: tap a reads 1, 2, 3; tap b reads 2, 2, 2.
fn small_table(values: [f64; 6]) -> DataFrame {
    df!(
        "tap" => ["a", "a", "a", "b", "b", "b"],
        "image" => ["i0", "i1", "i2", "i0", "i1", "i2"],
        "value" => values,
    )
    .unwrap()
}

#[test]
fn tables_by_hand() {
    let df = small_table([1.0, 2.0, 3.0, 2.0, 2.0, 2.0]);
    let iv = stats::intervals(&df, &["tap"], "value", 0.95).unwrap();
    assert_eq!(columns::strings(&iv, "tap").unwrap(), ["a", "b"]);
    // a: mean 2, sd 1, se 1/√3, t_{0.975, 2} = 4.302652729911275
    let half = 4.302_652_729_911_275 / 3f64.sqrt();
    let (lo, hi) = (columns::floats(&iv, "ci_low").unwrap(), columns::floats(&iv, "ci_high").unwrap());
    assert!((lo[0] - (2.0 - half)).abs() < 1e-9 && (hi[0] - (2.0 + half)).abs() < 1e-9, "{iv}");
    assert_eq!((lo[1], hi[1]), (2.0, 2.0), "sd 0: the interval is the mean");

    let tests = stats::one_sample_tests(&df, &["tap"], "value", 0.0, &TestOptions::default()).unwrap();
    let p_perm = columns::floats(&tests, "p_perm").unwrap();
    // (1, 2, 3) and (2, 2, 2): only all-plus and all-minus reach |Σ| = 6: 2/8
    assert_eq!(p_perm, [0.25, 0.25]);
    let t = columns::floats(&tests, "t").unwrap();
    assert!((t[0] - 2.0 * 3f64.sqrt()).abs() < 1e-12 && t[1].is_infinite());
    // with 3 images no sign-flip p is below 1/4, so nothing is a permutation discovery
    assert_eq!(columns::floats(&tests, "q_perm").unwrap(), [0.25, 0.25]);
    assert!(tests.column("discovery").unwrap().bool().unwrap().iter().all(|d| d == Some(false)));

    // paired: b − 1 against b, matched by image name or by order
    let shifted = small_table([0.0, 1.0, 2.0, 1.0, 1.0, 1.0]);
    for pair_on in [Some("image"), None] {
        let p = stats::paired_tests(&df, &shifted, &["tap"], "value", pair_on, &TestOptions::default()).unwrap();
        assert_eq!(columns::floats(&p, "effect").unwrap(), [1.0, 1.0]);
        assert_eq!(columns::floats(&p, "mean_b").unwrap(), [1.0, 1.0]);
    }
    // a missing image and a missing group are errors that say what is missing
    let fewer = df.slice(0, 5);
    let err = stats::paired_tests(&fewer, &df, &["tap"], "value", None, &TestOptions::default()).unwrap_err();
    assert!(err.to_string().contains("2 rows (images) in the first table and 3"), "{err}");
    let err = stats::two_sample_tests(&df, &df.slice(0, 3), &["tap"], "value", &TestOptions::default()).unwrap_err();
    assert!(err.to_string().contains("(b)"), "{err}");
    assert!(stats::intervals(&df, &["tap"], "nothing", 0.95).unwrap_err().to_string().contains("no column 'nothing'"));

    // two independent sets: tap a (1, 2, 3) against (5, 6, 7): 2 of C(6, 3) = 20 splits as extreme
    let other = small_table([5.0, 6.0, 7.0, 2.0, 2.0, 2.0]);
    let two = stats::two_sample_tests(&df, &other, &["tap"], "value", &TestOptions::default()).unwrap();
    assert_eq!(columns::floats(&two, "p_perm").unwrap()[0], 0.1);
    assert_eq!(columns::floats(&two, "effect").unwrap(), [-4.0, 0.0]);

    let q = stats::with_fdr(&tests, "p_t", 0.05).unwrap();
    assert_eq!(columns::floats(&q, "q_p_t").unwrap(), columns::floats(&tests, "q_t").unwrap());
}

const C: usize = 3;
const H: usize = 8;
const W: usize = 10;

fn image(k: usize) -> Image {
    let data = (0..C * H * W).map(|i| 0.1 + 0.8 * ((((i + 13 * k) * 37) % 101) as f32 / 100.0)).collect();
    Image::new(format!("synthetic{k}"), C, H, W, data).unwrap()
}

fn model(dir: &std::path::Path) -> Model {
    let path = write_model(dir, "mean_square.onnx", &mean_square_model(C, H, W));
    let input = InputSpec { name: "input".into(), layout: "NCHW".into(), channels: C, height: H, width: W };
    let identity =
        Preprocess { resize_short_side: None, center_crop: None, value_scale: 1.0, mean: vec![0.0], std: vec![1.0] };
    Model::load_with(path, input, identity).unwrap()
}

/// The global mean responds at f1 and f2 only, its square adds f1 ± f2
/// (METHOD.md, analytic ground truth); with seeded pixel noise the SNR
/// spectrum peaks there and sits near 1 elsewhere, and the noise-floor tests
/// find exactly the true components.
#[test]
fn snr_spectrum_and_noise_floor_on_an_analytic_model() {
    let dir = tempfile::tempdir().unwrap();
    let design = Design::paper().noise(0.15, 11);
    let images: Vec<Image> = (0..8).map(image).collect();
    let results = Experiment::new(model(dir.path()), design)
        .unwrap()
        .with_taps("gmean,gmean_sq")
        .unwrap()
        .run(&images, &|_| {})
        .unwrap();
    let across = AcrossImages::of(&results);
    assert_eq!(across.images.len(), 8);

    let s = across.snr_spectrum(&["gmean"], 0.95).unwrap();
    let (f1, f2) = (12, 15); // 6 and 7.5 Hz at 0.5 Hz
    let floor = s.off_lattice_mean();
    println!("gmean: SNR at f1 {:.1}, f2 {:.1}; off the lattice {floor:.3}", s.mean[f1], s.mean[f2]);
    assert!(s.mean[f1] > 10.0 && s.mean[f2] > 10.0, "{:?}", &s.mean[10..18]);
    assert!((0.8..1.3).contains(&floor), "noise floor {floor}");
    assert!(s.low[f1] < s.mean[f1] && s.mean[f1] < s.high[f1]);
    assert!(s.mean[0].is_nan(), "DC has no SNR");
    let table = s.table().unwrap();
    assert_eq!(table.height(), 121);

    let tests = across.noise_floor_tests(Level::Tap, "bca", &TestOptions::default()).unwrap();
    let taps = columns::strings(&tests, "tap").unwrap();
    let comps = columns::strings(&tests, "component").unwrap();
    let disc: Vec<bool> = tests.column("discovery").unwrap().bool().unwrap().iter().map(|d| d == Some(true)).collect();
    let found = |tap: &str, comp: &str| {
        let i = taps.iter().zip(&comps).position(|(t, c)| t == tap && c == comp).unwrap();
        disc[i]
    };
    // the truth: gmean carries f1 and f2 only; its square adds 2f1, 2f2, f1+f2, f2−f1
    for c in ["f1", "f2"] {
        assert!(found("gmean", c), "gmean {c}");
    }
    for c in ["2f1", "2f2", "f1+f2", "2f2-f1", "3f1", "2f1+f2"] {
        assert!(!found("gmean", c), "gmean {c} is a false discovery");
    }
    for c in ["f1", "f2", "2f1", "2f2", "f1+f2"] {
        assert!(found("gmean_sq", c), "gmean_sq {c}");
    }
    let gmean_false = (0..taps.len())
        .filter(|&i| taps[i] == "gmean" && disc[i] && !["f1", "f2"].contains(&comps[i].as_str()))
        .count();
    println!(
        "{} discoveries of {} tests; false ones at gmean: {gmean_false}",
        disc.iter().filter(|d| **d).count(),
        disc.len()
    );
    assert_eq!(gmean_false, 0);

    // tables and figures
    let per_image = across.per_image(Level::Tap).unwrap();
    assert_eq!(per_image.height(), 16);
    let iv = across.intervals(Level::Network, "im", 0.95).unwrap();
    assert_eq!(columns::floats(&iv, "n").unwrap(), [8.0]);
    let fig = freqtag::plots::snr_spectrum(&s, "SNR spectrum of the global mean").unwrap();
    assert!(fig.svg.contains("noise level") && fig.svg.contains("f1"), "legend and labels");
    let net = across.noise_floor_tests(Level::Network, "bca", &TestOptions::default()).unwrap();
    let forest = freqtag::plots::forest("noise floor", "BCA", &net, "component", 0.0).unwrap();
    assert_eq!(&forest.png[1..4], b"PNG");
    let profile = freqtag::plots::intervals_profile("integration", "tap", "index", &[("run", &iv)]).unwrap();
    assert!(profile.svg.contains("95% interval"));
    if let Some(dir) = std::env::var_os("FREQTAG_FIGURES_DIR") {
        for f in [&fig, &forest, &profile] {
            f.save(std::path::Path::new(&dir)).unwrap();
        }
    }

    // the report of a run with several images has the section
    let out = tempfile::tempdir().unwrap();
    let (path, _) = freqtag::report::write(&freqtag::summary::Summary::of(&results), &[], out.path()).unwrap();
    let html = std::fs::read_to_string(path).unwrap();
    assert!(html.contains("Across images") && html.contains("Responses against the noise floor"));
    assert!(out.path().join("plots/snr_spectrum.svg").is_file());

    // a noise-free run has no noise floor: a clear error, not NaN tables
    let clean = Experiment::new(model(dir.path()), Design::paper())
        .unwrap()
        .with_taps("gmean")
        .unwrap()
        .run(&images[..2], &|_| {})
        .unwrap();
    let err = AcrossImages::of(&clean).snr_spectrum(&[], 0.95).unwrap_err();
    assert!(err.to_string().contains("injected noise"), "{err}");
}

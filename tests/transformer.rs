//! Vision transformers, against analytic truth: a tiny transformer built
//! here (tests/common/onnx_models.rs, `tiny_vit_model`: patch embedding →
//! CLS + patch tokens → one attention layer → GELU MLP) is tagged with the
//! paper's multiplicative design (left half 6 Hz, right half 7.5 Hz).
//!
//! - Everything up to the attention is linear in the pixels, so the patch
//!   embedding and the embedded tokens carry DC, f1 and f2 only, with
//!   amplitudes the conv weights give exactly; the unit axis is the channel
//!   axis (8 units, not 17 tokens).
//! - The softmax mixes tokens of both halves: the attention output carries
//!   intermodulations.
//! - Attention rows sum to 1, so per head the mean attention received by
//!   all keys sums to 1 in every frame; the CLS token is a constant.
//! - Without a token layout the `[17, 8]` tensors are refused, never guessed.

mod common;

use std::path::PathBuf;

use common::onnx_models::*;
use freqtag::probe::InputSpec;
use freqtag::{Design, Experiment, Image, Model, Preprocess, Reduction, Results, Role, TapLayout, TokenLayout};

const VIT: TinyVit = TinyVit { channels: 3, size: 8, patch: 2, dim: 8, heads: 2, seed: 11 };
const D: f64 = 0.25; // modulation depth of the paper design: α = 0.75 ± 0.25
const F1_BIN: usize = 12; // 6 Hz at 0.5 Hz resolution
const F2_BIN: usize = 15; // 7.5 Hz

fn image() -> Image {
    let n = VIT.channels * VIT.size * VIT.size;
    let data = (0..n).map(|i| 0.1 + 0.8 * (((i * 37) % 101) as f32 / 100.0)).collect();
    Image::new("synthetic", VIT.channels, VIT.size, VIT.size, data).unwrap()
}

fn load(dir: &std::path::Path, tokens: bool) -> Model {
    let path: PathBuf = write_model(dir, "tiny_vit.onnx", &tiny_vit_model(&VIT));
    let input =
        InputSpec { name: "input".into(), layout: "NCHW".into(), channels: 3, height: VIT.size, width: VIT.size };
    let identity =
        Preprocess { resize_short_side: None, center_crop: None, value_scale: 1.0, mean: vec![0.0], std: vec![1.0] };
    let m = Model::load_with(path, input, identity).unwrap();
    if tokens {
        m.with_tokens(TokenLayout { prefix: 1, grid: [VIT.grid(), VIT.grid()] })
    } else {
        m
    }
}

fn run(exp: Experiment) -> Results {
    exp.run(&[image()], &|_| {}).unwrap()
}

/// The patch conv's response to the pixels of one half (`left`), without
/// bias, for output channel `d` and patch `p` (row-major on the grid).
fn patch_response(d: usize, p: usize, left: bool) -> f64 {
    let w = VIT.weights();
    let img = image();
    let (k, g) = (VIT.patch, VIT.grid());
    let (py, px) = (p / g, p % g);
    let mut s = 0.0;
    for c in 0..VIT.channels {
        for ky in 0..k {
            for kx in 0..k {
                let (y, x) = (py * k + ky, px * k + kx);
                if (x < VIT.size / 2) == left {
                    let wi = ((d * VIT.channels + c) * k + ky) * k + kx;
                    s += w.patch_w[wi] as f64 * img.at(c, y, x) as f64;
                }
            }
        }
    }
    s
}

fn tap<'a>(r: &'a Results, name: &str) -> &'a freqtag::TapResult {
    r.images[0].taps.iter().find(|t| t.tap.info.name == name).unwrap_or_else(|| panic!("no tap {name}"))
}

fn amp(r: &Results, name: &str, unit: usize, bin: usize) -> f64 {
    let t = tap(r, name);
    t.spectrum.amplitude[unit * t.spectrum.bins() + bin] as f64
}

fn assert_close(got: f64, want: f64, what: &str) {
    let tol = 2e-5 * want.abs().max(1e-2);
    assert!((got - want).abs() <= tol, "{what}: got {got}, want {want}");
}

#[test]
fn layouts_and_roles_come_from_the_shapes_and_the_graph() {
    let dir = tempfile::tempdir().unwrap();
    let m = load(dir.path(), true);
    let info = |n: &str| m.tap(n).unwrap().clone();
    assert_eq!(info("pos_add").layout, TapLayout::Tokens { prefix: 1, grid: [4, 4], channels: 8 });
    assert_eq!(info("tokens").layout, TapLayout::Tokens { prefix: 0, grid: [4, 4], channels: 8 });
    assert_eq!(info("probs").layout, TapLayout::Attention { heads: 2, prefix: 1, grid: [4, 4] });
    assert_eq!(info("patch").layout, TapLayout::Channels);
    assert_eq!(info("q_heads").layout, TapLayout::Unknown, "[T, heads, head_dim] has no unit axis");
    let names = |sel: &str| m.select_taps(sel).unwrap().into_iter().map(|t| t.name).collect::<Vec<_>>();
    assert_eq!(names("embed"), ["patch", "pos_add"]);
    assert_eq!(names("attn-probs"), ["probs"]);
    assert_eq!(names("attn"), ["attn_out"]);
    assert_eq!(names("resid"), ["resid1"]);
    assert_eq!(names("mlp"), ["gelu"], "the exact GELU ends at its last Mul");
    assert_eq!(names("blocks"), ["block"]);
    assert_eq!(names("default"), ["patch", "attn_out", "gelu", "block"]);
    assert_eq!(info("block").role, Some(Role::Block(0)));
    assert_eq!(info("pos_add").role, Some(Role::Embeddings));
}

#[test]
fn embeddings_carry_only_the_tags_with_the_conv_amplitudes() {
    let dir = tempfile::tempdir().unwrap();
    let exp = Experiment::new(load(dir.path(), true), Design::paper()).unwrap().with_taps("patch,pos_add").unwrap();
    let r = run(exp);
    let t = tap(&r, "pos_add");
    assert_eq!(t.spectrum.units, VIT.dim, "units are the channels, not the 17 tokens");
    for d in 0..VIT.dim {
        let left: f64 = (0..VIT.patches()).map(|p| patch_response(d, p, true)).sum::<f64>() / VIT.patches() as f64;
        let right: f64 = (0..VIT.patches()).map(|p| patch_response(d, p, false)).sum::<f64>() / VIT.patches() as f64;
        for tap in ["patch", "pos_add"] {
            assert_close(amp(&r, tap, d, F1_BIN), D * left.abs(), &format!("{tap} channel {d} at f1"));
            assert_close(amp(&r, tap, d, F2_BIN), D * right.abs(), &format!("{tap} channel {d} at f2"));
            let tag = D * left.abs().max(right.abs());
            for (what, bin) in [("f1+f2", F1_BIN + F2_BIN), ("f2-f1", F2_BIN - F1_BIN), ("2f1", 2 * F1_BIN)] {
                let a = amp(&r, tap, d, bin);
                assert!(a <= 1e-5 * tag, "{tap} channel {d}: {what} is {a}, a linear map makes none");
            }
        }
    }
}

#[test]
fn attention_mixes_the_halves_into_intermodulations() {
    let dir = tempfile::tempdir().unwrap();
    let exp = Experiment::new(load(dir.path(), true), Design::paper()).unwrap().with_taps("pos_add,attn_out").unwrap();
    let r = run(exp);
    let (mut before, mut after, mut tag) = (0f64, 0f64, 0f64);
    for d in 0..VIT.dim {
        before = before.max(amp(&r, "pos_add", d, F1_BIN + F2_BIN));
        after = after.max(amp(&r, "attn_out", d, F1_BIN + F2_BIN).max(amp(&r, "attn_out", d, F2_BIN - F1_BIN)));
        tag = tag.max(amp(&r, "attn_out", d, F1_BIN));
    }
    assert!(before < 1e-6 * tag, "no IM before attention: {before}");
    assert!(after > 1e-3 * tag, "the softmax mixes both halves: IM {after} vs tag {tag}");
}

#[test]
fn attention_rows_sum_to_one_and_the_cls_token_is_constant() {
    let dir = tempfile::tempdir().unwrap();
    let exp = Experiment::new(load(dir.path(), true), Design::paper())
        .unwrap()
        .with_taps("probs")
        .unwrap()
        .special_tokens("pos_add")
        .unwrap();
    let r = run(exp);
    let probs = tap(&r, "probs");
    let t = VIT.tokens();
    assert_eq!(probs.tap.unit_shape(), [VIT.heads, t], "head × key");
    for h in 0..VIT.heads {
        // DC amplitude of a non-negative series is its mean; the keys' means sum to 1
        let dc: f64 = (0..t).map(|k| amp(&r, "probs", h * t + k, 0)).sum();
        assert_close(dc, 1.0, &format!("head {h}: attention received sums to 1"));
    }
    let cls = tap(&r, "pos_add");
    assert_eq!(cls.tap.reduction, Reduction::SpecialTokens);
    assert_eq!(cls.spectrum.units, VIT.dim);
    let w = VIT.weights();
    for d in 0..VIT.dim {
        assert_close(amp(&r, "pos_add", d, 0), (w.cls[d] + w.pos[d]).abs() as f64, &format!("CLS channel {d} at DC"));
        assert!(amp(&r, "pos_add", d, F1_BIN) < 1e-6, "the CLS token does not see the image before attention");
    }
}

#[test]
fn per_token_units_map_onto_the_patch_grid() {
    let dir = tempfile::tempdir().unwrap();
    let exp = Experiment::new(load(dir.path(), true), Design::paper()).unwrap().per_position("tokens").unwrap();
    let r = run(exp);
    let t = tap(&r, "tokens");
    assert_eq!(t.tap.unit_axes(), (vec![VIT.dim, VIT.grid(), VIT.grid()], vec!["channel", "row", "col"]));
    let p_count = VIT.patches();
    for d in 0..VIT.dim {
        for p in 0..p_count {
            let left = p % VIT.grid() < VIT.grid() / 2;
            let want = D * patch_response(d, p, left).abs();
            let (on, off) = if left { (F1_BIN, F2_BIN) } else { (F2_BIN, F1_BIN) };
            assert_close(amp(&r, "tokens", d * p_count + p, on), want, &format!("channel {d} patch {p}"));
            assert!(amp(&r, "tokens", d * p_count + p, off) < 1e-6, "patch {p} sees one half only");
        }
    }
    assert!(r.images[0].top_classes.is_empty(), "no classes, no top-1");
    assert!(r.model_output.contains("no classes"), "{}", r.model_output);
}

#[test]
fn token_tensors_without_a_layout_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let m = load(dir.path(), false);
    // the default never picks an unreadable tap
    let default: Vec<String> = m.select_taps("default").unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(default, ["patch"]);
    let err = Experiment::new(m.clone(), Design::paper()).unwrap().with_taps("pos_add").unwrap_err().to_string();
    for needed in ["pos_add", "pos_add_out", "[17, 8]", "tokens", "--tokens"] {
        assert!(err.contains(needed), "error should name {needed}: {err}");
    }
    let err = m.select_taps("blocks").unwrap_err().to_string();
    assert!(err.contains("token layout"), "{err}");
    // with a layout, tensors inside attention stay refused
    let m = load(dir.path(), true);
    let err = Experiment::new(m.clone(), Design::paper()).unwrap().with_taps("q_heads").unwrap_err().to_string();
    assert!(err.contains("[17, 2, 4]"), "{err}");
    let err = Experiment::new(m, Design::paper()).unwrap().special_tokens("patch").unwrap_err().to_string();
    assert!(err.contains("no special tokens"), "{err}");
}

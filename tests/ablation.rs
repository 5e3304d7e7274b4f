//! Ablation, rankings and deletion curves (src/ablation/) against truths
//! computed here by hand: the silenced unit reads exactly zero and the
//! logits move by exactly its share of the classifier; weight norms and
//! activation statistics from a convolution written out in the test; the
//! evaluation's accuracy, agreement, KL and areas from the classifier's
//! weights; the MNIST model's reference accuracy (1467 / 1797, data/README.md).

mod common;

use std::path::{Path, PathBuf};

use common::onnx_models::{conv_relu_model, conv_relu_weights, fc_weights, write_model, N_CLASSES};
use freqtag::ablation::{
    self, ablate, Ablation, Criterion, CurvePlan, Direction, EvalSet, Evaluator, Mode, Ranking, Stage, StudyConfig,
    UnitMask,
};
use freqtag::images::Preprocess;
use freqtag::probe::InputSpec;
use freqtag::{Design, Error, Experiment, Image, Model, Reduction, Tap};

const SEED: u64 = 7;
const C_IN: usize = 3;
const SIDE: usize = 8;
const C_OUT: usize = 4;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// `input → conv (3×3, pad 1) → relu → pool (global mean) → flatten → fc`.
fn tiny(dir: &Path) -> Model {
    let path = write_model(dir, "tiny.onnx", &conv_relu_model(C_IN, SIDE, SIDE, C_OUT, SEED));
    let input = InputSpec { name: "input".into(), layout: "NCHW".into(), channels: C_IN, height: SIDE, width: SIDE };
    let identity =
        Preprocess { resize_short_side: None, center_crop: None, value_scale: 1.0, mean: vec![0.0], std: vec![1.0] };
    Model::load_with(&path, input, identity).unwrap()
}

fn images(n: usize) -> Vec<Image> {
    (0..n)
        .map(|k| {
            let data = (0..C_IN * SIDE * SIDE).map(|i| 0.5 + 0.5 * (0.37 * (i + 11 * k) as f32).sin()).collect();
            Image::new(format!("img{k}"), C_IN, SIDE, SIDE, data).unwrap()
        })
        .collect()
}

/// Every element of a tap's output for one image.
fn per_position(model: &Model, tap: &str, image: &Image) -> Vec<f32> {
    let t = Tap { info: model.tap(tap).unwrap().clone(), reduction: Reduction::PerPosition };
    let probe = model.probe(&[t], 1).unwrap();
    probe.run(1, |_, buf| buf.copy_from_slice(&image.data), |_| {}).unwrap().remove(0).data
}

/// conv (3×3, pad 1, stride 1) + ReLU by hand: `[C_OUT, SIDE, SIDE]`.
fn conv_relu_by_hand(image: &Image) -> Vec<f32> {
    let (w, b) = conv_relu_weights(C_OUT, C_IN, SEED);
    let mut out = vec![0f32; C_OUT * SIDE * SIDE];
    for o in 0..C_OUT {
        for y in 0..SIDE {
            for x in 0..SIDE {
                let mut s = b[o] as f64;
                for i in 0..C_IN {
                    for ky in 0..3 {
                        for kx in 0..3 {
                            let (yy, xx) = (y as i64 + ky as i64 - 1, x as i64 + kx as i64 - 1);
                            if (0..SIDE as i64).contains(&yy) && (0..SIDE as i64).contains(&xx) {
                                s += w[((o * C_IN + i) * 3 + ky) * 3 + kx] as f64
                                    * image.at(i, yy as usize, xx as usize) as f64;
                            }
                        }
                    }
                }
                out[(o * SIDE + y) * SIDE + x] = s.max(0.0) as f32;
            }
        }
    }
    out
}

/// The classifier by hand from the global means of the ReLU output, with
/// the units in `silenced` set to zero.
fn logits_by_hand(pool: &[f32], silenced: &[usize]) -> Vec<f64> {
    let (w, b) = fc_weights(C_OUT, SEED);
    (0..N_CLASSES)
        .map(|k| {
            b[k] as f64
                + (0..C_OUT)
                    .filter(|j| !silenced.contains(j))
                    .map(|j| w[k * C_OUT + j] as f64 * pool[j] as f64)
                    .sum::<f64>()
        })
        .collect()
}

fn pool_of(relu: &[f32]) -> Vec<f32> {
    relu.chunks(SIDE * SIDE).map(|c| c.iter().sum::<f32>() / (SIDE * SIDE) as f32).collect()
}

fn argmax(v: &[f64]) -> usize {
    (0..v.len()).fold(0, |best, i| if v[i] > v[best] { i } else { best })
}

fn softmax(v: &[f64]) -> Vec<f64> {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = v.iter().map(|x| (x - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|x| x / s).collect()
}

/// The most active ReLU unit on `image` (so that silencing it shows).
fn busiest_unit(relu: &[f32]) -> usize {
    let pool = pool_of(relu);
    (0..C_OUT).fold(0, |best, c| if pool[c] > pool[best] { c } else { best })
}

#[test]
fn zeroing_the_producing_conv_silences_the_unit_and_only_it() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny(dir.path());
    let img = &images(1)[0];
    let before = per_position(&model, "relu", img);
    let hand = conv_relu_by_hand(img);
    assert!(before.iter().zip(&hand).all(|(a, b)| (a - b).abs() < 1e-5), "tract and the hand-written conv disagree");
    let c = busiest_unit(&before);
    let pos = SIDE * SIDE;
    assert!(before[c * pos..(c + 1) * pos].iter().any(|&v| v > 0.0), "unit {c} must be active before");

    let ablated = ablate(&model, &Ablation::new(Mode::ZeroWeights).silence("relu", [c])).unwrap();
    let p = ablated.taps[0].producer.as_ref().unwrap();
    assert_eq!((p.node.as_str(), p.through.clone()), ("conv", vec!["relu".to_string()]));
    let after = per_position(&ablated.model, "relu", img);
    assert!(after[c * pos..(c + 1) * pos].iter().all(|&v| v == 0.0), "the silenced unit is exactly zero");
    for o in (0..C_OUT).filter(|&o| o != c) {
        assert_eq!(before[o * pos..(o + 1) * pos], after[o * pos..(o + 1) * pos], "unit {o} must not change");
    }
    // the conv tap itself is zero too: weights and bias of channel c are zero
    let conv = per_position(&ablated.model, "conv", img);
    assert!(conv[c * pos..(c + 1) * pos].iter().all(|&v| v == 0.0));
    // downstream: the logits move by exactly the unit's share of the classifier
    let la = ablated.model.logits(std::slice::from_ref(img)).unwrap().remove(0);
    let lb = model.logits(std::slice::from_ref(img)).unwrap().remove(0);
    let want = logits_by_hand(&pool_of(&before), &[c]);
    assert!(la.iter().zip(&lb).any(|(a, b)| a != b), "the logits must change");
    for (got, want) in la.iter().zip(&want) {
        assert!((*got as f64 - want).abs() < 1e-5, "ablated logit {got}, by hand {want}");
    }
}

#[test]
fn the_mask_mode_works_after_any_tap_and_zero_mode_refuses_where_it_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny(dir.path());
    let img = &images(2)[1];
    // the global mean is not an activation fed by a conv: zero mode refuses, naming it
    let err = ablate(&model, &Ablation::new(Mode::ZeroWeights).silence("pool", [2])).unwrap_err().to_string();
    assert!(err.contains("'pool' is GlobalAveragePool") && err.contains("--mode mask"), "{err}");
    let ablated = ablate(&model, &Ablation::new(Mode::Mask).silence("pool", [2])).unwrap();
    let node = ablated.taps[0].mask_node.clone().unwrap();
    assert_eq!(node, ablation::mask_node_name("pool"));
    let pool = pool_of(&per_position(&model, "relu", img));
    let masked = per_position(&ablated.model, &node, img);
    assert_eq!(masked[2], 0.0);
    for o in [0, 1, 3] {
        assert!((masked[o] - pool[o]).abs() < 1e-6);
    }
    let la = ablated.model.logits(std::slice::from_ref(img)).unwrap().remove(0);
    for (got, want) in la.iter().zip(logits_by_hand(&pool, &[2])) {
        assert!((*got as f64 - want).abs() < 1e-5, "masked logit {got}, by hand {want}");
    }
}

#[test]
fn bad_units_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny(dir.path());
    let e = ablate(&model, &Ablation::new(Mode::Mask).silence("rleu", [0])).unwrap_err();
    assert!(matches!(&e, Error::UnknownTap { suggestions, .. } if suggestions.contains(&"relu".to_string())), "{e}");
    let e = ablate(&model, &Ablation::new(Mode::ZeroWeights).silence("relu", [1, 9])).unwrap_err().to_string();
    assert_eq!(e, "invalid configuration: tap 'relu' has 4 channels (0–3); channel 9 is out of range");
    let e = ablate(&model, &Ablation::new(Mode::Mask)).unwrap_err().to_string();
    assert!(e.contains("no units"), "{e}");
    // a Relu tap and the conv feeding it are the same units
    let taps = model.select_taps("conv,relu").unwrap();
    let e = ablation::check_distinct_units(&model, &taps).unwrap_err().to_string();
    assert!(e.contains("'relu' and 'conv' are the same units"), "{e}");
    let plan = CurvePlan { network: vec![0.5, 0.3], ..CurvePlan::default() };
    assert!(plan.validate(1).unwrap_err().to_string().contains("must increase"));
}

#[test]
fn exported_model_card_and_masks_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny(dir.path());
    let ablated =
        ablate(&model, &Ablation::new(Mode::ZeroWeights).silence("relu", [3, 0]).silence("relu", [0])).unwrap();
    let out = dir.path().join("out");
    let files = ablated.write(&out, "tiny.ablated").unwrap();
    assert!(files.iter().all(|f| f.exists()), "{files:?}");
    // the written ONNX loads with its card, and unit 0 and 3 read zero
    let again = Model::load(out.join("tiny.ablated.onnx")).unwrap();
    let relu = per_position(&again, "relu", &images(1)[0]);
    assert!(relu[..SIDE * SIDE].iter().chain(&relu[3 * SIDE * SIDE..]).all(|&v| v == 0.0));
    let back = Ablation::from_mask_json(&out.join("mask.json")).unwrap();
    assert_eq!(back.mode, Mode::ZeroWeights);
    assert_eq!((back.units[0].tap.as_str(), back.units[0].channels.clone()), ("relu", vec![0, 3]));
    use ndarray_npy::ReadNpyExt;
    let m = ndarray::Array1::<f32>::read_npy(std::fs::File::open(out.join("masks/relu.npy")).unwrap()).unwrap();
    assert_eq!(m.to_vec(), vec![0.0, 1.0, 1.0, 0.0]);
}

#[test]
fn the_evaluation_matches_a_hand_computed_case() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny(dir.path());
    let imgs = images(5);
    let labels = vec![0u32, 1, 2, 3, 1];
    let taps = model.select_taps("relu").unwrap();
    // batch 2 over 5 images: the last batch is padded
    let ev =
        Evaluator::new(&model, &taps, EvalSet::new(&model, "tiny", &imgs, Some(labels.clone())).unwrap(), 2).unwrap();
    let pools: Vec<Vec<f32>> = imgs.iter().map(|i| pool_of(&conv_relu_by_hand(i))).collect();
    let by_hand = |silenced: &[usize]| -> (f64, f64, f64) {
        let (mut hits, mut same, mut kl) = (0usize, 0usize, 0.0);
        for (pool, &y) in pools.iter().zip(&labels) {
            let (base, abl) = (logits_by_hand(pool, &[]), logits_by_hand(pool, silenced));
            hits += usize::from(argmax(&abl) == y as usize);
            same += usize::from(argmax(&abl) == argmax(&base));
            let (p, q) = (softmax(&base), softmax(&abl));
            kl += p.iter().zip(&q).map(|(p, q)| p * (p / q).ln()).sum::<f64>();
        }
        (hits as f64 / 5.0, same as f64 / 5.0, kl / 5.0)
    };
    let close = |a: f64, b: f64| (a - b).abs() < 1e-5;
    let base = ev.base();
    assert!(close(base.accuracy, by_hand(&[]).0) && base.agreement == 1.0 && base.kl == 0.0);
    let mut mask = UnitMask::ones(&taps);
    mask.silence(0, 1);
    mask.silence(0, 2);
    let d = ev.damage(&mask).unwrap();
    let (acc, agree, kl) = by_hand(&[1, 2]);
    assert!(
        close(d.accuracy, acc) && close(d.agreement, agree) && close(d.kl, kl),
        "{d:?} vs by hand {acc} {agree} {kl}"
    );
    assert!(kl > 0.0);

    // a ranking with known importances: top order 1, 2, 3, 0
    let imp = vec![vec![0.1, 0.4, 0.3, 0.2]];
    let r = Ranking::new(Criterion::Activation, None, &taps, imp.clone(), imp, 0).unwrap();
    let plan = CurvePlan { network: vec![0.5, 0.75], ..CurvePlan::default() };
    let points = ablation::deletion_curves(&ev, &[r], &plan, &|| {}).unwrap();
    assert_eq!(points.len(), 6, "two directions × (unablated + 2 sparsities)");
    assert_eq!(points.iter().map(|p| p.removed).collect::<Vec<_>>(), vec![0, 2, 3, 0, 2, 3]);
    let areas = ablation::areas(&points);
    // trapezoids over 0 → 0.5 → 0.75, divided by the range 0.75
    let trapezoid = |y: [f64; 3]| (0.5 * (y[0] + y[1]) / 2.0 + 0.25 * (y[1] + y[2]) / 2.0) / 0.75;
    let top = [by_hand(&[]), by_hand(&[1, 2]), by_hand(&[1, 2, 3])];
    let bottom = [by_hand(&[]), by_hand(&[0, 3]), by_hand(&[0, 3, 2])];
    for (a, curve) in areas.iter().zip([top, bottom]) {
        assert!(close(a.accuracy, trapezoid(curve.map(|c| c.0))), "{:?} accuracy", a.direction);
        assert!(close(a.agreement, trapezoid(curve.map(|c| c.1))), "{:?} agreement", a.direction);
        assert!(close(a.kl, trapezoid(curve.map(|c| c.2))), "{:?} kl", a.direction);
    }
    assert_eq!((areas[0].direction, areas[1].direction), (Direction::Top, Direction::Bottom));
}

#[test]
fn baselines_match_the_weights_and_a_convolution_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny(dir.path());
    let taps = model.select_taps("relu").unwrap();
    let (w, _) = conv_relu_weights(C_OUT, C_IN, SEED);
    let l1 = ablation::l1_ranking(&model, &taps, 0).unwrap();
    for c in 0..C_OUT {
        let want: f64 = w[c * C_IN * 9..(c + 1) * C_IN * 9].iter().map(|v| v.abs() as f64).sum();
        assert!((l1.values[0][c] - want).abs() < 1e-9, "L1 of unit {c}");
    }
    let imgs = images(3);
    let stats = ablation::activation_stats(&model, &taps, &imgs, &|_| {}).unwrap();
    let (mean_abs, apoz) = (&stats.mean_abs, &stats.apoz);
    let hand: Vec<Vec<f32>> = imgs.iter().map(conv_relu_by_hand).collect();
    let pos = SIDE * SIDE;
    for c in 0..C_OUT {
        let vals: Vec<f32> = hand.iter().flat_map(|h| h[c * pos..(c + 1) * pos].to_vec()).collect();
        let m = vals.iter().map(|v| v.abs() as f64).sum::<f64>() / vals.len() as f64;
        let z = vals.iter().filter(|&&v| v == 0.0).count() as f64 / vals.len() as f64;
        assert!((mean_abs[0][c] - m).abs() < 1e-5, "mean |activation| of unit {c}: {} vs {m}", mean_abs[0][c]);
        assert!((apoz[0][c] - z).abs() < 1e-9, "APoZ of unit {c}: {} vs {z}", apoz[0][c]);
    }
    let (_, zeros) = ablation::activation_rankings(&taps, stats.clone(), 0).unwrap();
    assert!((zeros.importance[0][0] - (1.0 - apoz[0][0])).abs() < 1e-12, "APoZ importance is 1 − APoZ");
}

#[test]
fn rankings_are_deterministic_for_a_seed() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny(dir.path());
    let taps = model.select_taps("relu").unwrap();
    let r3 = ablation::random_ranking(&taps, 3).unwrap();
    assert_eq!(r3, ablation::random_ranking(&taps, 3).unwrap());
    let orders: Vec<Vec<usize>> = (0..6).map(|s| ablation::random_ranking(&taps, s).unwrap().order_in_tap(0)).collect();
    assert!(orders.iter().any(|o| *o != orders[0]), "different seeds give different orders");
    // the whole set, freqtag scores included (noisy design: seeded noise)
    let rank = || {
        let exp = ablation::tagging_experiment(&model, &taps, Design::paper().noise(0.02, 5)).unwrap();
        let results = exp.run(&images(2), &|_| {}).unwrap();
        let mut r = ablation::tagging_rankings(&results, &taps, &Criterion::ALL, 11).unwrap();
        r.push(ablation::l1_ranking(&model, &taps, 11).unwrap());
        r
    };
    let (a, b) = (rank(), rank());
    assert_eq!(a.len(), 5);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            x.values.iter().flatten().map(|v| v.to_bits()).collect::<Vec<_>>(),
            y.values.iter().flatten().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "{}",
            x.label()
        );
        assert_eq!(x.order_in_tap(0), y.order_in_tap(0));
        assert_eq!(x.order_network(), y.order_network());
    }
    // the scores are the experiment's, averaged over images
    let exp = Experiment::new(model.clone(), Design::paper().noise(0.02, 5)).unwrap().with_taps("relu").unwrap();
    let results = exp.run(&images(2), &|_| {}).unwrap();
    let mean0 =
        (results.images[0].taps[0].scores[0].tagged_total + results.images[1].taps[0].scores[0].tagged_total) / 2.0;
    assert!((a[0].values[0][0] - mean0).abs() < 1e-12 && a[0].criterion == Criterion::TaggedTotal);
}

fn mnist() -> Model {
    Model::load(data().join("models/mnist_cnn.onnx")).unwrap()
}

#[test]
fn mnist_reference_accuracy_runtime_masks_and_a_collapsed_layer() {
    let model = mnist();
    let (digits, labels) = ablation::load_digits(&data()).unwrap();
    let taps = model.select_taps("act").unwrap();
    assert_eq!(taps.len(), 4);
    let ev =
        Evaluator::new(&model, &taps, EvalSet::new(&model, "all digits", &digits, Some(labels.clone())).unwrap(), 1)
            .unwrap();
    // data/README.md: the recipe scores 1467 / 1797 with PyTorch and onnxruntime
    assert_eq!((ev.base().accuracy * 1797.0).round() as usize, 1467);
    // the runtime mask gives the logits of the model with zeroed weights, and of the mask mode
    let units = Ablation::new(Mode::ZeroWeights)
        .silence("/conv_layers/conv_layers.4/Relu", [0, 5, 9, 33])
        .silence("/fc_layers/fc_layers.1/Relu", 0..100);
    let zeroed = ablate(&model, &units).unwrap();
    let masked = ablate(&model, &Ablation { mode: Mode::Mask, ..units.clone() }).unwrap();
    let mut mask = UnitMask::ones(&taps);
    for (t, chans) in [(1usize, vec![0, 5, 9, 33]), (3, (0..100).collect())] {
        chans.into_iter().for_each(|u| mask.silence(t, u));
    }
    let some = &ev.set().images[..64];
    let runtime = ev.logits(&mask).unwrap();
    for other in [zeroed.model.logits(some).unwrap(), masked.model.logits(some).unwrap()] {
        let d = runtime
            .iter()
            .zip(&other)
            .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs()))
            .fold(0f32, f32::max);
        assert!(d < 1e-4, "runtime mask vs edited model: logits differ by {d}");
    }
    // silencing every unit of the last conv layer leaves one constant answer
    let mut all = UnitMask::ones(&taps);
    (0..128).for_each(|u| all.silence(2, u));
    let logits = ev.logits(&all).unwrap();
    let answer = ablation::argmax(&logits[0]);
    assert!(logits.iter().all(|l| ablation::argmax(l) == answer));
    let share = labels.iter().filter(|&&y| y as usize == answer).count() as f64 / labels.len() as f64;
    assert!((ev.damage(&all).unwrap().accuracy - share).abs() < 1e-12);
}

#[test]
fn a_small_mnist_study_ranks_measures_and_writes_everything() {
    let model = mnist();
    let (digits, labels) = ablation::load_digits(&data()).unwrap();
    let taps = model.select_taps("act").unwrap();
    let eval = EvalSet::new(&model, "digits 100–219", &digits[100..220], Some(labels[100..220].to_vec())).unwrap();
    let cfg = StudyConfig {
        taps: taps.clone(),
        design: Design::paper().noise(0.02, 0),
        criteria: Criterion::ALL.to_vec(),
        seeds: vec![0, 1],
        tie_seed: 0,
        plan: CurvePlan { network: vec![0.5], per_tap: vec![2], layer: vec![0.5], tap_sparsities: vec![] },
        batch: 1,
        bootstrap: ablation::Bootstrap { resamples: 200, level: 0.95, seed: 0 },
        probe_network: false,
        probe_layers: false,
    };
    let evaluations = std::sync::atomic::AtomicUsize::new(0);
    let progress = |s: Stage, n: usize| {
        if s == Stage::Curves {
            evaluations.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        }
    };
    let mut parts = Vec::new();
    let study = ablation::run_study_with(&model, &cfg, &digits[..8], eval, &progress, &mut |p| {
        parts.push(match p {
            ablation::Part::Rankings(r, _) => format!("rankings {}", r.len()),
            ablation::Part::Probe(..) => "probe".to_string(),
            ablation::Part::Plan(_, n) => format!("plan {n}"),
            ablation::Part::Scope { scope, done, of, .. } => format!("{scope} {done}/{of}"),
        });
        Ok(())
    })
    .unwrap();
    let n = cfg.plan.evaluations(&cfg.criteria, 2);
    assert_eq!(evaluations.into_inner(), n);
    let (tap2, plan) = (format!("{} 2/2", taps[2].name), format!("plan {n}"));
    assert_eq!(parts, vec!["rankings 9", plan.as_str(), "network 1/2", tap2.as_str()], "finished parts, in order");
    // every area has a bootstrap interval around it (the area is the mean of the images' areas)
    for r in &study.summary {
        let (a, i) = (r.accuracy, r.accuracy.ci);
        assert!(
            i.lo <= a.mean + 1e-12 && a.mean <= i.hi + 1e-12 && i.hi - i.lo < 0.5,
            "{} {:?}: {a:?}",
            r.scope,
            r.direction
        );
        assert_eq!(r.per_image.accuracy.len(), 120);
        let mean = r.per_image.accuracy.iter().sum::<f64>() / 120.0;
        assert!((mean - a.mean).abs() < 1e-9, "per-image areas average to the area");
    }
    // the floor: the share of the commonest label among the 120 evaluation digits
    let mut counts = [0usize; 10];
    labels[100..220].iter().for_each(|&l| counts[l as usize] += 1);
    assert_eq!(study.floor.accuracy, *counts.iter().max().unwrap() as f64 / 120.0);
    assert!(study.markdown().contains("95 % percentile bootstrap interval over the 120 evaluation images"));
    // every point has its interval, on the same resamples: it holds the point; the unablated point
    // agrees with itself on every digit, so its agreement interval is the single value 1
    assert_eq!(study.point_summary.len(), (7 * 2 + 1) * 2 * 2, "seeds averaged: 15 curves × 2 points × 2 scopes");
    for p in &study.point_summary {
        let (y, i) = (p.damage.accuracy, p.ci.accuracy);
        assert!(i.lo <= y + 1e-12 && y <= i.hi + 1e-12 && i.hi - i.lo < 0.5, "{p:?}");
        if p.sparsity == 0.0 {
            assert_eq!((p.ci.agreement.lo, p.ci.agreement.hi), (1.0, 1.0));
        }
    }
    // random: seeds averaged per digit, so the interval is of the mean of the two seeds' points
    let r = study.point_summary.iter().find(|p| p.criterion == Criterion::Random && p.sparsity == 0.5).unwrap();
    let seeds: Vec<f64> = study
        .points
        .iter()
        .filter(|p| p.scope == r.scope && p.criterion == Criterion::Random && p.sparsity == 0.5)
        .map(|p| p.damage.accuracy)
        .collect();
    assert_eq!((r.curves, seeds.len()), (2, 2));
    assert!((r.damage.accuracy - (seeds[0] + seeds[1]) / 2.0).abs() < 1e-12);
    // the given sparsities are said to be given
    let why: Vec<String> = study.sparsities().into_iter().map(|s| s.why).collect();
    assert!(why[0].starts_with("given (--sparsities") && why[1].starts_with("given, the same for every"), "{why:?}");
    assert_eq!(study.rankings.len(), 7 + 2, "seven criteria, random with two seeds");
    let curves = 7 * 2 + 2;
    assert_eq!(study.points.len(), curves * (2 + 2), "unablated + one sparsity, two scopes");
    assert_eq!(study.areas.len(), curves * 2);
    assert_eq!(study.summary.len(), (7 * 2 + 1) * 2);
    assert_eq!(study.verdict.len(), 2);
    assert!(study.verdict[0].starts_with("Network-wide (480 units)"), "{}", study.verdict[0]);
    let dir = tempfile::tempdir().unwrap();
    for f in study.write(dir.path()).unwrap() {
        assert!(f.exists(), "{}", f.display());
    }
    let rankings = freqtag::export::read_parquet(&dir.path().join("rankings.parquet")).unwrap();
    assert_eq!(rankings.height(), 9 * 480);
    let points = freqtag::export::read_parquet(&dir.path().join("points.parquet")).unwrap();
    assert_eq!(points.height(), study.point_summary.len());
    assert!(points.column("accuracy_lo").is_ok() && points.column("kl_hi").is_ok());
    let figs = freqtag::present::ablation::figures(&study).unwrap();
    assert_eq!(figs.len(), 2 * 2, "accuracy and KL for two scopes");
    assert!(
        figs.iter().all(|(_, c)| c.contains("error bars: each point's 95 % percentile bootstrap interval")),
        "{}",
        figs[0].1
    );
    let report = freqtag::report::write_ablation_report(&study, &figs, dir.path()).unwrap();
    let html = std::fs::read_to_string(report).unwrap();
    assert!(html.contains("data:image/png;base64,") && html.contains("tagged_total"));
    // a ranking image can never be an evaluation image
    let clash = EvalSet::new(&model, "clash", &digits[..2], None).unwrap();
    let e = ablation::run_study(&model, &cfg, &digits[..2], clash, &|_, _| {}).unwrap_err().to_string();
    assert!(e.contains("both to rank and to evaluate"), "{e}");
}

#[test]
fn lite0_producers_and_the_residual_add_refusal() {
    let model = Model::load(data().join("models/efficientnet_lite0.onnx")).unwrap();
    // ReLU6 (Clip 0..6) of the BN-folded expand conv: zero in, zero out
    let p = ablation::producer(&model, "/_blocks.4/_swish/Clip").unwrap();
    assert_eq!(p.node, "/_blocks.4/_expand_conv/Conv");
    let p = ablation::producer(&model, "/_blocks.4/_swish_1/Clip").unwrap();
    assert_eq!(p.node, "/_blocks.4/_depthwise_conv/Conv");
    // a residual sum is not silenced by zeroing one branch
    let e = ablation::producer(&model, "/_blocks.4/Add").unwrap_err().to_string();
    assert!(e.contains("'/_blocks.4/Add' is Add") && e.contains("mask"), "{e}");
    // on the real network too, the runtime masks of the deletion curves give
    // the outputs of the exported model with zeroed weights
    let taps = model.select_taps("/_blocks.3/_swish_1/Clip,/_swish_1/Clip").unwrap();
    let image = Image::open(data().join("images/horse.png")).unwrap();
    let ev = Evaluator::new(&model, &taps, EvalSet::new(&model, "horse", &[image], None).unwrap(), 1).unwrap();
    let (early, head): (Vec<usize>, Vec<usize>) = ((0..144).step_by(7).collect(), (0..1280).step_by(5).collect());
    let mut mask = UnitMask::ones(&taps);
    early.iter().for_each(|&u| mask.silence(0, u));
    head.iter().for_each(|&u| mask.silence(1, u));
    let runtime = ev.logits(&mask).unwrap().remove(0);
    let zeroed =
        ablate(&model, &Ablation::new(Mode::ZeroWeights).silence(&taps[0].name, early).silence(&taps[1].name, head))
            .unwrap();
    let exported = zeroed.model.logits(&ev.set().images).unwrap().remove(0);
    let d = runtime.iter().zip(&exported).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(d < 1e-3, "Lite0: runtime mask vs zeroed weights differ by {d}");
    assert!(
        runtime.iter().zip(ev.base_logits()[0].iter()).any(|(a, b)| (a - b).abs() > 1e-2),
        "the ablation must change the logits"
    );
}

#[test]
fn the_ablate_command_exports_and_complains() {
    let exe = env!("CARGO_BIN_EXE_freqtag");
    let dir = tempfile::tempdir().unwrap();
    let model = data().join("models/mnist_cnn.onnx");
    let run = |args: &[&str]| std::process::Command::new(exe).args(args).output().unwrap();
    let out = run(&[
        "ablate",
        "--model",
        model.to_str().unwrap(),
        "--unit",
        "/conv_layers/conv_layers.1/Reul:3",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no tap named '/conv_layers/conv_layers.1/Reul'") && err.contains("did you mean"), "{err}");
    let out = run(&[
        "ablate",
        "--model",
        model.to_str().unwrap(),
        "--unit",
        "/conv_layers/conv_layers.1/Relu:3,40",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("channel 40 is out of range"));
    let out = run(&[
        "ablate",
        "--model",
        model.to_str().unwrap(),
        "--unit",
        "/conv_layers/conv_layers.1/Relu:3,7",
        "--mode",
        "mask",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let again = Model::load(dir.path().join("mnist_cnn.ablated.onnx")).unwrap();
    let node = ablation::mask_node_name("/conv_layers/conv_layers.1/Relu");
    let (digits, _) = ablation::load_digits(&data()).unwrap();
    let img = again.prepare(&digits[0]).unwrap();
    let acts = per_position(&again, &node, &img);
    assert!(acts[3 * 784..4 * 784].iter().chain(&acts[7 * 784..8 * 784]).all(|&v| v == 0.0));
    assert!(acts[..784].iter().any(|&v| v != 0.0));
}

// ---------------------------------------------------------------------------
// Per-layer sparsities where the curves separate, on a model whose damage is
// known in closed form (common::onnx_models::gated_layers_model)

/// Units per layer, the threshold before relu2 and class 1's logit.
const GATE_N: usize = 20;
const GATE_C: f64 = 0.3;
const GATE_T: f64 = 0.1;
/// Constant images: five below the gate (class 1 unablated, and after any
/// removal) and five above it (class 0 until enough units go).
const GATE_VALUES: [f64; 10] = [0.1, 0.2, 0.3, 0.35, 0.38, 0.46, 0.52, 0.575, 0.61, 0.66];

fn gate(dir: &Path) -> Model {
    let bytes = common::onnx_models::gated_layers_model(GATE_N, GATE_N, GATE_C as f32, GATE_T as f32, 2, 2);
    let path = write_model(dir, "gate.onnx", &bytes);
    let input = InputSpec { name: "input".into(), layout: "NCHW".into(), channels: 1, height: 2, width: 2 };
    let identity =
        Preprocess { resize_short_side: None, center_crop: None, value_scale: 1.0, mean: vec![0.0], std: vec![1.0] };
    Model::load_with(&path, input, identity).unwrap()
}

fn gate_images() -> Vec<Image> {
    GATE_VALUES.iter().map(|&m| Image::new(format!("m{m}"), 1, 2, 2, vec![m as f32; 4]).unwrap()).collect()
}

/// Top-1 agreement after silencing `k` of the `GATE_N` units of layer
/// `layer` (0: relu1, 1: relu2) — any `k` of them, they are identical — by
/// the closed form; also the smallest distance of a logit from the decision
/// (the test's own check that float rounding cannot flip a class).
fn gate_agreement(layer: usize, k: usize) -> (f64, f64) {
    let f = k as f64 / GATE_N as f64;
    let (mut agree, mut margin) = (0usize, f64::INFINITY);
    for &m in &GATE_VALUES {
        let base = (m - GATE_C).max(0.0);
        let after = if layer == 0 { (m * (1.0 - f) - GATE_C).max(0.0) } else { (1.0 - f) * base };
        agree += usize::from((base > GATE_T) == (after > GATE_T));
        margin = margin.min((after - GATE_T).abs()).min((base - GATE_T).abs());
    }
    (agree as f64 / GATE_VALUES.len() as f64, margin)
}

#[test]
fn per_layer_sparsities_are_probed_where_the_analytic_curve_separates() {
    let dir = tempfile::tempdir().unwrap();
    let model = gate(dir.path());
    let taps = model.select_taps("relu1,relu2").unwrap();
    let ev = Evaluator::new(&model, &taps, EvalSet::new(&model, "constant images", &gate_images(), None).unwrap(), 1)
        .unwrap();
    // half the images are class 0, half class 1: the floor is 0.5, the probe's threshold 0.5 + 0.1 · (1 − 0.5)
    assert_eq!((ev.base().agreement, ev.floor().agreement), (1.0, 0.5));
    let threshold = 0.55;
    let random = ablation::random_ranking(&taps, 0).unwrap();
    let mut chosen = Vec::new();
    for layer in 0..2 {
        let probe = ablation::probe_layer_sparsities(&ev, &random, layer, &|| {}).unwrap();
        assert_eq!((probe.scope.as_str(), probe.units), (taps[layer].name.as_str(), GATE_N));
        // every probed point is the closed form's, at k = round(s · 20) (≥ 1) units
        for &(s, y) in &probe.points {
            let k = ((s * GATE_N as f64).round() as usize).max(1);
            let (want, margin) = gate_agreement(layer, k);
            assert!(margin > 1e-3, "layer {layer}, k {k}: a logit within {margin} of the decision");
            assert_eq!(y, want, "layer {layer}, sparsity {s} ({k} units)");
        }
        // the probe stops at the first sparsity where the closed form is at most the threshold …
        let (&(s_hi, y_hi), before) = probe.points.split_last().unwrap();
        assert!(y_hi <= threshold && before.iter().all(|p| p.1 > threshold), "{:?}", probe.points);
        // … which is where the closed form collapses: 0.5 for relu1 (m (1 − f) < 0.4 for every
        // class-0 image once f > 0.37), 0.9 for relu2 ((1 − f)(m − 0.3) < 0.1 once f > 0.72)
        assert_eq!(s_hi, [0.5, 0.9][layer]);
        // five log-spaced sparsities from max(s_hi / 20, 1 / 20 units) = 0.05 to s_hi, 4 significant digits
        let want: &[f64] =
            if layer == 0 { &[0.05, 0.08891, 0.1581, 0.2812, 0.5] } else { &[0.05, 0.103, 0.2121, 0.4369, 0.9] };
        assert_eq!(probe.chosen, want, "{}", probe.rule);
        // the curve separates there: the first chosen sparsity is above the threshold, only the last at the floor
        let at: Vec<f64> =
            probe.chosen.iter().map(|s| gate_agreement(layer, (s * GATE_N as f64).round() as usize).0).collect();
        assert!(at[0] > threshold && at[..4].iter().all(|&y| y > 0.5) && at[4] == 0.5, "layer {layer}: {at:?}");
        chosen.push(probe.chosen);
    }
    // the fixed list of before, 25 / 50 / 75 %, has two of its three relu1 points at the floor
    let fixed: Vec<f64> = [5, 10, 15].iter().map(|&k| gate_agreement(0, k).0).collect();
    assert_eq!(fixed, vec![0.8, 0.5, 0.5]);

    // the study: probed per tap, the curves follow the closed form at the chosen sparsities
    let cfg = StudyConfig {
        taps: taps.clone(),
        design: Design::paper(),
        criteria: vec![Criterion::L1, Criterion::Random],
        seeds: vec![0],
        tie_seed: 0,
        plan: CurvePlan { network: vec![0.1], per_tap: vec![0, 1], ..CurvePlan::default() },
        batch: 1,
        bootstrap: ablation::Bootstrap { resamples: 200, level: 0.95, seed: 0 },
        probe_network: false,
        probe_layers: true,
    };
    let eval = || EvalSet::new(&model, "constant images", &gate_images(), None).unwrap();
    let mut probes = Vec::new();
    let study = ablation::run_study_with(&model, &cfg, &[], eval(), &|_, _| {}, &mut |p| {
        if let ablation::Part::Probe(p, _) = p {
            probes.push(p.scope.clone());
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(probes, vec!["relu1", "relu2"]);
    assert_eq!(study.plan.tap_sparsities, chosen);
    assert_eq!(study.layer_probes.len(), 2);
    for (layer, tap) in ["relu1", "relu2"].into_iter().enumerate() {
        for p in study.points.iter().filter(|p| p.scope == tap && p.sparsity > 0.0) {
            assert_eq!(
                p.damage.agreement,
                gate_agreement(layer, p.removed).0,
                "{tap} {:?} {}",
                p.direction,
                p.sparsity
            );
        }
    }
    let s = study.sparsities();
    assert_eq!(s.iter().map(|s| s.probed).collect::<Vec<_>>(), vec![false, true, true]);
    assert!(
        s[1].why.starts_with("probed within the tap: random removal reaches 0.550")
            && s[1].why.contains("at sparsity 0.5"),
        "{}",
        s[1].why
    );
    let md = study.markdown();
    assert!(md.contains("  - relu1 (20 units): [0.05, 0.08891, 0.1581, 0.2812, 0.5] — probed within the tap"), "{md}");
    let json = study.to_json();
    assert_eq!(json["sparsities"][2]["sparsities"][4], 0.9);
    assert_eq!(json["layer_sparsity_probes"][1]["scope"], "relu2");
    // the floor holds per layer: with the probed sparsities relu1's curves reach it only at their last
    // point (0.5); with 50 / 75 % given, they sit at it from their first sparsity on, and say so
    let relu1 = |st: &ablation::Study| st.summary.iter().filter(|r| r.scope == "relu1").cloned().collect::<Vec<_>>();
    for r in relu1(&study) {
        assert_eq!((r.floor_from, r.at_floor), (Some(0.5), false), "{:?} {:?}", r.criterion, r.direction);
    }
    let given = StudyConfig {
        plan: CurvePlan { network: vec![], per_tap: vec![0], layer: vec![0.5, 0.75], tap_sparsities: vec![] },
        probe_layers: false,
        ..cfg.clone()
    };
    let floored = ablation::run_study(&model, &given, &[], eval(), &|_, _| {}).unwrap();
    assert!(relu1(&floored).iter().all(|r| r.at_floor && r.floor_from == Some(0.5)));
    assert!(floored.verdict[0].contains("3 of 3 curves sit at the floor"), "{}", floored.verdict[0]);
    assert!(floored.markdown().contains("| relu1 | 20 | l1 | top |") && floored.markdown().contains("at floor"));
    // per-tap probing needs a random seed
    let e = ablation::run_study(
        &model,
        &StudyConfig { seeds: vec![], criteria: vec![Criterion::L1], ..cfg.clone() },
        &[],
        eval(),
        &|_, _| {},
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("probing the sparsities needs a random seed"), "{e}");
}

#[test]
fn prune_names_the_option_of_a_bad_sparsity() {
    let exe = env!("CARGO_BIN_EXE_freqtag");
    let dir = tempfile::tempdir().unwrap();
    let model = data().join("models/mnist_cnn.onnx");
    for (flag, value, want) in [
        ("--layer-sparsities", "0.25,half", "--layer-sparsities: 'half' is not a number"),
        ("--layer-sparsities", "0.5,0.25", "--layer-sparsities: 0.5,0.25 must increase"),
        ("--layer-sparsities", "0,0.5", "--layer-sparsities: 0 is not a share of units in (0, 1]"),
        ("--sparsities", "0.1,1.5", "--sparsities: 1.5 is not a share of units in (0, 1]"),
    ] {
        let out = std::process::Command::new(exe)
            .args(["prune", "--model", model.to_str().unwrap(), "--out", dir.path().to_str().unwrap(), flag, value])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(want) && !err.contains("panicked"), "{flag} {value}: {err}");
    }
}

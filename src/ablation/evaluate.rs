//! Evaluation: how much an ablation hurts.
//!
//! In: a [`Model`], the taps whose units may be silenced, and an [`EvalSet`]
//! of evaluation images (labelled or not) that the ranking never saw. Out:
//! for a [`UnitMask`] (per tap, 1 kept / 0 silenced), the [`Damage`] — top-1
//! accuracy against the labels, top-1 agreement with the unablated network
//! and the mean KL(p_unablated ‖ p_ablated) of the softmax outputs, in nats
//! — and the same per image ([`PerImage`]), which the bootstrap intervals of
//! the areas resample. [`Evaluator::floor`] is the *floor* of each metric:
//! the best an ablated network that ignores its input can score (one
//! constant top-1 class for every image).
//! [`MaskedNet`] compiles the network once with a runtime mask input after
//! every tap, so every ablation runs on the same plan (which gives the same
//! outputs as zeroing the weights; tested). [`auc`] is the area under a
//! curve, divided by its x range.

use serde::Serialize;

use super::graph::{graph_mut, insert_mask, mask_node_name, MaskSource};
use crate::error::{Error, Result};
use crate::images::{Image, Preprocess};
use crate::model::engine::{self, Input, Network};
use crate::model::probe::batched_logits;
use crate::model::{InputSpec, Model, TapInfo};

/// Per tap, one value per channel: 1 kept, 0 silenced.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitMask {
    /// Per tap, per channel.
    pub values: Vec<Vec<f32>>,
}

impl UnitMask {
    /// Everything kept.
    pub fn ones(taps: &[TapInfo]) -> UnitMask {
        UnitMask { values: taps.iter().map(|t| vec![1.0; t.channels()]).collect() }
    }
    /// Silence unit `u` of tap `t`.
    pub fn silence(&mut self, t: usize, u: usize) {
        self.values[t][u] = 0.0;
    }
    /// Units silenced.
    pub fn silenced(&self) -> usize {
        self.values.iter().flatten().filter(|&&v| v == 0.0).count()
    }
}

/// The network with a runtime 0/1 mask after every one of a set of taps
/// (graph inputs named `freqtag_mask:<tap>:mask`), compiled once on the
/// model's engine ([`Model::with_backend`]): every ablation of these taps
/// runs on the same plan.
pub struct MaskedNet {
    model_name: String,
    input: InputSpec,
    preprocess: Preprocess,
    taps: Vec<TapInfo>,
    batch: usize,
    net: Box<dyn Network>,
}

impl MaskedNet {
    /// Compile `model` with masks after `taps`, `batch` images per run.
    pub fn new(model: &Model, taps: &[TapInfo], batch: usize) -> Result<MaskedNet> {
        let batch = batch.max(1);
        let mut proto = model.proto().clone();
        let graph = graph_mut(&mut proto, &model.path)?;
        let names: Vec<String> = taps.iter().map(|t| format!("{}:mask", mask_node_name(&t.name))).collect();
        for (t, name) in taps.iter().zip(&names) {
            insert_mask(graph, t, MaskSource::Input(name))
                .map_err(|e| Error::model(&model.path, format!("tap '{}': {e}", t.name)))?;
        }
        let i = &model.input;
        let net = engine::compile(
            model.backend(),
            &engine::NetSpec {
                proto: &proto,
                path: &model.path,
                model_name: &model.name,
                image_shape: [batch, i.channels, i.height, i.width],
                extra_inputs: names.iter().cloned().zip(taps.iter().map(mask_dims)).collect(),
                taps: &[],
            },
        )
        .map_err(|e| match e {
            Error::Model { path, message, source } => {
                Error::Model { path, message: format!("the masked network: {message}"), source }
            }
            other => other,
        })?;
        Ok(MaskedNet {
            model_name: model.name.clone(),
            input: model.input.clone(),
            preprocess: model.preprocess.clone(),
            taps: taps.to_vec(),
            batch,
            net,
        })
    }

    /// The masked taps.
    pub fn taps(&self) -> &[TapInfo] {
        &self.taps
    }

    /// Logits (first output) of prepared images under `mask`; one row per
    /// image. Batches run in parallel.
    pub fn logits(&self, images: &[Image], mask: &UnitMask) -> Result<Vec<Vec<f32>>> {
        if mask.values.len() != self.taps.len()
            || mask.values.iter().zip(&self.taps).any(|(v, t)| v.len() != t.channels())
        {
            return Err(Error::Data(format!("mask does not fit the {} masked taps", self.taps.len())));
        }
        let dims: Vec<Vec<usize>> = self.taps.iter().map(mask_dims).collect();
        let masks: Vec<Input<'_>> = dims.iter().zip(&mask.values).map(|(d, v)| Input { shape: d, data: v }).collect();
        batched_logits(self.net.as_ref(), &self.model_name, &self.input, &self.preprocess, self.batch, images, &masks)
    }
}

fn mask_dims(t: &TapInfo) -> Vec<usize> {
    std::iter::once(1)
        .chain(std::iter::once(t.channels()))
        .chain(std::iter::repeat_n(1, t.shape.len().saturating_sub(1)))
        .collect()
}

/// Index of the largest value (the first one on ties).
pub fn argmax(v: &[f32]) -> usize {
    v.iter().enumerate().fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &x)| if x > bv { (i, x) } else { (bi, bv) }).0
}

/// Share of rows whose arg-max is the label.
pub fn accuracy(logits: &[Vec<f32>], labels: &[u32]) -> f64 {
    let hits = logits.iter().zip(labels).filter(|(l, &y)| argmax(l) == y as usize).count();
    hits as f64 / logits.len().max(1) as f64
}

/// Share of rows whose arg-max is the same in both.
pub fn top1_agreement(base: &[Vec<f32>], other: &[Vec<f32>]) -> f64 {
    let same = base.iter().zip(other).filter(|(a, b)| argmax(a) == argmax(b)).count();
    same as f64 / base.len().max(1) as f64
}

fn log_softmax(l: &[f32]) -> Vec<f64> {
    let m = l.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let lse = m + l.iter().map(|&x| (x as f64 - m).exp()).sum::<f64>().ln();
    l.iter().map(|&x| x as f64 - lse).collect()
}

/// Mean over rows of KL(softmax(base) ‖ softmax(other)) = Σ p (ln p − ln q),
/// in nats.
pub fn mean_kl(base: &[Vec<f32>], other: &[Vec<f32>]) -> f64 {
    let total: f64 = base
        .iter()
        .zip(other)
        .map(|(a, b)| {
            let (lp, lq) = (log_softmax(a), log_softmax(b));
            lp.iter().zip(&lq).map(|(p, q)| p.exp() * (p - q)).sum::<f64>()
        })
        .sum();
    total / base.len().max(1) as f64
}

/// KL(softmax(base) ‖ softmax(other)) of each row, in nats.
pub fn kl_per_row(base: &[Vec<f32>], other: &[Vec<f32>]) -> Vec<f64> {
    base.iter()
        .zip(other)
        .map(|(a, b)| {
            let (lp, lq) = (log_softmax(a), log_softmax(b));
            lp.iter().zip(&lq).map(|(p, q)| p.exp() * (p - q)).sum::<f64>()
        })
        .collect()
}

/// One ablation's outcome on every evaluation image: 1/0 for a correct
/// top-1 class (empty without labels), 1/0 for agreement with the unablated
/// network's top-1, and the KL divergence in nats. Their means are the
/// [`Damage`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PerImage {
    /// 1 where the top-1 class is the label (empty without labels).
    pub correct: Vec<f64>,
    /// 1 where the top-1 class is the unablated network's.
    pub agree: Vec<f64>,
    /// KL(p_unablated ‖ p_ablated), nats.
    pub kl: Vec<f64>,
}

impl PerImage {
    /// Means over the images (accuracy NaN without labels).
    pub fn damage(&self) -> Damage {
        let mean = |v: &[f64]| if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 };
        Damage { accuracy: mean(&self.correct), agreement: mean(&self.agree), kl: mean(&self.kl) }
    }
}

/// Area under y(x) by the trapezoid rule, divided by the x range: the mean
/// of y over [x_first, x_last]. NaN for fewer than two points or any NaN y.
pub fn auc(x: &[f64], y: &[f64]) -> f64 {
    if x.len() < 2 || x.len() != y.len() {
        return f64::NAN;
    }
    let area: f64 = x.windows(2).zip(y.windows(2)).map(|(xs, ys)| (xs[1] - xs[0]) * (ys[0] + ys[1]) / 2.0).sum();
    let span = x[x.len() - 1] - x[0];
    if span > 0.0 {
        area / span
    } else {
        f64::NAN
    }
}

/// How much an ablation hurts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Damage {
    /// Top-1 accuracy against the labels (NaN without labels).
    pub accuracy: f64,
    /// Share of images whose top-1 class is the unablated network's.
    pub agreement: f64,
    /// Mean KL(p_unablated ‖ p_ablated) of the softmax outputs (nats).
    pub kl: f64,
}

impl Damage {
    /// Unknown.
    pub const NAN: Damage = Damage { accuracy: f64::NAN, agreement: f64::NAN, kl: f64::NAN };
}

/// Evaluation images (prepared for the model), with labels when known.
#[derive(Clone, Debug)]
pub struct EvalSet {
    /// What the images are.
    pub description: String,
    /// Model-sized images in [0, 1].
    pub images: Vec<Image>,
    /// Class indices, one per image.
    pub labels: Option<Vec<u32>>,
    /// Per image, the group it belongs to (the bootstrap resamples whole
    /// groups): by default every image is its own group; variants of one
    /// photo share one ([`EvalSet::grouped`]).
    pub groups: Vec<usize>,
}

impl EvalSet {
    /// Prepare `images` for `model`; `labels` (if any) must match them.
    pub fn new(
        model: &Model,
        description: impl Into<String>,
        images: &[Image],
        labels: Option<Vec<u32>>,
    ) -> Result<EvalSet> {
        if images.is_empty() {
            return Err(Error::Data("the evaluation set has no images".into()));
        }
        if let Some(l) = &labels {
            if l.len() != images.len() {
                return Err(Error::Data(format!("{} labels for {} evaluation images", l.len(), images.len())));
            }
        }
        let images = images.iter().map(|i| model.prepare(i)).collect::<Result<Vec<_>>>()?;
        let groups = (0..images.len()).collect();
        Ok(EvalSet { description: description.into(), images, labels, groups })
    }

    /// Set the group of every image (e.g. the photo a variant was made
    /// from); the bootstrap resamples groups whole.
    pub fn grouped(mut self, groups: Vec<usize>) -> Result<EvalSet> {
        if groups.len() != self.images.len() {
            return Err(Error::Data(format!("{} groups for {} evaluation images", groups.len(), self.images.len())));
        }
        self.groups = groups;
        Ok(self)
    }

    /// Number of distinct groups.
    pub fn group_count(&self) -> usize {
        let mut g = self.groups.clone();
        g.sort_unstable();
        g.dedup();
        g.len()
    }
}

/// Scores ablations of a set of taps on an evaluation set against the
/// unablated network.
pub struct Evaluator {
    net: MaskedNet,
    set: EvalSet,
    base: Vec<Vec<f32>>,
}

impl Evaluator {
    /// Compile the masked network and run the unablated one once.
    pub fn new(model: &Model, taps: &[TapInfo], set: EvalSet, batch: usize) -> Result<Evaluator> {
        let net = MaskedNet::new(model, taps, batch)?;
        let base = net.logits(&set.images, &UnitMask::ones(taps))?;
        Ok(Evaluator { net, set, base })
    }
    /// The evaluation set.
    pub fn set(&self) -> &EvalSet {
        &self.set
    }
    /// The unablated network's logits.
    pub fn base_logits(&self) -> &[Vec<f32>] {
        &self.base
    }
    /// The taps.
    pub fn taps(&self) -> &[TapInfo] {
        self.net.taps()
    }
    /// The unablated network's scores (agreement 1, KL 0).
    pub fn base(&self) -> Damage {
        self.score(&self.base)
    }
    /// Logits under `mask`.
    pub fn logits(&self, mask: &UnitMask) -> Result<Vec<Vec<f32>>> {
        self.net.logits(&self.set.images, mask)
    }
    /// Scores under `mask`.
    pub fn damage(&self, mask: &UnitMask) -> Result<Damage> {
        Ok(self.score(&self.logits(mask)?))
    }
    /// Scores under `mask`, per image.
    pub fn per_image(&self, mask: &UnitMask) -> Result<PerImage> {
        Ok(self.outcomes(&self.logits(mask)?))
    }
    /// The unablated network per image (agreement 1, KL 0).
    pub fn base_per_image(&self) -> PerImage {
        self.outcomes(&self.base)
    }
    /// The floor of each metric: the best score of a network that gives
    /// every image the same top-1 class — the share of the commonest label
    /// (accuracy; NaN without labels) and of the unablated network's
    /// commonest top-1 class (agreement). KL has no floor (NaN). A deletion
    /// curve at or below its floor has destroyed what the metric can see.
    pub fn floor(&self) -> Damage {
        let commonest = |classes: &mut Vec<usize>| {
            classes.sort_unstable();
            let most = classes.chunk_by(|a, b| a == b).map(<[usize]>::len).max().unwrap_or(0);
            most as f64 / classes.len().max(1) as f64
        };
        Damage {
            accuracy: self
                .set
                .labels
                .as_ref()
                .map(|l| commonest(&mut l.iter().map(|&c| c as usize).collect()))
                .unwrap_or(f64::NAN),
            agreement: commonest(&mut self.base.iter().map(|l| argmax(l)).collect()),
            kl: f64::NAN,
        }
    }
    fn score(&self, logits: &[Vec<f32>]) -> Damage {
        Damage {
            accuracy: self.set.labels.as_ref().map(|l| accuracy(logits, l)).unwrap_or(f64::NAN),
            agreement: top1_agreement(&self.base, logits),
            kl: mean_kl(&self.base, logits),
        }
    }
    fn outcomes(&self, logits: &[Vec<f32>]) -> PerImage {
        let hit = |a: bool| if a { 1.0 } else { 0.0 };
        PerImage {
            correct: self
                .set
                .labels
                .as_ref()
                .map(|l| logits.iter().zip(l).map(|(x, &y)| hit(argmax(x) == y as usize)).collect())
                .unwrap_or_default(),
            agree: self.base.iter().zip(logits).map(|(a, b)| hit(argmax(a) == argmax(b))).collect(),
            kl: kl_per_row(&self.base, logits),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_is_the_mean_over_the_range() {
        assert!((auc(&[0.0, 0.5, 1.0], &[1.0, 0.5, 0.0]) - 0.5).abs() < 1e-12);
        // uneven steps: (0.1·(1+0.8)/2 + 0.4·(0.8+0.2)/2) / 0.5
        assert!((auc(&[0.0, 0.1, 0.5], &[1.0, 0.8, 0.2]) - (0.09 + 0.2) / 0.5).abs() < 1e-12);
        assert!(auc(&[0.0], &[1.0]).is_nan());
    }

    #[test]
    fn kl_and_agreement_by_hand() {
        // softmax([0, ln 3]) = [1/4, 3/4]; softmax([0, 0]) = [1/2, 1/2]
        let base = vec![vec![0.0, 3f32.ln()]];
        let other = vec![vec![0.0, 0.0]];
        let want = 0.25 * (0.25f64 / 0.5).ln() + 0.75 * (0.75f64 / 0.5).ln();
        assert!((mean_kl(&base, &other) - want).abs() < 1e-6);
        assert_eq!(mean_kl(&base, &base), 0.0);
        assert_eq!(top1_agreement(&base, &other), 0.0, "argmax of a tie is the first index");
        assert_eq!(accuracy(&[vec![0.1, 0.9], vec![0.7, 0.2]], &[1, 1]), 0.5);
    }
}

//! Rankings: the units of a set of taps ordered by one [`Criterion`].
//!
//! In: the [`Results`] of a tagging experiment on the ranking images (the
//! freqtag scores), the model's weights (L1), or the unmodulated ranking
//! images (mean activation, APoZ), or a seed (random). Out: a [`Ranking`] —
//! per tap and unit, the value as measured and the importance (higher = more
//! important; NaN ranks last), with orders within a tap and network-wide
//! (each tap's importances divided by their root mean square first). Ties
//! are broken by a seeded hash, so an order is deterministic for its seed.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use super::graph::{resolve_producer, weight_l1, GraphIndex};
use crate::error::{Error, Result};
use crate::experiment::{Experiment, Results};
use crate::images::Image;
use crate::model::{Model, Reduction, Tap, TapInfo};
use crate::stats::mean_finite;
use crate::stimulus::Design;

/// What a ranking ranks units by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// freqtag: Σ amplitude at each tag's fundamental and harmonics.
    TaggedTotal,
    /// freqtag: Σ amplitude at intermodulation components.
    Im,
    /// freqtag: im / (tagged_total + im).
    Integration,
    /// freqtag: the authors' score, mean neighbour-bin SNR at the fundamentals.
    AuthorsSnr,
    /// Baseline: L1 norm of the producing filter's weights (Li et al. 2017).
    L1,
    /// Baseline: mean |activation| over positions and images.
    Activation,
    /// Baseline: average percentage of zeros (Hu et al. 2016); importance 1 − APoZ.
    Apoz,
    /// Baseline: a seeded random order.
    Random,
}

impl Criterion {
    /// Every criterion, freqtag scores first.
    pub const ALL: [Criterion; 8] = [
        Criterion::TaggedTotal,
        Criterion::Im,
        Criterion::Integration,
        Criterion::AuthorsSnr,
        Criterion::L1,
        Criterion::Activation,
        Criterion::Apoz,
        Criterion::Random,
    ];

    /// The name used in tables (the score's column name for freqtag scores).
    pub fn name(self) -> &'static str {
        match self {
            Criterion::TaggedTotal => "tagged_total",
            Criterion::Im => "im",
            Criterion::Integration => "integration",
            Criterion::AuthorsSnr => "authors_snr",
            Criterion::L1 => "l1",
            Criterion::Activation => "activation",
            Criterion::Apoz => "apoz",
            Criterion::Random => "random",
        }
    }

    /// Parse a name.
    pub fn parse(s: &str) -> Result<Criterion> {
        let s = s.trim().to_lowercase().replace('-', "_");
        Criterion::ALL.into_iter().find(|c| c.name() == s).ok_or_else(|| {
            Error::Config(format!(
                "ranking criterion '{s}' is not known; use {}",
                Criterion::ALL.map(|c| c.name()).join(", ")
            ))
        })
    }

    /// A freqtag score (needs a tagging experiment).
    pub fn is_tagging(self) -> bool {
        matches!(self, Criterion::TaggedTotal | Criterion::Im | Criterion::Integration | Criterion::AuthorsSnr)
    }

    /// What the criterion measures, in a few words.
    pub fn describe(self) -> &'static str {
        match self {
            Criterion::TaggedTotal => {
                "freqtag: Σ amplitude at the tags' fundamentals and harmonics, mean over ranking images"
            }
            Criterion::Im => "freqtag: Σ amplitude at intermodulation components, mean over ranking images",
            Criterion::Integration => "freqtag: integration index im / (tagged + im), mean over ranking images",
            Criterion::AuthorsSnr => {
                "freqtag: the authors' mean SNR at the fundamentals (neighbours k±2…k±4), mean over ranking images"
            }
            Criterion::L1 => "baseline: L1 norm of the producing filter's weights (Li et al. 2017)",
            Criterion::Activation => "baseline: mean |activation| over positions and ranking images",
            Criterion::Apoz => {
                "baseline: average percentage of zeros of the output (Hu et al. 2016); importance 1 − APoZ"
            }
            Criterion::Random => "baseline: random order (seeded)",
        }
    }
}

/// The units of a set of taps, ordered by one criterion.
#[derive(Clone, Debug, PartialEq)]
pub struct Ranking {
    /// The criterion.
    pub criterion: Criterion,
    /// The seed of a random ranking.
    pub seed: Option<u64>,
    /// The taps, in graph order.
    pub taps: Vec<TapInfo>,
    /// Per tap, per unit: the criterion as measured (APoZ as a fraction).
    pub values: Vec<Vec<f64>>,
    /// Per tap, per unit: importance, higher = more important (NaN = least).
    pub importance: Vec<Vec<f64>>,
    /// Seed of the hash that breaks ties between equal importances.
    pub tie_seed: u64,
}

/// SplitMix64 finaliser: a fixed, portable hash.
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn unit_hash(seed: u64, tap: usize, unit: usize) -> u64 {
    splitmix(splitmix(splitmix(seed) ^ tap as u64) ^ unit as u64)
}

/// Descending, NaN last.
fn by_importance(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => b.total_cmp(&a),
    }
}

impl Ranking {
    /// A ranking from per-tap values and importances (checked for shape).
    pub fn new(
        criterion: Criterion,
        seed: Option<u64>,
        taps: &[TapInfo],
        values: Vec<Vec<f64>>,
        importance: Vec<Vec<f64>>,
        tie_seed: u64,
    ) -> Result<Ranking> {
        if values.len() != taps.len() || importance.len() != taps.len() {
            return Err(Error::Data(format!(
                "ranking {}: {} value rows for {} taps",
                criterion.name(),
                values.len(),
                taps.len()
            )));
        }
        for ((t, v), i) in taps.iter().zip(&values).zip(&importance) {
            if v.len() != t.channels() || i.len() != t.channels() {
                return Err(Error::Data(format!(
                    "ranking {}: tap '{}' has {} channels, got {} values",
                    criterion.name(),
                    t.name,
                    t.channels(),
                    v.len()
                )));
            }
        }
        Ok(Ranking { criterion, seed, taps: taps.to_vec(), values, importance, tie_seed })
    }

    /// "l1", "random (seed 3)".
    pub fn label(&self) -> String {
        match self.seed {
            Some(s) => format!("{} (seed {s})", self.criterion.name()),
            None => self.criterion.name().to_string(),
        }
    }

    /// Units in all taps.
    pub fn units(&self) -> usize {
        self.taps.iter().map(TapInfo::channels).sum()
    }

    /// Units of tap `t`, most important first.
    pub fn order_in_tap(&self, t: usize) -> Vec<usize> {
        let imp = &self.importance[t];
        let mut idx: Vec<usize> = (0..imp.len()).collect();
        idx.sort_by(|&a, &b| {
            by_importance(imp[a], imp[b]).then(unit_hash(self.tie_seed, t, a).cmp(&unit_hash(self.tie_seed, t, b)))
        });
        idx
    }

    /// Importances divided by their tap's root mean square (finite values).
    pub fn normalised(&self) -> Vec<Vec<f64>> {
        self.importance
            .iter()
            .map(|imp| {
                let finite: Vec<f64> = imp.iter().copied().filter(|v| v.is_finite()).collect();
                let rms = (finite.iter().map(|v| v * v).sum::<f64>() / finite.len().max(1) as f64).sqrt();
                imp.iter()
                    .map(|v| {
                        if rms > 0.0 {
                            v / rms
                        } else if v.is_nan() {
                            f64::NAN
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// (tap, unit) over all taps, most important first, by normalised importance.
    pub fn order_network(&self) -> Vec<(usize, usize)> {
        let norm = self.normalised();
        let mut idx: Vec<(usize, usize)> =
            norm.iter().enumerate().flat_map(|(t, v)| (0..v.len()).map(move |u| (t, u))).collect();
        idx.sort_by(|&(ta, ua), &(tb, ub)| {
            by_importance(norm[ta][ua], norm[tb][ub]).then(unit_hash(self.tie_seed, ta, ua).cmp(&unit_hash(
                self.tie_seed,
                tb,
                ub,
            )))
        });
        idx
    }
}

/// The four freqtag rankings from a tagging experiment: each unit's
/// `tagged_total`, `im`, `integration`, `authors_snr`, averaged over the
/// experiment's images (finite values only; NaN when none). The experiment
/// must have read every tap of `taps`.
pub fn tagging_rankings(
    results: &Results,
    taps: &[TapInfo],
    criteria: &[Criterion],
    tie_seed: u64,
) -> Result<Vec<Ranking>> {
    let first = results.images.first().ok_or_else(|| Error::Data("the tagging experiment has no images".into()))?;
    let index: Vec<usize> = taps
        .iter()
        .map(|t| {
            first
                .taps
                .iter()
                .position(|r| r.tap.info.name == t.name)
                .ok_or_else(|| Error::Data(format!("the tagging experiment did not read tap '{}'", t.name)))
        })
        .collect::<Result<_>>()?;
    let mut out = Vec::new();
    for &crit in criteria.iter().filter(|c| c.is_tagging()) {
        let pick = |s: &crate::metrics::UnitScores| match crit {
            Criterion::TaggedTotal => s.tagged_total,
            Criterion::Im => s.im,
            Criterion::Integration => s.integration,
            _ => s.authors_snr,
        };
        let values: Vec<Vec<f64>> = taps
            .iter()
            .zip(&index)
            .map(|(t, &ti)| {
                (0..t.channels())
                    .map(|u| mean_finite(results.images.iter().map(|img| pick(&img.taps[ti].scores[u]))))
                    .collect()
            })
            .collect();
        out.push(Ranking::new(crit, None, taps, values.clone(), values, tie_seed)?);
    }
    Ok(out)
}

/// The L1 ranking: Σ|W| of each unit's producing filter (see [`producer`](super::producer)).
pub fn l1_ranking(model: &Model, taps: &[TapInfo], tie_seed: u64) -> Result<Ranking> {
    let g = GraphIndex::new(model.proto(), &model.path)?;
    let values = taps
        .iter()
        .map(|t| {
            let p = resolve_producer(&g, t).map_err(|why| {
                Error::model(
                    &model.path,
                    format!(
                        "no L1 ranking for tap '{}': {why} (leave l1 out of --criteria, or choose other taps)",
                        t.name
                    ),
                )
            })?;
            weight_l1(&g, &p).map_err(|e| Error::model(&model.path, format!("tap '{}': {e}", t.name)))
        })
        .collect::<Result<Vec<_>>>()?;
    Ranking::new(Criterion::L1, None, taps, values.clone(), values, tie_seed)
}

/// Per tap, per unit: statistics of the outputs over positions and images.
#[derive(Clone, Debug, PartialEq)]
pub struct ActivationStats {
    /// Mean |activation|.
    pub mean_abs: Vec<Vec<f64>>,
    /// Average percentage of zeros (APoZ, Hu et al. 2016) as a fraction:
    /// the share of outputs exactly 0.
    pub apoz: Vec<Vec<f64>>,
}

/// Mean |activation| and APoZ of every unit, over every position of the
/// unmodulated `images` (prepared for the model here). `progress(n)` is
/// called as images finish.
pub fn activation_stats(
    model: &Model,
    taps: &[TapInfo],
    images: &[Image],
    progress: &(dyn Fn(usize) + Sync),
) -> Result<ActivationStats> {
    if images.is_empty() {
        return Err(Error::Data("no ranking images for the activation statistics".into()));
    }
    let probe_taps: Vec<Tap> =
        taps.iter().map(|info| Tap { info: info.clone(), reduction: Reduction::PerPosition }).collect();
    let probe = model.probe(&probe_taps, 1)?;
    let mut abs_sum: Vec<Vec<f64>> = taps.iter().map(|t| vec![0.0; t.channels()]).collect();
    let mut zeros: Vec<Vec<f64>> = abs_sum.clone();
    // a few images at a time keeps the per-position outputs small
    for chunk in images.chunks(4) {
        let prepared = chunk.iter().map(|i| model.prepare(i)).collect::<Result<Vec<_>>>()?;
        let acts = probe.run(prepared.len(), |i, buf| buf.copy_from_slice(&prepared[i].data), |_| {})?;
        for (ti, a) in acts.iter().enumerate() {
            let pos = taps[ti].positions();
            for frame in a.data.chunks(a.units) {
                for (c, ch) in frame.chunks(pos).enumerate() {
                    abs_sum[ti][c] += ch.iter().map(|&x| x.abs() as f64).sum::<f64>();
                    zeros[ti][c] += ch.iter().filter(|&&x| x == 0.0).count() as f64;
                }
            }
        }
        progress(chunk.len());
    }
    let norm = |v: Vec<Vec<f64>>| -> Vec<Vec<f64>> {
        v.into_iter()
            .zip(taps)
            .map(|(row, t)| row.into_iter().map(|s| s / (t.positions() * images.len()) as f64).collect())
            .collect()
    };
    Ok(ActivationStats { mean_abs: norm(abs_sum), apoz: norm(zeros) })
}

/// The mean-activation and APoZ rankings from [`activation_stats`].
pub fn activation_rankings(taps: &[TapInfo], stats: ActivationStats, tie_seed: u64) -> Result<(Ranking, Ranking)> {
    let keep = stats.apoz.iter().map(|r| r.iter().map(|z| 1.0 - z).collect()).collect();
    Ok((
        Ranking::new(Criterion::Activation, None, taps, stats.mean_abs.clone(), stats.mean_abs, tie_seed)?,
        Ranking::new(Criterion::Apoz, None, taps, stats.apoz, keep, tie_seed)?,
    ))
}

/// A random ranking: each unit's importance is a uniform number in [0, 1)
/// hashed from (seed, tap, unit); the same seed gives the same order.
pub fn random_ranking(taps: &[TapInfo], seed: u64) -> Result<Ranking> {
    let values: Vec<Vec<f64>> = taps
        .iter()
        .enumerate()
        .map(|(t, info)| {
            (0..info.channels()).map(|u| (unit_hash(seed, t, u) >> 11) as f64 / (1u64 << 53) as f64).collect()
        })
        .collect();
    Ranking::new(Criterion::Random, Some(seed), taps, values.clone(), values, seed)
}

/// The tagging experiment behind the freqtag rankings: `design` on `taps`
/// (spatial mean), everything else default.
pub fn tagging_experiment(model: &Model, taps: &[TapInfo], design: Design) -> Result<Experiment> {
    let mut exp = Experiment::new(model.clone(), design)?;
    exp.taps = taps.iter().map(|info| Tap { info: info.clone(), reduction: Reduction::SpatialMean }).collect();
    Ok(exp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_put_nan_last_and_break_ties_by_seed() {
        let tap = TapInfo::channel_map("t", "t", "Relu", vec![5, 2, 2], 0);
        let v = vec![vec![1.0, f64::NAN, 3.0, 1.0, 2.0]];
        let r = Ranking::new(Criterion::Activation, None, std::slice::from_ref(&tap), v.clone(), v.clone(), 7).unwrap();
        let o = r.order_in_tap(0);
        assert_eq!((o[0], o[1], o[4]), (2, 4, 1));
        assert!(o[2..4].contains(&0) && o[2..4].contains(&3));
        let again = Ranking::new(Criterion::Activation, None, std::slice::from_ref(&tap), v.clone(), v, 7).unwrap();
        assert_eq!(again.order_in_tap(0), o, "same seed, same order");
    }
}

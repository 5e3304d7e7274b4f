//! Deletion curves, the areas under them, and the verdict.
//!
//! In: an [`Evaluator`], [`Ranking`]s of its taps and a [`CurvePlan`]
//! (sparsities network-wide and per tap). Out: [`CurvePoint`]s — for every
//! ranking, scope and sparsity s, the [`Damage`] after removing the top-k or
//! bottom-k units (k = round(s · units); random rankings once per seed), each
//! curve starting at the unablated point; [`areas`] under every curve (the
//! metric's mean over sparsity 0 … s_max, trapezoid rule); [`summarise`]
//! over seeds ([`Stat`]: mean, sd, min, max); and the [`verdict`] in plain
//! words, generated from the numbers.

use serde::Serialize;

use super::evaluate::{auc, Damage, Evaluator, UnitMask};
use super::rank::{Criterion, Ranking};
use crate::error::{Error, Result};

/// Which units go first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Most important first.
    Top,
    /// Least important first.
    Bottom,
    /// A random ranking's order (top and bottom alike).
    Random,
}

impl Direction {
    /// "top", "bottom", "random".
    pub fn name(self) -> &'static str {
        match self {
            Direction::Top => "top",
            Direction::Bottom => "bottom",
            Direction::Random => "random",
        }
    }
}

/// Where the curves are measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CurvePlan {
    /// Sparsities (fractions of the units removed) network-wide; empty: none.
    pub network: Vec<f64>,
    /// Taps (indices into the ranked taps) with per-layer curves.
    pub per_tap: Vec<usize>,
    /// Sparsities within a tap.
    pub layer: Vec<f64>,
}

impl CurvePlan {
    /// Check sparsities (0 < s ≤ 1, ascending, unique) and tap indices.
    pub fn validate(&self, taps: usize) -> Result<()> {
        for (what, s) in [("network", &self.network), ("per-layer", &self.layer)] {
            if let Some(bad) = s.iter().find(|v| !(v.is_finite() && **v > 0.0 && **v <= 1.0)) {
                return Err(Error::Config(format!("{what} sparsity {bad} is not in (0, 1]")));
            }
            if s.windows(2).any(|w| w[1] <= w[0]) {
                return Err(Error::Config(format!("{what} sparsities {s:?} must increase")));
            }
        }
        if let Some(bad) = self.per_tap.iter().find(|&&t| t >= taps) {
            return Err(Error::Config(format!("per-layer tap index {bad} is out of range (there are {taps} taps)")));
        }
        if !self.per_tap.is_empty() && self.layer.is_empty() {
            return Err(Error::Config("per-layer curves need per-layer sparsities".into()));
        }
        Ok(())
    }

    /// Network evaluations for rankings by `criteria` (random once per
    /// seed, the others top and bottom) under this plan.
    pub fn evaluations(&self, criteria: &[Criterion], seeds: usize) -> usize {
        let curves: usize = criteria.iter().map(|&c| if c == Criterion::Random { seeds } else { 2 }).sum();
        curves * (self.network.len() + self.per_tap.len() * self.layer.len())
    }
}

/// The name of the network-wide scope in tables.
pub const NETWORK: &str = "network";

/// One point of a deletion curve.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CurvePoint {
    /// [`NETWORK`] or the tap's name.
    pub scope: String,
    /// Units in the scope.
    pub units: usize,
    /// The ranking's criterion.
    pub criterion: Criterion,
    /// The ranking's seed (random).
    pub seed: Option<u64>,
    /// Which units went first.
    pub direction: Direction,
    /// Requested fraction removed (0 = unablated).
    pub sparsity: f64,
    /// Units removed (round(sparsity · units)).
    pub removed: usize,
    /// The damage.
    pub damage: Damage,
}

/// Measure deletion curves: for every ranking (top and bottom; random
/// rankings once), every scope of the plan and every sparsity, silence the
/// first k units of the order and score the network. Every curve starts with
/// the unablated point (sparsity 0). `progress()` is called after each
/// network evaluation.
pub fn deletion_curves(
    eval: &Evaluator,
    rankings: &[Ranking],
    plan: &CurvePlan,
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<CurvePoint>> {
    let taps = eval.taps();
    plan.validate(taps.len())?;
    for r in rankings {
        if r.taps.len() != taps.len() || r.taps.iter().zip(taps).any(|(a, b)| a.name != b.name) {
            return Err(Error::Data(format!("ranking {} is over other taps than the evaluator", r.label())));
        }
    }
    let base = eval.base();
    let mut points = Vec::new();
    let mut scopes: Vec<(String, Option<usize>, &[f64])> = Vec::new();
    if !plan.network.is_empty() {
        scopes.push((NETWORK.to_string(), None, &plan.network));
    }
    for &t in &plan.per_tap {
        scopes.push((taps[t].name.clone(), Some(t), &plan.layer));
    }
    for (scope, tap, sparsities) in &scopes {
        for r in rankings {
            let order: Vec<(usize, usize)> = match tap {
                None => r.order_network(),
                Some(t) => r.order_in_tap(*t).into_iter().map(|u| (*t, u)).collect(),
            };
            let n = order.len();
            let directions: &[Direction] = if r.criterion == Criterion::Random {
                &[Direction::Random]
            } else {
                &[Direction::Top, Direction::Bottom]
            };
            for &direction in directions {
                let point = |sparsity: f64, removed: usize, damage: Damage| CurvePoint {
                    scope: scope.clone(),
                    units: n,
                    criterion: r.criterion,
                    seed: r.seed,
                    direction,
                    sparsity,
                    removed,
                    damage,
                };
                points.push(point(0.0, 0, base));
                for &s in sparsities.iter() {
                    let k = ((s * n as f64).round() as usize).min(n);
                    let mut mask = UnitMask::ones(taps);
                    let chosen: Box<dyn Iterator<Item = &(usize, usize)>> = if direction == Direction::Bottom {
                        Box::new(order.iter().rev())
                    } else {
                        Box::new(order.iter())
                    };
                    for &(t, u) in chosen.take(k) {
                        mask.silence(t, u);
                    }
                    points.push(point(s, k, eval.damage(&mask)?));
                    progress();
                }
            }
        }
    }
    Ok(points)
}

/// The area under one deletion curve (mean of each metric over the
/// sparsity range, see [`auc`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Area {
    /// Scope ([`NETWORK`] or a tap).
    pub scope: String,
    /// Units in the scope.
    pub units: usize,
    /// Criterion.
    pub criterion: Criterion,
    /// Seed (random).
    pub seed: Option<u64>,
    /// Direction.
    pub direction: Direction,
    /// The largest sparsity of the curve.
    pub max_sparsity: f64,
    /// Area under accuracy (NaN without labels).
    pub accuracy: f64,
    /// Area under top-1 agreement.
    pub agreement: f64,
    /// Area under mean KL (nats).
    pub kl: f64,
}

/// Areas under every curve in `points` (grouped by scope, criterion, seed,
/// direction, in order of first appearance).
pub fn areas(points: &[CurvePoint]) -> Vec<Area> {
    let mut keys: Vec<(&str, Criterion, Option<u64>, Direction)> = Vec::new();
    for p in points {
        let k = (p.scope.as_str(), p.criterion, p.seed, p.direction);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys.into_iter()
        .map(|(scope, criterion, seed, direction)| {
            let mut curve: Vec<&CurvePoint> = points
                .iter()
                .filter(|p| p.scope == scope && p.criterion == criterion && p.seed == seed && p.direction == direction)
                .collect();
            curve.sort_by(|a, b| a.sparsity.total_cmp(&b.sparsity));
            let x: Vec<f64> = curve.iter().map(|p| p.sparsity).collect();
            let under = |f: fn(&Damage) -> f64| auc(&x, &curve.iter().map(|p| f(&p.damage)).collect::<Vec<_>>());
            Area {
                scope: scope.to_string(),
                units: curve[0].units,
                criterion,
                seed,
                direction,
                max_sparsity: x.last().copied().unwrap_or(0.0),
                accuracy: under(|d| d.accuracy),
                agreement: under(|d| d.agreement),
                kl: under(|d| d.kl),
            }
        })
        .collect()
}

/// Mean, sample standard deviation, min and max.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Stat {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (0 for one value).
    pub sd: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
}

impl Stat {
    /// For a table cell: "mean ± sd" over `curves` > 1 curves, else the
    /// mean; "–" when undefined (e.g. accuracy without labels).
    pub fn cell(self, curves: usize) -> String {
        if !self.mean.is_finite() {
            "–".to_string()
        } else if curves > 1 {
            format!("{:.3} ± {:.3}", self.mean, self.sd)
        } else {
            format!("{:.3}", self.mean)
        }
    }

    /// Of a set of values.
    pub fn of(v: &[f64]) -> Stat {
        let n = v.len().max(1) as f64;
        let mean = v.iter().sum::<f64>() / n;
        let sd = if v.len() > 1 { (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() } else { 0.0 };
        Stat {
            mean,
            sd,
            min: v.iter().copied().fold(f64::INFINITY, f64::min),
            max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

/// Areas of one (scope, criterion, direction) over seeds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AreaSummary {
    /// Scope.
    pub scope: String,
    /// Units in the scope.
    pub units: usize,
    /// Criterion.
    pub criterion: Criterion,
    /// Direction.
    pub direction: Direction,
    /// Curves (seeds) summarised.
    pub curves: usize,
    /// The largest sparsity.
    pub max_sparsity: f64,
    /// Area under accuracy.
    pub accuracy: Stat,
    /// Area under agreement.
    pub agreement: Stat,
    /// Area under KL.
    pub kl: Stat,
}

/// Collapse the seeds of each (scope, criterion, direction).
pub fn summarise(areas: &[Area]) -> Vec<AreaSummary> {
    let mut keys: Vec<(&str, Criterion, Direction)> = Vec::new();
    for a in areas {
        let k = (a.scope.as_str(), a.criterion, a.direction);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys.into_iter()
        .map(|(scope, criterion, direction)| {
            let group: Vec<&Area> = areas
                .iter()
                .filter(|a| a.scope == scope && a.criterion == criterion && a.direction == direction)
                .collect();
            let stat = |f: fn(&Area) -> f64| Stat::of(&group.iter().map(|a| f(a)).collect::<Vec<_>>());
            AreaSummary {
                scope: scope.to_string(),
                units: group[0].units,
                criterion,
                direction,
                curves: group.len(),
                max_sparsity: group[0].max_sparsity,
                accuracy: stat(|a| a.accuracy),
                agreement: stat(|a| a.agreement),
                kl: stat(|a| a.kl),
            }
        })
        .collect()
}

/// Plain statements, one per scope: which ranking damages most when its top
/// units go and least when its bottom units go, against random (mean ± sd
/// over seeds; "beyond random" means beyond every seed), and how well each
/// ranking separates (area after bottom removal − area after top removal). The main metric is accuracy when there are labels, else top-1
/// agreement; higher area = less damage. Generated from the numbers.
pub fn verdict(summary: &[AreaSummary]) -> Vec<String> {
    let mut scopes: Vec<&str> = Vec::new();
    for s in summary {
        if !scopes.contains(&s.scope.as_str()) {
            scopes.push(&s.scope);
        }
    }
    let mut out = Vec::new();
    for scope in scopes {
        let rows: Vec<&AreaSummary> = summary.iter().filter(|s| s.scope == scope).collect();
        let labelled = rows.iter().all(|r| r.accuracy.mean.is_finite());
        let (metric, get): (&str, fn(&AreaSummary) -> f64) =
            if labelled { ("accuracy", |s| s.accuracy.mean) } else { ("top-1 agreement", |s| s.agreement.mean) };
        let pick = |d: Direction| -> Vec<&AreaSummary> {
            let mut v: Vec<&AreaSummary> = rows.iter().copied().filter(|r| r.direction == d).collect();
            v.sort_by(|a, b| get(a).total_cmp(&get(b)));
            v
        };
        let (top, bottom, random) =
            (pick(Direction::Top), pick(Direction::Bottom), rows.iter().find(|r| r.direction == Direction::Random));
        let Some(first) = rows.first() else { continue };
        let where_ = if scope == NETWORK {
            format!("Network-wide ({} units)", first.units)
        } else {
            format!("Tap {scope} ({} units)", first.units)
        };
        let mut s =
            format!("{where_}, {metric} averaged over sparsity 0–{} (higher = less damage): ", first.max_sparsity);
        let extremes = |v: &[&AreaSummary], lead: &str| match (v.first(), v.last()) {
            (Some(most), Some(least)) => format!(
                "{lead} damages most with {} ({:.3}) and least with {} ({:.3})",
                most.criterion.name(),
                get(most),
                least.criterion.name(),
                get(least)
            ),
            _ => String::new(),
        };
        s += &extremes(&top, "removing the top-ranked units");
        if let Some(r) = random {
            let st = if labelled { r.accuracy } else { r.agreement };
            s += &format!("; random removal gives {:.3} ± {:.3} (sd over {} seeds)", st.mean, st.sd, r.curves);
        }
        s += &extremes(&bottom, "; removing the bottom-ranked units");
        // separation: area(bottom) − area(top); > 0 when the ranking orders units by what the network needs
        let mut sep: Vec<(Criterion, f64)> = top
            .iter()
            .filter_map(|t| bottom.iter().find(|b| b.criterion == t.criterion).map(|b| (t.criterion, get(b) - get(t))))
            .collect();
        sep.sort_by(|a, b| b.1.total_cmp(&a.1));
        if !sep.is_empty() {
            s += &format!(
                ". Separation (bottom − top area; 0 = no better than chance): {}",
                sep.iter().map(|(c, v)| format!("{} {v:+.3}", c.name())).collect::<Vec<_>>().join(", ")
            );
        }
        if let Some(r) = random {
            let st = if labelled { r.accuracy } else { r.agreement };
            let names = |v: Vec<&&AreaSummary>| {
                if v.is_empty() {
                    "none".to_string()
                } else {
                    v.iter().map(|t| t.criterion.name()).collect::<Vec<_>>().join(", ")
                }
            };
            s += &format!(
                ". Top removal more damaging than every random seed: {}; bottom removal less damaging than every random seed: {}",
                names(top.iter().filter(|t| get(t) < st.min).collect()),
                names(bottom.iter().filter(|b| get(b) > st.max).collect())
            );
            let odd: Vec<&&AreaSummary> = top.iter().filter(|t| get(t) > st.max).collect();
            if !odd.is_empty() {
                s += &format!(
                    "; top removal less damaging than every random seed (the ranking is inverted): {}",
                    names(odd)
                );
            }
        }
        if !labelled {
            let mut by_kl: Vec<&AreaSummary> = rows.iter().copied().filter(|r| r.direction == Direction::Top).collect();
            by_kl.sort_by(|a, b| b.kl.mean.total_cmp(&a.kl.mean));
            if let Some(k) = by_kl.first() {
                s += &format!(". By mean KL divergence the top removal of {} shifts the output most ({:.3} nats averaged over sparsity)", k.criterion.name(), k.kl.mean);
            }
        }
        s.push('.');
        out.push(s);
    }
    out
}

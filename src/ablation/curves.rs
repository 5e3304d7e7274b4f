//! Deletion curves, the areas under them, and the verdict.
//!
//! In: an [`Evaluator`], [`Ranking`]s of its taps and a [`CurvePlan`]
//! (sparsities network-wide and per tap). Out: [`CurvePoint`]s — for every
//! ranking, scope and sparsity s, the [`Damage`] after removing the top-k or
//! bottom-k units (k = round(s · units); random rankings once per seed), each
//! curve starting at the unablated point; [`areas`] under every curve (the
//! metric's mean over sparsity 0 … s_max, trapezoid rule) with a bootstrap
//! interval over the evaluation images ([`areas_with`], see
//! [`super::bootstrap`]) and where the curve reaches its floor; [`summarise`]
//! over seeds ([`Stat`]: mean, sd, min, max, interval); and the [`verdict`]
//! in plain words, generated from the numbers. [`summarise_points`] gives
//! every point (seeds averaged) its bootstrap interval over the evaluation
//! images — the error bars of the figures. [`sparsity_rule`],
//! [`probe_sparsities`] (network-wide) and [`probe_layer_sparsities`] (within
//! one tap) choose the sparsities where the rankings can separate.

use serde::Serialize;

use super::bootstrap::{Interval, Resamples};
use super::evaluate::{auc, Damage, Evaluator, PerImage, UnitMask};
use super::rank::{Criterion, Ranking};
use crate::error::{Error, Result};
use crate::model::TapInfo;

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
///
/// Per-layer sparsities are either one list for every tap (`layer`, given)
/// or one list per tap (`tap_sparsities`, e.g. chosen per tap by
/// [`probe_layer_sparsities`]); the latter wins when it is not empty.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CurvePlan {
    /// Sparsities (fractions of the units removed) network-wide; empty: none.
    pub network: Vec<f64>,
    /// Taps (indices into the ranked taps) with per-layer curves.
    pub per_tap: Vec<usize>,
    /// Sparsities within a tap, the same for every tap of `per_tap` (used
    /// when `tap_sparsities` is empty).
    pub layer: Vec<f64>,
    /// Per entry of `per_tap`, its own sparsities within the tap; empty:
    /// `layer` for every tap.
    pub tap_sparsities: Vec<Vec<f64>>,
}

/// Check one list of sparsities: 0 < s ≤ 1, increasing; `what` names it in
/// the error.
pub(crate) fn check_sparsities(what: &str, s: &[f64]) -> Result<()> {
    if let Some(bad) = s.iter().find(|v| !(v.is_finite() && **v > 0.0 && **v <= 1.0)) {
        return Err(Error::Config(format!("{what}: sparsity {bad} is not in (0, 1]")));
    }
    if s.windows(2).any(|w| w[1] <= w[0]) {
        return Err(Error::Config(format!("{what}: sparsities {s:?} must increase")));
    }
    Ok(())
}

impl CurvePlan {
    /// Check sparsities (0 < s ≤ 1, ascending, unique) and tap indices.
    pub fn validate(&self, taps: usize) -> Result<()> {
        check_sparsities("network-wide", &self.network)?;
        check_sparsities("per-layer", &self.layer)?;
        if let Some(bad) = self.per_tap.iter().find(|&&t| t >= taps) {
            return Err(Error::Config(format!("per-layer tap index {bad} is out of range (there are {taps} taps)")));
        }
        if !self.tap_sparsities.is_empty() {
            if self.tap_sparsities.len() != self.per_tap.len() {
                return Err(Error::Config(format!(
                    "{} lists of per-tap sparsities for {} per-layer taps",
                    self.tap_sparsities.len(),
                    self.per_tap.len()
                )));
            }
            for (t, s) in self.per_tap.iter().zip(&self.tap_sparsities) {
                check_sparsities(&format!("tap index {t}"), s)?;
            }
        }
        if (0..self.per_tap.len()).any(|i| self.layer_sparsities(i).is_empty()) {
            return Err(Error::Config("per-layer curves need per-layer sparsities".into()));
        }
        Ok(())
    }

    /// The sparsities of the `i`-th per-layer tap (`per_tap[i]`).
    pub fn layer_sparsities(&self, i: usize) -> &[f64] {
        match self.tap_sparsities.get(i) {
            Some(s) => s,
            None => &self.layer,
        }
    }

    /// Per scope (network-wide, then the per-layer taps, named as in the
    /// curves), the smallest sparsity measured.
    pub fn first_sparsities(&self, taps: &[TapInfo]) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        if let Some(&s) = self.network.first() {
            out.push((NETWORK.to_string(), s));
        }
        for (i, &t) in self.per_tap.iter().enumerate() {
            if let (Some(tap), Some(&s)) = (taps.get(t), self.layer_sparsities(i).first()) {
                out.push((tap.name.clone(), s));
            }
        }
        out
    }

    /// Up to `k` of `taps` ranked taps for per-layer curves, spread evenly
    /// over their order (the first and the last always among them); all of
    /// them when there are no more than `k`.
    pub fn spread_taps(taps: usize, k: usize) -> Vec<usize> {
        if taps <= k {
            return (0..taps).collect();
        }
        if k <= 1 {
            return vec![0; k.min(taps)];
        }
        let mut v: Vec<usize> = (0..k).map(|i| ((i * (taps - 1)) as f64 / (k - 1) as f64).round() as usize).collect();
        v.dedup();
        v
    }

    /// Network evaluations for rankings by `criteria` (random once per
    /// seed, the others top and bottom) under this plan.
    pub fn evaluations(&self, criteria: &[Criterion], seeds: usize) -> usize {
        let curves: usize = criteria.iter().map(|&c| if c == Criterion::Random { seeds } else { 2 }).sum();
        let layer: usize = (0..self.per_tap.len()).map(|i| self.layer_sparsities(i).len()).sum();
        curves * (self.network.len() + layer)
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
    /// The damage per evaluation image (not serialised).
    #[serde(skip)]
    pub per_image: PerImage,
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
    deletion_curves_with(eval, rankings, plan, progress, &mut |_, _| Ok(()))
}

/// [`deletion_curves`], calling `scope_done(scope, points so far)` after
/// each scope (network-wide first, then the taps in plan order) — to
/// write partial results and report progress.
pub fn deletion_curves_with(
    eval: &Evaluator,
    rankings: &[Ranking],
    plan: &CurvePlan,
    progress: &(dyn Fn() + Sync),
    scope_done: &mut dyn FnMut(&str, &[CurvePoint]) -> Result<()>,
) -> Result<Vec<CurvePoint>> {
    let taps = eval.taps();
    plan.validate(taps.len())?;
    for r in rankings {
        if r.taps.len() != taps.len() || r.taps.iter().zip(taps).any(|(a, b)| a.name != b.name) {
            return Err(Error::Data(format!("ranking {} is over other taps than the evaluator", r.label())));
        }
    }
    let base = eval.base_per_image();
    let mut points = Vec::new();
    let mut scopes: Vec<(String, Option<usize>, &[f64])> = Vec::new();
    if !plan.network.is_empty() {
        scopes.push((NETWORK.to_string(), None, &plan.network));
    }
    for (i, &t) in plan.per_tap.iter().enumerate() {
        scopes.push((taps[t].name.clone(), Some(t), plan.layer_sparsities(i)));
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
                let point = |sparsity: f64, removed: usize, per_image: PerImage| CurvePoint {
                    scope: scope.clone(),
                    units: n,
                    criterion: r.criterion,
                    seed: r.seed,
                    direction,
                    sparsity,
                    removed,
                    damage: per_image.damage(),
                    per_image,
                };
                points.push(point(0.0, 0, base.clone()));
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
                    points.push(point(s, k, eval.per_image(&mask)?));
                    progress();
                }
            }
        }
        scope_done(scope, &points)?;
    }
    Ok(points)
}

/// Per evaluation image, the area under its own curve (the mean of these is
/// the curve's area).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PerImageAreas {
    /// Under accuracy (empty without labels).
    pub accuracy: Vec<f64>,
    /// Under agreement.
    pub agreement: Vec<f64>,
    /// Under KL (nats).
    pub kl: Vec<f64>,
}

impl PerImageAreas {
    fn mean_of(group: &[&PerImageAreas]) -> PerImageAreas {
        let avg = |f: fn(&PerImageAreas) -> &Vec<f64>| -> Vec<f64> {
            let n = group.iter().map(|g| f(g).len()).min().unwrap_or(0);
            (0..n).map(|i| group.iter().map(|g| f(g)[i]).sum::<f64>() / group.len() as f64).collect()
        };
        PerImageAreas { accuracy: avg(|a| &a.accuracy), agreement: avg(|a| &a.agreement), kl: avg(|a| &a.kl) }
    }
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
    /// Bootstrap interval of the accuracy area (NaN when not computed).
    pub accuracy_ci: Interval,
    /// Bootstrap interval of the agreement area.
    pub agreement_ci: Interval,
    /// Bootstrap interval of the KL area.
    pub kl_ci: Interval,
    /// The floor of the main metric (accuracy with labels, else agreement;
    /// see [`Evaluator::floor`]); NaN when not known.
    pub floor: f64,
    /// The smallest sparsity > 0 from which every point of the curve is at
    /// or below the floor (None: it never stays there).
    pub floor_from: Option<f64>,
    /// Per image, the area under its own curve (not serialised).
    #[serde(skip)]
    pub per_image: PerImageAreas,
}

/// Areas under every curve in `points` (grouped by scope, criterion, seed,
/// direction, in order of first appearance), without intervals or floors.
pub fn areas(points: &[CurvePoint]) -> Vec<Area> {
    areas_with(points, &Resamples::none(), &Damage::NAN)
}

/// Areas under every curve in `points`, each with its bootstrap interval
/// over the evaluation images (`resamples`, drawn for the evaluation set's
/// groups) and the sparsity from which it sits at `floor` (the main metric:
/// accuracy when the points have labels, else agreement).
pub fn areas_with(points: &[CurvePoint], resamples: &Resamples, floor: &Damage) -> Vec<Area> {
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
            let per_image = |f: fn(&PerImage) -> &Vec<f64>| -> Vec<f64> {
                let n = curve.iter().map(|p| f(&p.per_image).len()).min().unwrap_or(0);
                (0..n).map(|i| auc(&x, &curve.iter().map(|p| f(&p.per_image)[i]).collect::<Vec<_>>())).collect()
            };
            let per_image = PerImageAreas {
                accuracy: per_image(|p| &p.correct),
                agreement: per_image(|p| &p.agree),
                kl: per_image(|p| &p.kl),
            };
            let labelled = curve.iter().all(|p| p.damage.accuracy.is_finite());
            let (floor, main): (f64, fn(&Damage) -> f64) =
                if labelled { (floor.accuracy, |d| d.accuracy) } else { (floor.agreement, |d| d.agreement) };
            let metric: Vec<(f64, f64)> = curve.iter().map(|p| (p.sparsity, main(&p.damage))).collect();
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
                accuracy_ci: resamples.interval(&per_image.accuracy),
                agreement_ci: resamples.interval(&per_image.agreement),
                kl_ci: resamples.interval(&per_image.kl),
                floor,
                floor_from: floor_from(&metric, floor),
                per_image,
            }
        })
        .collect()
}

/// The smallest sparsity > 0 from which every point of a curve
/// `(sparsity, metric)` (sorted by sparsity) is at or below `floor`; None
/// when the last point is above it, or the floor is unknown.
pub fn floor_from(curve: &[(f64, f64)], floor: f64) -> Option<f64> {
    if !floor.is_finite() {
        return None;
    }
    let mut from = None;
    for &(s, y) in curve.iter().rev() {
        if s <= 0.0 || y.is_nan() || y > floor + 1e-12 {
            break;
        }
        from = Some(s);
    }
    from
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
    /// Bootstrap interval over the evaluation images of the mean (NaN when
    /// not computed; for random rankings, of the mean over seeds).
    pub ci: Interval,
}

impl Stat {
    /// For a table cell: "mean ± sd" over `curves` > 1 curves, else the
    /// mean, then the bootstrap interval "[lo, hi]" when there is one; "–"
    /// when undefined (e.g. accuracy without labels).
    pub fn cell(self, curves: usize) -> String {
        let ci = self.ci.suffix();
        if !self.mean.is_finite() {
            "–".to_string()
        } else if curves > 1 {
            format!("{:.3} ± {:.3}{ci}", self.mean, self.sd)
        } else {
            format!("{:.3}{ci}", self.mean)
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
            ci: Interval::NAN,
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
    /// The floor of the main metric (NaN when not known).
    pub floor: f64,
    /// The sparsity from which the curve sits at its floor (for random
    /// rankings the largest over seeds; None when any seed's curve leaves it).
    pub floor_from: Option<f64>,
    /// At the floor from the curve's first sparsity on: the area then says
    /// nothing about the ranking.
    pub at_floor: bool,
    /// Per image, the area averaged over seeds (not serialised).
    #[serde(skip)]
    pub per_image: PerImageAreas,
}

/// Collapse the seeds of each (scope, criterion, direction), without
/// intervals.
pub fn summarise(areas: &[Area]) -> Vec<AreaSummary> {
    summarise_with(areas, &[], &Resamples::none())
}

/// Collapse the seeds of each (scope, criterion, direction); each mean
/// gets its bootstrap interval from `resamples` (for random rankings, of
/// the per-image areas averaged over seeds). `first_sparsity` per scope
/// (the smallest sparsity > 0 measured) decides [`AreaSummary::at_floor`].
pub fn summarise_with(areas: &[Area], first_sparsity: &[(String, f64)], resamples: &Resamples) -> Vec<AreaSummary> {
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
            let per_image = PerImageAreas::mean_of(&group.iter().map(|a| &a.per_image).collect::<Vec<_>>());
            let stat = |f: fn(&Area) -> f64, v: &[f64]| Stat {
                ci: resamples.interval(v),
                ..Stat::of(&group.iter().map(|a| f(a)).collect::<Vec<_>>())
            };
            let floor_from = group
                .iter()
                .map(|a| a.floor_from)
                .collect::<Option<Vec<f64>>>()
                .map(|v| v.into_iter().fold(0.0, f64::max));
            let first = first_sparsity.iter().find(|(s, _)| s == scope).map(|f| f.1);
            AreaSummary {
                scope: scope.to_string(),
                units: group[0].units,
                criterion,
                direction,
                curves: group.len(),
                max_sparsity: group[0].max_sparsity,
                accuracy: stat(|a| a.accuracy, &per_image.accuracy),
                agreement: stat(|a| a.agreement, &per_image.agreement),
                kl: stat(|a| a.kl, &per_image.kl),
                floor: group[0].floor,
                floor_from,
                at_floor: matches!((floor_from, first), (Some(f), Some(s)) if f <= s),
                per_image,
            }
        })
        .collect()
}

/// Plain statements, one per scope: which ranking damages most when its top
/// units go and least when its bottom units go (each area with its
/// bootstrap interval when there is one), against random (mean ± sd over
/// seeds; "beyond random" means beyond every seed), how well each ranking
/// separates (area after bottom removal − area after top removal), and
/// which curves sit at their floor. The main metric is accuracy when there
/// are labels, else top-1 agreement; higher area = less damage. Generated
/// from the numbers.
pub fn verdict(summary: &[AreaSummary]) -> Vec<String> {
    verdict_with(summary, &Resamples::none())
}

/// [`verdict`], with bootstrap intervals of the separations (paired: the
/// same resampled images for bottom and top) from `resamples`.
pub fn verdict_with(summary: &[AreaSummary], resamples: &Resamples) -> Vec<String> {
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
        let ci = |r: &AreaSummary| if labelled { r.accuracy.ci } else { r.agreement.ci }.suffix();
        let extremes = |v: &[&AreaSummary], lead: &str| match (v.first(), v.last()) {
            (Some(most), Some(least)) => format!(
                "{lead} damages most with {} ({:.3}{}) and least with {} ({:.3}{})",
                most.criterion.name(),
                get(most),
                ci(most),
                least.criterion.name(),
                get(least),
                ci(least)
            ),
            _ => String::new(),
        };
        s += &extremes(&top, "removing the top-ranked units");
        if let Some(r) = random {
            let st = if labelled { r.accuracy } else { r.agreement };
            s += &format!(
                "; random removal gives {:.3} ± {:.3} (sd over {} seeds){}",
                st.mean,
                st.sd,
                r.curves,
                if st.ci.text().is_empty() { String::new() } else { format!(", mean {}", st.ci.text()) }
            );
        }
        s += &extremes(&bottom, "; removing the bottom-ranked units");
        // separation: area(bottom) − area(top); > 0 when the ranking orders units by what the network needs
        let main_per_image =
            |r: &AreaSummary| if labelled { r.per_image.accuracy.clone() } else { r.per_image.agreement.clone() };
        let mut sep: Vec<(Criterion, f64, Interval)> = top
            .iter()
            .filter_map(|t| {
                bottom.iter().find(|b| b.criterion == t.criterion).map(|b| {
                    let (pb, pt) = (main_per_image(b), main_per_image(t));
                    let diff: Vec<f64> = pb.iter().zip(&pt).map(|(b, t)| b - t).collect();
                    let i = if diff.is_empty() { Interval::NAN } else { resamples.interval(&diff) };
                    (t.criterion, get(b) - get(t), i)
                })
            })
            .collect();
        sep.sort_by(|a, b| b.1.total_cmp(&a.1));
        if !sep.is_empty() {
            s += &format!(
                ". Separation (bottom − top area; 0 = no better than chance{}): {}",
                if resamples.is_empty() {
                    String::new()
                } else {
                    format!("; {:.0} % bootstrap intervals over images", resamples.level() * 100.0)
                },
                sep.iter()
                    .map(|(c, v, i)| format!("{} {v:+.3}{}", c.name(), i.suffix()))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let floored: Vec<&&AreaSummary> = rows.iter().filter(|r| r.at_floor).collect();
        if !floored.is_empty() {
            let floor = first.floor;
            s += &format!(
                ". {} of {} curves sit at the floor ({metric} ≤ {floor:.3}, what one constant top-1 class for every image scores) from their first sparsity on — their areas cannot tell rankings apart: {}",
                floored.len(),
                rows.len(),
                floored.iter().map(|r| format!("{} {}", r.criterion.name(), r.direction.name())).collect::<Vec<_>>().join(", ")
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

/// Sparsities tried by [`probe_sparsities`] and [`probe_layer_sparsities`],
/// in order (they stop at the first one that reaches the threshold).
pub const PROBE_GRID: [f64; 10] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 0.9];

/// Sparsities measured network-wide when they are probed ([`sparsity_rule`]).
pub const NETWORK_SPARSITIES: usize = 8;

/// Sparsities measured within each per-layer tap when they are probed
/// ([`sparsity_rule`]): fewer than network-wide, since every per-layer tap
/// costs as many evaluations again.
pub const LAYER_SPARSITIES: usize = 5;

/// The sparsities of one scope chosen from a probe of random removal.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SparsityProbe {
    /// [`NETWORK`] or the tap's name.
    pub scope: String,
    /// Units in the scope.
    pub units: usize,
    /// The random ranking's seed.
    pub seed: u64,
    /// The main metric (accuracy with labels, else agreement) at each probed
    /// sparsity.
    pub points: Vec<(f64, f64)>,
    /// The unablated network's main metric.
    pub base: f64,
    /// The metric's floor ([`Evaluator::floor`]).
    pub floor: f64,
    /// The sparsities chosen ([`sparsity_rule`]).
    pub chosen: Vec<f64>,
    /// Why, in words.
    pub rule: String,
}

/// Choose `n` sparsities of a scope of `units` units from random removal's
/// main metric at increasing probe sparsities (`probe`: (sparsity, metric)):
/// let s_hi be the first probed sparsity at which random removal has done
/// 90 % of the damage it can do (metric ≤ floor + 0.1 · (base − floor)).
/// Beyond s_hi every ranking's curve is at or near its floor and the areas
/// cannot separate rankings, so the curve is measured at `n` log-spaced
/// sparsities from max(s_hi / 20, 1 / units) to s_hi (4 significant digits;
/// no two remove the same number of units, so there may be fewer). When
/// random removal never gets there (a scope that tolerates removal), the
/// tenths 0.1, 0.2, …, 0.9, every ⌈9 / (n + 1)⌉-th: all nine for the
/// network's n = 8, 0.1, 0.3, 0.5, 0.7, 0.9 for a tap's n = 5. The same rule
/// serves the whole network ([`NETWORK_SPARSITIES`]) and each per-layer tap
/// ([`LAYER_SPARSITIES`]). Returns (sparsities, the reason in words).
pub fn sparsity_rule(probe: &[(f64, f64)], base: f64, floor: f64, units: usize, n: usize) -> (Vec<f64>, String) {
    let n = n.max(1);
    let threshold = floor + 0.1 * (base - floor);
    let hit = probe.iter().find(|(_, y)| *y <= threshold).map(|p| p.0);
    let Some(hi) = hit else {
        let tried = probe.last().map(|p| p.0).unwrap_or(0.0);
        let step = 9_usize.div_ceil(n + 1);
        let linear: Vec<f64> = (1..=9).step_by(step).map(|i| i as f64 / 10.0).collect();
        return (
            linear,
            format!(
                "random removal of up to {:.1} % of the units keeps the metric above {threshold:.3} (floor {floor:.3} + 10 % of the way to the unablated {base:.3}): linear 0.1 … 0.9 in steps of {}",
                tried * 100.0,
                step as f64 / 10.0
            ),
        );
    };
    let lo = (hi / 20.0).max(1.0 / units.max(1) as f64);
    let first = if probe.first().map(|p| p.0) == Some(hi) { " (already the first probed sparsity)" } else { "" };
    let mut out: Vec<f64> = if lo >= hi || n == 1 {
        vec![hi]
    } else {
        (0..n).map(|i| lo * (hi / lo).powf(i as f64 / (n - 1) as f64)).map(significant4).collect()
    };
    out.dedup_by(|a, b| (*a * units as f64).round() == (*b * units as f64).round());
    (
        out,
        format!(
            "random removal reaches {threshold:.3} (floor {floor:.3} + 10 % of the way to the unablated {base:.3}) at sparsity {hi}{first}: {n} log-spaced sparsities from max({hi} / 20, 1 / {units} units) to {hi}"
        ),
    )
}

fn significant4(x: f64) -> f64 {
    if x <= 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(3 - x.log10().floor() as i32);
    (x * scale).round() / scale
}

/// Probe random removal network-wide (the network-wide order of `random`)
/// at [`PROBE_GRID`] until the main metric reaches the threshold of
/// [`sparsity_rule`], and choose [`NETWORK_SPARSITIES`] sparsities by it.
/// `progress()` is called after each evaluation.
pub fn probe_sparsities(eval: &Evaluator, random: &Ranking, progress: &(dyn Fn() + Sync)) -> Result<SparsityProbe> {
    probe_order(eval, random, NETWORK, &random.order_network(), NETWORK_SPARSITIES, progress)
}

/// Probe random removal within tap `tap` (an index into the evaluator's
/// taps; `random`'s order within it) the same way, and choose
/// [`LAYER_SPARSITIES`] sparsities for the tap's per-layer curves by
/// [`sparsity_rule`]: each tap gets the range where its own curves can
/// separate (removing a quarter of an early, narrow layer of Lite0 already
/// takes every ranking to the floor; a quarter of the head does not).
pub fn probe_layer_sparsities(
    eval: &Evaluator,
    random: &Ranking,
    tap: usize,
    progress: &(dyn Fn() + Sync),
) -> Result<SparsityProbe> {
    let Some(info) = eval.taps().get(tap) else {
        return Err(Error::Config(format!("tap index {tap} is out of range (there are {} taps)", eval.taps().len())));
    };
    let order: Vec<(usize, usize)> = random.order_in_tap(tap).into_iter().map(|u| (tap, u)).collect();
    probe_order(eval, random, &info.name, &order, LAYER_SPARSITIES, progress)
}

/// The probe of one scope: remove the first k units of `order` at each
/// sparsity s of [`PROBE_GRID`] (k = round(s · units); a sparsity that
/// removes no unit is probed as one unit, 1 / units; one that removes as
/// many units as the previous one is skipped), stop at the threshold, and
/// apply [`sparsity_rule`] with `n` points.
fn probe_order(
    eval: &Evaluator,
    random: &Ranking,
    scope: &str,
    order: &[(usize, usize)],
    n: usize,
    progress: &(dyn Fn() + Sync),
) -> Result<SparsityProbe> {
    let taps = eval.taps();
    let labelled = eval.set().labels.is_some();
    let main = |d: &Damage| if labelled { d.accuracy } else { d.agreement };
    let (base, floor) = (main(&eval.base()), main(&eval.floor()));
    let threshold = floor + 0.1 * (base - floor);
    let units = order.len();
    if units == 0 {
        return Err(Error::Data(format!("scope {scope} has no units to probe")));
    }
    let mut points = Vec::new();
    let mut last_k = 0;
    for s in PROBE_GRID {
        let k = ((s * units as f64).round() as usize).min(units);
        let (s, k) = if k == 0 { (1.0 / units as f64, 1) } else { (s, k) };
        if k == last_k {
            continue;
        }
        last_k = k;
        let mut mask = UnitMask::ones(taps);
        for &(t, u) in order.iter().take(k) {
            mask.silence(t, u);
        }
        let y = main(&eval.damage(&mask)?);
        progress();
        points.push((s, y));
        if y <= threshold {
            break;
        }
    }
    let (chosen, rule) = sparsity_rule(&points, base, floor, units, n);
    Ok(SparsityProbe {
        scope: scope.to_string(),
        units,
        seed: random.seed.unwrap_or(0),
        points,
        base,
        floor,
        chosen,
        rule,
    })
}

/// Bootstrap intervals of the three metrics (NaN when not computed).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct DamageInterval {
    /// Of the accuracy (NaN without labels).
    pub accuracy: Interval,
    /// Of the top-1 agreement.
    pub agreement: Interval,
    /// Of the mean KL divergence (nats).
    pub kl: Interval,
}

/// One point of a curve with its seeds averaged (one seed, or a ranking
/// without seeds: the point itself) and a bootstrap interval over the
/// evaluation images: the error bar of the figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PointSummary {
    /// Scope.
    pub scope: String,
    /// Units in the scope.
    pub units: usize,
    /// Criterion.
    pub criterion: Criterion,
    /// Direction.
    pub direction: Direction,
    /// Sparsity (0 = unablated).
    pub sparsity: f64,
    /// Units removed.
    pub removed: usize,
    /// Curves (seeds) averaged.
    pub curves: usize,
    /// The damage, averaged over the curves.
    pub damage: Damage,
    /// The interval of each metric: the percentile bootstrap of the mean
    /// over the evaluation images (for random rankings, of the per-image
    /// values averaged over seeds), on the same resamples as the areas.
    pub ci: DamageInterval,
}

/// Every point of `points` with its seeds averaged and its bootstrap
/// interval from `resamples` (the areas' resamples), in order of first
/// appearance of (scope, criterion, direction), then by sparsity. The
/// interval of a point is the spread of its metric over resampled
/// evaluation sets: it holds the point (the mean of the resampled means is
/// the mean), is a single value where every image agrees (e.g. the
/// unablated agreement 1), and narrows as √(images) grows.
pub fn summarise_points(points: &[CurvePoint], resamples: &Resamples) -> Vec<PointSummary> {
    use rayon::prelude::*;
    // (curve, sparsity), the curves in order of first appearance
    let mut curves: Vec<(&str, Criterion, Direction)> = Vec::new();
    let mut keys: Vec<(usize, u64)> = Vec::new();
    for p in points {
        let c = (p.scope.as_str(), p.criterion, p.direction);
        let i = curves.iter().position(|k| *k == c).unwrap_or_else(|| {
            curves.push(c);
            curves.len() - 1
        });
        if !keys.contains(&(i, p.sparsity.to_bits())) {
            keys.push((i, p.sparsity.to_bits()));
        }
    }
    keys.sort_by(|a, b| a.0.cmp(&b.0).then(f64::from_bits(a.1).total_cmp(&f64::from_bits(b.1))));
    keys.par_iter()
        .map(|&(i, bits)| {
            let (scope, criterion, direction) = curves[i];
            let group: Vec<&CurvePoint> = points
                .iter()
                .filter(|p| {
                    p.scope == scope
                        && p.criterion == criterion
                        && p.direction == direction
                        && p.sparsity.to_bits() == bits
                })
                .collect();
            let mean_of = |f: fn(&PerImage) -> &Vec<f64>| -> Vec<f64> {
                let n = group.iter().map(|p| f(&p.per_image).len()).min().unwrap_or(0);
                (0..n).map(|i| group.iter().map(|p| f(&p.per_image)[i]).sum::<f64>() / group.len() as f64).collect()
            };
            let avg = |f: fn(&Damage) -> f64| group.iter().map(|p| f(&p.damage)).sum::<f64>() / group.len() as f64;
            PointSummary {
                scope: scope.to_string(),
                units: group[0].units,
                criterion,
                direction,
                sparsity: f64::from_bits(bits),
                removed: group[0].removed,
                curves: group.len(),
                damage: Damage { accuracy: avg(|d| d.accuracy), agreement: avg(|d| d.agreement), kl: avg(|d| d.kl) },
                ci: DamageInterval {
                    accuracy: resamples.interval(&mean_of(|p| &p.correct)),
                    agreement: resamples.interval(&mean_of(|p| &p.agree)),
                    kl: resamples.interval(&mean_of(|p| &p.kl)),
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ablation::Bootstrap;

    #[test]
    fn the_sparsity_rule_by_hand() {
        // floor 0, base 1: threshold 0.1, first reached at 0.02
        let (s, why) = sparsity_rule(&[(0.005, 0.9), (0.01, 0.6), (0.02, 0.08)], 1.0, 0.0, 4000, 8);
        assert_eq!(s.len(), 8, "{s:?}");
        assert_eq!((s[0], s[7]), (0.001, 0.02), "from 0.02 / 20 to 0.02");
        // log-spaced: constant ratio 20^(1/7) ≈ 1.534
        assert!((s[1] - 0.001534).abs() < 1e-9, "{s:?}");
        assert!(why.contains("sparsity 0.02"), "{why}");
        // a floor of 0.2 and base 0.9: threshold 0.27; 0.3 is not enough, 0.25 is
        let (s, _) = sparsity_rule(&[(0.1, 0.3), (0.2, 0.25)], 0.9, 0.2, 480, 8);
        assert_eq!(*s.last().unwrap(), 0.2);
        // never reached: the linear default, every tenth for the network's 8 points, every other for a tap's 5
        let (s, why) = sparsity_rule(&[(0.5, 0.8), (0.9, 0.5)], 1.0, 0.1, 480, 8);
        assert_eq!(s, vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
        assert!(why.contains("linear"), "{why}");
        let (s, why) = sparsity_rule(&[(0.5, 0.8), (0.9, 0.5)], 1.0, 0.1, 480, 5);
        assert_eq!(s, vec![0.1, 0.3, 0.5, 0.7, 0.9]);
        assert!(why.contains("steps of 0.2"), "{why}");
        // a tap's 5 points: from 0.5 / 20 = 0.025 to 0.5, ratio 20^(1/4) ≈ 2.115
        let (s, _) = sparsity_rule(&[(0.2, 0.9), (0.5, 0.05)], 1.0, 0.0, 1000, 5);
        assert_eq!(s.len(), 5, "{s:?}");
        assert_eq!((s[0], s[4]), (0.025, 0.5));
        assert!((s[1] - 0.05287).abs() < 1e-9, "{s:?}");
        // few units: at least one unit at the smallest sparsity, no two sparsities remove the same count
        let (s, _) = sparsity_rule(&[(0.05, 0.0)], 1.0, 0.0, 40, 8);
        assert_eq!(s[0], 0.025, "1 / 40 units");
        let removed: Vec<f64> = s.iter().map(|x| (x * 40.0).round()).collect();
        assert!(removed.windows(2).all(|w| w[1] > w[0]), "{removed:?}");
    }

    #[test]
    fn summaries_flag_curves_at_their_floor_and_bootstrap_their_areas() {
        // two images without labels, agreement per image; floor 0.5
        let point = |d: Direction, s: f64, agree: [f64; 2]| {
            let per_image = PerImage { correct: vec![], agree: agree.to_vec(), kl: vec![0.0, 0.0] };
            CurvePoint {
                scope: NETWORK.into(),
                units: 10,
                criterion: Criterion::L1,
                seed: None,
                direction: d,
                sparsity: s,
                removed: (s * 10.0) as usize,
                damage: per_image.damage(),
                per_image,
            }
        };
        let points = vec![
            point(Direction::Top, 0.0, [1.0, 1.0]),
            point(Direction::Top, 0.1, [0.0, 1.0]),
            point(Direction::Top, 0.2, [0.0, 0.0]),
            point(Direction::Bottom, 0.0, [1.0, 1.0]),
            point(Direction::Bottom, 0.1, [1.0, 1.0]),
            point(Direction::Bottom, 0.2, [1.0, 0.0]),
        ];
        let floor = Damage { accuracy: f64::NAN, agreement: 0.5, kl: f64::NAN };
        let r = Bootstrap { resamples: 4000, level: 0.95, seed: 3 }.draw(&[0, 1]);
        let a = areas_with(&points, &r, &floor);
        // top: image 0 has area (0.1·(1+0)/2 + 0.1·0)/0.2 = 0.25, image 1 (0.1·2/2 + 0.1·1/2)/0.2 = 0.75
        let close = |x: f64, y: f64| (x - y).abs() < 1e-12;
        let pi = &a[0].per_image.agreement;
        assert!(close(pi[0], 0.25) && close(pi[1], 0.75), "{pi:?}");
        assert!((a[0].agreement - 0.5).abs() < 1e-12);
        // resampling two images: means 0.25, 0.5 or 0.75 (P = 1/4, 1/2, 1/4)
        assert!(close(a[0].agreement_ci.lo, 0.25) && close(a[0].agreement_ci.hi, 0.75), "{:?}", a[0].agreement_ci);
        assert_eq!(a[0].floor_from, Some(0.1), "0.5 at 0.1 and 0 at 0.2 are at or below 0.5");
        assert_eq!(a[1].floor_from, Some(0.2));
        let s = summarise_with(&a, &[(NETWORK.to_string(), 0.1)], &r);
        assert!(s[0].at_floor && !s[1].at_floor);
        assert_eq!(s[0].agreement.cell(1), "0.500 [0.250, 0.750]");
        let v = verdict_with(&s, &r);
        assert!(v[0].contains("1 of 2 curves sit at the floor") && v[0].contains("l1 top"), "{}", v[0]);
    }

    /// A point of a curve without labels whose images agree (1) or not (0).
    fn agreeing(criterion: Criterion, seed: Option<u64>, s: f64, agree: &[f64]) -> CurvePoint {
        let per_image = PerImage { correct: vec![], agree: agree.to_vec(), kl: vec![0.0; agree.len()] };
        CurvePoint {
            scope: NETWORK.into(),
            units: 100,
            criterion,
            seed,
            direction: if criterion == Criterion::Random { Direction::Random } else { Direction::Top },
            sparsity: s,
            removed: (s * 100.0).round() as usize,
            damage: per_image.damage(),
            per_image,
        }
    }

    #[test]
    fn point_intervals_by_hand() {
        // two images, one agrees: a resample holds {0, 0}, {0, 1} or {1, 1} with P = 1/4, 1/2, 1/4,
        // so the resampled mean is 0, 0.5 or 1; the 2.5 % and 97.5 % quantiles are 0 and 1, the 30 %
        // and 70 % quantiles (a 40 % interval) both 0.5
        let points =
            vec![agreeing(Criterion::L1, None, 0.0, &[1.0, 1.0]), agreeing(Criterion::L1, None, 0.1, &[0.0, 1.0])];
        let b = |level: f64| Bootstrap { resamples: 4000, level, seed: 5 }.draw(&[0, 1]);
        let s = summarise_points(&points, &b(0.95));
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].sparsity, s[0].damage.agreement), (0.0, 1.0));
        assert_eq!((s[0].ci.agreement.lo, s[0].ci.agreement.hi), (1.0, 1.0), "every image agrees: no spread");
        assert_eq!(s[1].damage.agreement, 0.5);
        assert_eq!((s[1].ci.agreement.lo, s[1].ci.agreement.hi), (0.0, 1.0));
        let narrow = summarise_points(&points, &b(0.4));
        assert_eq!((narrow[1].ci.agreement.lo, narrow[1].ci.agreement.hi), (0.5, 0.5));
        assert!(s[1].ci.accuracy.lo.is_nan(), "no labels, no accuracy interval");
        // random seeds are averaged per image first: [1, 0] and [0, 1] average to [0.5, 0.5], a
        // single value, although each seed's own interval is [0, 1]
        let seeds = vec![
            agreeing(Criterion::Random, Some(0), 0.1, &[1.0, 0.0]),
            agreeing(Criterion::Random, Some(1), 0.1, &[0.0, 1.0]),
        ];
        let r = summarise_points(&seeds, &b(0.95));
        assert_eq!((r.len(), r[0].curves, r[0].damage.agreement), (1, 2, 0.5));
        assert_eq!((r[0].ci.agreement.lo, r[0].ci.agreement.hi), (0.5, 0.5));
        // no resamples: NaN intervals
        assert!(summarise_points(&points, &Resamples::none())[1].ci.agreement.lo.is_nan());
    }

    #[test]
    fn point_intervals_hold_the_point_narrow_with_more_images_and_widen_towards_one_half() {
        // n images of which a share p agree: the resampled mean has sd √(p(1 − p) / n), so the 95 %
        // interval is about 2 · 1.96 · √(p(1 − p) / n) wide
        let width = |n: usize, agree: usize| {
            let v: Vec<f64> = (0..n).map(|i| if i < agree { 1.0 } else { 0.0 }).collect();
            let r = Bootstrap { resamples: 4000, level: 0.95, seed: 11 }.draw(&(0..n).collect::<Vec<_>>());
            let s = summarise_points(&[agreeing(Criterion::Im, None, 0.2, &v)], &r).remove(0);
            let (lo, hi, y) = (s.ci.agreement.lo, s.ci.agreement.hi, s.damage.agreement);
            assert!(lo <= y && y <= hi, "{n} images, {agree} agree: {y} outside [{lo}, {hi}]");
            hi - lo
        };
        let (w10, w40, w160) = (width(10, 5), width(40, 20), width(160, 80));
        // four times the images, half the width (within the bootstrap's own noise)
        assert!((0.4..0.62).contains(&(w40 / w10)), "{w10} {w40}");
        assert!((0.4..0.62).contains(&(w160 / w40)), "{w40} {w160}");
        assert!((w160 - 2.0 * 1.96 * (0.25f64 / 160.0).sqrt()).abs() < 0.03, "{w160}");
        // p = 0.1 is narrower than p = 0.5 (√(0.09) vs √(0.25)); p = 0 or 1 has no width
        let w_tenth = width(160, 16);
        assert!(w_tenth < 0.8 * w160 && w_tenth > 0.45 * w160, "{w_tenth} vs {w160}");
        assert_eq!(width(160, 160), 0.0);
        assert_eq!(width(160, 0), 0.0);
    }

    #[test]
    fn per_tap_sparsities_drive_curves_floors_and_checks() {
        let plan = CurvePlan {
            network: vec![0.1],
            per_tap: vec![0, 2],
            layer: vec![],
            tap_sparsities: vec![vec![0.05, 0.5], vec![0.3]],
        };
        plan.validate(3).unwrap();
        assert_eq!(plan.layer_sparsities(1), &[0.3]);
        assert_eq!(plan.evaluations(&[Criterion::L1, Criterion::Random], 3), (2 + 3) * (1 + 2 + 1));
        let bad = CurvePlan { tap_sparsities: vec![vec![0.5]], ..plan.clone() };
        assert!(bad.validate(3).unwrap_err().to_string().contains("1 lists of per-tap sparsities for 2"), "lengths");
        let bad = CurvePlan { tap_sparsities: vec![vec![0.5, 0.2], vec![0.3]], ..plan.clone() };
        assert!(bad.validate(3).unwrap_err().to_string().contains("tap index 0: sparsities [0.5, 0.2] must increase"));
        let none = CurvePlan { tap_sparsities: vec![], ..plan.clone() };
        assert!(none.validate(3).unwrap_err().to_string().contains("need per-layer sparsities"));
        // the given list serves every tap when there are no per-tap lists
        let given = CurvePlan { layer: vec![0.25, 0.5], tap_sparsities: vec![], ..plan.clone() };
        assert_eq!(given.layer_sparsities(1), &[0.25, 0.5]);
    }

    #[test]
    fn spread_taps_keep_the_ends() {
        assert_eq!(CurvePlan::spread_taps(33, 4), vec![0, 11, 21, 32]);
        assert_eq!(CurvePlan::spread_taps(3, 4), vec![0, 1, 2]);
    }

    #[test]
    fn floors_are_found_from_the_end() {
        let c = [(0.0, 1.0), (0.1, 0.5), (0.2, 0.0), (0.3, 0.1), (0.4, 0.05)];
        assert_eq!(floor_from(&c, 0.1), Some(0.2));
        assert_eq!(floor_from(&c, 0.01), None);
        assert_eq!(floor_from(&c, 0.6), Some(0.1), "never the unablated point");
        assert_eq!(floor_from(&c, f64::NAN), None);
    }
}

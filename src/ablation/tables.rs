//! The tables of an ablation study (Polars, long format).
//!
//! In: [`Ranking`]s, [`CurvePoint`]s, [`Area`]s and [`AreaSummary`]s. Out:
//! one DataFrame each — [`rankings_table`], [`curves_table`],
//! [`points_table`] (seeds averaged, with per-point intervals),
//! [`areas_table`], [`summary_table`] — written as Parquet by
//! [`Study::write`](super::Study::write).

use polars::prelude::{Column, DataFrame};

use super::bootstrap::Interval;
use super::curves::{Area, AreaSummary, CurvePoint, DamageInterval, Direction, PointSummary, Stat};
use super::rank::{Criterion, Ranking};
use crate::error::{Error, Result};

fn pl(e: polars::prelude::PolarsError) -> Error {
    Error::Data(format!("table: {e}"))
}

fn frame(cols: Vec<Column>) -> Result<DataFrame> {
    let height = cols.first().map(|c| c.len()).unwrap_or(0);
    DataFrame::new(height, cols).map_err(pl)
}

/// One row per (ranking, tap, unit): `ranking`, `seed` (random only), `tap`,
/// `op`, `depth`, `unit`, `value` (as measured), `importance`,
/// `normalised` (÷ the tap's RMS), `rank_in_tap` and `rank_network`
/// (0 = most important).
pub fn rankings_table(rankings: &[Ranking]) -> Result<DataFrame> {
    let (mut name, mut seed, mut tap, mut op, mut depth, mut unit) = (vec![], vec![], vec![], vec![], vec![], vec![]);
    let (mut value, mut importance, mut normalised, mut rank_tap, mut rank_net) =
        (vec![], vec![], vec![], vec![], vec![]);
    for r in rankings {
        let norm = r.normalised();
        let mut net = vec![Vec::new(); r.taps.len()];
        for (t, v) in net.iter_mut().enumerate() {
            *v = vec![0u32; r.taps[t].channels()];
        }
        for (k, (t, u)) in r.order_network().into_iter().enumerate() {
            net[t][u] = k as u32;
        }
        for (t, info) in r.taps.iter().enumerate() {
            let mut in_tap = vec![0u32; info.channels()];
            for (k, u) in r.order_in_tap(t).into_iter().enumerate() {
                in_tap[u] = k as u32;
            }
            for u in 0..info.channels() {
                name.push(r.criterion.name());
                seed.push(r.seed);
                tap.push(info.name.clone());
                op.push(info.op.clone());
                depth.push(info.depth as u32);
                unit.push(u as u32);
                value.push(r.values[t][u]);
                importance.push(r.importance[t][u]);
                normalised.push(norm[t][u]);
                rank_tap.push(in_tap[u]);
                rank_net.push(net[t][u]);
            }
        }
    }
    frame(vec![
        Column::new("ranking".into(), name),
        Column::new("seed".into(), seed),
        Column::new("tap".into(), tap),
        Column::new("op".into(), op),
        Column::new("depth".into(), depth),
        Column::new("unit".into(), unit),
        Column::new("value".into(), value),
        Column::new("importance".into(), importance),
        Column::new("normalised".into(), normalised),
        Column::new("rank_in_tap".into(), rank_tap),
        Column::new("rank_network".into(), rank_net),
    ])
}

/// The columns that name a curve: `scope`, `units`, `ranking`, `seed`,
/// `direction`.
fn curve_columns<T>(rows: &[T], key: impl Fn(&T) -> (&str, usize, Criterion, Option<u64>, Direction)) -> Vec<Column> {
    let keys: Vec<_> = rows.iter().map(key).collect();
    vec![
        Column::new("scope".into(), keys.iter().map(|k| k.0).collect::<Vec<_>>()),
        Column::new("units".into(), keys.iter().map(|k| k.1 as u32).collect::<Vec<_>>()),
        Column::new("ranking".into(), keys.iter().map(|k| k.2.name()).collect::<Vec<_>>()),
        Column::new("seed".into(), keys.iter().map(|k| k.3).collect::<Vec<_>>()),
        Column::new("direction".into(), keys.iter().map(|k| k.4.name()).collect::<Vec<_>>()),
    ]
}

/// A float column of `rows`.
fn float_column<T>(name: &str, rows: &[T], f: impl Fn(&T) -> f64) -> Column {
    Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>())
}

/// One row per curve point: `scope`, `units`, `ranking`, `seed`,
/// `direction`, `sparsity`, `removed`, `accuracy`, `agreement`, `kl`.
pub fn curves_table(points: &[CurvePoint]) -> Result<DataFrame> {
    let mut cols = curve_columns(points, |p| (p.scope.as_str(), p.units, p.criterion, p.seed, p.direction));
    cols.push(float_column("sparsity", points, |p| p.sparsity));
    cols.push(Column::new("removed".into(), points.iter().map(|p| p.removed as u32).collect::<Vec<_>>()));
    cols.push(float_column("accuracy", points, |p| p.damage.accuracy));
    cols.push(float_column("agreement", points, |p| p.damage.agreement));
    cols.push(float_column("kl", points, |p| p.damage.kl));
    frame(cols)
}

/// One row per point with the seeds of random rankings averaged
/// ([`PointSummary`]): `scope`, `units`, `ranking`, `direction`, `sparsity`,
/// `removed`, `curves`, `accuracy`, `agreement`, `kl` and each one's
/// bootstrap interval over the evaluation images (`accuracy_lo`,
/// `accuracy_hi`, …; NaN when not computed) — the error bars of the figures.
pub fn points_table(points: &[PointSummary]) -> Result<DataFrame> {
    let mut cols = curve_columns(points, |p| (p.scope.as_str(), p.units, p.criterion, None, p.direction));
    cols.retain(|c| c.name().as_str() != "seed");
    cols.push(float_column("sparsity", points, |p| p.sparsity));
    cols.push(Column::new("removed".into(), points.iter().map(|p| p.removed as u32).collect::<Vec<_>>()));
    cols.push(Column::new("curves".into(), points.iter().map(|p| p.curves as u32).collect::<Vec<_>>()));
    cols.push(float_column("accuracy", points, |p| p.damage.accuracy));
    cols.push(float_column("agreement", points, |p| p.damage.agreement));
    cols.push(float_column("kl", points, |p| p.damage.kl));
    for (metric, get) in [
        ("accuracy", (|c: &DamageInterval| c.accuracy) as fn(&DamageInterval) -> Interval),
        ("agreement", |c| c.agreement),
        ("kl", |c| c.kl),
    ] {
        cols.push(float_column(&format!("{metric}_lo"), points, |p| get(&p.ci).lo));
        cols.push(float_column(&format!("{metric}_hi"), points, |p| get(&p.ci).hi));
    }
    frame(cols)
}

/// One row per curve: `scope`, `units`, `ranking`, `seed`, `direction`,
/// `max_sparsity`, `auc_accuracy`, `auc_agreement`, `auc_kl`, each area's
/// bootstrap interval (`auc_accuracy_lo`, `auc_accuracy_hi`, …; NaN when not
/// computed), `floor` (of the main metric) and `floor_from` (the sparsity
/// from which the curve stays at or below it; null: never).
pub fn areas_table(areas: &[Area]) -> Result<DataFrame> {
    let mut cols = curve_columns(areas, |a| (a.scope.as_str(), a.units, a.criterion, a.seed, a.direction));
    cols.push(float_column("max_sparsity", areas, |a| a.max_sparsity));
    cols.push(float_column("auc_accuracy", areas, |a| a.accuracy));
    cols.push(float_column("auc_agreement", areas, |a| a.agreement));
    cols.push(float_column("auc_kl", areas, |a| a.kl));
    for (metric, get) in [
        ("accuracy", (|a: &Area| a.accuracy_ci) as fn(&Area) -> Interval),
        ("agreement", |a| a.agreement_ci),
        ("kl", |a| a.kl_ci),
    ] {
        cols.push(float_column(&format!("auc_{metric}_lo"), areas, |a| get(a).lo));
        cols.push(float_column(&format!("auc_{metric}_hi"), areas, |a| get(a).hi));
    }
    cols.push(float_column("floor", areas, |a| a.floor));
    cols.push(Column::new("floor_from".into(), areas.iter().map(|a| a.floor_from).collect::<Vec<_>>()));
    frame(cols)
}

/// One row per (scope, ranking, direction), seeds collapsed: `curves` and
/// mean / sd / min / max of each area (`auc_accuracy_mean`, …), the
/// bootstrap interval of the mean (`auc_accuracy_lo`, `auc_accuracy_hi`, …),
/// `floor`, `floor_from` and `at_floor` (at the floor from the first
/// sparsity on).
pub fn summary_table(summary: &[AreaSummary]) -> Result<DataFrame> {
    let mut cols = curve_columns(summary, |a| (a.scope.as_str(), a.units, a.criterion, None, a.direction));
    cols.retain(|c| c.name().as_str() != "seed");
    cols.push(Column::new("curves".into(), summary.iter().map(|a| a.curves as u32).collect::<Vec<_>>()));
    cols.push(float_column("max_sparsity", summary, |a| a.max_sparsity));
    for (metric, get) in [
        ("accuracy", (|a: &AreaSummary| a.accuracy) as fn(&AreaSummary) -> Stat),
        ("agreement", |a| a.agreement),
        ("kl", |a| a.kl),
    ] {
        for (stat, f) in
            [("mean", (|s: Stat| s.mean) as fn(Stat) -> f64), ("sd", |s| s.sd), ("min", |s| s.min), ("max", |s| s.max)]
        {
            cols.push(float_column(&format!("auc_{metric}_{stat}"), summary, |a| f(get(a))));
        }
        cols.push(float_column(&format!("auc_{metric}_lo"), summary, |a| get(a).ci.lo));
        cols.push(float_column(&format!("auc_{metric}_hi"), summary, |a| get(a).ci.hi));
    }
    cols.push(float_column("floor", summary, |a| a.floor));
    cols.push(Column::new("floor_from".into(), summary.iter().map(|a| a.floor_from).collect::<Vec<_>>()));
    cols.push(Column::new("at_floor".into(), summary.iter().map(|a| a.at_floor).collect::<Vec<_>>()));
    frame(cols)
}

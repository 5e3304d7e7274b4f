//! Figures of an ablation study ([`crate::ablation`]).
//!
//! In: a [`Study`]. Out: deletion-curve [`Figure`]s with captions
//! ([`figures`]) — per scope and metric, top-k and bottom-k removal side by
//! side, one line per ranking in its criterion's [`colour`], the random
//! seeds as a grey band (min–max) around their mean, every point with its
//! bootstrap interval over the evaluation images as an error bar. The HTML
//! report that embeds them is [`crate::report::write_ablation`].

use plotters::style::RGBColor;

use crate::ablation::{
    AreaSummary, Criterion, CurvePoint, Damage, DamageInterval, Direction, Interval, PointSummary, Stat, Study, NETWORK,
};
use crate::error::Result;
use crate::model::file_stem;
use crate::plots::{self, CurveBand, CurveLine, DeletionPlot, Figure};

/// A fixed colour per criterion, the same in every figure.
pub fn colour(c: Criterion) -> RGBColor {
    match c {
        Criterion::TaggedTotal => RGBColor(31, 119, 180),
        Criterion::Im => RGBColor(214, 39, 40),
        Criterion::Integration => RGBColor(148, 103, 189),
        Criterion::AuthorsSnr => RGBColor(23, 190, 207),
        Criterion::L1 => RGBColor(255, 127, 14),
        Criterion::Activation => RGBColor(44, 160, 44),
        Criterion::Apoz => RGBColor(140, 86, 75),
        Criterion::Random => RGBColor(127, 127, 127),
    }
}

/// Deletion-curve figures: per scope, the main metric (accuracy with
/// labels, else agreement and KL), top-k and bottom-k panels side by
/// side with every ranking, the random seeds as a band (min–max) around
/// their mean, every point with its error bar — the percentile bootstrap
/// interval over the evaluation images, on the areas' resamples
/// ([`Study::point_summary`]) — and the floor as a black line. Log-spaced
/// sparsities (the probed ones) get a log x axis. Each caption says what
/// the bars are, which sparsities were measured and why, and which curves
/// sit at their floor. Returns (figure, caption).
pub fn figures(study: &Study) -> Result<Vec<(Figure, String)>> {
    let metrics: Vec<Metric> = if study.labelled {
        vec![
            ("accuracy", "accuracy", |d| d.accuracy, |c| c.accuracy),
            ("kl", "mean KL(unablated ‖ ablated) (nats)", |d| d.kl, |c| c.kl),
        ]
    } else {
        vec![
            ("agreement", "top-1 agreement with the unablated network", |d| d.agreement, |c| c.agreement),
            ("kl", "mean KL(unablated ‖ ablated) (nats)", |d| d.kl, |c| c.kl),
        ]
    };
    let mut scopes: Vec<&str> = Vec::new();
    for p in &study.points {
        if !scopes.contains(&p.scope.as_str()) {
            scopes.push(&p.scope);
        }
    }
    let sparsities = study.sparsities();
    let bars = study.bootstrap.resamples > 0;
    let mut figs = Vec::new();
    for scope in scopes {
        let pts: Vec<&CurvePoint> = study.points.iter().filter(|p| p.scope == scope).collect();
        let summary: Vec<&PointSummary> = study.point_summary.iter().filter(|p| p.scope == scope).collect();
        let positive: Vec<f64> = pts.iter().map(|p| p.sparsity).filter(|&s| s > 0.0).collect();
        let (s_min, s_max) =
            (positive.iter().copied().fold(f64::INFINITY, f64::min), positive.iter().copied().fold(0.0, f64::max));
        // log-spaced sparsities spanning a decade or more: a log axis keeps the small ones apart
        let log_x = s_min.is_finite() && s_max / s_min >= 10.0;
        for (key, y_desc, get, ci) in &metrics {
            let line = |c: Criterion, d: Direction| -> Option<CurveLine> {
                let v: Vec<&&PointSummary> = summary.iter().filter(|p| p.criterion == c && p.direction == d).collect();
                (!v.is_empty()).then(|| CurveLine {
                    label: c.name().to_string(),
                    points: v.iter().map(|p| (p.sparsity, get(&p.damage))).collect(),
                    colour: colour(c),
                    bars: v.iter().map(|p| (ci(&p.ci).lo, ci(&p.ci).hi)).collect(),
                })
            };
            let floor = match *key {
                "accuracy" => study.floor.accuracy,
                "agreement" => study.floor.agreement,
                _ => f64::NAN,
            };
            let panels: Vec<(String, Vec<CurveLine>)> = [
                (Direction::Top, "remove top-ranked units first"),
                (Direction::Bottom, "remove bottom-ranked units first"),
            ]
            .into_iter()
            .map(|(d, title)| (title.to_string(), Criterion::ALL.iter().filter_map(|&c| line(c, d)).collect()))
            .collect();
            let band = random_band(&pts, *get).map(|mut b| {
                b.bars =
                    b.x.iter()
                        .map(|&x| {
                            summary
                                .iter()
                                .find(|p| p.direction == Direction::Random && p.sparsity == x)
                                .map(|p| (ci(&p.ci).lo, ci(&p.ci).hi))
                                .unwrap_or((f64::NAN, f64::NAN))
                        })
                        .collect();
                b
            });
            let hi = pts
                .iter()
                .map(|p| get(&p.damage))
                .chain(summary.iter().map(|p| ci(&p.ci).hi))
                .filter(|v| v.is_finite())
                .fold(f64::NEG_INFINITY, f64::max);
            let y_range = if *key == "kl" { (0.0, hi.max(1e-6) * 1.05) } else { (0.0, hi.max(1.0)) };
            let title = format!("{} — {}", if scope == NETWORK { "network-wide" } else { scope }, study.model);
            let plot = DeletionPlot {
                title,
                y_desc: y_desc.to_string(),
                panels,
                band,
                floor: floor.is_finite().then(|| ("floor: one class\nfor every image".to_string(), floor)),
                bars_label: bars.then(|| {
                    format!(
                        "bars: {:.0} % bootstrap\ninterval over the {}\nevaluation images",
                        study.bootstrap.level * 100.0,
                        study.eval_images
                    )
                }),
                log_x,
                y_range,
            };
            let name = format!("deletion_{}_{}", file_stem(scope), key);
            let mut caption = format!(
                "{} of {} ({} units) against the share of units removed, {} evaluation images; grey band: random order, min–max over {} seeds, around their mean",
                y_desc,
                if scope == NETWORK { "the whole network" } else { scope },
                pts.first().map(|p| p.units).unwrap_or(0),
                study.eval_images,
                study.seeds.len()
            );
            if bars {
                caption += &format!(
                    "; error bars: each point's {:.0} % percentile bootstrap interval over the evaluation images ({} groups resampled whole, B = {}, seed {}: the areas' resamples; for random, of the mean over seeds); series are set 2.5 px apart so that the bars at one sparsity stay visible; a point without a bar has an interval of zero width (every resample gives the same value)",
                    study.bootstrap.level * 100.0,
                    study.eval_groups,
                    study.bootstrap.resamples,
                    study.bootstrap.seed
                );
            }
            if floor.is_finite() {
                caption += &format!("; black line: the floor ({floor:.3}, what one constant top-1 class scores)");
            }
            if let Some(s) = sparsities.iter().find(|s| s.scope == scope) {
                caption += &format!(
                    "; sparsities {}: {}",
                    s.sparsities.iter().map(|v| format!("{v}")).collect::<Vec<_>>().join(", "),
                    s.why
                );
            }
            if log_x {
                caption += " (log x axis; the leftmost points are the unablated network)";
            }
            caption += &areas_caption(study, scope, key);
            figs.push((plots::deletion_curves(&name, &plot)?, caption));
        }
    }
    Ok(figs)
}

/// "Areas …: top: name a [lo, hi], …" for one scope and metric key, with
/// the curves at their floor named.
fn areas_caption(study: &Study, scope: &str, key: &str) -> String {
    let stat: fn(&AreaSummary) -> Stat = match key {
        "accuracy" => |r| r.accuracy,
        "agreement" => |r| r.agreement,
        _ => |r| r.kl,
    };
    let rows: Vec<&AreaSummary> = study.summary.iter().filter(|r| r.scope == scope).collect();
    let mut parts = Vec::new();
    for d in [Direction::Top, Direction::Bottom, Direction::Random] {
        let cells: Vec<String> = rows
            .iter()
            .filter(|r| r.direction == d)
            .map(|r| {
                let s = stat(r);
                format!("{} {:.3}{}", r.criterion.name(), s.mean, s.ci.suffix())
            })
            .collect();
        if !cells.is_empty() {
            parts.push(format!("{}: {}", d.name(), cells.join(", ")));
        }
    }
    let mut out =
        format!(". Areas (the metric's mean over the range; {}): {}", study.interval_note(), parts.join("; "));
    let floored: Vec<String> =
        rows.iter().filter(|r| r.at_floor).map(|r| format!("{} {}", r.criterion.name(), r.direction.name())).collect();
    if key != "kl" && !floored.is_empty() {
        out += &format!(
            ". At the floor from the first sparsity on ({} of {} curves, their areas cannot separate rankings): {}",
            floored.len(),
            rows.len(),
            floored.join(", ")
        );
    }
    out
}

/// A plotted metric: (file key, axis label, how to read it, its interval).
type Metric = (&'static str, &'static str, fn(&Damage) -> f64, fn(&DamageInterval) -> Interval);

/// Mean and min–max over the random seeds at every sparsity.
fn random_band(points: &[&CurvePoint], get: fn(&Damage) -> f64) -> Option<CurveBand> {
    let random: Vec<&&CurvePoint> = points.iter().filter(|p| p.direction == Direction::Random).collect();
    if random.is_empty() {
        return None;
    }
    let mut xs: Vec<f64> = random.iter().map(|p| p.sparsity).collect();
    xs.sort_by(|a, b| a.total_cmp(b));
    xs.dedup();
    let (mut lo, mut mean, mut hi) = (vec![], vec![], vec![]);
    for &x in &xs {
        let v: Vec<f64> = random.iter().filter(|p| p.sparsity == x).map(|p| get(&p.damage)).collect();
        let s = Stat::of(&v);
        lo.push(s.min);
        mean.push(s.mean);
        hi.push(s.max);
    }
    Some(CurveBand { label: "random: mean,\nmin–max over seeds".into(), x: xs, lo, mean, hi, bars: vec![] })
}

//! The study as a whole: rank, measure, summarise, write.
//!
//! In: a [`Model`], a [`StudyConfig`] (taps, tagging design, criteria,
//! seeds, curve plan), the ranking images and an [`EvalSet`]. Out: a
//! [`Study`] — every ranking, curve point, area, summary row and the
//! verdict, with its set-up and timings — and its files ([`Study::write`]:
//! the Parquet tables, `study.json`, `summary.md`). Its figures and HTML
//! report are presentation: `crate::present::ablation` and
//! `crate::report::write_ablation`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;

use super::bootstrap::Bootstrap;
use super::curves::{
    areas_with, deletion_curves_with, probe_layer_sparsities, probe_sparsities, summarise_points, summarise_with,
    verdict_with, Area, AreaSummary, CurvePlan, CurvePoint, PointSummary, SparsityProbe, NETWORK,
};
use super::edit::write_json;
use super::evaluate::{Damage, EvalSet, Evaluator};
use super::graph::check_distinct_units;
use super::rank::{
    activation_rankings, activation_stats, l1_ranking, random_ranking, tagging_experiment, tagging_rankings, Criterion,
    Ranking,
};
use super::tables::{areas_table, curves_table, points_table, rankings_table, summary_table};
use crate::error::{Error, Result};
use crate::export::{write_bytes, write_parquet};
use crate::images::Image;
use crate::model::{Model, TapInfo};
use crate::stimulus::Design;

/// Everything `freqtag prune` measured, with its set-up.
#[derive(Clone, Debug)]
pub struct Study {
    /// Model name.
    pub model: String,
    /// The ranked taps.
    pub taps: Vec<TapInfo>,
    /// The tagging design behind the freqtag rankings (None: none ranked).
    pub design: Option<Design>,
    /// Names of the ranking images.
    pub rank_images: Vec<String>,
    /// What the evaluation images are.
    pub eval_description: String,
    /// Number of evaluation images.
    pub eval_images: usize,
    /// Whether they have labels.
    pub labelled: bool,
    /// Groups of evaluation images that the bootstrap resamples whole (the
    /// source photos of variants; = images for digits).
    pub eval_groups: usize,
    /// The unablated network on them.
    pub base: Damage,
    /// The floor of each metric ([`Evaluator::floor`]).
    pub floor: Damage,
    /// How the areas' intervals were computed.
    pub bootstrap: Bootstrap,
    /// The probe that chose the network-wide sparsities (None: given).
    pub probe: Option<SparsityProbe>,
    /// The probes that chose each per-layer tap's sparsities, in the order
    /// of `plan.per_tap` (empty: given, `plan.layer` for every tap).
    pub layer_probes: Vec<SparsityProbe>,
    /// Random seeds.
    pub seeds: Vec<u64>,
    /// Tie-break seed.
    pub tie_seed: u64,
    /// Where the curves were measured.
    pub plan: CurvePlan,
    /// The rankings.
    pub rankings: Vec<Ranking>,
    /// Every curve point.
    pub points: Vec<CurvePoint>,
    /// Every point with the seeds averaged and its bootstrap interval over
    /// the evaluation images (the figures' error bars).
    pub point_summary: Vec<PointSummary>,
    /// Areas under the curves.
    pub areas: Vec<Area>,
    /// Areas with seeds collapsed.
    pub summary: Vec<AreaSummary>,
    /// The plain statement, one sentence group per scope.
    pub verdict: Vec<String>,
    /// Wall time per stage, seconds.
    pub timings: Vec<(String, f64)>,
}

/// What a study needs besides the model and images.
#[derive(Clone, Debug)]
pub struct StudyConfig {
    /// The taps whose channels are the units.
    pub taps: Vec<TapInfo>,
    /// Tagging design for the freqtag criteria.
    pub design: Design,
    /// Criteria to rank by ([`Criterion::Random`] once per seed).
    pub criteria: Vec<Criterion>,
    /// Random seeds.
    pub seeds: Vec<u64>,
    /// Tie-break seed.
    pub tie_seed: u64,
    /// Where to measure.
    pub plan: CurvePlan,
    /// Images per network run in the evaluation.
    pub batch: usize,
    /// Bootstrap intervals of the areas (over evaluation images).
    pub bootstrap: Bootstrap,
    /// Choose the network-wide sparsities by probing random removal
    /// ([`probe_sparsities`]) instead of `plan.network`.
    pub probe_network: bool,
    /// Choose each per-layer tap's sparsities by probing random removal
    /// within the tap ([`probe_layer_sparsities`]) instead of `plan.layer`.
    pub probe_layers: bool,
}

/// The stages of [`run_study`], for progress reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The tagging experiment (count: frames).
    Tagging,
    /// Activation statistics (count: images).
    Activations,
    /// Deletion curves (count: network evaluations).
    Curves,
    /// Probing random removal for the network-wide and per-layer
    /// sparsities (count: network evaluations).
    Probe,
}

/// A finished part of a study, handed to [`run_study_with`]'s `part`
/// callback as soon as it is done (to write it and say so).
#[derive(Clone, Copy, Debug)]
pub enum Part<'a> {
    /// The rankings, every criterion (seconds since the start).
    Rankings(&'a [Ranking], f64),
    /// A sparsity probe (network-wide, then one per per-layer tap).
    Probe(&'a SparsityProbe, f64),
    /// The plan the curves will follow (the probed sparsities in it) and
    /// the network evaluations it takes, just before the curves.
    Plan(&'a CurvePlan, usize),
    /// One scope's deletion curves.
    Scope {
        /// The scope ([`super::NETWORK`] or a tap).
        scope: &'a str,
        /// Every point measured so far.
        points: &'a [CurvePoint],
        /// Scopes done.
        done: usize,
        /// Scopes in all.
        of: usize,
        /// Seconds since the start.
        seconds: f64,
    },
}

/// Rank the units of `cfg.taps` on `rank_images` by every criterion and
/// measure the deletion curves on `eval` (images the ranking never saw).
/// `progress(stage, n)` reports work done.
pub fn run_study(
    model: &Model,
    cfg: &StudyConfig,
    rank_images: &[Image],
    eval: EvalSet,
    progress: &(dyn Fn(Stage, usize) + Sync),
) -> Result<Study> {
    run_study_with(model, cfg, rank_images, eval, progress, &mut |_| Ok(()))
}

/// [`run_study`], handing every finished [`Part`] to `part` as it is done.
pub fn run_study_with(
    model: &Model,
    cfg: &StudyConfig,
    rank_images: &[Image],
    eval: EvalSet,
    progress: &(dyn Fn(Stage, usize) + Sync),
    part: &mut dyn FnMut(Part<'_>) -> Result<()>,
) -> Result<Study> {
    let start = Instant::now();
    if cfg.taps.is_empty() {
        return Err(Error::Config("no taps to rank".into()));
    }
    if cfg.criteria.is_empty() {
        return Err(Error::Config("no ranking criteria".into()));
    }
    if cfg.criteria.contains(&Criterion::Random) && cfg.seeds.is_empty() {
        return Err(Error::Config("random rankings need at least one seed".into()));
    }
    check_distinct_units(model, &cfg.taps)?;
    let rank_names: HashSet<&str> = rank_images.iter().map(|i| i.name.as_str()).collect();
    if let Some(clash) = eval.images.iter().find(|i| rank_names.contains(i.name.as_str())) {
        return Err(Error::Config(format!("image '{}' is used both to rank and to evaluate", clash.name)));
    }
    let mut given = cfg.plan.clone();
    if cfg.probe_layers {
        // the probes fill them in; check the rest
        given.layer = vec![1.0];
        given.tap_sparsities.clear();
    }
    given.validate(cfg.taps.len())?;
    cfg.bootstrap.validate()?;
    if (cfg.probe_network || (cfg.probe_layers && !cfg.plan.per_tap.is_empty())) && cfg.seeds.is_empty() {
        return Err(Error::Config("probing the sparsities needs a random seed".into()));
    }
    let taps = &cfg.taps;
    let mut timings = Vec::new();
    let mut rankings = Vec::new();
    let mut clock = Instant::now();
    let mut design = None;
    if cfg.criteria.iter().any(|c| c.is_tagging()) {
        let exp = tagging_experiment(model, taps, cfg.design.clone())?;
        let results = exp.run(rank_images, &|n| progress(Stage::Tagging, n))?;
        rankings.extend(tagging_rankings(&results, taps, &cfg.criteria, cfg.tie_seed)?);
        design = Some(cfg.design.clone());
        timings.push(("tagging".to_string(), clock.elapsed().as_secs_f64()));
        clock = Instant::now();
    }
    if cfg.criteria.contains(&Criterion::L1) {
        rankings.push(l1_ranking(model, taps, cfg.tie_seed)?);
    }
    if cfg.criteria.iter().any(|c| matches!(c, Criterion::Activation | Criterion::Apoz)) {
        let stats = activation_stats(model, taps, rank_images, &|n| progress(Stage::Activations, n))?;
        let (act, zeros) = activation_rankings(taps, stats, cfg.tie_seed)?;
        if cfg.criteria.contains(&Criterion::Activation) {
            rankings.push(act);
        }
        if cfg.criteria.contains(&Criterion::Apoz) {
            rankings.push(zeros);
        }
    }
    if cfg.criteria.contains(&Criterion::Random) {
        for &s in &cfg.seeds {
            rankings.push(random_ranking(taps, s)?);
        }
    }
    timings.push(("baselines".to_string(), clock.elapsed().as_secs_f64()));
    part(Part::Rankings(&rankings, start.elapsed().as_secs_f64()))?;
    clock = Instant::now();
    let evaluator = Evaluator::new(model, taps, eval, cfg.batch)?;
    let mut plan = cfg.plan.clone();
    let mut probe = None;
    let mut layer_probes = Vec::new();
    let probe_layers = cfg.probe_layers && !plan.per_tap.is_empty();
    if cfg.probe_network || probe_layers {
        let seed = cfg.seeds[0];
        let random = match rankings.iter().find(|r| r.criterion == Criterion::Random && r.seed == Some(seed)) {
            Some(r) => r.clone(),
            None => random_ranking(taps, seed)?,
        };
        if cfg.probe_network {
            let p = probe_sparsities(&evaluator, &random, &|| progress(Stage::Probe, 1))?;
            plan.network = p.chosen.clone();
            part(Part::Probe(&p, start.elapsed().as_secs_f64()))?;
            probe = Some(p);
        }
        if probe_layers {
            for &t in &cfg.plan.per_tap {
                let p = probe_layer_sparsities(&evaluator, &random, t, &|| progress(Stage::Probe, 1))?;
                part(Part::Probe(&p, start.elapsed().as_secs_f64()))?;
                layer_probes.push(p);
            }
            plan.layer.clear();
            plan.tap_sparsities = layer_probes.iter().map(|p| p.chosen.clone()).collect();
        }
        plan.validate(taps.len())?;
        timings.push(("probe".to_string(), clock.elapsed().as_secs_f64()));
        clock = Instant::now();
    }
    part(Part::Plan(&plan, plan.evaluations(&cfg.criteria, cfg.seeds.len())))?;
    let scopes = usize::from(!plan.network.is_empty()) + plan.per_tap.len();
    let mut done = 0;
    let points =
        deletion_curves_with(&evaluator, &rankings, &plan, &|| progress(Stage::Curves, 1), &mut |scope, points| {
            done += 1;
            part(Part::Scope { scope, points, done, of: scopes, seconds: start.elapsed().as_secs_f64() })
        })?;
    timings.push(("curves".to_string(), clock.elapsed().as_secs_f64()));
    let set = evaluator.set();
    let resamples = cfg.bootstrap.draw(&set.groups);
    let floor = evaluator.floor();
    let areas = areas_with(&points, &resamples, &floor);
    let summary = summarise_with(&areas, &plan.first_sparsities(taps), &resamples);
    let verdict = verdict_with(&summary, &resamples);
    let point_summary = summarise_points(&points, &resamples);
    Ok(Study {
        model: model.name.clone(),
        taps: taps.clone(),
        design,
        rank_images: rank_images.iter().map(|i| i.name.clone()).collect(),
        eval_description: set.description.clone(),
        eval_images: set.images.len(),
        labelled: set.labels.is_some(),
        eval_groups: set.group_count(),
        base: evaluator.base(),
        floor,
        bootstrap: cfg.bootstrap,
        probe,
        layer_probes,
        seeds: cfg.seeds.clone(),
        tie_seed: cfg.tie_seed,
        plan,
        rankings,
        points,
        point_summary,
        areas,
        summary,
        verdict,
        timings,
    })
}

/// The sparsities of one scope of a study, and why they were chosen.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ScopeSparsities {
    /// [`NETWORK`] or the tap's name.
    pub scope: String,
    /// Units in the scope.
    pub units: usize,
    /// The sparsities measured (besides the unablated point).
    pub sparsities: Vec<f64>,
    /// Chosen by a probe of random removal (else given).
    pub probed: bool,
    /// Why, in words.
    pub why: String,
}

impl Study {
    /// How the intervals are computed, in words.
    pub const BOOTSTRAP_METHOD: &'static str = "percentile bootstrap of the area (the mean over evaluation images of each image's own area): resample the groups of evaluation images (a photo with its variants, or one digit) with replacement, the same resamples for every curve; for random rankings, of the per-image areas averaged over seeds";

    /// The bootstrap in one line for captions and summaries.
    pub fn interval_note(&self) -> String {
        if self.bootstrap.resamples == 0 {
            return "no intervals (bootstrap off)".into();
        }
        format!(
            "[lo, hi]: {:.0} % percentile bootstrap interval over the {} evaluation images ({} groups resampled whole, B = {}, seed {})",
            self.bootstrap.level * 100.0,
            self.eval_images,
            self.eval_groups,
            self.bootstrap.resamples,
            self.bootstrap.seed
        )
    }

    /// The sparsities of every scope (network-wide, then the per-layer taps
    /// in plan order) and why: the probe's rule, or that they were given.
    pub fn sparsities(&self) -> Vec<ScopeSparsities> {
        let mut out = Vec::new();
        if !self.plan.network.is_empty() {
            out.push(ScopeSparsities {
                scope: NETWORK.to_string(),
                units: self.taps.iter().map(TapInfo::channels).sum(),
                sparsities: self.plan.network.clone(),
                probed: self.probe.is_some(),
                why: match &self.probe {
                    Some(p) => format!("probed: {}", p.rule),
                    None => "given (--sparsities; plan.network)".into(),
                },
            });
        }
        for (i, &t) in self.plan.per_tap.iter().enumerate() {
            let Some(tap) = self.taps.get(t) else { continue };
            let probe = self.layer_probes.get(i);
            out.push(ScopeSparsities {
                scope: tap.name.clone(),
                units: tap.channels(),
                sparsities: self.plan.layer_sparsities(i).to_vec(),
                probed: probe.is_some(),
                why: match probe {
                    Some(p) => format!("probed within the tap: {}", p.rule),
                    None if !self.plan.tap_sparsities.is_empty() => "given per tap (plan.tap_sparsities)".into(),
                    None => "given, the same for every per-layer tap (--layer-sparsities; plan.layer)".into(),
                },
            });
        }
        out
    }

    /// The floor cell of a summary row: "at floor" when the curve is at or
    /// below its floor from its first sparsity on, "from s" when from
    /// sparsity s on, else "".
    pub fn floor_cell(r: &AreaSummary) -> String {
        match r.floor_from {
            _ if r.at_floor => "at floor".to_string(),
            Some(f) => format!("from {f}"),
            None => String::new(),
        }
    }

    /// The set-up, areas and verdict as JSON (`study.json`).
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "freqtag_version": env!("CARGO_PKG_VERSION"),
            "model": self.model,
            "taps": self.taps.iter().map(|t| json!({"name": t.name, "op": t.op, "channels": t.channels(), "depth": t.depth})).collect::<Vec<_>>(),
            "units": self.taps.iter().map(TapInfo::channels).sum::<usize>(),
            "tagging_design": self.design,
            "rank_images": self.rank_images,
            "eval": {"description": self.eval_description, "images": self.eval_images, "groups": self.eval_groups, "labelled": self.labelled, "unablated": self.base, "floor": self.floor},
            "floor_definition": "the best score of a network that gives every evaluation image the same top-1 class: the share of the commonest label (accuracy) or of the unablated network's commonest top-1 class (agreement); a curve 'sits at its floor' from the smallest sparsity on which every later point is at or below it",
            "bootstrap": {"resamples": self.bootstrap.resamples, "level": self.bootstrap.level, "seed": self.bootstrap.seed, "method": Self::BOOTSTRAP_METHOD},
            "sparsities": self.sparsities(),
            "sparsity_probe": self.probe,
            "layer_sparsity_probes": self.layer_probes,
            "point_intervals": "every point of every curve (random seeds averaged per image) has a percentile bootstrap interval over the evaluation images, on the areas' resamples: points.parquet (accuracy_lo, accuracy_hi, …), the error bars of the figures",
            "seeds": self.seeds,
            "tie_seed": self.tie_seed,
            "plan": self.plan,
            "criteria": self.rankings.iter().filter(|r| r.seed.is_none_or(|s| Some(&s) == self.seeds.first())).map(|r| json!({"name": r.criterion.name(), "describe": r.criterion.describe()})).collect::<Vec<_>>(),
            "auc_definition": "area under the metric-vs-sparsity curve (trapezoid, unablated point at sparsity 0 included) divided by the largest sparsity: the metric's mean over the range",
            "summary": self.summary,
            "verdict": self.verdict,
            "timings_s": self.timings.iter().map(|(k, v)| json!({"stage": k, "seconds": v})).collect::<Vec<_>>(),
        })
    }

    /// The set-up, the table of areas (mean ± sd over seeds) and the
    /// verdict as Markdown (`summary.md`).
    pub fn markdown(&self) -> String {
        let units: usize = self.taps.iter().map(TapInfo::channels).sum();
        let mut m = format!(
            "# Deletion curves: {}\n\n- units: the channels of {} taps ({units} units)\n- ranking images ({}): {}\n- evaluation images ({}): {}\n",
            self.model,
            self.taps.len(),
            self.rank_images.len(),
            self.rank_images.join(", "),
            self.eval_images,
            self.eval_description
        );
        if let Some(d) = &self.design {
            let noise = d
                .noise
                .map(|n| format!("pixel noise σ = {} (seed {})", n.sigma, n.seed))
                .unwrap_or_else(|| "no noise".into());
            m += &format!(
                "- tagging design: {} at {} Hz, {} frames at {} frames/s, {noise}\n",
                d.layout.name(),
                d.frequencies().iter().map(|f| f.to_string()).collect::<Vec<_>>().join(" / "),
                d.frames,
                d.fs_hz
            );
        }
        let acc = if self.labelled { format!("accuracy {:.4}", self.base.accuracy) } else { "no labels".into() };
        m += &format!(
            "- unablated: {acc}\n- random rankings: {} seeds; ties broken by seed {}\n",
            self.seeds.len(),
            self.tie_seed
        );
        m += "- sparsities (shares of the scope's units removed, besides the unablated point):\n";
        for s in self.sparsities() {
            m += &format!("  - {} ({} units): {:?} — {}\n", s.scope, s.units, s.sparsities, s.why);
        }
        m += &format!(
            "- floor ({}): {}\n- per-point intervals (the figures' error bars): points.parquet\n\n",
            if self.labelled { "accuracy" } else { "agreement" },
            if self.labelled { format!("{:.3}", self.floor.accuracy) } else { format!("{:.3}", self.floor.agreement) },
        );
        m += &format!("Area = the metric averaged over sparsity 0 … max (trapezoid rule). Top: most important units removed first; bottom: least important first; random: mean ± sd over seeds. {}. Floor: the curve's main metric is at or below what one constant top-1 class scores from that sparsity on (\"at floor\": from its first sparsity — the area says nothing about the ranking).\n\n", self.interval_note());
        m += "| scope | units | ranking | direction | area accuracy | area agreement | area KL (nats) | floor |\n|---|---:|---|---|---:|---:|---:|---|\n";
        for r in &self.summary {
            m += &format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                r.scope,
                r.units,
                r.criterion.name(),
                r.direction.name(),
                r.accuracy.cell(r.curves),
                r.agreement.cell(r.curves),
                r.kl.cell(r.curves),
                Self::floor_cell(r)
            );
        }
        m += "\n";
        for v in &self.verdict {
            m += &format!("- {v}\n");
        }
        m += "\nwall time per stage: ";
        m += &self.timings.iter().map(|(k, v)| format!("{k} {v:.1} s")).collect::<Vec<_>>().join(", ");
        m.push('\n');
        m
    }

    /// Write `rankings.parquet`, `curves.parquet`, `points.parquet` (the
    /// points with their intervals), `areas.parquet`, `summary.parquet`,
    /// `study.json` and `summary.md` into `dir`. Returns the files.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        crate::export::prepare_dir(dir)?;
        let meta = [("freqtag.study", self.to_json().to_string())];
        let mut files = Vec::new();
        for (name, mut df) in [
            ("rankings.parquet", rankings_table(&self.rankings)?),
            ("curves.parquet", curves_table(&self.points)?),
            ("points.parquet", points_table(&self.point_summary)?),
            ("areas.parquet", areas_table(&self.areas)?),
            ("summary.parquet", summary_table(&self.summary)?),
        ] {
            let p = dir.join(name);
            write_parquet(&p, &mut df, &meta)?;
            files.push(p);
        }
        let p = dir.join("study.json");
        write_json(&p, &self.to_json())?;
        files.push(p);
        let p = dir.join("summary.md");
        write_bytes(&p, self.markdown().as_bytes())?;
        files.push(p);
        Ok(files)
    }
}

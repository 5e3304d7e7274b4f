//! `freqtag ablate` (silence chosen units; export the ablated ONNX model, its
//! card and the masks) and `freqtag prune` (rank units by the freqtag scores
//! and the baselines, deletion curves, tables, plots, report).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use clap::Args;

use crate::progress;

use freqtag::ablation::{
    self, Ablation, Criterion, CurvePlan, Dataset, Mode, Part, Stage, StudyConfig, TapUnits, PROBE_GRID,
};
use freqtag::config::load_images;
use freqtag::experiment::top_k;
use freqtag::{export, report, Design, Error, Model, Result};

#[derive(Args)]
pub struct AblateArgs {
    /// ONNX model (with `<stem>.card.json` beside it) or model card.
    #[arg(long)]
    model: PathBuf,
    /// Units to silence, TAP:CHANNELS (e.g. '/conv_layers/conv_layers.1/Relu:0,3,8-11'); repeatable.
    #[arg(long = "unit")]
    units: Vec<String>,
    /// A mask.json written by `freqtag ablate` to apply again (its units and mode).
    #[arg(long)]
    mask: Option<PathBuf>,
    /// zero: zero the producing Conv/Gemm channel (weights and bias);
    /// mask: insert a Mul by a 0/1 mask after the tap. Default: zero, or
    /// the mode of --mask.
    #[arg(long)]
    mode: Option<String>,
    /// Images on which to compare the ablated model with the original
    /// (top-1 and KL); optional.
    #[arg(long = "image")]
    images: Vec<String>,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
}

pub fn ablate(a: AblateArgs) -> Result<()> {
    let start = Instant::now();
    let mut ablation = match &a.mask {
        Some(p) => Ablation::from_mask_json(p)?,
        None => Ablation::default(),
    };
    if let Some(m) = &a.mode {
        ablation.mode = Mode::parse(m)?;
    }
    for spec in &a.units {
        ablation.units.push(TapUnits::parse(spec)?);
    }
    let images = if a.images.is_empty() { vec![] } else { load_images(&a.images)? };
    export::prepare_dir(&a.out)?;
    let model = Model::load(&a.model)?;
    let ablated = ablation::ablate(&model, &ablation)?;
    let stem = a.model.file_stem().map(|s| s.to_string_lossy().replace(".card", "")).unwrap_or_else(|| "model".into());
    let files = ablated.write(&a.out, &format!("{stem}.ablated"))?;
    for t in &ablated.taps {
        let how = match (&t.producer, &t.mask_node) {
            (Some(p), _) => format!(
                "zeroed in {} '{}' ({}{})",
                p.op,
                p.node,
                p.weight,
                p.bias.as_ref().map(|b| format!(", {b}")).unwrap_or_default()
            ),
            (_, Some(n)) => format!("masked by Mul '{n}'"),
            _ => String::new(),
        };
        eprintln!("  {}: {} of {} channels silenced, {how}", t.tap.name, t.silenced.len(), t.tap.channels());
    }
    if !images.is_empty() {
        let prepared = images.iter().map(|i| model.prepare(i)).collect::<Result<Vec<_>>>()?;
        let before = model.classifier(1)?.logits(&prepared)?;
        let after = ablated.model.classifier(1)?.logits(&prepared)?;
        for ((img, b), x) in prepared.iter().zip(&before).zip(&after) {
            let (cb, pb) = top_k(b, 1)[0];
            let (ca, pa) = top_k(x, 1)[0];
            eprintln!(
                "  {:<24} top-1 {} ({pb:.2}) → {} ({pa:.2}); KL {:.4} nats",
                img.name,
                model.class_name(cb),
                model.class_name(ca),
                ablation::mean_kl(std::slice::from_ref(b), std::slice::from_ref(x))
            );
        }
    }
    for f in &files {
        println!("{}", f.display());
    }
    eprintln!("wall time {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}

#[derive(Args)]
pub struct PruneArgs {
    /// ONNX model (with `<stem>.card.json` beside it) or model card.
    #[arg(long)]
    model: PathBuf,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Taps whose channels are the units (selectors as for `run`).
    #[arg(long, default_value = "act")]
    taps: String,
    /// Taps with per-layer deletion curves: selectors, `all` (every ranked
    /// tap), `none`, or `auto`: all when there are at most 4 ranked taps,
    /// else 4 spread evenly over them (the first, the last and two between).
    #[arg(long, default_value = "auto")]
    per_layer: String,
    /// auto (digits for one-channel models, photos otherwise), digits or photos.
    #[arg(long, default_value = "auto")]
    dataset: String,
    /// digits: the first N digits rank the units; the others evaluate.
    #[arg(long, default_value_t = 20)]
    rank_digits: usize,
    /// photos: file stems (in data/images) of the photos that rank the units.
    #[arg(long, value_delimiter = ',', default_value = "chelsea,coffee,astronaut,motorcycle_left,motorcycle_right")]
    rank_photos: Vec<String>,
    /// photos: variants of each ranking photo (orig, flip, …); the default
    /// gives 5 photos × 2 = 10 tagging images.
    #[arg(long, value_delimiter = ',', default_value = "orig,flip")]
    rank_variants: Vec<String>,
    /// photos: evaluation photos (default: every other photo in data/images).
    #[arg(long, value_delimiter = ',')]
    eval_photos: Option<Vec<String>>,
    /// photos: variants of each evaluation photo (orig, flip, crop-tl,
    /// crop-br, crop-centre, flip-crop-centre).
    #[arg(long, value_delimiter = ',', default_value = "orig,flip,crop-tl,crop-br,crop-centre,flip-crop-centre")]
    variants: Vec<String>,
    /// Network-wide sparsities (share of units removed, increasing, in
    /// (0, 1]), or `auto`: probe random removal at 0.1 %, 0.2 %, 0.5 %, 1 %,
    /// 2 %, 5 %, … until it has done 90 % of the damage it can (sparsity
    /// s_hi), then 8 log-spaced sparsities from s_hi / 20 to s_hi (0.1 … 0.9
    /// when it never gets there).
    #[arg(long, default_value = "auto")]
    sparsities: String,
    /// Per-layer sparsities (share of the tap's units removed, the same list
    /// for every per-layer tap), or `auto`: probe random removal within each
    /// tap by the same rule and measure 5 log-spaced sparsities from
    /// s_hi / 20 (at least one unit) to that tap's s_hi (0.1, 0.3, …, 0.9
    /// when it never gets there).
    #[arg(long, default_value = "auto")]
    layer_sparsities: String,
    /// Random rankings with seeds 0 … N−1.
    #[arg(long, default_value_t = 5)]
    seeds: u64,
    /// Criteria (default all): tagged_total, im, integration, authors_snr,
    /// l1, activation, apoz, random.
    #[arg(long, value_delimiter = ',')]
    criteria: Option<Vec<String>>,
    /// Gaussian pixel noise σ of the tagging design (the authors' SNR needs
    /// a noise floor; 0 = the exact noise-free design).
    #[arg(long, default_value_t = 0.02, allow_negative_numbers = true)]
    noise: f64,
    /// Seed of the tagging noise and of tie-breaks between equal scores.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Images per network run in the evaluation (1 was fastest with tract
    /// on both shipped models; batches run in parallel).
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Bootstrap resamples B for the areas' intervals (0: none).
    #[arg(long, default_value_t = 2000)]
    bootstrap: usize,
    /// Coverage of the bootstrap intervals.
    #[arg(long, default_value_t = 0.95)]
    level: f64,
    /// No progress bar, no set-up line and no summary table at the end; the
    /// one line per finished part on stderr stays.
    #[arg(long)]
    quiet: bool,
    /// Engine for the tagging runs and the ablated evaluations: tract, ort
    /// (onnxruntime) or auto (onnxruntime when its library is found).
    #[arg(long, default_value = "auto")]
    backend: String,
}

/// `auto` (None) or a list of sparsities: numbers in (0, 1], increasing;
/// errors name `option`.
fn parse_sparsities(option: &str, text: &str) -> Result<Option<Vec<f64>>> {
    if text.trim() == "auto" {
        return Ok(None);
    }
    let list = text
        .split(',')
        .map(|v| {
            v.trim().parse::<f64>().map_err(|_| {
                Error::Config(format!("{option}: '{}' is not a number (use auto or e.g. 0.01,0.02,0.05)", v.trim()))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if let Some(bad) = list.iter().find(|v| !(v.is_finite() && **v > 0.0 && **v <= 1.0)) {
        return Err(Error::Config(format!("{option}: {bad} is not a share of units in (0, 1]")));
    }
    if list.windows(2).any(|w| w[1] <= w[0]) {
        return Err(Error::Config(format!("{option}: {text} must increase")));
    }
    Ok(Some(list))
}

pub fn prune(a: PruneArgs) -> Result<()> {
    let start = Instant::now();
    // everything a user can get wrong is checked before the network runs
    let network = parse_sparsities("--sparsities", &a.sparsities)?;
    let layer = parse_sparsities("--layer-sparsities", &a.layer_sparsities)?;
    let criteria: Vec<Criterion> = match &a.criteria {
        Some(list) => list.iter().map(|c| Criterion::parse(c)).collect::<Result<_>>()?,
        None => Criterion::ALL.to_vec(),
    };
    if !(a.noise.is_finite() && a.noise >= 0.0) {
        return Err(Error::Config(format!("--noise must be a finite σ ≥ 0, got {}", a.noise)));
    }
    let design = if a.noise > 0.0 { Design::paper().noise(a.noise, a.seed) } else { Design::paper() };
    design.validate()?;
    export::prepare_dir(&a.out)?;
    let model = Model::load(&a.model)?.with_backend(freqtag::model::Backend::parse(&a.backend)?)?;
    let taps = model.select_taps(&a.taps)?;
    let per_tap: Vec<usize> = match a.per_layer.trim() {
        "none" => vec![],
        "all" => (0..taps.len()).collect(),
        "auto" => CurvePlan::spread_taps(taps.len(), 4),
        sel => model
            .select_taps(sel)?
            .iter()
            .map(|c| {
                taps.iter().position(|t| t.name == c.name).ok_or_else(|| {
                    Error::Config(format!(
                        "per-layer tap '{}' is not among the ranked taps (--taps {})",
                        c.name, a.taps
                    ))
                })
            })
            .collect::<Result<_>>()?,
    };
    let data = freqtag::data_dir();
    let (rank_images, eval) = match Dataset::choose(&a.dataset, &model)? {
        Dataset::Digits => ablation::digit_sets(&model, &data, a.rank_digits, None)?,
        Dataset::Photos => ablation::photo_sets(
            &model,
            &data,
            &a.rank_photos,
            &a.rank_variants,
            a.eval_photos.as_deref(),
            &a.variants,
        )?,
    };
    let batch = a.batch.max(1);
    let (probe_network, probe_layers) = (network.is_none(), layer.is_none());
    let plan = CurvePlan {
        network: network.unwrap_or_default(),
        per_tap,
        layer: layer.unwrap_or_default(),
        tap_sparsities: vec![],
    };
    let bootstrap = ablation::Bootstrap { resamples: a.bootstrap, level: a.level, seed: a.seed };
    bootstrap.validate()?;
    let cfg = StudyConfig {
        taps,
        design: design.clone(),
        criteria: criteria.clone(),
        seeds: (0..a.seeds).collect(),
        tie_seed: a.seed,
        plan,
        batch,
        bootstrap,
        probe_network,
        probe_layers,
    };
    let units: usize = cfg.taps.iter().map(|t| t.channels()).sum();
    let frames = if criteria.iter().any(|c| c.is_tagging()) { design.frames_to_run() * rank_images.len() } else { 0 };
    // with probed sparsities the counts are known after the probes: at most 9 (the linear
    // fallback) network-wide and 5 per tap; the exact count comes with the plan (Part::Plan)
    let most = CurvePlan {
        network: if probe_network { vec![0.5; 9] } else { cfg.plan.network.clone() },
        layer: if probe_layers { vec![0.5; ablation::LAYER_SPARSITIES] } else { cfg.plan.layer.clone() },
        ..cfg.plan.clone()
    };
    let evaluations = AtomicUsize::new(
        most.evaluations(&criteria, if criteria.contains(&Criterion::Random) { cfg.seeds.len() } else { 0 }),
    );
    let probes =
        (usize::from(probe_network) + if probe_layers { cfg.plan.per_tap.len() } else { 0 }) * PROBE_GRID.len();
    if !a.quiet {
        eprintln!(
            "freqtag prune: {} — {} taps ({units} units), per-layer curves on {}; ranking on {} image(s), evaluating on {} ({}); {} criteria, {} random seeds; ≤ {} network evaluations; engine {}",
            model.name,
            cfg.taps.len(),
            if cfg.plan.per_tap.is_empty() { "none".to_string() } else { cfg.plan.per_tap.iter().map(|&t| cfg.taps[t].name.as_str()).collect::<Vec<_>>().join(", ") },
            rank_images.len(),
            eval.images.len(),
            eval.description,
            criteria.len(),
            cfg.seeds.len(),
            evaluations.load(Ordering::Relaxed),
            model.backend().describe()
        );
    }
    let bar = progress::bar(a.quiet, frames.max(1), "tagging frames");
    let stage = Mutex::new(None::<Stage>);
    // one line per stage and per finished part on stderr, whatever the terminal and --quiet
    let say = |msg: String| bar.suspend(|| eprintln!("[{:>6.1} s] {msg}", start.elapsed().as_secs_f64()));
    let progress = |s: Stage, n: usize| {
        if let Ok(mut current) = stage.lock() {
            if *current != Some(s) {
                *current = Some(s);
                let (len, msg) = match s {
                    Stage::Tagging => (frames, "tagging frames"),
                    Stage::Activations => (rank_images.len(), "activation statistics"),
                    Stage::Probe => (probes, "probing random removal (at most)"),
                    Stage::Curves => (evaluations.load(Ordering::Relaxed), "ablated evaluations"),
                };
                say(format!("{msg}: {len} to go"));
                bar.reset();
                bar.set_length(len.max(1) as u64);
                bar.set_message(msg);
            }
        }
        bar.inc(n as u64);
    };
    let out = a.out.clone();
    let mut probed = Vec::new();
    let mut on_part = |part: Part<'_>| -> Result<()> {
        match part {
            Part::Rankings(rankings, _) => {
                let p = out.join("rankings.parquet");
                export::write_parquet(&p, &mut ablation::rankings_table(rankings)?, &[])?;
                say(format!("rankings done: {} rankings → {}", rankings.len(), p.display()));
            }
            Part::Probe(probe, _) => {
                // every probe so far (network-wide first, then the per-layer taps)
                probed.push(probe.clone());
                let p = out.join("sparsity_probe.json");
                let text =
                    serde_json::to_string_pretty(&probed).map_err(|e| Error::Data(format!("{}: {e}", p.display())))?;
                export::write_bytes(&p, text.as_bytes())?;
                say(format!(
                    "sparsities probed for {} ({} units): {:?} ({}) → {}",
                    probe.scope,
                    probe.units,
                    probe.chosen,
                    probe.rule,
                    p.display()
                ));
            }
            Part::Plan(_, n) => evaluations.store(n, Ordering::Relaxed),
            Part::Scope { scope, points, done, of, .. } => {
                let p = out.join("curves.parquet");
                export::write_parquet(
                    &p,
                    &mut ablation::curves_table(points)?,
                    &[("freqtag.partial", format!("{done} of {of} scopes"))],
                )?;
                say(format!("curves {done}/{of} done: {scope} ({} points so far) → {}", points.len(), p.display()));
            }
        }
        Ok(())
    };
    let study = ablation::run_study_with(&model, &cfg, &rank_images, eval, &progress, &mut on_part)?;
    bar.finish_and_clear();
    let mut files = study.write(&a.out)?;
    say(format!("tables, study.json and summary.md written to {}", a.out.display()));
    files.extend(report::write_ablation(&study, &a.out)?);
    say(format!("figures and report.html written to {}", a.out.display()));
    if !a.quiet {
        eprintln!("{}", study.markdown());
        eprintln!("wall time {:.1} s", start.elapsed().as_secs_f64());
    }
    for f in &files {
        println!("{}", f.display());
    }
    Ok(())
}

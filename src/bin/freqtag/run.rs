//! `freqtag demo`, `freqtag run` and `freqtag inspect`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;

use crate::progress;

use freqtag::config::{load_images, AnalysisConfig, DesignConfig, ExperimentFile};
use freqtag::export::Outputs;
use freqtag::model::Backend;
use freqtag::summary::Summary;
use freqtag::{export, report, Error, Experiment, Model, Result};

#[derive(Args)]
pub struct RunArgs {
    /// Experiment file (TOML); see the README for its keys.
    #[arg(long)]
    config: Option<PathBuf>,
    /// ONNX model (with `<stem>.card.json` beside it) or model card.
    #[arg(long)]
    model: Option<PathBuf>,
    /// For a model without a card: its input as CxHxW (e.g. 3x224x224).
    #[arg(long)]
    input: Option<String>,
    /// With --input: resize the short side to this before cropping.
    #[arg(long)]
    resize_short: Option<usize>,
    /// With --input: centre crop size.
    #[arg(long)]
    crop: Option<usize>,
    /// With --input: scale of [0, 1] pixel values (e.g. 255).
    #[arg(long)]
    value_scale: Option<f32>,
    /// With --input: per-channel means, comma-separated.
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
    mean: Option<Vec<f32>>,
    /// With --input: per-channel standard deviations, comma-separated.
    #[arg(long, value_delimiter = ',')]
    std: Option<Vec<f32>>,
    /// Image file, folder, or `.npy` stack (`file.npy:A-B`); repeatable.
    #[arg(long = "image")]
    images: Vec<String>,
    /// Parts: whole, left-right, top-bottom, quadrants, grid:RxC.
    #[arg(long)]
    parts: Option<String>,
    /// Label image defining the parts (0 = unmodulated, 1..K = parts).
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Tag frequencies in Hz, one per part, comma-separated.
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
    freqs: Option<Vec<f64>>,
    /// Frame rate (frames per second).
    #[arg(long, allow_negative_numbers = true)]
    fs: Option<f64>,
    /// Number of frames.
    #[arg(long)]
    frames: Option<usize>,
    /// multiplicative or contrast.
    #[arg(long)]
    modulation: Option<String>,
    /// α range LO,HI (default 0.5,1.0).
    #[arg(long, value_delimiter = ',')]
    range: Option<Vec<f64>>,
    /// Phases in radians, one per part.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    phases: Option<Vec<f64>>,
    /// Gaussian pixel noise σ per frame (0 = none).
    #[arg(long, allow_negative_numbers = true)]
    noise: Option<f64>,
    /// Noise seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Accept tags off their bins (spectral leakage).
    #[arg(long)]
    allow_leakage: bool,
    /// Tap selectors: default, conv, act, all, op:Type, names, patterns with *.
    #[arg(long)]
    taps: Option<String>,
    /// Keep per-position units (no spatial mean) for the taps matching these selectors.
    #[arg(long)]
    per_position: Option<String>,
    /// A transformer's token layout PREFIX+ROWSxCOLS (e.g. 1+16x16: a CLS
    /// token and a 16×16 patch grid), when its card does not say it.
    #[arg(long)]
    tokens: Option<String>,
    /// Read the special tokens (CLS, registers) of the token taps matching
    /// these selectors as their own units.
    #[arg(long)]
    special_tokens: Option<String>,
    /// Lattice order.
    #[arg(long)]
    order: Option<u32>,
    /// SNR preset: mne, letswave, fpvs, meigen-bach, authors.
    #[arg(long)]
    preset: Option<String>,
    /// Frames per network run.
    #[arg(long)]
    batch: Option<usize>,
    /// Run all N frames even when one period would do.
    #[arg(long)]
    full_window: bool,
    /// Output folder.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Skip plots and report.html.
    #[arg(long)]
    no_report: bool,
    /// Files to write: names give exactly that set, +name/-name change the
    /// default (scores,components,layers,spectra-npy); also spectra (long
    /// table, large), phase-npy, all.
    #[arg(long, allow_hyphen_values = true)]
    tables: Option<String>,
    /// Engine: tract, ort (onnxruntime) or auto (onnxruntime when its
    /// library is found, else tract).
    #[arg(long, default_value = "auto")]
    backend: String,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

pub fn demo(out: &Path, quiet: bool, backend: &str) -> Result<()> {
    let data = freqtag::data_dir();
    let images = ["chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg", "motorcycle_left.png"]
        .iter()
        .map(|f| data.join("images").join(f).to_string_lossy().into_owned())
        .collect();
    let file = ExperimentFile {
        model: Some(data.join("models/efficientnet_lite0.onnx")),
        images,
        taps: Some("default".into()),
        per_position: None,
        tokens: None,
        special_tokens: None,
        input: None,
        out: Some(out.to_path_buf()),
        design: DesignConfig::default(),
        analysis: AnalysisConfig::default(),
    };
    execute(file, &Options { quiet, report: true, tables: None, backend: backend.to_string() })
}

/// What the command line adds to an experiment file.
struct Options {
    quiet: bool,
    report: bool,
    tables: Option<String>,
    backend: String,
}

pub fn run(a: RunArgs) -> Result<()> {
    let mut f = match &a.config {
        Some(p) => ExperimentFile::load(p)?,
        None => ExperimentFile::default(),
    };
    if a.model.is_some() {
        f.model = a.model;
    }
    if !a.images.is_empty() {
        f.images = a.images;
    }
    if a.taps.is_some() {
        f.taps = a.taps;
    }
    if let Some(spec) = &a.input {
        let dims: Vec<usize> = spec.split('x').filter_map(|v| v.trim().parse().ok()).collect();
        let [channels, height, width] = dims[..] else {
            return Err(Error::Config(format!("--input takes CxHxW (e.g. 3x224x224), got '{spec}'")));
        };
        f.input = Some(freqtag::config::InputConfig {
            channels,
            height,
            width,
            resize_short_side: a.resize_short,
            center_crop: a.crop,
            value_scale: a.value_scale,
            mean: a.mean.clone(),
            std: a.std.clone(),
        });
    }
    if a.per_position.is_some() {
        f.per_position = a.per_position;
    }
    if a.tokens.is_some() {
        f.tokens = a.tokens;
    }
    if a.special_tokens.is_some() {
        f.special_tokens = a.special_tokens;
    }
    if a.out.is_some() {
        f.out = a.out;
    }
    let d = &mut f.design;
    macro_rules! set {
        ($($field:ident <- $val:expr),*) => { $( if let Some(v) = $val { d.$field = Some(v); } )* };
    }
    set!(parts <- a.parts, labels <- a.labels, freqs <- a.freqs, fs <- a.fs, frames <- a.frames,
         modulation <- a.modulation, phases <- a.phases, noise <- a.noise, seed <- a.seed);
    if let Some(r) = a.range {
        match r.as_slice() {
            [lo, hi] => d.range = Some([*lo, *hi]),
            _ => return Err(Error::Config(format!("--range takes LO,HI, got {} values", r.len()))),
        }
    }
    if a.allow_leakage {
        d.allow_leakage = Some(true);
    }
    let an = &mut f.analysis;
    if a.order.is_some() {
        an.order = a.order;
    }
    if a.preset.is_some() {
        an.preset = a.preset;
    }
    if a.batch.is_some() {
        an.batch = a.batch;
    }
    if a.full_window {
        an.full_window = Some(true);
    }
    execute(f, &Options { quiet: a.quiet, report: !a.no_report, tables: a.tables, backend: a.backend })
}

fn execute(f: ExperimentFile, opts: &Options) -> Result<()> {
    let start = Instant::now();
    let quiet = opts.quiet;
    // everything a user can get wrong is checked before the network runs
    let design = f.design.to_design()?;
    let analysis = f.analysis.to_analysis()?;
    let outputs = Outputs::parse(opts.tables.as_deref().unwrap_or("default"))?;
    let backend = Backend::parse(&opts.backend)?;
    let out = f
        .out
        .clone()
        .ok_or_else(|| Error::Config("no output folder given (--out or `out =` in the experiment file)".into()))?;
    export::prepare_dir(&out)?;
    let images = load_images(&f.images)?;
    let model = f.load_model()?.with_backend(backend)?;
    let mut exp =
        Experiment::new(model, design)?.with_taps(f.taps.as_deref().unwrap_or("default"))?.with_analysis(analysis);
    if let Some(sel) = &f.per_position {
        exp = exp.per_position(sel)?;
    }
    if let Some(sel) = &f.special_tokens {
        exp = exp.special_tokens(sel)?;
    }
    let schedule = exp.schedule();
    let per_image = schedule.network_frames();
    let units: usize = exp.taps.iter().map(|t| t.units()).sum();
    if !quiet {
        eprintln!(
            "freqtag: {} on {} image(s): {} taps ({} units), {} frames per image through the network (the distinct frames of {} computed of {}); engine {}",
            exp.model.name,
            images.len(),
            exp.taps.len(),
            units,
            per_image,
            schedule.frames(),
            exp.design.frames,
            backend.describe()
        );
    }
    let bar = progress::bar(quiet, per_image * images.len(), "frames");
    let context = exp.context();
    let mut summary = Summary::new(&context);
    // each image is summarised and handed to the writer thread as it
    // finishes; none is kept
    let mut writer = export::Writer::new(context, &out, outputs)?;
    let done = exp.run_each(&images, &|n| bar.inc(n as u64), &mut |img| {
        summary.add(&img);
        if !quiet {
            let top = img.top_classes.first().map(|(c, p)| format!("top-1 {c} ({p:.2})")).unwrap_or_default();
            bar.suspend(|| eprintln!("  {:<24} {top}", img.image));
        }
        writer.add(img)
    })?;
    bar.finish_and_clear();
    summary.seconds = done.seconds;
    // the report's figures are drawn while the writer finishes the last
    // image; the report is written once every file is in place
    let (written, drawn) = std::thread::scope(|s| {
        let drawing = opts.report.then(|| s.spawn(|| report::draw(&summary)));
        let written = writer.finish(&summary);
        let drawn =
            drawing.map(|h| h.join().unwrap_or_else(|_| Err(Error::Data("drawing the report panicked".into()))));
        (written, drawn)
    });
    let written = written?;
    let report = match drawn {
        Some(drawn) => {
            let (findings, figs) = drawn?;
            let names: Vec<String> = written
                .files
                .iter()
                .filter_map(|p| p.strip_prefix(&out).ok())
                .filter(|p| p.components().count() == 1)
                .map(|p| p.display().to_string())
                .chain(images.first().map(|_| "spectra/<image>/…".to_string()))
                .collect();
            Some(report::write_drawn(&summary, findings, &figs, &names, &out)?)
        }
        None => None,
    };
    if !quiet {
        if let Some((_, findings)) = &report {
            eprintln!("{}", findings.summary());
        }
        let bytes: u64 = written.files.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
        eprintln!(
            "network: {:.1} frames/s; wall time {:.1} s; {:.1} MB written ({})",
            summary.frames_per_second(),
            start.elapsed().as_secs_f64(),
            bytes as f64 / 1e6,
            written.files.len().to_string() + " files"
        );
    }
    println!("results in {}", written.dir.display());
    if let Some((p, _)) = report {
        println!("report: {}", p.display());
    }
    Ok(())
}

pub fn inspect(path: &Path, all: bool, tokens: Option<&str>) -> Result<()> {
    let mut model = Model::load(path)?;
    if let Some(t) = tokens {
        model = model.with_tokens(freqtag::TokenLayout::parse(t).map_err(Error::Config)?);
    }
    let i = &model.input;
    println!("model {} ({})", model.name, model.path.display());
    println!(
        "input '{}': {} [batch, {}, {}, {}], preprocess: resize short side {:?}, centre crop {:?}, (x·{} − mean {:?}) / std {:?}",
        i.name, i.layout, i.channels, i.height, i.width, model.preprocess.resize_short_side, model.preprocess.center_crop,
        model.preprocess.value_scale, model.preprocess.mean, model.preprocess.std
    );
    println!("output: {}", model.output_description());
    match model.tokens {
        Some(t) => println!(
            "tokens: {t} ({} special, {}×{} patch grid); a token tap's units are its channels, each averaged over the patch tokens",
            t.prefix, t.grid[0], t.grid[1]
        ),
        None => println!("tokens: none declared (a CNN; for a transformer give the card \"tokens\" or --tokens)"),
    }
    let taps = model.select_taps(if all { "all" } else { "default" })?;
    let what = if model.tokens.is_some() {
        " (conv and activation outputs, patch embedding, per block attention out, MLP activation and output; --all for every node)"
    } else {
        " (conv and activation outputs; --all for every node)"
    };
    println!("{} taps{}:", taps.len(), if all { "" } else { what });
    println!("{:>5}  {:<14} {:<18} {:<32} {:<26} name", "depth", "op", "shape", "layout (units)", "role");
    for t in &taps {
        let units = freqtag::Tap { info: t.clone(), reduction: freqtag::Reduction::SpatialMean };
        let layout = match t.layout {
            freqtag::TapLayout::Unknown => "unknown: not read".to_string(),
            _ => format!("{} ({})", t.layout.describe(), units.units()),
        };
        let role = t.role.map(|r| r.label()).unwrap_or_default();
        println!(
            "{:>5}  {:<14} {:<18} {:<32} {:<26} {}",
            t.depth,
            t.op,
            format!("{:?}", t.shape),
            layout,
            role,
            t.name
        );
    }
    let unknown = model.taps().iter().filter(|t| t.layout == freqtag::TapLayout::Unknown).count();
    if unknown > 0 {
        println!(
            "{unknown} node outputs have an axis freqtag cannot read as units ({}); they are left out of `default` and refused when named{}",
            if model.tokens.is_some() { "inside attention, or not token-shaped" } else { "[a, b] tensors, softmax maps" },
            if model.tokens.is_none() { "; a transformer needs its token layout (card \"tokens\" or --tokens PREFIX+ROWSxCOLS)" } else { "" }
        );
    }
    Ok(())
}

//! Where does freqtag's time go on EfficientNet-Lite0? (`cargo run --release --example profile`)
//!
//! Runs one period (80 frames) of the paper's design on one image, single
//! worker and with the probe's rayon workers, and times each stage
//! separately: the engine with no taps (logits only), the engine with the 82
//! default taps as outputs, copying and reducing the tap outputs, spectra +
//! lattice metrics, the tables, and the export. Not a test: numbers depend on
//! the machine's load (printed with them).
//!
//! `FREQTAG_PROFILE_IMAGE` picks the image (default chelsea.png),
//! `FREQTAG_PROFILE_BACKEND=ort` the onnxruntime backend (feature `ort`).

use std::time::Instant;

use freqtag::{Design, Experiment, Image, Model};

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// CPU seconds (user + system) this process has used so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
    (ticks(11) + ticks(12)) / 100.0 // utime, stime in clock ticks (USER_HZ = 100)
}

fn main() -> freqtag::Result<()> {
    let data = freqtag::data_dir();
    let image = std::env::var("FREQTAG_PROFILE_IMAGE")
        .unwrap_or_else(|_| data.join("images/chelsea.png").to_string_lossy().into_owned());
    let backend =
        freqtag::probe::Backend::parse(&std::env::var("FREQTAG_PROFILE_BACKEND").unwrap_or_else(|_| "tract".into()))?;
    println!("load average before: {}", load_average());
    let t = Instant::now();
    let model = Model::load(data.join("models/efficientnet_lite0.onnx"))?.with_backend(backend)?;
    println!("load model: {:.2} s ({backend:?})", t.elapsed().as_secs_f64());
    let img = Image::open(&image)?;
    let exp = Experiment::new(model.clone(), Design::paper())?;
    let prepared = model.prepare(&img)?;
    let stimulus = freqtag::Stimulus::new(&exp.design, &prepared)?;
    let frames = exp.frames_per_image();

    for batch in [1usize, 4] {
        let t = Instant::now();
        let bare = model.probe(&[], batch)?;
        let c_bare = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let probe = model.probe(&exp.taps, batch)?;
        let c_taps = t.elapsed().as_secs_f64();
        println!("batch {batch}: compile no taps {c_bare:.2} s, with {} taps {c_taps:.2} s", exp.taps.len());
        for (label, p) in [("no taps (logits)", &bare), ("82 taps, reduced", &probe)] {
            let _ = p.run(batch.max(2), |i, b| stimulus.render(i, b), |_| {})?; // warm up
            let (t, c) = (Instant::now(), cpu_seconds());
            let _ = p.run(frames, |i, b| stimulus.render(i, b), |_| {})?;
            let (s, cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
            println!(
                "  {label:<18} {frames} frames in {s:.2} s = {:.1} frames/s, {:.1} ms CPU per frame  (load {})",
                frames as f64 / s,
                1000.0 * cpu / frames as f64,
                load_average()
            );
        }
    }

    // per operator, one frame on one tract state (batch 1), after a warm-up
    if backend == freqtag::probe::Backend::Tract {
        for (label, taps) in [("no taps", &[][..]), ("82 taps", &exp.taps[..])] {
            let p = model.probe(taps, 1)?;
            let _ = p.op_profile(|i, b| stimulus.render(i, b))?;
            let mut total: Vec<freqtag::model::engine::OpTime> = Vec::new();
            let reps = 5;
            for _ in 0..reps {
                for o in p.op_profile(|i, b| stimulus.render(i, b))?.unwrap_or_default() {
                    match total.iter_mut().find(|t| t.op == o.op) {
                        Some(t) => t.seconds += o.seconds,
                        None => total.push(o),
                    }
                }
            }
            total.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
            let sum: f64 = total.iter().map(|o| o.seconds).sum::<f64>() / reps as f64;
            println!("tract per operator, {label}, one frame on one core: {:.1} ms", 1000.0 * sum);
            for o in total.iter().take(12) {
                let ms = 1000.0 * o.seconds / reps as f64;
                println!("  {:<28} {:>4} nodes {:>7.2} ms {:>5.1}%", o.op, o.calls, ms, 100.0 * ms / (1000.0 * sum));
            }
        }
    }

    // the analysis stages alone, on one core
    let probe = model.probe(&exp.taps, 1)?;
    let acts = probe.run(frames, |i, b| stimulus.render(i, b), |_| {})?;
    let lattice = freqtag::Lattice::new(&exp.design, exp.analysis.max_order);
    let t = Instant::now();
    let spectra: Vec<freqtag::Spectrum> = acts
        .iter()
        .map(|a| freqtag::Spectrum::from_period(&a.data, frames, a.units, exp.design.fs_hz, exp.design.frames))
        .collect::<freqtag::Result<_>>()?;
    let t_spec = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for s in &spectra {
        for u in 0..s.units {
            std::hint::black_box(freqtag::metrics::unit_metrics(
                s,
                u,
                &lattice,
                exp.analysis.preset,
                &exp.analysis.significance,
                false,
            ));
        }
    }
    let t_metrics = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let classifier = model.classifier(1)?;
    let t_ccompile = t.elapsed().as_secs_f64();
    let t = Instant::now();
    classifier.logits(std::slice::from_ref(&prepared))?;
    println!(
        "one core: spectra {t_spec:.3} s, lattice metrics {t_metrics:.3} s; classifier compile {t_ccompile:.3} s, one frame {:.3} s",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let compiled = exp.compile()?;
    println!("compile (probe + classifier): {:.2} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let results = exp.run_compiled(&compiled, std::slice::from_ref(&img), 0, &|_| {})?;
    let total = t.elapsed().as_secs_f64();
    let net = results.images[0].network_seconds;
    println!(
        "experiment on one image: {total:.2} s, of which network + reduction {net:.2} s, spectra + metrics + classifier {:.2} s",
        total - net
    );
    for (name, f) in [
        ("scores", freqtag::tables::scores as fn(&freqtag::Results) -> freqtag::Result<_>),
        ("components", freqtag::tables::components),
        ("layers", freqtag::tables::layer_summary),
        ("spectra", freqtag::tables::spectra),
    ] {
        let t = Instant::now();
        let df = f(&results)?;
        println!("  table {name:<10} {:>9} rows in {:.2} s", df.height(), t.elapsed().as_secs_f64());
    }
    let dir = std::env::temp_dir().join(format!("freqtag-profile-{}", std::process::id()));
    let t = Instant::now();
    freqtag::export::write_all(&results, &dir)?;
    println!("export, default outputs (tables + amplitude .npy): {:.2} s", t.elapsed().as_secs_f64());
    let _ = std::fs::remove_dir_all(&dir);
    println!("load average after: {}", load_average());
    Ok(())
}

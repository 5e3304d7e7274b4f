//! Files out: Parquet tables, `.npy` spectra with JSON sidecars, all written
//! atomically, image by image on a background thread ([`Writer`]).
//!
//! In: [`ImageResult`]s as they finish (or whole [`Results`]) and the tables
//! of [`crate::tables`]. Out, under an output folder `DIR`, the [`Output`]s
//! asked for (`freqtag run --tables`; marked * the default set, about 15 MB
//! per EfficientNet-Lite0 image with its 82 default taps):
//!
//! ```text
//! * DIR/design.json                      design, analysis options, lattice, taps, images
//! * DIR/scores.parquet                   one row per (image, tap, unit)                 `scores`
//! * DIR/components.parquet               one row per (image, tap, unit, component)      `components`
//! * DIR/layers.parquet                   one row per tap (summary)                      `layers`
//! * DIR/spectra/<image>/<tap>.npy        float32 [units, bins] amplitudes               `spectra-npy`
//! * DIR/spectra/<image>/<tap>.json       sidecar: fs, frames, tags, frequencies, units, scaling
//!   DIR/spectra/<image>/<tap>.phase.npy  float32 [units, bins] phases (rad)             `phase-npy`
//!   DIR/spectra/<image>/spectra.parquet  one row per (tap, unit, bin)                   `spectra`
//! ```
//!
//! The `.npy` spectra hold the bins the run can make non-zero
//! ([`crate::spectrum::carried_bins`]): with the periodicity shortcut (the
//! paper design runs one 80-frame period of its 240-frame window) every
//! third bin, 41 of 121, all others being exactly zero; the sidecar lists
//! them (`bin_index`, `frequencies_hz`; [`SPECTRA_LAYOUT`]).
//!
//! The tables are written with one row group per image; float columns are
//! stored as float32 ([`compact`]: every value comes from float32
//! activations) except the design's constants; text columns are
//! dictionary-encoded by the Parquet writer; zstd compression. The long
//! `spectra` table repeats the `.npy` arrays (about 12 MB per Lite0 image)
//! and is opt-in.
//!
//! `<tap>` is the tap's ONNX node name made file-safe
//! ([`crate::model::file_stem`]); the sidecar keeps the original name.
//! Every file is written to a temporary name in the same folder and renamed
//! into place, so an interrupted run never leaves a half-written file.
//! Parquet files carry the design as key-value metadata (`freqtag.design`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;
use serde_json::json;

use crate::error::{Error, Result};
use crate::experiment::{ImageResult, Results};
use crate::summary::Summary;
use crate::tables::{self, TextAs};

/// Create `dir` (and parents) and check that files can be written in it.
pub fn prepare_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create output folder", dir, e))?;
    let probe = dir.join(format!(".freqtag-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| Error::io("cannot write in output folder", dir, e))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Write a file atomically: `write` fills a temporary file beside `path`,
/// which is then renamed to `path`. On error the temporary file is removed.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut std::fs::File) -> Result<()>) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create folder", dir, e))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io("cannot write", &tmp, e))?;
        write(&mut f)?;
        f.sync_all().map_err(|e| Error::io("cannot write", &tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io("cannot move into place", path, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Write bytes atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, |f| f.write_all(bytes).map_err(|e| Error::io("cannot write", path, e)))
}

/// Write a DataFrame as Parquet (zstd), atomically, with optional key-value
/// metadata.
pub fn write_parquet(path: &Path, df: &mut DataFrame, metadata: &[(&str, String)]) -> Result<()> {
    write_atomic(path, |f| {
        let kv = (!metadata.is_empty())
            .then(|| KeyValueMetadata::from_static(metadata.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()));
        ParquetWriter::new(f)
            .with_compression(ParquetCompression::Zstd(None))
            .with_key_value_metadata(kv)
            .finish(df)
            .map(|_| ())
            .map_err(|e| Error::export_from(path, e))
    })
}

/// Read a Parquet file into a DataFrame.
pub fn read_parquet(path: &Path) -> Result<DataFrame> {
    let f = std::fs::File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
    ParquetReader::new(f).finish().map_err(|e| Error::export_from(path, e))
}

/// Write a float32 array `[rows, cols]` as `.npy`, atomically.
pub fn write_npy(path: &Path, data: &[f32], rows: usize, cols: usize) -> Result<()> {
    use ndarray_npy::WriteNpyExt;
    let arr = ndarray::ArrayView2::from_shape((rows, cols), data).map_err(|e| Error::export_from(path, e))?;
    write_atomic(path, |f| arr.write_npy(std::io::BufWriter::new(f)).map_err(|e| Error::export_from(path, e)))
}

/// The design, analysis options, lattice and taps as JSON.
pub fn design_json(results: &Results) -> serde_json::Value {
    design_json_of(&Summary::of(results))
}

/// [`design_json`] of a [`Summary`]: what `design.json` holds.
pub fn design_json_of(summary: &Summary) -> serde_json::Value {
    let taps: Vec<_> = summary
        .taps
        .iter()
        .map(|t| {
            let (unit_shape, unit_axes) = t.tap.unit_axes();
            json!({"name": t.tap.info.name, "tensor": t.tap.info.tensor, "op": t.tap.info.op, "shape": t.tap.info.shape, "depth": t.tap.info.depth, "layout": t.tap.info.layout, "role": t.tap.info.role, "units": t.units, "unit_shape": unit_shape, "unit_axes": unit_axes, "reduction": t.tap.reduction, "file": t.tap.info.file_stem()})
        })
        .collect();
    json!({
        "freqtag_version": env!("CARGO_PKG_VERSION"),
        "model": summary.model,
        "design": summary.design,
        "period_frames": summary.design.period_frames(),
        "analysis": summary.analysis,
        "lattice": summary.lattice,
        "images": summary.images.iter().map(|i| json!({"name": i.image, "frames_run": i.frames_run, "network_frames": i.network_frames, "network_seconds": i.network_seconds, "top_classes": i.top_classes})).collect::<Vec<_>>(),
        "taps": taps,
        "engine": summary.engine,
        "model_output": summary.model_output,
        "seconds": summary.seconds,
    })
}

/// The design part of [`design_json`] (no per-image entries), known before
/// the first image runs: the key-value metadata of streamed Parquet files.
fn design_meta(ctx: &Results) -> String {
    json!({
        "freqtag_version": env!("CARGO_PKG_VERSION"),
        "model": ctx.model,
        "design": ctx.design,
        "period_frames": ctx.design.period_frames(),
        "analysis": ctx.analysis,
        "lattice": ctx.lattice,
    })
    .to_string()
}

/// Write one image's spectra: a Parquet table and per tap `.npy` arrays with
/// sidecars. Returns the folder.
pub fn write_image_spectra(results: &Results, image: &ImageResult, dir: &Path) -> Result<PathBuf> {
    let all = Outputs::parse("all")?;
    write_image_files(results, image, dir, &all)?;
    Ok(dir.join("spectra").join(crate::model::file_stem(&image.image)))
}

/// The spectra files of one image that `outputs` asks for (see the module
/// doc); returns the files written.
fn write_image_files(results: &Results, image: &ImageResult, dir: &Path, outputs: &Outputs) -> Result<Vec<PathBuf>> {
    let folder = dir.join("spectra").join(crate::model::file_stem(&image.image));
    let mut files = Vec::new();
    let d = &results.design;
    if outputs.has(Output::SpectraNpy) || outputs.has(Output::PhaseNpy) {
        // the bins the run can make non-zero: with the periodicity shortcut
        // one in N/P, every other bin being exactly zero
        let kept = crate::spectrum::carried_bins(d.frames, image.frames_run);
        for t in &image.taps {
            let s = &t.spectrum;
            let stem = t.tap.info.file_stem();
            let (amp_file, phase_file) = (format!("{stem}.npy"), format!("{stem}.phase.npy"));
            if outputs.has(Output::SpectraNpy) {
                write_npy(&folder.join(&amp_file), &s.amplitude_at(&kept), s.units, kept.len())?;
                files.push(folder.join(&amp_file));
            }
            if outputs.has(Output::PhaseNpy) {
                write_npy(&folder.join(&phase_file), &s.phase_at(&kept), s.units, kept.len())?;
                files.push(folder.join(&phase_file));
            }
            let sidecar = json!({
                "tap": t.tap.info.name,
                "tensor": t.tap.info.tensor,
                "op": t.tap.info.op,
                "shape": t.tap.info.shape,
                "reduction": t.tap.reduction,
                "tap_layout": t.tap.info.layout,
                "unit_shape": t.tap.unit_shape(),
                "unit_axes": t.tap.unit_axes().1,
                "image": image.image,
                "model": results.model,
                "fs_hz": d.fs_hz,
                "frames": d.frames,
                "tags": d.tags,
                "parts": d.layout.name(),
                "modulation": d.modulation,
                "units": s.units,
                "frames_run": image.frames_run,
                "network_frames": image.network_frames,
                "window_bins": s.bins(),
                "bins": kept.len(),
                "bin_index": kept,
                "frequencies_hz": kept.iter().map(|&k| s.frequency(k)).collect::<Vec<_>>(),
                "amplitude_file": outputs.has(Output::SpectraNpy).then_some(amp_file),
                "phase_file": outputs.has(Output::PhaseNpy).then_some(phase_file),
                "layout": SPECTRA_LAYOUT,
                "scaling": "single-sided amplitude in activation units: |X_0|/N at DC, 2|X_k|/N for 0<k<N/2, |X_N/2|/N at Nyquist; phase arg(X_k) in radians (cosine phase)",
            });
            let text = serde_json::to_string_pretty(&sidecar).map_err(|e| Error::export_from(&folder, e))?;
            let p = folder.join(format!("{stem}.json"));
            write_bytes(&p, text.as_bytes())?;
            files.push(p);
        }
    }
    if outputs.has(Output::Spectra) {
        let mut df = compact(tables::spectra_as(results, image, TextAs::Categorical)?)?;
        let meta = [("freqtag.design", design_meta(results))];
        let p = folder.join("spectra.parquet");
        write_parquet(&p, &mut df, &meta)?;
        files.push(p);
    }
    Ok(files)
}

/// How a `.npy` spectrum is laid out (every sidecar says it).
pub const SPECTRA_LAYOUT: &str = "[units, bins]: row u is unit u (u indexes unit_shape row-major, axes unit_axes; \
channel u for spatial-mean taps); column j is bin bin_index[j] of the frames-frame window, frequency frequencies_hz[j]. \
When frames_run < frames (the stimulus repeats every frames_run frames, so only one period was computed; network_frames \
of its frames went through the network, the others repeat one of them exactly) the columns are the window's bins 0, r, 2r, … (r = frames / frames_run) and every bin of the window_bins not listed \
in bin_index is exactly zero: full[:, bin_index] = array rebuilds the whole window.";

/// One kind of output file of an experiment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Output {
    /// `scores.parquet`: one row per (image, tap, unit).
    Scores,
    /// `components.parquet`: one row per (image, tap, unit, lattice component).
    Components,
    /// `layers.parquet`: one row per tap.
    Layers,
    /// `spectra/<image>/spectra.parquet`: one row per (tap, unit, bin) —
    /// the `.npy` amplitudes and phases again, in long format (large).
    Spectra,
    /// `spectra/<image>/<tap>.npy` (float32 `[units, bins]` amplitudes) and
    /// its JSON sidecar.
    SpectraNpy,
    /// `spectra/<image>/<tap>.phase.npy` (float32 `[units, bins]` phases).
    PhaseNpy,
}

impl Output {
    /// Every output.
    pub const ALL: [Output; 6] =
        [Output::Scores, Output::Components, Output::Layers, Output::Spectra, Output::SpectraNpy, Output::PhaseNpy];
    /// What `freqtag run` writes unless told otherwise: what a researcher
    /// reads — the unit scores, the lattice components, the per-tap summary
    /// and the amplitude spectra as `.npy` with sidecars.
    pub const DEFAULT: [Output; 4] = [Output::Scores, Output::Components, Output::Layers, Output::SpectraNpy];

    /// The name used in `--tables` (and the sweep's `tables`).
    pub fn name(self) -> &'static str {
        match self {
            Output::Scores => "scores",
            Output::Components => "components",
            Output::Layers => "layers",
            Output::Spectra => "spectra",
            Output::SpectraNpy => "spectra-npy",
            Output::PhaseNpy => "phase-npy",
        }
    }
}

/// The set of outputs to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outputs(Vec<Output>);

impl Default for Outputs {
    fn default() -> Self {
        Outputs(Output::DEFAULT.to_vec())
    }
}

impl Outputs {
    /// Parse a comma-separated list: names (`scores,components`) give
    /// exactly that set; names with `+` or `-` (`+spectra,-components`)
    /// change the default set; `default` and `all` are what they say.
    pub fn parse(spec: &str) -> Result<Outputs> {
        let items: Vec<&str> = spec.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        let relative = items.iter().all(|i| i.starts_with('+') || i.starts_with('-'));
        let mut set: Vec<Output> = if relative || items.is_empty() { Output::DEFAULT.to_vec() } else { vec![] };
        for item in items {
            let (sign, name) = match item.as_bytes()[0] {
                b'+' => ('+', &item[1..]),
                b'-' => ('-', &item[1..]),
                _ => ('+', item),
            };
            let found: Vec<Output> = match name {
                "all" => Output::ALL.to_vec(),
                "default" => Output::DEFAULT.to_vec(),
                n => vec![Output::ALL.into_iter().find(|o| o.name() == n).ok_or_else(|| {
                    Error::Config(format!(
                        "unknown output '{n}' in --tables; use {} (or default, all; +name / -name change the default)",
                        Output::ALL.map(Output::name).join(", ")
                    ))
                })?],
            };
            for o in found {
                set.retain(|x| *x != o);
                if sign == '+' {
                    set.push(o);
                }
            }
        }
        set.sort();
        Ok(Outputs(set))
    }
    /// Whether `o` is written.
    pub fn has(&self, o: Output) -> bool {
        self.0.contains(&o)
    }
    /// The names, comma-separated.
    pub fn names(&self) -> String {
        self.0.iter().map(|o| o.name()).collect::<Vec<_>>().join(",")
    }
}

/// Float64 columns stored as Float32: every value freqtag computes comes
/// from float32 activations, so the extra digits are rounding noise; design
/// constants (`fs_hz`, `mod_depth`, `frequency_hz`) keep their exact values.
pub fn compact(df: DataFrame) -> Result<DataFrame> {
    let keep = ["fs_hz", "mod_depth", "frequency_hz"];
    let casts: Vec<Expr> = df
        .schema()
        .iter()
        .filter(|(name, dt)| **dt == DataType::Float64 && !keep.contains(&name.as_str()))
        .map(|(name, _)| col(name.clone()).cast(DataType::Float32))
        .collect();
    if casts.is_empty() {
        return Ok(df);
    }
    df.lazy().with_columns(casts).collect().map_err(|e| Error::Data(format!("table: {e}")))
}

/// Paths of everything [`write_all`] wrote.
#[derive(Clone, Debug, Default)]
pub struct Written {
    /// The output folder.
    pub dir: PathBuf,
    /// Files, in order written.
    pub files: Vec<PathBuf>,
}

/// Write design, tables and spectra of `results` under `dir` (the default
/// [`Outputs`]).
pub fn write_all(results: &Results, dir: &Path) -> Result<Written> {
    write_with(results, dir, &Outputs::default())
}

/// Write the `outputs` of `results` under `dir`.
pub fn write_with(results: &Results, dir: &Path, outputs: &Outputs) -> Result<Written> {
    let ctx = results.context();
    let mut w = Writer::new(ctx, dir, outputs.clone())?;
    let mut summary = Summary::new(results);
    for img in &results.images {
        summary.add(img);
        w.add(img.clone())?;
    }
    summary.seconds = results.seconds;
    w.finish(&summary)
}

/// Writes an experiment's files image by image, on a background thread, as
/// the images finish: the next image runs while the last one is written,
/// and no image's results are kept once written. Tables go into one Parquet
/// file each, a row group per image, under a temporary name until
/// [`Writer::finish`] renames them into place (an interrupted run leaves no
/// half-written file under a final name).
pub struct Writer {
    dir: PathBuf,
    outputs: Outputs,
    tx: Option<std::sync::mpsc::SyncSender<ImageResult>>,
    worker: Option<std::thread::JoinHandle<Result<Vec<PathBuf>>>>,
    ctx: Arc<Results>,
}

impl Writer {
    /// Start writing into `dir` (created); `ctx` gives the model, design,
    /// analysis and lattice (its images are not read).
    pub fn new(ctx: Results, dir: &Path, outputs: Outputs) -> Result<Writer> {
        prepare_dir(dir)?;
        let ctx = Arc::new(ctx);
        // a rendezvous: the next image runs while this one is written, and
        // no third image waits, so memory holds two images' results at most
        let (tx, rx) = std::sync::mpsc::sync_channel::<ImageResult>(0);
        let (c, d, o) = (ctx.clone(), dir.to_path_buf(), outputs.clone());
        let worker = std::thread::Builder::new()
            .name("freqtag-writer".into())
            .spawn(move || write_stream(&c, &d, &o, rx))
            .map_err(|e| Error::io("cannot start the writer thread", dir, e))?;
        Ok(Writer { dir: dir.to_path_buf(), outputs, tx: Some(tx), worker: Some(worker), ctx })
    }

    /// Hand over one image's results (blocks while the writer is one image
    /// behind). An error of the writer thread is returned here.
    pub fn add(&mut self, image: ImageResult) -> Result<()> {
        let sent = self.tx.as_ref().map(|tx| tx.send(image).is_ok()).unwrap_or(false);
        if !sent {
            // the writer stopped: its error says why
            return Err(self.join().err().unwrap_or_else(|| Error::Data("the writer thread stopped".into())));
        }
        Ok(())
    }

    fn join(&mut self) -> Result<Vec<PathBuf>> {
        self.tx = None;
        match self.worker.take() {
            Some(h) => h.join().map_err(|_| Error::Data("the writer thread panicked".into()))?,
            None => Err(Error::Data("the writer has already finished".into())),
        }
    }

    /// Wait for the last image, put the tables in place, and write
    /// `layers.parquet` and `design.json` from `summary`.
    pub fn finish(mut self, summary: &Summary) -> Result<Written> {
        let mut files = self.join()?;
        let design = design_json_of(summary);
        if self.outputs.has(Output::Layers) {
            let p = self.dir.join("layers.parquet");
            let meta = [("freqtag.design", design_meta(&self.ctx))];
            write_parquet(&p, &mut compact(tables::layers_as(summary, TextAs::Categorical)?)?, &meta)?;
            files.push(p);
        }
        let p = self.dir.join("design.json");
        write_bytes(&p, serde_json::to_string_pretty(&design).map_err(|e| Error::export_from(&p, e))?.as_bytes())?;
        files.insert(0, p);
        Ok(Written { dir: self.dir.clone(), files })
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // unfinished (an error upstream): stop the thread; its temporary
        // files are removed by the stream's own clean-up
        self.tx = None;
        if let Some(h) = self.worker.take() {
            let _ = h.join();
        }
    }
}

/// A Parquet file written a row group at a time under a temporary name.
struct Stream {
    path: PathBuf,
    tmp: PathBuf,
    writer: Option<polars::io::parquet::write::BatchedWriter<std::fs::File>>,
}

impl Stream {
    fn new(path: PathBuf) -> Stream {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        Stream { path, tmp, writer: None }
    }

    fn write(&mut self, df: &DataFrame, meta: &str) -> Result<()> {
        if self.writer.is_none() {
            let f = std::fs::File::create(&self.tmp).map_err(|e| Error::io("cannot write", &self.tmp, e))?;
            let kv = KeyValueMetadata::from_static(vec![("freqtag.design".to_string(), meta.to_string())]);
            let w = ParquetWriter::new(f)
                .with_compression(ParquetCompression::Zstd(None))
                .with_key_value_metadata(Some(kv))
                .batched(df.schema())
                .map_err(|e| Error::export_from(&self.path, e))?;
            self.writer = Some(w);
        }
        if let Some(w) = self.writer.as_mut() {
            w.write_batch(df).map_err(|e| Error::export_from(&self.path, e))?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Option<PathBuf>> {
        let Some(w) = self.writer.take() else { return Ok(None) };
        w.finish().map_err(|e| Error::export_from(&self.path, e))?;
        drop(w);
        let f = std::fs::File::open(&self.tmp).map_err(|e| Error::io("cannot write", &self.tmp, e))?;
        f.sync_all().map_err(|e| Error::io("cannot write", &self.tmp, e))?;
        std::fs::rename(&self.tmp, &self.path).map_err(|e| Error::io("cannot move into place", &self.path, e))?;
        Ok(Some(self.path.clone()))
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        if self.writer.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// The writer thread: per image, its rows of the streamed tables and its
/// spectra files.
fn write_stream(
    ctx: &Results,
    dir: &Path,
    outputs: &Outputs,
    rx: std::sync::mpsc::Receiver<ImageResult>,
) -> Result<Vec<PathBuf>> {
    let meta = design_meta(ctx);
    let mut scores = Stream::new(dir.join("scores.parquet"));
    let mut components = Stream::new(dir.join("components.parquet"));
    let mut files = Vec::new();
    for image in rx {
        let one = std::slice::from_ref(&image);
        // the tables here, the spectra files beside them (both cores when
        // the network is done: the last image's writing is what a run waits for)
        let spectra = std::thread::scope(|s| {
            let spectra = s.spawn(|| write_image_files(ctx, &image, dir, outputs));
            if outputs.has(Output::Scores) {
                scores.write(&compact(tables::scores_as(ctx, one, TextAs::Categorical)?)?, &meta)?;
            }
            if outputs.has(Output::Components) {
                components.write(&compact(tables::components_as(ctx, one, TextAs::Categorical)?)?, &meta)?;
            }
            spectra.join().unwrap_or_else(|_| Err(Error::Data("writing the spectra files panicked".into())))
        });
        files.extend(spectra?);
    }
    for s in [scores, components] {
        files.extend(s.finish()?);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_leaves_no_partial_file_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.bin");
        let r = write_atomic(&p, |f| {
            f.write_all(b"half").unwrap();
            Err(Error::Data("interrupted".into()))
        });
        assert!(r.is_err());
        assert!(!p.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "temporary file left behind");
        write_bytes(&p, b"whole").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"whole");
    }

    #[test]
    fn npy_round_trip() {
        use ndarray_npy::ReadNpyExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        write_npy(&p, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3).unwrap();
        let a = ndarray::Array2::<f32>::read_npy(std::fs::File::open(&p).unwrap()).unwrap();
        assert_eq!(a.shape(), &[2, 3]);
        assert_eq!(a[[1, 0]], 4.0);
    }

    #[test]
    fn unwritable_folder_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        std::fs::write(&file, b"x").unwrap();
        let e = prepare_dir(&file.join("sub")).unwrap_err().to_string();
        assert!(e.starts_with("cannot create output folder"), "{e}");
    }
}

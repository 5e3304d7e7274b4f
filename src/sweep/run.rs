//! Running a plan: each point of a shard in turn, its tables written and
//! then its marker, so a killed run resumes where it stopped.
//!
//! In: a [`Plan`], an output folder and a [`Shard`]. Out: every unfinished
//! point's tables under the folder (the layout of `store.rs`), `sweep.json`
//! (the shared settings, checked on every re-run), a [`Summary`], and
//! [`Progress`] events and frame counts on the way.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use serde_json::json;

use super::store::{with_key_columns, Table, DONE, KEYS, PART};
use super::{Plan, Point, Shard};
use crate::error::{Error, Result};
use crate::experiment::{Compiled, Experiment, Results};
use crate::export::{write_bytes, write_parquet};
use crate::images::Image;

/// What a run did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// The output folder.
    pub out: PathBuf,
    /// The shard run.
    pub shard: Option<Shard>,
    /// Points in the whole grid.
    pub grid_points: usize,
    /// Points of this shard.
    pub shard_points: usize,
    /// Points already finished by an earlier run (skipped).
    pub skipped: usize,
    /// Points run now.
    pub ran: usize,
    /// Frames through the network.
    pub frames: usize,
    /// Network time (s).
    pub network_seconds: f64,
    /// Wall time (s).
    pub seconds: f64,
    /// Rows written per table.
    pub rows: BTreeMap<String, usize>,
}

impl Summary {
    /// Points this run set out to run: the shard's points less those already done.
    pub fn to_run(&self) -> usize {
        self.shard_points - self.skipped
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shard = self.shard.map(|s| format!(" (shard {s})")).unwrap_or_default();
        writeln!(
            f,
            "sweep{shard}: {} of {} point(s) in this shard run now, {} already done; {} grid point(s) in all",
            self.ran, self.shard_points, self.skipped, self.grid_points
        )?;
        if self.ran > 0 {
            writeln!(
                f,
                "  {:.1} s wall, {:.2} s per point, {} frames at {:.1} frames/s through the network",
                self.seconds,
                self.seconds / self.ran as f64,
                self.frames,
                if self.network_seconds > 0.0 { self.frames as f64 / self.network_seconds } else { f64::NAN }
            )?;
        }
        let rows: Vec<String> = self.rows.iter().map(|(t, n)| format!("{t} {n}")).collect();
        if !rows.is_empty() {
            writeln!(f, "  rows written: {}", rows.join(", "))?;
        }
        write!(
            f,
            "  tables under {} (scan with freqtag::sweep::scan or any hive-aware Parquet reader)",
            self.out.display()
        )
    }
}

/// Progress of a run, reported before each point and as frames finish.
#[derive(Clone, Debug)]
pub enum Progress<'a> {
    /// The run starts: frames and points to run in this shard.
    Start {
        /// Frames of all points still to run.
        frames: usize,
        /// Points still to run.
        points: usize,
        /// Points already done.
        skipped: usize,
    },
    /// A point starts.
    Point(&'a Point),
}

/// What a shard would run, without running it (`freqtag sweep --dry-run`).
#[derive(Clone, Debug)]
pub struct Preview<'a> {
    /// Points in the whole grid.
    pub grid_points: usize,
    /// The shard's points, in grid order.
    pub points: Vec<&'a Point>,
    /// Of these, the points already finished under the output folder.
    pub done: usize,
    /// Frames the shard's points run through the network (finished ones included).
    pub frames: usize,
}

impl Plan {
    /// Points of `shard` whose marker and tables already exist under `out`.
    pub fn finished(&self, out: &Path, shard: Shard) -> Vec<usize> {
        self.shard_points(shard).into_iter().filter(|p| self.is_done(out, p)).map(|p| p.index).collect()
    }

    /// Whether a point's marker and every table of it exist under `out`.
    fn is_done(&self, out: &Path, p: &Point) -> bool {
        out.join(DONE).join(format!("{}.json", p.id())).is_file()
            && self.sweep.tables.iter().all(|t| out.join(t.name()).join(p.partition()).join(t.last_file()).is_file())
    }

    /// The points of `shard`, how many are finished under `out` and the
    /// frames they run, without running anything.
    pub fn preview(&self, out: &Path, shard: Shard) -> Preview<'_> {
        let points = self.shard_points(shard);
        Preview {
            grid_points: self.points.len(),
            done: points.iter().filter(|p| self.is_done(out, p)).count(),
            frames: points.iter().map(|p| self.frames_of(p)).sum(),
            points,
        }
    }

    /// Run the points of `shard` not yet finished under `out`, writing each
    /// point's tables and then its marker. `events` hears of the start and
    /// of each point; `frames(n)` is called as frames finish (from worker
    /// threads).
    pub fn run(
        &self,
        out: &Path,
        shard: Shard,
        frames: &(dyn Fn(usize) + Sync),
        events: &dyn Fn(Progress<'_>, &Summary),
    ) -> Result<Summary> {
        let start = Instant::now();
        crate::export::prepare_dir(out)?;
        self.check_settings(out)?;
        let mine = self.shard_points(shard);
        let todo: Vec<&Point> = mine.iter().copied().filter(|p| !self.is_done(out, p)).collect();
        let mut summary = Summary {
            out: out.to_path_buf(),
            shard: (shard.count > 1).then_some(shard),
            grid_points: self.points.len(),
            shard_points: mine.len(),
            skipped: mine.len() - todo.len(),
            ..Summary::default()
        };
        events(
            Progress::Start {
                frames: todo.iter().map(|p| self.frames_of(p)).sum(),
                points: todo.len(),
                skipped: summary.skipped,
            },
            &summary,
        );
        let mut compiled: Option<((usize, String), Compiled)> = None;
        let mut image: Option<(usize, Image)> = None;
        for p in todo {
            events(Progress::Point(p), &summary);
            let t0 = Instant::now();
            for t in &self.sweep.tables {
                remove_stale(&out.join(t.name()).join(p.partition()));
            }
            let model = &self.models[p.model];
            let exp = Experiment::new(model.clone(), p.design.clone())?
                .with_taps(&p.taps)?
                .with_analysis(self.sweep.analysis.clone());
            let key = (p.model, p.taps.clone());
            if compiled.as_ref().is_none_or(|(k, _)| *k != key) {
                drop(compiled.take()); // free the old networks first
                compiled = Some((key, exp.compile()?));
            }
            if image.as_ref().is_none_or(|(i, _)| *i != p.image) {
                drop(image.take());
                image = Some((p.image, self.images[p.image].load()?));
            }
            let (Some((_, c)), Some((_, img))) = (&compiled, &image) else { unreachable!("set above") };
            let results = exp.run_compiled(c, std::slice::from_ref(img), p.image as u64, frames)?;
            let mut written = Vec::new();
            for &t in &self.sweep.tables {
                if t == Table::SpectraNpy {
                    let folder = out.join(t.name()).join(p.partition());
                    written.extend(write_spectra_npy(&results, &folder)?.iter().map(|f| rel(out, f)));
                    continue;
                }
                let mut df = t.build(&results)?;
                with_key_columns(&mut df, p)?;
                let path = out.join(t.name()).join(p.partition()).join(PART);
                write_parquet(&path, &mut df, &[("freqtag.sweep.point", p.describe())])?;
                *summary.rows.entry(t.name().to_string()).or_default() += df.height();
                written.push(rel(out, &path));
            }
            let img = &results.images[0];
            let marker = json!({
                "id": p.id(),
                "index": p.index,
                "partition": p.partition(),
                "params": KEYS.iter().zip(&p.key).map(|(k, v)| (k.to_string(), v.clone())).collect::<BTreeMap<_, _>>(),
                "files": written,
                "frames_run": img.frames_run,
                "network_frames": img.network_frames,
                "network_seconds": img.network_seconds,
                "seconds": t0.elapsed().as_secs_f64(),
                "top_classes": img.top_classes,
            });
            let mp = out.join(DONE).join(format!("{}.json", p.id()));
            write_bytes(&mp, marker.to_string().as_bytes())?;
            summary.ran += 1;
            summary.frames += img.network_frames;
            summary.network_seconds += img.network_seconds;
        }
        summary.seconds = start.elapsed().as_secs_f64();
        Ok(summary)
    }

    /// Write `OUT/sweep.json`, or check that the one there has the same
    /// settings.
    fn check_settings(&self, out: &Path) -> Result<()> {
        let path = out.join("sweep.json");
        let settings = self.sweep.settings();
        if path.is_file() {
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io("cannot read", &path, e))?;
            let old: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| Error::Config(format!("{}: not a sweep record ({e})", path.display())))?;
            let old = &old["settings"];
            if let (Some(o), Some(n)) = (old.as_object(), settings.as_object()) {
                for (k, v) in n {
                    if o.get(k) != Some(v) {
                        return Err(Error::Config(format!(
                            "{} holds a sweep with other settings ({k} was {}, now {v}); use another output folder",
                            out.display(),
                            o.get(k).map(|x| x.to_string()).unwrap_or_else(|| "unset".into())
                        )));
                    }
                }
            }
        }
        let record = json!({
            "freqtag_version": env!("CARGO_PKG_VERSION"),
            "settings": settings,
            "keys": KEYS,
            "grid_points": self.points.len(),
            "models": self.models.iter().map(|m| json!({"name": m.name, "path": m.path})).collect::<Vec<_>>(),
            "images": self.images.iter().map(|i| json!({"name": i.name, "source": i.source.to_string()})).collect::<Vec<_>>(),
        });
        write_bytes(&path, serde_json::to_string_pretty(&record).map_err(|e| Error::export(&path, e))?.as_bytes())
    }
}

fn rel(out: &Path, p: &Path) -> String {
    p.strip_prefix(out).unwrap_or(p).to_string_lossy().into_owned()
}

/// All taps' amplitude and phase spectra as two `[units, bins]` arrays,
/// then `spectra.json`; returns the files.
fn write_spectra_npy(results: &Results, folder: &Path) -> Result<Vec<PathBuf>> {
    let img = results.images.first().ok_or_else(|| Error::Data("no image in the results".into()))?;
    let d = &results.design;
    // the bins the run can make non-zero (one in N/P with the periodicity shortcut)
    let kept = crate::spectrum::carried_bins(results.design.frames, img.frames_run);
    let bins = kept.len();
    let rows: usize = img.taps.iter().map(|t| t.spectrum.units).sum();
    let (mut amplitude, mut phase) = (Vec::with_capacity(rows * bins), Vec::with_capacity(rows * bins));
    let mut taps = Vec::new();
    for t in &img.taps {
        let s = &t.spectrum;
        taps.push(json!({"tap": t.tap.info.name, "op": t.tap.info.op, "depth": t.tap.info.depth, "first_row": amplitude.len() / bins, "units": s.units}));
        amplitude.extend(s.amplitude_at(&kept));
        phase.extend(s.phase_at(&kept));
    }
    let mut files = Vec::new();
    for (name, data) in [("amplitude.npy", &amplitude), ("phase.npy", &phase)] {
        let f = folder.join(name);
        crate::export::write_npy(&f, data, rows, bins)?;
        files.push(f);
    }
    let sidecar = json!({
        "image": img.image,
        "model": results.model,
        "fs_hz": d.fs_hz,
        "frames": d.frames,
        "tags": d.tags,
        "frames_run": img.frames_run,
        "network_frames": img.network_frames,
        "window_bins": results.design.bins(),
        "bins": bins,
        "bin_index": kept,
        "frequencies_hz": kept.iter().map(|&k| k as f64 * d.fs_hz / d.frames as f64).collect::<Vec<_>>(),
        "layout": format!("amplitude.npy and phase.npy (rad): float32 {}; tap k's units are rows first_row .. first_row + units", crate::export::SPECTRA_LAYOUT),
        "scaling": "single-sided amplitude in activation units: |X_0|/N at DC, 2|X_k|/N for 0<k<N/2, |X_N/2|/N at Nyquist",
        "taps": taps,
    });
    let f = folder.join("spectra.json");
    write_bytes(&f, serde_json::to_string_pretty(&sidecar).map_err(|e| Error::export(&f, e))?.as_bytes())?;
    files.push(f);
    Ok(files)
}

/// Remove temporary files a killed run left in a point's folder.
fn remove_stale(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

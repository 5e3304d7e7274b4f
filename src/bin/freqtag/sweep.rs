//! `freqtag sweep FILE [--shard i/n]` and `freqtag sweep merge`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::progress;

use freqtag::sweep::{merge, Progress, Shard, SweepFile};
use freqtag::{Error, Result};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SweepArgs {
    #[command(subcommand)]
    command: Option<SweepCommand>,
    /// Sweep file (TOML): grids over models, taps, images, parts, freqs,
    /// depth, phases, modulation, noise (keys in `src/sweep/file.rs`).
    config: Option<PathBuf>,
    /// Output folder (overrides `out =` in the file).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Run shard i of n (the i-th of n runs of points with equal work). n
    /// must stay the same for the whole sweep: on Slurm use
    /// scripts/cluster/slurm-sweep.sbatch, which records it at the first
    /// submission (not the size of a resubmitted array).
    #[arg(long, default_value = "0/1")]
    shard: String,
    /// Engine: tract (the default for sweeps, so every shard of a sweep runs
    /// on the same engine), ort (onnxruntime) or auto (onnxruntime when its
    /// library is found).
    #[arg(long)]
    backend: Option<String>,
    /// Frames per network run (a speed knob; results do not depend on it).
    #[arg(long)]
    batch: Option<usize>,
    /// Check the file and list the points without running them.
    #[arg(long)]
    dry_run: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Subcommand)]
enum SweepCommand {
    /// Merge the output folders of shards run apart into one folder (copies
    /// each finished point's files; the folders must share their settings).
    Merge {
        /// The merged folder.
        #[arg(long)]
        out: PathBuf,
        /// The shards' output folders.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
}

pub fn sweep(a: SweepArgs) -> Result<()> {
    if let Some(SweepCommand::Merge { out, inputs }) = a.command {
        let s = merge(&inputs, &out)?;
        let missing = s.unfinished();
        eprintln!(
            "merged {} point(s) ({} files copied) into {}{}",
            s.points,
            s.files,
            out.display(),
            if missing > 0 {
                format!("; {missing} of {} grid point(s) are not finished yet", s.grid_points)
            } else {
                String::new()
            }
        );
        println!("results in {}", out.display());
        return Ok(());
    }
    let config = a
        .config
        .ok_or_else(|| Error::Config("give a sweep file: freqtag sweep FILE.toml (or freqtag sweep merge)".into()))?;
    let file = SweepFile::load(&config)?;
    let out = a
        .out
        .or_else(|| file.out.clone())
        .ok_or_else(|| Error::Config("no output folder given (--out or `out =` in the sweep file)".into()))?;
    let shard = Shard::parse(&a.shard)?;
    let mut sweep = file.to_sweep()?;
    if let Some(b) = a.backend {
        sweep.backend = b.trim().to_lowercase();
    }
    if let Some(b) = a.batch {
        sweep.analysis.batch = b.max(1);
    }
    let plan = sweep.plan()?;
    if a.dry_run {
        let v = plan.preview(&out, shard);
        println!(
            "{} grid point(s); shard {shard}: {} point(s), {} already done, {} frames through the network",
            v.grid_points,
            v.points.len(),
            v.done,
            v.frames
        );
        for p in v.points {
            println!("  #{:<5} {}  {}", p.index, p.id(), p.describe());
        }
        return Ok(());
    }
    let bar = progress::bar(a.quiet, 0, "frames");
    let summary = plan.run(&out, shard, &|n| bar.inc(n as u64), &|event, so_far| match event {
        Progress::Start { frames, skipped, .. } => {
            bar.set_length(frames as u64);
            if skipped > 0 && !a.quiet {
                bar.suspend(|| eprintln!("freqtag: {skipped} point(s) already done in {}, skipped", out.display()));
            }
        }
        Progress::Point(p) => {
            let (i, n) = (so_far.ran + 1, so_far.to_run());
            if !a.quiet {
                bar.suspend(|| eprintln!("point {i}/{n} (#{}): {}", p.index, p.describe()));
            }
            bar.set_message(format!("point {i}/{n} frames"));
        }
    })?;
    bar.finish_and_clear();
    if !a.quiet {
        eprintln!("{summary}");
    }
    println!("results in {}", out.display());
    Ok(())
}

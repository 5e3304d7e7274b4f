//! The `freqtag` command line. Each group of subcommands lives in its own
//! file: `run.rs` (demo, run, inspect), `prune.rs` (ablate, prune), `sweep.rs`
//! (sweep, sweep merge).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod progress;
mod prune;
mod run;
mod sweep;

#[derive(Parser)]
#[command(
    name = "freqtag",
    version,
    about = "Frequency tagging of artificial neural networks (SSVEP-style spectra of ONNX CNNs)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}
#[derive(Subcommand)]
enum Command {
    /// The paper's experiment on the shipped EfficientNet-Lite0 and images:
    /// halves at 6 / 7.5 Hz, 120 frames/s, 240 frames, all conv and
    /// activation taps; writes tables, spectra, plots and report.html.
    Demo {
        /// Output folder.
        #[arg(long, default_value = "out/demo")]
        out: PathBuf,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        /// Engine: tract, ort (onnxruntime) or auto (onnxruntime when its
        /// library is found, else tract).
        #[arg(long, default_value = "auto")]
        backend: String,
    },
    /// Run an experiment on any model and images (flags override the
    /// experiment file; defaults are the paper's design).
    Run(Box<run::RunArgs>),
    /// Silence chosen units (channels of taps) and export the ablated ONNX
    /// model, its card and the masks (JSON and .npy).
    Ablate(prune::AblateArgs),
    /// Rank units by the freqtag scores and by baselines (L1, mean
    /// activation, APoZ, random) and measure deletion curves on held-out
    /// images; tables, plots and report.html.
    Prune(Box<prune::PruneArgs>),
    /// Run a sweep file: grids over models, taps, images and designs, one
    /// Parquet partition per point; resumable, shardable (`--shard i/n`);
    /// `freqtag sweep merge` joins shards run apart.
    Sweep(sweep::SweepArgs),
    /// List a model's taps (node name, op type, output shape) and its input.
    Inspect {
        /// ONNX model or model card.
        model: PathBuf,
        /// List every float node output, not only conv and activation taps.
        #[arg(long)]
        all: bool,
        /// A transformer's token layout PREFIX+ROWSxCOLS (e.g. 1+16x16),
        /// when its card does not say it.
        #[arg(long)]
        tokens: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { out, quiet, backend } => run::demo(&out, quiet, &backend),
        Command::Run(args) => run::run(*args),
        Command::Inspect { model, all, tokens } => run::inspect(&model, all, tokens.as_deref()),
        Command::Ablate(args) => prune::ablate(args),
        Command::Prune(args) => prune::prune(*args),
        Command::Sweep(args) => sweep::sweep(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("freqtag: error: {e}");
            ExitCode::FAILURE
        }
    }
}

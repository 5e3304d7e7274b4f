//! The `freqtag` command line. Each group of subcommands lives in its own
//! file: `run.rs` (demo, run, inspect).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod run;

#[derive(Parser)]
#[command(name = "freqtag", version, about = "Frequency tagging of artificial neural networks (SSVEP-style spectra of ONNX CNNs)")]
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
    },
    /// Run an experiment on any model and images (flags override the
    /// experiment file; defaults are the paper's design).
    Run(run::RunArgs),
    /// List a model's taps (node name, op type, output shape) and its input.
    Inspect {
        /// ONNX model or model card.
        model: PathBuf,
        /// List every float node output, not only conv and activation taps.
        #[arg(long)]
        all: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { out, quiet } => run::demo(&out, quiet),
        Command::Run(args) => run::run(args),
        Command::Inspect { model, all } => run::inspect(&model, all),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("freqtag: error: {e}");
            ExitCode::FAILURE
        }
    }
}


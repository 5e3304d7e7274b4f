//! Sweeps: grids of experiments, streamed to partitioned Parquet, resumable
//! and shardable across machines; and, for a few designs compared in a
//! notebook, [`compare_designs`] (in memory, one table).
//!
//! In: a sweep file (TOML, [`SweepFile`]) or a [`Sweep`] built in code — grids
//! over models, tap selections, images (files, folders, globs, `.npy`
//! stacks), part layouts, tag frequencies, modulation depths, phases,
//! modulation modes and noise levels, plus the settings every point shares
//! (frame rate, frame count, α mean, lattice order, SNR preset, tables).
//! Out, under an output folder `OUT`:
//!
//! ```text
//! OUT/sweep.json                    the shared settings and the grid (checked on every re-run)
//! OUT/<table>/model=…/taps=…/image=…/parts=…/freqs_hz=…/mod_depth=…/phases_rad=…/modulation=…/noise=…/part.parquet
//! OUT/_done/<point id>.json         completion marker of a point, written last
//! ```
//!
//! `<table>` is `scores`, `components`, `layers` (per tap, this point's image)
//! and, when asked for, `spectra` (one row per tap, unit and bin: large) —
//! the tables of [`crate::tables`] for one point, with every sweep parameter
//! as a column too (`model`, `taps`, `image`, `parts`, `freqs_hz`,
//! `mod_depth`, `phases_rad`, `modulation`, `noise`). The folders are
//! hive-style `key=value` (values percent-encoded), so a lazy scan reads only
//! the slice a filter asks for:
//!
//! ```no_run
//! use freqtag::polars::prelude::*;
//! use freqtag::sweep::{scan, Table};
//! let slice = scan("out/sweep".as_ref(), Table::Scores)?
//!     .filter(col("mod_depth").eq(lit(0.25)).and(col("parts").eq(lit("left-right"))))
//!     .collect()
//!     .map_err(|e| freqtag::Error::Data(e.to_string()))?;
//! # Ok::<(), freqtag::Error>(())
//! ```
//!
//! # A point, and the order of the points
//!
//! A point is one combination of the grid: model × taps × image × parts ×
//! frequencies × depth × phases × modulation × noise, in that order (the
//! last varies fastest), so one compiled network serves every point of a
//! model and tap selection, and one decoded image every design. Frequencies
//! and phases are lists per point; a frequency (or phase) list is combined
//! only with the part layouts that have as many parts — combinations of other
//! lengths are not points — and a list that fits no layout is an error.
//!
//! # Streaming, resuming, sharding
//!
//! Points run one after another; each point's tables are written (atomically:
//! temporary file, then rename, [`crate::export::write_atomic`]) and then its
//! marker, and the point's results are dropped before the next one starts, so
//! memory does not grow with the number of points or images. A re-run skips
//! every point whose marker and files exist; a run killed at any moment
//! (`kill -9` included) loses at most the point in flight, whose leftover
//! temporary files are removed when it is run again, and leaves no
//! half-written Parquet file.
//!
//! `--shard i/n` (see [`Shard`]) runs the `i`-th of `n` runs of consecutive
//! points cut so that each holds about the same network work (frames): each
//! shard compiles a model once and decodes an image once, and noisy points
//! (which run every frame) do not pile up in one shard. Shards may write into
//! one shared folder (their point folders are disjoint) or into separate
//! folders joined by [`merge`]; either way a scan gives the same table as one
//! unsharded run.
//!
//! The settings shared by all points (design other than the grid, analysis,
//! tables, backend) are fixed per output folder: re-running with other
//! settings into the same folder is an error rather than a silent mix. The
//! grid itself may grow — new values add points, finished ones stay.
//!
//! # Where things are
//!
//! | file | holds |
//! |---|---|
//! | `file.rs` | the sweep file: [`SweepFile`], its `[grid]` table [`GridFile`], the TOML value readers |
//! | `plan.rs` | the sweep in code and its expansion: [`Sweep`], [`Plan`], [`Point`], [`expand_images`], [`Shard`] and the cutting of points into shards |
//! | `run.rs` | running a plan: [`Plan::run`], [`Summary`], [`Progress`], [`Plan::preview`], writing a point |
//! | `store.rs` | the Parquet store: [`KEYS`], [`Table`], partition folders ([`encode`]), markers, [`table_files`], [`scan`], [`collect`], [`merge`], [`MergeSummary`] |
//!
//! Image specs follow the one grammar of [`crate::io::sources`] (also used
//! by experiment files and `freqtag run`); its [`ImageSource`],
//! [`SweepImage`] (an [`ImageEntry`](crate::io::sources::ImageEntry)) and
//! [`glob_files`] are re-exported here.

mod file;
mod plan;
mod run;
mod store;
mod variants;

pub use file::{GridFile, SweepFile};
pub use plan::{expand_images, Plan, Point, Shard, Sweep};
pub use run::{Preview, Progress, Summary};
pub use store::{collect, encode, merge, scan, table_files, MergeSummary, Table, KEYS};
pub use variants::{compare_designs, VariantRun};

pub use crate::io::sources::{glob_files, ImageEntry as SweepImage, ImageSource};

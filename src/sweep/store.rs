//! The Parquet store of a sweep: the folder layout, and reading it back.
//!
//! In: a point's tables ([`Table`], built from its results) and its key
//! values ([`KEYS`]). Out, under the output folder: one hive-partitioned
//! folder per table and point, `<table>/model=…/…/noise=…/part.parquet`
//! (values percent-encoded by [`encode`]), and the completion markers in
//! `_done/`. Read back with [`table_files`], [`scan`] (lazy, filters on the
//! keys skip folders) and [`collect`] (sorted, the same rows whether the
//! sweep ran whole or in shards); [`merge`] joins shards' folders.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::Point;
use crate::error::{Error, Result};
use crate::experiment::Results;
use crate::export::write_bytes;
use crate::tables::{self, TextAs};

/// The partition keys, outermost first: the folder levels under each table
/// and the parameter columns of every row.
pub const KEYS: [&str; 9] =
    ["model", "taps", "image", "parts", "freqs_hz", "mod_depth", "phases_rad", "modulation", "noise"];

/// Folder of completion markers inside the output folder.
pub(super) const DONE: &str = "_done";
/// File name of each point's table inside its partition folder.
pub(super) const PART: &str = "part.parquet";

/// A table written for every point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Table {
    /// One row per (tap, unit): the unit scores ([`tables::scores`]).
    Scores,
    /// One row per (tap, unit, lattice component) ([`tables::components`]).
    Components,
    /// One row per tap: the layer summary ([`tables::layer_summary`]).
    Layers,
    /// One row per (tap, unit, bin) ([`tables::spectra`]); large.
    Spectra,
    /// Not a table: the spectra of every unit of every tap as two arrays,
    /// `amplitude.npy` and `phase.npy`, float32 `[units, bins]` (the taps'
    /// units one after another, in tap order; the bins the run carries,
    /// [`crate::spectrum::carried_bins`]), and `spectra.json` (each
    /// tap's first row and unit count, the bins and their frequencies, the scaling) in the
    /// point's folder under `spectra-npy/`.
    SpectraNpy,
}

impl Table {
    /// Every table, in folder order.
    pub const ALL: [Table; 5] = [Table::Scores, Table::Components, Table::Layers, Table::Spectra, Table::SpectraNpy];

    /// The folder name (`scores`, `components`, `layers`, `spectra`).
    pub fn name(self) -> &'static str {
        match self {
            Table::Scores => "scores",
            Table::Components => "components",
            Table::Layers => "layers",
            Table::Spectra => "spectra",
            Table::SpectraNpy => "spectra-npy",
        }
    }

    /// The file written last in a point's folder (its presence means the
    /// point's output of this kind is whole).
    pub(super) fn last_file(self) -> &'static str {
        match self {
            Table::SpectraNpy => "spectra.json",
            _ => PART,
        }
    }

    /// Parse a table name.
    pub fn parse(s: &str) -> Result<Table> {
        Table::ALL.into_iter().find(|t| t.name() == s.trim()).ok_or_else(|| {
            Error::Config(format!("unknown table '{s}'; use scores, components, layers, spectra or spectra-npy"))
        })
    }

    /// Columns that order the rows within one point (after the keys).
    pub(super) fn row_order(self) -> &'static [&'static str] {
        match self {
            Table::Scores => &["depth", "tap", "unit"],
            Table::Components => &["depth", "tap", "unit", "bin"],
            Table::Layers => &["depth", "tap"],
            Table::Spectra => &["tap", "unit", "bin"],
            Table::SpectraNpy => &[],
        }
    }

    /// This table of one point's results.
    pub(super) fn build(self, results: &Results) -> Result<DataFrame> {
        match self {
            // text columns categorical, as `freqtag run` writes them
            Table::Scores => tables::scores_as(results, &results.images, TextAs::Categorical),
            Table::Components => tables::components_as(results, &results.images, TextAs::Categorical),
            Table::Layers => tables::layers_as(&crate::summary::Summary::of(results), TextAs::Categorical),
            Table::Spectra => tables::spectra_all_as(results, TextAs::Categorical),
            Table::SpectraNpy => Err(Error::Data("spectra-npy holds .npy arrays, not a table".into())),
        }
    }
}

/// Percent-encode a partition value: every byte outside `[A-Za-z0-9,._-]`
/// (and a leading `.`) becomes `%XX`; Polars decodes it when it scans.
pub fn encode(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for (i, b) in v.bytes().enumerate() {
        let keep = b.is_ascii_alphanumeric() || matches!(b, b',' | b'_' | b'-') || (b == b'.' && i > 0);
        if keep {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// FNV-1a, 64 bit: the hash behind [`Point::id`].
pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100000001b3))
}

/// Set the key columns of a point's table to the point's values (the
/// tables' own `model`, `parts`, `freqs_hz`, `mod_depth`, `modulation`,
/// `image` columns are replaced by the same values; `taps`, `phases_rad`,
/// `noise` are added), so files and folder names agree.
pub(super) fn with_key_columns(df: &mut DataFrame, p: &Point) -> Result<()> {
    let h = df.height();
    let pl = |e: PolarsError| Error::Data(format!("table: {e}"));
    for (k, v) in KEYS.iter().zip(&p.key) {
        let col = match *k {
            "mod_depth" | "noise" => {
                let x: f64 = v.parse().map_err(|_| Error::Data(format!("key {k}={v} is not a number")))?;
                Column::new_scalar((*k).into(), Scalar::new(DataType::Float64, AnyValue::Float64(x)), h)
            }
            _ => Column::new_scalar(
                (*k).into(),
                Scalar::new(DataType::String, AnyValue::StringOwned(v.as_str().into())),
                h,
            ),
        };
        df.with_column(col).map_err(pl)?;
    }
    Ok(())
}

/// The schema of the key columns (for scans).
fn key_schema() -> Schema {
    KEYS.iter()
        .map(|k| {
            Field::new(
                (*k).into(),
                if matches!(*k, "mod_depth" | "noise") { DataType::Float64 } else { DataType::String },
            )
        })
        .collect()
}

/// Parquet files of `table` under `out`, sorted (markers, temporary and
/// other files are not part of it).
pub fn table_files(out: &Path, table: Table) -> Vec<PathBuf> {
    fn walk(dir: &Path, v: &mut Vec<PathBuf>) {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, v);
                } else if e.file_name() == PART {
                    v.push(p);
                }
            }
        }
    }
    let mut v = Vec::new();
    walk(&out.join(table.name()), &mut v);
    v.sort();
    v
}

/// A lazy scan of one table over every point under `out` (hive
/// partitioning on, so filters on the keys skip whole folders).
pub fn scan(out: &Path, table: Table) -> Result<LazyFrame> {
    if table == Table::SpectraNpy {
        return Err(Error::Config(
            "spectra-npy holds .npy arrays (read them with NumPy or ndarray-npy), not a table to scan".into(),
        ));
    }
    let dir = out.join(table.name());
    let files = table_files(out, table);
    if files.is_empty() {
        return Err(Error::Data(format!("no {} tables under {}", table.name(), out.display())));
    }
    let root = dir.to_string_lossy().into_owned();
    let paths: Vec<PlRefPath> = files.iter().map(|f| PlRefPath::new(f.to_string_lossy().as_ref())).collect();
    let args = ScanArgsParquet {
        hive_options: HiveOptions {
            enabled: Some(true),
            hive_start_idx: root.len(),
            schema: Some(Arc::new(key_schema())),
            try_parse_dates: false,
        },
        ..Default::default()
    };
    LazyFrame::scan_parquet_files(paths.into_iter().collect(), args).map_err(|e| Error::export(&dir, e))
}

/// One table of a sweep folder, collected and sorted by the keys and then
/// by tap and unit (and bin): the same rows in the same order whether the
/// sweep ran in one go or in shards.
pub fn collect(out: &Path, table: Table) -> Result<DataFrame> {
    let lf = scan(out, table)?;
    let mut by: Vec<PlSmallStr> = KEYS.iter().map(|k| (*k).into()).collect();
    by.extend(table.row_order().iter().map(|k| PlSmallStr::from(*k)));
    lf.sort(by, SortMultipleOptions::default().with_maintain_order(true))
        .collect()
        .map_err(|e| Error::export(out.join(table.name()), e))
}

/// What [`merge`] did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MergeSummary {
    /// Points copied (or already present).
    pub points: usize,
    /// Points of the grid (from `sweep.json`).
    pub grid_points: usize,
    /// Files copied.
    pub files: usize,
}

impl MergeSummary {
    /// Grid points not finished in any of the merged folders.
    pub fn unfinished(&self) -> usize {
        self.grid_points.saturating_sub(self.points)
    }
}

/// Merge sweep folders written by separate shards into `out`: every
/// finished point's files and marker are copied (atomically) into the same
/// layout, so [`scan`] on `out` reads the whole sweep. The folders must hold
/// the same settings. Points present in several folders are copied once.
pub fn merge(inputs: &[PathBuf], out: &Path) -> Result<MergeSummary> {
    if inputs.is_empty() {
        return Err(Error::Config("nothing to merge: give the shards' output folders".into()));
    }
    let mut record: Option<(PathBuf, serde_json::Value)> = None;
    let mut grid_points = 0;
    for dir in inputs {
        let path = dir.join("sweep.json");
        let text =
            std::fs::read_to_string(&path).map_err(|e| Error::io("not a sweep folder: cannot read", &path, e))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::Config(format!("{}: not a sweep record ({e})", path.display())))?;
        grid_points = grid_points.max(v["grid_points"].as_u64().unwrap_or(0) as usize);
        match &record {
            None => record = Some((dir.clone(), v)),
            Some((first, r)) if r["settings"] != v["settings"] => {
                return Err(Error::Config(format!(
                    "{} and {} hold sweeps with different settings; they cannot be merged",
                    first.display(),
                    dir.display()
                )))
            }
            Some(_) => {}
        }
    }
    crate::export::prepare_dir(out)?;
    let mut summary = MergeSummary { grid_points, ..Default::default() };
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    for dir in inputs {
        let done = dir.join(DONE);
        let Ok(rd) = std::fs::read_dir(&done) else { continue };
        let mut markers: Vec<PathBuf> =
            rd.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect();
        markers.sort();
        for m in markers {
            let text = std::fs::read_to_string(&m).map_err(|e| Error::io("cannot read", &m, e))?;
            let v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| Error::Config(format!("{}: not a point marker ({e})", m.display())))?;
            let id = v["id"].as_str().unwrap_or_default().to_string();
            if seen.contains_key(&id) {
                continue;
            }
            let files: Vec<String> = v["files"]
                .as_array()
                .map(|a| a.iter().filter_map(|f| f.as_str().map(String::from)).collect())
                .unwrap_or_default();
            if dir.canonicalize().ok() != out.canonicalize().ok() {
                for f in &files {
                    let (src, dst) = (dir.join(f), out.join(f));
                    let bytes = std::fs::read(&src).map_err(|e| Error::io("cannot read", &src, e))?;
                    write_bytes(&dst, &bytes)?;
                    summary.files += 1;
                }
                write_bytes(&out.join(DONE).join(format!("{id}.json")), text.as_bytes())?;
            }
            seen.insert(id, dir.clone());
            summary.points += 1;
        }
    }
    if let Some((_, r)) = record {
        let p = out.join("sweep.json");
        write_bytes(&p, serde_json::to_string_pretty(&r).map_err(|e| Error::export(&p, e))?.as_bytes())?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding() {
        assert_eq!(encode("grid:2x3"), "grid%3A2x3");
        assert_eq!(encode("/_blocks.1*"), "%2F_blocks.1%2A");
        assert_eq!(encode(".hidden"), "%2Ehidden");
        assert_eq!(encode("6,7.5"), "6,7.5");
    }
}

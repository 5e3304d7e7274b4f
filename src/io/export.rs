//! Files out: Parquet tables, `.npy` spectra with JSON sidecars, all written
//! atomically.
//!
//! In: [`Results`] and the tables of [`crate::tables`]. Out, under an output
//! folder `DIR`:
//!
//! ```text
//! DIR/design.json                      design, analysis options, lattice, taps
//! DIR/scores.parquet                   one row per (image, tap, unit)
//! DIR/components.parquet               one row per (image, tap, unit, component)
//! DIR/layers.parquet                   one row per tap (summary)
//! DIR/spectra/<image>/spectra.parquet  one row per (tap, unit, bin)
//! DIR/spectra/<image>/<tap>.npy        float32 [units, bins] amplitudes
//! DIR/spectra/<image>/<tap>.phase.npy  float32 [units, bins] phases (rad)
//! DIR/spectra/<image>/<tap>.json       sidecar: fs, frames, tags, frequencies, units, scaling
//! ```
//!
//! `<tap>` is the tap's ONNX node name made file-safe
//! ([`crate::model::file_stem`]); the sidecar keeps the original name.
//! Every file is written to a temporary name in the same folder and renamed
//! into place, so an interrupted run never leaves a half-written file.
//! Parquet files carry the design as key-value metadata (`freqtag.design`).

use std::io::Write;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde_json::json;

use crate::error::{Error, Result};
use crate::experiment::{ImageResult, Results};
use crate::tables;

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
    let taps: Vec<_> = results
        .images
        .first()
        .map(|i| i.taps.iter().map(|t| json!({"name": t.tap.info.name, "tensor": t.tap.info.tensor, "op": t.tap.info.op, "shape": t.tap.info.shape, "depth": t.tap.info.depth, "units": t.spectrum.units, "reduction": t.tap.reduction, "file": t.tap.info.file_stem()})).collect())
        .unwrap_or_default();
    json!({
        "freqtag_version": env!("CARGO_PKG_VERSION"),
        "model": results.model,
        "design": results.design,
        "period_frames": results.design.period_frames(),
        "analysis": results.analysis,
        "lattice": results.lattice,
        "images": results.images.iter().map(|i| json!({"name": i.image, "frames_run": i.frames_run, "network_seconds": i.network_seconds, "top_classes": i.top_classes})).collect::<Vec<_>>(),
        "taps": taps,
        "seconds": results.seconds,
    })
}

/// Write one image's spectra: a Parquet table and per tap `.npy` arrays with
/// sidecars. Returns the folder.
pub fn write_image_spectra(results: &Results, image: &ImageResult, dir: &Path) -> Result<PathBuf> {
    let folder = dir.join("spectra").join(crate::model::file_stem(&image.image));
    let d = &results.design;
    for t in &image.taps {
        let s = &t.spectrum;
        let stem = t.tap.info.file_stem();
        write_npy(&folder.join(format!("{stem}.npy")), &s.amplitude, s.units, s.bins())?;
        write_npy(&folder.join(format!("{stem}.phase.npy")), &s.phase, s.units, s.bins())?;
        let sidecar = json!({
            "tap": t.tap.info.name,
            "tensor": t.tap.info.tensor,
            "op": t.tap.info.op,
            "shape": t.tap.info.shape,
            "reduction": t.tap.reduction,
            "image": image.image,
            "model": results.model,
            "fs_hz": d.fs_hz,
            "frames": d.frames,
            "tags": d.tags,
            "parts": d.layout.name(),
            "modulation": d.modulation,
            "units": s.units,
            "bins": s.bins(),
            "frequencies_hz": s.frequencies(),
            "amplitude_file": format!("{stem}.npy"),
            "phase_file": format!("{stem}.phase.npy"),
            "layout": "[units, bins], row u is unit u (channel u for spatial-mean taps)",
            "scaling": "single-sided amplitude in activation units: |X_0|/N at DC, 2|X_k|/N for 0<k<N/2, |X_N/2|/N at Nyquist; phase arg(X_k) in radians (cosine phase)",
        });
        let text = serde_json::to_string_pretty(&sidecar).map_err(|e| Error::export_from(&folder, e))?;
        write_bytes(&folder.join(format!("{stem}.json")), text.as_bytes())?;
    }
    let mut df = tables::spectra_of(results, image)?;
    let meta = [("freqtag.design", design_json(results).to_string())];
    write_parquet(&folder.join("spectra.parquet"), &mut df, &meta)?;
    Ok(folder)
}

/// Paths of everything [`write_all`] wrote.
#[derive(Clone, Debug, Default)]
pub struct Written {
    /// The output folder.
    pub dir: PathBuf,
    /// Files, in order written.
    pub files: Vec<PathBuf>,
}

/// Write design, tables and spectra of `results` under `dir`.
pub fn write_all(results: &Results, dir: &Path) -> Result<Written> {
    prepare_dir(dir)?;
    let mut w = Written { dir: dir.to_path_buf(), files: vec![] };
    let design = design_json(results);
    let p = dir.join("design.json");
    write_bytes(&p, serde_json::to_string_pretty(&design).map_err(|e| Error::export_from(&p, e))?.as_bytes())?;
    w.files.push(p);
    let meta = [("freqtag.design", design.to_string())];
    for (name, mut df) in [
        ("scores.parquet", tables::scores(results)?),
        ("components.parquet", tables::components(results)?),
        ("layers.parquet", tables::layer_summary(results)?),
    ] {
        let p = dir.join(name);
        write_parquet(&p, &mut df, &meta)?;
        w.files.push(p);
    }
    for img in &results.images {
        w.files.push(write_image_spectra(results, img, dir)?);
    }
    Ok(w)
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

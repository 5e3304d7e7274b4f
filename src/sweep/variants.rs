//! Design variants compared in memory: one model, one tap selection, one set
//! of images, a few designs — the notebook-sized counterpart of a sweep file.
//!
//! In: a model, images, a tap pattern and `(label, design)` pairs. Out: the
//! per-unit score tables of every variant ([`crate::tables::scores`]) stacked
//! into one DataFrame with the label as its first column, `variant` (rows:
//! variant, image, tap, unit, in the order given; a column only some designs
//! have, e.g. `tagged_f3` of a design with more tags, is null in the others'
//! rows). The networks are compiled
//! once and serve every variant (they depend on the taps, not the design).
//! For grids, many images or results on disk — resumable, shardable — write
//! a sweep file instead ([`super::Sweep`]).

use std::collections::HashSet;
use std::time::Instant;

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::{Design, Experiment, Image, Model};

/// What one variant of [`compare_designs`] ran.
#[derive(Clone, Debug, PartialEq)]
pub struct VariantRun {
    /// The variant's label.
    pub label: String,
    /// Frames per image through the network (one period when the design is
    /// periodic).
    pub frames_per_image: usize,
    /// Wall time of the variant (s), network and analysis.
    pub seconds: f64,
}

/// Run every `(label, design)` of `variants` on `images`, reading the taps
/// `taps` selects, and stack the score tables with a `variant` column
/// first; `each` hears about every variant as it finishes (e.g. to print its
/// time). Labels must be distinct: they name the rows.
pub fn compare_designs<S: AsRef<str>>(
    model: &Model,
    images: &[Image],
    taps: &str,
    variants: &[(S, Design)],
    each: &mut dyn FnMut(&VariantRun),
) -> Result<DataFrame> {
    let Some((_, first)) = variants.first() else {
        return Err(Error::Config("compare_designs: no variants; give (label, design) pairs".into()));
    };
    if images.is_empty() {
        return Err(Error::Config("compare_designs: no images".into()));
    }
    let mut seen = HashSet::new();
    for (label, _) in variants {
        if !seen.insert(label.as_ref()) {
            return Err(Error::Config(format!(
                "compare_designs: the label '{}' is given twice; labels name the rows, give each variant its own",
                label.as_ref()
            )));
        }
    }
    let compiled = Experiment::new(model.clone(), first.clone())?.with_taps(taps)?.compile()?;
    let mut tables: Vec<DataFrame> = Vec::with_capacity(variants.len());
    for (label, design) in variants {
        let t0 = Instant::now();
        let exp = Experiment::new(model.clone(), design.clone())?.with_taps(taps)?;
        let results = exp.run_compiled(&compiled, images, 0, &|_| {})?;
        each(&VariantRun {
            label: label.as_ref().to_string(),
            frames_per_image: exp.frames_per_image(),
            seconds: t0.elapsed().as_secs_f64(),
        });
        tables.push(crate::tables::scores(&results)?);
    }
    // designs with more tags have more columns (tagged_f3, …): every table
    // gets every column, null where its design has no such tag
    let mut schema: Vec<(PlSmallStr, DataType)> = Vec::new();
    for t in &tables {
        for (name, dtype) in t.schema().iter() {
            if !schema.iter().any(|(n, _)| n == name) {
                schema.push((name.clone(), dtype.clone()));
            }
        }
    }
    let stacked = tables.into_iter().zip(variants).map(|(t, (label, _))| {
        let mut columns = vec![lit(label.as_ref()).alias("variant")];
        for (name, dtype) in &schema {
            columns.push(match t.schema().contains(name) {
                true => col(name.clone()),
                false => lit(NULL).cast(dtype.clone()).alias(name.clone()),
            });
        }
        t.lazy().select(columns)
    });
    concat(stacked.collect::<Vec<_>>(), UnionArgs::default())
        .and_then(|l| l.collect())
        .map_err(|e| Error::Data(format!("table: {e}")))
}

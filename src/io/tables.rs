//! Results as Polars DataFrames, in long format.
//!
//! In: [`Results`]. Out: three tables, each with the design as columns
//! (`model`, `parts`, `modulation`, `fs_hz`, `frames`, `freqs_hz`, `mod_depth`):
//!
//! - [`spectra`] — one row per (image, tap, unit, bin): `frequency_hz`,
//!   `amplitude` (activation units, single-sided), `phase` (radians),
//!   `component` (lattice label or null), `kind`.
//! - [`components`] — one row per (image, tap, unit, lattice component):
//!   `amplitude`, `phase`, `relative` (÷ unit's strongest component), `snr`,
//!   `bca`, `z` (neighbour preset in `preset`), `significant`, `order`,
//!   `collisions`, `aliased`.
//! - [`scores`] — one row per (image, tap, unit): the unit scores of
//!   [`crate::metrics`] (`tagged_f1`, `tagged_f2`, …, `tagged_total`, `im`,
//!   the power shares, `selectivity`, `integration`, `authors_snr`,
//!   `significant_im`, `significant_tagged`, `dc`, `harmonic_sum_f1`, …).
//!
//! Every table also carries `tap`, `op` (ONNX op type) and `depth` (the
//! node's position in the graph, input → output) so that group-bys by layer
//! are one call; the modulation depth d is `mod_depth`.

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::experiment::{ImageResult, Results};
use crate::stimulus::Design;
use crate::summary::{Summary, TapSummary};

fn pl(e: PolarsError) -> Error {
    Error::Data(format!("table: {e}"))
}

/// Design columns repeated on every row.
fn design_columns(model: &str, d: &Design, height: usize) -> Vec<Column> {
    let freqs = d.frequencies().iter().map(|f| f.to_string()).collect::<Vec<_>>().join(",");
    let depth = d.tags.first().map(|t| t.depth).unwrap_or(f64::NAN);
    let s = |name: &str, v: &str| {
        Column::new_scalar(name.into(), Scalar::new(DataType::String, AnyValue::StringOwned(v.into())), height)
    };
    vec![
        s("model", model),
        s("parts", &d.layout.name()),
        s("modulation", &d.modulation.to_string()),
        Column::new_scalar("fs_hz".into(), Scalar::new(DataType::Float64, AnyValue::Float64(d.fs_hz)), height),
        Column::new_scalar("frames".into(), Scalar::new(DataType::UInt32, AnyValue::UInt32(d.frames as u32)), height),
        s("freqs_hz", &freqs),
        Column::new_scalar("mod_depth".into(), Scalar::new(DataType::Float64, AnyValue::Float64(depth)), height),
    ]
}

fn frame(model: &str, design: &Design, mut cols: Vec<Column>) -> Result<DataFrame> {
    let height = cols.first().map(|c| c.len()).unwrap_or(0);
    cols.extend(design_columns(model, design, height));
    DataFrame::new(height, cols).map_err(pl)
}

/// Spectra of one image: one row per (tap, unit, bin).
pub fn spectra_of(results: &Results, image: &ImageResult) -> Result<DataFrame> {
    let rows: usize = image.taps.iter().map(|t| t.spectrum.units * t.spectrum.bins()).sum();
    let (mut tap, mut unit, mut bin, mut freq) =
        (Vec::with_capacity(rows), Vec::with_capacity(rows), Vec::with_capacity(rows), Vec::with_capacity(rows));
    let (mut amp, mut phase, mut comp, mut kind) =
        (Vec::with_capacity(rows), Vec::with_capacity(rows), Vec::with_capacity(rows), Vec::with_capacity(rows));
    let labels: Vec<Option<&str>> =
        (0..results.design.bins()).map(|k| results.lattice.at_bin(k).map(|c| c.label.as_str())).collect();
    let kinds: Vec<Option<&str>> =
        (0..results.design.bins()).map(|k| results.lattice.at_bin(k).map(|c| c.kind.as_str())).collect();
    for t in &image.taps {
        let s = &t.spectrum;
        for u in 0..s.units {
            for k in 0..s.bins() {
                tap.push(t.tap.info.name.as_str());
                unit.push(u as u32);
                bin.push(k as u32);
                freq.push(s.frequency(k));
                amp.push(s.amp(u, k));
                phase.push(s.unit_phase(u)[k]);
                comp.push(labels[k]);
                kind.push(kinds[k]);
            }
        }
    }
    let n = tap.len();
    frame(
        &results.model,
        &results.design,
        vec![
            Column::new_scalar(
                "image".into(),
                Scalar::new(DataType::String, AnyValue::StringOwned(image.image.as_str().into())),
                n,
            ),
            Column::new("tap".into(), tap),
            Column::new("unit".into(), unit),
            Column::new("bin".into(), bin),
            Column::new("frequency_hz".into(), freq),
            Column::new("amplitude".into(), amp),
            Column::new("phase".into(), phase),
            Column::new("component".into(), comp),
            Column::new("kind".into(), kind),
        ],
    )
}

/// Spectra of every image (can be large: units × bins × images rows).
pub fn spectra(results: &Results) -> Result<DataFrame> {
    let mut out: Option<DataFrame> = None;
    for img in &results.images {
        let df = spectra_of(results, img)?;
        match &mut out {
            None => out = Some(df),
            Some(o) => {
                o.vstack_mut_owned(df).map_err(pl)?;
            }
        }
    }
    out.ok_or_else(|| Error::Data("no images in the results".into()))
}

/// Lattice components of every unit: one row per (image, tap, unit, component).
pub fn components(results: &Results) -> Result<DataFrame> {
    components_for(results, &results.images)
}

/// [`components`] of some images only; `results` gives the model, design
/// and lattice (its images are not read).
pub fn components_for(results: &Results, images: &[ImageResult]) -> Result<DataFrame> {
    let lat = &results.lattice;
    let collisions: Vec<String> = lat.components.iter().map(|c| c.collisions.join(" ")).collect();
    let mut c = ColumnsBuilder::default();
    for img in images {
        for t in &img.taps {
            for (u, metrics) in t.components.iter().enumerate() {
                for m in metrics {
                    let comp = &lat.components[m.component];
                    c.image.push(img.image.as_str());
                    c.tap.push(t.tap.info.name.as_str());
                    c.op.push(t.tap.info.op.as_str());
                    c.depth.push(t.tap.info.depth as u32);
                    c.unit.push(u as u32);
                    c.component.push(comp.label.as_str());
                    c.kind.push(comp.kind.as_str());
                    c.order.push(comp.order);
                    c.bin.push(comp.bin as u32);
                    c.freq.push(comp.frequency_hz);
                    c.amp.push(m.amplitude);
                    c.phase.push(m.phase);
                    c.relative.push(m.relative);
                    c.snr.push(m.neighbours.snr);
                    c.bca.push(m.neighbours.bca);
                    c.z.push(m.neighbours.z);
                    c.significant.push(m.significant);
                    c.collisions.push(collisions[m.component].as_str());
                    c.aliased.push(comp.aliased);
                }
            }
        }
    }
    let n = c.image.len();
    frame(
        &results.model,
        &results.design,
        vec![
            Column::new("image".into(), c.image),
            Column::new("tap".into(), c.tap),
            Column::new("op".into(), c.op),
            Column::new("depth".into(), c.depth),
            Column::new("unit".into(), c.unit),
            Column::new("component".into(), c.component),
            Column::new("kind".into(), c.kind),
            Column::new("order".into(), c.order),
            Column::new("bin".into(), c.bin),
            Column::new("frequency_hz".into(), c.freq),
            Column::new("amplitude".into(), c.amp),
            Column::new("phase".into(), c.phase),
            Column::new("relative".into(), c.relative),
            Column::new("snr".into(), c.snr),
            Column::new("bca".into(), c.bca),
            Column::new("z".into(), c.z),
            Column::new("significant".into(), c.significant),
            Column::new("collisions".into(), c.collisions),
            Column::new("aliased".into(), c.aliased),
            Column::new_scalar(
                "preset".into(),
                Scalar::new(DataType::String, AnyValue::StringOwned(results.analysis.preset.name().into())),
                n,
            ),
        ],
    )
}

/// Column buffers of the components table; text columns borrow from the
/// results (millions of rows: no per-row allocation).
#[derive(Default)]
struct ColumnsBuilder<'a> {
    image: Vec<&'a str>,
    tap: Vec<&'a str>,
    op: Vec<&'a str>,
    depth: Vec<u32>,
    unit: Vec<u32>,
    component: Vec<&'a str>,
    kind: Vec<&'static str>,
    order: Vec<u32>,
    bin: Vec<u32>,
    freq: Vec<f64>,
    amp: Vec<f32>,
    phase: Vec<f32>,
    relative: Vec<f32>,
    snr: Vec<f64>,
    bca: Vec<f64>,
    z: Vec<f64>,
    significant: Vec<bool>,
    collisions: Vec<&'a str>,
    aliased: Vec<bool>,
}

/// Unit scores: one row per (image, tap, unit).
pub fn scores(results: &Results) -> Result<DataFrame> {
    scores_for(results, &results.images)
}

/// [`scores`] of some images only (e.g. one image as it finishes);
/// `results` gives the model, design and lattice (its images are not read).
pub fn scores_for(results: &Results, images: &[ImageResult]) -> Result<DataFrame> {
    let n_tags = results.design.tags.len();
    let (mut image, mut tap, mut op): (Vec<&str>, Vec<&str>, Vec<&str>) = (vec![], vec![], vec![]);
    let (mut depth, mut unit): (Vec<u32>, Vec<u32>) = (vec![], vec![]);
    let mut tagged: Vec<Vec<f64>> = vec![vec![]; n_tags];
    let mut hsum: Vec<Vec<f64>> = vec![vec![]; n_tags];
    let mut cols: [Vec<f64>; 10] = Default::default();
    let (mut sig_im, mut sig_tag) = (vec![], vec![]);
    for img in images {
        for t in &img.taps {
            for (u, s) in t.scores.iter().enumerate() {
                image.push(img.image.as_str());
                tap.push(t.tap.info.name.as_str());
                op.push(t.tap.info.op.as_str());
                depth.push(t.tap.info.depth as u32);
                unit.push(u as u32);
                for k in 0..n_tags {
                    tagged[k].push(s.tagged.get(k).copied().unwrap_or(f64::NAN));
                    hsum[k].push(s.harmonic_sum.get(k).copied().unwrap_or(f64::NAN));
                }
                for (col, v) in cols.iter_mut().zip([
                    s.tagged_total,
                    s.im,
                    s.share_fundamental,
                    s.share_harmonic,
                    s.share_im,
                    s.share_other,
                    s.selectivity,
                    s.integration,
                    s.authors_snr,
                    s.dc,
                ]) {
                    col.push(v);
                }
                sig_im.push(s.significant_im as u32);
                sig_tag.push(s.significant_tagged as u32);
            }
        }
    }
    let mut columns = vec![
        Column::new("image".into(), image),
        Column::new("tap".into(), tap),
        Column::new("op".into(), op),
        Column::new("depth".into(), depth),
        Column::new("unit".into(), unit),
    ];
    for (k, v) in tagged.into_iter().enumerate() {
        columns.push(Column::new(format!("tagged_f{}", k + 1).into(), v));
    }
    let names = [
        "tagged_total",
        "im",
        "share_fundamental",
        "share_harmonic",
        "share_im",
        "share_other",
        "selectivity",
        "integration",
        "authors_snr",
        "dc",
    ];
    for (name, v) in names.iter().zip(cols) {
        columns.push(Column::new((*name).into(), v));
    }
    for (k, v) in hsum.into_iter().enumerate() {
        columns.push(Column::new(format!("harmonic_sum_f{}", k + 1).into(), v));
    }
    columns.push(Column::new("significant_im".into(), sig_im));
    columns.push(Column::new("significant_tagged".into(), sig_tag));
    frame(&results.model, &results.design, columns)
}

/// Per-tap summary (mean over units and images): one row per tap in graph
/// order with `units`, `share_units_with_im` (units with at least one
/// significant IM), mean `tagged_total`, `im`, `share_im`, `integration`.
pub fn layer_summary(results: &Results) -> Result<DataFrame> {
    layers(&Summary::of(results))
}

/// Each of `n` taps' place in graph order, 0 (first) to 1 (last): the x
/// axis on which networks of different depths are compared.
pub fn relative_depths(n: usize) -> Vec<f64> {
    (0..n).map(|i| if n > 1 { i as f64 / (n - 1) as f64 } else { 0.0 }).collect()
}

/// [`layer_summary`] of a [`Summary`] (results accumulated image by image),
/// with each tap's transformer `role` (empty for none) and
/// `relative_depth` ([`relative_depths`]).
pub fn layers(summary: &Summary) -> Result<DataFrame> {
    let taps = &summary.taps;
    let col =
        |name: &str, f: &dyn Fn(&TapSummary) -> f64| Column::new(name.into(), taps.iter().map(f).collect::<Vec<f64>>());
    let columns = vec![
        Column::new("tap".into(), taps.iter().map(|t| t.tap.info.name.as_str()).collect::<Vec<_>>()),
        Column::new("op".into(), taps.iter().map(|t| t.tap.info.op.as_str()).collect::<Vec<_>>()),
        Column::new("depth".into(), taps.iter().map(|t| t.tap.info.depth as u32).collect::<Vec<_>>()),
        Column::new("units".into(), taps.iter().map(|t| t.units as u32).collect::<Vec<_>>()),
        Column::new(
            "role".into(),
            taps.iter().map(|t| t.tap.info.role.map(|r| r.label()).unwrap_or_default()).collect::<Vec<_>>(),
        ),
        Column::new("relative_depth".into(), relative_depths(taps.len())),
        col("share_units_with_im", &|t| t.share_with_im()),
        col("mean_tagged_total", &|t| t.tagged_sum / t.n.max(1) as f64),
        col("mean_im", &|t| t.im_sum / t.n.max(1) as f64),
        col("mean_share_im", &|t| t.share_im_sum / t.n.max(1) as f64),
        col("mean_integration", &|t| t.mean_integration()),
    ];
    frame(&summary.model, &summary.design, columns)
}

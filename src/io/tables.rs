//! Results as Polars DataFrames, in long format.
//!
//! In: [`Results`]. Out: three tables, each with the design as columns
//! (`model`, `parts`, `modulation`, `fs_hz`, `frames`, `freqs_hz`, `mod_depth`):
//!
//! - [`spectra`] — one row per (image, tap, unit, bin): `frequency_hz`,
//!   `amplitude` (activation units, single-sided), `phase` (radians),
//!   `component` (lattice label or null), `kind`.
//! - [`components`] — one row per (image, tap, unit, lattice component):
//!   `amplitude`, `phase`, `snr`, `bca`, `z` (neighbour preset in `preset`),
//!   `significant`, `order`, `collisions`, `aliased`. The relative amplitude
//!   (÷ the unit's strongest component) is not stored — it is one
//!   expression away, [`relative_amplitude`] — so that the default files
//!   stay small (it was a third of components.parquet).
//! - [`scores`] — one row per (image, tap, unit): the unit scores of
//!   [`crate::metrics`] (`tagged_f1`, `tagged_f2`, …, `tagged_total`, `im`,
//!   the power shares, `selectivity`, `integration`, `authors_snr`,
//!   `significant_im`, `significant_tagged`, `dc`, `harmonic_sum_f1`, …).
//!
//! Every table also carries `tap`, `op` (ONNX op type) and `depth` (the
//! node's position in the graph, input → output) so that group-bys by layer
//! are one call; the modulation depth d is `mod_depth`.

use std::sync::Arc;

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::experiment::{ImageResult, Results};
use crate::stimulus::Design;
use crate::summary::{Summary, TapSummary};

fn pl(e: PolarsError) -> Error {
    Error::Data(format!("table: {e}"))
}

/// Text columns — names of images, taps, ops, components, the design's
/// words — are categorical: a table of millions of rows repeats a few dozen
/// names, and a categorical column holds one small code per row (Polars'
/// global categories), is built without a string per row and is written to
/// Parquet as a dictionary without hashing every row again (the components
/// table of one Lite0 image, 800,000 rows, was built and written in about a
/// second as String columns). Polars reads them back as categorical; in
/// expressions they compare with string literals as text columns do.
///
/// Polars' global categories, held for as long as a table is built: the
/// mapping from text to ids lives only while something holds it.
struct TextBuilder {
    cats: Arc<Categories>,
    mapping: Arc<CategoricalMapping>,
}

impl TextBuilder {
    fn new() -> TextBuilder {
        let cats = Categories::global();
        let mapping = cats.mapping();
        TextBuilder { cats, mapping }
    }
    /// The category ids of `values`, in order.
    fn ids<S: AsRef<str>>(&self, values: &[S]) -> Result<Vec<u32>> {
        values.iter().map(|v| self.mapping.insert_cat(v.as_ref()).map_err(pl)).collect()
    }
    fn dtype(&self) -> DataType {
        DataType::Categorical(self.cats.clone(), self.mapping.clone())
    }
    /// A categorical column from one id ([`TextBuilder::ids`]) per row.
    fn column(&self, name: &str, ids: Vec<u32>) -> Column {
        let codes = UInt32Chunked::from_vec(name.into(), ids);
        // SAFETY: every id came from `TextBuilder::ids`, i.e. from this mapping
        unsafe { Categorical32Chunked::from_cats_and_dtype_unchecked(codes, self.dtype()) }.into_column()
    }
    /// [`TextBuilder::column`] with nulls (`None`).
    fn column_or_null(&self, name: &str, ids: Vec<Option<u32>>) -> Column {
        let codes = UInt32Chunked::from_iter_options(name.into(), ids.into_iter());
        // SAFETY: as in `column`
        unsafe { Categorical32Chunked::from_cats_and_dtype_unchecked(codes, self.dtype()) }.into_column()
    }
    /// A categorical column holding `value` on every row.
    fn constant(&self, name: &str, value: &str, height: usize) -> Result<Column> {
        let id = self.ids(&[value])?[0];
        Ok(self.column(name, vec![id; height]))
    }
}

/// Design columns repeated on every row.
fn design_columns(text: &TextBuilder, model: &str, d: &Design, height: usize) -> Result<Vec<Column>> {
    let freqs = d.frequencies().iter().map(|f| f.to_string()).collect::<Vec<_>>().join(",");
    let depth = d.tags.first().map(|t| t.depth).unwrap_or(f64::NAN);
    Ok(vec![
        text.constant("model", model, height)?,
        text.constant("parts", &d.layout.name(), height)?,
        text.constant("modulation", &d.modulation.to_string(), height)?,
        Column::new_scalar("fs_hz".into(), Scalar::new(DataType::Float64, AnyValue::Float64(d.fs_hz)), height),
        Column::new_scalar("frames".into(), Scalar::new(DataType::UInt32, AnyValue::UInt32(d.frames as u32)), height),
        text.constant("freqs_hz", &freqs, height)?,
        Column::new_scalar("mod_depth".into(), Scalar::new(DataType::Float64, AnyValue::Float64(depth)), height),
    ])
}

fn frame(text: &TextBuilder, model: &str, design: &Design, mut cols: Vec<Column>) -> Result<DataFrame> {
    let height = cols.first().map(|c| c.len()).unwrap_or(0);
    cols.extend(design_columns(text, model, design, height)?);
    DataFrame::new(height, cols).map_err(pl)
}

/// The per-row text columns `image`, `tap` and `op` of per-unit tables:
/// category ids per image and per tap, repeated `rows(tap)` times.
struct UnitKeys {
    image: Vec<u32>,
    tap: Vec<u32>,
    op: Vec<u32>,
}

impl UnitKeys {
    fn new(rows: usize) -> UnitKeys {
        UnitKeys { image: Vec::with_capacity(rows), tap: Vec::with_capacity(rows), op: Vec::with_capacity(rows) }
    }
    /// Ids of every image's name and of every tap's name and op (taps of the
    /// first image: every image has the same taps).
    fn ids(text: &TextBuilder, images: &[ImageResult]) -> Result<(Vec<u32>, Vec<u32>, Vec<u32>)> {
        let names: Vec<&str> = images.iter().map(|i| i.image.as_str()).collect();
        let taps = images.first().map(|i| i.taps.as_slice()).unwrap_or_default();
        let tap_names: Vec<&str> = taps.iter().map(|t| t.tap.info.name.as_str()).collect();
        let ops: Vec<&str> = taps.iter().map(|t| t.tap.info.op.as_str()).collect();
        Ok((text.ids(&names)?, text.ids(&tap_names)?, text.ids(&ops)?))
    }
    fn push(&mut self, image: u32, tap: u32, op: u32, n: usize) {
        self.image.extend(std::iter::repeat_n(image, n));
        self.tap.extend(std::iter::repeat_n(tap, n));
        self.op.extend(std::iter::repeat_n(op, n));
    }
    fn columns(self, text: &TextBuilder) -> [Column; 3] {
        [text.column("image", self.image), text.column("tap", self.tap), text.column("op", self.op)]
    }
}

/// How a table's text columns (image, tap, op, component, kind, the
/// design's words) are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextAs {
    /// Polars `String` columns: what the functions of this module return,
    /// tables that combine with any other (also across evcxr cells, each of
    /// which links its own Polars with its own global categories).
    String,
    /// Categorical columns (Polars' global categories): a code per row,
    /// no string per row; what freqtag
    /// writes to Parquet, several times faster for large tables. Polars
    /// reads such files back as categorical columns.
    Categorical,
}

/// `df` with its text columns stored `as_`.
fn text_as(df: DataFrame, as_: TextAs) -> Result<DataFrame> {
    if as_ == TextAs::Categorical {
        return Ok(df);
    }
    let casts: Vec<Expr> = df
        .schema()
        .iter()
        .filter(|(_, dt)| dt.is_categorical())
        .map(|(name, _)| col(name.clone()).cast(DataType::String))
        .collect();
    if casts.is_empty() {
        return Ok(df);
    }
    df.lazy().with_columns(casts).collect().map_err(pl)
}

/// Spectra of one image: one row per (tap, unit, bin).
pub fn spectra_of(results: &Results, image: &ImageResult) -> Result<DataFrame> {
    spectra_as(results, image, TextAs::String)
}

/// [`spectra_of`] with its text columns stored `as_`.
pub fn spectra_as(results: &Results, image: &ImageResult, as_: TextAs) -> Result<DataFrame> {
    text_as(spectra_table(results, image)?, as_)
}

/// [`components`] of some images only; `results` gives the model, design
/// and lattice (its images are not read).
pub fn components_for(results: &Results, images: &[ImageResult]) -> Result<DataFrame> {
    components_as(results, images, TextAs::String)
}

/// [`components_for`] with its text columns stored `as_`.
pub fn components_as(results: &Results, images: &[ImageResult], as_: TextAs) -> Result<DataFrame> {
    text_as(components_table(results, images)?, as_)
}

/// [`scores`] of some images only (e.g. one image as it finishes);
/// `results` gives the model, design and lattice (its images are not read).
pub fn scores_for(results: &Results, images: &[ImageResult]) -> Result<DataFrame> {
    scores_as(results, images, TextAs::String)
}

/// [`scores_for`] with its text columns stored `as_`.
pub fn scores_as(results: &Results, images: &[ImageResult], as_: TextAs) -> Result<DataFrame> {
    text_as(scores_table(results, images)?, as_)
}

/// [`layer_summary`] of a [`Summary`] (results accumulated image by image),
/// with each tap's transformer `role` (empty for none) and
/// `relative_depth` ([`relative_depths`]).
pub fn layers(summary: &Summary) -> Result<DataFrame> {
    layers_as(summary, TextAs::String)
}

/// [`layers`] with its text columns stored `as_`.
pub fn layers_as(summary: &Summary, as_: TextAs) -> Result<DataFrame> {
    text_as(layers_table(summary)?, as_)
}

/// The spectra table of one image (text columns categorical).
fn spectra_table(results: &Results, image: &ImageResult) -> Result<DataFrame> {
    let text = TextBuilder::new();
    let rows: usize = image.taps.iter().map(|t| t.spectrum.units * t.spectrum.bins()).sum();
    let (_, tap_ids, _) = UnitKeys::ids(&text, std::slice::from_ref(image))?;
    let (mut tap, mut unit, mut bin, mut freq) =
        (Vec::with_capacity(rows), Vec::with_capacity(rows), Vec::with_capacity(rows), Vec::with_capacity(rows));
    let (mut amp, mut phase, mut comp, mut kind) =
        (Vec::with_capacity(rows), Vec::with_capacity(rows), Vec::with_capacity(rows), Vec::with_capacity(rows));
    let at_bin: Vec<Option<&crate::components::Component>> =
        (0..results.design.bins()).map(|k| results.lattice.at_bin(k)).collect();
    let label_ids = text.ids(&at_bin.iter().map(|c| c.map(|c| c.label.as_str()).unwrap_or("")).collect::<Vec<_>>())?;
    let kind_ids = text.ids(&at_bin.iter().map(|c| c.map(|c| c.kind.as_str()).unwrap_or("")).collect::<Vec<_>>())?;
    let labels: Vec<Option<u32>> = at_bin.iter().zip(&label_ids).map(|(c, &id)| c.map(|_| id)).collect();
    let kinds: Vec<Option<u32>> = at_bin.iter().zip(&kind_ids).map(|(c, &id)| c.map(|_| id)).collect();
    for (ti, t) in image.taps.iter().enumerate() {
        let s = &t.spectrum;
        for u in 0..s.units {
            for k in 0..s.bins() {
                tap.push(tap_ids[ti]);
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
        &text,
        &results.model,
        &results.design,
        vec![
            text.constant("image", &image.image, n)?,
            text.column("tap", tap),
            Column::new("unit".into(), unit),
            Column::new("bin".into(), bin),
            Column::new("frequency_hz".into(), freq),
            Column::new("amplitude".into(), amp),
            Column::new("phase".into(), phase),
            text.column_or_null("component", comp),
            text.column_or_null("kind", kind),
        ],
    )
}

/// Spectra of every image (can be large: units × bins × images rows).
pub fn spectra(results: &Results) -> Result<DataFrame> {
    spectra_all_as(results, TextAs::String)
}

/// [`spectra`] with its text columns stored `as_`.
pub fn spectra_all_as(results: &Results, as_: TextAs) -> Result<DataFrame> {
    let mut out: Option<DataFrame> = None;
    for img in &results.images {
        let df = spectra_as(results, img, as_)?;
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

/// The components table (text columns categorical).
fn components_table(results: &Results, images: &[ImageResult]) -> Result<DataFrame> {
    let text = TextBuilder::new();
    let lat = &results.lattice;
    let rows: usize =
        images.iter().flat_map(|i| &i.taps).map(|t| t.components.iter().map(Vec::len).sum::<usize>()).sum();
    let (image_ids, tap_ids, op_ids) = UnitKeys::ids(&text, images)?;
    let labels: Vec<&str> = lat.components.iter().map(|c| c.label.as_str()).collect();
    let kinds: Vec<&str> = lat.components.iter().map(|c| c.kind.as_str()).collect();
    let collisions: Vec<String> = lat.components.iter().map(|c| c.collisions.join(" ")).collect();
    let (label_ids, kind_ids, collision_ids) = (text.ids(&labels)?, text.ids(&kinds)?, text.ids(&collisions)?);
    let mut keys = UnitKeys::new(rows);
    let mut c = ColumnsBuilder::with_capacity(rows);
    for (i, img) in images.iter().enumerate() {
        for (k, t) in img.taps.iter().enumerate() {
            let n: usize = t.components.iter().map(Vec::len).sum();
            keys.push(image_ids[i], tap_ids[k], op_ids[k], n);
            c.depth.extend(std::iter::repeat_n(t.tap.info.depth as u32, n));
            for (u, metrics) in t.components.iter().enumerate() {
                for m in metrics {
                    let comp = &lat.components[m.component];
                    c.unit.push(u as u32);
                    c.component.push(label_ids[m.component]);
                    c.kind.push(kind_ids[m.component]);
                    c.order.push(comp.order);
                    c.bin.push(comp.bin as u32);
                    c.freq.push(comp.frequency_hz);
                    c.amp.push(m.amplitude);
                    c.phase.push(m.phase);
                    c.snr.push(m.neighbours.snr as f32);
                    c.bca.push(m.neighbours.bca as f32);
                    c.z.push(m.neighbours.z as f32);
                    c.significant.push(m.significant);
                    c.collisions.push(collision_ids[m.component]);
                    c.aliased.push(comp.aliased);
                }
            }
        }
    }
    let n = c.unit.len();
    let [image, tap, op] = keys.columns(&text);
    frame(
        &text,
        &results.model,
        &results.design,
        vec![
            image,
            tap,
            op,
            Column::new("depth".into(), c.depth),
            Column::new("unit".into(), c.unit),
            text.column("component", c.component),
            text.column("kind", c.kind),
            Column::new("order".into(), c.order),
            Column::new("bin".into(), c.bin),
            Column::new("frequency_hz".into(), c.freq),
            Column::new("amplitude".into(), c.amp),
            Column::new("phase".into(), c.phase),
            Column::new("snr".into(), c.snr),
            Column::new("bca".into(), c.bca),
            Column::new("z".into(), c.z),
            Column::new("significant".into(), c.significant),
            text.column("collisions", c.collisions),
            Column::new("aliased".into(), c.aliased),
            text.constant("preset", results.analysis.preset.name(), n)?,
        ],
    )
}

/// Each component's amplitude ÷ the strongest lattice component of its
/// unit (in its image), as an expression over the [`components`] table:
/// `components.lazy().with_column(relative_amplitude()?.alias("relative"))`.
/// For a unit that responds it equals the library's
/// [`crate::metrics::ComponentMetrics::relative`]; a silent unit (its ratios
/// in the scores table are NaN) gets ratios of residues here, where the
/// library has NaN — leave those units out first.
pub fn relative_amplitude() -> Result<Expr> {
    Ok(col("amplitude") / col("amplitude").max().over([col("image"), col("tap"), col("unit")]).map_err(pl)?)
}

/// Column buffers of the components table (text columns as category ids).
struct ColumnsBuilder {
    depth: Vec<u32>,
    unit: Vec<u32>,
    component: Vec<u32>,
    kind: Vec<u32>,
    order: Vec<u32>,
    bin: Vec<u32>,
    freq: Vec<f64>,
    amp: Vec<f32>,
    phase: Vec<f32>,
    snr: Vec<f32>,
    bca: Vec<f32>,
    z: Vec<f32>,
    significant: Vec<bool>,
    collisions: Vec<u32>,
    aliased: Vec<bool>,
}

impl ColumnsBuilder {
    fn with_capacity(n: usize) -> ColumnsBuilder {
        ColumnsBuilder {
            depth: Vec::with_capacity(n),
            unit: Vec::with_capacity(n),
            component: Vec::with_capacity(n),
            kind: Vec::with_capacity(n),
            order: Vec::with_capacity(n),
            bin: Vec::with_capacity(n),
            freq: Vec::with_capacity(n),
            amp: Vec::with_capacity(n),
            phase: Vec::with_capacity(n),
            snr: Vec::with_capacity(n),
            bca: Vec::with_capacity(n),
            z: Vec::with_capacity(n),
            significant: Vec::with_capacity(n),
            collisions: Vec::with_capacity(n),
            aliased: Vec::with_capacity(n),
        }
    }
}

/// Unit scores: one row per (image, tap, unit).
pub fn scores(results: &Results) -> Result<DataFrame> {
    scores_for(results, &results.images)
}

/// The scores table (text columns categorical).
fn scores_table(results: &Results, images: &[ImageResult]) -> Result<DataFrame> {
    let text = TextBuilder::new();
    let n_tags = results.design.tags.len();
    let rows: usize = images.iter().flat_map(|i| &i.taps).map(|t| t.scores.len()).sum();
    let (image_ids, tap_ids, op_ids) = UnitKeys::ids(&text, images)?;
    let mut keys = UnitKeys::new(rows);
    let (mut depth, mut unit): (Vec<u32>, Vec<u32>) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
    let mut tagged: Vec<Vec<f64>> = vec![vec![]; n_tags];
    let mut hsum: Vec<Vec<f64>> = vec![vec![]; n_tags];
    let mut cols: [Vec<f64>; 10] = Default::default();
    let (mut sig_im, mut sig_tag) = (vec![], vec![]);
    for (i, img) in images.iter().enumerate() {
        for (k, t) in img.taps.iter().enumerate() {
            keys.push(image_ids[i], tap_ids[k], op_ids[k], t.scores.len());
            for (u, s) in t.scores.iter().enumerate() {
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
    let [image, tap, op] = keys.columns(&text);
    let mut columns = vec![image, tap, op, Column::new("depth".into(), depth), Column::new("unit".into(), unit)];
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
    frame(&text, &results.model, &results.design, columns)
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

/// The layers table (text columns categorical).
fn layers_table(summary: &Summary) -> Result<DataFrame> {
    let text = TextBuilder::new();
    let taps = &summary.taps;
    let col =
        |name: &str, f: &dyn Fn(&TapSummary) -> f64| Column::new(name.into(), taps.iter().map(f).collect::<Vec<f64>>());
    let columns = vec![
        text.column("tap", text.ids(&taps.iter().map(|t| t.tap.info.name.as_str()).collect::<Vec<_>>())?),
        text.column("op", text.ids(&taps.iter().map(|t| t.tap.info.op.as_str()).collect::<Vec<_>>())?),
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
    frame(&text, &summary.model, &summary.design, columns)
}

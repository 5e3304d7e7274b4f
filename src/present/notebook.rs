//! Inline display in evcxr Jupyter notebooks.
//!
//! In: freqtag's values in a notebook cell. Out: rich output. evcxr shows the
//! value of a cell's last expression as rich output when the value has a
//! method `evcxr_display(&self)`; that method prints
//! `EVCXR_BEGIN_CONTENT <mime>`, the content, and `EVCXR_END_CONTENT` on
//! standard output. Here:
//!
//! | value | shows as |
//! |---|---|
//! | [`Figure`] | SVG when small, PNG when dense (heat maps with thousands of cells) |
//! | [`Design`], [`Lattice`] | HTML: parts, tags, timing, and the n·f1 + m·f2 component table |
//! | [`Model`], [`Experiment`] | HTML summary (never the weights) |
//! | [`Image`], [`Stimulus`] | the picture; the parts tinted and frames over one period |
//! | [`Spectrum`] | its plot: the mean amplitude over its units |
//! | [`Results`], [`Findings`] | HTML summary: images, taps, where IMs appear, strongest units |
//! | a Polars `DataFrame` | an HTML table of its first 20 rows (with [`Show`] in scope; [`show`] for more) |
//!
//! Tables made by a lazy query in one cell need [`fresh`] before a later cell
//! queries them by column name (each evcxr cell carries its own Polars hash
//! seed); [`floats`], [`floats_where`], [`strings`] and [`column`] read columns
//! safely; [`nan_mean`] is the mean over non-NaN values, as an expression.
//!
//! evcxr keeps one rich output per MIME type and cell, so a loop that
//! displays several values shows only the last: use [`figures`], [`images`]
//! or [`html`] to show several from one cell.
//!
//! [`Results::unit_spectrum`] draws one unit's spectrum with its lattice
//! components labelled; [`lines`], [`bars`], [`scatter`] and
//! [`unit_component_heatmap`] draw the figures the notebooks need beyond
//! [`crate::plots`].
//!
//! The notebooks start with this prelude (see `notebooks/`):
//!
//! ```text
//! :opt 2                           // dependencies and cells at release-like speed
//! :cache 4096                      // evcxr's build cache (MiB), reused by later kernels
//! :dep freqtag = { path = ".." }
//! use freqtag::notebook::*;        // Show: DataFrames as HTML tables
//! use freqtag::polars::prelude::*;
//! ```

use std::fmt::Write as _;

use polars::prelude::*;

use crate::components::{Kind, Lattice};
use crate::error::{Error, Result};
use crate::experiment::{Experiment, Results};
use crate::images::Image;
use crate::model::Model;
use crate::pattern::glob_match;
use crate::plots::{self, colour_map, kind_colour, Figure};
use crate::report::{esc, findings, Findings};
use crate::spectrum::Spectrum;
use crate::stimulus::{Design, Stimulus};

pub use crate::plots::{bars, lines, scatter, series_colour, unit_component_heatmap};

/// Figures whose SVG is larger than this (bytes) are shown as PNG when
/// their PNG is smaller (dense figures: heat maps of many cells, scatters of
/// thousands of points), so that stored notebooks stay light.
pub const SVG_LIMIT: usize = 100_000;

fn emit(mime: &str, content: &str) {
    println!("EVCXR_BEGIN_CONTENT {mime}\n{content}\nEVCXR_END_CONTENT");
}

fn emit_error(what: &str, e: &Error) {
    emit("text/html", &format!("<span style=\"color:#b00\">cannot show {}: {}</span>", esc(what), esc(&e.to_string())));
}

fn png_base64(png: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(png)
}

const TABLE_STYLE: &str = "border-collapse:collapse;font-size:12px;margin:4px 0";

impl Figure {
    /// True when the figure shows as PNG: it has no SVG, its SVG only
    /// embeds a bitmap, or its SVG is larger than [`SVG_LIMIT`] and its PNG
    /// is smaller. Otherwise it shows as SVG (sharp at any zoom).
    pub fn shows_as_png(&self) -> bool {
        self.svg.is_empty()
            || self.svg.contains("data:image/png")
            || (self.svg.len() > SVG_LIMIT && self.png.len() < self.svg.len())
    }

    /// Inline display: SVG or PNG, as [`Figure::shows_as_png`] decides.
    pub fn evcxr_display(&self) {
        if self.shows_as_png() {
            emit("image/png", &png_base64(&self.png));
        } else {
            emit("image/svg+xml", &self.svg);
        }
    }
}

impl Figure {
    /// The figure as an HTML `<img>` (SVG or PNG data URI, as
    /// [`Figure::evcxr_display`] chooses), for [`html`] and [`figures`].
    pub fn to_html(&self) -> String {
        let (mime, data) = if self.shows_as_png() {
            ("image/png", png_base64(&self.png))
        } else {
            ("image/svg+xml", png_base64(self.svg.as_bytes()))
        };
        format!("<img alt=\"{}\" src=\"data:{mime};base64,{data}\" style=\"max-width:100%\">", esc(&self.name))
    }
}

/// Show any HTML as the cell's rich output.
///
/// evcxr keeps one rich output per MIME type and cell: a loop that calls
/// `evcxr_display` several times shows only the last value. To show several
/// figures or images from one cell, join their HTML (`to_html`) and pass it
/// here, or use [`figures`] and [`images`].
pub fn html(content: &str) {
    emit("text/html", content);
}

/// Show several figures, one below the other, each with an optional caption.
pub fn figures(figs: &[(Figure, String)]) {
    let mut h = String::new();
    for (f, caption) in figs {
        let _ = write!(
            h,
            "<figure style=\"margin:0 0 1em 0\">{}<figcaption><small>{}</small></figcaption></figure>",
            f.to_html(),
            esc(caption)
        );
    }
    html(&h);
}

/// Show several images side by side, small ones enlarged (see
/// [`Image::evcxr_display`]).
pub fn images(imgs: &[Image]) {
    let h: String = imgs.iter().map(|i| i.to_html()).collect();
    html(&format!("<div style=\"display:flex;flex-wrap:wrap;gap:8px\">{h}</div>"));
}

impl Design {
    /// The design as an HTML table (parts, tags, timing) and its lattice.
    pub fn to_html(&self) -> String {
        let mut h = format!(
            "<b>Design</b>: {} parts, {} modulation, {} frames at {} frames/s ({} Hz bins), period {} frames{}{}<table style=\"{TABLE_STYLE}\"><tr><th>part</th><th>f (Hz)</th><th>cycles</th><th>phase (rad)</th><th>α range</th></tr>",
            esc(&self.layout.name()),
            self.modulation,
            self.frames,
            self.fs_hz,
            self.resolution_hz(),
            self.period_frames(),
            self.noise.map(|n| format!(", pixel noise σ = {} (seed {})", n.sigma, n.seed)).unwrap_or_default(),
            match self.validate() {
                Ok(()) => String::new(),
                Err(e) => format!(" — <span style=\"color:#b00\">{}</span>", esc(&e.to_string())),
            }
        );
        let names =
            self.layout.parts(64, 64).map(|p| p.into_iter().map(|p| p.name).collect::<Vec<_>>()).unwrap_or_default();
        for (i, t) in self.tags.iter().enumerate() {
            let cycles =
                self.cycles().get(i).copied().flatten().map(|c| c.to_string()).unwrap_or_else(|| "off-bin".into());
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.3}</td><td>{:.2}–{:.2}</td></tr>",
                esc(names.get(i).map(String::as_str).unwrap_or("?")),
                t.frequency_hz,
                cycles,
                t.phase_rad,
                t.mean - t.depth,
                t.mean + t.depth
            ));
        }
        h.push_str("</table>");
        if self.validate().is_ok() {
            h.push_str(&Lattice::new(self, 3).to_html());
        }
        h
    }

    /// Inline display: [`Design::to_html`].
    pub fn evcxr_display(&self) {
        emit("text/html", &self.to_html());
    }
}

impl Lattice {
    /// The components as an HTML table (label, Hz, kind, order, collisions,
    /// alias flag).
    pub fn to_html(&self) -> String {
        let mut h = format!(
            "<b>Components up to order {}</b> ({} of {} bins reachable)<table style=\"{TABLE_STYLE}\"><tr><th>label</th><th>Hz</th><th>bin</th><th>kind</th><th>order</th><th>collides with</th><th>aliased</th></tr>",
            self.max_order,
            self.components.len(),
            self.bins
        );
        for c in &self.components {
            let (r, g, b) = {
                let k = kind_colour(c.kind);
                (k.0, k.1, k.2)
            };
            let _ = write!(
                h,
                "<tr><td style=\"color:rgb({r},{g},{b})\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&c.label),
                c.frequency_hz,
                c.bin,
                c.kind,
                c.order,
                esc(&c.collisions.join(", ")),
                if c.aliased { "yes" } else { "" }
            );
        }
        h.push_str("</table>");
        h
    }

    /// Inline display: [`Lattice::to_html`].
    pub fn evcxr_display(&self) {
        emit("text/html", &self.to_html());
    }
}

impl Model {
    /// A short HTML summary: input, preprocessing, classes, taps by op type
    /// (the weights are never printed).
    pub fn to_html(&self) -> String {
        let i = &self.input;
        let p = &self.preprocess;
        let mut by_op: Vec<(String, usize, usize)> = Vec::new();
        for t in self.taps() {
            match by_op.iter_mut().find(|r| r.0 == t.op) {
                Some(r) => {
                    r.1 += 1;
                    r.2 += t.channels();
                }
                None => by_op.push((t.op.clone(), 1, t.channels())),
            }
        }
        let default = self.select_taps("default").map(|t| t.len()).unwrap_or(0);
        let tokens = match self.tokens {
            Some(t) => format!(
                "; tokens {t} ({} special, {}×{} patches; units of token taps are channels, averaged over the patch tokens)",
                t.prefix, t.grid[0], t.grid[1]
            ),
            None => String::new(),
        };
        let mut h = format!(
            "<b>Model</b> {} <small>({})</small><br>input <code>{}</code>: {} [batch, {}, {}, {}]{}; output: {}<br>\
preprocess: resize short side {:?}, centre crop {:?}, (x·{} − mean {:?}) / std {:?}<br>\
{} tappable node outputs, {} in the default selection\
<table style=\"{TABLE_STYLE}\"><tr><th>op</th><th>taps</th><th>channels (units) in all</th></tr>",
            esc(&self.name),
            esc(&self.path.display().to_string()),
            esc(&i.name),
            esc(&i.layout),
            i.channels,
            i.height,
            i.width,
            esc(&tokens),
            esc(&self.output_description()),
            p.resize_short_side,
            p.center_crop,
            p.value_scale,
            p.mean,
            p.std,
            self.taps().len(),
            default
        );
        for (op, n, ch) in by_op {
            let _ = write!(h, "<tr><td>{}</td><td>{n}</td><td>{ch}</td></tr>", esc(&op));
        }
        h.push_str("</table>");
        h
    }

    /// Inline display: [`Model::to_html`].
    pub fn evcxr_display(&self) {
        emit("text/html", &self.to_html());
    }
}

impl Experiment {
    /// HTML summary: model, design, taps and the frames each image sends
    /// through the network.
    pub fn to_html(&self) -> String {
        let units: usize = self.taps.iter().map(|t| t.units()).sum();
        let first = self.taps.first().map(|t| t.info.name.as_str()).unwrap_or("-");
        let last = self.taps.last().map(|t| t.info.name.as_str()).unwrap_or("-");
        let schedule = self.schedule();
        let shortcut = match (schedule.frames() < self.design.frames, schedule.network_frames() < schedule.frames()) {
            (true, true) => format!(
                " (the distinct frames of one {}-frame period: the others repeat them exactly)",
                schedule.frames()
            ),
            (true, false) => " (one period: the periodicity shortcut)".to_string(),
            (false, true) => " (the distinct frames: the others repeat them exactly)".to_string(),
            (false, false) => String::new(),
        };
        format!(
            "<b>Experiment</b> on {}: {} taps ({} … {}), {} units per image; {} of {} frames per image go through the network{}<br>{}",
            esc(&self.model.name),
            self.taps.len(),
            esc(first),
            esc(last),
            units,
            schedule.network_frames(),
            self.design.frames,
            shortcut,
            self.design.to_html()
        )
    }

    /// Inline display: [`Experiment::to_html`].
    pub fn evcxr_display(&self) {
        emit("text/html", &self.to_html());
    }
}

impl Image {
    /// The image as PNG bytes (8-bit, for display only).
    pub fn to_png(&self) -> Result<Vec<u8>> {
        let mut png = Vec::new();
        self.to_rgb8()
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .map_err(|e| Error::Data(format!("png encoding of {}: {e}", self.name)))?;
        Ok(png)
    }

    /// The picture as HTML (small images enlarged without smoothing) with
    /// its name and size.
    pub fn to_html(&self) -> String {
        match self.to_png() {
            Ok(png) => {
                let w = if self.width < 128 { 4 * self.width } else { self.width.min(640) };
                format!(
                    "<figure style=\"margin:0\"><img src=\"data:image/png;base64,{}\" width=\"{w}\" style=\"image-rendering:pixelated\"><figcaption><small>{} — {}×{}, {} channel(s)</small></figcaption></figure>",
                    png_base64(&png),
                    esc(&self.name),
                    self.width,
                    self.height,
                    self.channels
                )
            }
            Err(e) => format!("<span style=\"color:#b00\">cannot show image: {}</span>", esc(&e.to_string())),
        }
    }

    /// Inline display: [`Image::to_html`].
    pub fn evcxr_display(&self) {
        emit("text/html", &self.to_html());
    }
}

impl Stimulus {
    /// Inline display: the parts (tinted) and four frames spread over one
    /// period ([`plots::stimulus_strip`]).
    pub fn evcxr_display(&self) {
        match plots::stimulus_strip(self, 4) {
            Ok(f) => f.evcxr_display(),
            Err(e) => emit_error("stimulus", &e),
        }
    }
}

impl Spectrum {
    /// A stem plot of the mean amplitude over units (DC left out). For one
    /// unit with its components labelled use [`plots::unit_spectrum`] or
    /// [`Results::unit_spectrum`].
    pub fn figure(&self, title: &str) -> Result<Figure> {
        plots::mean_spectrum(self, title)
    }

    /// Inline display: [`Spectrum::figure`].
    pub fn evcxr_display(&self) {
        let title =
            format!("mean amplitude over {} unit(s); {} frames at {} frames/s", self.units, self.frames, self.fs_hz);
        match self.figure(&title) {
            Ok(f) => f.evcxr_display(),
            Err(e) => emit_error("spectrum", &e),
        }
    }
}

impl Results {
    /// The index of a tap in these results: an exact node name, or a pattern
    /// with `*` that matches exactly one tap. The error lists what matched or
    /// suggests names.
    pub fn tap_index(&self, tap: &str) -> Result<usize> {
        let first = self.images.first().ok_or_else(|| Error::Data("the results hold no images".into()))?;
        let names: Vec<&str> = first.taps.iter().map(|t| t.tap.info.name.as_str()).collect();
        if let Some(i) = names.iter().position(|n| *n == tap) {
            return Ok(i);
        }
        let hits: Vec<usize> = (0..names.len()).filter(|&i| glob_match(tap, names[i])).collect();
        match hits.as_slice() {
            [i] => Ok(*i),
            [] => Err(Error::UnknownTap {
                name: tap.to_string(),
                model: self.model.clone(),
                suggestions: names
                    .iter()
                    .filter(|n| n.contains(tap.trim_matches('*')))
                    .take(3)
                    .map(|s| s.to_string())
                    .collect(),
            }),
            many => Err(Error::Config(format!(
                "tap pattern '{tap}' matches {} taps ({}); name one",
                many.len(),
                many.iter().take(4).map(|&i| names[i]).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// One unit's spectrum on one image (by index in `images`), with the
    /// lattice components marked by kind and the strongest labelled.
    pub fn unit_spectrum(&self, image: usize, tap: &str, unit: usize) -> Result<Figure> {
        let ti = self.tap_index(tap)?;
        let img = self.images.get(image).ok_or_else(|| {
            Error::Data(format!("image {image} out of range: the results hold {}", self.images.len()))
        })?;
        let t = &img.taps[ti];
        if unit >= t.spectrum.units {
            return Err(Error::Data(format!(
                "unit {unit} out of range: tap {} has {} units",
                t.tap.info.name, t.spectrum.units
            )));
        }
        plots::unit_spectrum(
            &t.spectrum,
            unit,
            &self.lattice,
            &format!("{} unit {} ({})", t.tap.info.name, unit, img.image),
        )
    }

    /// HTML summary: design, images with their top classes, timing, and the
    /// findings of [`crate::report::findings`] (threshold 10%).
    pub fn to_html(&self) -> String {
        let f = findings(self, 0.1);
        let mut h = format!(
            "<b>Results</b>: {} on {} image(s), {} taps, {} units per image; {} frames per image through the network at {:.1} frames/s; {:.1} s in all<br>",
            esc(&self.model),
            self.images.len(),
            f.taps,
            f.units,
            self.images.first().map(|i| i.network_frames).unwrap_or(0),
            self.frames_per_second(),
            self.seconds
        );
        let tags = self.design.tags_label();
        let _ = write!(
            h,
            "design: {} parts, {tags}, {} modulation, {} frames at {} frames/s; lattice to order {} ({} components)",
            esc(&self.design.layout.name()),
            self.design.modulation,
            self.design.frames,
            self.design.fs_hz,
            self.lattice.max_order,
            self.lattice.components.len()
        );
        let classes = self.images.iter().any(|i| !i.top_classes.is_empty());
        let _ = write!(
            h,
            "<br>model output: {}<table style=\"{TABLE_STYLE}\"><tr><th>image</th><th>{}</th><th>network s</th></tr>",
            esc(&self.model_output),
            if classes { "top classes (unmodulated)" } else { "top classes: none (no class names)" }
        );
        for img in &self.images {
            let top =
                img.top_classes.iter().map(|(c, p)| format!("{} {:.2}", esc(c), p)).collect::<Vec<_>>().join("; ");
            let _ = write!(h, "<tr><td>{}</td><td>{top}</td><td>{:.2}</td></tr>", esc(&img.image), img.network_seconds);
        }
        h.push_str("</table>");
        h.push_str(&f.to_html());
        h
    }

    /// Inline display: [`Results::to_html`].
    pub fn evcxr_display(&self) {
        emit("text/html", &self.to_html());
    }
}

impl Findings {
    /// The findings as an HTML list and a table of the strongest
    /// integrating units.
    pub fn to_html(&self) -> String {
        let mut h = format!(
            "<ul><li>{:.1}% of all units carry at least one significant intermodulation component</li>",
            100.0 * self.share_units_with_im
        );
        match &self.first_im_tap {
            Some((t, s)) => {
                let _ = write!(
                    h,
                    "<li>first tap (input → output) where ≥{:.0}% of units carry IMs: <code>{}</code> ({:.1}%)</li>",
                    100.0 * self.threshold,
                    esc(t),
                    100.0 * s
                );
            }
            None => {
                let _ = write!(h, "<li>no tap reaches {:.0}% of units with IMs</li>", 100.0 * self.threshold);
            }
        }
        for (op, taps, share) in &self.by_op {
            let _ = write!(h, "<li>{} taps ({taps}): {:.1}% of units with IMs</li>", esc(op), 100.0 * share);
        }
        h.push_str("</ul>");
        if !self.top_units.is_empty() {
            h.push_str(&crate::report::top_units_table(&self.top_units, TABLE_STYLE));
        }
        h
    }

    /// Inline display: [`Findings::to_html`].
    pub fn evcxr_display(&self) {
        emit("text/html", &self.to_html());
    }
}

/// A DataFrame as an HTML table of at most `max_rows` rows.
pub fn df_html(df: &DataFrame, max_rows: usize) -> String {
    let mut h =
        format!("<div><small>{} rows × {} columns</small><table style=\"{TABLE_STYLE}\"><tr>", df.height(), df.width());
    for name in df.get_column_names() {
        h.push_str(&format!("<th>{}</th>", esc(name)));
    }
    h.push_str("</tr>");
    for r in 0..df.height().min(max_rows) {
        h.push_str("<tr>");
        for c in df.columns() {
            let v = c.get(r).map(|v| match v {
                AnyValue::Float64(f) => format!("{f:.5}"),
                AnyValue::Float32(f) => format!("{f:.5}"),
                // text, string or categorical, without quotes
                other => other.get_str().map(str::to_string).unwrap_or_else(|| other.to_string()),
            });
            h.push_str(&format!("<td>{}</td>", esc(&v.unwrap_or_default())));
        }
        h.push_str("</tr>");
    }
    h.push_str("</table></div>");
    h
}

/// Show a DataFrame inline in a notebook (first `max_rows` rows).
pub fn show(df: &DataFrame, max_rows: usize) {
    emit("text/html", &df_html(df, max_rows));
}

/// A copy of `df` without its cached schema, safe to query in this cell.
///
/// evcxr (0.22, default static linking) builds every cell as its own shared
/// library with its own copy of Polars, and so its own hash seed. A DataFrame
/// that comes out of a lazy query carries a schema hashed with the seed of the
/// cell that made it; looked up by name from a later cell it reports
/// `ColumnNotFound`. Rebuild such frames with `fresh` before querying them
/// again (`fresh(&df).lazy()…`); [`floats`], [`strings`] and [`column`] find
/// columns without the schema.
pub fn fresh(df: &DataFrame) -> DataFrame {
    DataFrame::new(df.height(), df.columns().to_vec()).unwrap_or_else(|_| df.clone())
}

// Columns found by name without the hashed schema (see [`fresh`]): kept
// in the statistics, which read notebook tables too.
pub use crate::stats::columns::{column, floats, floats_where, nan_mean, strings};

/// Inline display for types freqtag does not own (Polars' `DataFrame`).
/// Bring it into scope with `use freqtag::notebook::*;` and a cell ending
/// in a DataFrame shows an HTML table of its first 20 rows.
pub trait Show {
    /// Print the value as evcxr rich output.
    fn evcxr_display(&self);
}

impl Show for DataFrame {
    fn evcxr_display(&self) {
        show(self, 20)
    }
}

/// The colour of a component kind as CSS (for HTML written in notebooks).
pub fn kind_css(kind: Kind) -> String {
    let c = kind_colour(kind);
    format!("rgb({},{},{})", c.0, c.1, c.2)
}

/// A viridis-like CSS colour for v in [0, 1] (for HTML tables).
pub fn value_css(v: f64) -> String {
    let c = colour_map(v);
    format!("rgb({},{},{})", c.0, c.1, c.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_show_text_without_quotes() {
        let df = DataFrame::new(
            2,
            vec![
                Column::new("tap".into(), ["a", "b"]).cast(&DataType::from_categories(Categories::global())).unwrap(),
                Column::new("kind".into(), ["x", "y"]),
                Column::new("v".into(), [0.5f64, 1.0]),
            ],
        )
        .unwrap();
        assert!(df.column("tap").unwrap().dtype().is_categorical());
        let h = df_html(&df, 10);
        assert!(h.contains("<td>a</td><td>x</td><td>0.50000</td>"), "{h}");
    }

    #[test]
    fn line_bar_and_scatter_figures_render() {
        let f = lines("t", "x", "y", &[1.0, 2.0, 3.0], &[("a", vec![0.1, 0.2, f64::NAN]), ("b", vec![0.3, 0.1, 0.0])])
            .unwrap();
        assert!(f.svg.starts_with("<svg") && f.svg.contains("\na\n"), "legend entry missing");
        assert!(lines("t", "x", "y", &[1.0], &[("a", vec![])]).is_err());
        let f = bars("t", "y", &[("faces", 0.4, 0.05), ("non-faces", 0.3, 0.0)]).unwrap();
        assert!(f.svg.contains("non-faces"));
        let f = scatter("t", "x", "y", &[("u", vec![(0.1, 0.2), (0.3, 0.1)])], true).unwrap();
        assert_eq!(&f.png[1..4], b"PNG");
    }

    #[test]
    fn a_spectrum_plots_its_mean_over_units() {
        let acts: Vec<f32> = (0..24).flat_map(|i| [(i as f32 * 0.5).sin(), 2.0 * (i as f32 * 0.5).sin()]).collect();
        let s = Spectrum::from_activations(&acts, 24, 2, 12.0).unwrap();
        let m = s.mean_amplitude();
        assert_eq!(m.len(), s.bins());
        assert!((m[3] - 1.5 * s.amp(0, 3)).abs() < 1e-5);
        let f = s.figure("mean").unwrap();
        assert!(f.svg.contains("mean"));
        assert!(f.to_html().starts_with("<img alt=\"spectrum\" src=\"data:image/svg+xml;base64,"));
    }

    #[test]
    fn columns_are_found_by_name_without_the_schema() {
        let df =
            DataFrame::new(2, vec![Column::new("a".into(), [1u32, 2]), Column::new("b".into(), ["x", "y"])]).unwrap();
        assert_eq!(floats(&df, "a").unwrap(), vec![1.0, 2.0]);
        assert_eq!(strings(&df, "b").unwrap(), vec!["x", "y"]);
        assert!(column(&df, "c").unwrap_err().to_string().contains("columns a, b"));
        assert_eq!(fresh(&df).shape(), (2, 2));
    }

    #[test]
    fn designs_and_lattices_show_as_html() {
        let d = Design::paper();
        let h = d.to_html();
        assert!(h.contains("left") && h.contains("f1+f2") && h.contains("period 80 frames"), "{h}");
        let bad = Design::paper().frames(250).to_html();
        assert!(bad.contains("color:#b00"), "{bad}");
    }
}

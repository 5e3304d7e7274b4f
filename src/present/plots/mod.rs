//! Figures with plotters, as SVG and PNG.
//!
//! In: [`Results`] (or a [`Spectrum`] and [`Lattice`]). Out: [`Figure`]s —
//! each holds the same drawing as SVG text (sharp, small; inline in
//! notebooks and the report) and PNG bytes (for dense figures and files).
//!
//! - [`unit_spectrum`]: one unit's amplitude spectrum, lattice components
//!   marked by kind and the strongest labelled.
//! - [`tap_component_heatmap`]: taps (by depth) × components, mean relative
//!   amplitude.
//! - [`layer_profile`]: per tap, the share of units with a significant IM
//!   and the mean integration index, against depth.
//! - [`stimulus_strip`] / [`alpha_traces`]: the parts and a few frames; α(t)
//!   of every part.
//! - [`deletion_curves`]: accuracy (or agreement, KL) against the share of
//!   units removed, one line per ranking ([`crate::ablation`]).
//!
//! Text is drawn with the bundled DejaVu Sans (no system fonts needed).

use std::path::Path;
use std::sync::Once;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::components::{Kind, Lattice};
use crate::error::{Error, Result};
use crate::experiment::Results;
use crate::export::write_bytes;
use crate::spectrum::Spectrum;
use crate::stimulus::Stimulus;
use crate::summary::Summary;

mod charts;
mod compare;
mod deletion;
mod heatmap;
mod snr;
mod spectrum;
mod stimulus;

pub use charts::*;
pub use compare::*;
pub use deletion::*;
pub use heatmap::*;
pub use snr::*;
pub use spectrum::*;
pub use stimulus::*;

/// Moved to [`crate::stats`]; kept here so `freqtag::plots::mean_finite` still works.
#[doc(no_inline)]
pub use crate::stats::mean_finite;

static FONT: &[u8] = include_bytes!("../../../data/fonts/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

fn fonts() {
    REGISTER.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
        let _ = plotters::style::register_font("sans-serif", FontStyle::Bold, FONT);
    });
}

/// A drawing as SVG text and PNG bytes.
#[derive(Clone, Debug)]
pub struct Figure {
    /// A short name (used for file names).
    pub name: String,
    /// SVG document.
    pub svg: String,
    /// PNG file bytes.
    pub png: Vec<u8>,
    /// Size in pixels.
    pub size: (u32, u32),
}

impl Figure {
    /// Write `<dir>/<name>.svg` and `<dir>/<name>.png` atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        write_bytes(&dir.join(format!("{}.svg", self.name)), self.svg.as_bytes())?;
        write_bytes(&dir.join(format!("{}.png", self.name)), &self.png)
    }
    /// The PNG as a `data:` URI (for self-contained HTML).
    pub fn png_data_uri(&self) -> String {
        use base64::Engine;
        format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(&self.png))
    }
}

/// Something that can draw itself on any plotters backend.
pub trait Plot {
    /// Draw on `area`.
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> std::result::Result<(), String>;
}

/// Render a plot to SVG and PNG at `size`.
pub fn render(name: &str, plot: &impl Plot, size: (u32, u32)) -> Result<Figure> {
    fonts();
    let fail = |e: String| Error::Data(format!("plot {name}: {e}"));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
        plot.draw(&root).map_err(fail)?;
        root.present().map_err(|e| fail(e.to_string()))?;
    }
    let mut rgb = vec![255u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
        plot.draw(&root).map_err(fail)?;
        root.present().map_err(|e| fail(e.to_string()))?;
    }
    let img = image::RgbImage::from_raw(size.0, size.1, rgb).ok_or_else(|| fail("bitmap size".into()))?;
    Ok(Figure { name: name.to_string(), svg, png: encode_png(&img)?, size })
}

/// PNG bytes, compressed hard (figures are stored in notebooks and reports:
/// about a third of the default encoder's size).
fn encode_png(img: &image::RgbImage) -> Result<Vec<u8>> {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    use image::ImageEncoder;
    let mut png = Vec::new();
    PngEncoder::new_with_quality(&mut png, CompressionType::Best, FilterType::Adaptive)
        .write_image(img.as_raw(), img.width(), img.height(), image::ExtendedColorType::Rgb8)
        .map_err(|e| Error::Data(format!("png encoding: {e}")))?;
    Ok(png)
}

fn e2s<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// A chart on Cartesian axes of the coordinate kinds `X` and `Y`.
type XyChart<'a, DB, X, Y> =
    ChartContext<'a, DB, Cartesian2d<<X as AsRangedCoord>::CoordDescType, <Y as AsRangedCoord>::CoordDescType>>;

/// An x–y chart with freqtag's title font, margin and axis-label areas.
fn xy_chart<'a, DB: DrawingBackend, X: AsRangedCoord, Y: AsRangedCoord>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    x: X,
    y: Y,
) -> std::result::Result<XyChart<'a, DB, X, Y>, String> {
    ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(x, y)
        .map_err(e2s)
}

/// Axes with their descriptions; `x_grid: false` leaves out the vertical
/// grid lines (spectra, bars).
fn draw_axes<DB, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    x_desc: &str,
    y_desc: &str,
    x_grid: bool,
) -> std::result::Result<(), String>
where
    DB: DrawingBackend,
    X: Ranged + ValueFormatter<X::ValueType>,
    Y: Ranged + ValueFormatter<Y::ValueType>,
{
    let mut mesh = chart.configure_mesh();
    if !x_grid {
        mesh.disable_x_mesh();
    }
    mesh.x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 13))
        .draw()
        .map_err(e2s)
}

/// How a legend entry is drawn.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Mark {
    /// A line (a series of a line chart).
    Line(RGBColor),
    /// A filled dot (markers, scatter groups).
    Dot(RGBColor),
}

/// Title `area`, draw the legend `entries` in a strip under the title, left
/// to right (wrapping to more rows when they do not fit), and return the
/// area below it for the chart: the legend never covers the data.
fn titled_with_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    entries: &[(String, Mark)],
) -> std::result::Result<DrawingArea<DB, Shift>, String> {
    let area = area.titled(title, ("sans-serif", 18)).map_err(e2s)?;
    if entries.is_empty() {
        return Ok(area);
    }
    let font = TextStyle::from(("sans-serif", 12).into_font());
    let width = area.dim_in_pixel().0 as i32;
    let (left, row_h, mark_w, gap) = (70, 18, 22, 22);
    // place the entries: (x, row) of each
    let mut places = Vec::with_capacity(entries.len());
    let (mut x, mut row) = (left, 0);
    for (label, _) in entries {
        let w =
            mark_w + 6 + area.estimate_text_size(label, &font).map(|s| s.0 as i32).unwrap_or(7 * label.len() as i32);
        if x > left && x + w > width - 12 {
            x = left;
            row += 1;
        }
        places.push((x, row));
        x += w + gap;
    }
    let (strip, rest) = area.split_vertically((row + 1) * row_h + 6);
    let style = font.color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
    for ((label, mark), (x, row)) in entries.iter().zip(places) {
        let y = row * row_h + row_h / 2 + 2;
        match *mark {
            Mark::Line(c) => strip.draw(&PathElement::new(vec![(x, y), (x + mark_w, y)], c.stroke_width(2))),
            Mark::Dot(c) => strip.draw(&Circle::new((x + mark_w / 2, y), 4, c.filled())),
        }
        .map_err(e2s)?;
        strip.draw(&Text::new(label.clone(), (x + mark_w + 6, y), style.clone())).map_err(e2s)?;
    }
    Ok(rest)
}

/// An x–y chart with freqtag's margin and axis-label areas, no caption
/// (for an area from [`titled_with_legend`]).
fn xy_chart_plain<'a, DB: DrawingBackend, X: AsRangedCoord, Y: AsRangedCoord>(
    area: &'a DrawingArea<DB, Shift>,
    x: X,
    y: Y,
) -> std::result::Result<XyChart<'a, DB, X, Y>, String> {
    ChartBuilder::on(area)
        .margin(12)
        .margin_top(4)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(x, y)
        .map_err(e2s)
}

/// A tick label without a useless `.0`: `10` rather than `10.0`, `7.5` as is.
fn tidy_tick(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{}", (v * 1e6).round() / 1e6)
    }
}

/// True when every finite value is a whole number (tap indices, counts):
/// such an axis prints integers, never `10.0`.
fn all_integers(values: &[f64]) -> bool {
    values.iter().filter(|v| v.is_finite()).all(|v| v.fract() == 0.0)
}

/// A tick label for an axis of whole numbers: the integer, or nothing at a
/// tick between two integers.
fn integer_tick(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        String::new()
    }
}

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// The colour of series `i` in [`lines`], [`bars`], [`scatter`] and [`alpha_traces`].
pub fn series_colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A padded range over the finite values (`include_zero`: from 0 when all
/// are positive); (0, 1) when there are none.
fn finite_range(values: impl Iterator<Item = f64>, include_zero: bool) -> (f64, f64) {
    let (mut lo, mut hi) = if include_zero { (0.0, 0.0) } else { (f64::INFINITY, f64::NEG_INFINITY) };
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(1e-9);
    (if include_zero && lo >= 0.0 { 0.0 } else { lo - pad }, hi + pad)
}

/// Colour of a component kind.
pub fn kind_colour(kind: Kind) -> RGBColor {
    match kind {
        Kind::Fundamental => RGBColor(31, 119, 180),
        Kind::Harmonic => RGBColor(44, 160, 44),
        Kind::Intermodulation => RGBColor(214, 39, 40),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stimulus::Design;

    #[test]
    fn a_spectrum_figure_renders_to_svg_and_png() {
        let d = Design::paper();
        let lat = Lattice::new(&d, 3);
        let frames: Vec<f32> = (0..240)
            .map(|i| {
                let t = i as f64 / 120.0;
                ((2.0 * std::f64::consts::PI * 6.0 * t).sin() + (2.0 * std::f64::consts::PI * 7.5 * t).sin()).max(0.0)
                    as f32
            })
            .collect();
        let s = Spectrum::from_activations(&frames, 240, 1, 120.0).unwrap();
        let fig = unit_spectrum(&s, 0, &lat, "relu unit").unwrap();
        assert!(fig.svg.starts_with("<svg") && fig.svg.contains("f1+f2"), "labels missing");
        assert_eq!(&fig.png[1..4], b"PNG");
        let decoded = image::load_from_memory(&fig.png).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (900, 420));
    }

    #[test]
    fn heat_maps_label_a_readable_subset_title_their_axes_and_leave_silent_cells_empty() {
        assert_eq!((label_step(14.0, 13.0), label_step(6.0, 13.0), label_step(0.9, 13.0)), (1, 5, 20));
        let plot = |rows: usize, values: Vec<Vec<f64>>| HeatmapPlot {
            rows: (0..rows).map(|r| format!("unit {r}")).collect(),
            cols: vec!["f1 (6 Hz)".into(), "2f1+f2 (19.5 Hz)".into()],
            values,
            title: "t".into(),
            x_desc: "lattice component".into(),
            y_desc: "units".into(),
            colour_desc: "relative amplitude".into(),
        };
        // 1280 rows on 1400 pixels: one row in 20 labelled, not 1280 labels in a black bar
        let many = render("h", &plot(1280, vec![vec![0.5, 0.25]; 1280]), (1000, 1400)).unwrap();
        let labels = many.svg.matches("\nunit ").count();
        assert!((50..=70).contains(&labels), "{labels} row labels");
        for title in ["lattice component", "units; one in 20 labelled", "relative amplitude"] {
            assert!(many.svg.contains(title), "{title} missing");
        }
        // a NaN cell (a silent unit) is not drawn: one rectangle fewer than with a value
        let rects = |v: f64| {
            render("h", &plot(2, vec![vec![0.5, v], vec![0.1, 0.9]]), (600, 400)).unwrap().svg.matches("<rect").count()
        };
        assert_eq!(rects(0.3), rects(f64::NAN) + 1);
    }

    #[test]
    fn integer_axes_print_integers() {
        let x: Vec<f64> = (0..82).map(|i| i as f64).collect();
        let f = lines("t", "tap", "share", &x, &[("a", x.iter().map(|v| v / 82.0).collect())]).unwrap();
        assert!(f.svg.contains("\n10\n") && !f.svg.contains("10.0"), "tap indices print as integers");
        assert_eq!((tidy_tick(&10.0), tidy_tick(&7.5), integer_tick(&2.5)), ("10".into(), "7.5".into(), String::new()));
    }

    #[test]
    fn colour_map_runs_from_dark_to_light() {
        let lum = |c: RGBColor| c.0 as u32 + c.1 as u32 + c.2 as u32;
        assert!(lum(colour_map(0.0)) < lum(colour_map(0.5)) && lum(colour_map(0.5)) < lum(colour_map(1.0)));
        assert_eq!(colour_map(f64::NAN), colour_map(0.0));
    }
}

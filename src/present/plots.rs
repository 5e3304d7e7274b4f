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

use crate::components::{Kind, Lattice};
use crate::error::{Error, Result};
use crate::experiment::Results;
use crate::export::write_bytes;
use crate::spectrum::Spectrum;
use crate::stimulus::Stimulus;
use crate::summary::Summary;

/// Moved to [`crate::stats`]; kept here so `freqtag::plots::mean_finite` still works.
#[doc(no_inline)]
pub use crate::stats::mean_finite;

static FONT: &[u8] = include_bytes!("../../data/fonts/DejaVuSans.ttf");
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

fn encode_png(img: &image::RgbImage) -> Result<Vec<u8>> {
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| Error::Data(format!("png encoding: {e}")))?;
    Ok(png)
}

fn e2s<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// An x–y chart with freqtag's title font, margin and axis-label areas.
fn xy_chart<'a, DB: DrawingBackend, X: AsRangedCoord, Y: AsRangedCoord>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    x: X,
    y: Y,
) -> std::result::Result<ChartContext<'a, DB, Cartesian2d<X::CoordDescType, Y::CoordDescType>>, String> {
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

/// The legend of the labelled series, boxed, at `position`.
fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> std::result::Result<(), String> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 12))
        .draw()
        .map_err(e2s)
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

/// An amplitude spectrum as stems (DC left out), with the lattice
/// components marked by kind and the strongest labelled when a lattice is given.
pub struct SpectrumPlot<'a> {
    /// Bin frequencies (Hz).
    pub freqs: Vec<f64>,
    /// Amplitude per bin (activation units).
    pub amps: Vec<f32>,
    /// Components to mark, if any.
    pub lattice: Option<&'a Lattice>,
    /// Title.
    pub title: String,
    /// How many of the strongest components get a text label.
    pub labels: usize,
}

impl Plot for SpectrumPlot<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
        let amps = &self.amps;
        let top = amps.iter().skip(1).copied().fold(0f32, f32::max).max(1e-12) * 1.15;
        let fmax = self.freqs.last().copied().unwrap_or(1.0).max(1e-9);
        let mut chart = xy_chart(area, &self.title, 0f64..fmax, 0f32..top)?;
        draw_axes(&mut chart, "frequency (Hz)", "amplitude (activation units)", false)?;
        chart
            .draw_series(
                self.freqs
                    .iter()
                    .zip(amps.iter())
                    .skip(1)
                    .map(|(&f, &a)| PathElement::new(vec![(f, 0f32), (f, a)], RGBColor(120, 120, 120).stroke_width(1))),
            )
            .map_err(e2s)?;
        let Some(lattice) = self.lattice else { return Ok(()) };
        let amp = |bin: usize| amps.get(bin).copied().unwrap_or(0.0);
        for kind in [Kind::Fundamental, Kind::Harmonic, Kind::Intermodulation] {
            let c = kind_colour(kind);
            chart
                .draw_series(
                    lattice.of_kind(kind).map(|comp| Circle::new((comp.frequency_hz, amp(comp.bin)), 4, c.filled())),
                )
                .map_err(e2s)?
                .label(kind.as_str())
                .legend(move |(x, y)| Circle::new((x, y), 4, c.filled()));
        }
        let mut strongest: Vec<_> = lattice.components.iter().filter(|c| amp(c.bin) > top * 0.02).collect();
        strongest.sort_by(|a, b| amp(b.bin).total_cmp(&amp(a.bin)));
        chart
            .draw_series(strongest.into_iter().take(self.labels).map(|c| {
                Text::new(
                    c.label.clone(),
                    (c.frequency_hz, amp(c.bin) + top * 0.02),
                    ("sans-serif", 12).into_font().color(&kind_colour(c.kind)),
                )
            }))
            .map_err(e2s)?;
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

/// Figure of one unit's spectrum, components marked and the ten strongest labelled.
pub fn unit_spectrum(spectrum: &Spectrum, unit: usize, lattice: &Lattice, title: &str) -> Result<Figure> {
    let plot = SpectrumPlot {
        freqs: spectrum.frequencies(),
        amps: spectrum.unit_amplitude(unit).to_vec(),
        lattice: Some(lattice),
        title: title.to_string(),
        labels: 10,
    };
    render(&format!("spectrum_{}", crate::model::file_stem(title)), &plot, (900, 420))
}

/// Figure of the mean amplitude spectrum over a tap's units
/// ([`Spectrum::mean_amplitude`]), without component labels.
pub fn mean_spectrum(spectrum: &Spectrum, title: &str) -> Result<Figure> {
    let plot = SpectrumPlot {
        freqs: spectrum.frequencies(),
        amps: spectrum.mean_amplitude(),
        lattice: None,
        title: title.to_string(),
        labels: 0,
    };
    render("spectrum", &plot, (900, 360))
}

/// A viridis-like colour for v in [0, 1].
pub fn colour_map(v: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 6] =
        [(68, 1, 84), (65, 68, 135), (42, 120, 142), (34, 168, 132), (122, 209, 81), (253, 231, 37)];
    let v = if v.is_finite() { v.clamp(0.0, 1.0) } else { 0.0 };
    let x = v * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let lerp = |a: u8, b: u8| (a as f64 + f * (b as f64 - a as f64)).round() as u8;
    RGBColor(lerp(STOPS[i].0, STOPS[i + 1].0), lerp(STOPS[i].1, STOPS[i + 1].1), lerp(STOPS[i].2, STOPS[i + 1].2))
}

/// Taps × components heat map of mean relative amplitude.
pub struct HeatmapPlot {
    /// Row labels (taps, top to bottom).
    pub rows: Vec<String>,
    /// Column labels (components).
    pub cols: Vec<String>,
    /// Values `[rows][cols]` in [0, 1].
    pub values: Vec<Vec<f64>>,
    /// Title.
    pub title: String,
}

impl Plot for HeatmapPlot {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
        let (nr, nc) = (self.rows.len().max(1), self.cols.len().max(1));
        let (main, bar) = area.split_horizontally(area.dim_in_pixel().0 as i32 - 90);
        // segmented axes put each label at the centre of its cell
        let mut chart = ChartBuilder::on(&main)
            .caption(&self.title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(230)
            // discrete integer ranges are inclusive in plotters: 0..n-1 is n cells
            .build_cartesian_2d((0..nc - 1).into_segmented(), (0..nr - 1).into_segmented())
            .map_err(e2s)?;
        let rows = self.rows.clone();
        let cols = self.cols.clone();
        let centre = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) => Some(*i),
            _ => None,
        };
        let row_font = if nr > 60 { 8 } else { 11 };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(nc)
            .y_labels(nr)
            .x_label_formatter(&|v| centre(v).and_then(|i| cols.get(i).cloned()).unwrap_or_default())
            .y_label_formatter(&|v| {
                centre(v).and_then(|i| rows.get(nr.saturating_sub(1 + i)).cloned()).unwrap_or_default()
            })
            .x_label_style(("sans-serif", 11))
            .y_label_style(("sans-serif", row_font))
            .draw()
            .map_err(e2s)?;
        chart
            .draw_series(self.values.iter().enumerate().flat_map(|(r, row)| {
                row.iter().enumerate().map(move |(c, v)| {
                    let y = nr - 1 - r;
                    Rectangle::new(
                        [
                            (SegmentValue::Exact(c), SegmentValue::Exact(y)),
                            (SegmentValue::Exact(c + 1), SegmentValue::Exact(y + 1)),
                        ],
                        colour_map(*v).filled(),
                    )
                })
            }))
            .map_err(e2s)?;
        // colour bar
        let mut cb = ChartBuilder::on(&bar)
            .margin_top(40)
            .margin_bottom(50)
            .margin_right(30)
            .y_label_area_size(40)
            .build_cartesian_2d(0..1, 0f64..1f64)
            .map_err(e2s)?;
        cb.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_labels(5)
            .label_style(("sans-serif", 10))
            .draw()
            .map_err(e2s)?;
        cb.draw_series((0..100).map(|i| {
            let v = i as f64 / 100.0;
            Rectangle::new([(0, v), (1, v + 0.01)], colour_map(v).filled())
        }))
        .map_err(e2s)?;
        Ok(())
    }
}

/// Mean relative amplitude (÷ each unit's strongest component) of every
/// lattice component of order ≤ 3, per tap, over units and images.
pub fn tap_component_heatmap(results: &Results) -> Result<Figure> {
    tap_component_heatmap_of(&Summary::of(results))
}

/// [`tap_component_heatmap`] of a [`Summary`].
pub fn tap_component_heatmap_of(summary: &Summary) -> Result<Figure> {
    let lat = &summary.lattice;
    let mut comps: Vec<usize> = (0..lat.components.len()).filter(|&i| lat.components[i].order <= 3).collect();
    comps.sort_by(|&a, &b| {
        let (ca, cb) = (&lat.components[a], &lat.components[b]);
        (ca.kind, ca.order, ca.bin).cmp(&(cb.kind, cb.order, cb.bin))
    });
    if summary.taps.is_empty() {
        return Err(Error::Data("no images".into()));
    }
    let values: Vec<Vec<f64>> =
        summary.taps.iter().map(|t| comps.iter().map(|&c| t.mean_relative(c)).collect()).collect();
    let plot = HeatmapPlot {
        rows: summary.taps.iter().map(|t| short_tap(&t.tap.info.name)).collect(),
        cols: comps.iter().map(|&c| lat.components[c].label.clone()).collect(),
        values,
        title: "mean relative amplitude per tap and component".into(),
    };
    let h = (summary.taps.len() as u32 * 10 + 260).clamp(420, 1600);
    render("tap_component_heatmap", &plot, (1000, h))
}

fn short_tap(name: &str) -> String {
    let s = name.trim_start_matches('/');
    if s.chars().count() > 34 {
        format!("…{}", s.chars().rev().take(33).collect::<Vec<_>>().into_iter().rev().collect::<String>())
    } else {
        s.to_string()
    }
}

/// Lines over a shared x axis, with markers (one series per design,
/// image set, score …).
pub struct LinesPlot {
    /// Title.
    pub title: String,
    /// x-axis label.
    pub x_desc: String,
    /// y-axis label.
    pub y_desc: String,
    /// x values, shared by all series.
    pub x: Vec<f64>,
    /// (name, y values, colour); non-finite values are skipped.
    pub series: Vec<(String, Vec<f64>, RGBColor)>,
}

impl Plot for LinesPlot {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
        let (x0, x1) = finite_range(self.x.iter().copied(), false);
        let (y0, y1) = finite_range(self.series.iter().flat_map(|s| s.1.iter().copied()), true);
        let mut chart = xy_chart(area, &self.title, x0..x1, y0..y1)?;
        draw_axes(&mut chart, &self.x_desc, &self.y_desc, true)?;
        for (name, ys, colour) in &self.series {
            let c = *colour;
            let pts: Vec<(f64, f64)> =
                self.x.iter().zip(ys).filter(|(x, y)| x.is_finite() && y.is_finite()).map(|(x, y)| (*x, *y)).collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
                .map_err(e2s)?
                .label(name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
            chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, c.filled()))).map_err(e2s)?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }
}

/// A line figure: `series` are (name, y values) over the shared `x`,
/// coloured by [`series_colour`].
pub fn lines(title: &str, x_desc: &str, y_desc: &str, x: &[f64], series: &[(&str, Vec<f64>)]) -> Result<Figure> {
    if let Some((name, ys)) = series.iter().find(|s| s.1.len() != x.len()) {
        return Err(Error::Data(format!("series '{name}' has {} values for {} x values", ys.len(), x.len())));
    }
    let plot = LinesPlot {
        title: title.into(),
        x_desc: x_desc.into(),
        y_desc: y_desc.into(),
        x: x.to_vec(),
        series: series.iter().enumerate().map(|(i, (n, v))| (n.to_string(), v.clone(), series_colour(i))).collect(),
    };
    render("lines", &plot, (900, 420))
}

/// Share of units with at least one significant IM, mean IM power share and
/// mean integration index per tap, in graph order.
pub fn layer_profile(results: &Results) -> Result<Figure> {
    layer_profile_of(&Summary::of(results))
}

/// [`layer_profile`] of a [`Summary`] (results accumulated image by image).
pub fn layer_profile_of(summary: &Summary) -> Result<Figure> {
    if summary.taps.is_empty() {
        return Err(Error::Data("no images".into()));
    }
    let with_im: Vec<f64> = summary.taps.iter().map(|t| t.share_with_im()).collect();
    let share: Vec<f64> = summary.taps.iter().map(|t| t.mean_share_im()).collect();
    let integ: Vec<f64> = summary.taps.iter().map(|t| t.mean_integration()).collect();
    let plot = LinesPlot {
        title: "where intermodulation appears, by depth".into(),
        x_desc: "tap (graph order: input → output)".into(),
        y_desc: "fraction".into(),
        x: (0..summary.taps.len()).map(|i| i as f64).collect(),
        series: vec![
            ("share of units with a significant IM".into(), with_im, kind_colour(Kind::Intermodulation)),
            ("mean integration index IM/(tag+IM)".into(), integ, RGBColor(148, 103, 189)),
            ("mean IM share of AC power".into(), share, RGBColor(255, 127, 14)),
        ],
    };
    render("layer_profile", &plot, (1000, 420))
}

/// Bars with optional error bars.
pub struct BarsPlot {
    /// Title.
    pub title: String,
    /// y-axis label.
    pub y_desc: String,
    /// (label, value, error half-width; 0 or NaN draws none).
    pub bars: Vec<(String, f64, f64)>,
}

impl Plot for BarsPlot {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
        let n = self.bars.len().max(1);
        let (y0, y1) = finite_range(
            self.bars.iter().flat_map(|(_, v, e)| {
                let e = if e.is_finite() { e.abs() } else { 0.0 };
                [v - e, v + e]
            }),
            true,
        );
        let labels: Vec<String> = self.bars.iter().map(|b| b.0.clone()).collect();
        let mut chart = xy_chart(area, &self.title, -0.5f64..(n as f64 - 0.5), y0..y1)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n * 2 + 1)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    labels.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_desc(self.y_desc.as_str())
            .label_style(("sans-serif", 12))
            .axis_desc_style(("sans-serif", 13))
            .draw()
            .map_err(e2s)?;
        chart
            .draw_series(self.bars.iter().enumerate().map(|(i, (_, v, _))| {
                let x = i as f64;
                Rectangle::new(
                    [(x - 0.35, 0.0), (x + 0.35, if v.is_finite() { *v } else { 0.0 })],
                    series_colour(i).filled(),
                )
            }))
            .map_err(e2s)?;
        chart
            .draw_series(
                self.bars
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, v, e))| v.is_finite() && e.is_finite() && *e > 0.0)
                    .flat_map(|(i, (_, v, e))| {
                        let x = i as f64;
                        [
                            PathElement::new(vec![(x, v - e), (x, v + e)], BLACK.stroke_width(1)),
                            PathElement::new(vec![(x - 0.08, v - e), (x + 0.08, v - e)], BLACK.stroke_width(1)),
                            PathElement::new(vec![(x - 0.08, v + e), (x + 0.08, v + e)], BLACK.stroke_width(1)),
                        ]
                    }),
            )
            .map_err(e2s)?;
        Ok(())
    }
}

/// A bar figure: one bar per (label, value, error half-width) — pass 0 as
/// the error for none.
pub fn bars(title: &str, y_desc: &str, bars: &[(&str, f64, f64)]) -> Result<Figure> {
    let plot = BarsPlot {
        title: title.into(),
        y_desc: y_desc.into(),
        bars: bars.iter().map(|(l, v, e)| (l.to_string(), *v, *e)).collect(),
    };
    render("bars", &plot, ((140 * bars.len() as u32 + 200).clamp(420, 1000), 400))
}

/// Points, one colour per group, with the diagonal y = x drawn when
/// `diagonal` is set (for paired comparisons).
pub struct ScatterPlot {
    /// Title.
    pub title: String,
    /// x-axis label.
    pub x_desc: String,
    /// y-axis label.
    pub y_desc: String,
    /// (group name, points).
    pub groups: Vec<(String, Vec<(f64, f64)>)>,
    /// Draw y = x.
    pub diagonal: bool,
}

impl Plot for ScatterPlot {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
        let all = || self.groups.iter().flat_map(|g| g.1.iter().copied());
        let (mut x0, mut x1) = finite_range(all().map(|p| p.0), false);
        let (mut y0, mut y1) = finite_range(all().map(|p| p.1), false);
        if self.diagonal {
            (x0, y0) = (x0.min(y0), x0.min(y0));
            (x1, y1) = (x1.max(y1), x1.max(y1));
        }
        let mut chart = xy_chart(area, &self.title, x0..x1, y0..y1)?;
        draw_axes(&mut chart, &self.x_desc, &self.y_desc, true)?;
        if self.diagonal {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x0, x0), (x1, x1)],
                    RGBColor(150, 150, 150).stroke_width(1),
                )))
                .map_err(e2s)?;
        }
        for (i, (name, pts)) in self.groups.iter().enumerate() {
            let c = series_colour(i);
            chart
                .draw_series(
                    pts.iter()
                        .filter(|p| p.0.is_finite() && p.1.is_finite())
                        .map(|p| Circle::new(*p, 2, c.mix(0.6).filled())),
                )
                .map_err(e2s)?
                .label(name.clone())
                .legend(move |(x, y)| Circle::new((x + 6, y), 4, c.filled()));
        }
        if self.groups.is_empty() {
            return Ok(());
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }
}

/// A scatter figure of (x, y) points in named groups; `diagonal` draws y = x.
pub fn scatter(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    groups: &[(&str, Vec<(f64, f64)>)],
    diagonal: bool,
) -> Result<Figure> {
    let plot = ScatterPlot {
        title: title.into(),
        x_desc: x_desc.into(),
        y_desc: y_desc.into(),
        groups: groups.iter().map(|(n, p)| (n.to_string(), p.clone())).collect(),
        diagonal,
    };
    render("scatter", &plot, (620, 520))
}

/// Units × components heat map of one tap: rows are the tap's units sorted
/// by mean integration index (most integrating at the top), columns the
/// lattice components of order ≤ `max_order` (fundamentals, harmonics, IMs),
/// cells the relative amplitude (÷ the unit's strongest component) averaged
/// over images. With hundreds of units it is dense, so it shows as PNG.
pub fn unit_component_heatmap(results: &Results, tap: &str, max_order: u32) -> Result<Figure> {
    let ti = results.tap_index(tap)?;
    let lat = &results.lattice;
    let mut comps: Vec<usize> = (0..lat.components.len()).filter(|&i| lat.components[i].order <= max_order).collect();
    comps.sort_by(|&a, &b| {
        let (ca, cb) = (&lat.components[a], &lat.components[b]);
        (ca.kind, ca.order, ca.bin).cmp(&(cb.kind, cb.order, cb.bin))
    });
    let first = &results.images[0].taps[ti];
    let units = first.spectrum.units;
    let n = results.images.len() as f64;
    let mut rows: Vec<(f64, usize, Vec<f64>)> = (0..units)
        .map(|u| {
            let vals = comps
                .iter()
                .map(|&c| {
                    results.images.iter().map(|img| img.taps[ti].components[u][c].relative as f64).sum::<f64>() / n
                })
                .collect();
            let integ = mean_finite(results.images.iter().map(|img| img.taps[ti].scores[u].integration));
            (if integ.is_finite() { integ } else { -1.0 }, u, vals)
        })
        .collect();
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    let plot = HeatmapPlot {
        rows: rows.iter().map(|r| format!("unit {}", r.1)).collect(),
        cols: comps
            .iter()
            .map(|&c| format!("{} ({} Hz)", lat.components[c].label, lat.components[c].frequency_hz))
            .collect(),
        values: rows.into_iter().map(|r| r.2).collect(),
        title: format!("{}: relative amplitude per unit and component", first.tap.info.name),
    };
    let h = (units as u32 + 260).clamp(480, 1400);
    render("unit_component_heatmap", &plot, (1000, h))
}

/// α(t) of every part over the window.
pub struct AlphaPlot<'a> {
    /// The stimulus.
    pub stimulus: &'a Stimulus,
}

impl Plot for AlphaPlot<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
        let d = self.stimulus.design();
        let secs = d.frames as f64 / d.fs_hz;
        let (lo, hi) = d
            .tags
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), t| (lo.min(t.mean - t.depth), hi.max(t.mean + t.depth)));
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!("modulation α(t) per part ({} frames at {} frames/s)", d.frames, d.fs_hz),
                ("sans-serif", 16),
            )
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..secs, (lo - 0.05)..(hi + 0.05))
            .map_err(e2s)?;
        chart.configure_mesh().x_desc("time (s)").y_desc("α").label_style(("sans-serif", 12)).draw().map_err(e2s)?;
        for (k, (tag, part)) in d.tags.iter().zip(self.stimulus.parts()).enumerate() {
            let c = series_colour(k);
            let pts: Vec<(f64, f64)> =
                (0..d.frames).map(|i| (i as f64 / d.fs_hz, tag.alpha(i as f64 / d.fs_hz))).collect();
            chart
                .draw_series(LineSeries::new(pts, c.stroke_width(2)))
                .map_err(e2s)?
                .label(format!("{} at {} Hz", part.name, tag.frequency_hz))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight)
    }
}

/// α(t) traces of a stimulus.
pub fn alpha_traces(stimulus: &Stimulus) -> Result<Figure> {
    render("alpha_traces", &AlphaPlot { stimulus }, (900, 300))
}

/// The parts (tinted) and `n` frames spread over one period, side by side,
/// as a PNG (and an SVG that embeds it).
pub fn stimulus_strip(stimulus: &Stimulus, n: usize) -> Result<Figure> {
    let base = stimulus.image();
    let (w, h) = (base.width as u32, base.height as u32);
    let n = n.max(1);
    let gap = 6u32;
    let mut canvas = image::RgbImage::from_pixel((w + gap) * (n as u32 + 1) - gap, h, image::Rgb([255, 255, 255]));
    // tinted parts
    let mut tinted = base.to_rgb8();
    let palette = [[31u8, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189], [140, 86, 75]];
    for (k, part) in stimulus.parts().iter().enumerate() {
        let c = palette[k % palette.len()];
        for &p in &part.pixels {
            let px = tinted.get_pixel_mut((p % base.width) as u32, (p / base.width) as u32);
            for ch in 0..3 {
                px.0[ch] = ((px.0[ch] as u16 + c[ch] as u16) / 2) as u8;
            }
        }
    }
    image::imageops::overlay(&mut canvas, &tinted, 0, 0);
    let period = stimulus.design().period_frames();
    for j in 0..n {
        let i = j * period / n;
        let frame = stimulus.frame(i).to_rgb8();
        image::imageops::overlay(&mut canvas, &frame, ((w + gap) * (j as u32 + 1)) as i64, 0);
    }
    let png = encode_png(&canvas)?;
    let fig = Figure { name: "stimulus".into(), svg: String::new(), png, size: (canvas.width(), canvas.height()) };
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\"><image href=\"{}\" width=\"{}\" height=\"{}\"/></svg>",
        fig.size.0,
        fig.size.1,
        fig.png_data_uri(),
        fig.size.0,
        fig.size.1
    );
    Ok(Figure { svg, ..fig })
}

// ---------------------------------------------------------------------------
// Deletion curves (ablation and pruning, see crate::ablation)

/// One curve of a deletion-curve panel: (share of units removed, metric).
#[derive(Clone, Debug)]
pub struct CurveLine {
    /// Legend text.
    pub label: String,
    /// Points, by increasing x.
    pub points: Vec<(f64, f64)>,
    /// Colour.
    pub colour: RGBColor,
}

/// A shaded band (lo … hi) with its centre line, e.g. random removal over seeds.
#[derive(Clone, Debug)]
pub struct CurveBand {
    /// Legend text.
    pub label: String,
    /// x values.
    pub x: Vec<f64>,
    /// Lower edge.
    pub lo: Vec<f64>,
    /// Centre line.
    pub mean: Vec<f64>,
    /// Upper edge.
    pub hi: Vec<f64>,
}

/// Deletion curves: panels side by side (e.g. top-k and bottom-k removal),
/// every ranking on each, the band behind them.
pub struct DeletionPlot {
    /// Title over all panels.
    pub title: String,
    /// y axis label.
    pub y_desc: String,
    /// (panel title, lines).
    pub panels: Vec<(String, Vec<CurveLine>)>,
    /// Drawn in grey on every panel.
    pub band: Option<CurveBand>,
    /// y axis range.
    pub y_range: (f64, f64),
}

impl Plot for DeletionPlot {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
        let area = area.titled(&self.title, ("sans-serif", 18)).map_err(e2s)?;
        let (plots_area, legend) = area.split_horizontally(area.dim_in_pixel().0 as i32 - 170);
        let x_max = self
            .panels
            .iter()
            .flat_map(|p| p.1.iter().flat_map(|l| l.points.iter().map(|q| q.0)))
            .fold(0f64, f64::max)
            .max(1e-6);
        let (y0, y1) = (self.y_range.0, self.y_range.1.max(self.y_range.0 + 1e-9));
        let grey = RGBColor(120, 120, 120);
        for (panel, (title, lines)) in plots_area.split_evenly((1, self.panels.len().max(1))).iter().zip(&self.panels) {
            let mut chart = ChartBuilder::on(panel)
                .caption(title, ("sans-serif", 14))
                .margin(10)
                .x_label_area_size(38)
                .y_label_area_size(58)
                .build_cartesian_2d(0f64..x_max, y0..y1)
                .map_err(e2s)?;
            chart
                .configure_mesh()
                .light_line_style(RGBColor(238, 238, 238))
                .x_desc("share of units removed")
                .y_desc(&self.y_desc)
                .label_style(("sans-serif", 11))
                .axis_desc_style(("sans-serif", 12))
                .draw()
                .map_err(e2s)?;
            if let Some(b) = &self.band {
                let mut outline: Vec<(f64, f64)> = b.x.iter().copied().zip(b.hi.iter().copied()).collect();
                outline.extend(b.x.iter().copied().zip(b.lo.iter().copied()).rev());
                chart.draw_series(std::iter::once(Polygon::new(outline, grey.mix(0.2).filled()))).map_err(e2s)?;
                chart
                    .draw_series(LineSeries::new(b.x.iter().copied().zip(b.mean.iter().copied()), grey.stroke_width(2)))
                    .map_err(e2s)?;
            }
            for l in lines {
                let c = l.colour;
                chart.draw_series(LineSeries::new(l.points.iter().copied(), c.stroke_width(2))).map_err(e2s)?;
                chart.draw_series(l.points.iter().map(|&p| Circle::new(p, 3, c.filled()))).map_err(e2s)?;
            }
        }
        // one legend for all panels, beside them
        let mut entries: Vec<(String, RGBColor)> = Vec::new();
        for l in self.panels.iter().flat_map(|p| p.1.iter()) {
            if !entries.iter().any(|e| e.0 == l.label) {
                entries.push((l.label.clone(), l.colour));
            }
        }
        let font = ("sans-serif", 12).into_font();
        let mut y = 50;
        if let Some(b) = &self.band {
            legend.draw(&Rectangle::new([(8, y - 5), (30, y + 5)], grey.mix(0.35).filled())).map_err(e2s)?;
            legend.draw(&Text::new(b.label.clone(), (36, y - 7), font.clone())).map_err(e2s)?;
            y += 22;
        }
        for (label, c) in entries {
            legend.draw(&PathElement::new(vec![(8, y), (30, y)], c.stroke_width(3))).map_err(e2s)?;
            legend.draw(&Text::new(label, (36, y - 7), font.clone())).map_err(e2s)?;
            y += 22;
        }
        Ok(())
    }
}

/// Render a [`DeletionPlot`] (1200 × 460).
pub fn deletion_curves(name: &str, plot: &DeletionPlot) -> Result<Figure> {
    render(name, plot, (1200, 460))
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
    fn colour_map_runs_from_dark_to_light() {
        let lum = |c: RGBColor| c.0 as u32 + c.1 as u32 + c.2 as u32;
        assert!(lum(colour_map(0.0)) < lum(colour_map(0.5)) && lum(colour_map(0.5)) < lum(colour_map(1.0)));
        assert_eq!(colour_map(f64::NAN), colour_map(0.0));
    }
}

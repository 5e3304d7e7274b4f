//! Statistics across images: the SNR spectrum (the field's standard
//! figure: mean over units and images with its interval, baseline at 1,
//! tags, harmonics and IMs marked), a per-tap profile of means with their
//! intervals, and a forest plot of test effects with their intervals.
//! Legends sit in a column right of the data.

use polars::prelude::DataFrame;

use super::*;
use crate::stats::columns::{floats, keys};
use crate::stats::SnrSpectrum;

/// An axis value as short text: integers without a decimal point, others
/// with at most four decimals and no trailing zeros.
fn tick(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 * v.abs().max(1.0) {
        format!("{:.0}", v.round())
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Axes with descriptions and [`tick`] labels, without the vertical grid.
fn tidy_axes<DB: DrawingBackend>(
    chart: &mut ChartContext<
        '_,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    x_desc: &str,
    y_desc: &str,
) -> std::result::Result<(), String> {
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 13))
        .draw()
        .map_err(e2s)
}

/// What a legend entry draws.
#[derive(Clone, Copy)]
enum Mark {
    Line(RGBColor),
    Dashed(RGBColor),
    Band(RGBColor),
    Dot(RGBColor),
    Ring(RGBColor),
}

/// Split `area` into the chart (left) and a legend column `legend_px` wide.
fn with_legend_column<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    legend_px: u32,
) -> (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>) {
    let w = area.dim_in_pixel().0;
    area.split_horizontally(w.saturating_sub(legend_px).max(1))
}

/// A legend in its own area (outside the data), entries top-down.
fn side_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, Mark)],
) -> std::result::Result<(), String> {
    let font = ("sans-serif", 12).into_font().color(&BLACK);
    for (i, (label, mark)) in entries.iter().enumerate() {
        let y = 48 + 20 * i as i32;
        let x = 8;
        match *mark {
            Mark::Line(c) => area.draw(&PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))),
            Mark::Dashed(c) => area
                .draw(&PathElement::new(vec![(x, y), (x + 6, y)], c.stroke_width(2)))
                .and_then(|_| area.draw(&PathElement::new(vec![(x + 12, y), (x + 18, y)], c.stroke_width(2)))),
            Mark::Band(c) => area.draw(&Rectangle::new([(x, y - 5), (x + 20, y + 5)], c.mix(0.3).filled())),
            Mark::Dot(c) => area.draw(&Circle::new((x + 10, y), 4, c.filled())),
            Mark::Ring(c) => area.draw(&Circle::new((x + 10, y), 4, c.stroke_width(1))),
        }
        .map_err(e2s)?;
        area.draw(&Text::new(label.clone(), (x + 28, y - 7), font.clone())).map_err(e2s)?;
    }
    Ok(())
}

/// A band between `low` and `high` over `x` (runs of finite values).
fn band<DB: DrawingBackend>(
    chart: &mut ChartContext<
        '_,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    x: &[f64],
    low: &[f64],
    high: &[f64],
    colour: RGBColor,
) -> std::result::Result<(), String> {
    let mut run: Vec<usize> = vec![];
    let mut runs: Vec<Vec<usize>> = vec![];
    for i in 0..x.len() {
        if low[i].is_finite() && high[i].is_finite() && x[i].is_finite() {
            run.push(i);
        } else if !run.is_empty() {
            runs.push(std::mem::take(&mut run));
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    for r in runs {
        let mut pts: Vec<(f64, f64)> = r.iter().map(|&i| (x[i], high[i])).collect();
        pts.extend(r.iter().rev().map(|&i| (x[i], low[i])));
        chart.draw_series(std::iter::once(Polygon::new(pts, colour.mix(0.25).filled()))).map_err(e2s)?;
    }
    Ok(())
}

/// The SNR spectrum of [`SnrSpectrum`] (see [`snr_spectrum`]).
pub struct SnrSpectrumPlot<'a> {
    /// The data.
    pub spectrum: &'a SnrSpectrum,
    /// Title.
    pub title: String,
    /// How many lattice components get a text label (strongest first, no overlaps).
    pub labels: usize,
}

impl Plot for SnrSpectrumPlot<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
        let s = self.spectrum;
        let (chart_area, legend_area) = with_legend_column(area, 190);
        let fmax = s.frequencies.last().copied().unwrap_or(1.0).max(1e-9);
        let top = s.high.iter().chain(&s.mean).copied().filter(|v| v.is_finite()).fold(1.0f64, f64::max) * 1.12;
        let mut chart = xy_chart(&chart_area, &self.title, 0f64..fmax, 0f64..top)?;
        let y_desc = if s.preset == crate::SnrPreset::Mne { "SNR (power ratio)" } else { "SNR (amplitude ratio)" };
        tidy_axes(&mut chart, "frequency (Hz)", y_desc)?;
        band(&mut chart, &s.frequencies, &s.low, &s.high, RGBColor(90, 90, 90))?;
        let pts: Vec<(f64, f64)> =
            s.frequencies.iter().zip(&s.mean).filter(|(_, v)| v.is_finite()).map(|(f, v)| (*f, *v)).collect();
        chart.draw_series(LineSeries::new(pts, RGBColor(60, 60, 60).stroke_width(1))).map_err(e2s)?;
        // baseline at 1, dashed
        let dashes = (0..200).map(|i| {
            let x0 = fmax * i as f64 / 200.0;
            PathElement::new(vec![(x0, 1.0), (x0 + fmax / 400.0, 1.0)], BLACK.stroke_width(1))
        });
        chart.draw_series(dashes).map_err(e2s)?;
        let snr_at = |bin: usize| s.mean.get(bin).copied().unwrap_or(f64::NAN);
        for kind in [Kind::Fundamental, Kind::Harmonic, Kind::Intermodulation] {
            let c = kind_colour(kind);
            chart
                .draw_series(
                    s.lattice
                        .of_kind(kind)
                        .filter(|comp| snr_at(comp.bin).is_finite())
                        .map(|comp| Circle::new((comp.frequency_hz, snr_at(comp.bin)), 4, c.filled())),
                )
                .map_err(e2s)?;
        }
        // labels: strongest first, right of the marker, none overlapping another
        let mut order: Vec<_> = s.lattice.components.iter().filter(|c| snr_at(c.bin) > 1.5).collect();
        order.sort_by(|a, b| snr_at(b.bin).total_cmp(&snr_at(a.bin)));
        let (w, h) = chart.plotting_area().dim_in_pixel();
        let px = |f: f64, v: f64| (f / fmax * w as f64, (1.0 - v / top) * h as f64);
        let mut placed: Vec<(f64, f64, f64)> = vec![];
        let mut texts = vec![];
        for c in order {
            if texts.len() >= self.labels {
                break;
            }
            let (x, y) = px(c.frequency_hz, snr_at(c.bin));
            let width = 7.0 * c.label.chars().count() as f64;
            let (lx, ly) = (x + 6.0, y - 14.0);
            if lx + width > w as f64
                || placed.iter().any(|(px0, py0, pw)| lx < px0 + pw && px0 < &(lx + width) && (ly - py0).abs() < 13.0)
            {
                continue;
            }
            placed.push((lx, ly, width));
            texts.push(Text::new(
                c.label.clone(),
                (c.frequency_hz + 6.0 / w as f64 * fmax, snr_at(c.bin) + 14.0 / h as f64 * top),
                ("sans-serif", 12).into_font().color(&kind_colour(c.kind)),
            ));
        }
        chart.draw_series(texts).map_err(e2s)?;
        let pct = (100.0 * s.level).round();
        side_legend(
            &legend_area,
            &[
                (format!("mean over {} images", s.images), Mark::Line(RGBColor(60, 60, 60))),
                (format!("{pct:.0}% interval (images)"), Mark::Band(RGBColor(90, 90, 90))),
                ("noise level (SNR 1)".into(), Mark::Dashed(BLACK)),
                ("fundamental".into(), Mark::Dot(kind_colour(Kind::Fundamental))),
                ("harmonic".into(), Mark::Dot(kind_colour(Kind::Harmonic))),
                ("intermodulation".into(), Mark::Dot(kind_colour(Kind::Intermodulation))),
            ],
        )
    }
}

/// The SNR spectrum figure: the neighbour-bin SNR averaged over units and
/// images, its interval across images as a band, the noise level (SNR 1)
/// dashed, tags, harmonics and IMs marked by kind and the strongest labelled.
pub fn snr_spectrum(spectrum: &SnrSpectrum, title: &str) -> Result<Figure> {
    if spectrum.frequencies.len() != spectrum.mean.len() {
        return Err(Error::Data(format!(
            "SNR spectrum with {} frequencies and {} values",
            spectrum.frequencies.len(),
            spectrum.mean.len()
        )));
    }
    render("snr_spectrum", &SnrSpectrumPlot { spectrum, title: title.into(), labels: 12 }, (1000, 440))
}

/// One series of an [`IntervalsPlot`]: (name, mean, low, high) over x = 0, 1, …
pub type IntervalSeries = (String, Vec<f64>, Vec<f64>, Vec<f64>);

/// Means with intervals over the groups of a table, in row order (one
/// series per table), e.g. a measure per tap ([`crate::stats::AcrossImages::intervals`]).
pub struct IntervalsPlot {
    /// Title.
    pub title: String,
    /// x-axis label.
    pub x_desc: String,
    /// y-axis label.
    pub y_desc: String,
    /// (name, mean, low, high) over x = 0, 1, …
    pub series: Vec<IntervalSeries>,
    /// A reference line (e.g. 0 for effects), if any.
    pub reference: Option<f64>,
    /// Points to ring (x, y), e.g. BH discoveries; listed in the legend when any.
    pub rings: Vec<(f64, f64)>,
}

impl Plot for IntervalsPlot {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
        let (chart_area, legend_area) = with_legend_column(area, 210);
        let n = self.series.iter().map(|s| s.1.len()).max().unwrap_or(0).max(1);
        let all = self.series.iter().flat_map(|s| s.1.iter().chain(&s.2).chain(&s.3).copied()).chain(self.reference);
        let (y0, y1) = finite_range(all, false);
        let mut chart = xy_chart(&chart_area, &self.title, -0.5f64..(n as f64 - 0.5), y0..y1)?;
        chart
            .configure_mesh()
            .x_desc(self.x_desc.as_str())
            .y_desc(self.y_desc.as_str())
            .x_labels(n.min(12) + 1)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    format!("{i:.0}")
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&tick)
            .label_style(("sans-serif", 12))
            .axis_desc_style(("sans-serif", 13))
            .draw()
            .map_err(e2s)?;
        if let Some(r) = self.reference {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(-0.5, r), (n as f64 - 0.5, r)],
                    BLACK.stroke_width(1),
                )))
                .map_err(e2s)?;
        }
        let mut legend = vec![];
        for (i, (name, mean, low, high)) in self.series.iter().enumerate() {
            let c = series_colour(i);
            let x: Vec<f64> = (0..mean.len()).map(|k| k as f64).collect();
            band(&mut chart, &x, low, high, c)?;
            let pts: Vec<(f64, f64)> =
                x.iter().zip(mean).filter(|(_, v)| v.is_finite()).map(|(x, v)| (*x, *v)).collect();
            chart.draw_series(LineSeries::new(pts.clone(), c.stroke_width(2))).map_err(e2s)?;
            chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 2, c.filled()))).map_err(e2s)?;
            legend.push((name.clone(), Mark::Line(c)));
        }
        legend.push(("95% interval (images)".into(), Mark::Band(RGBColor(120, 120, 120))));
        if !self.rings.is_empty() {
            let red = kind_colour(Kind::Intermodulation);
            chart.draw_series(self.rings.iter().map(|p| Circle::new(*p, 6, red.stroke_width(2)))).map_err(e2s)?;
            legend.push(("discovery (BH)".into(), Mark::Ring(red)));
        }
        side_legend(&legend_area, &legend)
    }
}

/// Means and their intervals of several tables with the same groups in the
/// same order (columns `mean`, `ci_low`, `ci_high`, as from
/// [`crate::stats::intervals`]), one line and band per (name, table), over
/// the row index (e.g. taps in graph order).
pub fn intervals_profile(title: &str, x_desc: &str, y_desc: &str, tables: &[(&str, &DataFrame)]) -> Result<Figure> {
    let series = tables
        .iter()
        .map(|(name, df)| Ok((name.to_string(), floats(df, "mean")?, floats(df, "ci_low")?, floats(df, "ci_high")?)))
        .collect::<Result<Vec<_>>>()?;
    let plot = IntervalsPlot {
        title: title.into(),
        x_desc: x_desc.into(),
        y_desc: y_desc.into(),
        series,
        reference: None,
        rings: vec![],
    };
    render("intervals", &plot, (1000, 420))
}

/// A tests table's effects with their intervals over the row index (columns
/// `effect`, `ci_low`, `ci_high`, `discovery`, as from
/// [`crate::stats::paired_tests`] and the other tests), the null (0) drawn,
/// BH discoveries ringed. For many rows (taps).
pub fn effects_profile(title: &str, x_desc: &str, y_desc: &str, tests: &DataFrame) -> Result<Figure> {
    let (effect, low, high) = (floats(tests, "effect")?, floats(tests, "ci_low")?, floats(tests, "ci_high")?);
    let discovery = keys(tests, "discovery")?;
    let rings =
        discovery.iter().enumerate().filter(|(_, d)| *d == "true").map(|(i, _)| (i as f64, effect[i])).collect();
    let plot = IntervalsPlot {
        title: title.into(),
        x_desc: x_desc.into(),
        y_desc: y_desc.into(),
        series: vec![("effect (mean over images)".into(), effect, low, high)],
        reference: Some(0.0),
        rings,
    };
    render("effects", &plot, (1000, 420))
}

/// A forest plot: one row per test (label, effect, interval), the null
/// value drawn, BH discoveries filled and the others hollow. For tens of
/// rows (the components of one tap or of the network); with more rows only
/// every k-th label is written.
pub struct ForestPlot {
    /// Title.
    pub title: String,
    /// x-axis label (the effect and its units).
    pub x_desc: String,
    /// (label, effect, low, high, discovery, colour).
    pub rows: Vec<(String, f64, f64, f64, bool, RGBColor)>,
    /// The null value.
    pub null: f64,
}

impl Plot for ForestPlot {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
        let (chart_area, legend_area) = with_legend_column(area, 190);
        let n = self.rows.len().max(1);
        let all = self.rows.iter().flat_map(|r| [r.1, r.2, r.3]).chain(std::iter::once(self.null));
        let (x0, x1) = finite_range(all, false);
        let labels: Vec<String> = self.rows.iter().map(|r| r.0.clone()).collect();
        let step = n.div_ceil(40).max(1);
        let mut chart = ChartBuilder::on(&chart_area)
            .caption(self.title.as_str(), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(90)
            .build_cartesian_2d(x0..x1, -0.5f64..(n as f64 - 0.5))
            .map_err(e2s)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(self.x_desc.as_str())
            .x_label_formatter(&tick)
            .y_labels(n + 1)
            .y_label_formatter(&|y| {
                let i = y.round();
                if (y - i).abs() < 1e-6 && i >= 0.0 && (i as usize).is_multiple_of(step) {
                    // row 0 at the top
                    labels.get(n - 1 - i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .label_style(("sans-serif", 12))
            .axis_desc_style(("sans-serif", 13))
            .draw()
            .map_err(e2s)?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(self.null, -0.5), (self.null, n as f64 - 0.5)],
                BLACK.stroke_width(1),
            )))
            .map_err(e2s)?;
        for (i, (_, e, lo, hi, disc, c)) in self.rows.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            if lo.is_finite() && hi.is_finite() {
                chart
                    .draw_series(std::iter::once(PathElement::new(vec![(*lo, y), (*hi, y)], c.stroke_width(2))))
                    .map_err(e2s)?;
            }
            if e.is_finite() {
                let style = if *disc { c.filled() } else { WHITE.filled() };
                chart.draw_series(std::iter::once(Circle::new((*e, y), 4, style))).map_err(e2s)?;
                chart.draw_series(std::iter::once(Circle::new((*e, y), 4, c.stroke_width(1)))).map_err(e2s)?;
            }
        }
        side_legend(
            &legend_area,
            &[
                ("discovery (BH)".into(), Mark::Dot(BLACK)),
                ("not a discovery".into(), Mark::Ring(BLACK)),
                ("95% interval (images)".into(), Mark::Line(BLACK)),
                ("fundamental".into(), Mark::Line(kind_colour(Kind::Fundamental))),
                ("harmonic".into(), Mark::Line(kind_colour(Kind::Harmonic))),
                ("intermodulation".into(), Mark::Line(kind_colour(Kind::Intermodulation))),
            ],
        )
    }
}

/// A forest plot of a tests table (columns `label_column`, `effect`,
/// `ci_low`, `ci_high`, `discovery`; coloured by `kind` when the table has
/// it), the null value `null` drawn: e.g. the network's
/// [`crate::stats::AcrossImages::noise_floor_tests`] by component.
pub fn forest(title: &str, x_desc: &str, tests: &DataFrame, label_column: &str, null: f64) -> Result<Figure> {
    let labels = keys(tests, label_column)?;
    let (effect, low, high) = (floats(tests, "effect")?, floats(tests, "ci_low")?, floats(tests, "ci_high")?);
    let discovery = keys(tests, "discovery")?;
    let kinds = keys(tests, "kind").unwrap_or_else(|_| vec![String::new(); labels.len()]);
    let colour = |k: &str| match k {
        "fundamental" => kind_colour(Kind::Fundamental),
        "harmonic" => kind_colour(Kind::Harmonic),
        "intermodulation" => kind_colour(Kind::Intermodulation),
        _ => RGBColor(60, 60, 60),
    };
    let rows = (0..labels.len())
        .map(|i| (labels[i].clone(), effect[i], low[i], high[i], discovery[i] == "true", colour(&kinds[i])))
        .collect::<Vec<_>>();
    let height = (18 * rows.len().min(40) as u32 + 120).max(300);
    render("forest", &ForestPlot { title: title.into(), x_desc: x_desc.into(), rows, null }, (820, height))
}

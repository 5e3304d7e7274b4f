//! Deletion curves of the ablation study (see [`crate::ablation`]).

use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;

use super::*;

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
    /// Per point, the (lo, hi) of its error bar (e.g. a bootstrap
    /// interval); empty, or a non-finite bound: no bar.
    pub bars: Vec<(f64, f64)>,
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
    /// Per x, the (lo, hi) error bar of the centre line; empty: none.
    pub bars: Vec<(f64, f64)>,
}

/// Deletion curves: panels side by side (e.g. top-k and bottom-k removal),
/// every ranking on each, the band behind them, each point with its error
/// bar (thin, in the line's colour; the series are set a few pixels apart
/// so that bars at one sparsity do not cover each other), the legend in a
/// column of its own beside the panels.
pub struct DeletionPlot {
    /// Title over all panels.
    pub title: String,
    /// y axis label.
    pub y_desc: String,
    /// (panel title, lines).
    pub panels: Vec<(String, Vec<CurveLine>)>,
    /// Drawn in grey on every panel.
    pub band: Option<CurveBand>,
    /// A horizontal reference line (legend text, y) on every panel, e.g. the
    /// floor of the metric.
    pub floor: Option<(String, f64)>,
    /// Legend text of the error bars (may hold line breaks); None: no
    /// legend entry.
    pub bars_label: Option<String>,
    /// A logarithmic x axis (for log-spaced sparsities): the points at x = 0
    /// (the unablated network) are drawn at the left edge.
    pub log_x: bool,
    /// y axis range.
    pub y_range: (f64, f64),
}

/// Width of the legend column, pixels.
const LEGEND_PX: i32 = 190;
/// Horizontal distance between the series of a panel, pixels.
const DODGE_PX: f64 = 2.5;

impl DeletionPlot {
    /// Every x of every line and of the band.
    fn xs(&self) -> impl Iterator<Item = f64> + '_ {
        self.panels
            .iter()
            .flat_map(|p| p.1.iter().flat_map(|l| l.points.iter().map(|q| q.0)))
            .chain(self.band.iter().flat_map(|b| b.x.iter().copied()))
    }

    /// The x range: (start, end, where x = 0 is drawn, the smallest x > 0).
    fn x_range(&self) -> (f64, f64, f64, f64) {
        let x_max = self.xs().fold(0f64, f64::max).max(1e-6);
        let x_min = self.xs().filter(|&x| x > 0.0).fold(x_max, f64::min);
        if self.log_x {
            // x = 0 sits a factor 2 left of the smallest sparsity, with a tick "0" of its own
            let zero = x_min / 2.0;
            (zero / 1.25, x_max * 1.25, zero, x_min)
        } else {
            (-0.03 * x_max, x_max * 1.03, 0.0, x_min)
        }
    }
}

/// Tick positions for a log axis over `lo..hi`: the multiples `m` of the
/// powers of ten inside it (exact decimals: `2e-4` is 0.0002).
fn log_ticks(lo: f64, hi: f64, m: &[u32]) -> Vec<f64> {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return vec![];
    }
    let mut out = Vec::new();
    for k in (lo.log10().floor() as i32)..=(hi.log10().ceil() as i32) {
        for &m in m {
            let v: f64 = format!("{m}e{k}").parse().unwrap_or(f64::NAN);
            if v >= lo && v <= hi {
                out.push(v);
            }
        }
    }
    out
}

/// A share of units as a percentage tick label: `0.05 %`, `2 %`, `50 %`.
fn percent_tick(v: &f64) -> String {
    let p = v * 100.0;
    if p.abs() < 1e-12 {
        return "0".into();
    }
    if p < 0.0 {
        return String::new();
    }
    let digits = (2 - p.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{p:.digits$}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
    format!("{s} %")
}

impl Plot for DeletionPlot {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
        let area = area.titled(&self.title, ("sans-serif", 18)).map_err(e2s)?;
        let (plots_area, legend) = area.split_horizontally(area.dim_in_pixel().0 as i32 - LEGEND_PX);
        let (x0, x1, zero, x_min) = self.x_range();
        let (y0, y1) = (self.y_range.0, self.y_range.1.max(self.y_range.0 + 1e-9));
        let x_desc = if self.log_x {
            "units removed (% of the scope's units, log scale; 0: none removed)"
        } else {
            "units removed (% of the scope's units)"
        };
        for (panel, (title, lines)) in plots_area.split_evenly((1, self.panels.len().max(1))).iter().zip(&self.panels) {
            if self.log_x {
                // ticks: "0" where the unablated points are, then 1, 2, 5 × 10^k from the smallest sparsity on
                let from = x_min * (1.0 - 1e-9);
                let mut ticks = vec![zero];
                ticks.extend(log_ticks(from, x1, &[1, 2, 5]));
                let x = (x0..x1).log_scale().with_key_points(ticks).with_light_points(log_ticks(
                    from,
                    x1,
                    &[1, 2, 3, 4, 5, 6, 7, 8, 9],
                ));
                let label = |v: &f64| if *v <= zero * (1.0 + 1e-9) { "0".to_string() } else { percent_tick(v) };
                let mut chart = panel_builder(panel, title).build_cartesian_2d(x, y0..y1).map_err(e2s)?;
                let axis = Axis { desc: x_desc, label: &label, zero, span: (x1 / x0).log10() };
                self.draw_panel(&mut chart, lines, &axis, |x, d| x * 10f64.powf(d))?;
            } else {
                let mut chart = panel_builder(panel, title).build_cartesian_2d(x0..x1, y0..y1).map_err(e2s)?;
                let axis = Axis { desc: x_desc, label: &percent_tick, zero, span: x1 - x0 };
                self.draw_panel(&mut chart, lines, &axis, |x, d| x + d)?;
            }
        }
        self.draw_legend(&legend)
    }
}

/// A series of a panel: (points, their error bars, colour).
type Series<'a> = (&'a [(f64, f64)], &'a [(f64, f64)], RGBColor);

/// The x axis of a panel.
struct Axis<'a> {
    /// Its label.
    desc: &'a str,
    /// Tick labels.
    label: &'a dyn Fn(&f64) -> String,
    /// Where x = 0 is drawn.
    zero: f64,
    /// Its length in its own units (decades on a log axis).
    span: f64,
}

/// A panel's chart builder: its title, margin and label areas.
fn panel_builder<'a, 'b, DB: DrawingBackend>(
    panel: &'a DrawingArea<DB, Shift>,
    title: &str,
) -> ChartBuilder<'a, 'b, DB> {
    let mut b = ChartBuilder::on(panel);
    b.caption(title, ("sans-serif", 14)).margin(10).x_label_area_size(38).y_label_area_size(58);
    b
}

impl DeletionPlot {
    /// One panel: mesh, band, floor, lines with markers and error bars.
    /// `shift(x, d)` moves x by d units of the axis' own scale (decades on a
    /// log axis).
    fn draw_panel<DB: DrawingBackend, X: Ranged<ValueType = f64> + ValueFormatter<f64>>(
        &self,
        chart: &mut ChartContext<'_, DB, Cartesian2d<X, RangedCoordf64>>,
        lines: &[CurveLine],
        axis: &Axis<'_>,
        shift: impl Fn(f64, f64) -> f64,
    ) -> std::result::Result<(), String> {
        let (zero, span) = (axis.zero, axis.span);
        chart
            .configure_mesh()
            .light_line_style(RGBColor(238, 238, 238))
            .x_desc(axis.desc)
            .y_desc(&self.y_desc)
            .x_label_formatter(axis.label)
            .label_style(("sans-serif", 11))
            .axis_desc_style(("sans-serif", 12))
            .draw()
            .map_err(e2s)?;
        let width = chart.plotting_area().dim_in_pixel().0.max(1) as f64;
        // x on the axis, x = 0 at `zero`, moved by `px` pixels
        let at = |x: f64, px: f64| shift(if x <= 0.0 { zero } else { x }, px * span / width);
        let grey = RGBColor(120, 120, 120);
        let (x_lo, x_hi) = {
            let r = chart.x_range();
            (r.start, r.end)
        };
        if let Some(b) = &self.band {
            let mut outline: Vec<(f64, f64)> = b.x.iter().map(|&x| at(x, 0.0)).zip(b.hi.iter().copied()).collect();
            outline.extend(b.x.iter().map(|&x| at(x, 0.0)).zip(b.lo.iter().copied()).rev());
            chart.draw_series(std::iter::once(Polygon::new(outline, grey.mix(0.2).filled()))).map_err(e2s)?;
        }
        if let Some((_, y)) = self.floor {
            chart.draw_series(LineSeries::new([(x_lo, y), (x_hi, y)], BLACK.stroke_width(2))).map_err(e2s)?;
        }
        // the series, each a few pixels from the next: the band's centre line first, then the lines
        let mut series: Vec<Series<'_>> = Vec::new();
        let centre: Vec<(f64, f64)> =
            self.band.iter().flat_map(|b| b.x.iter().copied().zip(b.mean.iter().copied())).collect();
        if let Some(b) = &self.band {
            series.push((&centre, &b.bars, grey));
        }
        series.extend(lines.iter().map(|l| (l.points.as_slice(), l.bars.as_slice(), l.colour)));
        let n = series.len();
        for (i, (points, bars, c)) in series.into_iter().enumerate() {
            let dx = (i as f64 - (n as f64 - 1.0) / 2.0) * DODGE_PX;
            let pts: Vec<(f64, f64)> = points.iter().map(|&(x, y)| (at(x, dx), y)).collect();
            chart.draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2))).map_err(e2s)?;
            let bar_style = c.mix(0.75).stroke_width(1);
            for (&(x, _), &(lo, hi)) in points.iter().zip(bars) {
                if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
                    continue;
                }
                let (xm, xl, xr) = (at(x, dx), at(x, dx - 2.0), at(x, dx + 2.0));
                for path in [vec![(xm, lo), (xm, hi)], vec![(xl, lo), (xr, lo)], vec![(xl, hi), (xr, hi)]] {
                    chart.draw_series(std::iter::once(PathElement::new(path, bar_style))).map_err(e2s)?;
                }
            }
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled()))).map_err(e2s)?;
        }
        Ok(())
    }

    /// One legend for all panels, in its own column: the band, the lines,
    /// the floor, the error bars.
    fn draw_legend<DB: DrawingBackend>(&self, legend: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
        let grey = RGBColor(120, 120, 120);
        let font = ("sans-serif", 12).into_font();
        let mut y = 50;
        let text = |label: &str, y: &mut i32| -> std::result::Result<(), String> {
            for (k, row) in label.lines().enumerate() {
                legend.draw(&Text::new(row.to_string(), (36, *y - 7 + 15 * k as i32), font.clone())).map_err(e2s)?;
            }
            *y += 8 + 15 * label.lines().count().max(1) as i32;
            Ok(())
        };
        if let Some(b) = &self.band {
            legend.draw(&Rectangle::new([(8, y - 5), (30, y + 5)], grey.mix(0.35).filled())).map_err(e2s)?;
            legend.draw(&PathElement::new(vec![(8, y), (30, y)], grey.stroke_width(2))).map_err(e2s)?;
            text(&b.label, &mut y)?;
        }
        let mut entries: Vec<(String, RGBColor)> = Vec::new();
        for l in self.panels.iter().flat_map(|p| p.1.iter()) {
            if !entries.iter().any(|e| e.0 == l.label) {
                entries.push((l.label.clone(), l.colour));
            }
        }
        for (label, c) in entries {
            legend.draw(&PathElement::new(vec![(8, y), (30, y)], c.stroke_width(3))).map_err(e2s)?;
            legend.draw(&Circle::new((19, y), 3, c.filled())).map_err(e2s)?;
            text(&label, &mut y)?;
        }
        if let Some((label, _)) = &self.floor {
            legend.draw(&PathElement::new(vec![(8, y), (30, y)], BLACK.stroke_width(2))).map_err(e2s)?;
            text(label, &mut y)?;
        }
        if let Some(label) = &self.bars_label {
            let s = BLACK.stroke_width(1);
            for path in [vec![(19, y - 7), (19, y + 7)], vec![(16, y - 7), (22, y - 7)], vec![(16, y + 7), (22, y + 7)]]
            {
                legend.draw(&PathElement::new(path, s)).map_err(e2s)?;
            }
            text(label, &mut y)?;
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

    #[test]
    fn log_ticks_and_percent_labels() {
        assert_eq!(log_ticks(0.0001, 0.006, &[1, 2, 5]), vec![0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005]);
        assert_eq!(log_ticks(0.03, 0.4, &[1, 2, 5]), vec![0.05, 0.1, 0.2]);
        assert!(log_ticks(0.0, 0.4, &[1]).is_empty());
        assert_eq!(percent_tick(&0.0005), "0.05 %");
        assert_eq!(percent_tick(&0.02), "2 %");
        assert_eq!(percent_tick(&0.5), "50 %");
        assert_eq!(percent_tick(&0.00025), "0.025 %");
        assert_eq!(percent_tick(&0.0), "0");
    }
}

//! Line, bar and scatter charts, and the layer profile drawn with lines.

use super::*;

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
        let legend: Vec<(String, Mark)> = self.series.iter().map(|(n, _, c)| (n.clone(), Mark::Line(*c))).collect();
        let rest = titled_with_legend(area, &self.title, &legend)?;
        let mut chart = xy_chart_plain(&rest, x0..x1, y0..y1)?;
        if all_integers(&self.x) {
            // whole-number x (tap indices): integer ticks, about ten of them
            let whole = (x0.ceil() as i64..=x1.floor() as i64).count().clamp(1, 12);
            chart
                .configure_mesh()
                .x_labels(whole)
                .x_label_formatter(&integer_tick)
                .x_desc(self.x_desc.as_str())
                .y_desc(self.y_desc.as_str())
                .label_style(("sans-serif", 12))
                .axis_desc_style(("sans-serif", 13))
                .draw()
                .map_err(e2s)?;
        } else {
            draw_axes(&mut chart, &self.x_desc, &self.y_desc, true)?;
        }
        for (_, ys, colour) in &self.series {
            let c = *colour;
            let pts: Vec<(f64, f64)> =
                self.x.iter().zip(ys).filter(|(x, y)| x.is_finite() && y.is_finite()).map(|(x, y)| (*x, *y)).collect();
            chart.draw_series(LineSeries::new(pts.clone(), c.stroke_width(2))).map_err(e2s)?;
            chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, c.filled()))).map_err(e2s)?;
        }
        Ok(())
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
        let legend: Vec<(String, Mark)> =
            self.groups.iter().enumerate().map(|(i, g)| (g.0.clone(), Mark::Dot(series_colour(i)))).collect();
        let rest = titled_with_legend(area, &self.title, &legend)?;
        let mut chart = xy_chart_plain(&rest, x0..x1, y0..y1)?;
        draw_axes(&mut chart, &self.x_desc, &self.y_desc, true)?;
        if self.diagonal {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x0, x0), (x1, x1)],
                    RGBColor(150, 150, 150).stroke_width(1),
                )))
                .map_err(e2s)?;
        }
        for (i, (_, pts)) in self.groups.iter().enumerate() {
            let c = series_colour(i);
            chart
                .draw_series(
                    pts.iter()
                        .filter(|p| p.0.is_finite() && p.1.is_finite())
                        .map(|p| Circle::new(*p, 2, c.mix(0.6).filled())),
                )
                .map_err(e2s)?;
        }
        Ok(())
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

//! Deletion curves of the ablation study (see [`crate::ablation`]).

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

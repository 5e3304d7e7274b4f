//! Heat maps: taps × lattice components and units × components, of mean
//! relative amplitude.

use super::*;

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

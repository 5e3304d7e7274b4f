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

/// A heat map of rows × columns of values in [0, 1] (relative amplitudes),
/// with titled axes and a titled colour bar. NaN cells (silent units) are
/// left empty.
///
/// Labels stay readable at any size: when rows are closer than a label's
/// height only every k-th row is labelled (k = 1, 2, 5, 10, 20, 50, …, and the
/// y title says so); column labels turn vertical when they do not fit across
/// their column.
pub struct HeatmapPlot {
    /// Row labels (top to bottom).
    pub rows: Vec<String>,
    /// Column labels (left to right).
    pub cols: Vec<String>,
    /// Values `[rows][cols]` in [0, 1]; NaN draws an empty cell.
    pub values: Vec<Vec<f64>>,
    /// Title.
    pub title: String,
    /// Title of the x axis (the columns).
    pub x_desc: String,
    /// Title of the y axis (the rows).
    pub y_desc: String,
    /// Title of the colour bar (what a cell's colour means, with its unit).
    pub colour_desc: String,
}

/// The smallest step of 1, 2, 5, 10, 20, 50, … with `step × pitch ≥ min_gap`.
pub(crate) fn label_step(pitch: f64, min_gap: f64) -> usize {
    if pitch >= min_gap {
        return 1;
    }
    let mut base = 1usize;
    loop {
        for m in [1, 2, 5] {
            let k = base * m;
            if k as f64 * pitch >= min_gap {
                return k;
            }
        }
        base *= 10;
    }
}

impl Plot for HeatmapPlot {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
        let (nr, nc) = (self.rows.len().max(1), self.cols.len().max(1));
        let area = area.titled(&self.title, ("sans-serif", 18)).map_err(e2s)?;
        let (w, h) = area.dim_in_pixel();
        let (w, h) = (w as i32, h as i32);
        let label_font = TextStyle::from(("sans-serif", 11).into_font());
        let desc_font = TextStyle::from(("sans-serif", 13).into_font());
        let text_w =
            |t: &str| area.estimate_text_size(t, &label_font).map(|s| s.0 as i32).unwrap_or(7 * t.len() as i32);
        // horizontal layout: y title | row labels | cells | colour bar
        let row_label_w = self.rows.iter().map(|r| text_w(r)).max().unwrap_or(0).min(280);
        let left = 24 + row_label_w + 8;
        let right = w - 120;
        let col_pitch = (right - left) as f64 / nc as f64;
        let col_label_w = self.cols.iter().map(|c| text_w(c)).max().unwrap_or(0);
        let vertical = col_label_w as f64 + 4.0 > col_pitch;
        let col_label_h = if vertical { col_label_w + 8 } else { 18 };
        let (top, bottom) = (8, h - col_label_h - 26);
        if right <= left + 10 || bottom <= top + 10 {
            return Err(format!("heat map of {nr} × {nc} cells does not fit in {w} × {h} pixels"));
        }
        let row_pitch = (bottom - top) as f64 / nr as f64;
        let x_of = |c: usize| left + (c as f64 * col_pitch).round() as i32;
        let y_of = |r: usize| top + (r as f64 * row_pitch).round() as i32;
        // cells (NaN: left empty)
        area.draw(&Rectangle::new([(left, top), (right, bottom)], RGBColor(250, 250, 250).filled())).map_err(e2s)?;
        for (r, row) in self.values.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                if v.is_finite() {
                    let rect = [(x_of(c), y_of(r)), (x_of(c + 1), y_of(r + 1).max(y_of(r) + 1))];
                    area.draw(&Rectangle::new(rect, colour_map(*v).filled())).map_err(e2s)?;
                }
            }
        }
        area.draw(&Rectangle::new([(left, top), (right, bottom)], BLACK.stroke_width(1))).map_err(e2s)?;
        // row labels: every `step`-th row, with a tick
        let step = label_step(row_pitch, 13.0);
        let row_style = label_font.color(&BLACK).pos(Pos::new(HPos::Right, VPos::Center));
        for r in (0..self.rows.len()).step_by(step) {
            let y = top + ((r as f64 + 0.5) * row_pitch).round() as i32;
            area.draw(&PathElement::new(vec![(left - 4, y), (left, y)], BLACK)).map_err(e2s)?;
            area.draw(&Text::new(self.rows[r].clone(), (left - 6, y), row_style.clone())).map_err(e2s)?;
        }
        // column labels: across, or vertical (reading upwards) when they do not fit
        for (c, label) in self.cols.iter().enumerate() {
            let x = left + ((c as f64 + 0.5) * col_pitch).round() as i32;
            area.draw(&PathElement::new(vec![(x, bottom), (x, bottom + 4)], BLACK)).map_err(e2s)?;
            let style = if vertical {
                label_font
                    .clone()
                    .transform(FontTransform::Rotate270)
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Right, VPos::Center))
            } else {
                label_font.color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top))
            };
            area.draw(&Text::new(label.clone(), (x, bottom + 6), style)).map_err(e2s)?;
        }
        // axis titles
        let x_title = desc_font.color(&BLACK).pos(Pos::new(HPos::Center, VPos::Bottom));
        area.draw(&Text::new(self.x_desc.clone(), ((left + right) / 2, h - 4), x_title)).map_err(e2s)?;
        let y_desc = if step > 1 { format!("{}; one in {step} labelled", self.y_desc) } else { self.y_desc.clone() };
        let y_title =
            desc_font.clone().transform(FontTransform::Rotate270).color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top));
        area.draw(&Text::new(y_desc, (4, (top + bottom) / 2), y_title)).map_err(e2s)?;
        // colour bar: 0 at the bottom, 1 at the top, ticks every 0.25, titled
        let (bx0, bx1) = (right + 18, right + 36);
        let (by0, by1) = (top + 10, bottom - 40);
        let span = (by1 - by0).max(1);
        for i in 0..span {
            let v = 1.0 - i as f64 / span as f64;
            area.draw(&Rectangle::new([(bx0, by0 + i), (bx1, by0 + i + 1)], colour_map(v).filled())).map_err(e2s)?;
        }
        area.draw(&Rectangle::new([(bx0, by0), (bx1, by1)], BLACK.stroke_width(1))).map_err(e2s)?;
        let tick_style = ("sans-serif", 10).into_font().color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
        for i in 0..=4 {
            let v = i as f64 / 4.0;
            let y = by1 - (v * span as f64).round() as i32;
            area.draw(&PathElement::new(vec![(bx1, y), (bx1 + 3, y)], BLACK)).map_err(e2s)?;
            area.draw(&Text::new(format!("{v}"), (bx1 + 5, y), tick_style.clone())).map_err(e2s)?;
        }
        let bar_title =
            desc_font.transform(FontTransform::Rotate270).color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top));
        area.draw(&Text::new(self.colour_desc.clone(), (w - 34, (by0 + by1) / 2), bar_title)).map_err(e2s)?;
        // what an empty cell means
        let note = ("sans-serif", 10).into_font().color(&BLACK).pos(Pos::new(HPos::Left, VPos::Top));
        area.draw(&Rectangle::new([(bx0, by1 + 14), (bx1, by1 + 26)], RGBColor(250, 250, 250).filled()))
            .map_err(e2s)?;
        area.draw(&Rectangle::new([(bx0, by1 + 14), (bx1, by1 + 26)], BLACK.stroke_width(1))).map_err(e2s)?;
        area.draw(&Text::new("empty:", (bx0 - 8, by1 + 30), note.clone())).map_err(e2s)?;
        area.draw(&Text::new("silent", (bx0 - 8, by1 + 42), note)).map_err(e2s)?;
        Ok(())
    }
}

/// Mean relative amplitude (÷ each unit's strongest component) of every
/// lattice component of order ≤ 3, per tap, over the units and images where
/// the unit responds (silent units have no relative amplitudes; a tap with
/// none responding leaves its row empty).
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
        cols: comps.iter().map(|&c| component_label(&lat.components[c])).collect(),
        values,
        title: "mean relative amplitude per tap and component".into(),
        x_desc: "lattice component (order ≤ 3)".into(),
        y_desc: "tap (graph order, input at the top)".into(),
        colour_desc: "relative amplitude (÷ unit's strongest), mean over units".into(),
    };
    let h = (summary.taps.len() as u32 * 14 + 260).clamp(420, 1600);
    render("tap_component_heatmap", &plot, (1000, h))
}

/// "f1+f2 (13.5 Hz)": a component's label with its frequency.
fn component_label(c: &crate::components::Component) -> String {
    format!("{} ({} Hz)", c.label, c.frequency_hz)
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
/// over the images where the unit responds (silent units: empty cells, at
/// the bottom). With hundreds of units it is dense, so it shows as PNG and
/// labels one row in k (the y title says which k).
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
    let mut rows: Vec<(f64, usize, Vec<f64>)> = (0..units)
        .map(|u| {
            let vals = comps
                .iter()
                .map(|&c| mean_finite(results.images.iter().map(|img| img.taps[ti].components[u][c].relative as f64)))
                .collect();
            let integ = mean_finite(results.images.iter().map(|img| img.taps[ti].scores[u].integration));
            (if integ.is_finite() { integ } else { -1.0 }, u, vals)
        })
        .collect();
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    let plot = HeatmapPlot {
        rows: rows.iter().map(|r| format!("unit {}", r.1)).collect(),
        cols: comps.iter().map(|&c| component_label(&lat.components[c])).collect(),
        values: rows.into_iter().map(|r| r.2).collect(),
        title: format!("{}: relative amplitude per unit and component", first.tap.info.name),
        x_desc: format!("lattice component (order ≤ {max_order})"),
        y_desc: format!("{units} units, by mean integration index (highest at the top)"),
        colour_desc: format!("relative amplitude (÷ unit's strongest), mean over {} image(s)", results.images.len()),
    };
    let h = (units as u32 + 260).clamp(480, 1400);
    render("unit_component_heatmap", &plot, (1000, h))
}

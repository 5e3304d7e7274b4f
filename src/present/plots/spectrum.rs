//! Spectra: one unit's amplitude spectrum with its lattice components
//! marked and labelled, and the mean spectrum of a tap.

use super::*;

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

/// A pixel rectangle (x0, y0, x1, y1), y growing downwards.
type PxRect = (i32, i32, i32, i32);

fn overlaps(a: &PxRect, b: &PxRect) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// Where a label of `size` goes above the marker at pixel `at`: the first
/// free spot (not on a placed label, a marker or a marker's stem, not above
/// `ceiling`) of centred, right and left of the marker, one row higher each
/// time; `None` when nothing is free within six rows. Returns the label's
/// rectangle.
fn place_label(at: (i32, i32), size: (i32, i32), taken: &[PxRect], ceiling: i32) -> Option<PxRect> {
    let (w, h) = size;
    for level in 0..6 {
        let bottom = at.1 - 7 - level * (h + 3);
        if bottom - h < ceiling {
            return None;
        }
        for dx in [0, w / 2 + 6, -(w / 2 + 6)] {
            let cx = at.0 + dx;
            let rect = (cx - w / 2 - 1, bottom - h, cx + w / 2 + 1, bottom);
            if !taken.iter().any(|t| overlaps(&rect, t)) {
                return Some(rect);
            }
        }
    }
    None
}

impl Plot for SpectrumPlot<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
        let amps = &self.amps;
        let peak = amps.iter().skip(1).copied().fold(0f32, f32::max).max(1e-12);
        // head room for the labels above the tallest markers
        let top = peak * if self.lattice.is_some() && self.labels > 0 { 1.3 } else { 1.15 };
        let fmax = self.freqs.last().copied().unwrap_or(1.0).max(1e-9);
        let legend: Vec<(String, Mark)> = match self.lattice {
            Some(_) => [Kind::Fundamental, Kind::Harmonic, Kind::Intermodulation]
                .into_iter()
                .map(|k| (k.as_str().to_string(), Mark::Dot(kind_colour(k))))
                .collect(),
            None => vec![],
        };
        let rest = titled_with_legend(area, &self.title, &legend)?;
        let mut chart = xy_chart_plain(&rest, 0f64..fmax, 0f32..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_label_formatter(&tidy_tick)
            .x_desc("frequency (Hz)")
            .y_desc("amplitude (activation units)")
            .label_style(("sans-serif", 12))
            .axis_desc_style(("sans-serif", 13))
            .draw()
            .map_err(e2s)?;
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
                .map_err(e2s)?;
        }
        // labels of the strongest components, strongest first, each above
        // its marker where it covers no other label, marker or stem; a grey
        // leader joins a label moved off its marker
        let font = TextStyle::from(("sans-serif", 12).into_font());
        let px = |f: f64, a: f32| chart.backend_coord(&(f, a));
        let base = px(0.0, 0.0).1;
        let ceiling = px(0.0, top).1;
        let mut taken: Vec<PxRect> = lattice
            .components
            .iter()
            .flat_map(|c| {
                let (x, y) = px(c.frequency_hz, amp(c.bin));
                [(x - 5, y - 5, x + 5, y + 5), (x - 1, y, x + 1, base)]
            })
            .collect();
        let mut strongest: Vec<_> = lattice.components.iter().filter(|c| amp(c.bin) > peak * 0.02).collect();
        strongest.sort_by(|a, b| amp(b.bin).total_cmp(&amp(a.bin)));
        for c in strongest.into_iter().take(self.labels) {
            let at = px(c.frequency_hz, amp(c.bin));
            let size = area.estimate_text_size(&c.label, &font).map(|s| (s.0 as i32, s.1 as i32)).map_err(e2s)?;
            let Some(rect) = place_label(at, size, &taken, ceiling) else { continue };
            taken.push(rect);
            let (cx, bottom) = ((rect.0 + rect.2) / 2, rect.3);
            let colour = kind_colour(c.kind);
            let style = font.clone().color(&colour).pos(Pos::new(HPos::Center, VPos::Bottom));
            let point = (c.frequency_hz, amp(c.bin));
            if cx != at.0 || bottom < at.1 - 7 {
                chart
                    .plotting_area()
                    .draw(
                        &(EmptyElement::at(point)
                            + PathElement::new(
                                vec![(0, -5), (cx - at.0, bottom - at.1 + 1)],
                                RGBColor(160, 160, 160).stroke_width(1),
                            )),
                    )
                    .map_err(e2s)?;
            }
            chart
                .plotting_area()
                .draw(&(EmptyElement::at(point) + Text::new(c.label.clone(), (cx - at.0, bottom - at.1), style)))
                .map_err(e2s)?;
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spectrum_labels_avoid_markers_and_each_other() {
        // a marker at (100, 200) with its stem, and a label already above it
        let taken = vec![(95, 195, 105, 205), (99, 200, 101, 300), (80, 170, 120, 188)];
        let r = place_label((100, 200), (40, 12), &taken, 0).unwrap();
        assert!(!taken.iter().any(|t| overlaps(&r, t)), "{r:?}");
        assert!(r.3 <= 193, "the label sits above the marker, not on its centre: {r:?}");
        // no room below the ceiling: no label
        assert_eq!(place_label((100, 20), (40, 12), &taken, 10), None);
    }
}

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

//! Networks side by side: where intermodulation appears by relative depth,
//! one line per network (e.g. a CNN and a vision transformer on the same
//! design and images).

use super::*;
use crate::tables::relative_depths;

/// One tap of a network: (relative depth, share of units with an IM, mean
/// integration index).
pub type DepthPoint = (f64, f64, f64);

/// Two panels over relative depth (0 = first tap, 1 = last): the share of
/// units with a significant IM, and the mean integration index
/// IM / (tagged + IM); one line per (name, summary). The legend sits in a
/// strip under the panels, outside the data.
pub struct DepthComparison {
    /// (network name, per tap: relative depth, share with IM, mean integration).
    pub networks: Vec<(String, Vec<DepthPoint>)>,
}

impl Plot for DepthComparison {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
        let (w, h) = area.dim_in_pixel();
        let (panels, legend) = area.split_vertically(h.saturating_sub(34));
        let halves = panels.split_evenly((1, 2));
        type Panel = (&'static str, &'static str, fn(&DepthPoint) -> f64);
        let panels_spec: [Panel; 2] = [
            ("units with a significant IM", "share of units", |p| p.1),
            ("integration index IM / (tag + IM)", "mean over units", |p| p.2),
        ];
        for (half, (title, y_desc, value)) in halves.iter().zip(panels_spec) {
            let mut chart = xy_chart(half, title, 0f64..1f64, 0f64..1.02f64)?;
            draw_axes(&mut chart, "relative depth (first tap 0 → last tap 1)", y_desc, true)?;
            for (i, (_, pts)) in self.networks.iter().enumerate() {
                let c = series_colour(i);
                let line: Vec<(f64, f64)> =
                    pts.iter().map(|p| (p.0, value(p))).filter(|(x, y)| x.is_finite() && y.is_finite()).collect();
                chart.draw_series(LineSeries::new(line.clone(), c.stroke_width(2))).map_err(e2s)?;
                chart.draw_series(line.into_iter().map(|p| Circle::new(p, 3, c.filled()))).map_err(e2s)?;
            }
        }
        // the legend: a line sample and the name per network, centred in the strip
        let style = TextStyle::from(("sans-serif", 13).into_font());
        let widths: Vec<u32> = self
            .networks
            .iter()
            .map(|(n, _)| 30 + legend.estimate_text_size(n, &style).map(|s| s.0).unwrap_or(8 * n.len() as u32) + 24)
            .collect();
        let mut x = (w.saturating_sub(widths.iter().sum::<u32>()) / 2) as i32;
        for (i, (name, _)) in self.networks.iter().enumerate() {
            let c = series_colour(i);
            legend.draw(&PathElement::new(vec![(x, 17), (x + 24, 17)], c.stroke_width(3))).map_err(e2s)?;
            legend.draw(&Circle::new((x + 12, 17), 3, c.filled())).map_err(e2s)?;
            legend.draw(&Text::new(name.clone(), (x + 30, 9), style.clone())).map_err(e2s)?;
            x += widths[i] as i32;
        }
        Ok(())
    }
}

/// Compare networks by relative depth (see [`DepthComparison`]): `networks`
/// are (name, summary) pairs, each summary from its own run (e.g.
/// [`Summary::of`]).
pub fn depth_comparison(networks: &[(&str, &Summary)]) -> Result<Figure> {
    if let Some((name, _)) = networks.iter().find(|(_, s)| s.taps.is_empty()) {
        return Err(Error::Data(format!("network '{name}' has no results (no image was run)")));
    }
    let plot = DepthComparison {
        networks: networks
            .iter()
            .map(|(name, s)| {
                let depth = relative_depths(s.taps.len());
                let pts = s.taps.iter().zip(depth).map(|(t, d)| (d, t.share_with_im(), t.mean_integration())).collect();
                (name.to_string(), pts)
            })
            .collect(),
    };
    render("depth_comparison", &plot, (1100, 440))
}

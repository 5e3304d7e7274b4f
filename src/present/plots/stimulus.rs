//! The stimulus: its parts tinted with a few frames, and α(t) of every part.

use super::*;

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
        let legend: Vec<(String, Mark)> = d
            .tags
            .iter()
            .zip(self.stimulus.parts())
            .enumerate()
            .map(|(k, (tag, part))| (format!("{} at {} Hz", part.name, tag.frequency_hz), Mark::Line(series_colour(k))))
            .collect();
        let area = titled_with_legend(
            area,
            &format!("modulation α(t) per part ({} frames at {} frames/s)", d.frames, d.fs_hz),
            &legend,
        )?;
        let mut chart = ChartBuilder::on(&area)
            .margin(10)
            .margin_top(4)
            .x_label_area_size(36)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..secs, (lo - 0.05)..(hi + 0.05))
            .map_err(e2s)?;
        chart.configure_mesh().x_desc("time (s)").y_desc("α").label_style(("sans-serif", 12)).draw().map_err(e2s)?;
        for (k, tag) in d.tags.iter().enumerate() {
            let c = series_colour(k);
            let pts: Vec<(f64, f64)> =
                (0..d.frames).map(|i| (i as f64 / d.fs_hz, tag.alpha(i as f64 / d.fs_hz))).collect();
            chart.draw_series(LineSeries::new(pts, c.stroke_width(2))).map_err(e2s)?;
        }
        Ok(())
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
            for (v, tint) in px.0.iter_mut().zip(c) {
                *v = ((*v as u16 + tint as u16) / 2) as u8;
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

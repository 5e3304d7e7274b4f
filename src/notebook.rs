//! Inline display in evcxr Jupyter notebooks.
//!
//! evcxr shows a value as rich output when its type has a method
//! `evcxr_display(&self)` that prints `EVCXR_BEGIN_CONTENT <mime>` … 
//! `EVCXR_END_CONTENT`. Figures show as SVG (or PNG when dense), designs as an
//! HTML summary with their component lattice, DataFrames as HTML tables via
//! [`show`].

use polars::prelude::*;

use crate::components::Lattice;
use crate::plots::Figure;
use crate::report::esc;
use crate::stimulus::Design;

fn emit(mime: &str, content: &str) {
    println!("EVCXR_BEGIN_CONTENT {mime}\n{content}\nEVCXR_END_CONTENT");
}

impl Figure {
    /// Inline display: SVG when there is one and it is small, else PNG.
    pub fn evcxr_display(&self) {
        if !self.svg.is_empty() && self.svg.len() < 400_000 && !self.svg.contains("data:image/png") {
            emit("image/svg+xml", &self.svg);
        } else {
            use base64::Engine;
            emit("image/png", &base64::engine::general_purpose::STANDARD.encode(&self.png));
        }
    }
}

impl Design {
    /// The design as an HTML table (parts, tags, timing) and its lattice.
    pub fn to_html(&self) -> String {
        let mut h = format!(
            "<b>Design</b>: {} parts, {} modulation, {} frames at {} frames/s ({} Hz bins), period {} frames{}<table><tr><th>part</th><th>f (Hz)</th><th>cycles</th><th>phase (rad)</th><th>α range</th></tr>",
            esc(&self.layout.name()),
            self.modulation,
            self.frames,
            self.fs_hz,
            self.resolution_hz(),
            self.period_frames(),
            match self.validate() {
                Ok(()) => String::new(),
                Err(e) => format!(" — <span style=\"color:#b00\">{}</span>", esc(&e.to_string())),
            }
        );
        let names = self.layout.parts(64, 64).map(|p| p.into_iter().map(|p| p.name).collect::<Vec<_>>()).unwrap_or_default();
        for (i, t) in self.tags.iter().enumerate() {
            let cycles = self.cycles().get(i).copied().flatten().map(|c| c.to_string()).unwrap_or_else(|| "off-bin".into());
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.3}</td><td>{:.2}–{:.2}</td></tr>",
                esc(names.get(i).map(String::as_str).unwrap_or("?")),
                t.frequency_hz,
                cycles,
                t.phase_rad,
                t.mean - t.depth,
                t.mean + t.depth
            ));
        }
        h.push_str("</table>");
        if self.validate().is_ok() {
            let lat = Lattice::new(self, 3);
            h.push_str("<b>Components up to order 3</b><table><tr><th>label</th><th>Hz</th><th>kind</th><th>order</th><th>collides with</th></tr>");
            for c in &lat.components {
                h.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&c.label),
                    c.frequency_hz,
                    c.kind,
                    c.order,
                    esc(&c.collisions.join(", "))
                ));
            }
            h.push_str("</table>");
        }
        h
    }

    /// Inline display: [`Design::to_html`].
    pub fn evcxr_display(&self) {
        emit("text/html", &self.to_html());
    }
}

/// A DataFrame as an HTML table of at most `max_rows` rows.
pub fn df_html(df: &DataFrame, max_rows: usize) -> String {
    let mut h = format!("<div><small>{} rows × {} columns</small><table><tr>", df.height(), df.width());
    for name in df.get_column_names() {
        h.push_str(&format!("<th>{}</th>", esc(name)));
    }
    h.push_str("</tr>");
    for r in 0..df.height().min(max_rows) {
        h.push_str("<tr>");
        for c in df.columns() {
            let v = c.get(r).map(|v| match v {
                AnyValue::Float64(f) => format!("{f:.5}"),
                AnyValue::Float32(f) => format!("{f:.5}"),
                AnyValue::String(s) => s.to_string(),
                AnyValue::StringOwned(s) => s.to_string(),
                other => other.to_string(),
            });
            h.push_str(&format!("<td>{}</td>", esc(&v.unwrap_or_default())));
        }
        h.push_str("</tr>");
    }
    h.push_str("</table></div>");
    h
}

/// Show a DataFrame inline in a notebook (first `max_rows` rows).
pub fn show(df: &DataFrame, max_rows: usize) {
    emit("text/html", &df_html(df, max_rows));
}

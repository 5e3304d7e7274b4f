//! A self-contained HTML report, and the findings it states.
//!
//! In: [`Results`]. Out: [`Findings`] (the numbers a person asks first: where
//! IMs first appear, how many units carry them, the strongest integrating
//! units) and `report.html` — one file with every figure embedded (inline
//! SVG, PNG as `data:` URIs), readable in any browser without a server.
//! For an ablation study ([`crate::ablation::Study`]): [`write_ablation`],
//! its figures under `plots/` and a `report.html` of its own.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::experiment::Results;
use crate::export::write_bytes;
use crate::plots::{self, Figure};
use crate::stimulus::Stimulus;

/// A unit worth looking at.
#[derive(Clone, Debug, PartialEq)]
pub struct NotableUnit {
    /// Image.
    pub image: String,
    /// Tap name.
    pub tap: String,
    /// Index of the tap in the results.
    pub tap_index: usize,
    /// Unit index.
    pub unit: usize,
    /// Its IM response (Σ amplitude at IMs).
    pub im: f64,
    /// Its integration index.
    pub integration: f64,
}

/// Headline numbers of an experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct Findings {
    /// Taps analysed.
    pub taps: usize,
    /// Units per image over all taps.
    pub units: usize,
    /// The first tap (graph order) where at least `threshold` of units carry
    /// a significant IM, with that share.
    pub first_im_tap: Option<(String, f64)>,
    /// The share used for `first_im_tap`.
    pub threshold: f64,
    /// Share of all units (all images) with at least one significant IM.
    pub share_units_with_im: f64,
    /// Per op type: (op, taps, share of units with a significant IM).
    pub by_op: Vec<(String, usize, f64)>,
    /// Units with the largest IM response times integration index.
    pub top_units: Vec<NotableUnit>,
}

/// Compute the findings (`threshold`: the share of units that marks a tap
/// as "showing IMs", e.g. 0.1).
pub fn findings(results: &Results, threshold: f64) -> Findings {
    let first = results.images.first();
    let n_taps = first.map(|i| i.taps.len()).unwrap_or(0);
    let mut first_im_tap = None;
    let (mut total, mut with_im) = (0usize, 0usize);
    let mut by_op: Vec<(String, usize, usize, usize)> = Vec::new();
    let mut top: Vec<NotableUnit> = Vec::new();
    for ti in 0..n_taps {
        let (mut n, mut k) = (0usize, 0usize);
        for img in &results.images {
            for (u, s) in img.taps[ti].scores.iter().enumerate() {
                n += 1;
                k += usize::from(s.significant_im > 0);
                if s.im.is_finite() && s.integration.is_finite() {
                    top.push(NotableUnit {
                        image: img.image.clone(),
                        tap: img.taps[ti].tap.info.name.clone(),
                        tap_index: ti,
                        unit: u,
                        im: s.im,
                        integration: s.integration,
                    });
                }
            }
            // keep the candidate list short
            if top.len() > 4096 {
                sort_notable(&mut top);
                top.truncate(64);
            }
        }
        total += n;
        with_im += k;
        let share = k as f64 / n.max(1) as f64;
        let name = &first.map(|i| i.taps[ti].tap.info.name.clone()).unwrap_or_default();
        if first_im_tap.is_none() && share >= threshold {
            first_im_tap = Some((name.clone(), share));
        }
        let op = first.map(|i| i.taps[ti].tap.info.op.clone()).unwrap_or_default();
        match by_op.iter_mut().find(|r| r.0 == op) {
            Some(r) => {
                r.1 += 1;
                r.2 += n;
                r.3 += k;
            }
            None => by_op.push((op, 1, n, k)),
        }
    }
    sort_notable(&mut top);
    top.truncate(6);
    Findings {
        taps: n_taps,
        units: results.units(),
        first_im_tap,
        threshold,
        share_units_with_im: with_im as f64 / total.max(1) as f64,
        by_op: by_op.into_iter().map(|(op, t, n, k)| (op, t, k as f64 / n.max(1) as f64)).collect(),
        top_units: top,
    }
}

fn sort_notable(v: &mut [NotableUnit]) {
    v.sort_by(|a, b| (b.im * b.integration).total_cmp(&(a.im * a.integration)));
}

impl Findings {
    /// Plain-text summary (a few lines).
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} taps, {} units per image; {:.1}% of units carry a significant IM",
            self.taps,
            self.units,
            100.0 * self.share_units_with_im
        );
        match &self.first_im_tap {
            Some((t, share)) => {
                let _ = write!(
                    s,
                    "\nfirst tap where ≥{:.0}% of units carry IMs: {t} ({:.1}%)",
                    100.0 * self.threshold,
                    100.0 * share
                );
            }
            None => {
                let _ = write!(s, "\nno tap has ≥{:.0}% of units with IMs", 100.0 * self.threshold);
            }
        }
        for (op, taps, share) in &self.by_op {
            let _ = write!(s, "\n  {op:>8}: {taps:3} taps, {:.1}% of units with IMs", 100.0 * share);
        }
        if let Some(u) = self.top_units.first() {
            let _ = write!(
                s,
                "\nstrongest integrating unit: {} unit {} on {} (IM {:.4}, integration {:.3})",
                u.tap, u.unit, u.image, u.im, u.integration
            );
        }
        s
    }
}

/// Escape text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn figure_html(f: &Figure, caption: &str, prefer_png: bool) -> String {
    let body = if prefer_png || f.svg.is_empty() {
        format!("<img alt=\"{}\" src=\"{}\" style=\"max-width:100%\">", esc(caption), f.png_data_uri())
    } else {
        f.svg.clone()
    };
    format!("<figure>{body}<figcaption>{}</figcaption></figure>\n", esc(caption))
}

/// All figures of a report, made once so that the CLI can also save them.
pub struct ReportFigures {
    /// (figure, caption, embed as PNG)
    pub figures: Vec<(Figure, String, bool)>,
}

/// Make the report's figures.
pub fn figures(results: &Results, f: &Findings) -> Result<ReportFigures> {
    let mut figs = Vec::new();
    if let Some(img) = results.images.first() {
        let stim = Stimulus::new(&results.design, &img.prepared)?;
        figs.push((
            plots::stimulus_strip(&stim, 4)?,
            format!("{}: parts (tinted) and four frames over one period", img.image),
            true,
        ));
        figs.push((plots::alpha_traces(&stim)?, "modulation of each part".to_string(), false));
    }
    figs.push((
        plots::layer_profile(results)?,
        "share of units with a significant intermodulation, by depth".into(),
        false,
    ));
    let tags = results
        .design
        .tags
        .iter()
        .enumerate()
        .map(|(i, t)| format!("f{} = {} Hz", i + 1, t.frequency_hz))
        .collect::<Vec<_>>()
        .join(", ");
    let caption = format!(
        "mean relative amplitude (÷ each unit's strongest component) of each lattice component of order ≤ 3, per tap (rows in graph order); {tags}"
    );
    figs.push((plots::tap_component_heatmap(results)?, caption, true));
    for u in f.top_units.iter().take(3) {
        if let Some(img) = results.images.iter().find(|i| i.image == u.image) {
            let t = &img.taps[u.tap_index];
            let title = format!("{} unit {} ({})", u.tap, u.unit, u.image);
            figs.push((plots::unit_spectrum(&t.spectrum, u.unit, &results.lattice, &title)?, title, false));
        }
    }
    Ok(ReportFigures { figures: figs })
}

/// Write `report.html` into `dir`; returns its path.
pub fn write_report(
    results: &Results,
    findings: &Findings,
    figs: &ReportFigures,
    dir: &Path,
) -> Result<std::path::PathBuf> {
    let d = &results.design;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>freqtag report: {}</title>\
<style>body{{font-family:sans-serif;max-width:1050px;margin:2em auto;padding:0 1em;color:#222}}\
table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #ccc;padding:3px 7px;text-align:right}}\
th{{background:#f2f2f2}}td:first-child{{text-align:left}}figure{{margin:1.5em 0}}figcaption{{color:#555;font-size:13px}}\
code{{background:#f4f4f4;padding:1px 4px}}</style></head><body>",
        esc(&results.model)
    );
    let _ = write!(h, "<h1>Frequency tagging of {}</h1>", esc(&results.model));
    let _ = write!(
        h,
        "<p>freqtag {} — {} image(s), {} taps, {} units per image.</p>",
        env!("CARGO_PKG_VERSION"),
        results.images.len(),
        findings.taps,
        findings.units
    );
    h.push_str("<h2>Design</h2><table><tr><th>parts</th><th>tags (Hz)</th><th>α range</th><th>modulation</th><th>frame rate</th><th>frames</th><th>resolution</th><th>period run</th><th>noise</th></tr>");
    let tags = d.tags.iter().map(|t| format!("{}", t.frequency_hz)).collect::<Vec<_>>().join(", ");
    let range = d
        .tags
        .iter()
        .map(|t| format!("{:.2}–{:.2}", t.mean - t.depth, t.mean + t.depth))
        .collect::<Vec<_>>()
        .join(", ");
    let noise = d.noise.map(|n| format!("σ = {} (seed {})", n.sigma, n.seed)).unwrap_or_else(|| "none".into());
    let _ = write!(
        h,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} /s</td><td>{}</td><td>{} Hz</td><td>{} frames</td><td>{}</td></tr></table>",
        esc(&d.layout.name()),
        tags,
        range,
        d.modulation,
        d.fs_hz,
        d.frames,
        d.resolution_hz(),
        results.images.first().map(|i| i.frames_run).unwrap_or(0),
        esc(&noise)
    );
    let _ = write!(
        h,
        "<p>Spectra: single-sided amplitude in activation units (a sinusoid of amplitude A reads A), one unit = one channel's spatial mean. \
Lattice up to order {}; SNR columns use the <code>{}</code> neighbour preset. Network: {:.1} frames/s; total {:.1} s.</p>",
        results.analysis.max_order,
        results.analysis.preset.name(),
        results.frames_per_second(),
        results.seconds
    );
    h.push_str("<h2>Images</h2><table><tr><th>image</th><th>top classes (unmodulated)</th><th>frames run</th><th>network time</th></tr>");
    for img in &results.images {
        let top = img.top_classes.iter().map(|(c, p)| format!("{} {:.2}", esc(c), p)).collect::<Vec<_>>().join("; ");
        let _ = write!(
            h,
            "<tr><td>{}</td><td style=\"text-align:left\">{}</td><td>{}</td><td>{:.2} s</td></tr>",
            esc(&img.image),
            top,
            img.frames_run,
            img.network_seconds
        );
    }
    h.push_str("</table><h2>Findings</h2><ul>");
    let _ = write!(
        h,
        "<li>{:.1}% of all units carry at least one significant intermodulation component.</li>",
        100.0 * findings.share_units_with_im
    );
    match &findings.first_im_tap {
        Some((t, s)) => {
            let _ = write!(h, "<li>The first tap (input → output) where at least {:.0}% of units carry IMs is <code>{}</code> ({:.1}%).</li>", 100.0 * findings.threshold, esc(t), 100.0 * s);
        }
        None => {
            let _ = write!(h, "<li>No tap reaches {:.0}% of units with IMs.</li>", 100.0 * findings.threshold);
        }
    }
    for (op, taps, share) in &findings.by_op {
        let _ = write!(h, "<li>{} taps ({}): {:.1}% of units with IMs.</li>", esc(op), taps, 100.0 * share);
    }
    h.push_str("</ul>");
    let sig = &results.analysis.significance;
    let _ = write!(
        h,
        "<p>A component counts as significant, without injected noise, when its amplitude is at least {:.0}% of the unit's strongest lattice component \
(bins off the lattice are exactly zero then); with noise, when its FPVS z exceeds {}.</p>",
        100.0 * sig.relative_threshold,
        sig.z_threshold
    );
    h.push_str("<h2>Figures</h2>");
    for (f, caption, png) in &figs.figures {
        h.push_str(&figure_html(f, caption, *png));
    }
    h.push_str("<h2>Strongest integrating units</h2><table><tr><th>tap</th><th>unit</th><th>image</th><th>IM response</th><th>integration</th></tr>");
    for u in &findings.top_units {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.4}</td><td>{:.3}</td></tr>",
            esc(&u.tap),
            u.unit,
            esc(&u.image),
            u.im,
            u.integration
        );
    }
    h.push_str("</table><h2>Per tap</h2><table><tr><th>tap</th><th>op</th><th>units</th><th>units with IM</th><th>mean tagged</th><th>mean IM</th><th>mean integration</th></tr>");
    if let Some(first) = results.images.first() {
        for (ti, t) in first.taps.iter().enumerate() {
            let all: Vec<&crate::metrics::UnitScores> =
                results.images.iter().flat_map(|i| i.taps[ti].scores.iter()).collect();
            let n = all.len().max(1) as f64;
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1}%</td><td>{:.4}</td><td>{:.4}</td><td>{:.3}</td></tr>",
                esc(&t.tap.info.name),
                esc(&t.tap.info.op),
                t.spectrum.units,
                100.0 * all.iter().filter(|s| s.significant_im > 0).count() as f64 / n,
                plots::mean_finite(all.iter().map(|s| s.tagged_total)),
                plots::mean_finite(all.iter().map(|s| s.im)),
                plots::mean_finite(all.iter().map(|s| s.integration)),
            );
        }
    }
    h.push_str("</table><h2>Files</h2><p><code>scores.parquet</code>, <code>components.parquet</code>, <code>layers.parquet</code>, \
<code>spectra/&lt;image&gt;/&lt;tap&gt;.npy</code> ([units, bins] float32, with a JSON sidecar) and <code>design.json</code> sit beside this report.</p></body></html>");
    let path = dir.join("report.html");
    write_bytes(&path, h.as_bytes())?;
    Ok(path)
}

// ---------------------------------------------------------------------------
// Ablation and pruning (see crate::ablation)

/// The ablation study as an HTML section: set-up, the plain statement, the
/// areas under the deletion curves and the figures (embedded, so the section
/// needs no other file).
pub fn ablation_section(study: &crate::ablation::Study, figures: &[(Figure, String)]) -> String {
    use crate::ablation::Direction;
    let mut h = String::from("<section><h2>Does the score mean anything? Ablation against baselines</h2>");
    let units: usize = study.taps.iter().map(|t| t.channels()).sum();
    let _ = write!(
        h,
        "<p>Units: the channels of {} taps ({units} units). Ranked on {} image(s) ({}); evaluated on {} other image(s): {}. \
Unablated: accuracy {}, by definition agreement 1 and KL 0. Random rankings: {} seed(s); ties broken by seed {}.</p>",
        study.taps.len(),
        study.rank_images.len(),
        esc(&study.rank_images.iter().take(12).cloned().collect::<Vec<_>>().join(", ")),
        study.eval_images,
        esc(&study.eval_description),
        if study.labelled { format!("{:.4}", study.base.accuracy) } else { "n/a (no labels)".into() },
        study.seeds.len(),
        study.tie_seed
    );
    if let Some(d) = &study.design {
        let noise = d
            .noise
            .map(|n| format!("pixel noise σ = {} (seed {})", n.sigma, n.seed))
            .unwrap_or_else(|| "no noise".into());
        let _ = write!(
            h,
            "<p>Tagging design for the freqtag scores: {} at {} Hz, {} frames at {} frames/s, {}.</p>",
            esc(&d.layout.name()),
            d.frequencies().iter().map(|f| f.to_string()).collect::<Vec<_>>().join(" / "),
            d.frames,
            d.fs_hz,
            esc(&noise)
        );
    }
    h.push_str("<p>Area = the metric averaged over the sparsity range (trapezoid rule, unablated point included). \
Top = most important units removed first (a good score damages a lot); bottom = least important first (a good score damages little).</p><ul>");
    for v in &study.verdict {
        let _ = write!(h, "<li>{}</li>", esc(v));
    }
    h.push_str("</ul><table><tr><th>scope</th><th>ranking</th><th>direction</th><th>curves</th><th>area accuracy</th><th>area agreement</th><th>area KL (nats)</th></tr>");
    for r in &study.summary {
        let dir = if r.direction == Direction::Random { "—" } else { r.direction.name() };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{dir}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.scope),
            r.criterion.name(),
            r.curves,
            r.accuracy.cell(r.curves),
            r.agreement.cell(r.curves),
            r.kl.cell(r.curves)
        );
    }
    h.push_str("</table>");
    for (f, caption) in figures {
        h.push_str(&figure_html(f, caption, true));
    }
    h.push_str("<p>Tables beside this report: <code>rankings.parquet</code> (one row per ranking, tap and unit), <code>curves.parquet</code> (every point), \
<code>areas.parquet</code> (one row per curve), <code>summary.parquet</code> (seeds collapsed), <code>study.json</code>.</p></section>");
    h
}

/// Write a stand-alone `report.html` holding [`ablation_section`]; returns its path.
pub fn write_ablation_report(
    study: &crate::ablation::Study,
    figures: &[(Figure, String)],
    dir: &Path,
) -> Result<std::path::PathBuf> {
    let h = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>freqtag prune: {}</title><style>\
body{{font-family:sans-serif;max-width:1250px;margin:2em auto;padding:0 1em;color:#222}}table{{border-collapse:collapse;font-size:13px}}\
td,th{{border:1px solid #ccc;padding:3px 7px}}th{{background:#f2f2f2}}figcaption{{color:#555;font-size:13px}}</style></head><body>\
<h1>Ablation and pruning of {}</h1>{}</body></html>",
        esc(&study.model),
        esc(&study.model),
        ablation_section(study, figures)
    );
    let path = dir.join("report.html");
    write_bytes(&path, h.as_bytes())?;
    Ok(path)
}

/// The ablation study's presentation, written into `dir`: its figures
/// ([`crate::present::ablation::figures`]) as SVG and PNG under `dir/plots/`
/// and the stand-alone `report.html` that embeds them
/// ([`write_ablation_report`]). Returns the plots folder and the report. The
/// study's tables, `study.json` and `summary.md` are
/// [`Study::write`](crate::ablation::Study::write)'s.
pub fn write_ablation(study: &crate::ablation::Study, dir: &Path) -> Result<Vec<PathBuf>> {
    let figures = crate::present::ablation::figures(study)?;
    let plots_dir = dir.join("plots");
    for (fig, _) in &figures {
        fig.save(&plots_dir)?;
    }
    let report = write_ablation_report(study, &figures, dir)?;
    Ok(vec![plots_dir, report])
}

//! A self-contained HTML report, and the findings it states.
//!
//! In: a [`Summary`] (from [`Summary::of`] whole results, or accumulated
//! image by image). Out: `report.html` — one file stating the [`Findings`]
//! with every figure embedded (inline SVG, PNG as `data:` URIs), readable in
//! any browser without a server — and the figures as files under `plots/`
//! ([`write`]). For an ablation study ([`crate::ablation::Study`]):
//! [`write_ablation`], its figures under `plots/` and a `report.html` of its own.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::export::write_bytes;
use crate::plots::{self, Figure};
use crate::stimulus::Stimulus;
use crate::summary::Summary;

pub use crate::summary::{findings, Findings, NotableUnit};

/// The strongest integrating units as an HTML table (`style`: the table's
/// CSS, may be empty).
pub fn top_units_table(units: &[NotableUnit], style: &str) -> String {
    let mut h = format!(
        "<table style=\"{style}\"><tr><th>tap</th><th>unit</th><th>image</th><th>IM response</th><th>integration</th></tr>"
    );
    for u in units {
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
    h.push_str("</table>");
    h
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
    /// The section "Across images" ([`across_section`]; empty with fewer
    /// than two images): its HTML and its figures (caption, embed as PNG).
    pub across: Section,
}

/// A report section: its HTML and its figures (figure, caption, embed as PNG).
pub type Section = (String, Vec<(Figure, String, bool)>);

/// Make the report's figures, on all cores (each figure is drawn twice, SVG
/// and PNG, and the PNG compressed hard: most of a report's time).
pub fn figures(summary: &Summary, f: &Findings) -> Result<ReportFigures> {
    let results = summary;
    type Made = Result<Vec<(Figure, String, bool)>>;
    let (mut stimulus, mut profile, mut heatmap, mut units): (Made, Made, Made, Made) =
        (Ok(vec![]), Ok(vec![]), Ok(vec![]), Ok(vec![]));
    let mut across: Result<Section> = Ok((String::new(), vec![]));
    rayon::scope(|s| {
        s.spawn(|_| {
            stimulus = (|| {
                let (Some(img), Some(info)) = (&summary.first_image, summary.images.first()) else { return Ok(vec![]) };
                let stim = Stimulus::new(&results.design, img)?;
                Ok(vec![
                    (
                        plots::stimulus_strip(&stim, 4)?,
                        format!("{}: parts (tinted) and four frames over one period", info.image),
                        true,
                    ),
                    (plots::alpha_traces(&stim)?, "modulation of each part".to_string(), false),
                ])
            })()
        });
        s.spawn(|_| {
            profile = plots::layer_profile_of(summary)
                .map(|p| vec![(p, "share of units with a significant intermodulation, by depth".into(), false)])
        });
        s.spawn(|_| {
            let tags = results.design.tags_label();
            let caption = format!(
                "mean relative amplitude (÷ each unit's strongest component) of each lattice component of order ≤ 3, per tap (rows in graph order); {tags}"
            );
            heatmap = plots::tap_component_heatmap_of(summary).map(|h| vec![(h, caption, true)]);
        });
        s.spawn(|_| {
            units = f
                .top_units
                .iter()
                .take(3)
                .filter_map(|u| summary.top_units.iter().find(|(t, _)| t == u).map(|(_, spectrum)| (u, spectrum)))
                .map(|(u, spectrum)| {
                    let title = format!("{} unit {} ({})", u.tap, u.unit, u.image);
                    Ok((plots::unit_spectrum(spectrum, 0, &results.lattice, &title)?, title, false))
                })
                .collect()
        });
        s.spawn(|_| across = across_section(summary));
    });
    let mut figs = stimulus?;
    figs.extend(profile?);
    figs.extend(heatmap?);
    figs.extend(units?);
    Ok(ReportFigures { figures: figs, across: across? })
}

/// Write `report.html` into `dir`; returns its path.
///
/// `files` lists what sits beside the report (named in its last section).
pub fn write_report(
    results: &Summary,
    findings: &Findings,
    figs: &ReportFigures,
    files: &[String],
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
        "<p>freqtag {} — {} image(s), {} taps, {} units per image. Model output: {}.</p>",
        env!("CARGO_PKG_VERSION"),
        results.images.len(),
        findings.taps,
        findings.units,
        esc(&results.model_output)
    );
    h.push_str("<h2>Design</h2><table><tr><th>parts</th><th>tags (Hz)</th><th>α range</th><th>modulation</th><th>frame rate</th><th>frames</th><th>resolution</th><th>frames computed</th><th>noise</th></tr>");
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
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} /s</td><td>{}</td><td>{} Hz</td><td>{}</td><td>{}</td></tr></table>",
        esc(&d.layout.name()),
        tags,
        range,
        d.modulation,
        d.fs_hz,
        d.frames,
        d.resolution_hz(),
        results
            .images
            .first()
            .map(|i| format!("{} ({} through the network)", i.frames_run, i.network_frames))
            .unwrap_or_default(),
        esc(&noise)
    );
    let _ = write!(
        h,
        "<p>Spectra: single-sided amplitude in activation units (a sinusoid of amplitude A reads A), one unit = one channel's spatial mean (for a transformer's token sequence: a channel's mean over the patch tokens). \
Lattice up to order {}; SNR columns use the <code>{}</code> neighbour preset (NaN without injected noise). Network: {}, {:.1} frames/s; total {:.1} s.</p>",
        results.analysis.max_order,
        results.analysis.preset.name(),
        esc(&results.engine),
        results.frames_per_second(),
        results.seconds
    );
    let classes = results.images.iter().any(|i| !i.top_classes.is_empty());
    let _ = write!(
        h,
        "<h2>Images</h2><table><tr><th>image</th><th>{}</th><th>frames through the network</th><th>network time</th></tr>",
        if classes { "top classes (unmodulated)" } else { "top classes: none (the model names no classes)" }
    );
    for img in &results.images {
        let top = img.top_classes.iter().map(|(c, p)| format!("{} {:.2}", esc(c), p)).collect::<Vec<_>>().join("; ");
        let _ = write!(
            h,
            "<tr><td>{}</td><td style=\"text-align:left\">{}</td><td>{}</td><td>{:.2} s</td></tr>",
            esc(&img.image),
            top,
            img.network_frames,
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
    h.push_str("<h2>Strongest integrating units</h2>");
    h.push_str(&top_units_table(&findings.top_units, ""));
    h.push_str("<h2>Per tap</h2><table><tr><th>tap</th><th>op</th><th>units</th><th>units with IM</th><th>mean tagged</th><th>mean IM</th><th>mean integration</th></tr>");
    for t in &results.taps {
        let n = t.n.max(1) as f64;
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1}%</td><td>{:.4}</td><td>{:.4}</td><td>{:.3}</td></tr>",
            esc(&t.tap.info.name),
            esc(&t.tap.info.op),
            t.units,
            100.0 * t.share_with_im(),
            t.tagged_sum / n,
            t.im_sum / n,
            t.mean_integration(),
        );
    }
    h.push_str("</table>");
    h.push_str(&figs.across.0);
    for (f, caption, png) in &figs.across.1 {
        h.push_str(&figure_html(f, caption, *png));
    }
    let _ = write!(
        h,
        "<h2>Files</h2><p>Beside this report: {}.</p></body></html>",
        files.iter().map(|f| format!("<code>{}</code>", esc(f))).collect::<Vec<_>>().join(", ")
    );
    let path = dir.join("report.html");
    write_bytes(&path, h.as_bytes())?;
    Ok(path)
}

/// The report of an experiment, in one call: the findings (threshold 10%),
/// the figures (also saved as SVG/PNG under `dir/plots/`) and
/// `dir/report.html`. `files` names the outputs beside the report. Returns
/// the report's path and the findings.
pub fn write(summary: &Summary, files: &[String], dir: &Path) -> Result<(std::path::PathBuf, Findings)> {
    let (findings, figs) = draw(summary)?;
    write_drawn(summary, findings, &figs, files, dir)
}

/// The report's findings and figures, drawn but not written (the first half
/// of [`write`]: `freqtag run` draws while its last files are written).
pub fn draw(summary: &Summary) -> Result<(Findings, ReportFigures)> {
    let findings = summary.findings(0.1);
    let figs = figures(summary, &findings)?;
    Ok((findings, figs))
}

/// Write what [`draw`] made: the figures into `dir/plots`, `dir/report.html`.
pub fn write_drawn(
    summary: &Summary,
    findings: Findings,
    figs: &ReportFigures,
    files: &[String],
    dir: &Path,
) -> Result<(std::path::PathBuf, Findings)> {
    let plots_dir = dir.join("plots");
    for (fig, _, _) in figs.figures.iter().chain(&figs.across.1) {
        fig.save(&plots_dir)?;
    }
    let path = write_report(summary, &findings, figs, files, dir)?;
    Ok((path, findings))
}

// ---------------------------------------------------------------------------
// Statistics across images (see crate::stats)

fn num(v: f64, digits: usize) -> String {
    if v.is_finite() {
        format!("{v:.digits$}")
    } else {
        "—".into()
    }
}

/// p-values: three significant digits, "< 0.0001" below.
fn pval(p: f64) -> String {
    if !p.is_finite() {
        "—".into()
    } else if p < 1e-4 {
        "&lt; 0.0001".into()
    } else {
        format!("{p:.4}")
    }
}

/// The section "Across images" of a run with at least two images (the
/// images are the trials, [`crate::stats`]): per op type and for the whole
/// network the mean population integration index and IM response with
/// their 95% t-intervals; the per-tap profile of the integration index with
/// its interval; and, with injected noise, the SNR spectrum over all units
/// and the test of every lattice component against the noise floor (mean
/// BCA over the network's units per image; t-test, sign-flip permutation p,
/// Benjamini–Hochberg), with the number of (tap, component) discoveries.
/// Empty (no HTML, no figures) with fewer than two images.
pub fn across_section(summary: &Summary) -> Result<Section> {
    use crate::stats::{Level, TestOptions};
    let across = &summary.across;
    let n = across.images.len();
    if n < 2 {
        return Ok((String::new(), vec![]));
    }
    let mut h = String::from("<h2>Across images</h2>");
    let _ = write!(
        h,
        "<p>The {n} images are the trials: each image gives one value per tap (or op type, or network), pooled over its units; \
means are given with 95% t-intervals across images (mean ± t<sub>0.975, n−1</sub>·sd/√n). Integration = Σ IM / Σ (tagged + IM) over the units.</p>"
    );
    h.push_str("<table><tr><th>group</th><th>n</th><th>integration [95% CI]</th><th>IM response [95% CI]</th><th>units with a significant IM [95% CI]</th></tr>");
    for level in [Level::Network, Level::Op] {
        let integ = across.intervals(level, "integration", 0.95)?;
        let im = across.intervals(level, "im", 0.95)?;
        let with = across.intervals(level, "units_with_im", 0.95)?;
        let names = crate::stats::columns::keys(&integ, level.column())?;
        let col = |df: &polars::prelude::DataFrame, c: &str| crate::stats::columns::floats(df, c);
        let (m1, l1, u1) = (col(&integ, "mean")?, col(&integ, "ci_low")?, col(&integ, "ci_high")?);
        let (m2, l2, u2) = (col(&im, "mean")?, col(&im, "ci_low")?, col(&im, "ci_high")?);
        let (m3, l3, u3) = (col(&with, "mean")?, col(&with, "ci_low")?, col(&with, "ci_high")?);
        let counts = col(&integ, "n")?;
        for i in 0..names.len() {
            let label = if level == Level::Network {
                format!("all taps of {}", names[i])
            } else {
                format!("{} taps", names[i])
            };
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{} [{}, {}]</td><td>{} [{}, {}]</td><td>{}% [{}, {}]</td></tr>",
                esc(&label),
                counts[i],
                num(m1[i], 3),
                num(l1[i], 3),
                num(u1[i], 3),
                num(m2[i], 4),
                num(l2[i], 4),
                num(u2[i], 4),
                num(100.0 * m3[i], 1),
                num(100.0 * l3[i], 1),
                num(100.0 * u3[i], 1)
            );
        }
    }
    h.push_str("</table>");
    let mut figs = vec![];
    let taps = across.intervals(Level::Tap, "integration", 0.95)?;
    figs.push((
        plots::intervals_profile(
            "population integration index per tap, mean over images",
            "tap (graph order: input → output)",
            "Σ IM / Σ (tagged + IM)",
            &[("integration index", &taps)],
        )?,
        format!("population integration index of each tap (line) with its 95% t-interval across the {n} images (band)"),
        false,
    ));
    if across.noisy {
        let spectrum = across.snr_spectrum(&[], 0.95)?;
        figs.push((
            plots::snr_spectrum(&spectrum, "SNR spectrum, mean over all units and images")?,
            format!(
                "neighbour-bin SNR ({} preset) at every bin, averaged over the {} units of each image, then over the {n} images (band: 95% t-interval across images); \
SNR 1 is the noise level; mean SNR off the lattice {:.3}",
                across.preset.name(),
                spectrum.units,
                spectrum.off_lattice_mean()
            ),
            false,
        ));
        let opts = TestOptions::default();
        let net = across.noise_floor_tests(Level::Network, "bca", &opts)?;
        let tap_opts = TestOptions {
            permutations: crate::stats::Permutations { draws: 10_000, ..Default::default() },
            ..Default::default()
        };
        let per_tap = across.noise_floor_tests(Level::Tap, "bca", &tap_opts)?;
        let disc = crate::stats::columns::keys(&per_tap, "discovery")?;
        let found = disc.iter().filter(|d| *d == "true").count();
        let _ = write!(
            h,
            "<h3>Responses against the noise floor</h3><p>Per image, the baseline-corrected amplitude (BCA, amplitude − mean of the {} neighbours) of each lattice component, \
averaged over units; across images, a one-sample test of BCA = 0: t-test and exact sign-flip permutation p (two-sided), Benjamini–Hochberg q over the components (5% FDR). \
Over taps × components: {found} of {} tests are discoveries at 5% FDR (BH over all of them).</p>",
            across.preset.name(),
            disc.len()
        );
        h.push_str("<table><tr><th>component</th><th>kind</th><th>Hz</th><th>n</th><th>mean BCA [95% CI]</th><th>t</th><th>p (t)</th><th>p (perm.)</th><th>q (BH)</th><th>discovery</th></tr>");
        let s = |c: &str| crate::stats::columns::keys(&net, c);
        let f = |c: &str| crate::stats::columns::floats(&net, c);
        let (comp, kind) = (s("component")?, s("kind")?);
        let (hz, cnt, eff, lo, hi, t, pt, pp, q) = (
            f("frequency_hz")?,
            f("n")?,
            f("effect")?,
            f("ci_low")?,
            f("ci_high")?,
            f("t")?,
            f("p_t")?,
            f("p_perm")?,
            f("q_perm")?,
        );
        let d = s("discovery")?;
        for i in 0..comp.len() {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} [{}, {}]</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&comp[i]),
                kind[i],
                hz[i],
                cnt[i],
                num(eff[i], 5),
                num(lo[i], 5),
                num(hi[i], 5),
                num(t[i], 2),
                pval(pt[i]),
                pval(pp[i]),
                pval(q[i]),
                if d[i] == "true" { "yes" } else { "no" }
            );
        }
        h.push_str("</table>");
        figs.push((
            plots::forest("responses against the noise floor (all units)", "mean BCA (activation units)", &net, "component", 0.0)?,
            "mean baseline-corrected amplitude of each lattice component over the network's units, with its 95% t-interval across images; filled: a discovery at 5% FDR".into(),
            false,
        ));
    }
    Ok((h, figs))
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
    h.push_str(
        "<p>Sparsities (shares of each scope's units removed, besides the unablated point) and why:</p>\
<table><tr><th>scope</th><th>units</th><th>sparsities</th><th>chosen by</th></tr>",
    );
    for s in study.sparsities() {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.scope),
            s.units,
            s.sparsities.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", "),
            esc(&s.why)
        );
    }
    let _ = write!(
        h,
        "</table><p>Area = the metric averaged over the sparsity range (trapezoid rule, unablated point included). \
Top = most important units removed first (a good score damages a lot); bottom = least important first (a good score damages little). {}. \
Floor: the curve's main metric is at or below what one constant top-1 class scores ({:.3}) from that sparsity on; \
\"at floor\": from its first sparsity, so its area says nothing about the ranking. In the figures every point carries its own interval \
(error bars; <code>points.parquet</code>).</p><ul>",
        esc(&study.interval_note()),
        if study.labelled { study.floor.accuracy } else { study.floor.agreement }
    );
    for v in &study.verdict {
        let _ = write!(h, "<li>{}</li>", esc(v));
    }
    h.push_str("</ul><table><tr><th>scope</th><th>ranking</th><th>direction</th><th>curves</th><th>area accuracy</th><th>area agreement</th><th>area KL (nats)</th><th>floor</th></tr>");
    for r in &study.summary {
        let dir = if r.direction == Direction::Random { "—" } else { r.direction.name() };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{dir}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.scope),
            r.criterion.name(),
            r.curves,
            r.accuracy.cell(r.curves),
            r.agreement.cell(r.curves),
            r.kl.cell(r.curves),
            crate::ablation::Study::floor_cell(r)
        );
    }
    h.push_str("</table>");
    for (f, caption) in figures {
        h.push_str(&figure_html(f, caption, true));
    }
    h.push_str("<p>Tables beside this report: <code>rankings.parquet</code> (one row per ranking, tap and unit), <code>curves.parquet</code> (every point), \
<code>points.parquet</code> (every point, seeds averaged, with its interval), <code>areas.parquet</code> (one row per curve), <code>summary.parquet</code> (seeds collapsed), \
<code>study.json</code> (the set-up, the sparsities and the probes that chose them).</p></section>");
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

//! Shared helpers for the integration tests.
//!
//! Each integration test crate that needs them declares `mod common;`.

#![allow(dead_code)] // each test crate uses a different subset

pub mod onnx_models;

use freqtag::Results;

/// Whether onnxruntime's library can be loaded here; a missing library fails
/// when CI requires it (`FREQTAG_REQUIRE_ORT=1`), else the caller skips.
pub fn onnxruntime_here() -> bool {
    let found = freqtag::model::engine::onnxruntime_library().is_some_and(|p| p.is_file());
    if !found {
        assert!(
            std::env::var_os("FREQTAG_REQUIRE_ORT").is_none_or(|v| v == "0"),
            "FREQTAG_REQUIRE_ORT is set but the onnxruntime library was not found (scripts/install-onnxruntime.sh)"
        );
        eprintln!("onnxruntime not found: engine comparison skipped (scripts/install-onnxruntime.sh installs it)");
    }
    found
}

/// Every tap's amplitudes agree within `rel` of the tap's largest amplitude
/// (first image); returns the largest relative difference seen.
pub fn assert_same_spectra(a: &Results, b: &Results, rel: f32) -> f32 {
    let (ta, tb) = (&a.images[0].taps, &b.images[0].taps);
    assert_eq!(ta.len(), tb.len());
    let mut worst_rel = 0f32;
    for (x, y) in ta.iter().zip(tb) {
        assert_eq!(x.tap.info.name, y.tap.info.name);
        let (sx, sy) = (&x.spectrum, &y.spectrum);
        assert_eq!((sx.units, sx.frames), (sy.units, sy.frames), "{}", x.tap.info.name);
        let scale = sx.amplitude.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
        let worst = sx.amplitude.iter().zip(&sy.amplitude).map(|(p, q)| (p - q).abs()).fold(0f32, f32::max);
        assert!(worst <= rel * scale, "{}: amplitudes differ by {worst} (largest amplitude {scale})", x.tap.info.name);
        worst_rel = worst_rel.max(worst / scale);
    }
    eprintln!("largest amplitude difference: {worst_rel:.2e} of the tap's largest amplitude");
    worst_rel
}

//! A vectorised row kernel for tract's depthwise convolution on x86-64.
//!
//! tract (0.23) evaluates a depthwise convolution — the 3×3 and 5×5 per-channel
//! convolutions of every MobileNet / EfficientNet block — zone by zone, and
//! along each output row it calls the `DepthwiseW` routine of tract-linalg's
//! kernel registry when the machine has one (`tract_linalg::routines`). tract
//! ships that routine for WebAssembly only; on x86-64 it walks a scalar loop
//! per output point, which was two thirds of a Lite0 frame (bench/README.md,
//! "Where freqtag's time goes"). This module registers an AVX2 routine in the
//! same registry, so tract's own operator, zones and padding logic stay as they
//! are and only the inner row loop changes.
//!
//! The routine's contract (`tract_linalg::routines::DepthwiseWF32`): `len`
//! contiguous output points, point `i` being `bias + Σ_t taps[t] ·
//! input[offsets[t] + i·in_stride]`.
//!
//! **Same numbers as tract's scalar loop.** Each output lane is computed as that
//! loop computes it: start from the bias, add each tap's product in tap order,
//! in f32, a multiply then an add (no fused multiply-add, which would round
//! once instead of twice). The vector lanes are independent outputs, so every
//! output is bit-for-bit the scalar loop's (tested below for every stride and
//! tail length, and end to end against onnxruntime in tests/ort_backend.rs).
//!
//! Strides 1 (contiguous loads) and 2 (two loads de-interleaved) run in AVX2,
//! the last points of a row with masked loads and stores (rows are short in
//! late layers: 7 to 28 points); any other stride runs the scalar loop. The
//! routine is chosen at run time: a machine without AVX2 keeps tract's loop.

/// The name the routine has in tract-linalg's registry.
pub(crate) const KERNEL_NAME: &str = "freqtag_avx2_depthwise_w_f32";

/// The depthwise row kernel tract will run on this machine, by its registry
/// name (`None`: tract's scalar loop). Also keeps this module — and with it
/// the registration below — linked into every binary that compiles a tract
/// network.
pub(crate) fn row_kernel() -> Option<&'static str> {
    let native = tract_linalg::isa::native();
    tract_linalg::routines::best_for(
        tract_linalg::routines::Func::DepthwiseW,
        tract_onnx::prelude::DatumType::F32,
        &native,
    )
    .map(|r| r.name())
}

#[cfg(target_arch = "x86_64")]
inventory::submit! {
    tract_linalg::routines::Routine {
        func: tract_linalg::routines::Func::DepthwiseW,
        arch: Some(tract_linalg::isa::Arch::X86_64),
        isa: tract_linalg::isa::IsaReq::ANY.needing(&[tract_linalg::isa::Isa::X86_64Avx2]),
        boost: 0,
        round_trip: false,
        factory: tract_linalg::routines::RoutineFactory::DepthwiseWF32 {
            name: KERNEL_NAME,
            run: x86::depthwise_w_f32,
        },
    }
}

/// The scalar definition, in the order tract's own loop adds (and the order
/// the vector lanes keep).
///
/// # Safety
/// As [`tract_linalg::routines::DepthwiseWF32`]: every `input.offset(offsets[t]
/// + i * in_stride)` readable and `len` points writable from `output`.
#[inline(always)]
unsafe fn scalar_points(
    input: *const f32,
    output: *mut f32,
    taps: &[f32],
    offsets: &[isize],
    bias: f32,
    range: std::ops::Range<usize>,
    in_stride: isize,
) {
    for i in range {
        let mut sum = bias;
        for (k, off) in taps.iter().zip(offsets) {
            // SAFETY: the caller's contract covers every point below `len`
            sum += k * unsafe { *input.offset(off + i as isize * in_stride) };
        }
        // SAFETY: as above
        unsafe { *output.add(i) = sum };
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::scalar_points;

    /// Outputs per step of the contiguous path: four registers, so that four
    /// independent add chains hide the add's latency.
    const BLOCK: usize = 32;

    /// The registered routine. tract calls it only where the registry said
    /// AVX2 is present (`IsaReq … X86_64Avx2`).
    ///
    /// # Safety
    /// As [`tract_linalg::routines::DepthwiseWF32`], on a machine with AVX2.
    pub(super) unsafe fn depthwise_w_f32(
        input: *const f32,
        output: *mut f32,
        taps: &[f32],
        offsets: &[isize],
        bias: f32,
        len: usize,
        in_stride: isize,
    ) {
        debug_assert_eq!(taps.len(), offsets.len());
        let n = taps.len().min(offsets.len());
        let (taps, offsets) = (&taps[..n], &offsets[..n]);
        // SAFETY: the caller's contract, and the registry's AVX2 requirement
        let done = unsafe {
            match in_stride {
                1 => stride_1(input, output, taps, offsets, bias, len),
                2 => stride_2(input, output, taps, offsets, bias, len),
                _ => 0,
            }
        };
        // SAFETY: the caller's contract
        unsafe { scalar_points(input, output, taps, offsets, bias, done..len, in_stride) }
    }

    /// Contiguous inputs: blocks of 32, then of 8. Returns how many points it wrote.
    #[target_feature(enable = "avx2")]
    unsafe fn stride_1(
        input: *const f32,
        output: *mut f32,
        taps: &[f32],
        offsets: &[isize],
        bias: f32,
        len: usize,
    ) -> usize {
        let b = _mm256_set1_ps(bias);
        let mut i = 0;
        // SAFETY (every load below): the point `i + j` (j < BLOCK, or < 8) is
        // below `len`, so `offsets[t] + i + j` is readable by the contract
        unsafe {
            while i + BLOCK <= len {
                let (mut a0, mut a1, mut a2, mut a3) = (b, b, b, b);
                for (k, off) in taps.iter().zip(offsets) {
                    let k = _mm256_set1_ps(*k);
                    let p = input.offset(*off).add(i);
                    a0 = _mm256_add_ps(a0, _mm256_mul_ps(k, _mm256_loadu_ps(p)));
                    a1 = _mm256_add_ps(a1, _mm256_mul_ps(k, _mm256_loadu_ps(p.add(8))));
                    a2 = _mm256_add_ps(a2, _mm256_mul_ps(k, _mm256_loadu_ps(p.add(16))));
                    a3 = _mm256_add_ps(a3, _mm256_mul_ps(k, _mm256_loadu_ps(p.add(24))));
                }
                let o = output.add(i);
                _mm256_storeu_ps(o, a0);
                _mm256_storeu_ps(o.add(8), a1);
                _mm256_storeu_ps(o.add(16), a2);
                _mm256_storeu_ps(o.add(24), a3);
                i += BLOCK;
            }
            while i < len {
                // the last block may be short: its missing lanes are masked
                // out of the loads (never read) and of the store
                let mask = lanes_below(len - i);
                let mut a = b;
                for (k, off) in taps.iter().zip(offsets) {
                    let p = input.offset(*off).add(i);
                    a = _mm256_add_ps(a, _mm256_mul_ps(_mm256_set1_ps(*k), _mm256_maskload_ps(p, mask)));
                }
                _mm256_maskstore_ps(output.add(i), mask, a);
                i += 8;
            }
        }
        len
    }

    /// A lane mask with lanes `0 .. n.min(8)` set.
    #[target_feature(enable = "avx2")]
    fn lanes_below(n: usize) -> __m256i {
        _mm256_cmpgt_epi32(_mm256_set1_epi32(n.min(8) as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
    }

    /// Every second input (stride-2 convolutions): 16 consecutive values
    /// loaded, the even ones kept. Eight points read inputs up to `2·(i+7)+1`,
    /// one past the last one they use, so a full block runs only while the
    /// point after it exists (its input is readable); the last block masks
    /// its loads to the inputs its points use. Returns how many points it wrote.
    #[target_feature(enable = "avx2")]
    unsafe fn stride_2(
        input: *const f32,
        output: *mut f32,
        taps: &[f32],
        offsets: &[isize],
        bias: f32,
        len: usize,
    ) -> usize {
        let b = _mm256_set1_ps(bias);
        let mut i = 0;
        // SAFETY: `i + 8 < len`, so the input of point `i + 8`, at
        // `offsets[t] + 2·(i+8)`, is readable, and so is everything before it
        unsafe {
            while i + 8 < len {
                let mut a = b;
                for (k, off) in taps.iter().zip(offsets) {
                    let p = input.offset(*off).add(2 * i);
                    let lo = _mm256_loadu_ps(p);
                    let hi = _mm256_loadu_ps(p.add(8));
                    // [lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6] -> [lo0 lo2 lo4 lo6 hi0 hi2 hi4 hi6]
                    let even = _mm256_shuffle_ps::<0b10_00_10_00>(lo, hi);
                    let x = _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(even)));
                    a = _mm256_add_ps(a, _mm256_mul_ps(_mm256_set1_ps(*k), x));
                }
                _mm256_storeu_ps(output.add(i), a);
                i += 8;
            }
            if i < len {
                // points i .. len (1 to 8 of them) use inputs 2·(j-i) ≤ 2·(len-i-1)
                let used = 2 * (len - i) - 1;
                let (m_lo, m_hi) = (lanes_below(used), lanes_below(used.saturating_sub(8)));
                let mut a = b;
                for (k, off) in taps.iter().zip(offsets) {
                    let p = input.offset(*off).add(2 * i);
                    let lo = _mm256_maskload_ps(p, m_lo);
                    let hi = _mm256_maskload_ps(p.add(8), m_hi);
                    let even = _mm256_shuffle_ps::<0b10_00_10_00>(lo, hi);
                    let x = _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(even)));
                    a = _mm256_add_ps(a, _mm256_mul_ps(_mm256_set1_ps(*k), x));
                }
                _mm256_maskstore_ps(output.add(i), lanes_below(len - i), a);
            }
        }
        len
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    /// The kernel against the scalar definition, bit for bit, for strides 1–3,
    /// 1, 4, 9 and 25 taps and every length up to 80 (all block/tail splits).
    #[test]
    fn avx2_rows_equal_the_scalar_loop_bit_for_bit() {
        if !std::is_x86_feature_detected!("avx2") {
            eprintln!("skipped: this machine has no AVX2");
            return;
        }
        // deterministic values with varied exponents
        let input: Vec<f32> =
            (0..4000).map(|i| ((i * 7919 % 1009) as f32 - 504.0) / 97.0 * 1.3f32.powi(i % 11 - 5)).collect();
        for &taps_n in &[1usize, 4, 9, 25] {
            let taps: Vec<f32> = (0..taps_n).map(|t| 0.37 - 0.11 * t as f32 + 1e-3 * (t * t) as f32).collect();
            // offsets like a 5-wide kernel on rows of 200: row and column steps
            let offsets: Vec<isize> = (0..taps_n as isize).map(|t| (t / 5) * 200 + t % 5).collect();
            for in_stride in 1..=3isize {
                for len in 0..=80usize {
                    let mut want = vec![f32::NAN; len + 1];
                    let mut got = vec![f32::NAN; len + 1];
                    let base = input[100..].as_ptr();
                    unsafe {
                        scalar_points(base, want.as_mut_ptr(), &taps, &offsets, 0.25, 0..len, in_stride);
                        x86::depthwise_w_f32(base, got.as_mut_ptr(), &taps, &offsets, 0.25, len, in_stride);
                    }
                    for i in 0..len {
                        assert_eq!(
                            got[i].to_bits(),
                            want[i].to_bits(),
                            "taps {taps_n}, stride {in_stride}, len {len}, point {i}"
                        );
                    }
                    assert!(got[len].is_nan(), "wrote past len {len} (stride {in_stride})");
                }
            }
        }
    }

    /// tract picks this kernel on a machine with AVX2 (the registration is
    /// linked and outranks nothing tract ships for x86-64).
    #[test]
    fn tract_runs_this_kernel_where_avx2_is_present() {
        let want = std::is_x86_feature_detected!("avx2").then_some(KERNEL_NAME);
        assert_eq!(row_kernel(), want);
        assert_eq!(tract_linalg::routines::depthwise_w_f32().is_some(), want.is_some());
    }
}

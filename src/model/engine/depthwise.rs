//! freqtag's own depthwise convolution for tract, on x86-64 with AVX2.
//!
//! A depthwise convolution — the 3×3 and 5×5 per-channel convolution of every
//! MobileNet / EfficientNet block — was two thirds of a Lite0 frame in tract
//! 0.23 (bench/README.md, "Where freqtag's time goes"): tract walks each
//! channel zone by zone, and for the x86-64 it runs a scalar loop per output
//! point (it ships a vectorised row kernel for WebAssembly only), and the
//! border zones — half the outputs of a 7×7 or 14×14 map under a 5×5 kernel —
//! run their loop down the columns, scalar on every machine.
//!
//! [`rewrite`] replaces each such convolution of a decluttered tract model
//! (f32, NCHW or CHW, two spatial axes, stride 1 or 2 along both, no
//! dilation, one output per input channel, constant kernel and bias) by
//! [`DepthwiseNchw`] before tract optimises the rest. Per channel, the input
//! is laid out once, zero-padded, as stride² phase planes, so that every
//! kernel tap is one stride-1 run over the whole plane (no zones, no border
//! cases); the output is computed 32 points per step in AVX2 registers.
//!
//! **Same numbers as tract.** Every output is its bias plus the products of
//! its taps added in kernel order (row-major), each a multiply then an add
//! in f32 (no fused multiply-add) — the order and the roundings of tract's
//! own loop. A padded tap adds `w · 0`, which tract skips: that can only
//! flip the sign of an exact zero, so outputs equal tract's as numbers
//! (tested below against tract's operator on the strides, paddings and
//! kernel sizes Lite0 uses, and end to end against onnxruntime in
//! tests/ort_backend.rs).
//!
//! Elsewhere (no AVX2, another architecture, a quantised, grouped, dilated
//! or stride-3 convolution) tract's own operator runs, unchanged.

use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat};
use tract_onnx::tract_core::ops::nn::DataFormat;

/// A depthwise convolution over `[N, C, H, W]` f32 maps with constant
/// weights `[C, kh, kw]` and biases `[C]` (see the module documentation).
#[derive(Debug, Clone)]
pub(crate) struct DepthwiseNchw {
    channels: usize,
    input_hw: [usize; 2],
    output_hw: [usize; 2],
    kernel_hw: [usize; 2],
    /// `[N, C, H, W]` (else `[C, H, W]`).
    batched: bool,
    /// The same along both axes, 1 or 2 (dilation 1).
    stride: usize,
    pad_before: [usize; 2],
    /// `[C, kh, kw]`, row-major.
    weights: Vec<f32>,
    /// `[C]`.
    bias: Vec<f32>,
}

/// Equal when the geometry and every weight and bias are (bit patterns: an
/// operator is its own equal even with NaN weights).
impl PartialEq for DepthwiseNchw {
    fn eq(&self, other: &Self) -> bool {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
        (self.channels, self.input_hw, self.output_hw, self.kernel_hw, self.stride, self.pad_before)
            == (other.channels, other.input_hw, other.output_hw, other.kernel_hw, other.stride, other.pad_before)
            && bits(&self.weights) == bits(&other.weights)
            && bits(&self.bias) == bits(&other.bias)
    }
}
impl Eq for DepthwiseNchw {}

/// Whether this machine runs [`DepthwiseNchw`] (else tract's own operator).
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Replace every depthwise convolution of `model` (decluttered) that
/// [`DepthwiseNchw`] covers; returns how many it replaced. Does nothing where
/// [`available`] is false.
pub(crate) fn rewrite(model: &mut TypedModel) -> TractResult<usize> {
    if !available() {
        return Ok(0);
    }
    let mut replaced = 0;
    for id in model.eval_order()? {
        let node = model.node(id);
        let Some(conv) = node.op_as::<Conv>() else { continue };
        let Some(op) = DepthwiseNchw::for_conv(model, node, conv)? else { continue };
        let patch = TypedModelPatch::replace_single_op(model, node, &node.inputs[..1], op)?;
        patch.apply(model)?;
        replaced += 1;
    }
    Ok(replaced)
}

impl DepthwiseNchw {
    /// The operator for `conv` at `node`, or `None` when it is not a
    /// depthwise convolution this operator covers.
    fn for_conv(model: &TypedModel, node: &TypedNode, conv: &Conv) -> TractResult<Option<DepthwiseNchw>> {
        let spec = &conv.pool_spec;
        let c = spec.input_channels;
        // NCHW, or CHW where tract's declutter dropped a batch axis of 1
        let c_axis = match spec.data_format {
            DataFormat::NCHW => 1,
            DataFormat::CHW => 0,
            _ => return Ok(None),
        };
        if conv.q_params.is_some()
            || conv.kernel_fmt != KernelFormat::OIHW
            || spec.kernel_shape.len() != 2
            || conv.group != c
            || spec.output_channels != c
            || node.inputs.len() != 3
        {
            return Ok(None);
        }
        let x = model.outlet_fact(node.inputs[0])?;
        let Some(shape) = x.shape.as_concrete() else { return Ok(None) };
        if x.datum_type != f32::datum_type() || shape.len() != 3 + c_axis || shape[c_axis] != c {
            return Ok(None);
        }
        let hw = [shape[c_axis + 1], shape[c_axis + 2]];
        let (kernel, bias) = (model.outlet_fact(node.inputs[1])?, model.outlet_fact(node.inputs[2])?);
        let (Some(kernel), Some(bias)) = (kernel.konst.as_ref(), bias.konst.as_ref()) else { return Ok(None) };
        let (kh, kw) = (spec.kernel_shape[0], spec.kernel_shape[1]);
        if kernel.datum_type() != f32::datum_type() || kernel.shape() != [c, 1, kh, kw] {
            return Ok(None);
        }
        if bias.datum_type() != f32::datum_type() || !(bias.len() == c || bias.len() == 1) {
            return Ok(None);
        }
        let (strides, dilations) = (spec.strides(), spec.dilations());
        if strides[0] != strides[1] || !(1..=2).contains(&strides[0]) || dilations.iter().any(|&d| d != 1) {
            return Ok(None);
        }
        let bias = bias.try_as_plain_ram()?.as_slice::<f32>()?;
        let bias = if bias.len() == c { bias.to_vec() } else { vec![bias[0]; c] };
        let padding = spec.computed_padding(&hw);
        let op = DepthwiseNchw {
            channels: c,
            input_hw: hw,
            batched: c_axis == 1,
            output_hw: [padding[0].convoluted, padding[1].convoluted],
            kernel_hw: [kh, kw],
            stride: strides[0],
            pad_before: [padding[0].pad_before, padding[1].pad_before],
            weights: kernel.try_as_plain_ram()?.as_slice::<f32>()?.to_vec(),
            bias,
        };
        // the output shape must be tract's own, or the graph after it would not fit
        let ours = op.output_shape(shape[0]);
        let theirs = model.outlet_fact(node.id.into())?.shape.as_concrete().map(|s| s.to_vec());
        Ok((theirs.as_deref() == Some(&ours[..])).then_some(op))
    }

    /// The output shape for `n` images.
    fn output_shape(&self, n: usize) -> Vec<usize> {
        let [oh, ow] = self.output_hw;
        if self.batched {
            vec![n, self.channels, oh, ow]
        } else {
            vec![self.channels, oh, ow]
        }
    }

    /// One `[H, W]` input plane of channel `c` into its `[OH, OW]` output
    /// plane; `scratch` is reused from plane to plane.
    ///
    /// The input is laid out once, zero-padded, as `s²` phase planes of
    /// `[hq, wq]` (`s` the stride; phase `(a, b)` holds padded rows `s·r + a`,
    /// columns `s·c + b`), so that kernel tap `(ky, kx)` reads phase
    /// `(ky mod s, kx mod s)` at offset `(ky / s, kx / s)` with stride 1 for
    /// every output point. The output is computed `wq` points wide (the
    /// points past `ow` are never kept), which makes every tap one scaled
    /// add over the whole plane. A padded tap adds `w · 0`, which leaves a
    /// sum unchanged (but for the sign of an exact zero).
    fn plane(&self, c: usize, input: &[f32], output: &mut [f32], scratch: &mut Scratch) {
        let ([h, w], [oh, ow], [kh, kw], s, [pt, pl]) =
            (self.input_hw, self.output_hw, self.kernel_hw, self.stride, self.pad_before);
        let (wq, hq) = (ow + (kw - 1) / s, oh + (kh - 1) / s + 1);
        let phases = &mut scratch.phases;
        phases.resize(s * s * hq * wq, 0.0);
        for (p, phase) in phases.chunks_exact_mut(hq * wq).enumerate() {
            let (a, b) = (p / s, p % s);
            // phase columns col whose input column s·col + b − pl exists
            let first = pl.saturating_sub(b).div_ceil(s).min(wq);
            let end = (w + pl).saturating_sub(b).div_ceil(s).clamp(first, wq);
            for (r, q_row) in phase.chunks_exact_mut(wq).enumerate() {
                // padded row s·r + a is input row s·r + a − pt
                let Some(iy) = (s * r + a).checked_sub(pt).filter(|&iy| iy < h) else {
                    q_row.fill(0.0);
                    continue;
                };
                let (left, rest) = q_row.split_at_mut(first);
                let (middle, right) = rest.split_at_mut(end - first);
                left.fill(0.0);
                right.fill(0.0);
                let x = &input[iy * w + s * first + b - pl..(iy + 1) * w];
                if s == 1 {
                    middle.copy_from_slice(&x[..middle.len()]);
                } else {
                    every_second(middle, x);
                }
            }
        }
        // tap (ky, kx) reads phase (ky mod s, kx mod s) at (ky / s, kx / s)
        let offsets = &mut scratch.offsets;
        offsets.clear();
        offsets.extend((0..kh * kw).map(|t| {
            let (ky, kx) = (t / kw, t % kw);
            ((ky % s) * s + kx % s) * hq * wq + (ky / s) * wq + kx / s
        }));
        let wide = &mut scratch.wide;
        wide.resize(oh * wq, 0.0);
        sum_of_taps(wide, self.bias[c], &self.weights[c * kh * kw..(c + 1) * kh * kw], offsets, phases);
        for (o_row, w_row) in output.chunks_exact_mut(ow).zip(wide.chunks_exact(wq)) {
            o_row.copy_from_slice(&w_row[..ow]);
        }
    }
}

/// Buffers one evaluation reuses from plane to plane.
#[derive(Default)]
struct Scratch {
    phases: Vec<f32>,
    offsets: Vec<usize>,
    wide: Vec<f32>,
}

/// `out[i] = bias + Σ_t taps[t] · src[offsets[t] + i]`, the taps added in
/// order, each a multiply then an add.
fn sum_of_taps(out: &mut [f32], bias: f32, taps: &[f32], offsets: &[usize], src: &[f32]) {
    assert!(
        taps.len() == offsets.len() && offsets.iter().all(|&o| o + out.len() <= src.len()),
        "depthwise taps out of range"
    );
    #[cfg(target_arch = "x86_64")]
    if available() {
        // SAFETY: AVX2 checked, every tap's range inside `src` (above)
        unsafe { x86::sum_of_taps(out, bias, taps, offsets, src) };
        return;
    }
    for (i, o) in out.iter_mut().enumerate() {
        let mut sum = bias;
        for (k, at) in taps.iter().zip(offsets) {
            sum += k * src[at + i];
        }
        *o = sum;
    }
}

/// `dst[j] = src[2j]` for every `j` of `dst`.
fn every_second(dst: &mut [f32], src: &[f32]) {
    assert!(dst.is_empty() || 2 * (dst.len() - 1) < src.len(), "depthwise input row out of range");
    #[cfg(target_arch = "x86_64")]
    if available() {
        // SAFETY: AVX2 checked, the range by the assert above
        unsafe { x86::every_second(dst, src) };
        return;
    }
    for (d, s) in dst.iter_mut().zip(src.iter().step_by(2)) {
        *d = *s;
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// [`super::every_second`], eight values per step from 16 loaded while
    /// all 16 lie inside `src`, the rest one by one.
    ///
    /// # Safety
    /// AVX2 present; `src` holds `2·(dst.len() − 1) + 1` values.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn every_second(dst: &mut [f32], src: &[f32]) {
        let (n, d, x) = (dst.len(), dst.as_mut_ptr(), src.as_ptr());
        let mut j = 0;
        // SAFETY: a step reads src[2j ..= 2j+15], inside src by the loop
        // condition, and writes dst[j .. j+8], j + 8 <= n
        unsafe {
            while j + 8 <= n && 2 * j + 16 <= src.len() {
                let (lo, hi) = (_mm256_loadu_ps(x.add(2 * j)), _mm256_loadu_ps(x.add(2 * j + 8)));
                // [lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6], then the middle 64-bit pairs swapped
                let even = _mm256_shuffle_ps::<0b10_00_10_00>(lo, hi);
                _mm256_storeu_ps(
                    d.add(j),
                    _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(even))),
                );
                j += 8;
            }
            while j < n {
                *d.add(j) = *x.add(2 * j);
                j += 1;
            }
        }
    }

    /// [`super::sum_of_taps`]: 32 points per step in four registers (four
    /// independent chains of adds), then 8 per step, the last one masked.
    ///
    /// # Safety
    /// AVX2 present; `offsets[t] + out.len() <= src.len()` for every tap.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn sum_of_taps(out: &mut [f32], bias: f32, taps: &[f32], offsets: &[usize], src: &[f32]) {
        let (n, o, x) = (out.len(), out.as_mut_ptr(), src.as_ptr());
        let b = _mm256_set1_ps(bias);
        let mut i = 0;
        // SAFETY (all loads and stores): points i .. i+32 (or i+8) are below
        // n, or masked, and every tap's reads stay inside `src`
        unsafe {
            while i + 32 <= n {
                let (mut a0, mut a1, mut a2, mut a3) = (b, b, b, b);
                for (k, at) in taps.iter().zip(offsets) {
                    let (k, p) = (_mm256_set1_ps(*k), x.add(at + i));
                    a0 = _mm256_add_ps(a0, _mm256_mul_ps(k, _mm256_loadu_ps(p)));
                    a1 = _mm256_add_ps(a1, _mm256_mul_ps(k, _mm256_loadu_ps(p.add(8))));
                    a2 = _mm256_add_ps(a2, _mm256_mul_ps(k, _mm256_loadu_ps(p.add(16))));
                    a3 = _mm256_add_ps(a3, _mm256_mul_ps(k, _mm256_loadu_ps(p.add(24))));
                }
                _mm256_storeu_ps(o.add(i), a0);
                _mm256_storeu_ps(o.add(i + 8), a1);
                _mm256_storeu_ps(o.add(i + 16), a2);
                _mm256_storeu_ps(o.add(i + 24), a3);
                i += 32;
            }
            while i < n {
                let m = _mm256_cmpgt_epi32(
                    _mm256_set1_epi32((n - i).min(8) as i32),
                    _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                );
                let mut a = b;
                for (k, at) in taps.iter().zip(offsets) {
                    a = _mm256_add_ps(a, _mm256_mul_ps(_mm256_set1_ps(*k), _mm256_maskload_ps(x.add(at + i), m)));
                }
                _mm256_maskstore_ps(o.add(i), m, a);
                i += 8;
            }
        }
    }
}

impl Op for DepthwiseNchw {
    fn name(&self) -> StaticName {
        "FreqtagDepthwiseNchw".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!(
            "{} channels, kernel {:?}, stride {}, padding before {:?}",
            self.channels, self.kernel_hw, self.stride, self.pad_before
        )])
    }

    op_as_typed_op!();
}

impl EvalOp for DepthwiseNchw {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let shape = input.shape().to_vec();
        let n = if self.batched { shape[0] } else { 1 };
        ensure!(
            shape[shape.len().saturating_sub(3)..] == [self.channels, self.input_hw[0], self.input_hw[1]]
                && shape.len() == 3 + self.batched as usize,
            "FreqtagDepthwiseNchw: input {:?}, compiled for {:?} per image",
            shape,
            [self.channels, self.input_hw[0], self.input_hw[1]]
        );
        let input = input.try_as_plain_ram()?.as_slice::<f32>()?;
        // SAFETY: f32 has no invalid bit patterns, and every element is
        // written below (each output plane row by row)
        let mut output = unsafe { Tensor::uninitialized::<f32>(&self.output_shape(n))? };
        let (plane_in, plane_out) = (self.input_hw[0] * self.input_hw[1], self.output_hw[0] * self.output_hw[1]);
        thread_local! {
            static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
        }
        SCRATCH.with_borrow_mut(|scratch| -> TractResult<()> {
            let mut view = output.try_as_plain_ram_mut()?;
            let out = view.as_slice_mut::<f32>()?;
            for (p, (i, o)) in input.chunks_exact(plane_in).zip(out.chunks_exact_mut(plane_out)).enumerate() {
                self.plane(p % self.channels, i, o, scratch);
            }
            Ok(())
        })?;
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for DepthwiseNchw {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let [oh, ow] = self.output_hw;
        let mut shape: TVec<TDim> = tvec![self.channels.to_dim(), oh.to_dim(), ow.to_dim()];
        if self.batched {
            shape.insert(0, inputs[0].shape[0].clone());
        }
        Ok(tvec!(f32::fact(shape)))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::tract_core::ops::cnn::{PaddingSpec, PoolSpec};

    /// The de-interleave against its definition, every length and slack.
    #[test]
    fn every_second_takes_the_even_values() {
        let src: Vec<f32> = (0..80).map(|i| i as f32 * 0.5 - 3.0).collect();
        for n in 0..=39usize {
            // the shortest source that holds the values (2n − 1), and longer
            for len in (2 * n).saturating_sub(1)..=2 * n + 1 {
                let mut dst = vec![f32::NAN; n];
                every_second(&mut dst, &src[..len]);
                let want: Vec<f32> = (0..n).map(|j| src[2 * j]).collect();
                assert_eq!(dst, want, "n {n}, source length {len}");
            }
        }
    }

    /// One depthwise convolution, tract's operator against ours, on the
    /// geometries of Lite0 (3×3 and 5×5, strides 1 and 2, symmetric and
    /// TF-style asymmetric padding) and a few odd ones; equal as numbers
    /// (tract skips padded taps where we add `w · 0`, which can only flip the
    /// sign of an exact zero).
    #[test]
    fn equals_tracts_depthwise_convolution() -> TractResult<()> {
        if !available() {
            eprintln!("skipped: no AVX2 on this machine, tract's own operator runs");
            return Ok(());
        }
        // (batch, channels, h, w, kernel, stride, pads before, pads after)
        let cases = [
            (1, 3, 7, 7, 5, 1, [2, 2], [2, 2]),
            (1, 4, 14, 11, 3, 2, [0, 0], [1, 1]),
            (1, 2, 20, 20, 3, 1, [1, 1], [1, 1]),
            (2, 3, 13, 9, 5, 2, [2, 2], [2, 2]),
            (1, 5, 28, 28, 5, 2, [1, 1], [2, 2]),
            (1, 1, 1, 1, 3, 1, [1, 1], [1, 1]),
            (1, 2, 9, 40, 3, 1, [0, 0], [0, 0]),
        ];
        for (case, &(n, c, h, w, k, s, before, after)) in cases.iter().enumerate() {
            let value = |i: usize, scale: f32| ((i * 7919 + case * 31) % 1013) as f32 / 1013.0 * scale - scale / 2.0;
            let mut model = TypedModel::default();
            let x = model.add_source("x", f32::fact([n, c, h, w]))?;
            let kernel = Tensor::from_shape(&[c, 1, k, k], &(0..c * k * k).map(|i| value(i, 2.0)).collect::<Vec<_>>())?;
            let bias = Tensor::from_shape(&[c], &(0..c).map(|i| value(i + 99, 1.0)).collect::<Vec<_>>())?;
            let kernel = model.add_const("kernel", kernel)?;
            let bias = model.add_const("bias", bias)?;
            let conv = Conv {
                pool_spec: PoolSpec {
                    data_format: DataFormat::NCHW,
                    kernel_shape: tvec![k, k],
                    padding: PaddingSpec::Explicit(tvec![before[0], before[1]], tvec![after[0], after[1]]),
                    dilations: None,
                    strides: Some(tvec![s, s]),
                    input_channels: c,
                    output_channels: c,
                },
                kernel_fmt: KernelFormat::OIHW,
                group: c,
                q_params: None,
            };
            let y = model.wire_node("conv", conv, &[x, kernel, bias])?;
            model.select_output_outlets(&y)?;
            let input =
                Tensor::from_shape(&[n, c, h, w], &(0..n * c * h * w).map(|i| value(i, 4.0)).collect::<Vec<_>>())?;

            let tract = model.clone().into_optimized()?.into_runnable()?.run(tvec![input.clone().into_tvalue()])?;
            let mut ours = model.into_decluttered()?;
            assert_eq!(rewrite(&mut ours)?, 1, "case {case}: the convolution was not replaced");
            let ours = ours.into_optimized()?;
            assert!(ours.nodes.iter().any(|n| n.op_is::<DepthwiseNchw>()), "case {case}: ours was optimised away");
            let ours = ours.into_runnable()?.run(tvec![input.into_tvalue()])?;

            let (a, b) = (tract[0].to_plain_array_view::<f32>()?, ours[0].to_plain_array_view::<f32>()?);
            assert_eq!(a.shape(), b.shape(), "case {case}");
            for (i, (p, q)) in a.iter().zip(b.iter()).enumerate() {
                assert!(p == q, "case {case}: output {i} is {q}, tract's {p}");
            }
        }
        Ok(())
    }
}

//! The probe: a compiled network reading a set of taps, and the frames that
//! go through it.
//!
//! In: normalised frames rendered by the stimulus stage. Out: per tap,
//! activations `[frames, units]` ([`TapActivations`]), each unit reduced as
//! its [`Reduction`] says. Batches of frames are spread over all cores, each
//! worker with its own engine session.

use rayon::prelude::*;

use super::card::InputSpec;
use super::engine::{Input, Network};
use super::taps::{Reduction, Tap, TapLayout};
use crate::error::{Error, Result};
use crate::images::{Image, Preprocess};

/// Activations of one tap over frames: `data[frame * units + unit]`.
#[derive(Clone, Debug, PartialEq)]
pub struct TapActivations {
    /// The tap.
    pub tap: Tap,
    /// Units per frame.
    pub units: usize,
    /// Frames.
    pub frames: usize,
    /// Frame-major values.
    pub data: Vec<f32>,
}

/// A compiled model reading a set of taps.
pub struct Probe {
    pub(crate) model_name: String,
    pub(crate) input: InputSpec,
    pub(crate) preprocess: Preprocess,
    pub(crate) taps: Vec<Tap>,
    pub(crate) batch: usize,
    pub(crate) net: Box<dyn Network>,
}

impl Probe {
    /// The taps read, in order.
    pub fn taps(&self) -> &[Tap] {
        &self.taps
    }
    /// Frames per network run.
    pub fn batch(&self) -> usize {
        self.batch
    }

    fn image_shape(&self) -> [usize; 4] {
        let i = &self.input;
        [self.batch, i.channels, i.height, i.width]
    }

    /// Logits (first output) for prepared images (values in [0, 1],
    /// model-sized); normalisation is applied here. One row per image.
    pub fn logits(&self, images: &[Image]) -> Result<Vec<Vec<f32>>> {
        batched_logits(self.net.as_ref(), &self.model_name, &self.input, &self.preprocess, self.batch, images, &[])
    }

    /// Run a normalised input batch `[batch, C, H, W]`; each output flattened.
    pub(crate) fn run_raw(&self, input: &[f32]) -> Result<Vec<Vec<f32>>> {
        let mut session = self.net.session()?;
        let shape = self.image_shape();
        let mut outs = Vec::new();
        session.run(&[Input { shape: &shape, data: input }], &mut |_, o| {
            outs.push(o.to_vec());
            Ok(())
        })?;
        Ok(outs)
    }

    /// Run `frames` frames through the network. `render(i, buf)` writes frame
    /// `i` (planar [0, 1] values, model-sized) into `buf`; normalisation is
    /// applied here. `progress(done)` is called after each batch with the
    /// number of frames finished. Batches run in parallel on all cores.
    pub fn run<R, P>(&self, frames: usize, render: R, progress: P) -> Result<Vec<TapActivations>>
    where
        R: Fn(usize, &mut [f32]) + Sync,
        P: Fn(usize) + Sync,
    {
        let per = self.input.channels * self.input.height * self.input.width;
        let n_batches = frames.div_ceil(self.batch);
        let units: Vec<usize> = self.taps.iter().map(Tap::units).collect();
        let results: Vec<Result<Vec<Vec<f32>>>> = (0..n_batches)
            .into_par_iter()
            .map_init(
                || self.net.session(),
                |session, b| {
                    let session = session.as_mut().map_err(|e| Error::Inference {
                        model: self.model_name.clone(),
                        message: e.to_string(),
                        source: None,
                    })?;
                    let first = b * self.batch;
                    let mut buf = vec![0f32; self.batch * per];
                    for j in 0..self.batch {
                        // pad the last batch by repeating its last frame
                        let f = (first + j).min(frames - 1);
                        let slot = &mut buf[j * per..(j + 1) * per];
                        render(f, slot);
                        self.preprocess.normalise(slot, self.input.channels);
                    }
                    let real = (frames - first).min(self.batch);
                    let shape = self.image_shape();
                    let mut reduced = Vec::with_capacity(self.taps.len());
                    session.run(&[Input { shape: &shape, data: &buf }], &mut |k, o| {
                        if let (Some(tap), Some(&u)) = (self.taps.get(k), units.get(k)) {
                            reduced.push(reduce(o, self.batch, real, tap, u, self.net.reduced(k))?);
                        } // else: the model's own outputs of a probe without taps
                        Ok(())
                    })?;
                    progress(real);
                    Ok(reduced)
                },
            )
            .collect();
        let mut acts: Vec<TapActivations> = self
            .taps
            .iter()
            .zip(&units)
            .map(|(t, &u)| TapActivations { tap: t.clone(), units: u, frames, data: Vec::with_capacity(frames * u) })
            .collect();
        for r in results {
            for (a, part) in acts.iter_mut().zip(r?) {
                a.data.extend_from_slice(&part);
            }
        }
        Ok(acts)
    }
}

impl Probe {
    /// Run the first batch of frames (`render` as in [`Probe::run`]) timing
    /// every operator of the engine, where it can (tract; `None` for
    /// onnxruntime, whose own profiler is the tool there): where the
    /// network's time goes, per kind of operator, most first.
    pub fn op_profile<R>(&self, render: R) -> Result<Option<Vec<super::engine::OpTime>>>
    where
        R: Fn(usize, &mut [f32]),
    {
        let per = self.input.channels * self.input.height * self.input.width;
        let mut buf = vec![0f32; self.batch * per];
        for j in 0..self.batch {
            let slot = &mut buf[j * per..(j + 1) * per];
            render(j, slot);
            self.preprocess.normalise(slot, self.input.channels);
        }
        let shape = self.image_shape();
        let mut session = self.net.session()?;
        session.profile(&[Input { shape: &shape, data: &buf }])
    }
}

/// Logits (the first output) of prepared images, `batch` images per run and
/// batches in parallel; `extra` inputs (e.g. masks) are fed with every batch.
/// Normalisation is applied here. One row per image.
pub(crate) fn batched_logits(
    net: &dyn Network,
    model_name: &str,
    input: &InputSpec,
    preprocess: &Preprocess,
    batch: usize,
    images: &[Image],
    extra: &[Input<'_>],
) -> Result<Vec<Vec<f32>>> {
    let i = input;
    let per = i.channels * i.height * i.width;
    if let Some(bad) = images.iter().find(|img| img.data.len() != per) {
        return Err(Error::Data(format!(
            "image {} is {}×{}×{}, the model wants {}×{}×{}; prepare it with Model::prepare",
            bad.name, bad.channels, bad.height, bad.width, i.channels, i.height, i.width
        )));
    }
    let shape = [batch, i.channels, i.height, i.width];
    let chunks: Vec<&[Image]> = images.chunks(batch).collect();
    let rows: Vec<Result<Vec<Vec<f32>>>> = chunks
        .par_iter()
        .map_init(
            || net.session(),
            |session, chunk| {
                let session = session.as_mut().map_err(|e| Error::Inference {
                    model: model_name.to_string(),
                    message: e.to_string(),
                    source: None,
                })?;
                let mut buf = vec![0f32; batch * per];
                for (j, img) in chunk.iter().enumerate() {
                    let slot = &mut buf[j * per..(j + 1) * per];
                    slot.copy_from_slice(&img.data);
                    preprocess.normalise(slot, i.channels);
                }
                let mut inputs = vec![Input { shape: &shape, data: &buf }];
                inputs.extend(extra.iter().map(|x| Input { shape: x.shape, data: x.data }));
                let mut first = None;
                session.run(&inputs, &mut |k, o| {
                    if k == 0 {
                        first = Some(o.to_vec());
                    }
                    Ok(())
                })?;
                let flat = first.ok_or_else(|| Error::Data(format!("model {model_name} has no output")))?;
                let classes = flat.len() / batch;
                Ok((0..chunk.len()).map(|j| flat[j * classes..(j + 1) * classes].to_vec()).collect())
            },
        )
        .collect();
    let mut out = Vec::with_capacity(images.len());
    for r in rows {
        out.extend(r?);
    }
    Ok(out)
}

/// Reduce one tap's batch output `[batch, shape…]` to `[real, units]`
/// (`in_graph`: the engine already took the spatial mean, `[batch, C]`).
fn reduce(out: &[f32], batch: usize, real: usize, tap: &Tap, units: usize, in_graph: bool) -> Result<Vec<f32>> {
    let per_frame = out.len() / batch;
    if in_graph {
        if per_frame != units {
            return Err(Error::Data(format!(
                "tap {} produced {per_frame} means per frame, expected {units}",
                tap.info.name
            )));
        }
        return Ok(out[..real * units].to_vec());
    }
    let expected: usize = tap.info.shape.iter().product();
    if per_frame != expected {
        return Err(Error::Data(format!(
            "tap {} produced {per_frame} values per frame, expected shape {:?}",
            tap.info.name, tap.info.shape
        )));
    }
    let mut v = Vec::with_capacity(real * units);
    for f in 0..real {
        let frame = &out[f * per_frame..(f + 1) * per_frame];
        match tap.info.layout {
            TapLayout::Tokens { prefix, channels, .. } => reduce_tokens(frame, prefix, channels, tap.reduction, &mut v),
            TapLayout::Attention { prefix, grid, .. } => {
                reduce_attention(frame, prefix, prefix + grid[0] * grid[1], tap.reduction, &mut v)
            }
            _ => reduce_channels(frame, tap.info.positions(), tap.reduction, &mut v),
        }
    }
    Ok(v)
}

/// A channel map `[C, positions]`: per channel (or every element).
fn reduce_channels(frame: &[f32], pos: usize, reduction: Reduction, v: &mut Vec<f32>) {
    match reduction {
        Reduction::PerPosition | Reduction::SpecialTokens => v.extend_from_slice(frame),
        Reduction::SpatialMean => v.extend(frame.chunks(pos).map(|ch| (sum_f32(ch) / pos as f64) as f32)),
        Reduction::MeanOfSquares => v.extend(
            frame.chunks(pos).map(|ch| (ch.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>() / pos as f64) as f32),
        ),
    }
}

/// A token sequence `[prefix + patches, C]`: per channel the mean over the
/// patch tokens (or of their squares); per channel × patch; per channel ×
/// special token. Units are channel-major.
fn reduce_tokens(frame: &[f32], prefix: usize, c: usize, reduction: Reduction, v: &mut Vec<f32>) {
    let rows: Vec<&[f32]> = frame.chunks(c).collect();
    let patches = &rows[prefix..];
    match reduction {
        Reduction::SpatialMean | Reduction::MeanOfSquares => {
            column_means(patches, c, reduction == Reduction::MeanOfSquares, v)
        }
        Reduction::PerPosition => (0..c).for_each(|ch| v.extend(patches.iter().map(|row| row[ch]))),
        Reduction::SpecialTokens => (0..c).for_each(|ch| v.extend(rows[..prefix].iter().map(|row| row[ch]))),
    }
}

/// Attention probabilities `[heads, T, T]` (query rows, key columns): per
/// head × key the mean over the patch-token queries (or of squares); every
/// element; the special-token queries' rows.
fn reduce_attention(frame: &[f32], prefix: usize, t: usize, reduction: Reduction, v: &mut Vec<f32>) {
    for head in frame.chunks(t * t) {
        let rows: Vec<&[f32]> = head.chunks(t).collect();
        match reduction {
            Reduction::SpatialMean | Reduction::MeanOfSquares => {
                column_means(&rows[prefix..], t, reduction == Reduction::MeanOfSquares, v)
            }
            Reduction::PerPosition => v.extend_from_slice(head),
            Reduction::SpecialTokens => rows[..prefix].iter().for_each(|row| v.extend_from_slice(row)),
        }
    }
}

/// Per column of `rows` (each `width` long), the mean of the values (or of
/// their squares) over the rows, accumulated in f64, appended to `v`.
fn column_means(rows: &[&[f32]], width: usize, square: bool, v: &mut Vec<f32>) {
    let mut sums = vec![0f64; width];
    for row in rows {
        for (s, &x) in sums.iter_mut().zip(row.iter()) {
            *s += if square { (x as f64) * (x as f64) } else { x as f64 };
        }
    }
    v.extend(sums.iter().map(|s| (s / rows.len() as f64) as f32));
}

/// Sum of `x` in f64 precision, fast: 8 independent f32 lanes over blocks
/// of 512 values (which the compiler vectorises), each block's total added
/// in f64. The error is that of 64-term f32 sums, far below the f32 output.
fn sum_f32(x: &[f32]) -> f64 {
    let mut total = 0f64;
    for block in x.chunks(512) {
        let mut lanes = [0f32; 8];
        let mut it = block.chunks_exact(8);
        for c in &mut it {
            for (l, v) in lanes.iter_mut().zip(c) {
                *l += v;
            }
        }
        total += lanes.iter().map(|&l| l as f64).sum::<f64>() + it.remainder().iter().map(|&v| v as f64).sum::<f64>();
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_sum_matches_f64_sum() {
        let x: Vec<f32> = (0..12_545).map(|i| ((i * 7919) % 1000) as f32 / 997.0 - 0.3).collect();
        let exact: f64 = x.iter().map(|&v| v as f64).sum();
        // f32 lanes: the error bound scales with Σ|x| and f32's epsilon (1.2e-7)
        let scale: f64 = x.iter().map(|&v| (v as f64).abs()).sum();
        assert!((sum_f32(&x) - exact).abs() < 1e-6 * scale, "{} vs {exact}", sum_f32(&x));
        assert_eq!(sum_f32(&[]), 0.0);
        assert_eq!(sum_f32(&[1.5, 2.5, 3.0]), 7.0);
    }
}

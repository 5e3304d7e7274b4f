//! Images in, model-sized float images out.
//!
//! An [`Image`] is a planar (channel, row, column) `f32` array with values in
//! [0, 1], the colour space of the source (RGB or grey). The stimulus stage
//! modulates these values; the model's normalisation
//! ([`Preprocess::normalise`]) is applied to each frame only afterwards, so
//! modulation depths mean what they say (METHOD.md, convention 3).
//!
//! Loading: PNG/JPEG files ([`Image::open`]), NumPy arrays of grey images
//! such as scikit-image's `lfw_subset.npy` ([`load_npy_stack`]), and
//! scikit-learn's 8×8 digits ([`digits_to_mnist`]).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A float image: `data[c * height * width + y * width + x]`, values in [0, 1].
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    /// A short name used in tables and file names (the file stem by default).
    pub name: String,
    /// 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// Planar pixel values in [0, 1].
    pub data: Vec<f32>,
}

/// How a model wants its input image prepared (read from its model card).
///
/// Pixel values `x` in [0, 1] become `(x · value_scale − mean[c]) / std[c]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preprocess {
    /// Resize so the shorter side has this many pixels (keeping the aspect
    /// ratio) before cropping; `None` resizes straight to the input size.
    pub resize_short_side: Option<usize>,
    /// Centre-crop a square of this size after resizing; `None`: no crop.
    pub center_crop: Option<usize>,
    /// Factor applied to [0, 1] values before `mean`/`std` (255 for models
    /// trained on 0–255 values).
    pub value_scale: f32,
    /// Per-channel value subtracted after scaling.
    pub mean: Vec<f32>,
    /// Per-channel divisor after subtracting the mean.
    pub std: Vec<f32>,
}

impl Preprocess {
    /// Normalise planar [0, 1] values in place for a model with `channels`.
    pub fn normalise(&self, data: &mut [f32], channels: usize) {
        let plane = data.len() / channels.max(1);
        for c in 0..channels {
            let m = self.mean.get(c).or(self.mean.first()).copied().unwrap_or(0.0);
            let s = self.std.get(c).or(self.std.first()).copied().unwrap_or(1.0);
            let (scale, inv) = (self.value_scale, 1.0 / s);
            for v in &mut data[c * plane..(c + 1) * plane] {
                *v = (*v * scale - m) * inv;
            }
        }
    }

    /// Check that the numbers make sense for a model with `channels`.
    pub fn validate(&self, channels: usize) -> std::result::Result<(), String> {
        for (what, v) in [("mean", &self.mean), ("std", &self.std)] {
            if v.len() != 1 && v.len() != channels {
                return Err(format!("preprocess {what} has {} values, the model has {channels} channels", v.len()));
            }
        }
        if self.std.iter().any(|s| !(s.is_finite() && *s != 0.0)) {
            return Err(format!("preprocess std must be finite and non-zero, got {:?}", self.std));
        }
        if !(self.value_scale.is_finite() && self.value_scale > 0.0) {
            return Err(format!("preprocess value_scale must be positive, got {}", self.value_scale));
        }
        Ok(())
    }
}

/// Whether a path names a PNG or JPEG file by its extension (any case).
pub fn is_image_file(p: &Path) -> bool {
    p.extension().is_some_and(|x| ["png", "jpg", "jpeg"].contains(&x.to_string_lossy().to_lowercase().as_str()))
}

impl Image {
    /// A new image from planar data in [0, 1].
    pub fn new(name: impl Into<String>, channels: usize, height: usize, width: usize, data: Vec<f32>) -> Result<Self> {
        let name = name.into();
        if channels == 0 || height == 0 || width == 0 || data.len() != channels * height * width {
            return Err(Error::Data(format!(
                "image {name}: {} values do not fill {channels}×{height}×{width}",
                data.len()
            )));
        }
        Ok(Image { name, channels, height, width, data })
    }

    /// Decode a PNG or JPEG file to RGB in [0, 1] (no resizing).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read image", path, e))?;
        let decoded = image::load_from_memory(&bytes).map_err(|e| Error::image(path, format!("cannot decode: {e}")))?;
        let rgb = decoded.to_rgb32f();
        let (w, h) = (rgb.width() as usize, rgb.height() as usize);
        let mut data = vec![0f32; 3 * h * w];
        for (i, p) in rgb.pixels().enumerate() {
            for c in 0..3 {
                data[c * h * w + i] = p.0[c].clamp(0.0, 1.0);
            }
        }
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "image".into());
        Image::new(name, 3, h, w, data)
    }

    /// The same pixels under another name.
    pub fn renamed(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Pixel value at channel `c`, row `y`, column `x`.
    pub fn at(&self, c: usize, y: usize, x: usize) -> f32 {
        self.data[(c * self.height + y) * self.width + x]
    }

    /// Convert to `channels` (grey → RGB repeats the plane; RGB → grey uses
    /// ITU-R 601 luma weights).
    pub fn with_channels(&self, channels: usize) -> Result<Image> {
        let plane = self.height * self.width;
        let data = match (self.channels, channels) {
            (a, b) if a == b => self.data.clone(),
            (1, n) => self.data.iter().cycle().take(n * plane).copied().collect(),
            (3, 1) => (0..plane)
                .map(|i| 0.299 * self.data[i] + 0.587 * self.data[plane + i] + 0.114 * self.data[2 * plane + i])
                .collect(),
            (a, b) => return Err(Error::Data(format!("image {}: cannot convert {a} channels to {b}", self.name))),
        };
        Image::new(self.name.clone(), channels, self.height, self.width, data)
    }

    /// Resize with a triangle (bilinear) filter that averages over the
    /// footprint when shrinking (anti-aliased, as PIL does), in float.
    pub fn resize(&self, height: usize, width: usize) -> Image {
        if height == self.height && width == self.width {
            return self.clone();
        }
        let rows = filter_weights(self.height, height);
        let cols = filter_weights(self.width, width);
        let mut data = vec![0f32; self.channels * height * width];
        let mut tmp = vec![0f32; self.height * width];
        for c in 0..self.channels {
            let src = &self.data[c * self.height * self.width..(c + 1) * self.height * self.width];
            for y in 0..self.height {
                for (x, (start, w)) in cols.iter().enumerate() {
                    tmp[y * width + x] = w.iter().enumerate().map(|(k, wk)| wk * src[y * self.width + start + k]).sum();
                }
            }
            let dst = &mut data[c * height * width..(c + 1) * height * width];
            for (y, (start, w)) in rows.iter().enumerate() {
                for x in 0..width {
                    dst[y * width + x] = w.iter().enumerate().map(|(k, wk)| wk * tmp[(start + k) * width + x]).sum();
                }
            }
        }
        Image { name: self.name.clone(), channels: self.channels, height, width, data }
    }

    /// Crop the rectangle with top-left corner (`top`, `left`).
    pub fn crop(&self, top: usize, left: usize, height: usize, width: usize) -> Result<Image> {
        if top + height > self.height || left + width > self.width {
            return Err(Error::Data(format!(
                "image {}: crop {height}×{width} at ({top}, {left}) exceeds {}×{}",
                self.name, self.height, self.width
            )));
        }
        let mut data = Vec::with_capacity(self.channels * height * width);
        for c in 0..self.channels {
            for y in top..top + height {
                let row = (c * self.height + y) * self.width;
                data.extend_from_slice(&self.data[row + left..row + left + width]);
            }
        }
        Image::new(self.name.clone(), self.channels, height, width, data)
    }

    /// Prepare for a model: channel conversion, resize of the short side,
    /// centre crop (left/top offsets rounded down), and a final resize to
    /// exactly `height`×`width` if the card's sizes do not already give it.
    /// Values stay in [0, 1]; normalisation comes after modulation.
    pub fn for_model(&self, pre: &Preprocess, channels: usize, height: usize, width: usize) -> Result<Image> {
        let mut img = self.with_channels(channels)?;
        if let Some(short) = pre.resize_short_side {
            let (h, w) = (img.height as f64, img.width as f64);
            let s = short as f64 / h.min(w);
            // the long side is floored, as PIL-based pipelines do (451×300 → 384×256)
            let (nh, nw) = (((h * s + 1e-9).floor() as usize).max(short), ((w * s + 1e-9).floor() as usize).max(short));
            let (nh, nw) = if img.height <= img.width { (short, nw) } else { (nh, short) };
            img = img.resize(nh, nw);
        }
        if let Some(crop) = pre.center_crop {
            let crop_h = crop.min(img.height);
            let crop_w = crop.min(img.width);
            img = img.crop((img.height - crop_h) / 2, (img.width - crop_w) / 2, crop_h, crop_w)?;
        }
        Ok(img.resize(height, width))
    }

    /// Encode as an 8-bit PNG (for plots and reports; the analysis never
    /// quantises).
    pub fn to_rgb8(&self) -> image::RgbImage {
        let plane = self.height * self.width;
        image::RgbImage::from_fn(self.width as u32, self.height as u32, |x, y| {
            let i = y as usize * self.width + x as usize;
            let px = |c: usize| {
                let c = if self.channels == 3 { c } else { 0 };
                (self.data[c * plane + i].clamp(0.0, 1.0) * 255.0).round() as u8
            };
            image::Rgb([px(0), px(1), px(2)])
        })
    }
}

/// For each output index: the first input index and the normalised weights
/// of a triangle filter whose support widens by the shrink factor.
fn filter_weights(input: usize, output: usize) -> Vec<(usize, Vec<f32>)> {
    let scale = input as f64 / output as f64;
    let support = scale.max(1.0);
    (0..output)
        .map(|o| {
            let centre = (o as f64 + 0.5) * scale;
            let lo = ((centre - support).floor().max(0.0)) as usize;
            let hi = ((centre + support).ceil() as usize).min(input);
            let mut w: Vec<f64> =
                (lo..hi).map(|i| (1.0 - ((i as f64 + 0.5 - centre) / support).abs()).max(0.0)).collect();
            let total: f64 = w.iter().sum();
            if total > 0.0 {
                w.iter_mut().for_each(|v| *v /= total);
            } else {
                // degenerate footprint: nearest pixel
                w = vec![0.0; hi - lo];
                let nearest = (centre.floor() as usize).clamp(lo, hi - 1);
                w[nearest - lo] = 1.0;
            }
            (lo, w.into_iter().map(|v| v as f32).collect())
        })
        .collect()
}

/// Read a stack of grey images `[n, height, width]` from a `.npy` file
/// (float32, float64 or uint8; floats are taken as [0, 1], uint8 divided by
/// 255). Images are named `<prefix>_<index>`.
pub fn load_npy_stack(path: impl AsRef<Path>, prefix: &str) -> Result<Vec<Image>> {
    let path = path.as_ref();
    let arr = read_npy_f32(path)?;
    if arr.ndim() != 3 {
        return Err(Error::image(path, format!("expected [n, height, width], got shape {:?}", arr.shape())));
    }
    let (n, h, w) = (arr.shape()[0], arr.shape()[1], arr.shape()[2]);
    (0..n)
        .map(|i| {
            let data: Vec<f32> = arr.index_axis(ndarray::Axis(0), i).iter().copied().collect();
            Image::new(format!("{prefix}_{i:03}"), 1, h, w, data)
        })
        .collect()
}

/// Read a `.npy` array of f32, f64, u8 or i64 values as f32 (u8 scaled to
/// [0, 1]).
pub fn read_npy_f32(path: &Path) -> Result<ndarray::ArrayD<f32>> {
    use ndarray_npy::ReadNpyExt;
    let open = || std::fs::File::open(path).map_err(|e| Error::io("cannot read", path, e));
    if let Ok(a) = ndarray::ArrayD::<f32>::read_npy(open()?) {
        return Ok(a);
    }
    if let Ok(a) = ndarray::ArrayD::<f64>::read_npy(open()?) {
        return Ok(a.mapv(|v| v as f32));
    }
    if let Ok(a) = ndarray::ArrayD::<u8>::read_npy(open()?) {
        return Ok(a.mapv(|v| v as f32 / 255.0));
    }
    match ndarray::ArrayD::<i64>::read_npy(open()?) {
        Ok(a) => Ok(a.mapv(|v| v as f32)),
        Err(e) => Err(Error::image(path, format!("not a readable .npy array of numbers: {e}"))),
    }
}

/// Read a `.npy` array of small unsigned integers (labels) of any integer
/// dtype.
pub fn read_npy_labels(path: &Path) -> Result<Vec<u32>> {
    use ndarray_npy::ReadNpyExt;
    let open = || std::fs::File::open(path).map_err(|e| Error::io("cannot read", path, e));
    if let Ok(a) = ndarray::ArrayD::<u8>::read_npy(open()?) {
        return Ok(a.iter().map(|&v| v as u32).collect());
    }
    match ndarray::ArrayD::<i64>::read_npy(open()?) {
        Ok(a) => Ok(a.iter().map(|&v| v.max(0) as u32).collect()),
        Err(e) => Err(Error::image(path, format!("not a readable .npy array of labels: {e}"))),
    }
}

/// Bilinear resize with half-pixel centres and edge clamping, no
/// anti-aliasing (PyTorch `interpolate(mode="bilinear", align_corners=False)`).
pub fn bilinear_half_pixel(src: &[f32], h: usize, w: usize, nh: usize, nw: usize) -> Vec<f32> {
    let coord = |o: usize, n_in: usize, n_out: usize| {
        let x = ((o as f64 + 0.5) * n_in as f64 / n_out as f64 - 0.5).max(0.0);
        let i0 = (x.floor() as usize).min(n_in - 1);
        let i1 = (i0 + 1).min(n_in - 1);
        (i0, i1, (x - i0 as f64) as f32)
    };
    let mut out = vec![0f32; nh * nw];
    for y in 0..nh {
        let (y0, y1, fy) = coord(y, h, nh);
        for x in 0..nw {
            let (x0, x1, fx) = coord(x, w, nw);
            let top = src[y0 * w + x0] * (1.0 - fx) + src[y0 * w + x1] * fx;
            let bot = src[y1 * w + x0] * (1.0 - fx) + src[y1 * w + x1] * fx;
            out[y * nw + x] = top * (1.0 - fy) + bot * fy;
        }
    }
    out
}

/// Turn scikit-learn's 8×8 digits (values 0–16) into 28×28 MNIST-style grey
/// images in [0, 1]: divide by 16, bilinear resize to 20×20 (half-pixel
/// centres, no anti-aliasing), pad 4 pixels of zeros on every side.
pub fn digits_to_mnist(digits: &ndarray::ArrayD<f32>, raw_scale_to_16: bool) -> Result<Vec<Image>> {
    if digits.ndim() != 3 || digits.shape()[1] != 8 || digits.shape()[2] != 8 {
        return Err(Error::Data(format!("digits must be [n, 8, 8], got {:?}", digits.shape())));
    }
    let n = digits.shape()[0];
    (0..n)
        .map(|i| {
            let d: Vec<f32> = digits
                .index_axis(ndarray::Axis(0), i)
                .iter()
                .map(|&v| if raw_scale_to_16 { v / 16.0 } else { v })
                .collect();
            let small = bilinear_half_pixel(&d, 8, 8, 20, 20);
            let mut data = vec![0f32; 28 * 28];
            for y in 0..20 {
                data[(y + 4) * 28 + 4..(y + 4) * 28 + 24].copy_from_slice(&small[y * 20..(y + 1) * 20]);
            }
            Image::new(format!("digit_{i:04}"), 1, 28, 28, data)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(h: usize, w: usize) -> Image {
        let data = (0..h * w).map(|i| (i % w) as f32 / (w - 1) as f32).collect();
        Image::new("ramp", 1, h, w, data).unwrap()
    }

    #[test]
    fn resize_keeps_constant_images_constant_and_means() {
        let img = Image::new("c", 1, 10, 14, vec![0.25; 140]).unwrap();
        let r = img.resize(7, 5);
        assert!(r.data.iter().all(|v| (v - 0.25).abs() < 1e-6));
        // shrinking by an integer factor averages blocks: mean is preserved
        let ramp = ramp(8, 8);
        let half = ramp.resize(4, 4);
        let m0: f32 = ramp.data.iter().sum::<f32>() / 64.0;
        let m1: f32 = half.data.iter().sum::<f32>() / 16.0;
        assert!((m0 - m1).abs() < 1e-5, "{m0} vs {m1}");
    }

    #[test]
    fn crop_and_centre_crop_take_the_middle() {
        let img = ramp(4, 6);
        let c = img.crop(1, 2, 2, 2).unwrap();
        assert_eq!(c.data, vec![img.at(0, 1, 2), img.at(0, 1, 3), img.at(0, 2, 2), img.at(0, 2, 3)]);
        assert!(img.crop(3, 0, 2, 2).is_err());
        let pre = Preprocess {
            resize_short_side: None,
            center_crop: Some(4),
            value_scale: 1.0,
            mean: vec![0.0],
            std: vec![1.0],
        };
        let m = img.for_model(&pre, 1, 4, 4).unwrap();
        assert_eq!(m.data[0], img.at(0, 0, 1));
    }

    #[test]
    fn bilinear_half_pixel_matches_hand_values() {
        // 2 -> 4 upsampling of [0, 1]: positions -0.25, 0.25, 0.75, 1.25 → 0, 0.25, 0.75, 1
        let out = bilinear_half_pixel(&[0.0, 1.0], 1, 2, 1, 4);
        assert_eq!(out, vec![0.0, 0.25, 0.75, 1.0]);
    }

    #[test]
    fn normalise_applies_scale_mean_std() {
        let pre = Preprocess {
            resize_short_side: None,
            center_crop: None,
            value_scale: 255.0,
            mean: vec![127.0; 3],
            std: vec![128.0; 3],
        };
        let mut v = vec![0.0, 1.0, 0.5];
        pre.normalise(&mut v, 3);
        assert!((v[0] + 127.0 / 128.0).abs() < 1e-6 && (v[1] - 1.0).abs() < 1e-6);
        assert!(pre.validate(3).is_ok());
        let bad = Preprocess { std: vec![0.0], ..pre };
        assert!(bad.validate(3).is_err());
    }
}

//! The data sets of an ablation study: which images rank the units and
//! which measure the damage.
//!
//! In: the data folder (`freqtag::data_dir()`) and the model. Out: the
//! ranking images and an [`EvalSet`] of other images, prepared for the
//! model — [`digit_sets`]: scikit-learn's labelled digits as 28×28 MNIST
//! inputs, the first `n_rank` rank and the next ones evaluate (with labels);
//! [`photo_sets`]: shipped photos by name rank, the others evaluate in
//! variants ([`photo_variant`]: mirrored, cropped), without labels. A
//! [`Dataset`] names the choice (`auto`: digits for a one-channel model).

use std::path::Path;

use super::evaluate::EvalSet;
use crate::config::load_images;
use crate::error::{Error, Result};
use crate::images::{digits_to_mnist, read_npy_f32, read_npy_labels, Image};
use crate::model::Model;

/// scikit-learn's labelled digits (`digits/digits_images.npy`,
/// `digits/digits_labels.npy` under `data_dir`) as 28×28 MNIST-style images
/// ([`digits_to_mnist`]) with their labels.
pub fn load_digits(data_dir: &Path) -> Result<(Vec<Image>, Vec<u32>)> {
    let raw = read_npy_f32(&data_dir.join("digits/digits_images.npy"))?;
    // the file holds uint8 0..16, which read_npy_f32 scales by 1/255
    let images = digits_to_mnist(&raw.mapv(|v| (v * 255.0).round()), true)?;
    let labels = read_npy_labels(&data_dir.join("digits/digits_labels.npy"))?;
    if labels.len() != images.len() {
        return Err(Error::Data(format!("{} digit labels for {} digit images", labels.len(), images.len())));
    }
    Ok((images, labels))
}

/// Names of the photo variants made by [`photo_variant`].
pub const PHOTO_VARIANTS: [&str; 6] = ["orig", "flip", "crop-tl", "crop-br", "crop-centre", "flip-crop-centre"];

/// A variant of a photo, before the model's own resize and crop: `orig`,
/// `flip` (left–right mirror), `crop-tl` / `crop-br` (the top-left /
/// bottom-right 75 % × 75 %), `crop-centre` (the central 60 % × 60 %),
/// `flip-crop-centre`. Named `<image>@<variant>`.
pub fn photo_variant(image: &Image, variant: &str) -> Result<Image> {
    let (h, w) = (image.height, image.width);
    let frac = |f: f64, n: usize| ((n as f64 * f).round() as usize).clamp(1, n);
    let out = match variant {
        "orig" => image.clone(),
        "flip" => flip(image),
        "crop-tl" => image.crop(0, 0, frac(0.75, h), frac(0.75, w))?,
        "crop-br" => image.crop(h - frac(0.75, h), w - frac(0.75, w), frac(0.75, h), frac(0.75, w))?,
        "crop-centre" => image.crop((h - frac(0.6, h)) / 2, (w - frac(0.6, w)) / 2, frac(0.6, h), frac(0.6, w))?,
        "flip-crop-centre" => flip(&photo_variant(image, "crop-centre")?),
        other => {
            return Err(Error::Config(format!(
                "photo variant '{other}' is not known; use {}",
                PHOTO_VARIANTS.join(", ")
            )));
        }
    };
    Ok(out.renamed(format!("{}@{variant}", image.name)))
}

fn flip(image: &Image) -> Image {
    let mut data = image.data.clone();
    for row in data.chunks_mut(image.width) {
        row.reverse();
    }
    Image { data, ..image.clone() }
}

/// Where the ranking and evaluation images of a study come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dataset {
    /// scikit-learn's labelled digits as MNIST inputs ([`digit_sets`]).
    Digits,
    /// The shipped photos in variants, without labels ([`photo_sets`]).
    Photos,
}

impl Dataset {
    /// `digits`, `photos`, or `auto`: digits for a one-channel model, photos
    /// otherwise.
    pub fn choose(name: &str, model: &Model) -> Result<Dataset> {
        match name {
            "auto" if model.input.channels == 1 => Ok(Dataset::Digits),
            "auto" | "photos" => Ok(Dataset::Photos),
            "digits" => Ok(Dataset::Digits),
            other => Err(Error::Config(format!("dataset '{other}' is not known; use auto, digits or photos"))),
        }
    }
}

/// The labelled digits of [`load_digits`] under `data_dir`, split: the first
/// `n_rank` rank the units; the next `n_eval` (default: all the others)
/// evaluate, with their labels, prepared for `model`. Returns (ranking
/// images, evaluation set).
pub fn digit_sets(
    model: &Model,
    data_dir: &Path,
    n_rank: usize,
    n_eval: Option<usize>,
) -> Result<(Vec<Image>, EvalSet)> {
    let (images, labels) = load_digits(data_dir)?;
    if n_rank == 0 || n_rank >= images.len() {
        return Err(Error::Config(format!("--rank-digits must be 1 to {}, got {n_rank}", images.len() - 1)));
    }
    let rest = images.len() - n_rank;
    let n_eval = n_eval.unwrap_or(rest);
    if n_eval == 0 || n_eval > rest {
        return Err(Error::Config(format!(
            "{n_eval} evaluation digits asked for; after the {n_rank} ranking digits there are 1 to {rest}"
        )));
    }
    let end = n_rank + n_eval;
    let description = format!(
        "scikit-learn digits {}–{} as 28×28 MNIST inputs, labelled ({} of the {}; the first {n_rank} rank the units)",
        n_rank,
        end - 1,
        n_eval,
        images.len()
    );
    let eval = EvalSet::new(model, description, &images[n_rank..end], Some(labels[n_rank..end].to_vec()))?;
    Ok((images[..n_rank].to_vec(), eval))
}

/// The photos that rank a model's units by default in `freqtag prune`:
/// five photos, each as is and mirrored (`orig,flip`), ten tagging images;
/// the other five shipped photos evaluate. The two motorcycle photos stay
/// on one side.
pub const DEFAULT_RANK_PHOTOS: [&str; 5] = ["chelsea", "coffee", "astronaut", "motorcycle_left", "motorcycle_right"];

/// The shipped photos (`images/` under `data_dir`), split: `rank` (file
/// stems) rank the units, each in every one of `rank_variants` (a mirrored
/// photo puts other content under each tagged half, so it is another
/// tagging stimulus); `eval` (default: every other photo) evaluate, each in
/// every one of `variants` ([`PHOTO_VARIANTS`]), without labels, prepared
/// for `model`, grouped by photo ([`EvalSet::grouped`]: the bootstrap
/// resamples photos, not variants). A photo cannot both rank and evaluate.
/// Returns (ranking images, evaluation set).
pub fn photo_sets(
    model: &Model,
    data_dir: &Path,
    rank: &[String],
    rank_variants: &[String],
    eval: Option<&[String]>,
    variants: &[String],
) -> Result<(Vec<Image>, EvalSet)> {
    if rank_variants.is_empty() || variants.is_empty() {
        return Err(Error::Config("photos: name at least one variant for ranking and for evaluation".into()));
    }
    for v in variants.iter().chain(rank_variants) {
        if !PHOTO_VARIANTS.contains(&v.as_str()) {
            return Err(Error::Config(format!("photo variant '{v}' is not known; use {}", PHOTO_VARIANTS.join(", "))));
        }
    }
    let folder = data_dir.join("images");
    let all = load_images(&[folder.to_string_lossy().into_owned()])?;
    let names: Vec<&str> = all.iter().map(|i| i.name.as_str()).collect();
    let find = |n: &String| {
        all.iter().find(|i| i.name == *n).cloned().ok_or_else(|| {
            Error::Config(format!("no photo '{n}' in {}; there are {}", folder.display(), names.join(", ")))
        })
    };
    let rank_photos = rank.iter().map(find).collect::<Result<Vec<_>>>()?;
    let eval_photos: Vec<Image> = match eval {
        Some(list) => list.iter().map(find).collect::<Result<_>>()?,
        None => all.iter().filter(|i| !rank.contains(&i.name)).cloned().collect(),
    };
    if let Some(both) = eval_photos.iter().find(|i| rank.contains(&i.name)) {
        return Err(Error::Config(format!("photo '{}' cannot both rank and evaluate", both.name)));
    }
    if rank_photos.is_empty() || eval_photos.is_empty() {
        return Err(Error::Config("photos: both the ranking and the evaluation set need at least one photo".into()));
    }
    let mut rank_images = Vec::new();
    for p in &rank_photos {
        for v in rank_variants {
            rank_images.push(if rank_variants.len() == 1 && v == "orig" { p.clone() } else { photo_variant(p, v)? });
        }
    }
    let (mut images, mut groups) = (Vec::new(), Vec::new());
    for (g, p) in eval_photos.iter().enumerate() {
        for v in variants {
            images.push(photo_variant(p, v)?);
            groups.push(g);
        }
    }
    let description = format!(
        "{} shipped photos ({}) × {} variants ({}), no labels: top-1 agreement and KL against the unablated network",
        eval_photos.len(),
        eval_photos.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", "),
        variants.len(),
        variants.join(", ")
    );
    Ok((rank_images, EvalSet::new(model, description, &images, None)?.grouped(groups)?))
}

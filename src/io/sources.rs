//! Image lists: the one grammar of an image spec, for `freqtag run`,
//! experiment files, sweep files and `freqtag prune`.
//!
//! In: image specs, each one of
//!
//! | spec | means |
//! |---|---|
//! | `cat.png`, `dog.jpg` | one PNG or JPEG file (the format is read from the bytes) |
//! | `data/images` | every PNG/JPEG file in the folder, sorted by path |
//! | `data/images/c*.png`, `data/**/?at.jpg` | every PNG/JPEG file matching the glob, sorted: `*` and `?` within a path component ([`crate::pattern::glob_match`]), `**` for any number of folders; hidden files and folders are skipped |
//! | `faces.npy`, `faces.npy:0-9`, `faces.npy:4` | the grey images of a `[n, height, width]` NumPy stack ([`load_npy_stack`]), all or an inclusive index range |
//!
//! Out: [`expand`] gives the images as an ordered list of [`ImageEntry`] —
//! a name (the file stem, or `<stem>_<index>` with a three-digit index for a
//! stack item) and an [`ImageSource`] — after checking that every file
//! exists and its header decodes, without decoding the pixels: a sweep names
//! its points before it decodes an image. [`ImageEntry::load`] decodes one
//! image; [`load_images`] expands and decodes a whole list at once.
//!
//! Specs are expanded in order and each in its own order; nothing is removed,
//! so an image listed twice comes twice (a sweep drops repeats of the same
//! source and refuses two sources with one name).

use std::fmt;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};
use crate::images::{is_image_file, load_npy_stack, Image};
use crate::pattern::glob_match;

/// Where one image comes from (decoded only by [`ImageEntry::load`]).
#[derive(Clone, Debug, PartialEq)]
pub enum ImageSource {
    /// A PNG or JPEG file.
    File(PathBuf),
    /// Image `index` of a `.npy` stack.
    Stack {
        /// The `.npy` file.
        path: PathBuf,
        /// Index in the stack.
        index: usize,
    },
}

impl fmt::Display for ImageSource {
    /// The file, or `file.npy:index` for a stack item (a spec that names
    /// this one image).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageSource::File(p) => write!(f, "{}", p.display()),
            ImageSource::Stack { path, index } => write!(f, "{}:{index}", path.display()),
        }
    }
}

/// One image of an expanded list: its name and its source, not yet decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageEntry {
    /// Name: the file stem, or `<stem>_<index>` (three digits) for a stack item.
    pub name: String,
    /// Where it is read from.
    pub source: ImageSource,
}

impl ImageEntry {
    /// Decode the image (a stack item reads its stack).
    pub fn load(&self) -> Result<Image> {
        match &self.source {
            ImageSource::File(p) => Image::open(p),
            ImageSource::Stack { path, index } => read_stack(path)?
                .into_iter()
                .nth(*index)
                .ok_or_else(|| Error::image(path, format!("no image {index} in the stack"))),
        }
    }
}

/// Expand image specs (see the module docs) into named sources, in order,
/// checking that every file exists and its header decodes and that every
/// stack reads and holds its range. An empty list expands to nothing; the
/// caller says what to give.
pub fn expand(specs: &[String]) -> Result<Vec<ImageEntry>> {
    let mut out = Vec::new();
    for spec in specs {
        expand_one(spec, &mut out)?;
    }
    Ok(out)
}

fn expand_one(spec: &str, out: &mut Vec<ImageEntry>) -> Result<()> {
    let (path, range) = match spec.rsplit_once(':') {
        Some((p, r)) if p.ends_with(".npy") => (p, Some(parse_range(r, spec)?)),
        _ => (spec, None),
    };
    if path.ends_with(".npy") {
        let p = Path::new(path);
        let all = read_stack(p)?;
        let (a, b) = range.unwrap_or((0, all.len().saturating_sub(1)));
        if b >= all.len() || a > b {
            return Err(Error::image(p, format!("range {a}-{b} is outside 0-{}", all.len().saturating_sub(1))));
        }
        for (index, img) in all.into_iter().enumerate().skip(a).take(b - a + 1) {
            out.push(ImageEntry { name: img.name, source: ImageSource::Stack { path: p.to_path_buf(), index } });
        }
        return Ok(());
    }
    let is_dir = Path::new(path).is_dir();
    let files: Vec<PathBuf> = if is_dir || path.contains(['*', '?']) {
        let pattern = if is_dir { format!("{}/*", path.trim_end_matches('/')) } else { path.to_string() };
        let v: Vec<PathBuf> = glob_files(&pattern)?.into_iter().filter(|f| is_image_file(f)).collect();
        if v.is_empty() {
            return Err(Error::Config(format!(
                "image {} '{path}' has no PNG or JPEG file",
                if is_dir { "folder" } else { "pattern" }
            )));
        }
        v
    } else {
        vec![PathBuf::from(path)]
    };
    for f in files {
        if !f.is_file() {
            return Err(Error::image(&f, "no such file"));
        }
        image::ImageReader::open(&f)
            .and_then(|r| r.with_guessed_format())
            .map_err(|e| Error::io("cannot read image", &f, e))?
            .into_dimensions()
            .map_err(|e| Error::image(&f, format!("cannot decode: {e}")))?;
        let name = f.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "image".into());
        out.push(ImageEntry { name, source: ImageSource::File(f) });
    }
    Ok(())
}

/// The images of a `.npy` stack, named `<stem>_<index>`.
fn read_stack(path: &Path) -> Result<Vec<Image>> {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    load_npy_stack(path, &stem)
}

/// Load images from a list of specs (see the module docs): files, folders,
/// globs, or `.npy` stacks of grey images with an optional `:A-B` index
/// range (inclusive), e.g. `lfw_subset.npy:0-9`. Each stack is read once.
pub fn load_images(specs: &[String]) -> Result<Vec<Image>> {
    let entries = expand(specs)?;
    if entries.is_empty() {
        return Err(Error::Config("no images given".into()));
    }
    let mut out = Vec::with_capacity(entries.len());
    let mut stack: Option<(PathBuf, Vec<Image>)> = None;
    for e in &entries {
        match &e.source {
            ImageSource::File(_) => out.push(e.load()?),
            ImageSource::Stack { path, index } => {
                if stack.as_ref().is_none_or(|(p, _)| p != path) {
                    stack = Some((path.clone(), read_stack(path)?));
                }
                let (_, images) = stack.as_ref().expect("read above");
                let img =
                    images.get(*index).ok_or_else(|| Error::image(path, format!("no image {index} in the stack")))?;
                out.push(img.clone());
            }
        }
    }
    Ok(out)
}

/// `A-B` (inclusive) or `A` after the `:` of a stack spec.
fn parse_range(r: &str, spec: &str) -> Result<(usize, usize)> {
    let bad = || Error::Config(format!("bad index range in '{spec}'; use file.npy:A-B"));
    match r.split_once('-') {
        Some((a, b)) => Ok((a.trim().parse().map_err(|_| bad())?, b.trim().parse().map_err(|_| bad())?)),
        None => {
            let i = r.trim().parse().map_err(|_| bad())?;
            Ok((i, i))
        }
    }
}

/// Files matching a glob pattern: `*` and `?` within a path component, `**`
/// for any number of folders; hidden files and folders are skipped. Sorted.
pub fn glob_files(pattern: &str) -> Result<Vec<PathBuf>> {
    let mut bases = vec![PathBuf::new()];
    for comp in Path::new(pattern).components() {
        let Component::Normal(part) = comp else {
            bases.iter_mut().for_each(|b| b.push(comp.as_os_str()));
            continue;
        };
        let part = part.to_string_lossy();
        if part == "**" {
            let mut all = Vec::new();
            for b in &bases {
                all.extend(subfolders(b));
            }
            bases = all;
        } else if part.contains(['*', '?']) {
            let mut next = Vec::new();
            for b in &bases {
                let dir = if b.as_os_str().is_empty() { Path::new(".") } else { b.as_path() };
                let Ok(rd) = std::fs::read_dir(dir) else { continue };
                for e in rd.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if !name.starts_with('.') && glob_match(&part, &name) {
                        next.push(b.join(&name));
                    }
                }
            }
            bases = next;
        } else {
            bases.iter_mut().for_each(|b| b.push(part.as_ref()));
        }
    }
    let mut files: Vec<PathBuf> = bases.into_iter().filter(|p| p.is_file()).collect();
    files.sort();
    files.dedup();
    Ok(files)
}

/// `base` and every folder below it (hidden folders skipped).
fn subfolders(base: &Path) -> Vec<PathBuf> {
    let mut out = vec![base.to_path_buf()];
    let dir = if base.as_os_str().is_empty() { Path::new(".") } else { base };
    if let Ok(rd) = std::fs::read_dir(dir) {
        let mut subs: Vec<PathBuf> = rd
            .flatten()
            .filter(|e| e.path().is_dir() && !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| base.join(e.file_name()))
            .collect();
        subs.sort();
        for s in subs {
            out.extend(subfolders(&s));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse() {
        assert_eq!(parse_range("0-9", "x").unwrap(), (0, 9));
        assert_eq!(parse_range("4", "x").unwrap(), (4, 4));
        assert!(parse_range("a-b", "x").is_err());
    }

    fn specs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_form_of_spec_expands_in_order() {
        let images = crate::data_dir().join("images");
        let png = |name: &str| images.join(name).to_string_lossy().into_owned();
        let names = |v: &[ImageEntry]| v.iter().map(|e| e.name.clone()).collect::<Vec<_>>();

        // a file, a glob, a stack range: in the order given
        let v = expand(&specs(&[&png("chelsea.png"), &png("c*a.png"), &png("lfw_subset.npy:3-4")])).unwrap();
        assert_eq!(names(&v), ["chelsea", "camera", "chelsea", "lfw_subset_003", "lfw_subset_004"]);
        assert_eq!(v[3].source, ImageSource::Stack { path: images.join("lfw_subset.npy"), index: 3 });
        assert_eq!(v[3].source.to_string(), format!("{}:3", images.join("lfw_subset.npy").display()));

        // a folder is its PNG/JPEG files, sorted, like the glob `folder/*`
        let folder = expand(&specs(&[&images.to_string_lossy()])).unwrap();
        let glob = expand(&specs(&[&png("*")])).unwrap();
        assert!(!folder.is_empty() && folder == glob);
        assert!(folder.iter().all(|e| matches!(&e.source, ImageSource::File(f) if is_image_file(f))));
        // `**` reaches the same files from the folder above
        let deep = format!("{}/**/c*a.png", crate::data_dir().display());
        assert_eq!(names(&expand(&specs(&[&deep])).unwrap()), ["camera", "chelsea"]);

        // eager loading agrees with the entries, stack items included
        let loaded = load_images(&specs(&[&png("camera.png"), &png("lfw_subset.npy:1-2")])).unwrap();
        assert_eq!(
            loaded.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
            ["camera", "lfw_subset_001", "lfw_subset_002"]
        );
        let lazy = expand(&specs(&[&png("lfw_subset.npy:2")])).unwrap()[0].load().unwrap();
        assert_eq!(lazy, loaded[2]);
    }

    #[test]
    fn bad_specs_name_the_culprit() {
        let err = |s: &str| expand(&specs(&[s])).unwrap_err().to_string();
        assert!(err("/no/such/*.png").contains("pattern '/no/such/*.png' has no PNG or JPEG file"));
        assert!(err("/no/such/file.png").contains("no such file"));
        let stack = crate::data_dir().join("images/lfw_subset.npy");
        assert!(err(&format!("{}:x-2", stack.display())).contains("bad index range"));
        assert!(err(&format!("{}:5-99999", stack.display())).contains("is outside 0-"));
        assert_eq!(load_images(&[]).unwrap_err().to_string(), "invalid configuration: no images given");
    }
}

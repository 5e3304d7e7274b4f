//! One error type for the whole toolkit.
//!
//! Every variant names the value that caused it (the file, the tap, the
//! frequency) and, where it helps, what would have been valid. The CLI prints
//! the `Display` form on one line and exits non-zero; nothing panics on user
//! input.

use std::path::{Path, PathBuf};

/// The original error of a library freqtag calls (tract, Polars,
/// onnxruntime, serde), kept as the [`std::error::Error::source`] of an
/// [`Error`] so that callers can inspect it.
pub type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors returned by freqtag.
///
/// The `Display` form is one line that names the culprit and includes the
/// underlying library's message; the underlying error itself, where there
/// is one, is the error's `source()`. New variants may be added.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or folder could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done ("cannot read", "cannot write", ...).
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A model file is missing, corrupt, or not what its card says.
    #[error("model {path}: {message}")]
    Model {
        /// The model (or model card) file.
        path: PathBuf,
        /// What went wrong (with the underlying library's message).
        message: String,
        /// The underlying error (tract's, onnxruntime's, serde's), if any.
        #[source]
        source: Option<Source>,
    },
    /// An image could not be decoded or converted.
    #[error("image {path}: {message}")]
    Image {
        /// The image file (or a description of an in-memory image).
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A tap name that the model does not have.
    #[error("no tap named '{name}' in {model}{}", suggest(.suggestions))]
    UnknownTap {
        /// The name asked for.
        name: String,
        /// The model's name.
        model: String,
        /// The closest names the model does have.
        suggestions: Vec<String>,
    },
    /// A stimulus design that cannot be run as asked.
    #[error("invalid design: {0}")]
    Design(String),
    /// An experiment file or command-line value that does not parse.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Inference failed inside the engine.
    #[error("inference failed on {model}: {message}")]
    Inference {
        /// The model's name.
        model: String,
        /// The engine's message.
        message: String,
        /// The engine's error, if any.
        #[source]
        source: Option<Source>,
    },
    /// A table or array could not be built or written.
    #[error("export {path}: {message}")]
    Export {
        /// The output file.
        path: PathBuf,
        /// What went wrong (with the underlying library's message).
        message: String,
        /// The underlying error (Polars', ndarray-npy's, serde's), if any.
        #[source]
        source: Option<Source>,
    },
    /// Data of the wrong shape or kind was handed over.
    #[error("{0}")]
    Data(String),
}

fn suggest(names: &[String]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", "))
    }
}

/// Result with freqtag's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(action: &'static str, path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io { action, path: path.as_ref().to_path_buf(), source }
    }
    pub(crate) fn model(path: impl AsRef<Path>, message: impl std::fmt::Display) -> Self {
        Error::Model { path: path.as_ref().to_path_buf(), message: message.to_string(), source: None }
    }
    /// A model error caused by `source`: the message is `context: source`
    /// (with the source's own chain, `{:#}`), and the source is kept.
    pub(crate) fn model_from<E>(path: impl AsRef<Path>, context: &str, source: E) -> Self
    where
        E: std::fmt::Display + Into<Source>,
    {
        let message = if context.is_empty() { format!("{source:#}") } else { format!("{context}: {source:#}") };
        Error::Model { path: path.as_ref().to_path_buf(), message, source: Some(source.into()) }
    }
    /// An inference error caused by the engine's error `source`.
    pub(crate) fn inference<E>(model: &str, source: E) -> Self
    where
        E: std::fmt::Display + Into<Source>,
    {
        Error::Inference { model: model.to_string(), message: format!("{source:#}"), source: Some(source.into()) }
    }
    pub(crate) fn image(path: impl AsRef<Path>, message: impl std::fmt::Display) -> Self {
        Error::Image { path: path.as_ref().to_path_buf(), message: message.to_string() }
    }
    pub(crate) fn export(path: impl AsRef<Path>, message: impl std::fmt::Display) -> Self {
        Error::Export { path: path.as_ref().to_path_buf(), message: message.to_string(), source: None }
    }
    /// An export error caused by `source` (message: the source's text).
    pub(crate) fn export_from<E>(path: impl AsRef<Path>, source: E) -> Self
    where
        E: std::fmt::Display + Into<Source>,
    {
        Error::Export { path: path.as_ref().to_path_buf(), message: source.to_string(), source: Some(source.into()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_tap_lists_suggestions() {
        let err = Error::UnknownTap { name: "x".into(), model: "m".into(), suggestions: vec!["y".into()] };
        assert_eq!(err.to_string(), "no tap named 'x' in m; did you mean 'y'?");
    }
}

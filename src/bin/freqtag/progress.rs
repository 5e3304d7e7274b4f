//! One progress-bar style for every command: `⠋ what 120/240 [=====>    ] 36/s eta 3s`.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `len` steps labelled `msg` (hidden with `--quiet`); commands
/// change the label with `set_message` as they move from stage to stage.
pub fn bar(quiet: bool, len: usize, msg: &str) -> ProgressBar {
    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(len as u64) };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {pos}/{len} [{bar:30}] {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(msg.to_string());
    bar
}

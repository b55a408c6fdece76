//! Progress bars and spinners on stderr, shown only when stderr is a terminal.

use std::{io::IsTerminal, time::Duration};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar for `total` steps, or a hidden one when stderr is not a terminal.
pub(crate) fn bar(total: u64, message: impl Into<String>) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), target());
    let style = ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} {elapsed}")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(message.into());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A spinner with a message, or a hidden one when stderr is not a terminal.
pub(crate) fn spinner(message: impl Into<String>) -> ProgressBar {
    let spinner = ProgressBar::with_draw_target(None, target());
    let style = ProgressStyle::with_template("{spinner} {msg} {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    spinner.set_style(style);
    spinner.set_message(message.into());
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}

/// Draws on stderr when it is a terminal; draws nothing otherwise.
fn target() -> ProgressDrawTarget {
    if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

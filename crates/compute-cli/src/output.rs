//! Writing results to stdout: aligned tables for people, JSON for scripts.

use std::io::{self, Write};

use comfy_table::{Table, presets::NOTHING};
use serde::Serialize;

use crate::{
    cli::OutputFormat,
    error::{CliError, CliResult},
};

/// Version of every JSON document the CLI prints; bumped only on a breaking change.
pub(crate) const JSON_VERSION: u32 = 1;

/// Where and how results go.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output {
    format: OutputFormat,
}

impl Output {
    /// Prints in `format`.
    pub(crate) fn new(format: OutputFormat) -> Self {
        Self { format }
    }

    /// Returns true when results are JSON.
    pub(crate) fn is_json(self) -> bool {
        self.format == OutputFormat::Json
    }

    /// Prints `value` as pretty JSON followed by a newline.
    pub(crate) fn json<T: Serialize>(self, value: &T) -> CliResult {
        let text = serde_json::to_string_pretty(value)
            .map_err(|e| CliError::failed(format!("cannot encode JSON output: {e}")))?;
        write_stdout(&text)
    }

    /// Prints text as is, adding a final newline when missing.
    pub(crate) fn text(self, text: &str) -> CliResult {
        write_stdout(text)
    }
}

/// Builds a borderless table with an upper-case header, in the style of kubectl.
pub(crate) fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut table = Table::new();
    table.load_preset(NOTHING);
    table.set_header(header.iter().map(|h| h.to_uppercase()));
    for row in rows {
        table.add_row(row);
    }
    for column in table.column_iter_mut() {
        column.set_padding((0, 3));
    }

    let text = table.to_string();
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    lines.join("\n")
}

/// Formats key-value pairs as aligned lines, for `show`.
pub(crate) fn details(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    let lines: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            format!("{:<width$} {v}", format!("{k}:"))
                .trim_end()
                .to_owned()
        })
        .collect();
    lines.join("\n")
}

/// Writes to stdout; a closed pipe (`computectl ls | head`) ends the program quietly.
fn write_stdout(text: &str) -> CliResult {
    let mut out = io::stdout().lock();
    let result = out
        .write_all(text.as_bytes())
        .and_then(|()| {
            if text.ends_with('\n') {
                Ok(())
            } else {
                out.write_all(b"\n")
            }
        })
        .and_then(|()| out.flush());
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(CliError::silent()),
        Err(e) => Err(CliError::failed(format!("cannot write output: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_no_trailing_space() {
        let rows = vec![
            vec!["a".to_owned(), "1".to_owned()],
            vec!["long name".to_owned(), "22".to_owned()],
        ];

        let text = table(&["name", "n"], rows);

        assert!(text.lines().all(|l| l == l.trim_end()), "{text:?}");
        assert!(text.starts_with("NAME"), "{text}");
        assert_eq!(text.lines().count(), 3);
    }

    #[test]
    fn details_align_values() {
        let text = details(&[("id", "i-1".into()), ("state", "running".into())]);

        assert_eq!(text, "id:    i-1\nstate: running");
    }
}

//! The CLI's error: one line of message, an optional hint, and the exit code it maps to.

use std::{fmt, io, path::Path};

use compute_types::{Error, ErrorKind};

/// Exit code of a failed operation.
pub(crate) const EXIT_FAILED: u8 = 1;
/// Exit code of bad usage or invalid input.
pub(crate) const EXIT_USAGE: u8 = 2;
/// Exit code of a command stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

/// The field the fake names in errors about its state file.
pub(crate) const STATE_FILE_FIELD: &str = "state_file";

/// A failure to report: `error: <message>` and, when set, `hint: <hint>` on stderr.
#[derive(Debug)]
pub(crate) struct CliError {
    code: u8,
    message: String,
    hint: Option<String>,
}

/// The CLI's result type.
pub(crate) type CliResult<T = ()> = Result<T, CliError>;

impl CliError {
    /// A failed operation (exit 1).
    pub(crate) fn failed(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_FAILED,
            message: message.into(),
            hint: None,
        }
    }

    /// Bad usage or invalid input (exit 2).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_USAGE,
            message: message.into(),
            hint: None,
        }
    }

    /// A command stopped by Ctrl-C (exit 130).
    pub(crate) fn interrupted(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_INTERRUPTED,
            message: message.into(),
            hint: None,
        }
    }

    /// Ends the program without a message (stdout was closed by the reader).
    pub(crate) fn silent() -> Self {
        Self {
            code: 0,
            message: String::new(),
            hint: None,
        }
    }

    /// Adds a hint line.
    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Returns the exit code.
    pub(crate) fn code(&self) -> u8 {
        self.code
    }

    /// Returns the message.
    #[cfg(test)]
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// Returns the hint.
    pub(crate) fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// An I/O failure on `path`, named in the message.
    pub(crate) fn io(what: &str, path: &Path, err: &io::Error) -> Self {
        Self::failed(format!("cannot {what} {}: {err}", path.display()))
    }

    /// Writes the error to stderr as `error: ...` and optionally `hint: ...`.
    pub(crate) fn report(&self) {
        if self.message.is_empty() {
            return;
        }
        let message = one_line(&self.message);
        eprintln!("error: {message}");
        if let Some(hint) = &self.hint {
            eprintln!("hint: {}", one_line(hint));
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<Error> for CliError {
    /// Invalid input is a usage error (exit 2); everything else is a failed operation.
    ///
    /// A corrupt state file is not the user's command line: the fake reports it as invalid
    /// input to its `state_file`, and it becomes a failed operation (exit 1) labelled as
    /// the state file, without the `invalid request` of a usage error.
    fn from(err: Error) -> Self {
        if err.field() == Some(STATE_FILE_FIELD) {
            return Self::failed(format!("corrupt state file: {}", err.message()));
        }
        let code = match err.kind() {
            ErrorKind::InvalidRequest => EXIT_USAGE,
            _ => EXIT_FAILED,
        };
        let hint = hint_for(&err);
        Self {
            code,
            message: describe(&err),
            hint,
        }
    }
}

impl CliError {
    /// A command-line parse error, folded to one `error:` line and a hint naming the
    /// `--help` of the command `args` name, instead of clap's usage block.
    pub(crate) fn from_clap(err: &clap::Error, command: &clap::Command, args: &[String]) -> Self {
        let (message, tip) = fold_clap(&err.render().to_string());
        let help = format!("see `{} --help`", command_path(command, args));
        let hint = match tip {
            Some(tip) => format!("{tip}; {help}"),
            None => help,
        };
        Self::usage(message).with_hint(hint)
    }
}

/// Splits clap's rendered error into one message line and its tip, if any.
///
/// Indented detail lines (missing arguments, possible values) join the message; the usage
/// block and the pointer to `--help` are dropped (the hint names the right `--help`).
fn fold_clap(text: &str) -> (String, Option<String>) {
    let mut lines = text.lines();
    let first = lines.by_ref().map(str::trim).find(|l| !l.is_empty());
    let first = first.unwrap_or("invalid command line");
    let mut message = first
        .strip_prefix("error:")
        .unwrap_or(first)
        .trim()
        .to_owned();

    // The usage block runs from `Usage:` to the next blank line; it may hold several
    // usage lines, all indented like details, and none of them belongs in the message.
    let mut details = Vec::new();
    let mut tip = None;
    let mut in_usage = false;
    for line in lines.map(str::trim) {
        if line.is_empty() {
            in_usage = false;
        } else if line.starts_with("Usage:") {
            in_usage = true;
        } else if let Some(text) = line.strip_prefix("tip:") {
            tip = Some(text.trim().to_owned());
        } else if !in_usage && !line.starts_with("For more information") {
            details.push(line);
        }
    }

    if !details.is_empty() {
        message = format!("{message} {}", details.join(", "));
    }
    (message, tip)
}

/// `computectl firewall check`: the program and the subcommands named in `args`.
fn command_path(command: &clap::Command, args: &[String]) -> String {
    let mut path = vec![command.get_name().to_owned()];
    let mut current = command;
    for arg in args.iter().skip(1) {
        if let Some(sub) = current.find_subcommand(arg) {
            path.push(sub.get_name().to_owned());
            current = sub;
        }
    }
    path.join(" ")
}

/// The error's message with its causes, on one line.
pub(crate) fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A hint for errors whose fix is not obvious from the message.
fn hint_for(err: &Error) -> Option<String> {
    let hint = match err.kind() {
        ErrorKind::CapacityUnavailable => {
            "try another location with --location, or see `computectl plan` for other offers"
        }
        ErrorKind::QuotaExceeded => "ask the provider for more quota, or use fewer nodes",
        ErrorKind::Unauthenticated | ErrorKind::PermissionDenied => {
            "check the provider's credentials"
        }
        ErrorKind::RateLimited | ErrorKind::Unavailable | ErrorKind::Timeout => {
            "the provider may be busy; run the command again"
        }
        _ => return None,
    };
    Some(hint.to_owned())
}

/// Folds a message onto one line, so every error is exactly one `error:` line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_input_is_a_usage_error() {
        let err = CliError::from(Error::invalid("--allow", "`x` is not a rule"));

        assert_eq!(err.code(), EXIT_USAGE);
        assert!(err.message().contains("--allow"));
    }

    #[test]
    fn operation_failures_exit_one_with_a_hint() {
        let err = CliError::from(Error::new(ErrorKind::CapacityUnavailable, "no H100 left"));

        assert_eq!(err.code(), EXIT_FAILED);
        assert!(err.hint().is_some_and(|h| h.contains("--location")));
    }

    #[test]
    fn a_corrupt_state_file_is_a_failed_operation_not_invalid_input() {
        let err = Error::invalid("state_file", "/tmp/s.json is not a valid fake state file")
            .with_provider("fake")
            .with_operation("list_instances");

        let err = CliError::from(err);

        assert_eq!(err.code(), EXIT_FAILED);
        assert_eq!(
            err.message(),
            "corrupt state file: /tmp/s.json is not a valid fake state file"
        );
    }

    #[test]
    fn messages_fold_to_one_line() {
        let text = one_line("first\n  second\tthird");

        assert_eq!(text, "first second third");
    }

    #[test]
    fn clap_errors_fold_to_one_line_and_a_help_hint() {
        let text = "error: the following required arguments were not provided:\n  \
                    --cluster <NAME>\n  --nodes <N>\n\nUsage: computectl up --cluster <NAME> \
                    --nodes <N>\n\nFor more information, try '--help'.\n";

        let (message, tip) = fold_clap(text);

        assert_eq!(
            message,
            "the following required arguments were not provided: --cluster <NAME>, --nodes <N>"
        );
        assert_eq!(tip, None);
    }

    #[test]
    fn clap_tips_go_to_the_hint() {
        let text = "error: unrecognized subcommand 'typs'\n\n  tip: a similar subcommand \
                    exists: 'types'\n\nUsage: computectl [OPTIONS] <COMMAND>\n";

        let (message, tip) = fold_clap(text);

        assert_eq!(message, "unrecognized subcommand 'typs'");
        assert_eq!(tip.as_deref(), Some("a similar subcommand exists: 'types'"));
    }

    #[test]
    fn the_hint_names_the_subcommand_given() {
        let cmd = clap::Command::new("computectl")
            .subcommand(clap::Command::new("firewall").subcommand(clap::Command::new("check")));
        let args = |line: &str| line.split(' ').map(str::to_owned).collect::<Vec<_>>();

        let nested = command_path(&cmd, &args("computectl -o json firewall check --port x"));
        let top = command_path(&cmd, &args("computectl --bogus"));

        assert_eq!(nested, "computectl firewall check");
        assert_eq!(top, "computectl");
    }

    #[test]
    fn causes_are_joined_once() {
        let io = io::Error::other("disk full");
        let err = Error::internal("cannot save state").with_source(io);

        let text = describe(&err);

        assert_eq!(text, "internal: cannot save state: disk full");
    }
}

//! One module per command; [`run`] dispatches the parsed command line to them.

use crate::{
    cli::{Command, FirewallCommand},
    context::Context,
    error::{CliError, CliResult},
};

/// Runs one command.
///
/// # Errors
/// Whatever the command reports; the caller prints it and exits with its code.
pub(crate) fn run(cx: &Context, command: &Command) -> CliResult {
    let _ = cx;
    let name = match command {
        Command::Types(_) => "types",
        Command::Locations => "locations",
        Command::Plan(_) => "plan",
        Command::Up(_) => "up",
        Command::Ls(_) => "ls",
        Command::Show(_) => "show",
        Command::Down(_) => "down",
        Command::Firewall(FirewallCommand::Check(_)) => "firewall check",
        Command::Firewall(FirewallCommand::Render(_)) => "firewall render",
        Command::Firewall(FirewallCommand::Lint(_)) => "firewall lint",
        Command::Sweep(_) => "sweep",
    };
    Err(CliError::failed(format!("`{name}` is not wired yet")))
}

//! computectl: find GPU capacity, launch clusters with a safe firewall, tear them down.
//!
//! Exit codes: 0 success, 1 operation failed, 2 usage or invalid input. Errors are one
//! `error: ...` line on stderr, with a `hint: ...` line where one helps.

mod cli;
mod commands;
mod context;
mod error;
mod interrupt;
mod inventory;
mod output;
mod progress;
mod views;

use std::{io::IsTerminal, process::ExitCode};

use clap::{CommandFactory, Parser, error::ErrorKind};
use tracing_subscriber::{EnvFilter, filter::LevelFilter};

use crate::{
    cli::Cli,
    context::Context,
    error::{CliError, EXIT_FAILED},
};

fn main() -> ExitCode {
    install_panic_hook();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        // --help and --version print to stdout and exit 0, as clap does them; a bare
        // `computectl` or `computectl firewall` prints that level's help and exits 2.
        Err(err)
            if !err.use_stderr()
                || err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
        {
            err.exit()
        }
        Err(err) => {
            let words: Vec<String> = args.iter().map(|a| a.to_string_lossy().into()).collect();
            let err = CliError::from_clap(&err, &Cli::command(), &words);
            err.report();
            return ExitCode::from(err.code());
        }
    };
    init_tracing(cli.global.verbose);
    tracing::trace!(command = ?cli.command, global = ?cli.global, "parsed the command line");

    let context = Context::new(&cli.global);
    match context.and_then(|cx| commands::run(&cx, &cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            err.report();
            ExitCode::from(err.code())
        }
    }
}

/// Turns a panic into one `error:` line and exit code 1, never a backtrace.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let what = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("unknown cause");
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        CliError::failed(format!("internal error: {what}{place}"))
            .with_hint("this is a bug in computectl; please report it with the command you ran")
            .report();
        std::process::exit(i32::from(EXIT_FAILED));
    }));
}

/// Logs to stderr: warnings by default, more with each `-v`; `COMPUTECTL_LOG` overrides.
fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => LevelFilter::WARN,
        1 => LevelFilter::INFO,
        2 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(verbose > 1);

    match std::env::var("COMPUTECTL_LOG") {
        Ok(directives) if !directives.is_empty() => {
            builder.with_env_filter(EnvFilter::new(directives)).init();
        }
        _ => builder.with_max_level(level).init(),
    }
}

//! Project automation: `cargo xtask <command>`, one module per command.

// xtask is a terminal tool whose job is to print; the workspace denies
// `print_stdout` so that library crates log through `tracing` instead.
#![allow(clippy::print_stdout)]

mod bench;
mod ci;
mod cmd;
mod conformance;
mod fmt;
mod json;
mod tidy;

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

/// What every command returns: an error is a message for the terminal.
type Result<T = ()> = std::result::Result<T, String>;

const USAGE: &str = "\
Usage: cargo xtask <command> [args]

Commands:
  ci                          fmt check, clippy, tests, doc tests, docs, tidy,
                              conformance against fake, and cargo deny if installed
  tidy                        check module docs, TODO(#123) markers, whitespace
  bench [filter...] [-- args] run criterion benches, then time computectl
  bench --list                list the criterion benches
  conformance --provider <p>  run the conformance suite of compute-<p>
  conformance --live <p>      run the live (ignored) conformance suite of compute-<p>
  fmt                         run cargo fmt --all
  help                        print this text
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = repo_root();
    let rest = args.get(1..).unwrap_or_default();

    let result = match args.first().map(String::as_str) {
        None | Some("help" | "-h" | "--help") => {
            print!("{USAGE}");
            Ok(())
        }
        Some("ci") => no_args("ci", rest).and_then(|()| ci::run(&root)),
        Some("tidy") => no_args("tidy", rest).and_then(|()| tidy::run(&root)),
        Some("bench") => bench::run(&root, rest),
        Some("conformance") => conformance::run(&root, rest),
        Some("fmt") => no_args("fmt", rest).and_then(|()| fmt::run(&root)),
        Some(other) => Err(format!("unknown command `{other}`; see `cargo xtask help`")),
    };

    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this crate's manifest directory.
fn repo_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

fn no_args(command: &str, rest: &[String]) -> Result {
    match rest.first() {
        None => Ok(()),
        Some(arg) => Err(format!("`{command}` takes no arguments, got `{arg}`")),
    }
}

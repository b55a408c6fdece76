//! Running child commands: print a header, stream output, report the command that failed.

use std::{
    ffi::OsStr,
    process::{Command, Stdio},
};

use crate::Result;

/// A `cargo` command started in the workspace root.
pub(crate) fn cargo(root: &std::path::Path) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root);
    cmd
}

/// Prints `==> <command line>`, runs the command with inherited stdio and
/// fails with the command line if it does not exit successfully.
pub(crate) fn run(cmd: &mut Command) -> Result {
    let line = display(cmd);
    println!("==> {line}");

    let status = cmd
        .status()
        .map_err(|e| format!("could not start `{line}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("command failed ({status}): {line}"))
    }
}

/// Whether the command starts and exits successfully; its output is discarded.
pub(crate) fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd.status().is_ok_and(|status| status.success())
}

/// The command as a shell line, with the environment it sets in front.
pub(crate) fn display(cmd: &Command) -> String {
    let mut words = Vec::new();
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            words.push(format!("{}={}", key.to_string_lossy(), quote(value)));
        }
    }

    words.push(quote(cmd.get_program()));
    words.extend(cmd.get_args().map(quote));
    words.join(" ")
}

fn quote(word: &OsStr) -> String {
    let word = word.to_string_lossy();
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=./:,+@%".contains(c));
    if plain {
        word.into_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_env_program_and_quoted_args() {
        let mut cmd = Command::new("cargo");
        cmd.env("RUSTDOCFLAGS", "-D warnings")
            .args(["doc", "--bench", "*"]);

        let line = display(&cmd);

        assert_eq!(line, "RUSTDOCFLAGS='-D warnings' cargo doc --bench '*'");
    }
}

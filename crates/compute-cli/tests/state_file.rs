//! End-to-end tests of `--state` (and `COMPUTECTL_STATE`): an explicit path must name a
//! file in a folder that exists, and a corrupt state file is a failed operation named as
//! the state file, not a usage error.

mod common;

use assert_cmd::Command;

use common::{Env, words};

const UP: &str = "up --cluster demo --type gpu-1x-h100-sxm --nodes 1";

/// `computectl <line>` with no `--state` and a clean environment.
fn computectl(line: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_computectl"));
    cmd.env_remove("COMPUTECTL_STATE")
        .env_remove("COMPUTECTL_LOG")
        .env("COMPUTECTL_FAKE_BOOT_MS", "50")
        .args(words(line));
    cmd
}

/// Asserts exit 2 and one `error: --state: ...` line; returns stderr.
fn usage_error(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].starts_with("error: --state: "), "{stderr}");
    assert!(out.stdout.is_empty());
    stderr
}

#[test]
fn a_state_path_in_a_missing_folder_is_an_error_and_creates_nothing() {
    let env = Env::new();
    let state = env.path("no/such/dir/s.json");

    for line in [UP, "ls", "sweep --yes", "down --cluster demo"] {
        let flag = usage_error(computectl(line).arg("--state").arg(&state));
        let var = usage_error(computectl(line).env("COMPUTECTL_STATE", &state));

        for err in [&flag, &var] {
            assert!(err.contains("does not exist"), "{line}: {err}");
            assert!(err.contains("no/such/dir"), "{line}: {err}");
        }
    }
    assert!(env.files().is_empty(), "created {:?}", env.files());
}

#[test]
fn a_state_path_that_is_a_directory_is_invalid_input() {
    let env = Env::new();
    let dir = env.path("states");
    std::fs::create_dir(&dir).unwrap();

    for line in [UP, "ls"] {
        let err = usage_error(computectl(line).arg("--state").arg(&dir));

        assert!(err.contains("is a directory"), "{line}: {err}");
        assert!(!err.contains("internal"), "{line}: {err}");
    }
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    assert_eq!(env.files(), ["states"]);
}

#[test]
fn a_corrupt_state_file_is_a_failed_operation_labelled_as_the_state_file() {
    let env = Env::new();
    std::fs::write(env.state(), "{ this is not a state file").unwrap();

    for line in [UP, "ls", "down --cluster demo", "sweep"] {
        let err = env.fails(line, 1);

        assert!(err.contains("error: corrupt state file: "), "{line}: {err}");
        assert!(!err.contains("invalid request"), "{line}: {err}");
    }
    let after = std::fs::read_to_string(env.state()).unwrap();
    assert_eq!(after, "{ this is not a state file");
}

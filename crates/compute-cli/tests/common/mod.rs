//! Helpers shared by the end-to-end tests: a private state file per test, the real
//! catalogs, and running `computectl` with short fake delays.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// The real catalogs shipped beside the repository (read-only).
pub(crate) const CATALOGS: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/catalogs");

/// A valid OpenSSH public key (not anyone's real key).
pub(crate) const PUBLIC_KEY: &str = "ssh-ed25519 \
    AAAAC3NzaC1lZDI1NTE5AAAAIGVl7ZI9DZVCX8o1Om5aYsOqBE3JixA6VYeBnZ7Ihyi9 user@host";

/// One test's world: a temporary directory holding its state file.
pub(crate) struct Env {
    dir: TempDir,
    state: PathBuf,
}

impl Env {
    /// A fresh directory; the state file does not exist yet.
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = dir.path().join("state.json");
        Self { dir, state }
    }

    /// Returns the state file's path.
    pub(crate) fn state(&self) -> &Path {
        &self.state
    }

    /// Returns the cluster inventory's path.
    pub(crate) fn inventory(&self) -> PathBuf {
        let mut name = self.state.clone().into_os_string();
        name.push(".clusters.json");
        PathBuf::from(name)
    }

    /// Returns a path inside the test's directory.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Lists the files in the test's directory, sorted.
    pub(crate) fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .expect("read temp dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// `computectl --state <state>` with short fake delays and a clean environment.
    pub(crate) fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("computectl").expect("binary");
        cmd.env_remove("COMPUTECTL_STATE")
            .env_remove("COMPUTECTL_LOG")
            .env("COMPUTECTL_FAKE_BOOT_MS", "50")
            .env("COMPUTECTL_FAKE_TERMINATE_MS", "20")
            .arg("--state")
            .arg(&self.state);
        cmd
    }

    /// Runs `line` (arguments separated by spaces) with `-o json`, asserts success and
    /// returns the parsed stdout.
    pub(crate) fn json(&self, line: &str) -> Value {
        let args = words(line);
        let out = self
            .cmd()
            .args(&args)
            .args(["-o", "json"])
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "computectl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("stdout is JSON")
    }

    /// Runs `line`, asserts success and returns stdout and stderr as text.
    pub(crate) fn ok(&self, line: &str) -> (String, String) {
        let args = words(line);
        let out = self.cmd().args(&args).output().expect("run");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "computectl {args:?} failed: {stderr}");
        (stdout, stderr)
    }

    /// Runs `line`, asserts the exit code and one `error:` line, and returns stderr.
    pub(crate) fn fails(&self, line: &str, code: i32) -> String {
        let args = words(line);
        let out = self.cmd().args(&args).output().expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(code),
            "computectl {args:?}: stdout {} stderr {stderr}",
            String::from_utf8_lossy(&out.stdout)
        );
        let errors = stderr.lines().filter(|l| l.starts_with("error: ")).count();
        assert_eq!(errors, 1, "exactly one error line: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        stderr
    }

    /// Instances the fake holds (terminated ones too), as `ls -a -o json` shows them.
    pub(crate) fn instances(&self) -> Vec<Value> {
        let all = self.json("ls --all");
        all["instances"].as_array().cloned().unwrap_or_default()
    }
}

/// Splits a command line at spaces (test arguments never hold spaces).
pub(crate) fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

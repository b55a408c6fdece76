//! `cargo xtask bench`: criterion benches, then whole-process timing of `computectl`.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::{
    Result,
    cmd::{self, cargo},
};

const WARMUP_RUNS: usize = 3;
const TIMED_RUNS: usize = 30;

/// Runs the benches (or lists them with `--list`), then times the CLI.
///
/// Words before `--` are bench-name filters; words after it go to criterion
/// unchanged, so `cargo xtask bench parse -- --quick` runs `cargo bench ... --
/// parse --quick`.
pub(crate) fn run(root: &Path, args: &[String]) -> Result {
    let (ours, passthrough) = match args.iter().position(|arg| arg == "--") {
        Some(at) => (&args[..at], &args[at + 1..]),
        None => (args, &[][..]),
    };
    let list = ours.iter().any(|arg| arg == "--list");
    let filters: Vec<&String> = ours.iter().filter(|arg| *arg != "--list").collect();
    if let Some(flag) = filters.iter().find(|arg| arg.starts_with('-')) {
        return Err(format!(
            "unknown flag `{flag}`: put criterion flags after `--`"
        ));
    }

    criterion(root, list, &filters, passthrough)?;
    if list {
        return Ok(());
    }

    if std::env::var_os("XTASK_SKIP_CLI_BENCH").is_some() {
        println!("==> computectl timing: skipped, XTASK_SKIP_CLI_BENCH is set");
        return Ok(());
    }
    if !root.join("crates/compute-cli").exists() {
        println!("==> computectl timing: skipped, crates/compute-cli does not exist");
        return Ok(());
    }
    time_cli(root)
}

/// `cargo bench --workspace --bench '*' -- <filters> <criterion args>`.
///
/// `--bench '*'` rather than `--benches`: `--benches` also runs every library
/// under libtest's bench harness, which rejects criterion flags like `--quick`.
fn criterion(root: &Path, list: bool, filters: &[&String], passthrough: &[String]) -> Result {
    if !has_bench_targets(root) {
        println!("==> cargo bench: skipped, no crate under crates/ has a bench target yet");
        return Ok(());
    }

    let mut bench = cargo(root);
    bench.args(["bench", "--workspace", "--bench", "*", "--"]);
    if list {
        bench.arg("--list");
    }
    bench.args(filters).args(passthrough);
    cmd::run(&mut bench)
}

/// Whether any crate has a `benches/` folder or declares a `[[bench]]`;
/// cargo fails on `--bench '*'` when nothing matches.
fn has_bench_targets(root: &Path) -> bool {
    let Ok(crates) = fs::read_dir(root.join("crates")) else {
        return false;
    };

    crates.flatten().map(|entry| entry.path()).any(|dir| {
        let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
        dir.join("benches").is_dir() || manifest.contains("[[bench]]")
    })
}

/// Builds `computectl` in release mode and times a catalog query end to end.
fn time_cli(root: &Path) -> Result {
    cmd::run(cargo(root).args(["build", "--release", "-p", "compute-cli"]))?;

    let catalogs = root.join("../shared/data/catalogs");
    let mut query = Command::new(target_dir(root).join("release/computectl"));
    query.current_dir(root).arg("--catalog").arg(&catalogs);
    query.args(["types", "--gpu", "H100", "-o", "json"]);
    let line = cmd::display(&query);
    println!("==> {line} ({WARMUP_RUNS} warmups, {TIMED_RUNS} timed runs)");

    for _ in 0..WARMUP_RUNS {
        run_once(&mut query, &line)?;
    }
    let mut samples = Vec::with_capacity(TIMED_RUNS);
    for _ in 0..TIMED_RUNS {
        samples.push(run_once(&mut query, &line)?);
    }

    let stats = Stats::new(&mut samples);
    println!(
        "computectl types: min {:.2} ms, median {:.2} ms, mean {:.2} ms over {TIMED_RUNS} runs",
        stats.min, stats.median, stats.mean
    );
    Ok(())
}

/// One run with stdout discarded; a failure carries the command's stderr.
fn run_once(query: &mut Command, line: &str) -> Result<Duration> {
    query.stdin(Stdio::null()).stdout(Stdio::null());
    query.stderr(Stdio::piped());

    let start = Instant::now();
    let output = query
        .output()
        .map_err(|e| format!("could not start `{line}`: {e}"))?;
    let elapsed = start.elapsed();

    if output.status.success() {
        Ok(elapsed)
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(format!(
            "command failed ({}): {line}\n{}",
            output.status,
            stderr.trim_end()
        ))
    }
}

/// Where cargo puts build output: `CARGO_TARGET_DIR` if set, else `<root>/target`.
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// Summary of timed runs, in milliseconds.
#[derive(Debug)]
struct Stats {
    min: f64,
    median: f64,
    mean: f64,
}

impl Stats {
    /// Sorts `samples`, which must not be empty.
    fn new(samples: &mut [Duration]) -> Self {
        samples.sort();
        let ms = |d: Duration| d.as_nanos() as f64 / 1e6;
        let n = samples.len();

        let median = if n % 2 == 1 {
            ms(samples[n / 2])
        } else {
            (ms(samples[n / 2 - 1]) + ms(samples[n / 2])) / 2.0
        };
        let mean = samples.iter().copied().map(ms).sum::<f64>() / n as f64;
        Self {
            min: ms(samples[0]),
            median,
            mean,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_of_even_and_odd_samples() {
        let mut odd = [3, 1, 2].map(Duration::from_millis);
        let mut even = [4, 1, 3, 2].map(Duration::from_millis);

        let odd = Stats::new(&mut odd);
        let even = Stats::new(&mut even);

        assert_eq!((odd.min, odd.median, odd.mean), (1.0, 2.0, 2.0));
        assert_eq!((even.min, even.median, even.mean), (1.0, 2.5, 2.5));
    }

    #[test]
    fn flags_before_the_separator_are_rejected() {
        let args = ["--quick".to_string()];

        let result = run(Path::new("/nonexistent"), &args);

        assert!(result.is_err_and(|e| e.contains("after `--`")));
    }
}

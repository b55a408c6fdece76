//! `cargo xtask bench`: criterion benches, then whole-process timing of `computectl`.

use std::{
    ffi::OsStr,
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::{
    Result,
    cmd::{self, cargo},
    json,
};

const WARMUP_RUNS: usize = 3;
const TIMED_RUNS: usize = 30;

/// The whole-process goal for the catalog query, in milliseconds.
const GOAL_MS: f64 = 50.0;

/// The catalogs the query reads, relative to the repository root.
const CATALOGS: &str = "../shared/data/catalogs";

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
///
/// Every run must exit 0 and print a non-empty JSON array, so a broken query cannot
/// pass as a fast one. Without the catalog folder the timing is skipped, saying so.
fn time_cli(root: &Path) -> Result {
    let catalogs = root.join(CATALOGS);
    if !catalogs.is_dir() {
        println!(
            "==> computectl timing: skipped, the catalog folder {} does not exist",
            catalogs.display()
        );
        return Ok(());
    }
    cmd::run(cargo(root).args(["build", "--release", "-p", "compute-cli"]))?;

    let env_dir = std::env::var_os("CARGO_TARGET_DIR");
    let binary = target_dir(root, env_dir.as_deref()).join("release/computectl");
    let mut query = Command::new(binary);
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
    println!("{}", goal_line(stats.median));
    Ok(())
}

/// The median beside the goal, and whether it was met.
fn goal_line(median_ms: f64) -> String {
    let verdict = if median_ms <= GOAL_MS {
        "met"
    } else {
        "missed"
    };
    format!(
        "computectl types: median {median_ms:.2} ms against the {GOAL_MS:.0} ms goal ({verdict})"
    )
}

/// One timed run; it must exit 0 and print a non-empty JSON array. A failure carries
/// the command's stderr.
fn run_once(query: &mut Command, line: &str) -> Result<Duration> {
    query.stdin(Stdio::null()).stdout(Stdio::piped());
    query.stderr(Stdio::piped());

    let start = Instant::now();
    let output = query
        .output()
        .map_err(|e| format!("could not start `{line}`: {e}"))?;
    let elapsed = start.elapsed();

    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "command failed ({}): {line}\n{}",
            output.status,
            stderr.trim_end()
        ));
    }
    check_types_output(&String::from_utf8_lossy(&output.stdout))
        .map_err(|e| format!("`{line}` {e}"))?;
    Ok(elapsed)
}

/// Checks that `stdout` is the documented `types` document (docs/CLI_JSON.md),
/// `{"version": 1, "types": [...]}`, with at least one type.
fn check_types_output(stdout: &str) -> Result {
    let value = json::parse(stdout).map_err(|e| format!("printed no valid JSON: {e}"))?;
    match value.get("types").and_then(json::Value::as_array) {
        Some([]) => Err("printed an empty `types` array: no H100 type was found".to_string()),
        Some(_) => Ok(()),
        None => Err("printed JSON without a `types` array".to_string()),
    }
}

/// Where cargo puts build output: `CARGO_TARGET_DIR` (`env_dir`) if set, relative to
/// the root where cargo runs, else `<root>/target`.
fn target_dir(root: &Path, env_dir: Option<&OsStr>) -> PathBuf {
    match env_dir.filter(|dir| !dir.is_empty()) {
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
    fn the_query_must_print_a_non_empty_types_array() {
        let one = "{\"version\": 1, \"types\": [{\"id\": \"aws/us-east-1//p5\"}]}\n";
        assert_eq!(check_types_output(one), Ok(()));
        let none = check_types_output("{\"version\": 1, \"types\": []}");
        assert!(none.unwrap_err().contains("empty"));
        assert!(
            check_types_output("[{\"id\": \"p5\"}]")
                .unwrap_err()
                .contains("without a `types` array")
        );
        assert!(
            check_types_output("")
                .unwrap_err()
                .contains("no valid JSON")
        );
    }

    #[test]
    fn the_median_is_shown_beside_the_goal() {
        assert!(goal_line(12.0).ends_with("12.00 ms against the 50 ms goal (met)"));
        assert!(goal_line(50.5).ends_with("(missed)"));
    }

    #[test]
    fn target_dir_honours_cargo_target_dir() {
        let root = Path::new("/repo");

        let absolute = target_dir(root, Some(OsStr::new("/shared/target")));
        let relative = target_dir(root, Some(OsStr::new("out")));
        let unset = target_dir(root, None);
        let empty = target_dir(root, Some(OsStr::new("")));

        assert_eq!(absolute, Path::new("/shared/target"));
        assert_eq!(relative, Path::new("/repo/out"));
        assert_eq!(unset, Path::new("/repo/target"));
        assert_eq!(empty, Path::new("/repo/target"));
    }

    #[test]
    fn flags_before_the_separator_are_rejected() {
        let args = ["--quick".to_string()];

        let result = run(Path::new("/nonexistent"), &args);

        assert!(result.is_err_and(|e| e.contains("after `--`")));
    }
}

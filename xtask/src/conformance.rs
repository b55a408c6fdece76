//! `cargo xtask conformance`: run a provider's conformance suite and print its report.

use std::{fs, path::Path};

use crate::{
    Result,
    cmd::{self, cargo},
    json::{self, Value},
};

/// Which cases a run covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The cases that need no credentials (`cargo test`'s default set).
    Local,
    /// The `#[ignore]`d cases that talk to the real vendor.
    Live,
}

/// Parses `--provider <name>` or `--live <name>` and runs that suite.
pub(crate) fn run(root: &Path, args: &[String]) -> Result {
    let usage = "usage: cargo xtask conformance (--provider <name> | --live <name>)";
    let (mode, name) = match args {
        [flag, name] if flag == "--provider" => (Mode::Local, name),
        [flag, name] if flag == "--live" => (Mode::Live, name),
        _ => return Err(usage.to_string()),
    };

    run_suite(root, name, mode)
}

/// Runs `cargo test -p compute-<name> --test conformance`, pointing the suite
/// at `target/conformance/<name>.json` for its report, then prints that report.
///
/// A crate without `tests/conformance.rs` is reported and passes, so `ci`
/// works before a provider's suite lands.
pub(crate) fn run_suite(root: &Path, name: &str, mode: Mode) -> Result {
    if !is_valid_name(name) {
        return Err(format!("bad provider name `{name}`: use a-z, 0-9 and `-`"));
    }
    let package = format!("compute-{name}");
    let suite = format!("crates/{package}/tests/conformance.rs");
    if !root.join(suite).is_file() {
        println!("no conformance suite for {name} yet");
        return Ok(());
    }

    // A report left by an earlier run must not pass for this one.
    let report_dir = root.join("target/conformance");
    let report = report_dir.join(format!("{name}.json"));
    fs::create_dir_all(&report_dir)
        .map_err(|e| format!("cannot create {}: {e}", report_dir.display()))?;
    if report.exists() {
        fs::remove_file(&report).map_err(|e| format!("cannot remove {}: {e}", report.display()))?;
    }

    let mut test = cargo(root);
    test.env("COMPUTE_CONFORMANCE_REPORT", &report);
    test.args(["test", "-p", &package, "--test", "conformance"]);
    test.args(["--", "--nocapture"]);
    if mode == Mode::Live {
        test.env("COMPUTE_CONFORMANCE_LIVE", "1").arg("--ignored");
    }
    let outcome = cmd::run(&mut test);

    // The table helps most when the run failed, so print it before the error.
    let printed = if report.is_file() {
        print_report(&report)
    } else {
        Ok(())
    };
    outcome.and(printed)
}

/// Provider names become package names and paths, so keep them plain.
fn is_valid_name(name: &str) -> bool {
    let plain = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    !name.is_empty() && name.chars().all(plain)
}

/// Prints the report as a `case | result | time` table; fails if it lists failed cases.
fn print_report(path: &Path) -> Result {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let report = json::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let cases = report.get("cases").and_then(Value::as_array);
    let provider = report.get("provider").and_then(Value::as_str);

    let cases = cases.unwrap_or_default();
    let rows: Vec<Row> = cases.iter().map(Row::from_case).collect();
    let provider = provider.unwrap_or("?");
    println!("\nconformance report for {provider} ({})", path.display());
    print!("{}", render_table(&rows));

    let failed = rows.iter().filter(|row| row.result == "fail").count();
    if failed == 0 {
        Ok(())
    } else {
        Err(format!("conformance report lists {failed} failed case(s)"))
    }
}

/// One case of the report, ready to print.
#[derive(Debug)]
struct Row {
    name: String,
    result: String,
    time: String,
    detail: String,
}

impl Row {
    fn from_case(case: &Value) -> Self {
        let text = |key: &str| case.get(key).and_then(Value::as_str).unwrap_or_default();
        let time = match case.get("millis").and_then(Value::as_f64) {
            Some(millis) => format!("{millis:.0} ms"),
            None => "-".to_string(),
        };

        Self {
            name: text("name").to_string(),
            result: text("result").to_string(),
            time,
            detail: text("detail").to_string(),
        }
    }
}

/// Aligned `case | result | time` columns, a summary line, then the detail
/// of every case that did not pass.
fn render_table(rows: &[Row]) -> String {
    let width = |header: &str, cell: fn(&Row) -> &str| {
        rows.iter()
            .map(|row| cell(row).chars().count())
            .chain([header.len()])
            .max()
            .unwrap_or(0)
    };
    let name_w = width("case", |row| &row.name);
    let result_w = width("result", |row| &row.result);
    let time_w = width("time", |row| &row.time);

    let line = |name: &str, result: &str, time: &str| {
        format!("{name:name_w$} | {result:result_w$} | {time:>time_w$}\n")
    };
    let rule = |w: usize| "-".repeat(w);

    let mut out = line("case", "result", "time");
    out.push_str(&format!(
        "{}-+-{}-+-{}\n",
        rule(name_w),
        rule(result_w),
        rule(time_w)
    ));
    for row in rows {
        out.push_str(&line(&row.name, &row.result, &row.time));
    }

    let count = |result: &str| rows.iter().filter(|row| row.result == result).count();
    out.push_str(&format!(
        "{} passed, {} failed, {} skipped\n",
        count("pass"),
        count("fail"),
        count("skip")
    ));
    let unpassed = rows.iter().filter(|row| row.result != "pass");
    for row in unpassed.filter(|row| !row.detail.is_empty()) {
        out.push_str(&format!(
            "  {} ({}): {}\n",
            row.name, row.result, row.detail
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, result: &str, time: &str, detail: &str) -> Row {
        Row {
            name: name.to_string(),
            result: result.to_string(),
            time: time.to_string(),
            detail: detail.to_string(),
        }
    }

    #[test]
    fn table_columns_line_up() {
        let rows = [
            row("terminate_is_idempotent", "pass", "12 ms", ""),
            row("spot", "skip", "0 ms", "skipped: spot"),
        ];

        let table = render_table(&rows);

        let expected = "\
case                    | result |  time
------------------------+--------+------
terminate_is_idempotent | pass   | 12 ms
spot                    | skip   |  0 ms
1 passed, 0 failed, 1 skipped
  spot (skip): skipped: spot
";
        assert_eq!(table, expected);
    }

    #[test]
    fn rows_read_cases_and_tolerate_missing_fields() {
        let case = json::parse(r#"{"name": "a", "result": "fail", "millis": 7.6}"#).unwrap();

        let parsed = Row::from_case(&case);
        let empty = Row::from_case(&Value::Null);

        assert_eq!(
            (parsed.name.as_str(), parsed.result.as_str()),
            ("a", "fail")
        );
        assert_eq!(parsed.time, "8 ms");
        assert_eq!(empty.time, "-");
    }

    #[test]
    fn missing_suite_passes_and_bad_names_fail() {
        let root = crate::repo_root();

        assert_eq!(run_suite(&root, "no-such-provider", Mode::Local), Ok(()));
        assert!(run_suite(&root, "../etc", Mode::Local).is_err());
        assert!(run(&root, &["--provider".to_string()]).is_err());
    }
}

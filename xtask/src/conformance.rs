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

/// Where the one list of cases lives, relative to the repository root.
const CASE_LIST: &str = "crates/compute-conformance/src/lib.rs";

/// Runs `cargo test -p compute-<name> --test conformance`, pointing the suite
/// at `target/conformance/<name>.json` for its report, then prints that report.
///
/// Fails for a provider without `tests/conformance.rs` (listing those that have
/// one), for a run that writes no report, and for a report that does not hold
/// exactly one row per case of the suite's list.
pub(crate) fn run_suite(root: &Path, name: &str, mode: Mode) -> Result {
    if !is_valid_name(name) {
        return Err(format!("bad provider name `{name}`: use a-z, 0-9 and `-`"));
    }
    let package = format!("compute-{name}");
    let suite = format!("crates/{package}/tests/conformance.rs");
    if !root.join(&suite).is_file() {
        let known = known_providers(root)?;
        let known = if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        };
        return Err(format!(
            "no conformance suite for `{name}` (no {suite}); known providers: {known}"
        ));
    }
    let cases = suite_cases(root)?;

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
        print_report(&report, &cases)
    } else {
        let hint = match mode {
            Mode::Local => format!("does {suite} use `suite!({name}, …)`?"),
            Mode::Live => format!("does {suite} use `suite!(live {name}, …)`?"),
        };
        Err(format!(
            "the run wrote no report to {}: no case ran; {hint}",
            report.display()
        ))
    };
    outcome.and(printed)
}

/// The providers with a conformance suite: `crates/compute-<p>/tests/conformance.rs`.
fn known_providers(root: &Path) -> Result<Vec<String>> {
    let crates = root.join("crates");
    let entries =
        fs::read_dir(&crates).map_err(|e| format!("cannot list {}: {e}", crates.display()))?;

    let mut names: Vec<String> = entries
        .flatten()
        .filter(|entry| entry.path().join("tests/conformance.rs").is_file())
        .filter_map(|entry| {
            let dir = entry.file_name().to_string_lossy().into_owned();
            dir.strip_prefix("compute-").map(str::to_string)
        })
        .collect();
    names.sort();
    Ok(names)
}

/// The case names of the suite's one list, read from [`CASE_LIST`].
fn suite_cases(root: &Path) -> Result<Vec<String>> {
    let path = root.join(CASE_LIST);
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_case_list(&text)
        .ok_or_else(|| format!("{}: cannot find the list of cases", path.display()))
}

/// Reads the identifiers between `__expand_cases! { [$($mode)*]` and the closing brace.
fn parse_case_list(text: &str) -> Option<Vec<String>> {
    let start = text.find("__expand_cases! { [$($mode)*]")?;
    let body = &text[start..];
    let body = &body[body.find(']')? + 1..];
    let body = &body[..body.find('}')?];

    let names: Vec<String> = body
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect();
    let plain = |name: &String| {
        name.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    (!names.is_empty() && names.iter().all(plain)).then_some(names)
}

/// Checks that `rows` hold each of `cases` exactly once, and nothing else.
fn check_rows(rows: &[Row], cases: &[String]) -> Result {
    let count = |name: &str| rows.iter().filter(|row| row.name == name).count();
    let missing: Vec<&str> = cases
        .iter()
        .map(String::as_str)
        .filter(|name| count(name) == 0)
        .collect();
    let mut repeated: Vec<&str> = rows
        .iter()
        .map(|row| row.name.as_str())
        .filter(|name| count(name) > 1)
        .collect();
    repeated.dedup();
    let unknown: Vec<&str> = rows
        .iter()
        .map(|row| row.name.as_str())
        .filter(|name| !cases.iter().any(|case| case == name))
        .collect();

    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!("no row for {}", missing.join(", ")));
    }
    if !repeated.is_empty() {
        problems.push(format!("more than one row for {}", repeated.join(", ")));
    }
    if !unknown.is_empty() {
        problems.push(format!("rows for unknown cases {}", unknown.join(", ")));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the report does not hold one row per case of the suite ({} cases): {}",
            cases.len(),
            problems.join("; ")
        ))
    }
}

/// Provider names become package names and paths, so keep them plain.
fn is_valid_name(name: &str) -> bool {
    let plain = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    !name.is_empty() && name.chars().all(plain)
}

/// Prints the report as a `case | result | time` table; fails if it lists failed cases
/// or does not hold one row per case of `suite`.
fn print_report(path: &Path, suite: &[String]) -> Result {
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
    if failed > 0 {
        return Err(format!("conformance report lists {failed} failed case(s)"));
    }
    check_rows(&rows, suite)
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
    fn unknown_providers_fail_listing_the_known_ones() {
        let root = crate::repo_root();

        let local = run_suite(&root, "typo", Mode::Local).unwrap_err();
        let live = run(&root, &["--live".to_string(), "typo".to_string()]).unwrap_err();

        for err in [local, live] {
            assert!(err.contains("no conformance suite for `typo`"), "{err}");
            assert!(
                err.contains("known providers: ") && err.contains("fake"),
                "{err}"
            );
        }
        assert!(run_suite(&root, "../etc", Mode::Local).is_err());
        assert!(run(&root, &["--provider".to_string()]).is_err());
    }

    #[test]
    fn the_case_list_is_read_from_the_suite() {
        let sample = concat!(
            "macro_rules! __cases {\n    ($($mode:tt)*) => {\n        ",
            "$crate::__expand_cases! { [$($mode)*]\n",
            "            a_case,\n            b_case,\n        }\n",
        );

        let parsed = parse_case_list(sample);
        let real = suite_cases(&crate::repo_root()).unwrap();

        assert_eq!(
            parsed,
            Some(vec!["a_case".to_string(), "b_case".to_string()])
        );
        assert_eq!(parse_case_list("no list here"), None);
        assert!(real.len() > 30, "{real:?}");
        assert!(real.iter().any(|name| name == "create_echoes_request"));
    }

    #[test]
    fn the_report_must_hold_one_row_per_case() {
        let cases = ["a".to_string(), "b".to_string()];
        let full = [row("b", "pass", "", ""), row("a", "skip", "", "x")];
        let short = [row("a", "pass", "", "")];
        let twice = [
            row("a", "pass", "", ""),
            row("b", "pass", "", ""),
            row("a", "pass", "", ""),
        ];
        let extra = [
            row("a", "pass", "", ""),
            row("b", "pass", "", ""),
            row("c", "pass", "", ""),
        ];

        assert_eq!(check_rows(&full, &cases), Ok(()));
        assert!(
            check_rows(&short, &cases)
                .unwrap_err()
                .contains("no row for b")
        );
        assert!(
            check_rows(&twice, &cases)
                .unwrap_err()
                .contains("more than one row for a")
        );
        assert!(
            check_rows(&extra, &cases)
                .unwrap_err()
                .contains("unknown cases c")
        );
    }
}

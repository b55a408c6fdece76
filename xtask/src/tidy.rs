//! `cargo xtask tidy`: module docs, issue-linked code markers and clean whitespace in our sources.
//!
//! The rules, for `.rs` files under `crates/` and `xtask/`:
//!
//! - the first non-empty line is a `//!` module doc;
//! - every code marker reads like `TODO(#123)`, and the other marker word is
//!   not used at all, so every known gap points at the issue that tracks it;
//! - no line ends in whitespace, and no line holds a tab.
//!
//! `Cargo.toml` files get the marker and whitespace rules too.
//!
//! The banned-crates check reads `Cargo.lock`: no `openssl`, `openssl-sys` or
//! `native-tls` package may appear, because every API call goes over rustls (see
//! SECURITY.md). It stands in for cargo-deny's ban, which needs cargo-deny installed.

use std::{
    fs,
    path::{Path, PathBuf},
};

use crate::Result;

/// The marker we accept, always followed by `(#<issue>)`.
///
/// Both marker words are spelled in pieces so that this file, which must
/// name them to find them, does not trip its own check.
const MARKER: &str = concat!("TO", "DO");

/// The marker we reject in every form.
const BANNED: &str = concat!("FIX", "ME");

/// Folders walked, relative to the repository root.
const ROOTS: [&str; 2] = ["crates", "xtask"];

/// Packages `Cargo.lock` must not hold: we use rustls, never OpenSSL.
const BANNED_CRATES: [&str; 3] = ["openssl", "openssl-sys", "native-tls"];

/// One broken rule at one place.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Violation {
    pub(crate) path: PathBuf,
    pub(crate) line: usize,
    pub(crate) message: String,
}

/// Checks every file under [`ROOTS`] and prints each violation as `path:line: message`.
pub(crate) fn run(root: &Path) -> Result {
    let mut violations = check_tree(root, &ROOTS)?;
    violations.extend(check_banned_crates_in(root)?);
    for v in &violations {
        eprintln!("{}:{}: {}", v.path.display(), v.line, v.message);
    }

    match violations.len() {
        0 => {
            println!(
                "tidy: no problems under {}, and no banned crate in Cargo.lock",
                ROOTS.join(", ")
            );
            Ok(())
        }
        n => Err(format!("tidy found {n} problem(s)")),
    }
}

/// Checks the files under each of `dirs` (relative to `root`); paths in the
/// result are relative to `root`.
pub(crate) fn check_tree(root: &Path, dirs: &[&str]) -> Result<Vec<Violation>> {
    let mut files = Vec::new();
    for dir in dirs {
        collect_files(&root.join(dir), &mut files)?;
    }
    files.sort();

    let mut violations = Vec::new();
    for file in files {
        let shown = file.strip_prefix(root).unwrap_or(&file).to_path_buf();
        match fs::read_to_string(&file) {
            Ok(text) => violations.extend(check_file(&shown, &text)),
            Err(e) => violations.push(Violation {
                path: shown,
                line: 1,
                message: format!("cannot read as UTF-8 text: {e}"),
            }),
        }
    }
    Ok(violations)
}

/// The banned-crates check on `<root>/Cargo.lock`; a missing lock file has nothing to ban.
fn check_banned_crates_in(root: &Path) -> Result<Vec<Violation>> {
    let path = root.join("Cargo.lock");
    match fs::read_to_string(&path) {
        Ok(text) => Ok(check_banned_crates(Path::new("Cargo.lock"), &text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Reports every `[[package]]` of the lock text whose name is in [`BANNED_CRATES`].
pub(crate) fn check_banned_crates(path: &Path, lock: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut in_package = false;
    for (index, line) in lock.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[[package]]";
            continue;
        }
        let name = line
            .strip_prefix("name")
            .map(str::trim_start)
            .and_then(|rest| rest.strip_prefix('='))
            .map(|rest| rest.trim().trim_matches('"'));
        if let Some(name) = name.filter(|name| in_package && BANNED_CRATES.contains(name)) {
            out.push(Violation {
                path: path.to_path_buf(),
                line: index + 1,
                message: format!(
                    "banned crate `{name}` is in the dependency tree: we use rustls, \
                     never OpenSSL (find who pulls it in with `cargo tree -i {name}`)"
                ),
            });
        }
    }
    out
}

/// All rules for one file's text; `path` decides which rules apply.
pub(crate) fn check_file(path: &Path, text: &str) -> Vec<Violation> {
    let rust = is_rust(path);
    let mut out = Vec::new();
    let mut report = |line: usize, message: String| {
        out.push(Violation {
            path: path.to_path_buf(),
            line,
            message,
        });
    };

    if rust && let Err(line) = check_module_doc(text) {
        report(
            line,
            "file must open with a `//!` module doc line".to_string(),
        );
    }

    for (index, line) in text.lines().enumerate() {
        for message in check_line(line, rust) {
            report(index + 1, message);
        }
    }
    out
}

/// `Ok` if the first non-empty line is a `//!` doc, else `Err` with its line number.
pub(crate) fn check_module_doc(text: &str) -> std::result::Result<(), usize> {
    let first = text
        .lines()
        .enumerate()
        .find(|(_, line)| !line.trim().is_empty());
    match first {
        Some((_, line)) if line.trim_start().starts_with("//!") => Ok(()),
        Some((index, _)) => Err(index + 1),
        None => Err(1),
    }
}

/// The problems on one line: markers, trailing whitespace, and tabs when `rust`.
pub(crate) fn check_line(line: &str, rust: bool) -> Vec<String> {
    let mut problems = Vec::new();
    for at in word_positions(line, MARKER) {
        if !is_linked(&line[at + MARKER.len()..]) {
            problems.push(format!(
                "write `{MARKER}(#<issue>)`: every marker links an issue"
            ));
        }
    }
    if !word_positions(line, BANNED).is_empty() {
        problems.push(format!(
            "`{BANNED}` is not used here: write `{MARKER}(#<issue>)`"
        ));
    }

    if line.ends_with(char::is_whitespace) {
        problems.push("trailing whitespace".to_string());
    }
    if rust && line.contains('\t') {
        problems.push("tab character: indent with spaces".to_string());
    }
    problems
}

/// Byte offsets where `word` stands alone, not inside a longer identifier.
fn word_positions(line: &str, word: &str) -> Vec<usize> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    line.match_indices(word)
        .map(|(at, _)| at)
        .filter(|&at| {
            let before = line[..at].chars().next_back();
            let after = line[at + word.len()..].chars().next();
            !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
        })
        .collect()
}

/// Whether `rest` starts with `(#<digits>)`.
fn is_linked(rest: &str) -> bool {
    let Some(inner) = rest.strip_prefix("(#") else {
        return false;
    };
    let digits = inner.chars().take_while(char::is_ascii_digit).count();
    digits > 0 && inner[digits..].starts_with(')')
}

fn is_rust(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "rs")
}

fn is_checked(path: &Path) -> bool {
    is_rust(path) || path.file_name().is_some_and(|name| name == "Cargo.toml")
}

/// Adds the checked files under `dir`, skipping `target` and hidden folders.
fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("cannot list {}: {e}", dir.display())),
    };

    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let path = entry.path();
        let name = entry.file_name();
        let file_type = entry
            .file_type()
            .map_err(|e| format!("{}: {e}", path.display()))?;

        if file_type.is_dir() {
            let skip = name == "target" || name.to_string_lossy().starts_with('.');
            if !skip {
                collect_files(&path, files)?;
            }
        } else if file_type.is_file() && is_checked(&path) {
            files.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linked_marker_passes() {
        let line = "    // TODO(#42): retry once the vendor fixes pagination";

        let problems = check_line(line, true);

        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn unlinked_or_malformed_markers_fail() {
        let bad = [
            format!("// {MARKER}: later"),
            format!("// {MARKER} later"),
            format!("// {MARKER}(#): empty issue"),
            format!("// {MARKER}(#12 later)"),
            format!("// {MARKER}(alice): a name, not an issue"),
            format!("// {MARKER}(#1) fine, but {MARKER} again"),
        ];

        for line in &bad {
            let problems = check_line(line, true);

            assert_eq!(problems.len(), 1, "{line:?} gave {problems:?}");
        }
    }

    #[test]
    fn the_other_marker_always_fails() {
        let linked = format!("// {BANNED}(#3): even with an issue");
        let bare = format!("/* {BANNED} */");

        assert_eq!(check_line(&linked, true).len(), 1);
        assert_eq!(check_line(&bare, true).len(), 1);
    }

    #[test]
    fn markers_inside_longer_words_are_not_markers() {
        let lines = [
            format!("let {MARKER}_LIST = 1;"),
            format!("x{BANNED}y"),
            concat!("todo", "!()").to_string(),
        ];

        for line in &lines {
            assert!(check_line(line, true).is_empty(), "{line:?}");
        }
    }

    #[test]
    fn trailing_whitespace_and_tabs_fail() {
        assert_eq!(check_line("let x = 1; ", true), ["trailing whitespace"]);
        assert_eq!(check_line("let x = 1;\t", false), ["trailing whitespace"]);
        assert_eq!(
            check_line("\tlet x = 1;", true),
            ["tab character: indent with spaces"]
        );
        assert!(check_line("\tkey = 1", false).is_empty());
        assert!(check_line("", true).is_empty());
    }

    #[test]
    fn module_doc_must_be_the_first_non_empty_line() {
        assert_eq!(check_module_doc("//! Does things.\nfn f() {}\n"), Ok(()));
        assert_eq!(check_module_doc("\n\n//! Late but first.\n"), Ok(()));
        assert_eq!(check_module_doc("\n// plain comment\n//! doc\n"), Err(2));
        assert_eq!(check_module_doc("/// item doc\nfn f() {}\n"), Err(1));
        assert_eq!(check_module_doc(""), Err(1));
    }

    #[test]
    fn check_file_reports_line_numbers_and_skips_doc_rule_for_manifests() {
        let text = format!("//! Doc.\nfn f() {{}} \n// {MARKER}: x\n");

        let rust = check_file(Path::new("a.rs"), &text);
        let manifest = check_file(Path::new("Cargo.toml"), "[package]\n");

        let lines: Vec<usize> = rust.iter().map(|v| v.line).collect();
        assert_eq!(lines, [2, 3]);
        assert!(manifest.is_empty());
    }

    #[test]
    fn banned_crates_in_the_lock_file_fail() {
        let lock = r#"# This file is automatically @generated by Cargo.
version = 4

[[package]]
name = "rustls"
version = "0.23.0"
dependencies = [
 "openssl-probe",
]

[[package]]
name = "openssl-sys"
version = "0.9.100"

[[package]]
name = "native-tls"
version = "0.2.12"

[[package]]
name = "openssl"
version = "0.10.0"

[[package]]
name = "openssl-probe"
version = "0.1.5"
"#;

        let violations = check_banned_crates(Path::new("Cargo.lock"), lock);

        let lines: Vec<usize> = violations.iter().map(|v| v.line).collect();
        assert_eq!(lines, [12, 16, 20]);
        assert!(violations[0].message.contains("`openssl-sys`"));
        assert!(violations[1].message.contains("`native-tls`"));
        assert!(violations[2].message.contains("`openssl`"));
    }

    #[test]
    fn a_clean_lock_file_passes() {
        let lock = "[[package]]\nname = \"rustls\"\nversion = \"0.23.0\"\n\n\
            [metadata]\nname = \"openssl\"\n";

        assert_eq!(check_banned_crates(Path::new("Cargo.lock"), lock), []);
    }

    #[test]
    fn the_workspace_lock_file_has_no_banned_crate() {
        let violations = check_banned_crates_in(&crate::repo_root()).expect("read Cargo.lock");

        assert_eq!(violations, []);
    }

    #[test]
    fn xtask_itself_is_tidy() {
        let root = crate::repo_root();

        let violations = check_tree(&root, &["xtask"]).expect("walk xtask");

        assert_eq!(violations, []);
    }
}

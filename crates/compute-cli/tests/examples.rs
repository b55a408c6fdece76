//! Every example the help texts and the README show is run, so none can rot: each
//! `computectl ...` line under `Examples:` of every command's `--help` (the command tree
//! is walked through the `Commands:` lists), and the README's command lines and its Rust
//! example.
//!
//! Examples run from a directory laid out like a checkout (the repository beside
//! `shared/`), so `--catalog ../shared/data/catalogs` resolves as it does for a developer;
//! `~` is the home of a test user whose `~/.ssh/id_ed25519.pub` exists.

#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use common::{Env, PUBLIC_KEY, words};

/// The cluster the examples of `ls`, `show`, `down` and `firewall` expect to exist.
const SETUP: &str = "up --cluster demo --gpu H100 --gpus-per-node 8 --nodes 2";

/// Commands whose examples need the `demo` cluster up first.
const NEED_A_CLUSTER: &[&str] = &["ls", "show", "down", "firewall"];

/// A checkout-like layout: `<tmp>/repo` (the working directory), `<tmp>/shared` (a link
/// to the real shared data) and `<tmp>/home` with an SSH public key.
struct Layout {
    _dir: TempDir,
    repo: PathBuf,
    home: PathBuf,
}

impl Layout {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = dir.path().join("repo");
        let home = dir.path().join("home");
        std::fs::create_dir_all(&repo).unwrap();
        std::fs::create_dir_all(home.join(".ssh")).unwrap();
        std::fs::write(home.join(".ssh/id_ed25519.pub"), PUBLIC_KEY).unwrap();
        let shared = Path::new(common::CATALOGS).join("../..");
        std::os::unix::fs::symlink(shared, dir.path().join("shared")).unwrap();
        Self {
            _dir: dir,
            repo,
            home,
        }
    }
}

/// One example: its arguments after `computectl`, and where a `> FILE` sends stdout.
#[derive(Debug)]
struct Example {
    line: String,
    args: Vec<String>,
    stdout_to: Option<String>,
}

impl Example {
    /// Reads `computectl ARGS [> FILE]` (already joined across `\` continuations),
    /// expanding `~/` the way a shell would.
    fn parse(line: &str, home: &Path) -> Self {
        let mut tokens: Vec<String> = words(line)
            .into_iter()
            .skip(1)
            .map(|w| match w.strip_prefix("~/") {
                Some(rest) => home.join(rest).display().to_string(),
                None => w.to_owned(),
            })
            .collect();
        let mut stdout_to = None;
        if let Some(at) = tokens.iter().position(|t| t == ">") {
            stdout_to = tokens.get(at + 1).cloned();
            tokens.truncate(at);
        }
        Self {
            line: line.to_owned(),
            args: tokens,
            stdout_to,
        }
    }

    /// The command the example runs: its first word that is not an option or a value.
    fn command(&self) -> Option<&str> {
        let mut skip_value = false;
        for arg in &self.args {
            if skip_value {
                skip_value = false;
            } else if arg.starts_with('-') {
                // Global options that take a value.
                skip_value = matches!(arg.as_str(), "--catalog" | "--state" | "--provider" | "-o");
            } else {
                return Some(arg);
            }
        }
        None
    }

    /// Runs the example in a fresh state, after creating `demo` when it needs a cluster.
    fn run(&self, layout: &Layout) {
        let env = Env::new();
        if self.command().is_some_and(|c| NEED_A_CLUSTER.contains(&c)) {
            env.json(SETUP);
        }
        let out = env
            .cmd()
            .current_dir(&layout.repo)
            .env("HOME", &layout.home)
            .args(&self.args)
            .output()
            .expect("run");

        assert!(
            out.status.success(),
            "example `{}` failed: {}",
            self.line,
            String::from_utf8_lossy(&out.stderr)
        );
        if let Some(file) = &self.stdout_to {
            std::fs::write(layout.repo.join(file), &out.stdout).unwrap();
        }
    }
}

/// Runs `computectl <path> --help` and returns its text.
fn help(path: &[String]) -> String {
    let env = Env::new();
    let out = env.cmd().args(path).arg("--help").output().expect("run");
    assert!(out.status.success(), "{path:?} --help failed");
    String::from_utf8(out.stdout).expect("help is UTF-8")
}

/// The subcommands a help text lists under `Commands:`, without `help`.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// The `computectl ...` lines under `Examples:`, joined across `\` continuations.
fn examples(help: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut continued = false;
    for line in help.lines().skip_while(|l| l.trim() != "Examples:") {
        let text = line.trim();
        if continued {
            let last = out.last_mut().expect("a line to continue");
            last.push(' ');
            last.push_str(text.trim_end_matches('\\').trim());
        } else if text.starts_with("computectl ") {
            out.push(text.trim_end_matches('\\').trim().to_owned());
        } else {
            continue;
        }
        continued = text.ends_with('\\');
    }
    out
}

/// Every command path of the tree, depth first: `[]`, `[types]`, ..., `[firewall, check]`.
fn command_paths() -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut todo = vec![Vec::new()];
    while let Some(path) = todo.pop() {
        let text = help(&path);
        for sub in subcommands(&text).into_iter().rev() {
            let mut child = path.clone();
            child.push(sub);
            todo.push(child);
        }
        paths.push(path);
    }
    paths
}

#[test]
fn every_help_example_runs() {
    let layout = Layout::new();
    let paths = command_paths();
    assert!(paths.len() >= 13, "the whole tree was walked: {paths:?}");

    let mut count = 0;
    for path in &paths {
        let found = examples(&help(path));
        assert!(!found.is_empty(), "no example in the help of {path:?}");
        for line in found {
            Example::parse(&line, &layout.home).run(&layout);
            count += 1;
        }
    }

    assert!(count >= 25, "ran {count} examples");
}

#[test]
fn example_lines_are_read_like_a_shell_would() {
    let home = Path::new("/home/u");
    let help = "Examples:\n  computectl up --cluster t \\\n      --ssh-key ~/.ssh/k.pub\n  \
                computectl firewall render --to a > a.nft\n\nExit codes: 0";

    let lines = examples(help);
    let up = Example::parse(&lines[0], home);
    let render = Example::parse(&lines[1], home);

    assert_eq!(lines.len(), 2);
    assert_eq!(
        up.args,
        ["up", "--cluster", "t", "--ssh-key", "/home/u/.ssh/k.pub"]
    );
    assert_eq!(render.command(), Some("firewall"));
    assert_eq!(render.stdout_to.as_deref(), Some("a.nft"));
    assert_eq!(
        Example::parse("computectl --catalog x -o json ls", home).command(),
        Some("ls")
    );
}

/// The README, read at compile time.
const README: &str = include_str!("../../../README.md");

/// The README's command lines: `computectl ...` and `cargo run ... -p compute-cli -- ...`
/// inside `sh` blocks, as `computectl` lines.
fn readme_commands() -> Vec<String> {
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in README.lines() {
        match line.trim() {
            "```sh" => in_sh = true,
            "```" => in_sh = false,
            text if in_sh => {
                if let Some((_, args)) = text
                    .strip_prefix("cargo run")
                    .filter(|_| text.contains("-p compute-cli"))
                    .and_then(|t| t.split_once(" -- "))
                {
                    out.push(format!("computectl {args}"));
                } else if text.starts_with("computectl ") {
                    out.push(text.to_owned());
                }
            }
            _ => {}
        }
    }
    out
}

#[test]
fn the_readme_commands_run_in_order() {
    let layout = Layout::new();
    let env = Env::new();
    let lines = readme_commands();
    assert!(lines.len() >= 4, "{lines:?}");

    for line in &lines {
        let example = Example::parse(line, &layout.home);
        let out = env
            .cmd()
            .current_dir(&layout.repo)
            .env("HOME", &layout.home)
            .args(&example.args)
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "README line `{line}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The Rust example of the README, verbatim between the markers (the README's hidden
/// `# Ok` line is this function's return).
#[allow(clippy::unnecessary_wraps)]
fn readme_example() -> Result<(), compute_types::Error> {
    // README example begins
    use compute_provider::CreateInstance;
    use compute_types::{FirewallRule, InstanceTypeId, RefId};

    let type_id: InstanceTypeId = "fake/us-east-1//gpu-8x-h100-sxm".parse()?;
    let request = CreateInstance::new(RefId::new("demo-0")?, type_id)
        .with_cluster("demo")
        .with_firewall_rule("tcp:22@203.0.113.0/24".parse::<FirewallRule>()?);
    request.validate()?;
    // provider.create_instance(&request).await? on any `dyn Provider`.
    // README example ends
    Ok(())
}

#[test]
fn the_readme_rust_example_is_this_code_and_runs() {
    let readme: Vec<&str> = README
        .split("```rust\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a rust block")
        .lines()
        .filter(|l| !l.starts_with("# "))
        .collect();
    let source = include_str!("examples.rs");
    let here: Vec<&str> = source
        .split("// README example begins\n")
        .nth(1)
        .and_then(|rest| rest.split("    // README example ends").next())
        .expect("markers")
        .lines()
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect();

    assert_eq!(readme, here, "README.md and tests/examples.rs differ");
    readme_example().expect("the example runs");
    let type_id = "fake/us-east-1//gpu-8x-h100-sxm".parse().unwrap();
    assert!(
        compute_catalog::Catalog::builtin().get(&type_id).is_some(),
        "the README's type id is in the built-in catalog"
    );
}

/// The JSON block under a heading of docs/CLI_JSON.md.
fn documented_json(heading: &str) -> serde_json::Value {
    const DOC: &str = include_str!("../../../docs/CLI_JSON.md");
    let block = DOC
        .split(&format!("### `{heading}`\n"))
        .nth(1)
        .and_then(|rest| rest.split("```json\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("a json block under the heading");
    serde_json::from_str(block).expect("the documented example is JSON")
}

/// The keys of a JSON object and of the objects inside it, as `a.b` paths.
fn key_paths(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
    if let Some(object) = value.as_object() {
        for (key, inner) in object {
            let path = format!("{prefix}{key}");
            key_paths(inner, &format!("{path}."), out);
            out.push(path);
        }
    }
    out.sort();
}

#[test]
fn the_documented_firewall_check_matches_what_the_fake_produces() {
    let env = Env::new();
    let up = env.json(
        "up --cluster demo --gpu H100 --gpus-per-node 8 --nodes 2 --allow tcp:22@203.0.113.0/24",
    );
    let documented = documented_json("firewall check");

    let real = env.json("firewall check --cluster demo --to demo-0 --from 203.0.113.9 --port 22");

    let (mut doc_keys, mut real_keys) = (Vec::new(), Vec::new());
    key_paths(&documented, "", &mut doc_keys);
    key_paths(&real, "", &mut real_keys);
    assert_eq!(doc_keys, real_keys, "documented fields are the real ones");
    let field = |v: &serde_json::Value, name: &str| v[name].as_str().unwrap().to_owned();
    let nodes = up["nodes"].as_array().unwrap();
    let private: Vec<String> = nodes.iter().map(|n| field(n, "private_ip")).collect();
    let public: Vec<String> = nodes.iter().map(|n| field(n, "public_ip")).collect();
    assert!(
        private.contains(&field(&documented["to"], "private_ip")),
        "{private:?}"
    );
    assert!(
        public.contains(&field(&documented["to"], "public_ip")),
        "{public:?}"
    );
    assert_eq!(documented["from"], real["from"]);
    assert_eq!(documented["reason"], real["reason"]);
}

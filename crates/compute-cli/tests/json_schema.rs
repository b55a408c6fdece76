//! docs/CLI_JSON.md against real output: every command's documented JSON keys (with the
//! shared Instance, Instance type and price objects expanded from their tables) are
//! exactly the keys the command prints, so the documentation and the output cannot drift.

mod common;

use std::collections::BTreeSet;

use compute_catalog::Catalog;
use compute_fake::FakeProvider;
use compute_provider::{CreateInstance, Provider};
use compute_types::RefId;
use serde_json::{Map, Value};

use common::{CATALOGS, Env, PUBLIC_KEY};

const DOC: &str = include_str!("../../../docs/CLI_JSON.md");

/// Every command the schema documents, by its heading.
const COMMANDS: &[&str] = &[
    "types",
    "locations",
    "plan",
    "up",
    "ls",
    "show",
    "down",
    "firewall check",
    "firewall render",
    "firewall lint",
    "sweep",
];

/// The text of DOC after `heading`, up to the next heading of the same or a higher level.
fn section(heading: &str) -> String {
    let level = heading.chars().take_while(|c| *c == '#').count();
    let mut lines = DOC.lines().skip_while(|l| *l != heading);
    assert!(lines.next().is_some(), "no heading {heading}");

    let ends = |line: &str| {
        let hashes = line.chars().take_while(|c| *c == '#').count();
        (1..=level).contains(&hashes) && line[hashes..].starts_with(' ')
    };
    let body: Vec<&str> = lines.take_while(|l| !ends(l)).collect();
    body.join("\n")
}

/// The documented price object, from the rules' `**Prices** are objects `...`` line.
fn price_object() -> Value {
    let after = DOC.split("**Prices** are objects `").nth(1).unwrap();
    let example: Value = serde_json::from_str(after.split('`').next().unwrap()).unwrap();
    blank(&example)
}

/// The same object with every leaf replaced by null, keeping nested objects.
fn blank(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), blank(v))).collect())
        }
        _ => Value::Null,
    }
}

/// A shared object from its field table; fields of type `price` are price objects.
fn shared_object(heading: &str) -> Value {
    let mut fields = Map::new();
    for line in section(heading).lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let Some(name) = cells.get(1).and_then(|c| c.strip_prefix('`')) else {
            continue;
        };
        let name = name.trim_end_matches('`');
        let is_price = cells.get(2).is_some_and(|t| t.starts_with("price"));
        fields.insert(
            name.to_owned(),
            if is_price {
                price_object()
            } else {
                Value::Null
            },
        );
    }
    assert!(fields.len() > 5, "{heading} has a field table");
    Value::Object(fields)
}

/// The JSON block of a command, with `<instance>`, `<instance type>` and `<price>`
/// placeholders expanded, other placeholders (`<string or null>`) made null, and the
/// `, ...` that ends example arrays dropped.
fn documented(command: &str) -> Value {
    let text = section(&format!("### `{command}`"));
    let block = text
        .split("```json\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap_or_else(|| panic!("a json block under `{command}`"));

    let mut json = block.replace(", ...]", "]");
    while let Some(open) = json.find('<') {
        let close = open + json[open..].find('>').unwrap();
        let name = json[open + 1..close].trim_end_matches(" or null");
        let value = match name {
            "instance" => shared_object("### Instance"),
            "instance type" => shared_object("### Instance type"),
            "price" => price_object(),
            _ => Value::Null,
        };
        json.replace_range(open..=close, &value.to_string());
    }
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("`{command}` block: {e}\n{json}"))
}

/// The keys of a document.
#[derive(Debug, Default)]
struct Keys {
    /// Key paths: `a`, `a.b`, and `a[].b` for objects inside arrays (over every element).
    paths: BTreeSet<String>,
    /// Paths holding an object or a non-empty array somewhere; below the others (null or
    /// empty everywhere), nothing can be seen in this output.
    filled: BTreeSet<String>,
}

impl Keys {
    fn of(value: &Value) -> Self {
        let mut keys = Self::default();
        keys.walk(value, "");
        keys
    }

    fn walk(&mut self, value: &Value, prefix: &str) {
        match value {
            Value::Object(map) => {
                self.filled.insert(prefix.to_owned());
                for (key, inner) in map {
                    let path = format!("{prefix}{}{key}", if prefix.is_empty() { "" } else { "." });
                    self.paths.insert(path.clone());
                    self.walk(inner, &path);
                }
            }
            Value::Array(items) => {
                if !items.is_empty() {
                    self.filled.insert(prefix.to_owned());
                }
                for item in items {
                    self.walk(item, &format!("{prefix}[]"));
                }
            }
            _ => {}
        }
    }

    /// True when what lies below `path` is visible here (its parents hold a value).
    fn sees(&self, path: &str) -> bool {
        let parent = path.rsplit_once('.').map_or("", |(p, _)| p);
        let parent = parent.strip_suffix("[]").unwrap_or(parent);
        parent.is_empty()
            || self.filled.contains(parent)
            || self.filled.contains(&format!("{parent}[]"))
    }
}

/// Checks one command's output against its documented block; returns the documented
/// paths the output could not show (below a null or an empty array).
fn check(command: &str, real: &Value) -> Vec<String> {
    let doc = Keys::of(&documented(command));
    let out = Keys::of(real);

    let undocumented: Vec<&String> = out.paths.difference(&doc.paths).collect();
    assert!(
        undocumented.is_empty(),
        "`{command}` prints undocumented keys {undocumented:?}"
    );
    let mut unseen = Vec::new();
    for path in doc.paths.difference(&out.paths) {
        assert!(
            !out.sees(path),
            "`{command}` does not print documented key {path}"
        );
        unseen.push(format!("{command}: {path}"));
    }
    unseen
}

/// Creates an instance carrying ownership tags that no cluster knows, through the
/// library on the same state file.
fn leave_an_orphan(env: &Env) {
    let catalog = Catalog::load_path(CATALOGS).unwrap().0;
    let fake = FakeProvider::open(env.state(), FakeProvider::builder().from_catalog(&catalog))
        .expect("open the state file");
    let type_id = catalog.instance_types()[0].id.clone();
    let request = CreateInstance::new(RefId::new("lost-0").unwrap(), type_id);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();

    runtime
        .block_on(fake.create_instance(&request))
        .expect("create");
}

#[test]
fn every_documented_command_is_checked() {
    let headings: Vec<&str> = DOC
        .lines()
        .filter_map(|l| l.strip_prefix("### `")?.strip_suffix('`'))
        .collect();

    assert_eq!(headings, COMMANDS);
}

#[test]
fn every_command_prints_exactly_the_documented_keys() {
    let env = Env::new();
    let key = env.path("id_ed25519.pub");
    std::fs::write(&key, PUBLIC_KEY).unwrap();
    let run = |line: &str| env.json(&format!("--catalog {CATALOGS} {line}"));
    let firewall = "--cluster demo --to demo-0";

    // Values are filled wherever they can be, so nested keys are visible.
    let mut outputs = vec![
        ("types", run("types --gpu H100")),
        ("locations", run("locations")),
        (
            "plan",
            run("plan --gpu H100 --gpus-per-node 8 --nodes 2 --max-price 200 --location us-*"),
        ),
        (
            "up",
            run(&format!(
                "up --cluster demo --gpu H100 --gpus-per-node 8 --nodes 2 \
                 --allow tcp:22@203.0.113.0/24 --allow tcp:8888@0.0.0.0/0 --ssh-key {}",
                key.display()
            )),
        ),
        ("ls", run("ls")),
        ("show", run("show demo-0")),
        (
            "firewall check",
            run(&format!(
                "firewall check {firewall} --from 203.0.113.9 --port 22"
            )),
        ),
        (
            "firewall render",
            run(&format!("firewall render {firewall}")),
        ),
        ("firewall lint", run("firewall lint --cluster demo")),
    ];
    leave_an_orphan(&env);
    outputs.push(("sweep", run("sweep --yes")));
    outputs.push(("down", run("down --cluster demo")));

    let mut unseen = Vec::new();
    for (command, real) in &outputs {
        assert_eq!(real["version"], 1, "{command}");
        unseen.extend(check(command, real));
    }
    // Only what a run without failures cannot show stays unchecked.
    assert_eq!(unseen, ["sweep: failed[].error", "sweep: failed[].id"]);
}

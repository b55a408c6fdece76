//! End-to-end tests of bad input: each gives exit 2 (or 1 for a broken file) with one
//! clear `error:` line, and changes nothing.

mod common;

use predicates::prelude::*;

use common::{Env, words};

const UP: &str = "up --cluster demo --gpu H100 --gpus-per-node 8 --nodes 2";

#[test]
fn zero_nodes() {
    let env = Env::new();

    let err = env.fails(
        "up --cluster demo --gpu H100 --gpus-per-node 8 --nodes 0",
        2,
    );

    assert!(
        err.contains("--nodes must be at least 1 and at most 100000"),
        "{err}"
    );
    assert!(env.files().is_empty(), "{:?}", env.files());
}

#[test]
fn invalid_allow_rule() {
    let env = Env::new();
    let err = env.fails(&format!("{UP} --allow tcp:70000@0.0.0.0/0"), 2);

    assert!(err.contains("--allow"), "{err}");
    assert!(err.contains("hint: rules look like"), "{err}");
    assert!(env.files().is_empty(), "{:?}", env.files());
}

#[test]
fn unknown_gpu_model_on_up() {
    let env = Env::new();

    let err = env.fails(
        "up --cluster demo --gpu H1000 --gpus-per-node 8 --nodes 2",
        2,
    );

    assert!(err.contains("unknown GPU model `H1000`"), "{err}");
    assert!(env.instances().is_empty());
}

#[test]
fn unknown_type_and_bad_cluster_name() {
    let env = Env::new();

    let unknown = env.fails("up --cluster demo --type nope-8x --nodes 1", 2);
    let bad_name = env.fails("up --cluster Demo_1 --type x --nodes 1", 2);

    assert!(
        unknown.contains("unknown instance type `nope-8x`"),
        "{unknown}"
    );
    assert!(bad_name.contains("cluster"), "{bad_name}");
    assert!(env.instances().is_empty());
}

#[test]
fn bad_ssh_keys_are_refused_without_echoing_them() {
    let env = Env::new();
    let private = env.path("id_ed25519");
    let pem = concat!(
        "-----BEGIN OPENSSH PRIVATE KEY-----\n",
        "c2VjcmV0LWtleS1tYXRlcmlhbA==\n",
        "-----END OPENSSH PRIVATE KEY-----\n",
    );
    std::fs::write(&private, pem).unwrap();
    let garbage = env.path("garbage.pub");
    std::fs::write(&garbage, "ssh-ed25519 not-base64!! secret-comment").unwrap();
    let missing = env.path("missing.pub");

    let errs: Vec<String> = [&private, &garbage, &missing]
        .iter()
        .map(|p| env.fails(&format!("{UP} --ssh-key {}", p.display()), 2))
        .collect();

    assert!(errs[0].contains("holds a private key"), "{}", errs[0]);
    assert!(
        errs[1].contains("is not an OpenSSH public key"),
        "{}",
        errs[1]
    );
    assert!(errs[2].contains("cannot read --ssh-key"), "{}", errs[2]);
    for err in &errs {
        assert!(
            !err.contains("c2VjcmV0") && !err.contains("secret-comment"),
            "{err}"
        );
    }
    assert!(env.instances().is_empty());
}

#[test]
fn corrupt_state_file_is_named_and_left_unchanged() {
    let env = Env::new();
    std::fs::write(env.state(), "{ this is not a state file").unwrap();

    let up = env.fails(UP, 1);
    let ls = env.fails("ls", 1);

    assert!(up.contains("state.json"), "{up}");
    assert!(ls.contains("state.json"), "{ls}");
    assert!(up.contains("hint:"), "{up}");
    let after = std::fs::read_to_string(env.state()).unwrap();
    assert_eq!(after, "{ this is not a state file");
}

#[test]
fn corrupt_cluster_inventory_is_named_and_left_unchanged() {
    let env = Env::new();
    std::fs::write(env.inventory(), "[1, 2").unwrap();

    let err = env.fails(UP, 1);

    assert!(
        err.contains("clusters.json") && err.contains("corrupt"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(env.inventory()).unwrap(), "[1, 2");
    assert!(!env.state().exists() || env.instances().is_empty());
}

#[test]
fn unknown_cluster() {
    let env = Env::new();
    env.json("up --cluster real --type gpu-1x-h100-sxm --nodes 1");
    let inventory = std::fs::read(env.inventory()).unwrap();

    let errs = [
        env.fails("ls --cluster nope", 2),
        env.fails("down --cluster nope", 2),
        env.fails(
            "firewall check --cluster nope --to x --from 1.2.3.4 --port 22",
            2,
        ),
        env.fails("firewall render --cluster nope --to x", 2),
        env.fails("firewall lint --cluster nope", 2),
    ];

    for err in &errs {
        assert!(err.contains("unknown cluster `nope`"), "{err}");
        assert!(err.contains("hint: known clusters: real"), "{err}");
        assert!(err.contains("listed by `computectl sweep`"), "{err}");
    }
    assert_eq!(std::fs::read(env.inventory()).unwrap(), inventory);
    assert_eq!(env.instances().len(), 1);
}

#[test]
fn unknown_instance_and_node() {
    let env = Env::new();
    env.json("up --cluster real --type gpu-1x-h100-sxm --nodes 1");

    let show = env.fails("show i-99999999", 2);
    let check = env.fails(
        "firewall check --cluster real --to real-7 --from 1.2.3.4 --port 22",
        2,
    );

    assert!(show.contains("no instance `i-99999999`"), "{show}");
    assert!(
        check.contains("no node `real-7`") && check.contains("real-0"),
        "{check}"
    );
}

#[test]
fn check_needs_a_port_for_tcp_and_none_for_icmp() {
    let env = Env::new();
    env.json("up --cluster real --type gpu-1x-h100-sxm --nodes 1");
    let base = "firewall check --cluster real --to real-0 --from 1.2.3.4";

    let no_port = env.fails(base, 2);
    let icmp_port = env.fails(&format!("{base} --proto icmp --port 1"), 2);

    assert!(no_port.contains("--port is required"), "{no_port}");
    assert!(icmp_port.contains("no ports"), "{icmp_port}");
}

#[test]
fn usage_errors_from_clap_exit_two() {
    let env = Env::new();

    let out = env
        .cmd()
        .args(words("up --cluster x --nodes 1"))
        .output()
        .unwrap();
    let provider = env.fails("--provider nimbus ls", 2);

    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error:"));
    assert!(provider.contains("unknown provider `nimbus`") && provider.contains("fake"));
}

#[test]
fn every_command_has_help_with_an_example() {
    let env = Env::new();
    let commands = [
        "",
        "types",
        "locations",
        "plan",
        "up",
        "ls",
        "show",
        "down",
        "firewall",
        "firewall check",
        "firewall render",
        "firewall lint",
        "sweep",
    ];

    for command in commands {
        env.cmd()
            .args(words(command))
            .arg("--help")
            .assert()
            .success()
            .stdout(predicate::str::contains("Examples:\n  computectl"));
    }
}

#[test]
fn a_rule_given_twice_is_refused_before_anything_is_created() {
    let env = Env::new();
    let rule = "tcp:8888@0.0.0.0/0";

    let err = env.fails(&format!("{UP} --allow {rule} --allow {rule}"), 2);

    assert!(err.contains("--allow"), "{err}");
    assert!(env.files().is_empty(), "{:?}", env.files());
}

#[test]
fn unknown_locations_are_refused_up_front_naming_the_known_ones() {
    let env = Env::new();

    let errs = [
        env.fails("types --gpu H100 --location mars-1", 2),
        env.fails(
            "plan --gpu H100 --gpus-per-node 8 --nodes 2 --location mars-1",
            2,
        ),
        env.fails(&format!("{UP} --location mars-1"), 2),
        env.fails(
            "up --cluster demo --type gpu-1x-l4 --nodes 1 --location mars-1",
            2,
        ),
    ];

    for err in &errs {
        assert!(
            err.contains("--location: unknown location `mars-1`"),
            "{err}"
        );
        assert!(err.contains("hint: known locations: "), "{err}");
        assert!(
            err.contains("us-east-1") && err.contains("eu-central-1"),
            "{err}"
        );
    }
    assert!(env.files().is_empty(), "{:?}", env.files());
}

#[test]
fn a_location_prefix_must_match_a_known_location() {
    let env = Env::new();

    let us = env.json("types --gpu H100 --location us-*");
    let err = env.fails("types --gpu H100 --location mars-*", 2);

    let types = us["types"].as_array().unwrap();
    assert!(!types.is_empty());
    assert!(
        types
            .iter()
            .all(|t| t["location"].as_str().unwrap().starts_with("us-"))
    );
    assert!(err.contains("unknown location `mars-*`"), "{err}");
}

#[test]
fn gpu_memory_needs_a_unit() {
    let env = Env::new();

    let bare = env.fails("types --min-gpu-memory 80", 2);
    let with_unit = env.json("types --min-gpu-memory 80GiB");

    assert!(bare.contains("--min-gpu-memory"), "{bare}");
    assert!(
        bare.contains("`80` has no unit") && bare.contains("80GiB"),
        "{bare}"
    );
    let types = with_unit["types"].as_array().unwrap();
    assert!(!types.is_empty());
    let gib80 = 80u64 << 30;
    assert!(
        types
            .iter()
            .all(|t| t["gpu_memory_bytes"].as_u64().unwrap() >= gib80)
    );
}

#[test]
fn cluster_names_must_leave_node_names_within_a_dns_label() {
    let env = Env::new();
    // 60 characters: `<name>-9` is 62 characters, `<name>-99` would be 63, `<name>-100` 64.
    let name = format!("c{}", "x".repeat(59));

    let err = env.fails(
        &format!("up --cluster {name} --type gpu-1x-l4 --nodes 101"),
        2,
    );

    assert!(err.contains("--cluster"), "{err}");
    assert!(
        err.contains("63 characters") && err.contains("at most 59"),
        "{err}"
    );
    assert!(env.files().is_empty(), "{:?}", env.files());
}

#[test]
fn cluster_name_errors_name_the_flag() {
    let env = Env::new();

    let err = env.fails("up --cluster Demo_1 --type gpu-1x-l4 --nodes 1", 2);

    assert!(err.contains("--cluster: `Demo_1`"), "{err}");
}

#[test]
fn a_corrupt_state_file_is_reported_before_an_unknown_cluster() {
    let env = Env::new();
    std::fs::write(env.state(), "{ this is not a state file").unwrap();

    let down = env.fails("down --cluster x", 1);
    let ls = env.fails("ls --cluster x", 1);
    let check = env.fails("firewall lint --cluster x", 1);

    for err in [&down, &ls, &check] {
        assert!(err.contains("state.json"), "{err}");
        assert!(err.contains("not a valid fake state file"), "{err}");
        assert!(!err.contains("unknown cluster"), "{err}");
    }
    let after = std::fs::read_to_string(env.state()).unwrap();
    assert_eq!(after, "{ this is not a state file");
}

#[test]
fn the_state_file_hint_does_not_repeat_the_message() {
    let env = Env::new();
    std::fs::write(env.state(), "{ this is not a state file").unwrap();

    let err = env.fails("ls", 1);

    assert_eq!(err.matches("move it away").count(), 1, "{err}");
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn clap_errors_are_one_line_and_a_hint() {
    let env = Env::new();
    let lines = [
        "",
        "firewall",
        "up",
        "up --cluster x --nodes 1",
        "typs",
        "types --sort cheapest",
        "types --gpus 0",
        "firewall check --cluster d --to x --from nope",
        "--bogus ls",
    ];

    for line in lines {
        let out = env.cmd().args(words(line)).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);

        assert_eq!(out.status.code(), Some(2), "{line}: {stderr}");
        let shown: Vec<&str> = stderr.lines().collect();
        assert_eq!(shown.len(), 2, "{line}: {stderr}");
        assert!(shown[0].starts_with("error: "), "{line}: {stderr}");
        assert!(shown[1].starts_with("hint: "), "{line}: {stderr}");
        assert!(shown[1].contains("--help`"), "{line}: {stderr}");
        assert!(out.stdout.is_empty(), "{line}");
    }
}

#[test]
fn clap_hints_name_the_subcommand_and_keep_details() {
    let env = Env::new();

    let sort = env.fails("types --sort cheapest", 2);
    let port = env.fails(
        "firewall check --cluster d --to x --from 1.2.3.4 --port x",
        2,
    );
    let typo = env.fails("typs", 2);

    assert!(
        sort.contains("possible values: price, price-per-gpu"),
        "{sort}"
    );
    assert!(
        sort.contains("hint: see `computectl types --help`"),
        "{sort}"
    );
    assert!(
        port.contains("hint: see `computectl firewall check --help`"),
        "{port}"
    );
    assert!(typo.contains("'types'"), "{typo}");
}

#[test]
fn usage_lines_never_leak_into_the_error() {
    let env = Env::new();

    let missing = env.fails("up --cluster x --nodes 1", 2);
    let conflict = env.fails("up --cluster x --type t --gpus-per-node 8 --nodes 1", 2);

    // `up` has two usage lines; neither may be glued onto the message.
    for err in [&missing, &conflict] {
        assert!(!err.contains("computectl up --cluster"), "{err}");
        assert_eq!(err.lines().count(), 2, "an error and a hint: {err}");
    }
    assert!(missing.contains("<--type <ID>|--gpu <MODEL>>"), "{missing}");
    assert!(conflict.contains("cannot be used with"), "{conflict}");
}

#[test]
fn a_missing_subcommand_prints_that_level_s_help() {
    for (args, usage) in [
        (&[][..], "Usage: computectl [OPTIONS] <COMMAND>"),
        (
            &["firewall"][..],
            "Usage: computectl firewall [OPTIONS] <COMMAND>",
        ),
    ] {
        let mut bare = assert_cmd::Command::cargo_bin("computectl").expect("binary");
        let out = bare.args(args).output().expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);

        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(usage), "{args:?}: {stderr}");
        assert!(stderr.contains("Commands:"), "{args:?}: {stderr}");
        assert!(!stderr.contains("error:"), "{args:?}: {stderr}");
    }

    // With options but no command, one error line lists the commands.
    let err = Env::new().fails("-o json", 2);
    assert!(err.contains("types, locations, plan, up"), "{err}");
}

#[test]
fn count_flags_share_one_rule() {
    let env = Env::new();

    let cases = [
        (
            "plan --gpu H100 --gpus-per-node 0 --nodes 1",
            "--gpus-per-node",
        ),
        (
            "up --cluster z --gpu H100 --gpus-per-node 0 --nodes 1",
            "--gpus-per-node",
        ),
        ("types --gpus -1", "--gpus"),
        ("plan --gpu H100 --gpus-per-node 8 --nodes 0", "--nodes"),
        ("up --cluster z --type t --nodes 100001", "--nodes"),
    ];

    for (line, flag) in cases {
        let err = env.fails(line, 2);
        assert!(
            err.contains(&format!("error: {flag} must be at least 1 and at most")),
            "{err}"
        );
    }
    let zero_wait = env.fails("up --cluster z --type gpu-1x-l4 --nodes 1 --timeout 0", 2);
    assert!(zero_wait.contains("--timeout"), "{zero_wait}");
    assert!(env.instances().is_empty(), "nothing was created");
}

#[test]
fn the_version_belongs_to_computectl_alone() {
    let mut top = assert_cmd::Command::cargo_bin("computectl").expect("binary");
    let out = top.arg("-V").output().expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);

    assert!(out.status.success());
    assert_eq!(
        stdout.trim(),
        format!("computectl {}", env!("CARGO_PKG_VERSION"))
    );
    let err = Env::new().fails("types -V", 2);
    assert!(err.contains("'-V'"), "{err}");
}

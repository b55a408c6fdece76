//! Rendered rulesets pass `nft -c -f` (which needs root and the nftables package).
//!
//! These tests fail, never skip, when `nft` is missing or refuses to run: CI installs
//! nftables and runs as root (see `.ci/run`).

use std::{io::Write, path::PathBuf, process::Command};

use compute_net::{ClusterContext, Policy, normalize, render_nftables};
use compute_types::{FirewallRule, FirewallRules};

/// Finds `nft` on PATH or in the sbin directories a non-login shell may leave off it.
fn nft() -> PathBuf {
    let candidates = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from));
    for dir in candidates {
        let path = dir.join("nft");
        if path.is_file() {
            return path;
        }
    }
    panic!("`nft` not found on PATH or in /usr/sbin, /sbin: install nftables (CI does in .ci/run)");
}

/// Runs `nft -c -f` on the text and panics with nft's output when it is rejected.
fn check(text: &str) {
    let mut file = tempfile::NamedTempFile::new().expect("create a temp file");
    file.write_all(text.as_bytes()).expect("write the ruleset");
    file.flush().expect("flush the ruleset");

    let output = Command::new(nft())
        .arg("-c")
        .arg("-f")
        .arg(file.path())
        .output()
        .expect("run nft");

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "nft -c -f rejected the ruleset ({}); it needs root and nftables.\n\
         {stderr}\n--- ruleset ---\n{text}",
        output.status
    );
}

fn rules(texts: &[&str]) -> FirewallRules {
    FirewallRules::from_rules(texts.iter().map(|t| t.parse::<FirewallRule>().unwrap()))
}

fn dual_stack() -> ClusterContext {
    ClusterContext::new(
        "train-01",
        [
            "10.1.0.0/24".parse().unwrap(),
            "fd00:1::/64".parse().unwrap(),
        ],
    )
    .unwrap()
}

#[test]
fn rendered_rulesets_pass_nft_check() {
    let cases: [&[&str]; 8] = [
        &[],
        &["tcp:22@0.0.0.0/0,::/0"],
        &[
            "tcp:1@203.0.113.7/32",
            "udp:65535@2001:db8::1/128",
            "tcp:1-65535@10.0.0.0/8",
        ],
        &["icmp@0.0.0.0/0,::/0", "all@198.51.100.0/24"],
        &[
            "tcp:80-90@10.0.0.1/8,10.1.0.0/16",
            "udp:53@::ffff:192.0.2.0/120",
        ],
        &["egress:tcp:443@0.0.0.0/0,::/0", "egress:udp:53@10.0.0.2/32"],
        &[
            "egress:icmp@::/0",
            "egress:all@192.0.2.0/24",
            "tcp:8000@10.2.0.0/24",
        ],
        &["all@0.0.0.0/0", "all@::/0", "egress:all@0.0.0.0/0"],
    ];

    for texts in cases {
        let policy = Policy::compile(&dual_stack(), &rules(texts)).unwrap();

        let text = render_nftables(&policy, "compute").unwrap();

        check(&text);
    }
}

#[test]
fn standalone_instance_and_rule_ids_pass_nft_check() {
    let mut set = rules(&["tcp:22@0.0.0.0/0", "egress:udp:123@0.0.0.0/0"]);
    set.ingress[0].id = Some("sg-rule \"odd\" {id}".parse().unwrap());
    set.egress[0].id = Some("x".repeat(200).parse().unwrap());
    let policy = Policy::compile(&ClusterContext::standalone(), &set).unwrap();

    let text = render_nftables(&policy, "compute_standalone").unwrap();

    check(&text);
}

#[test]
fn normalised_rules_render_the_same_decisions_and_pass() {
    let set = rules(&[
        "tcp:22@10.0.0.0/25",
        "tcp:22@10.0.0.128/25",
        "tcp:23@10.0.0.0/24",
        "all@2001:db8::/33",
        "all@2001:db8:8000::/33",
    ]);
    let normalized = normalize(&set).unwrap().rules;
    let policy = Policy::compile(&dual_stack(), &normalized).unwrap();

    let text = render_nftables(&policy, "compute").unwrap();

    assert!(
        text.contains("ip saddr { 10.0.0.0/24 } tcp dport 22-23 accept"),
        "{text}"
    );
    assert!(
        text.contains("ip6 saddr { 2001:db8::/32 } accept"),
        "{text}"
    );
    check(&text);
}

#[test]
fn a_broken_ruleset_is_rejected() {
    let result =
        std::panic::catch_unwind(|| check("table inet compute { chain input { bogus } }\n"));

    assert!(
        result.is_err(),
        "nft must reject nonsense, or the checks above prove nothing"
    );
}

//! End-to-end tests of Ctrl-C during `up`: the real binary gets SIGINT while its nodes
//! boot. The first one rolls back what the run created and forgets the new cluster; a
//! second one stops at once and says what may remain and how to remove it.

mod common;

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, ExitStatus, Stdio},
    sync::mpsc::{Receiver, channel},
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;

use common::{Env, words};

/// Longest any step of these tests may take.
const PATIENCE: Duration = Duration::from_secs(60);

/// A running `up` of the two-node cluster `v4`, whose nodes take a minute to boot.
struct Up {
    child: Child,
    stderr: Receiver<String>,
    seen: Vec<String>,
}

impl Up {
    fn spawn(env: &Env, terminate_ms: u64) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_computectl"))
            .env_remove("COMPUTECTL_STATE")
            .env_remove("COMPUTECTL_LOG")
            .env("COMPUTECTL_FAKE_BOOT_MS", "60000")
            .env("COMPUTECTL_FAKE_TERMINATE_MS", terminate_ms.to_string())
            .arg("--state")
            .arg(env.state())
            .args(words("up --cluster v4 --type gpu-1x-h100-sxm --nodes 2"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn computectl");
        let pipe = child.stderr.take().expect("stderr");
        let (tx, stderr) = channel();
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            stderr,
            seen: Vec::new(),
        }
    }

    /// Sends SIGINT, as Ctrl-C in a terminal does.
    fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -INT failed");
    }

    /// Waits for a line of stderr holding `text`.
    fn wait_for_line(&mut self, text: &str) {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if let Ok(line) = self.stderr.recv_timeout(Duration::from_millis(100)) {
                let found = line.contains(text);
                self.seen.push(line);
                if found {
                    return;
                }
            }
        }
        panic!("no `{text}` on stderr: {:?}", self.seen);
    }

    /// Waits for the process to end; returns its status and all of stderr.
    fn wait(mut self) -> (ExitStatus, String) {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("computectl did not exit: {:?}", self.seen);
            }
            thread::sleep(Duration::from_millis(50));
        };
        // The reader thread ends with the pipe; collect what it has left.
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        (status, self.seen.join("\n"))
    }
}

/// Waits until the fake holds `n` instances of cluster v4, all still booting.
fn wait_for_pending_nodes(env: &Env, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let nodes = nodes_of_v4(env);
        if nodes.len() == n && nodes.iter().all(|i| i["state"] == "pending") {
            return nodes;
        }
        assert!(Instant::now() < deadline, "nodes never appeared: {nodes:?}");
        thread::sleep(Duration::from_millis(100));
    }
}

fn nodes_of_v4(env: &Env) -> Vec<Value> {
    let all = env.instances();
    all.into_iter().filter(|i| i["cluster"] == "v4").collect()
}

fn recorded_clusters(env: &Env) -> Value {
    let text = std::fs::read_to_string(env.inventory()).expect("inventory");
    serde_json::from_str::<Value>(&text).expect("inventory is JSON")["clusters"].clone()
}

#[test]
fn ctrl_c_during_up_rolls_back_the_new_nodes_and_forgets_the_cluster() {
    let env = Env::new();
    let mut up = Up::spawn(&env, 20);
    wait_for_pending_nodes(&env, 2);

    up.interrupt();
    up.wait_for_line("interrupted: rolling back");
    let (status, stderr) = up.wait();

    assert_eq!(status.code(), Some(130), "{stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].starts_with("error: cluster v4 is not up: interrupted; rolled back 2 nodes"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: nothing was left behind"), "{stderr}");
    let nodes = nodes_of_v4(&env);
    assert_eq!(nodes.len(), 2, "{nodes:?}");
    assert!(
        nodes.iter().all(|n| n["state"] == "terminated"),
        "{nodes:?}"
    );
    assert!(env.json("ls")["instances"].as_array().unwrap().is_empty());
    assert!(recorded_clusters(&env).get("v4").is_none());
    assert!(env.json("sweep")["orphans"].as_array().unwrap().is_empty());
}

#[test]
fn a_second_ctrl_c_stops_at_once_and_says_what_may_remain() {
    let env = Env::new();
    // Termination takes a minute, so the roll-back is still waiting at the second Ctrl-C.
    let mut up = Up::spawn(&env, 60_000);
    let nodes = wait_for_pending_nodes(&env, 2);

    up.interrupt();
    up.wait_for_line("interrupted: rolling back");
    up.interrupt();
    let started = Instant::now();
    let (status, stderr) = up.wait();

    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(20), "not at once");
    let error = stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_default();
    assert!(error.contains("interrupted again"), "{stderr}");
    for node in &nodes {
        assert!(error.contains(node["id"].as_str().unwrap()), "{stderr}");
    }
    assert!(
        stderr.contains("hint: remove what is left with `computectl down --cluster v4`"),
        "{stderr}"
    );
    // The record stays, so `down --cluster v4` finds the nodes.
    assert_eq!(recorded_clusters(&env)["v4"]["state"], "creating");
}

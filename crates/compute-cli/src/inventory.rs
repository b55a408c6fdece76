//! The CLI's cluster inventory: cluster name to spec, kept beside the provider's state file.
//!
//! The file is `<state>.clusters.json`. Writes go to a temporary file that is renamed over
//! the old one, so readers never see half a file; read-modify-write holds an exclusive lock
//! on `<state>.clusters.lock`. A file that does not parse is an error naming it, and is
//! never replaced.

use std::{
    collections::BTreeMap,
    ffi::OsString,
    fs::{self, File, OpenOptions},
    io::{self, Write},
    path::{Path, PathBuf},
};

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::error::{CliError, CliResult};
use compute_types::{FirewallRule, InstanceTypeId, LocationId, RefId};

/// Version of the inventory file format.
const FORMAT_VERSION: u32 = 1;

/// Where a cluster is in its life, as far as the CLI knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ClusterState {
    /// `up` recorded it and is creating its nodes (or was interrupted doing so).
    Creating,
    /// Every node was running when `up` finished.
    Up,
    /// `down` asked for every node to be terminated and has not yet seen them all gone
    /// (it is running, or it gave up waiting); running `down` again finishes it.
    Terminating,
    /// `down` terminated every node; kept so a second `down` knows the name.
    Down,
}

impl ClusterState {
    /// Returns the lower-case name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "creating",
            Self::Up => "up",
            Self::Terminating => "terminating",
            Self::Down => "down",
        }
    }
}

/// What the CLI knows about one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ClusterSpec {
    /// Where the cluster is in its life.
    pub(crate) state: ClusterState,
    /// Number of nodes.
    pub(crate) nodes: u32,
    /// The nodes' instance type.
    pub(crate) instance_type: InstanceTypeId,
    /// Where the nodes run.
    pub(crate) location: LocationId,
    /// Inbound rules from `--allow`, in the order given.
    #[serde(default)]
    pub(crate) rules: Vec<FirewallRule>,
    /// Fingerprint of the authorised SSH key, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ssh_key_fingerprint: Option<String>,
    /// The cluster's private subnets as the provider reported them after `up` (the
    /// provider allocates them); empty until the nodes exist.
    #[serde(default)]
    pub(crate) subnets: Vec<IpNet>,
    /// Ref ids of the nodes, `<cluster>-<index>`.
    pub(crate) node_ref_ids: Vec<RefId>,
    /// When `up` first recorded the cluster.
    pub(crate) created_at: DateTime<Utc>,
    /// The `--catalog` path (absolute) `up` chose the type from; none for the built-in
    /// catalog. `ls` and `show` price the nodes from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) catalog: Option<PathBuf>,
}

impl ClusterSpec {
    /// The deterministic ref ids of a cluster's nodes: `<cluster>-0` .. `<cluster>-<n-1>`.
    ///
    /// # Errors
    /// `InvalidRequest` when the name makes an invalid ref id (cluster names are checked
    /// first, so this does not happen in practice).
    pub(crate) fn node_ref_ids(cluster: &str, nodes: u32) -> CliResult<Vec<RefId>> {
        (0..nodes)
            .map(|i| RefId::new(format!("{cluster}-{i}")).map_err(CliError::from))
            .collect()
    }

    /// Lists what differs between a recorded spec and a requested one, in words.
    pub(crate) fn differences(&self, wanted: &Self) -> Vec<String> {
        let mut out = Vec::new();
        if self.nodes != wanted.nodes {
            out.push(format!("nodes {} -> {}", self.nodes, wanted.nodes));
        }
        if self.instance_type != wanted.instance_type {
            out.push(format!(
                "type {} -> {}",
                self.instance_type, wanted.instance_type
            ));
        }
        if self.location != wanted.location {
            out.push(format!("location {} -> {}", self.location, wanted.location));
        }
        if rule_set(&self.rules) != rule_set(&wanted.rules) {
            out.push(format!(
                "rules [{}] -> [{}]",
                rule_list(&self.rules),
                rule_list(&wanted.rules)
            ));
        }
        if self.ssh_key_fingerprint != wanted.ssh_key_fingerprint {
            let show = |f: &Option<String>| f.clone().unwrap_or_else(|| "none".into());
            out.push(format!(
                "ssh key {} -> {}",
                show(&self.ssh_key_fingerprint),
                show(&wanted.ssh_key_fingerprint)
            ));
        }
        out
    }
}

/// Rules as a sorted list of their compact forms, so order does not matter.
fn rule_set(rules: &[FirewallRule]) -> Vec<String> {
    let mut set: Vec<String> = rules.iter().map(ToString::to_string).collect();
    set.sort();
    set.dedup();
    set
}

fn rule_list(rules: &[FirewallRule]) -> String {
    rules
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Clusters by name.
pub(crate) type Clusters = BTreeMap<String, ClusterSpec>;

/// The file as stored.
#[derive(Debug, Serialize, Deserialize)]
struct InventoryFile {
    version: u32,
    #[serde(default)]
    clusters: Clusters,
}

/// The inventory beside a state file.
#[derive(Debug, Clone)]
pub(crate) struct Inventory {
    path: PathBuf,
    lock_path: PathBuf,
}

impl Inventory {
    /// The inventory of the state file `state`.
    pub(crate) fn beside(state: &Path) -> Self {
        Self {
            path: with_suffix(state, ".clusters.json"),
            lock_path: with_suffix(state, ".clusters.lock"),
        }
    }

    /// Returns the inventory file's path.
    #[cfg(test)]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the clusters without locking (writes are atomic renames); none when no file.
    ///
    /// # Errors
    /// Exit 1 naming the file when it cannot be read or does not parse.
    pub(crate) fn read(&self) -> CliResult<Clusters> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Clusters::new()),
            Err(e) => return Err(CliError::io("read cluster inventory", &self.path, &e)),
        };
        let file: InventoryFile = serde_json::from_str(&text).map_err(|e| {
            CliError::failed(format!(
                "cluster inventory {} is corrupt: {e}",
                self.path.display()
            ))
            .with_hint("the file was left unchanged; restore it from a backup or move it away")
        })?;
        if file.version != FORMAT_VERSION {
            return Err(CliError::failed(format!(
                "cluster inventory {} has format version {}, this computectl reads {}",
                self.path.display(),
                file.version,
                FORMAT_VERSION
            )));
        }
        Ok(file.clusters)
    }

    /// Takes the exclusive lock and reads the clusters, for a read-modify-write.
    ///
    /// # Errors
    /// Exit 1 when the lock file cannot be created or locked, or as [`Inventory::read`].
    pub(crate) fn lock(&self) -> CliResult<Locked<'_>> {
        ensure_parent(&self.lock_path)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock_path)
            .map_err(|e| CliError::io("open lock file", &self.lock_path, &e))?;
        file.lock()
            .map_err(|e| CliError::io("lock", &self.lock_path, &e))?;

        let clusters = self.read()?;
        Ok(Locked {
            inventory: self,
            _lock: file,
            clusters,
        })
    }
}

/// The inventory under its exclusive lock; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct Locked<'a> {
    inventory: &'a Inventory,
    _lock: File,
    /// The clusters as read under the lock.
    pub(crate) clusters: Clusters,
}

impl Locked<'_> {
    /// Writes the clusters atomically: a temporary file, synced, renamed over the old one.
    ///
    /// # Errors
    /// Exit 1 naming the file on any I/O failure; the old file is then unchanged.
    pub(crate) fn save(&self) -> CliResult {
        let path = &self.inventory.path;
        let file = InventoryFile {
            version: FORMAT_VERSION,
            clusters: self.clusters.clone(),
        };
        let mut text = serde_json::to_string_pretty(&file)
            .map_err(|e| CliError::failed(format!("cannot encode cluster inventory: {e}")))?;
        text.push('\n');

        ensure_parent(path)?;
        let tmp = with_suffix(path, &format!(".tmp.{}", std::process::id()));
        let written = File::create(&tmp)
            .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
            .and_then(|()| fs::rename(&tmp, path));
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(CliError::io("write cluster inventory", path, &e));
        }
        Ok(())
    }
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// Creates the parent directory of `path` when missing.
fn ensure_parent(path: &Path) -> CliResult {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            fs::create_dir_all(dir).map_err(|e| CliError::io("create directory", dir, &e))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(nodes: u32) -> ClusterSpec {
        ClusterSpec {
            state: ClusterState::Up,
            nodes,
            instance_type: "fake/us-east-1//gpu-8x-h100-sxm".parse().unwrap(),
            location: LocationId::new("us-east-1").unwrap(),
            rules: vec!["tcp:22@203.0.113.0/24".parse().unwrap()],
            ssh_key_fingerprint: None,
            subnets: vec!["10.0.0.0/24".parse().unwrap()],
            node_ref_ids: ClusterSpec::node_ref_ids("demo", nodes).unwrap(),
            created_at: "2026-01-01T00:00:00Z".parse().unwrap(),
            catalog: Some(PathBuf::from("/data/catalogs")),
        }
    }

    #[test]
    fn save_then_read_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let inventory = Inventory::beside(&dir.path().join("sub/state.json"));
        let mut locked = inventory.lock().unwrap();
        locked.clusters.insert("demo".into(), spec(2));

        locked.save().unwrap();
        drop(locked);

        let clusters = inventory.read().unwrap();
        assert_eq!(clusters["demo"], spec(2));
        assert!(inventory.path().ends_with("state.json.clusters.json"));
    }

    #[test]
    fn missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let inventory = Inventory::beside(&dir.path().join("state.json"));

        let clusters = inventory.read().unwrap();

        assert!(clusters.is_empty());
    }

    #[test]
    fn corrupt_file_is_an_error_and_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let inventory = Inventory::beside(&dir.path().join("state.json"));
        fs::write(inventory.path(), "{not json").unwrap();

        let err = inventory.lock().unwrap_err();

        assert!(err.message().contains("corrupt"), "{err}");
        assert!(err.message().contains("clusters.json"), "{err}");
        assert_eq!(fs::read_to_string(inventory.path()).unwrap(), "{not json");
    }

    #[test]
    fn differences_name_each_field() {
        let old = spec(2);
        let mut new = spec(3);
        new.rules.reverse();

        let diff = old.differences(&new);

        assert_eq!(diff, vec!["nodes 2 -> 3".to_owned()]);
        assert!(old.differences(&old.clone()).is_empty());
    }
}

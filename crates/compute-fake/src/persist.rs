//! The state file: the whole world as JSON, written atomically under an exclusive lock.
//!
//! Every mutating call takes an exclusive lock on `<state>.lock`, reloads the state file
//! when another process changed it, applies the call and writes the world back: to a
//! temporary file in the same folder, flushed to disk, then renamed over the state file,
//! so a reader never sees half a file. Times are stored as wall-clock timestamps, so a
//! later process continues every lifecycle where the clock says it is.
//!
//! A state file that is not valid JSON, does not describe a consistent world, or has a
//! newer `format_version` is an error naming the file; it is never overwritten.

use std::{
    collections::BTreeMap,
    fs::{self, File, OpenOptions},
    io::{self, Write},
    net::{IpAddr, Ipv4Addr},
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, SystemTime},
};

use chrono::{DateTime, Utc};
use compute_types::{
    Bytes, CredentialRefId, Error, ErrorKind, FirewallRules, ImageId, InstanceState,
    InstanceTypeId, LocationId, RefId, Result, Tags, VolumeSpec, ZoneId,
};
use serde::{Deserialize, Serialize};

use crate::{
    addresses::{Addresses, NetRef},
    clock::Clock,
    config::FakeConfig,
    world::{CatalogData, Record, World, id_of},
};

/// The format this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// What identifies one version of the file on disk: a rename makes a new inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Signature {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

/// The state file and its lock file.
#[derive(Debug)]
pub(crate) struct StateFile {
    path: PathBuf,
    lock_path: PathBuf,
}

/// An exclusive lock on the state, released on drop.
#[derive(Debug)]
pub(crate) struct FileLock(#[allow(dead_code)] File); // Held only for its lock.

impl StateFile {
    pub(crate) fn new(path: &Path) -> Self {
        let mut lock = path.as_os_str().to_owned();
        lock.push(".lock");
        Self {
            path: path.to_owned(),
            lock_path: PathBuf::from(lock),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn io_error(&self, what: &str, err: io::Error) -> Error {
        let kind = match err.kind() {
            io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
            _ => ErrorKind::Internal,
        };
        let path = self.path.display();
        Error::new(kind, format!("state file {path}: cannot {what}: {err}")).with_source(err)
    }

    fn corrupt(&self, problem: impl std::fmt::Display) -> Error {
        let path = self.path.display();
        Error::invalid(
            "state_file",
            format!("{path} is not a valid fake state file: {problem}; fix or move it away"),
        )
    }

    /// Takes the exclusive lock, creating the lock file (and its folder) when missing.
    ///
    /// # Errors
    /// `PermissionDenied` or `Internal` naming the file.
    pub(crate) fn lock(&self) -> Result<FileLock> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| self.io_error("create its folder", e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock_path)
            .map_err(|e| self.io_error("open the lock file", e))?;
        file.lock().map_err(|e| self.io_error("lock", e))?;
        Ok(FileLock(file))
    }

    /// Returns the signature of the file on disk, `None` when it does not exist.
    pub(crate) fn signature(&self) -> Option<Signature> {
        let meta = fs::metadata(&self.path).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        Some(Signature {
            len: meta.len(),
            modified: meta.modified().ok(),
            inode,
        })
    }

    /// Loads the world, `None` when the file does not exist or is empty (holds nothing
    /// but whitespace): a file made ahead of time with `touch` or `mktemp` records no world,
    /// so starting a new one there loses nothing. Anything else must parse.
    ///
    /// # Errors
    /// `InvalidRequest` naming `state_file` for a corrupt file, `Unsupported` for a newer
    /// format, `PermissionDenied` or `Internal` when it cannot be read.
    pub(crate) fn load(
        &self,
        cfg: &Arc<FakeConfig>,
        catalog: &Arc<CatalogData>,
    ) -> Result<Option<(World, Signature)>> {
        let sig = self.signature();
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io_error("read it", e)),
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let sig = sig.ok_or_else(|| self.corrupt("it vanished while being read"))?;

        let header: Header = serde_json::from_slice(&bytes).map_err(|e| self.corrupt(e))?;
        if header.format_version > FORMAT_VERSION {
            let path = self.path.display();
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "state file {path} has format_version {}, newer than the {FORMAT_VERSION} \
                     this build reads; upgrade, or move the file away",
                    header.format_version
                ),
            ));
        }
        let snapshot: Snapshot = serde_json::from_slice(&bytes).map_err(|e| self.corrupt(e))?;
        let world = snapshot
            .into_world(cfg, catalog)
            .map_err(|problem| self.corrupt(problem))?;
        Ok(Some((world, sig)))
    }

    /// Writes the world atomically and returns the new file's signature.
    ///
    /// # Errors
    /// `PermissionDenied` or `Internal` naming the file.
    pub(crate) fn save(&self, world: &World) -> Result<Signature> {
        let snapshot = Snapshot::of(world);
        let json = serde_json::to_vec_pretty(&snapshot)
            .map_err(|e| Error::internal(format!("cannot encode the world: {e}")))?;

        let mut tmp = self.path.as_os_str().to_owned();
        tmp.push(format!(".tmp.{}", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let write = || -> io::Result<()> {
            let mut file = File::create(&tmp)?;
            file.write_all(&json)?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            fs::rename(&tmp, &self.path)?;
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                File::open(dir)?.sync_all()?;
            }
            Ok(())
        };
        if let Err(e) = write() {
            let _ = fs::remove_file(&tmp);
            return Err(self.io_error("write it", e));
        }
        self.signature()
            .ok_or_else(|| Error::internal("the state file vanished after it was written"))
    }
}

#[derive(Deserialize)]
struct Header {
    format_version: u32,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Snapshot {
    format_version: u32,
    epoch: DateTime<Utc>,
    saved_at: DateTime<Utc>,
    next_id: u64,
    /// Quota in use per location name, summed over the providers there; only checked on
    /// load, since each provider's usage is rebuilt from its instances.
    usage: BTreeMap<LocationId, StoredUsage>,
    addresses: Addresses,
    instances: Vec<StoredInstance>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct StoredUsage {
    instances: u64,
    gpus: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredDue {
    at: DateTime<Utc>,
    to: InstanceState,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredInstance {
    id: String,
    ref_id: RefId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    credential_ref_id: Option<CredentialRefId>,
    instance_type: InstanceTypeId,
    gpus: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    zone: Option<ZoneId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    solo: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    private_ip: Option<Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    public_ip: Option<IpAddr>,
    state: InstanceState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    due: Option<StoredDue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fail_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retire_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_stop_transition: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retired_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retire_timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    image_id: Option<ImageId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    public_key_fingerprint: Option<String>,
    root_volume: Bytes,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    volumes: Vec<VolumeSpec>,
    tags: Tags,
    firewall_rules: FirewallRules,
    next_rule: u32,
    spot: bool,
    persistent_ip: bool,
    holds_quota: bool,
    holds_capacity: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

impl Snapshot {
    fn of(world: &World) -> Self {
        let clock = &world.clock;
        let instances = world
            .records
            .iter()
            .enumerate()
            .filter_map(|(slot, rec)| Some((u32::try_from(slot).ok()?, rec.as_ref()?)))
            .map(|(slot, rec)| StoredInstance::of(world, slot, rec))
            .collect();
        let mut usage: BTreeMap<LocationId, StoredUsage> = BTreeMap::new();
        for (site, u) in world.sites.iter().zip(&world.usage) {
            if u.instances > 0 || u.gpus > 0 {
                let stored = usage.entry(site.name.clone()).or_default();
                stored.instances += u.instances;
                stored.gpus += u.gpus;
            }
        }
        Self {
            format_version: FORMAT_VERSION,
            epoch: clock.epoch(),
            saved_at: clock.wall(clock.now()),
            next_id: world.records.len() as u64 + 1,
            usage,
            addresses: world.addresses.clone(),
            instances,
        }
    }

    /// Rebuilds a world, checking that the file describes a consistent one.
    fn into_world(
        self,
        cfg: &Arc<FakeConfig>,
        catalog: &Arc<CatalogData>,
    ) -> std::result::Result<World, String> {
        let clock = Clock::new(self.epoch);
        let mut world = World::new(Arc::clone(cfg), Arc::clone(catalog), clock)
            .map_err(|e| e.message().to_owned())?;
        let mut addresses = self.addresses;
        addresses.reindex();
        world.addresses = addresses;
        if self.next_id != self.instances.len() as u64 + 1 {
            return Err(format!(
                "next_id is {} but the file holds {} instances",
                self.next_id,
                self.instances.len()
            ));
        }

        for (slot, stored) in self.instances.into_iter().enumerate() {
            let id = stored.id.clone();
            let rec = stored
                .into_record(&mut world)
                .map_err(|e| format!("instance {id}: {e}"))?;
            if id != id_of(u32::try_from(slot).unwrap_or(u32::MAX)) {
                return Err(format!("instance {id} is out of order"));
            }
            world.insert(rec).map_err(|e| e.to_string())?;
        }

        let mut usage = BTreeMap::new();
        for rec in world.records.iter().flatten() {
            let t = &world.types[rec.type_idx as usize];
            if rec.holds_quota {
                let site = &mut world.usage[t.location as usize];
                site.instances += 1;
                site.gpus += u64::from(t.gpus);
                let name = world.sites[t.location as usize].name.clone();
                let u: &mut StoredUsage = usage.entry(name).or_default();
                u.instances += 1;
                u.gpus += u64::from(t.gpus);
            }
            if rec.holds_capacity {
                world.capacity_used[t.capacity_key as usize] += 1;
            }
        }
        if usage != self.usage {
            return Err("the quota usage does not match its instances".to_owned());
        }
        Ok(world)
    }
}

impl StoredInstance {
    fn of(world: &World, slot: u32, rec: &Record) -> Self {
        let clock = &world.clock;
        let wall = |t: u64| clock.wall(t);
        let tags = world.stored_tags(rec).unwrap_or_default();
        Self {
            id: id_of(slot),
            ref_id: rec.ref_id.clone(),
            name: rec.name.as_deref().map(str::to_owned),
            credential_ref_id: rec.credential.clone(),
            instance_type: world.types[rec.type_idx as usize].id.clone(),
            gpus: world.types[rec.type_idx as usize].gpus,
            zone: rec.zone.clone(),
            solo: match rec.net {
                NetRef::Solo(i) => Some(i),
                NetRef::Cluster(_) => None,
            },
            cluster: rec
                .cluster()
                .and_then(|c| world.addresses.cluster_name(c))
                .map(str::to_owned),
            private_ip: rec.private_ip,
            public_ip: rec.public_ip,
            state: rec.state,
            due: rec.due.map(|(at, to)| StoredDue { at: wall(at), to }),
            fail_at: rec.fail_at.map(wall),
            retire_at: rec.retire_at.map(wall),
            created_at: wall(rec.created),
            last_stop_transition: rec.last_stop.map(wall),
            retired_at: rec.retired.map(wall),
            retire_timeout: rec.retire_timeout,
            image_id: rec.image.clone(),
            public_key_fingerprint: rec.fingerprint.as_deref().map(str::to_owned),
            root_volume: rec.root_size,
            volumes: rec.extra_volumes.clone(),
            tags,
            firewall_rules: rec.firewall.clone(),
            next_rule: rec.next_rule,
            spot: rec.spot,
            persistent_ip: rec.persistent_ip,
            holds_quota: rec.holds_quota,
            holds_capacity: rec.holds_capacity,
            message: rec.message.as_deref().map(str::to_owned),
        }
    }

    fn into_record(self, world: &mut World) -> std::result::Result<Record, String> {
        let catalog_idx = world.type_index.get(&self.instance_type).copied();
        let type_idx = match catalog_idx {
            Some(i) => i,
            None => world.add_type(&self.instance_type, self.gpus, None),
        };
        let net = match (&self.cluster, self.solo) {
            (Some(name), None) => NetRef::Cluster(
                world
                    .addresses
                    .find_cluster(name)
                    .ok_or_else(|| format!("cluster {name} has no network"))?,
            ),
            (None, Some(i)) => NetRef::Solo(i),
            _ => return Err("it needs exactly one of `cluster` and `solo`".to_owned()),
        };
        let at = |t: DateTime<Utc>| world.clock.at(t);
        let pairs = self
            .tags
            .iter()
            .map(|(k, v)| world.tags.intern(k, v))
            .collect::<Vec<_>>();
        let tagset = world.tagsets.intern(pairs);
        let prev_same_ref = world.by_ref.get(&self.ref_id).copied();

        Ok(Record {
            ref_id: self.ref_id,
            name: self.name.map(Box::from),
            credential: self.credential_ref_id,
            type_idx,
            zone: self.zone,
            net,
            private_ip: self.private_ip,
            public_ip: self.public_ip,
            state: self.state,
            due: self.due.map(|d| (at(d.at), d.to)),
            fail_at: self.fail_at.map(at),
            retire_at: self.retire_at.map(at),
            created: at(self.created_at),
            last_stop: self.last_stop_transition.map(at),
            retired: self.retired_at.map(at),
            retire_timeout: self.retire_timeout,
            image: self.image_id,
            fingerprint: self.public_key_fingerprint.map(Box::from),
            root_size: self.root_volume,
            extra_volumes: self.volumes,
            tagset,
            firewall: self.firewall_rules,
            next_rule: self.next_rule,
            spot: self.spot,
            persistent_ip: self.persistent_ip,
            holds_quota: self.holds_quota,
            holds_capacity: self.holds_capacity,
            prev_same_ref,
            message: self.message.map(Box::from),
        })
    }
}

//! The fake's world: instance records, their indexes, quota and capacity usage, and the
//! clock-driven lifecycle.
//!
//! Records live in a vector indexed by *slot*; an instance's cloud id is its slot plus one,
//! printed as `i-` and eight or more hex digits, so a lookup by id is a parse and an index.
//! Records are never removed: terminated instances stay visible, in state `terminated`,
//! for the life of the world.
//!
//! Lifecycle transitions are stored as deadlines on the record (`due`, `fail_at`,
//! `retire_at`) with a wake-up entry in one ordered timer set. Every call first *settles*
//! the world: it pops the timers that are due and applies each record's events in time
//! order. State is therefore always current when a call reads it, and no background task
//! is needed, which is what lets tests run under tokio's paused time.

use std::{
    cmp::Reverse,
    collections::BinaryHeap,
    net::{IpAddr, Ipv4Addr},
    sync::Arc,
    time::Duration,
};

use compute_types::{
    CredentialRefId, Error, FirewallRules, Image, ImageId, Instance, InstanceId, InstanceState,
    InstanceType, InstanceTypeId, Location, LocationId, ProviderId, RefId, Result, TAG_REF_ID,
    Tags, Volume, VolumeSpec, ZoneId,
};

use crate::{
    addresses::{Addresses, NetRef},
    clock::{Clock, Ms, ms},
    config::FakeConfig,
    hash::FastMap,
    index::{TagIndex, TagSets, post},
};

/// The SSH user every fake instance reports.
pub const SSH_USER: &str = "ubuntu";

/// The SSH port every fake instance reports.
pub const SSH_PORT: u16 = 22;

/// The catalog a configuration seeds the fake with.
///
/// Each location carries the provider it belongs to; one without a provider (given
/// through [`FakeConfig::catalog`]) belongs to every provider whose types name it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Seed {
    pub(crate) types: Vec<InstanceType>,
    pub(crate) locations: Vec<(Option<ProviderId>, Location)>,
}

/// The catalog the world was seeded from.
#[derive(Debug)]
pub(crate) struct CatalogData {
    pub(crate) types: Vec<InstanceType>,
    /// The listing `locations()` answers: one entry per name, with the zones of every
    /// provider there united (each zone listed once).
    pub(crate) locations: Vec<Location>,
    /// The zones an instance of each type (by catalog index) may be placed in.
    pub(crate) offered: Vec<Vec<ZoneId>>,
}

impl CatalogData {
    /// Checks a catalog; locations named only by a type are added without zones.
    ///
    /// # Errors
    /// `InvalidRequest` naming `catalog` for a duplicate type id.
    pub(crate) fn new(seed: Seed) -> Result<Self> {
        let Seed { types, locations } = seed;
        let mut seen = std::collections::HashSet::with_capacity(types.len());
        for t in &types {
            if !seen.insert(&t.id) {
                return Err(Error::invalid(
                    "catalog",
                    format!("instance type `{}` appears twice", t.id),
                ));
            }
        }

        let offered = types.iter().map(|t| offered_zones(t, &locations)).collect();
        let mut listing: Vec<Location> = Vec::new();
        for (_, loc) in locations {
            merge_into(&mut listing, loc);
        }
        for t in &types {
            if !listing.iter().any(|l| &l.name == t.location()) {
                listing.push(Location::new(t.location().clone()));
            }
        }
        Ok(Self {
            types,
            locations: listing,
            offered,
        })
    }

    /// Returns a location of the listing by name.
    pub(crate) fn location(&self, name: &LocationId) -> Option<&Location> {
        self.locations.iter().find(|l| &l.name == name)
    }
}

/// Returns the zones a type may be placed in: its own, else its available zones, else
/// the zones its own provider declares for its location (never another provider's).
fn offered_zones(t: &InstanceType, locations: &[(Option<ProviderId>, Location)]) -> Vec<ZoneId> {
    if let Some(zone) = t.id.zone() {
        return vec![zone.clone()];
    }
    if !t.available_zones.is_empty() {
        return t.available_zones.clone();
    }
    let mut zones: Vec<ZoneId> = Vec::new();
    let own = locations.iter().filter(|(provider, loc)| {
        &loc.name == t.location() && provider.as_ref().is_none_or(|p| p == t.provider())
    });
    for zone in own.flat_map(|(_, loc)| &loc.zones) {
        if !zones.contains(&zone.name) {
            zones.push(zone.name.clone());
        }
    }
    zones
}

/// Adds a location to the listing, uniting it with a listed one of the same name.
fn merge_into(listing: &mut Vec<Location>, loc: Location) {
    let Some(known) = listing.iter_mut().find(|l| l.name == loc.name) else {
        listing.push(loc);
        return;
    };
    known.available |= loc.available;
    for zone in loc.zones {
        if known.zone(&zone.name).is_none() {
            known.zones.push(zone);
        }
    }
}

/// A (provider, location) pair: quota, usage and capacity are kept per site, so two
/// providers' locations of one name never share them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Site {
    pub(crate) provider: ProviderId,
    pub(crate) name: LocationId,
}

impl std::fmt::Display for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} of {}", self.name, self.provider)
    }
}

/// What the world knows of an instance type: the catalog's, or one only a loaded state
/// file mentions.
#[derive(Debug, Clone)]
pub(crate) struct TypeEntry {
    pub(crate) id: InstanceTypeId,
    /// The type's site: its (provider, location).
    pub(crate) location: u32,
    pub(crate) capacity_key: u32,
    pub(crate) gpus: u32,
    pub(crate) catalog: Option<u32>,
}

/// Quota used in one site (provider, location).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    pub(crate) instances: u64,
    pub(crate) gpus: u64,
}

/// A scheduled lifecycle event of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    Due(InstanceState),
    Fail,
    Retire,
}

/// One instance, stored compactly; [`World::instance`] builds the public view.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) ref_id: RefId,
    pub(crate) name: Option<Box<str>>,
    pub(crate) credential: Option<CredentialRefId>,
    pub(crate) type_idx: u32,
    pub(crate) zone: Option<ZoneId>,
    pub(crate) net: NetRef,
    pub(crate) private_ip: Option<Ipv4Addr>,
    pub(crate) public_ip: Option<IpAddr>,
    pub(crate) state: InstanceState,
    pub(crate) due: Option<(Ms, InstanceState)>,
    pub(crate) fail_at: Option<Ms>,
    pub(crate) retire_at: Option<Ms>,
    pub(crate) created: Ms,
    pub(crate) last_stop: Option<Ms>,
    pub(crate) retired: Option<Ms>,
    pub(crate) retire_timeout: Option<Duration>,
    pub(crate) image: Option<ImageId>,
    pub(crate) fingerprint: Option<Box<str>>,
    pub(crate) root_size: compute_types::Bytes,
    pub(crate) extra_volumes: Vec<VolumeSpec>,
    pub(crate) tagset: u32,
    pub(crate) firewall: FirewallRules,
    pub(crate) next_rule: u32,
    pub(crate) spot: bool,
    pub(crate) persistent_ip: bool,
    pub(crate) holds_quota: bool,
    pub(crate) holds_capacity: bool,
    pub(crate) prev_same_ref: Option<u32>,
    pub(crate) message: Option<Box<str>>,
}

impl Record {
    /// Returns the network the record sits in.
    pub(crate) fn net(&self) -> NetRef {
        self.net
    }

    /// Returns the index of the record's named cluster, if it has one.
    pub(crate) fn cluster(&self) -> Option<u32> {
        match self.net {
            NetRef::Cluster(c) => Some(c),
            NetRef::Solo(_) => None,
        }
    }

    /// Returns the earliest scheduled event.
    fn next_event(&self) -> Option<(Ms, Event)> {
        let events = [
            self.due.map(|(at, to)| (at, Event::Due(to))),
            self.fail_at.map(|at| (at, Event::Fail)),
            self.retire_at.map(|at| (at, Event::Retire)),
        ];
        events.into_iter().flatten().min_by_key(|(at, _)| *at)
    }

    /// Returns true while the record owns its ref id (a new create with it returns this
    /// record); terminating and terminated instances release it.
    pub(crate) fn owns_ref(&self) -> bool {
        !matches!(
            self.state,
            InstanceState::Terminating | InstanceState::Terminated
        )
    }
}

/// Formats the cloud id of a slot: `i-` and at least eight lower-case hex digits.
pub(crate) fn id_of(slot: u32) -> String {
    let n = u64::from(slot) + 1;
    let digits = (64 - n.leading_zeros()).div_ceil(4).max(8);
    let mut id = String::with_capacity(2 + digits as usize);
    id.push_str("i-");
    for shift in (0..digits).rev() {
        let nibble = (n >> (shift * 4)) & 0xf;
        id.push(char::from_digit(nibble as u32, 16).unwrap_or('0'));
    }
    id
}

/// Parses a cloud id back to its slot; ids this world could not have made give `None`.
pub(crate) fn slot_of(id: &InstanceId) -> Option<u32> {
    let hex = id.as_str().strip_prefix("i-")?;
    let lower = hex
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if hex.len() < 8 || !lower || (hex.len() > 8 && hex.starts_with('0')) {
        return None;
    }
    let n = u64::from_str_radix(hex, 16).ok()?;
    u32::try_from(n.checked_sub(1)?).ok()
}

/// Every instance and everything they use.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) cfg: Arc<FakeConfig>,
    pub(crate) catalog: Arc<CatalogData>,
    pub(crate) clock: Clock,
    pub(crate) records: Vec<Option<Record>>,
    pub(crate) by_ref: FastMap<RefId, u32>,
    pub(crate) by_location: Vec<Vec<u32>>,
    pub(crate) tags: TagIndex,
    pub(crate) tagsets: TagSets,
    pub(crate) timers: BinaryHeap<Reverse<(Ms, u32)>>,
    pub(crate) types: Vec<TypeEntry>,
    pub(crate) type_index: FastMap<InstanceTypeId, u32>,
    pub(crate) sites: Vec<Site>,
    pub(crate) site_index: FastMap<Site, u32>,
    pub(crate) sites_named: FastMap<LocationId, Vec<u32>>,
    pub(crate) capacity_keys: FastMap<(u32, String), u32>,
    pub(crate) capacity_limits: Vec<u64>,
    pub(crate) capacity_used: Vec<u64>,
    pub(crate) usage: Vec<Usage>,
    pub(crate) limits: Vec<crate::QuotaLimits>,
    pub(crate) addresses: Addresses,
    pub(crate) images: Vec<Image>,
    pub(crate) default_image: ImageId,
}

impl World {
    /// An empty world seeded from `catalog`, its clock starting now.
    ///
    /// # Errors
    /// `InvalidRequest` naming `cluster_prefix` when it is out of range.
    pub(crate) fn new(
        cfg: Arc<FakeConfig>,
        catalog: Arc<CatalogData>,
        clock: Clock,
    ) -> Result<Self> {
        let addresses = Addresses::new(cfg.cluster_prefix, cfg.public_ranges.clone())?;
        let mut world = Self {
            cfg,
            catalog: Arc::clone(&catalog),
            clock,
            records: Vec::new(),
            by_ref: FastMap::default(),
            by_location: Vec::new(),
            tags: TagIndex::default(),
            tagsets: TagSets::default(),
            timers: BinaryHeap::new(),
            types: Vec::with_capacity(catalog.types.len()),
            type_index: FastMap::default(),
            sites: Vec::new(),
            site_index: FastMap::default(),
            sites_named: FastMap::default(),
            capacity_keys: FastMap::default(),
            capacity_limits: Vec::new(),
            capacity_used: Vec::new(),
            usage: Vec::new(),
            limits: Vec::new(),
            addresses,
            images: crate::ops::images(),
            default_image: ImageId::new(crate::ops::DEFAULT_IMAGE)?,
        };

        for (i, t) in catalog.types.iter().enumerate() {
            world.add_type(&t.id, t.gpu_count(), u32::try_from(i).ok());
        }
        Ok(world)
    }

    /// Returns the index of the site (provider, location) of a type id, adding it when new.
    pub(crate) fn site_idx(&mut self, id: &InstanceTypeId) -> u32 {
        let site = Site {
            provider: id.provider().clone(),
            name: id.location().clone(),
        };
        if let Some(&i) = self.site_index.get(&site) {
            return i;
        }
        let i = u32::try_from(self.sites.len()).unwrap_or(u32::MAX);
        self.sites_named
            .entry(site.name.clone())
            .or_default()
            .push(i);
        self.limits
            .push(self.cfg.quota_of(&site.provider, &site.name));
        self.site_index.insert(site.clone(), i);
        self.sites.push(site);
        self.by_location.push(Vec::new());
        self.usage.push(Usage::default());
        i
    }

    /// Returns the sites of every provider with a location of this name.
    pub(crate) fn sites_named(&self, name: &LocationId) -> &[u32] {
        self.sites_named.get(name).map_or(&[], Vec::as_slice)
    }

    /// Returns true when the location is listed or an instance type names it.
    pub(crate) fn knows_location(&self, name: &LocationId) -> bool {
        self.sites_named.contains_key(name) || self.catalog.location(name).is_some()
    }

    /// Adds a type entry (a catalog type, or one a state file mentions) and returns it.
    pub(crate) fn add_type(&mut self, id: &InstanceTypeId, gpus: u32, catalog: Option<u32>) -> u32 {
        if let Some(&i) = self.type_index.get(id) {
            return i;
        }
        let location = self.site_idx(id);
        let key = (location, id.type_name().to_owned());
        let next_key = u32::try_from(self.capacity_keys.len()).unwrap_or(u32::MAX);
        let capacity_key = *self.capacity_keys.entry(key).or_insert(next_key);
        if capacity_key == next_key {
            let limit = self
                .cfg
                .capacity
                .get(&(id.location().clone(), id.type_name().to_owned()))
                .copied()
                .unwrap_or(self.cfg.default_capacity);
            self.capacity_limits.push(limit);
            self.capacity_used.push(0);
        }

        let i = u32::try_from(self.types.len()).unwrap_or(u32::MAX);
        self.types.push(TypeEntry {
            id: id.clone(),
            location,
            capacity_key,
            gpus,
            catalog,
        });
        self.type_index.insert(id.clone(), i);
        i
    }

    /// Returns the catalog type behind a type entry.
    pub(crate) fn catalog_type(&self, type_idx: u32) -> Option<&InstanceType> {
        let entry = self.types.get(type_idx as usize)?;
        self.catalog.types.get(entry.catalog? as usize)
    }

    /// Returns a record.
    pub(crate) fn record(&self, slot: u32) -> Option<&Record> {
        self.records.get(slot as usize)?.as_ref()
    }

    /// Returns a record for change.
    pub(crate) fn record_mut(&mut self, slot: u32) -> Option<&mut Record> {
        self.records.get_mut(slot as usize)?.as_mut()
    }

    /// Returns the slot of a known id.
    ///
    /// # Errors
    /// `NotFound` naming the id.
    pub(crate) fn slot(&self, id: &InstanceId) -> Result<u32> {
        slot_of(id)
            .filter(|&s| self.record(s).is_some())
            .ok_or_else(|| Error::not_found(format!("instance {id} does not exist")))
    }

    /// Returns the quota limits of a site: its provider's own, else its location's, else
    /// the default.
    pub(crate) fn quota_limits(&self, site: u32) -> crate::QuotaLimits {
        self.limits
            .get(site as usize)
            .copied()
            .unwrap_or(self.cfg.default_quota)
    }

    /// Applies every lifecycle event that is due.
    pub(crate) fn settle(&mut self) {
        let now = self.clock.now();
        while let Some(&Reverse((at, slot))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            self.advance(slot, now);
        }
    }

    /// Schedules a wake-up of `slot` at `at`; a wake-up with nothing due is harmless.
    pub(crate) fn wake(&mut self, slot: u32, at: Ms) {
        self.timers.push(Reverse((at, slot)));
    }

    fn advance(&mut self, slot: u32, now: Ms) {
        while let Some((at, event)) = self.record(slot).and_then(Record::next_event) {
            if at > now {
                return;
            }
            self.apply(slot, at, event);
        }
    }

    fn apply(&mut self, slot: u32, at: Ms, event: Event) {
        let Some(rec) = self.record_mut(slot) else {
            return;
        };
        match event {
            Event::Due(to) => {
                rec.due = None;
                if rec.state.can_transition_to(to) {
                    rec.state = to;
                    if to == InstanceState::Stopped {
                        rec.last_stop = Some(at);
                    }
                }
            }
            Event::Fail => {
                rec.fail_at = None;
                if rec.state.can_transition_to(InstanceState::Failed) {
                    rec.state = InstanceState::Failed;
                    rec.due = None;
                    rec.message = Some("the instance failed (injected delayed failure)".into());
                }
            }
            Event::Retire => {
                rec.retire_at = None;
                if rec.state.can_transition_to(InstanceState::Terminating) {
                    rec.retired = Some(at);
                    self.begin_terminate(slot, at);
                }
            }
        }
    }

    /// Moves an instance to `terminating`, releasing its quota, capacity and addresses.
    pub(crate) fn begin_terminate(&mut self, slot: u32, at: Ms) {
        self.release_capacity(slot);
        let delay = ms(self.cfg.terminate_delay);
        let Some(rec) = self.records.get_mut(slot as usize).and_then(Option::as_mut) else {
            return;
        };
        let (holds_quota, type_idx, net) = (rec.holds_quota, rec.type_idx, rec.net());
        let (private_ip, public_ip) = (rec.private_ip.take(), rec.public_ip.take());
        rec.holds_quota = false;
        rec.state = InstanceState::Terminating;
        rec.due = Some((at.saturating_add(delay), InstanceState::Terminated));
        rec.fail_at = None;
        rec.retire_at = None;

        if holds_quota {
            self.release_quota(type_idx);
        }
        if let Some(ip) = private_ip {
            self.addresses.release_private(net, ip);
        }
        if let Some(ip) = public_ip {
            self.addresses.release_public(ip);
        }
        self.wake(slot, at.saturating_add(delay));
    }

    /// Gives back the quota an instance of `type_idx` holds.
    pub(crate) fn release_quota(&mut self, type_idx: u32) {
        let Some(t) = self.types.get(type_idx as usize) else {
            return;
        };
        let gpus = u64::from(t.gpus);
        if let Some(u) = self.usage.get_mut(t.location as usize) {
            u.instances = u.instances.saturating_sub(1);
            u.gpus = u.gpus.saturating_sub(gpus);
        }
    }

    /// Gives back the capacity a record holds, if it holds any.
    pub(crate) fn release_capacity(&mut self, slot: u32) {
        let Some(rec) = self.records.get_mut(slot as usize).and_then(Option::as_mut) else {
            return;
        };
        if !std::mem::take(&mut rec.holds_capacity) {
            return;
        }
        let key = self
            .types
            .get(rec.type_idx as usize)
            .map(|t| t.capacity_key);
        if let Some(used) = key.and_then(|k| self.capacity_used.get_mut(k as usize)) {
            *used = used.saturating_sub(1);
        }
    }

    /// Adds a record in the next slot and indexes it.
    pub(crate) fn insert(&mut self, rec: Record) -> Result<u32> {
        let slot = u32::try_from(self.records.len())
            .ok()
            .filter(|&s| s < u32::MAX - 1)
            .ok_or_else(|| Error::internal("the fake holds too many instances"))?;
        let location = self.types.get(rec.type_idx as usize).map(|t| t.location);
        if let Some(list) = location.and_then(|l| self.by_location.get_mut(l as usize)) {
            post(list, slot);
        }
        let pairs = self.tagsets.get(rec.tagset).map_or(&[][..], |s| &s.pairs);
        for &pair in pairs {
            self.tags.add(pair, slot);
        }
        let wake = [rec.due.map(|(at, _)| at), rec.fail_at, rec.retire_at];
        self.by_ref.insert(rec.ref_id.clone(), slot);
        self.records.push(Some(rec));
        for at in wake.into_iter().flatten() {
            self.wake(slot, at);
        }
        Ok(slot)
    }

    /// Builds the public view of a record.
    ///
    /// # Errors
    /// `NotFound` for an empty slot; `Internal` if stored data no longer validates.
    pub(crate) fn instance(&self, slot: u32) -> Result<Instance> {
        let rec = self
            .record(slot)
            .ok_or_else(|| Error::not_found(format!("instance {} does not exist", id_of(slot))))?;
        let entry = self
            .types
            .get(rec.type_idx as usize)
            .ok_or_else(|| Error::internal("instance refers to an unknown type"))?;
        let id = InstanceId::new(id_of(slot))?;
        let name = rec.name.as_deref().unwrap_or(rec.ref_id.as_str());
        let created = self.clock.wall(rec.created);
        let mut inst = Instance::new(name, rec.ref_id.clone(), id, entry.id.clone(), created);

        inst.identity.credential_ref_id = rec.credential.clone();
        inst.placement.zone = rec.zone.clone();
        self.fill_network(rec, &mut inst);
        inst.access.ssh_user = Some(SSH_USER.to_owned());
        inst.access.ssh_port = Some(SSH_PORT);
        inst.access.public_key_fingerprint = rec.fingerprint.as_deref().map(str::to_owned);
        inst.compute.image_id = rec.image.clone();
        inst.compute.spot = rec.spot;

        inst.volumes = volumes(slot, rec, self.root_elastic(rec.type_idx));
        let mut status = compute_types::InstanceStatus::new(rec.state);
        if let Some(msg) = &rec.message {
            status = status.with_message(msg.as_ref());
        }
        inst.lifecycle.status = status;
        inst.lifecycle.retire_timeout = rec.retire_timeout;
        inst.lifecycle.retired_at = rec.retired.map(|t| self.clock.wall(t));
        inst.lifecycle.last_stop_transition = rec.last_stop.map(|t| self.clock.wall(t));
        if let Some(t) = self.catalog_type(rec.type_idx) {
            inst.flags.stoppable = t.stoppable;
            inst.flags.rebootable = t.rebootable;
            inst.flags.is_container = t.is_container;
            inst.flags.privilege_escalation_disabled = t.privilege_escalation_disabled;
            inst.flags.not_privileged = t.not_privileged;
        }

        inst.tags = self.tags_of(rec)?;
        Ok(inst)
    }

    fn fill_network(&self, rec: &Record, inst: &mut Instance) {
        let net = &mut inst.network;
        net.private_ip = rec.private_ip.map(IpAddr::V4);
        net.public_ip = rec.public_ip;
        net.firewall_rules = rec.firewall.clone();
        let (subnet_id, vpc_id) = self.addresses.labels(rec.net());
        net.subnet_id = Some(subnet_id);
        net.vpc_id = Some(vpc_id);
        net.hostname = Some(
            rec.name
                .as_deref()
                .unwrap_or(rec.ref_id.as_str())
                .to_owned(),
        );
    }

    /// Returns whether the root volume of a type can be resized.
    pub(crate) fn root_elastic(&self, type_idx: u32) -> bool {
        self.catalog_type(type_idx)
            .is_none_or(|t| t.elastic_root_volume)
    }

    /// Returns a record's tags without its ref id.
    pub(crate) fn stored_tags(&self, rec: &Record) -> Result<Tags> {
        self.tagsets.tags(rec.tagset, &self.tags)
    }

    /// Returns a record's interned tag pairs (every tag but the ref id).
    pub(crate) fn pairs_of(&self, rec: &Record) -> &[u32] {
        self.tagsets.get(rec.tagset).map_or(&[], |s| &s.pairs)
    }

    /// Returns a record's tags: its ref id plus its tag set.
    pub(crate) fn tags_of(&self, rec: &Record) -> Result<Tags> {
        let mut tags = self.stored_tags(rec)?;
        tags.insert_reserved(TAG_REF_ID, rec.ref_id.as_str())?;
        Ok(tags)
    }

    /// Returns true when a record carries every tag in `want` (which may name the ref id).
    pub(crate) fn has_tags(&self, rec: &Record, want: &Tags) -> bool {
        want.iter().all(|(k, v)| {
            if k == TAG_REF_ID {
                return rec.ref_id.as_str() == v;
            }
            self.tags
                .lookup(k, v)
                .is_some_and(|pair| self.pairs_of(rec).binary_search(&pair).is_ok())
        })
    }

    /// Returns every slot whose record carries the ref id `ref_id`, ascending.
    pub(crate) fn ref_chain(&self, ref_id: &str) -> Vec<u32> {
        let Ok(key) = RefId::new(ref_id) else {
            return Vec::new();
        };
        let mut slots = Vec::new();
        let mut next = self.by_ref.get(&key).copied();
        while let Some(slot) = next {
            slots.push(slot);
            next = self.record(slot).and_then(|r| r.prev_same_ref);
        }
        slots.reverse();
        slots
    }
}

/// Builds the volume list of a record: root first, then the additional ones.
fn volumes(slot: u32, rec: &Record, root_elastic: bool) -> Vec<Volume> {
    let mut root = VolumeSpec::root(rec.root_size);
    root.elastic = root_elastic;
    let specs = std::iter::once(root).chain(rec.extra_volumes.iter().cloned());
    specs
        .enumerate()
        .map(|(k, spec)| {
            let mut v = Volume::new(spec);
            v.id = Some(volume_id(slot, k));
            v
        })
        .collect()
}

/// Formats the id of volume `k` (0 is root) of a slot.
pub(crate) fn volume_id(slot: u32, k: usize) -> String {
    format!("vol-{:08x}-{k}", u64::from(slot) + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_slots_round_trip() {
        for slot in [0, 1, 255, 0xffff_fffd] {
            let id = InstanceId::new(id_of(slot)).unwrap();
            assert_eq!(slot_of(&id), Some(slot), "{id}");
        }
        assert_eq!(id_of(0), "i-00000001");

        for bad in [
            "i-0000001",
            "i-00000000",
            "x-00000001",
            "i-0000000A",
            "i-000000001",
        ] {
            assert_eq!(slot_of(&InstanceId::new(bad).unwrap()), None, "{bad}");
        }
    }
}

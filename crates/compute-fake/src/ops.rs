//! The world's operations: create (a multi-step launch that rolls back on failure), the
//! lifecycle calls, volumes, instance types, firewall rules, tags, quota and listing.

use compute_provider::{CreateInstance, ListInstances};
use compute_types::{
    Bytes, Error, ErrorKind, FirewallRule, FirewallRuleId, FirewallRules, Image, ImageId, Instance,
    InstanceId, InstanceState, InstanceTypeId, LocationId, Outcome, Quota, QuotaUnit,
    RESERVED_PREFIX, Result, Retry, TAG_CLUSTER, TAG_CREDENTIAL_REF_ID, TAG_REF_ID, Tags, ZoneId,
    misc::Architecture,
};

use crate::{
    addresses::NetRef,
    clock::ms,
    config::Operation,
    faults::{CreateFaults, FaultState, Step},
    world::{Record, Usage, World, id_of, volume_id},
};

/// Root volume size when the request names none.
pub const DEFAULT_ROOT_VOLUME: Bytes = Bytes::gib(100);

/// The image instances boot when the request names none.
pub const DEFAULT_IMAGE: &str = "ubuntu-24.04";

/// The images every location offers.
pub(crate) fn images() -> Vec<Image> {
    let image =
        |id: &str, name: &str, arch| ImageId::new(id).ok().map(|id| Image::new(id, name, arch));
    [
        image("ubuntu-22.04", "Ubuntu 22.04 LTS", Architecture::X86_64),
        image("ubuntu-24.04", "Ubuntu 24.04 LTS", Architecture::X86_64),
        image(
            "ubuntu-24.04-arm64",
            "Ubuntu 24.04 LTS (arm64)",
            Architecture::Arm64,
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Something a create did, undone in reverse order when a later step fails.
#[derive(Debug)]
enum Undo {
    Quota(u32),
    Capacity(u32),
    NewCluster,
    Private(NetRef, std::net::Ipv4Addr),
    Public(std::net::IpAddr),
}

/// What a create answers.
#[derive(Debug)]
pub(crate) enum Created {
    /// A new instance was launched.
    New(Instance),
    /// The ref id already named this live instance.
    Existing(Instance),
}

fn invalid_state(id: &InstanceId, state: InstanceState, action: &str) -> Error {
    Error::invalid(
        "state",
        format!("cannot {action} instance {id}: it is {state}"),
    )
}

/// Lets operation `op` move instance `id` from `state` to `to` only when the lifecycle
/// table ([`InstanceState::can_transition_to`]) allows it and `from` (the operation's own,
/// stricter rule) holds `state`.
///
/// # Errors
/// `InvalidRequest` naming `state`, with the operation, the state and the refused step.
fn gate(
    id: &InstanceId,
    op: Operation,
    state: InstanceState,
    to: InstanceState,
    from: &[InstanceState],
) -> Result<()> {
    if !state.can_transition_to(to) {
        return Err(Error::invalid(
            "state",
            format!(
                "{op} refused: instance {id} is {state}, and the lifecycle \
                 table has no {state} -> {to}"
            ),
        ));
    }
    if !from.contains(&state) {
        let allowed: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        return Err(Error::invalid(
            "state",
            format!(
                "{op} refused: instance {id} is {state}; it needs {}",
                allowed.join(" or ")
            ),
        ));
    }
    Ok(())
}

impl World {
    /// Creates an instance, or returns the live instance its ref id already names.
    ///
    /// # Errors
    /// See [`Provider::create_instance`](compute_provider::Provider::create_instance).
    pub(crate) fn create(
        &mut self,
        req: &CreateInstance,
        faults: &mut FaultState,
    ) -> Result<Created> {
        req.validate()?;
        check_tags(&req.tags)?;
        compute_net::validate_rules(&req.firewall_rules)?;
        check_unique_rules(req.firewall_rules.iter())?;
        let image = self.check_image(req.image_id.as_ref())?;

        if let Some(&slot) = self.by_ref.get(&req.ref_id)
            && let Some(rec) = self.record(slot)
            && rec.owns_ref()
        {
            return self.existing(slot, req).map(Created::Existing);
        }

        let type_idx = self.resolve_type(&req.instance_type)?;
        let zone = self.place(type_idx, req)?;
        let pairs = &self.cfg.faults.capacity_pairs;
        let pair_listed = !pairs.is_empty()
            && pairs.contains(&(
                req.location.clone(),
                req.instance_type.type_name().to_owned(),
            ));
        let cfg = std::sync::Arc::clone(&self.cfg);
        let drawn = faults.draw_create(&cfg.faults, pair_listed);
        refuse_injected(&drawn, req)?;

        let mut undo = Vec::new();
        match self.launch(req, type_idx, zone, image, &drawn, &mut undo) {
            Ok(slot) => {
                self.settle();
                let inst = self.instance(slot)?;
                if drawn.ambiguous {
                    return Err(
                        Error::new(ErrorKind::Timeout, "the create request timed out")
                            .with_outcome(Outcome::Unknown { instance_id: None }),
                    );
                }
                Ok(Created::New(inst))
            }
            Err(err) => {
                self.roll_back(undo);
                Err(err.with_outcome(Outcome::NotApplied))
            }
        }
    }

    fn existing(&self, slot: u32, req: &CreateInstance) -> Result<Instance> {
        let rec = self
            .record(slot)
            .ok_or_else(|| Error::internal("ref id index points at an empty slot"))?;
        let same_type = self
            .types
            .get(rec.type_idx as usize)
            .is_some_and(|t| t.id.with_zone(None) == req.instance_type.with_zone(None));
        let same_cluster =
            rec.cluster().and_then(|c| self.addresses.cluster_name(c)) == req.cluster.as_deref();
        if !same_type || !same_cluster {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "ref id {} already names instance {} with another type or cluster",
                    req.ref_id,
                    id_of(slot)
                ),
            )
            .with_outcome(Outcome::NotApplied));
        }
        self.instance(slot)
    }

    fn check_image(&self, image: Option<&ImageId>) -> Result<ImageId> {
        match image {
            Some(id) if self.images.iter().any(|i| &i.id == id) => Ok(id.clone()),
            Some(id) => Err(Error::not_found(format!("image {id} does not exist"))),
            None => Ok(self.default_image.clone()),
        }
    }

    /// Finds the type entry of a requested type id (with or without a zone).
    fn resolve_type(&self, id: &InstanceTypeId) -> Result<u32> {
        let found = self
            .type_index
            .get(id)
            .or_else(|| self.type_index.get(&id.with_zone(None)));
        found
            .copied()
            .filter(|&i| {
                self.types
                    .get(i as usize)
                    .is_some_and(|t| t.catalog.is_some())
            })
            .ok_or_else(|| Error::not_found(format!("instance type {id} does not exist")))
    }

    /// Chooses the zone among those the type offers (see [`CatalogData`]'s `offered`):
    /// the requested one (checked), or the first; none when the type offers none.
    ///
    /// [`CatalogData`]: crate::world::CatalogData
    fn place(&self, type_idx: u32, req: &CreateInstance) -> Result<Option<ZoneId>> {
        let offered = self
            .types
            .get(type_idx as usize)
            .and_then(|t| t.catalog)
            .and_then(|i| self.catalog.offered.get(i as usize))
            .map_or(&[][..], Vec::as_slice);
        match &req.zone {
            Some(zone) if offered.contains(zone) => Ok(Some(zone.clone())),
            Some(zone) => Err(Error::invalid(
                "zone",
                format!("`{zone}` does not offer {}", req.instance_type),
            )),
            None => Ok(offered.first().cloned()),
        }
    }

    fn launch(
        &mut self,
        req: &CreateInstance,
        type_idx: u32,
        zone: Option<ZoneId>,
        image: ImageId,
        drawn: &CreateFaults,
        undo: &mut Vec<Undo>,
    ) -> Result<u32> {
        let fail_after = |step: Step| -> Result<()> {
            if drawn.fail_after == Some(step) {
                let msg = format!(
                    "create failed after step `{}`; every step was rolled back",
                    step.as_str()
                );
                return Err(Error::new(ErrorKind::Unavailable, msg).with_retry(Retry::Transient));
            }
            Ok(())
        };

        self.reserve_quota(type_idx)?;
        undo.push(Undo::Quota(type_idx));
        fail_after(Step::ReserveQuota)?;

        self.reserve_capacity(type_idx)?;
        undo.push(Undo::Capacity(type_idx));
        fail_after(Step::ReserveCapacity)?;

        let (net, private_ip) = match &req.cluster {
            Some(name) => {
                let (index, new) = self.addresses.cluster(name)?;
                if new {
                    undo.push(Undo::NewCluster);
                }
                let net = NetRef::Cluster(index);
                (net, self.addresses.alloc_private(net)?)
            }
            None => self.addresses.alloc_solo()?,
        };
        undo.push(Undo::Private(net, private_ip));
        fail_after(Step::JoinNetwork)?;

        let public_ip = self.addresses.alloc_public()?;
        undo.push(Undo::Public(public_ip));
        fail_after(Step::AssignPublicAddress)?;

        let rec = self.new_record(
            req, type_idx, zone, image, net, private_ip, public_ip, drawn,
        )?;
        self.insert(rec)
    }

    #[allow(clippy::too_many_arguments)] // One call site; a struct would only rename them.
    fn new_record(
        &mut self,
        req: &CreateInstance,
        type_idx: u32,
        zone: Option<ZoneId>,
        image: ImageId,
        net: NetRef,
        private_ip: std::net::Ipv4Addr,
        public_ip: std::net::IpAddr,
        drawn: &CreateFaults,
    ) -> Result<Record> {
        let now = self.clock.now();
        let mut tags: Vec<u32> = Vec::with_capacity(req.tags.len() + 2);
        tags.extend(req.tags.iter().map(|(k, v)| self.tags.intern(k, v)));
        if let Some(cred) = &req.credential_ref_id {
            tags.push(self.tags.intern(TAG_CREDENTIAL_REF_ID, cred.as_str()));
        }
        if let Some(cluster) = &req.cluster {
            tags.push(self.tags.intern(TAG_CLUSTER, cluster));
        }

        let slot_hint = u32::try_from(self.records.len()).unwrap_or(u32::MAX);
        let mut firewall = req.firewall_rules.clone();
        let mut next_rule = 0;
        for rule in firewall
            .ingress
            .iter_mut()
            .chain(firewall.egress.iter_mut())
        {
            rule.id = Some(rule_id(slot_hint, next_rule)?);
            next_rule += 1;
        }
        let boot = ms(self.cfg.boot_delay);
        let prev_same_ref = self.by_ref.get(&req.ref_id).copied();
        let tagset = self.tagsets.intern(tags);

        Ok(Record {
            ref_id: req.ref_id.clone(),
            name: req.name.as_deref().map(Box::from),
            credential: req.credential_ref_id.clone(),
            type_idx,
            zone,
            net,
            private_ip: Some(private_ip),
            public_ip: Some(public_ip),
            state: InstanceState::Pending,
            due: Some((now.saturating_add(boot), InstanceState::Running)),
            fail_at: drawn.fail_later.map(|d| now.saturating_add(ms(d))),
            retire_at: req.retire_timeout.map(|d| now.saturating_add(ms(d))),
            created: now,
            last_stop: None,
            retired: None,
            retire_timeout: req.retire_timeout,
            image: Some(image),
            fingerprint: req.public_key.as_ref().map(|k| k.fingerprint().into()),
            root_size: req.root_volume_size.unwrap_or(DEFAULT_ROOT_VOLUME),
            extra_volumes: req.additional_volumes.clone(),
            tagset,
            firewall,
            next_rule,
            spot: req.spot,
            persistent_ip: req.persistent_ip,
            holds_quota: true,
            holds_capacity: true,
            prev_same_ref,
            message: None,
        })
    }

    fn reserve_quota(&mut self, type_idx: u32) -> Result<()> {
        let (location, gpus) = match self.types.get(type_idx as usize) {
            Some(t) => (t.location, u64::from(t.gpus)),
            None => return Err(Error::internal("unknown type entry")),
        };
        let limits = self.quota_limits(location);
        let place = self
            .sites
            .get(location as usize)
            .map(ToString::to_string)
            .unwrap_or_default();
        let usage = self
            .usage
            .get_mut(location as usize)
            .ok_or_else(|| Error::internal("unknown location entry"))?;
        if usage.instances.saturating_add(1) > limits.instances {
            return Err(quota_error(format!(
                "the quota of {} instances in {place} is used up",
                limits.instances
            )));
        }
        if usage.gpus.saturating_add(gpus) > limits.gpus {
            return Err(quota_error(format!(
                "{gpus} more GPUs would exceed the quota of {} GPUs in {place} ({} in use)",
                limits.gpus, usage.gpus
            )));
        }
        usage.instances += 1;
        usage.gpus += gpus;
        Ok(())
    }

    fn reserve_capacity(&mut self, type_idx: u32) -> Result<()> {
        let t = self
            .types
            .get(type_idx as usize)
            .ok_or_else(|| Error::internal("unknown type entry"))?;
        let key = t.capacity_key as usize;
        let limit = self.capacity_limits.get(key).copied().unwrap_or(0);
        let used = self
            .capacity_used
            .get_mut(key)
            .ok_or_else(|| Error::internal("unknown capacity entry"))?;
        if *used >= limit {
            return Err(capacity_error(&t.id));
        }
        *used += 1;
        Ok(())
    }

    fn roll_back(&mut self, undo: Vec<Undo>) {
        for step in undo.into_iter().rev() {
            match step {
                Undo::Quota(type_idx) => self.release_quota(type_idx),
                Undo::Capacity(type_idx) => {
                    let key = self.types.get(type_idx as usize).map(|t| t.capacity_key);
                    if let Some(used) = key.and_then(|k| self.capacity_used.get_mut(k as usize)) {
                        *used = used.saturating_sub(1);
                    }
                }
                Undo::NewCluster => self.addresses.drop_last_cluster(),
                Undo::Private(net, ip) => self.addresses.release_private(net, ip),
                Undo::Public(ip) => self.addresses.release_public(ip),
            }
        }
    }

    /// Returns one instance.
    pub(crate) fn get(&self, id: &InstanceId) -> Result<Instance> {
        self.instance(self.slot(id)?)
    }

    /// Lists instances passing `filter`, in creation order, using the narrowest index.
    pub(crate) fn list(&self, filter: &ListInstances) -> Result<Vec<Instance>> {
        let slots = self.candidates(filter);
        let location_ids: Vec<u32> = filter
            .locations
            .iter()
            .flat_map(|l| self.sites_named(l).iter().copied())
            .collect();

        let mut out = Vec::new();
        for slot in slots {
            let Some(rec) = self.record(slot) else {
                continue;
            };
            let location = self.types.get(rec.type_idx as usize).map(|t| t.location);
            let location_ok =
                filter.locations.is_empty() || location.is_some_and(|l| location_ids.contains(&l));
            if location_ok && self.has_tags(rec, &filter.tags) {
                out.push(self.instance(slot)?);
            }
        }
        Ok(out)
    }

    fn candidates(&self, filter: &ListInstances) -> Vec<u32> {
        if !filter.ids.is_empty() {
            let mut slots: Vec<u32> = filter
                .ids
                .iter()
                .filter_map(|id| self.slot(id).ok())
                .collect();
            slots.sort_unstable();
            slots.dedup();
            return slots;
        }

        let mut best: Option<Vec<u32>> = None;
        for (k, v) in filter.tags.iter() {
            let slots = if k == TAG_REF_ID {
                self.ref_chain(v)
            } else {
                match self.tags.lookup(k, v) {
                    Some(pair) => self.tags.slots(pair).to_vec(),
                    None => return Vec::new(),
                }
            };
            if best.as_ref().is_none_or(|b| slots.len() < b.len()) {
                best = Some(slots);
            }
        }
        if let Some(best) = best {
            return best;
        }

        if !filter.locations.is_empty() {
            let mut slots: Vec<u32> = filter
                .locations
                .iter()
                .flat_map(|l| self.sites_named(l))
                .filter_map(|&l| self.by_location.get(l as usize))
                .flatten()
                .copied()
                .collect();
            slots.sort_unstable();
            slots.dedup();
            return slots;
        }
        (0..self.records.len())
            .filter_map(|s| u32::try_from(s).ok())
            .collect()
    }

    /// Terminates an instance; terminating a terminating, terminated or unknown-but-valid
    /// id succeeds.
    pub(crate) fn terminate(&mut self, id: &InstanceId) -> Result<()> {
        let Ok(slot) = self.slot(id) else {
            return Ok(());
        };
        let state = self
            .record(slot)
            .map_or(InstanceState::Terminated, |r| r.state);
        if state.can_transition_to(InstanceState::Terminating) {
            let now = self.clock.now();
            self.begin_terminate(slot, now);
        }
        Ok(())
    }

    /// Stops a running instance.
    pub(crate) fn stop(&mut self, id: &InstanceId) -> Result<()> {
        let slot = self.slot(id)?;
        let (state, type_idx) = self.state_and_type(slot)?;
        if self.catalog_type(type_idx).is_some_and(|t| !t.stoppable) {
            return Err(Error::invalid(
                "instance_type",
                format!("instance {id} has a type that cannot be stopped"),
            ));
        }
        // The table also lets a booting instance stop; like most clouds, the fake waits
        // for it to run first.
        let (to, from) = (InstanceState::Stopping, [InstanceState::Running]);
        gate(id, Operation::Stop, state, to, &from)?;

        self.release_capacity(slot);
        let now = self.clock.now();
        let at = now.saturating_add(ms(self.cfg.stop_delay));
        let Some(rec) = self.record_mut(slot) else {
            return Err(Error::internal("record vanished"));
        };
        rec.state = InstanceState::Stopping;
        rec.due = Some((at, InstanceState::Stopped));
        rec.last_stop = Some(now);
        let released = if rec.persistent_ip {
            None
        } else {
            rec.public_ip.take()
        };
        if let Some(ip) = released {
            self.addresses.release_public(ip);
        }
        self.wake(slot, at);
        Ok(())
    }

    /// Starts a stopped instance.
    pub(crate) fn start(&mut self, id: &InstanceId) -> Result<()> {
        let slot = self.slot(id)?;
        let (state, type_idx) = self.state_and_type(slot)?;
        // The table's other ways into pending are a reboot (from running) and a resume
        // (from suspended, which the fake never enters).
        let from = [InstanceState::Stopped, InstanceState::Suspended];
        gate(id, Operation::Start, state, InstanceState::Pending, &from)?;
        let listed = self.types.get(type_idx as usize).is_some_and(|t| {
            let pair = (t.id.location().clone(), t.id.type_name().to_owned());
            self.cfg.faults.capacity_pairs.contains(&pair)
        });
        if listed {
            let t = &self.types[type_idx as usize];
            return Err(capacity_error(&t.id));
        }

        self.reserve_capacity(type_idx)?;
        let needs_ip = self.record(slot).is_some_and(|r| r.public_ip.is_none());
        let public_ip = if needs_ip {
            match self.addresses.alloc_public() {
                Ok(ip) => Some(ip),
                Err(err) => {
                    self.release_capacity_of(type_idx);
                    return Err(err);
                }
            }
        } else {
            None
        };

        let now = self.clock.now();
        let at = now.saturating_add(ms(self.cfg.boot_delay));
        let Some(rec) = self.record_mut(slot) else {
            return Err(Error::internal("record vanished"));
        };
        rec.holds_capacity = true;
        rec.state = InstanceState::Pending;
        rec.due = Some((at, InstanceState::Running));
        rec.last_stop = Some(now);
        if public_ip.is_some() {
            rec.public_ip = public_ip;
        }
        self.wake(slot, at);
        Ok(())
    }

    fn release_capacity_of(&mut self, type_idx: u32) {
        let key = self.types.get(type_idx as usize).map(|t| t.capacity_key);
        if let Some(used) = key.and_then(|k| self.capacity_used.get_mut(k as usize)) {
            *used = used.saturating_sub(1);
        }
    }

    /// Reboots a running instance: pending for the reboot delay, then running.
    pub(crate) fn reboot(&mut self, id: &InstanceId) -> Result<()> {
        let slot = self.slot(id)?;
        let (state, type_idx) = self.state_and_type(slot)?;
        if self.catalog_type(type_idx).is_some_and(|t| !t.rebootable) {
            return Err(Error::invalid(
                "instance_type",
                format!("instance {id} has a type that cannot be rebooted"),
            ));
        }
        // A reboot is running -> pending; a stopped instance also goes to pending, but
        // by a start.
        let (to, from) = (InstanceState::Pending, [InstanceState::Running]);
        gate(id, Operation::Reboot, state, to, &from)?;

        let at = self.clock.now().saturating_add(ms(self.cfg.reboot_delay));
        if let Some(rec) = self.record_mut(slot) {
            rec.state = InstanceState::Pending;
            rec.due = Some((at, InstanceState::Running));
        }
        self.wake(slot, at);
        Ok(())
    }

    fn state_and_type(&self, slot: u32) -> Result<(InstanceState, u32)> {
        self.record(slot)
            .map(|r| (r.state, r.type_idx))
            .ok_or_else(|| Error::internal("record vanished"))
    }

    /// Grows a volume; shrinking and non-elastic volumes are refused.
    pub(crate) fn resize_volume(
        &mut self,
        id: &InstanceId,
        volume: &str,
        size: Bytes,
    ) -> Result<()> {
        let slot = self.slot(id)?;
        let (state, type_idx) = self.state_and_type(slot)?;
        if matches!(
            state,
            InstanceState::Terminating | InstanceState::Terminated | InstanceState::Failed
        ) {
            return Err(invalid_state(id, state, "resize a volume of"));
        }
        let k = (0..)
            .take(1 + self.record(slot).map_or(0, |r| r.extra_volumes.len()))
            .find(|&k| volume_id(slot, k) == volume)
            .ok_or_else(|| Error::not_found(format!("volume {volume} of {id} does not exist")))?;
        let root_elastic = self.root_elastic(type_idx);

        let rec = self
            .record_mut(slot)
            .ok_or_else(|| Error::internal("record vanished"))?;
        let (current, elastic) = match k {
            0 => (rec.root_size, root_elastic),
            _ => {
                let spec = &rec.extra_volumes[k - 1];
                (spec.size, spec.elastic)
            }
        };
        if !elastic {
            return Err(Error::invalid(
                "volume_id",
                format!("volume {volume} is not elastic"),
            ));
        }
        if size <= current {
            return Err(Error::invalid(
                "size",
                format!("volume {volume} is {current}; it can only grow"),
            ));
        }
        match k {
            0 => rec.root_size = size,
            _ => rec.extra_volumes[k - 1].size = size,
        }
        Ok(())
    }

    /// Changes the type of a stopped instance, within its location.
    pub(crate) fn change_type(&mut self, id: &InstanceId, new_type: &InstanceTypeId) -> Result<()> {
        let slot = self.slot(id)?;
        let (state, old_idx) = self.state_and_type(slot)?;
        // The type changes while the instance rests in `stopped`; the table must still
        // let it start again (stopped -> pending), as it does not a terminal instance.
        let (to, from) = (InstanceState::Pending, [InstanceState::Stopped]);
        gate(id, Operation::ChangeType, state, to, &from)?;
        let new_idx = self.resolve_type(new_type)?;
        let (old, new) = (&self.types[old_idx as usize], &self.types[new_idx as usize]);
        if old.location != new.location {
            return Err(Error::invalid(
                "instance_type",
                format!(
                    "{new_type} is not offered in {} of {}",
                    old.id.location(),
                    old.id.provider()
                ),
            ));
        }
        let pair = (new.id.location().clone(), new.id.type_name().to_owned());
        if self.cfg.faults.capacity_pairs.contains(&pair) {
            return Err(capacity_error(&new.id));
        }

        let extra = u64::from(new.gpus.saturating_sub(old.gpus));
        let freed = u64::from(old.gpus.saturating_sub(new.gpus));
        let location = old.location;
        let limits = self.quota_limits(location);
        let usage = self
            .usage
            .get_mut(location as usize)
            .ok_or_else(|| Error::internal("unknown location entry"))?;
        if usage.gpus.saturating_add(extra) > limits.gpus {
            return Err(quota_error(format!(
                "{extra} more GPUs would exceed the quota of {} GPUs",
                limits.gpus
            )));
        }
        usage.gpus = usage.gpus.saturating_add(extra).saturating_sub(freed);
        if let Some(rec) = self.record_mut(slot) {
            rec.type_idx = new_idx;
        }
        Ok(())
    }

    /// Adds firewall rules, giving each an id.
    pub(crate) fn add_rules(
        &mut self,
        id: &InstanceId,
        rules: &[FirewallRule],
    ) -> Result<Vec<FirewallRule>> {
        let slot = self.slot(id)?;
        let rec = self
            .record_mut(slot)
            .ok_or_else(|| Error::internal("record vanished"))?;
        if matches!(
            rec.state,
            InstanceState::Terminating | InstanceState::Terminated
        ) {
            return Err(invalid_state(id, rec.state, "change the firewall of"));
        }
        compute_net::validate_rules(&FirewallRules::from_rules(rules.iter().cloned()))?;
        check_unique_rules(rules.iter())?;
        let existing: Vec<FirewallRule> = rec.firewall.iter().cloned().collect();
        for rule in rules {
            compute_net::ensure_unique(&existing, rule)?;
        }

        let mut added = Vec::with_capacity(rules.len());
        for rule in rules {
            let with_id = rule.without_id().with_id(rule_id(slot, rec.next_rule)?);
            rec.next_rule += 1;
            rec.firewall.push(with_id.clone());
            added.push(with_id);
        }
        Ok(added)
    }

    /// Revokes firewall rules by id; all ids must exist or nothing changes.
    pub(crate) fn revoke_rules(&mut self, id: &InstanceId, ids: &[FirewallRuleId]) -> Result<()> {
        let slot = self.slot(id)?;
        let rec = self
            .record_mut(slot)
            .ok_or_else(|| Error::internal("record vanished"))?;
        if let Some(missing) = ids
            .iter()
            .find(|rid| !rec.firewall.iter().any(|r| r.id.as_ref() == Some(*rid)))
        {
            return Err(Error::not_found(format!(
                "instance {id} has no firewall rule {missing}"
            )));
        }

        let keep = |r: &FirewallRule| !r.id.as_ref().is_some_and(|rid| ids.contains(rid));
        rec.firewall.ingress.retain(keep);
        rec.firewall.egress.retain(keep);
        Ok(())
    }

    /// Replaces the caller tags; ownership tags are kept.
    pub(crate) fn update_tags(&mut self, id: &InstanceId, tags: &Tags) -> Result<()> {
        check_tags(tags)?;
        let slot = self.slot(id)?;
        let old: Vec<u32> = self
            .record(slot)
            .map(|r| self.pairs_of(r).to_vec())
            .ok_or_else(|| Error::internal("record vanished"))?;

        let kept: Vec<u32> = old
            .iter()
            .copied()
            .filter(|&p| {
                self.tags
                    .pair(p)
                    .is_some_and(|(k, _)| k.starts_with(RESERVED_PREFIX))
            })
            .collect();
        let mut new = kept;
        new.extend(tags.iter().map(|(k, v)| self.tags.intern(k, v)));

        let tagset = self.tagsets.intern(new.clone());
        for &p in old.iter() {
            self.tags.remove(p, slot);
        }
        for &p in &new {
            self.tags.add(p, slot);
        }
        if let Some(rec) = self.record_mut(slot) {
            rec.tagset = tagset;
        }
        Ok(())
    }

    /// Returns the quotas of a location.
    ///
    /// Where several providers share the location's name (a multi-cloud catalog), each
    /// unit reports the provider with the least room left, so a caller planning from it
    /// never overcommits; [`World::provider_quotas`] reports each provider's.
    pub(crate) fn quotas(&self, location: &LocationId) -> Result<Vec<Quota>> {
        if !self.knows_location(location) {
            return Err(Error::not_found(format!(
                "location {location} does not exist"
            )));
        }
        let sites = self.sites_named(location);
        if sites.is_empty() {
            let limits = self.cfg.quotas.get(location).copied();
            let limits = limits.unwrap_or(self.cfg.default_quota);
            return Ok(site_quotas(limits, Usage::default()));
        }

        let all: Vec<Quota> = sites
            .iter()
            .flat_map(|&s| site_quotas(self.quota_limits(s), self.usage_of(s)))
            .collect();
        let tightest = |unit: QuotaUnit| {
            all.iter()
                .filter(|q| q.unit == unit)
                .min_by_key(|q| q.remaining())
                .copied()
        };
        let units = [QuotaUnit::Instances, QuotaUnit::Gpus];
        Ok(units.into_iter().filter_map(tightest).collect())
    }

    /// Returns the quotas of one provider's location.
    ///
    /// # Errors
    /// `NotFound` when no instance type of `provider` is in `location`.
    pub(crate) fn provider_quotas(
        &self,
        provider: &compute_types::ProviderId,
        location: &LocationId,
    ) -> Result<Vec<Quota>> {
        let site = self
            .sites_named(location)
            .iter()
            .copied()
            .find(|&s| {
                self.sites
                    .get(s as usize)
                    .is_some_and(|x| &x.provider == provider)
            })
            .ok_or_else(|| {
                Error::not_found(format!("{provider} has no instance type in {location}"))
            })?;
        Ok(site_quotas(self.quota_limits(site), self.usage_of(site)))
    }

    fn usage_of(&self, site: u32) -> Usage {
        self.usage.get(site as usize).copied().unwrap_or_default()
    }
}

/// The instance and GPU quotas of one site, in that order.
fn site_quotas(limits: crate::QuotaLimits, used: Usage) -> Vec<Quota> {
    vec![
        Quota::new(QuotaUnit::Instances, limits.instances, used.instances),
        Quota::new(QuotaUnit::Gpus, limits.gpus, used.gpus),
    ]
}

fn rule_id(slot: u32, n: u32) -> Result<FirewallRuleId> {
    FirewallRuleId::new(format!("fwr-{:08x}-{n}", u64::from(slot) + 1))
}

fn quota_error(message: String) -> Error {
    Error::new(ErrorKind::QuotaExceeded, message)
}

fn capacity_error(id: &InstanceTypeId) -> Error {
    Error::new(
        ErrorKind::CapacityUnavailable,
        format!(
            "no capacity for {} in {} right now",
            id.type_name(),
            id.location()
        ),
    )
}

fn refuse_injected(drawn: &CreateFaults, req: &CreateInstance) -> Result<()> {
    if drawn.capacity {
        return Err(capacity_error(&req.instance_type).with_outcome(Outcome::NotApplied));
    }
    if drawn.quota {
        let msg = format!("the quota in {} is exhausted", req.location);
        return Err(quota_error(msg).with_outcome(Outcome::NotApplied));
    }
    Ok(())
}

fn check_tags(tags: &Tags) -> Result<()> {
    match tags.iter().find(|(k, _)| k.starts_with(RESERVED_PREFIX)) {
        Some((k, _)) => Err(Error::invalid(
            format!("tags.{k}"),
            format!("keys starting with `{RESERVED_PREFIX}` are set by the SDK"),
        )),
        None => Ok(()),
    }
}

/// Refuses a list that holds the same rule twice (as `compute-net` compares rules).
fn check_unique_rules<'a>(rules: impl Iterator<Item = &'a FirewallRule>) -> Result<()> {
    let mut seen: Vec<FirewallRule> = Vec::new();
    for rule in rules {
        if compute_net::ensure_unique(&seen, rule).is_err() {
            return Err(Error::invalid(
                "firewall_rules",
                format!("the rule {rule} is given twice"),
            ));
        }
        seen.push(rule.clone());
    }
    Ok(())
}

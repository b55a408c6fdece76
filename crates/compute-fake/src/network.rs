//! Reachability through `compute-net`: the world as a [`Network`], and probes answered by
//! [`Network::probe`], the same policy evaluation the CLI uses.
//!
//! Named clusters appear under their names with their subnets; a cluster-less instance
//! appears as a single-node cluster named `solo:<instance id>`. Only instances that hold a
//! private address (every state but terminating and terminated) are in the model.

use std::net::IpAddr;

use compute_net::{Flow, InstanceSpec, Network};
use compute_provider::{Probe, ProbeResult, ProbeSource};
use compute_types::{Error, InstanceState, Result};

use crate::{
    addresses::NetRef,
    world::{World, id_of},
};

/// Returns the name a network has in the model.
fn net_name(world: &World, net: NetRef, slot: u32) -> String {
    match net {
        NetRef::Cluster(c) => world
            .addresses
            .cluster_name(c)
            .map_or_else(|| format!("cluster-{c}"), str::to_owned),
        NetRef::Solo(_) => format!("solo:{}", id_of(slot)),
    }
}

/// Builds the model of the given slots (every slot when `None`).
///
/// # Errors
/// `Internal` when the world's addresses do not fit the model (a bug).
pub(crate) fn model(world: &World, slots: Option<&[u32]>) -> Result<Network> {
    let all: Vec<u32>;
    let full = slots.is_none();
    let slots = match slots {
        Some(slots) => slots,
        None => {
            all = (0..world.records.len())
                .filter_map(|s| u32::try_from(s).ok())
                .collect();
            &all
        }
    };

    let mut net = Network::new();
    if full {
        for c in world.addresses.clusters() {
            add_cluster(&mut net, &c.name, c.subnet)?;
        }
    }
    for &slot in slots {
        let Some(rec) = world.record(slot) else {
            continue;
        };
        let Some(private_ip) = rec.private_ip else {
            continue;
        };
        let cluster = net_name(world, rec.net, slot);
        if net.cluster(&cluster).is_none() {
            add_cluster(&mut net, &cluster, world.addresses.subnet(rec.net))?;
        }

        let mut spec = InstanceSpec::new(id_of(slot), cluster)
            .with_private_ip(IpAddr::V4(private_ip))
            .with_rules(rec.firewall.clone());
        if let Some(public) = rec.public_ip {
            spec = spec.with_public_ip(public);
        }
        net.add_instance(spec)
            .map_err(|e| Error::internal(format!("{}: {}", id_of(slot), e.message())))?;
    }
    Ok(net)
}

fn add_cluster(net: &mut Network, name: &str, subnet: ipnet::Ipv4Net) -> Result<()> {
    net.add_cluster(name, subnet, None)
        .map_err(|e| Error::internal(format!("cluster {name}: {}", e.message())))
}

/// Answers whether `probe` would be delivered.
///
/// Both ends must be running: a packet to or from an instance in any other state is not
/// delivered. Between instances the flow uses private addresses; from outside it goes to
/// the destination's public address (its private one when it has none).
///
/// # Errors
/// `NotFound` for an unknown instance; `InvalidRequest` naming `port` for a port on ICMP
/// or `all`, or none on TCP or UDP.
pub(crate) fn probe(world: &World, probe: &Probe) -> Result<ProbeResult> {
    if probe.protocol.has_ports() != probe.port.is_some() {
        return Err(Error::invalid(
            "port",
            format!(
                "{} probes take a port exactly when they are tcp or udp",
                probe.protocol
            ),
        ));
    }
    let to = world.slot(&probe.to)?;
    let from = match &probe.from {
        ProbeSource::Instance(id) => Some(world.slot(id)?),
        ProbeSource::External(_) => None,
        _ => return Err(Error::invalid("from", "unknown probe source")),
    };

    for slot in from.iter().chain([&to]) {
        let state = world
            .record(*slot)
            .map_or(InstanceState::Terminated, |r| r.state);
        if state != InstanceState::Running {
            let reason = format!("instance {} is {state}, not running", id_of(*slot));
            return Ok(ProbeResult::new(false, reason));
        }
    }

    let dst_rec = world
        .record(to)
        .ok_or_else(|| Error::internal("record vanished"))?;
    let dst_private = dst_rec.private_ip.map(IpAddr::V4);
    let (src, dst) = match (&probe.from, from) {
        (_, Some(slot)) => {
            let src = world
                .record(slot)
                .and_then(|r| r.private_ip)
                .map(IpAddr::V4);
            (src, dst_private)
        }
        (ProbeSource::External(ip), None) => (Some(*ip), dst_rec.public_ip.or(dst_private)),
        _ => (None, None),
    };
    let (Some(src), Some(dst)) = (src, dst) else {
        return Err(Error::internal("a running instance has no address"));
    };

    let slots: Vec<u32> = from.into_iter().chain([to]).collect();
    let net = model(world, Some(&slots))?;
    let decision = net.probe(&Flow::new(src, dst, probe.protocol, probe.port));
    Ok(ProbeResult::new(
        decision.allowed,
        decision.reason.to_string(),
    ))
}

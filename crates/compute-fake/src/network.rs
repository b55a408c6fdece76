//! Reachability: answers probes with `compute-net`'s policy evaluation.

use compute_provider::Probe;
use compute_provider::ProbeResult;
use compute_types::{Error, Result};

use crate::world::World;

/// Answers whether `probe` would be delivered.
///
/// # Errors
/// `NotFound` for an unknown instance; `InvalidRequest` for a port on ICMP.
pub(crate) fn probe(_world: &World, _probe: &Probe) -> Result<ProbeResult> {
    // TODO(#5): evaluate through compute-net's network model once it lands.
    Err(Error::unsupported("fake", "probe"))
}

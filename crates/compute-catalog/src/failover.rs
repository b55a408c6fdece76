//! Failover over ranked offers: after a capacity or quota error on a (provider, location,
//! type), block it for a while and move on to the next offer.
//!
//! Time is always passed in (`now`) or read from a [`Clock`], so tests never sleep.

use std::{
    collections::HashMap,
    fmt,
    sync::Mutex,
    time::{Duration, SystemTime},
};

use compute_types::{Error, ErrorKind, InstanceTypeId, LocationId, ProviderId, Result};

use crate::{
    catalog::Catalog,
    plan::{Offer, Plan, PlanRequest, plan_with},
};

/// Where the current time comes from.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Returns the current time.
    fn now(&self) -> SystemTime;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told to, for tests and simulations.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: SystemTime) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }

    /// Sets the clock.
    pub fn set(&self, to: SystemTime) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a block covers: one type in one location of one provider, in every zone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct BlockKey {
    /// The provider.
    pub provider: ProviderId,
    /// The location.
    pub location: LocationId,
    /// The provider's type name.
    pub type_name: String,
}

impl BlockKey {
    /// Returns the key of an instance type id (its zone is left out).
    pub fn of(id: &InstanceTypeId) -> Self {
        Self {
            provider: id.provider().clone(),
            location: id.location().clone(),
            type_name: id.type_name().to_owned(),
        }
    }
}

/// Walks ranked offers, blocking a (provider, location, type) for a while after it reports
/// [`ErrorKind::CapacityUnavailable`] or [`ErrorKind::QuotaExceeded`].
///
/// A block covers every zone of the location, because a capacity or quota error in one zone
/// often holds for its neighbours, and retrying them first would only delay the move to
/// the next offer.
///
/// ```
/// use std::time::{Duration, SystemTime};
///
/// use compute_catalog::{Catalog, Failover, ManualClock, PlanRequest};
/// use compute_types::{Error, ErrorKind};
///
/// let catalog = Catalog::builtin();
/// let request = PlanRequest::new("H100", 8, 1).unwrap();
/// let clock = ManualClock::new(SystemTime::now());
/// let mut failover = Failover::new(Duration::from_secs(600));
///
/// let plan = failover.plan(&catalog, &request, SystemTime::now());
/// let (placed, offer) = failover
///     .try_offers(&plan, &clock, |offer| {
///         if offer.id().location().as_str() == "us-east-1" {
///             Err(Error::new(ErrorKind::CapacityUnavailable, "sold out"))
///         } else {
///             Ok(offer.id().to_string())
///         }
///     })
///     .unwrap();
/// assert_eq!(offer.id().location().as_str(), "us-west-2");
/// assert!(placed.contains("us-west-2"));
/// assert!(failover.is_blocked(plan.offers[0].id(), SystemTime::now()));
/// ```
#[derive(Debug, Clone)]
pub struct Failover {
    block_for: Duration,
    blocked: HashMap<BlockKey, SystemTime>,
}

impl Default for Failover {
    fn default() -> Self {
        Self::new(Self::DEFAULT_BLOCK)
    }
}

impl Failover {
    /// How long a combination stays blocked unless told otherwise: 15 minutes.
    pub const DEFAULT_BLOCK: Duration = Duration::from_secs(15 * 60);

    /// A helper that blocks failed combinations for `block_for`.
    pub fn new(block_for: Duration) -> Self {
        Self {
            block_for,
            blocked: HashMap::new(),
        }
    }

    /// Returns how long a combination stays blocked.
    pub fn block_for(&self) -> Duration {
        self.block_for
    }

    /// Returns true for the error kinds that block: capacity unavailable and quota exceeded.
    pub fn blocks_on(kind: ErrorKind) -> bool {
        matches!(
            kind,
            ErrorKind::CapacityUnavailable | ErrorKind::QuotaExceeded
        )
    }

    /// Records that launching `id` failed with `error` at `now`.
    ///
    /// Returns when the block ends if the error blocks the combination, `None` otherwise.
    pub fn record_failure(
        &mut self,
        id: &InstanceTypeId,
        error: &Error,
        now: SystemTime,
    ) -> Option<SystemTime> {
        Self::blocks_on(error.kind()).then(|| self.block(id, now))
    }

    /// Blocks `id`'s (provider, location, type) from `now` for the configured time.
    pub fn block(&mut self, id: &InstanceTypeId, now: SystemTime) -> SystemTime {
        let until = now + self.block_for;
        let entry = self.blocked.entry(BlockKey::of(id)).or_insert(until);
        *entry = (*entry).max(until);
        *entry
    }

    /// Lifts the block on `id`'s combination, if any.
    pub fn unblock(&mut self, id: &InstanceTypeId) {
        self.blocked.remove(&BlockKey::of(id));
    }

    /// Returns when the block on `id`'s combination ends, if it is blocked at `now`.
    pub fn blocked_until(&self, id: &InstanceTypeId, now: SystemTime) -> Option<SystemTime> {
        self.blocked
            .get(&BlockKey::of(id))
            .copied()
            .filter(|until| *until > now)
    }

    /// Returns true when `id`'s combination is blocked at `now`.
    pub fn is_blocked(&self, id: &InstanceTypeId, now: SystemTime) -> bool {
        self.blocked_until(id, now).is_some()
    }

    /// Returns the blocks in force at `now`, sorted.
    pub fn blocked(&self, now: SystemTime) -> Vec<(BlockKey, SystemTime)> {
        let mut live: Vec<_> = self
            .blocked
            .iter()
            .filter(|(_, until)| **until > now)
            .map(|(k, until)| (k.clone(), *until))
            .collect();
        live.sort();
        live
    }

    /// Forgets blocks that have ended by `now`.
    pub fn prune(&mut self, now: SystemTime) {
        self.blocked.retain(|_, until| *until > now);
    }

    /// Plans like [`plan`](crate::plan), rejecting blocked combinations with reason `Blocked`.
    pub fn plan(&self, catalog: &Catalog, request: &PlanRequest, now: SystemTime) -> Plan {
        plan_with(catalog, request, now, Some(self))
    }

    /// Returns the best offer of `plan` that is not blocked at `now`.
    pub fn next_offer<'p>(&self, plan: &'p Plan, now: SystemTime) -> Option<&'p Offer> {
        plan.offers.iter().find(|o| !self.is_blocked(o.id(), now))
    }

    /// Tries the offers of `plan` in order until `attempt` succeeds.
    ///
    /// Blocked offers are skipped. A capacity or quota error blocks the offer's combination
    /// and moves on; any other error is returned at once, since another place would not
    /// fix it. Returns the attempt's value and the offer it used.
    ///
    /// # Errors
    /// - the first error that is not [`ErrorKind::CapacityUnavailable`] or
    ///   [`ErrorKind::QuotaExceeded`], unchanged;
    /// - [`ErrorKind::CapacityUnavailable`] when every offer failed or was blocked, with
    ///   the last failure as its source.
    pub fn try_offers<T>(
        &mut self,
        plan: &Plan,
        clock: &dyn Clock,
        mut attempt: impl FnMut(&Offer) -> Result<T>,
    ) -> Result<(T, Offer)> {
        let (mut tried, mut skipped) = (0usize, 0usize);
        let mut last = None;
        for offer in &plan.offers {
            if self.is_blocked(offer.id(), clock.now()) {
                skipped += 1;
                continue;
            }
            tried += 1;
            match attempt(offer) {
                Ok(value) => return Ok((value, offer.clone())),
                Err(e) if Self::blocks_on(e.kind()) => {
                    self.block(offer.id(), clock.now());
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }

        let msg = format!(
            "no offer could be launched: {tried} tried, {skipped} blocked, {} in the plan",
            plan.offers.len()
        );
        let err = Error::new(ErrorKind::CapacityUnavailable, msg);
        Err(match last {
            Some(source) => err.with_source(source),
            None => err,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> SystemTime {
        let as_of = Catalog::builtin().as_of().unwrap();
        SystemTime::from(as_of) + Duration::from_secs(3600)
    }

    fn h100_plan(failover: &Failover, now: SystemTime) -> Plan {
        let request = PlanRequest::new("H100", 8, 1).unwrap();
        failover.plan(&Catalog::builtin(), &request, now)
    }

    #[test]
    fn capacity_and_quota_errors_block_for_the_configured_time() {
        let clock = ManualClock::new(start());
        let mut failover = Failover::new(Duration::from_secs(600));
        let plan = h100_plan(&failover, clock.now());
        let first = plan.offers[0].id().clone();
        let in_zone = first.with_zone(Some("us-east-1a".parse().unwrap()));

        let capacity = Error::new(ErrorKind::CapacityUnavailable, "none left");
        let until = failover.record_failure(&first, &capacity, clock.now());
        let auth = Error::new(ErrorKind::Unauthenticated, "bad key");
        let not_blocked = failover.record_failure(plan.offers[1].id(), &auth, clock.now());

        assert_eq!(until, Some(clock.now() + Duration::from_secs(600)));
        assert_eq!(not_blocked, None);
        assert!(
            failover.is_blocked(&in_zone, clock.now()),
            "zones share the block"
        );
        assert_eq!(
            failover.next_offer(&plan, clock.now()).unwrap().id(),
            plan.offers[1].id()
        );
        clock.advance(Duration::from_secs(599));
        assert!(failover.is_blocked(&first, clock.now()));
        clock.advance(Duration::from_secs(1));
        assert!(!failover.is_blocked(&first, clock.now()));
        assert_eq!(
            failover.next_offer(&plan, clock.now()).unwrap().id(),
            &first
        );
        failover.prune(clock.now());
        assert!(failover.blocked(clock.now()).is_empty());
    }

    #[test]
    fn blocked_combinations_are_rejected_in_plans() {
        let now = start();
        let mut failover = Failover::default();
        let before = h100_plan(&failover, now);
        failover.block(before.offers[0].id(), now);

        let after = h100_plan(&failover, now);

        assert_eq!(after.offers.len(), before.offers.len() - 1);
        let blocked = after
            .rejected
            .iter()
            .find(|r| &r.instance_type == before.offers[0].id())
            .unwrap();
        assert_eq!(
            blocked.reasons,
            [crate::RejectReason::Blocked {
                until: now + Failover::DEFAULT_BLOCK
            }]
        );
        failover.unblock(before.offers[0].id());
        assert_eq!(h100_plan(&failover, now), before);
    }

    #[test]
    fn try_offers_walks_on_capacity_and_quota_and_stops_on_other_errors() {
        let clock = ManualClock::new(start());
        let mut failover = Failover::new(Duration::from_secs(60));
        let plan = h100_plan(&failover, clock.now());
        let mut seen = Vec::new();

        let (value, offer) = failover
            .try_offers(&plan, &clock, |o| {
                seen.push(o.id().location().to_string());
                match seen.len() {
                    1 => Err(Error::new(ErrorKind::CapacityUnavailable, "full")),
                    2 => Err(Error::new(ErrorKind::QuotaExceeded, "quota")),
                    _ => Ok(42),
                }
            })
            .unwrap();
        let stop = failover.try_offers(&plan, &clock, |_| -> Result<()> {
            Err(Error::new(ErrorKind::PermissionDenied, "no"))
        });

        assert_eq!(value, 42);
        assert_eq!(seen, ["us-east-1", "us-west-2", "eu-central-1"]);
        assert_eq!(offer.id().location().as_str(), "eu-central-1");
        assert_eq!(failover.blocked(clock.now()).len(), 2);
        assert_eq!(stop.unwrap_err().kind(), ErrorKind::PermissionDenied);
    }

    #[test]
    fn try_offers_reports_exhaustion_with_the_last_error() {
        let clock = ManualClock::new(start());
        let mut failover = Failover::default();
        let plan = h100_plan(&failover, clock.now());

        let err = failover
            .try_offers(&plan, &clock, |_| -> Result<()> {
                Err(Error::new(ErrorKind::CapacityUnavailable, "full"))
            })
            .unwrap_err();
        let again = failover
            .try_offers(&plan, &clock, |_| -> Result<()> { Ok(()) })
            .unwrap_err();

        assert_eq!(err.kind(), ErrorKind::CapacityUnavailable);
        assert!(err.message().contains("4 tried, 0 blocked, 4 in the plan"));
        assert!(std::error::Error::source(&err).is_some());
        assert!(again.message().contains("0 tried, 4 blocked"));
    }
}

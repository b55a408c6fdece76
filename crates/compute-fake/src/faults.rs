//! Fault injection: the seeded random generator, the sliding rate-limit window and armed
//! faults.
//!
//! Every probabilistic decision draws from one `StdRng` seeded from the configuration, and
//! a draw happens only for faults whose probability is above zero, so a given seed and a
//! given sequence of calls always meet the same faults.

use std::{collections::VecDeque, time::Duration};

use compute_provider::Fault;
use compute_types::{Error, ErrorKind, Outcome, Result, Retry};
use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::{
    clock::Ms,
    config::{FaultConfig, Operation},
};

/// The steps of a create, in order; a mid-create failure strikes after one of the first
/// four and rolls back what they did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Step {
    ReserveQuota,
    ReserveCapacity,
    JoinNetwork,
    AssignPublicAddress,
}

impl Step {
    pub(crate) const ALL: [Self; 4] = [
        Self::ReserveQuota,
        Self::ReserveCapacity,
        Self::JoinNetwork,
        Self::AssignPublicAddress,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::ReserveQuota => "reserve quota",
            Self::ReserveCapacity => "reserve capacity",
            Self::JoinNetwork => "join the cluster network",
            Self::AssignPublicAddress => "assign a public address",
        }
    }
}

/// What one create meets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CreateFaults {
    pub(crate) capacity: bool,
    pub(crate) quota: bool,
    pub(crate) fail_after: Option<Step>,
    pub(crate) ambiguous: bool,
    pub(crate) fail_later: Option<Duration>,
}

/// The mutable side of fault injection.
#[derive(Debug)]
pub(crate) struct FaultState {
    rng: StdRng,
    armed: VecDeque<Fault>,
    /// When each of the calls admitted in the last second came in, oldest first; never
    /// more than the rate limit.
    recent: VecDeque<Ms>,
}

/// The length of the rate limit's sliding window.
const WINDOW_MS: Ms = 1000;

impl FaultState {
    /// A fresh state for `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            armed: VecDeque::new(),
            recent: VecDeque::new(),
        }
    }

    /// Arms a one-shot fault; each create consumes the oldest armed fault.
    pub(crate) fn arm(&mut self, fault: Fault) {
        self.armed.push_back(fault);
    }

    /// Disarms every fault.
    pub(crate) fn clear(&mut self) {
        self.armed.clear();
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.rng.random_bool(p.min(1.0))
    }

    /// Lets a call in, or refuses it with `RateLimited` or a transient `Unavailable`.
    ///
    /// # Errors
    /// `RateLimited` with a retry-after (until the oldest call in the window leaves it)
    /// when the last second already holds the limit; `Unavailable` (outcome
    /// not applied) when the transient fault strikes.
    pub(crate) fn admit(&mut self, cfg: &FaultConfig, op: Operation, now: Ms) -> Result<()> {
        if let Some(limit) = cfg.rate_limit {
            self.admit_rate(limit, now)?;
        }

        if self.chance(cfg.unavailable_probability) {
            let err = Error::new(ErrorKind::Unavailable, "the service is briefly unavailable");
            let err = if op.is_mutating() {
                err.with_outcome(Outcome::NotApplied)
            } else {
                err
            };
            return Err(err);
        }
        Ok(())
    }

    /// Admits a call when fewer than `limit` calls came in during the second before `now`
    /// (a sliding window: a call at `t` counts until `t + 1 s`).
    fn admit_rate(&mut self, limit: u32, now: Ms) -> Result<()> {
        while self
            .recent
            .front()
            .is_some_and(|&t| now >= t.saturating_add(WINDOW_MS))
        {
            self.recent.pop_front();
        }
        let full = self.recent.len() >= limit as usize;
        if let Some(&oldest) = self.recent.front().filter(|_| full) {
            let after = Duration::from_millis(oldest.saturating_add(WINDOW_MS) - now);
            let err = Error::new(
                ErrorKind::RateLimited,
                format!("more than {limit} requests in one second"),
            );
            return Err(err
                .with_retry(Retry::Throttled { after: Some(after) })
                .with_outcome(Outcome::NotApplied));
        }
        self.recent.push_back(now);
        Ok(())
    }

    /// Decides the faults of one new launch of `type_name` in `location`.
    pub(crate) fn draw_create(&mut self, cfg: &FaultConfig, pair_listed: bool) -> CreateFaults {
        let mut faults = CreateFaults {
            capacity: pair_listed || self.chance(cfg.capacity_probability),
            ..CreateFaults::default()
        };
        if self.chance(cfg.mid_create_probability) {
            faults.fail_after = Some(self.step());
        }
        faults.ambiguous = self.chance(cfg.ambiguous_probability);
        if let Some((p, after)) = cfg.delayed_failure
            && self.chance(p)
        {
            faults.fail_later = Some(after);
        }

        match self.armed.pop_front() {
            Some(Fault::CapacityOnNextCreate) => faults.capacity = true,
            Some(Fault::QuotaOnNextCreate) => faults.quota = true,
            Some(Fault::FailMidCreate) => faults.fail_after = Some(self.step()),
            Some(Fault::AmbiguousNextCreate) => faults.ambiguous = true,
            _ => {}
        }
        faults
    }

    fn step(&mut self) -> Step {
        let i = self.rng.random_range(0..Step::ALL.len());
        Step::ALL[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_window_slides() {
        let cfg = FaultConfig {
            rate_limit: Some(2),
            ..FaultConfig::default()
        };
        let mut state = FaultState::new(1);

        let before = [0, 900].map(|t| state.admit(&cfg, Operation::Get, t).is_ok());
        let across = [1000, 1001].map(|t| state.admit(&cfg, Operation::Get, t).is_ok());
        let err = state.admit(&cfg, Operation::Get, 1500).unwrap_err();

        assert_eq!(before, [true, true]);
        assert_eq!(across, [true, false], "900 is still in the window at 1001");
        assert_eq!(
            err.retry(),
            Retry::Throttled {
                after: Some(Duration::from_millis(400))
            }
        );
        assert!(state.admit(&cfg, Operation::Get, 1900).is_ok());
    }

    #[test]
    fn rate_limit_frees_a_slot_a_second_after_each_call() {
        let cfg = FaultConfig {
            rate_limit: Some(2),
            ..FaultConfig::default()
        };
        let mut state = FaultState::new(1);

        let first = [0, 10, 20].map(|t| state.admit(&cfg, Operation::Get, t).is_ok());
        let err = state.admit(&cfg, Operation::Get, 400).unwrap_err();
        let later = state.admit(&cfg, Operation::Get, 1000);

        assert_eq!(first, [true, true, false]);
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert_eq!(
            err.retry(),
            Retry::Throttled {
                after: Some(Duration::from_millis(600))
            }
        );
        assert!(later.is_ok());
    }

    #[test]
    fn the_same_seed_gives_the_same_faults() {
        let cfg = FaultConfig {
            unavailable_probability: 0.5,
            mid_create_probability: 0.5,
            ..FaultConfig::default()
        };
        let run = |seed| {
            let mut state = FaultState::new(seed);
            (0..64)
                .map(|_| {
                    let ok = state.admit(&cfg, Operation::Create, 0).is_ok();
                    (ok, state.draw_create(&cfg, false).fail_after)
                })
                .collect::<Vec<_>>()
        };

        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn armed_faults_are_consumed_in_order() {
        let cfg = FaultConfig::default();
        let mut state = FaultState::new(0);
        state.arm(Fault::QuotaOnNextCreate);
        state.arm(Fault::AmbiguousNextCreate);

        let first = state.draw_create(&cfg, false);
        let second = state.draw_create(&cfg, false);
        let third = state.draw_create(&cfg, false);

        assert!(first.quota && !first.ambiguous);
        assert!(second.ambiguous && !second.quota);
        assert_eq!(third, CreateFaults::default());
    }
}

//! The fake's clock: milliseconds since the world's epoch, driven by tokio's clock.
//!
//! Time inside the fake is a `u64` count of milliseconds since the world was first created
//! (its *epoch*, a wall-clock timestamp kept in the state file). At open, the clock reads
//! the wall clock once to learn how far past the epoch it is; from then on it advances with
//! [`tokio::time::Instant`], so tests under tokio's paused time move it with
//! `tokio::time::advance` and run instantly, while separate processes sharing a state file
//! agree on the time through the wall clock.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::time::Instant;

/// Milliseconds since the world's epoch.
pub(crate) type Ms = u64;

/// Converts a duration to whole milliseconds, rounding up so a non-zero delay stays non-zero.
pub(crate) fn ms(d: Duration) -> Ms {
    let whole = d.as_millis();
    let rounded = if d.subsec_nanos().is_multiple_of(1_000_000) {
        whole
    } else {
        whole + 1
    };
    u64::try_from(rounded).unwrap_or(u64::MAX)
}

/// The clock of one world.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    epoch: DateTime<Utc>,
    anchor: Instant,
    anchor_ms: Ms,
}

impl Clock {
    /// A clock for a world whose epoch is `epoch`, reading the wall clock now.
    pub(crate) fn new(epoch: DateTime<Utc>) -> Self {
        let since = Utc::now().signed_duration_since(epoch);
        let anchor_ms = u64::try_from(since.num_milliseconds()).unwrap_or(0);
        Self {
            epoch,
            anchor: Instant::now(),
            anchor_ms,
        }
    }

    /// A clock for a world created now.
    pub(crate) fn starting_now() -> Self {
        Self::new(Utc::now())
    }

    /// Returns the epoch.
    pub(crate) fn epoch(&self) -> DateTime<Utc> {
        self.epoch
    }

    /// Returns the current time.
    pub(crate) fn now(&self) -> Ms {
        let elapsed = u64::try_from(self.anchor.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.anchor_ms.saturating_add(elapsed)
    }

    /// Returns the wall-clock timestamp of `t`.
    pub(crate) fn wall(&self, t: Ms) -> DateTime<Utc> {
        let delta = TimeDelta::milliseconds(i64::try_from(t).unwrap_or(i64::MAX));
        self.epoch.checked_add_signed(delta).unwrap_or(self.epoch)
    }

    /// Returns the time of a wall-clock timestamp; times before the epoch become 0.
    pub(crate) fn at(&self, wall: DateTime<Utc>) -> Ms {
        let since = wall.signed_duration_since(self.epoch).num_milliseconds();
        u64::try_from(since).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_up_to_milliseconds() {
        assert_eq!(ms(Duration::ZERO), 0);
        assert_eq!(ms(Duration::from_micros(1)), 1);
        assert_eq!(ms(Duration::from_millis(1500)), 1500);
        assert_eq!(ms(Duration::MAX), u64::MAX);
    }

    #[tokio::test(start_paused = true)]
    async fn paused_time_moves_the_clock() {
        let clock = Clock::starting_now();
        let start = clock.now();

        tokio::time::advance(Duration::from_secs(30)).await;

        assert_eq!(clock.now() - start, 30_000);
        assert_eq!(clock.at(clock.wall(1234)), 1234);
    }

    #[test]
    fn an_old_epoch_puts_the_clock_in_the_future_of_it() {
        let epoch = Utc::now() - TimeDelta::seconds(60);

        let clock = Clock::new(epoch);

        assert!(clock.now() >= 60_000);
        assert_eq!(clock.epoch(), epoch);
    }
}

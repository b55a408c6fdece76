//! Instance lifecycle states and the table of legal transitions between them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where an instance is in its life.
///
/// Legal transitions ([`InstanceState::can_transition_to`]):
///
/// | from | to |
/// |---|---|
/// | pending | running, stopping, terminating, failed |
/// | running | pending (reboot), stopping, suspending, terminating, failed |
/// | stopping | stopped, terminating, failed |
/// | stopped | pending (start), terminating |
/// | suspending | suspended, terminating, failed |
/// | suspended | pending (resume), terminating |
/// | terminating | terminated, failed |
/// | terminated | none |
/// | failed | terminating, terminated |
///
/// Terminated and failed are *terminal*: the instance never leaves them by itself. A failed
/// instance may still hold resources and can be terminated; a terminated one is gone.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceState {
    /// Being provisioned or booting; starts billing on most clouds.
    Pending,
    /// Up and reachable.
    Running,
    /// Shutting down to stopped.
    Stopping,
    /// Shut down; disks kept, compute not billed on most clouds.
    Stopped,
    /// Saving memory to disk.
    Suspending,
    /// Hibernated.
    Suspended,
    /// Being deleted.
    Terminating,
    /// Deleted.
    Terminated,
    /// Broken; terminate it to release what it holds.
    Failed,
}

impl InstanceState {
    /// Every state, in declaration order.
    pub const ALL: [Self; 9] = [
        Self::Pending,
        Self::Running,
        Self::Stopping,
        Self::Stopped,
        Self::Suspending,
        Self::Suspended,
        Self::Terminating,
        Self::Terminated,
        Self::Failed,
    ];

    /// Returns true when the table allows moving from `self` to `next`.
    pub fn can_transition_to(self, next: Self) -> bool {
        use InstanceState::*;
        matches!(
            (self, next),
            (Pending, Running | Stopping | Terminating | Failed)
                | (
                    Running,
                    Pending | Stopping | Suspending | Terminating | Failed
                )
                | (Stopping, Stopped | Terminating | Failed)
                | (Stopped, Pending | Terminating)
                | (Suspending, Suspended | Terminating | Failed)
                | (Suspended, Pending | Terminating)
                | (Terminating, Terminated | Failed)
                | (Failed, Terminating | Terminated)
        )
    }

    /// Returns true for states the instance never leaves by itself (terminated, failed).
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Terminated | Self::Failed)
    }

    /// Returns true for states that are moving towards another state by themselves.
    pub fn is_transitional(self) -> bool {
        matches!(
            self,
            Self::Pending | Self::Stopping | Self::Suspending | Self::Terminating
        )
    }

    /// Returns the lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::Suspending => "suspending",
            Self::Suspended => "suspended",
            Self::Terminating => "terminating",
            Self::Terminated => "terminated",
            Self::Failed => "failed",
        }
    }
}

impl fmt::Display for InstanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An instance's state with the messages the provider gave about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InstanceStatus {
    /// The lifecycle state.
    pub state: InstanceState,
    /// Human-readable notes, e.g. why an instance failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<String>,
}

impl InstanceStatus {
    /// A status with no messages.
    pub fn new(state: InstanceState) -> Self {
        Self {
            state,
            messages: Vec::new(),
        }
    }

    /// Adds a message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.messages.push(message.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::InstanceState::{self, *};

    #[test]
    fn transition_table() {
        let allowed = [
            (Pending, Running),
            (Running, Stopping),
            (Stopping, Stopped),
            (Stopped, Pending),
            (Running, Suspending),
            (Suspending, Suspended),
            (Suspended, Pending),
            (Running, Terminating),
            (Terminating, Terminated),
            (Failed, Terminating),
            (Pending, Failed),
        ];
        let denied = [
            (Terminated, Pending),
            (Terminated, Running),
            (Stopped, Running),
            (Pending, Stopped),
            (Running, Terminated),
            (Suspended, Running),
            (Failed, Running),
        ];
        for (a, b) in allowed {
            assert!(a.can_transition_to(b), "{a} -> {b}");
        }
        for (a, b) in denied {
            assert!(!a.can_transition_to(b), "{a} -> {b}");
        }
    }

    #[test]
    fn terminal_states_have_no_way_back_to_running() {
        for s in InstanceState::ALL {
            assert!(!s.can_transition_to(s), "{s} -> itself");
            if s == Terminated {
                assert!(InstanceState::ALL.iter().all(|n| !s.can_transition_to(*n)));
            }
            if s.is_terminal() {
                assert!(!s.can_transition_to(Running) && !s.can_transition_to(Pending));
            }
        }
        assert!(Terminated.is_terminal() && Failed.is_terminal() && !Stopped.is_terminal());
    }

    #[test]
    fn serde_is_snake_case() {
        assert_eq!(
            serde_json::to_string(&Terminating).unwrap(),
            "\"terminating\""
        );
        for s in InstanceState::ALL {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(serde_json::from_str::<InstanceState>(&json).unwrap(), s);
        }
    }
}

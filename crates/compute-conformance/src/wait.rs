//! Polling with deadlines: wait for an instance to reach a state, to disappear, or for any
//! condition to settle, checking every observation on the way.

use std::{future::Future, time::Duration};

use tokio::time::{Instant, sleep};

use crate::{Check, Cx, Outcome, outcome::Context};
use compute_provider::Provider;
use compute_types::{ErrorKind, Instance, InstanceId, InstanceState};

/// The first pause between polls; later pauses double up to the configured interval.
const FIRST_POLL: Duration = Duration::from_millis(5);

/// Returns true when the lifecycle table lets an instance get from `from` to `to`, in any
/// number of steps (a poll can miss the states in between).
pub(crate) fn reachable(from: InstanceState, to: InstanceState) -> bool {
    let mut seen = vec![from];
    let mut frontier = vec![from];
    while let Some(state) = frontier.pop() {
        for next in InstanceState::ALL {
            if state.can_transition_to(next) && !seen.contains(&next) {
                seen.push(next);
                frontier.push(next);
            }
        }
    }
    from == to || seen.contains(&to)
}

/// Returns the instance's failing facts when it claims to be running: a running
/// instance must have an address, an SSH user and an SSH port.
pub(crate) fn running_problems(instance: &Instance) -> Option<String> {
    if instance.state() != InstanceState::Running {
        return None;
    }
    let mut missing = Vec::new();
    let network = &instance.network;
    if network.public_ip.is_none() && network.private_ip.is_none() {
        missing.push("an address");
    }
    if instance
        .access
        .ssh_user
        .as_deref()
        .is_none_or(str::is_empty)
    {
        missing.push("an ssh user");
    }
    if instance.access.ssh_port.is_none_or(|p| p == 0) {
        missing.push("an ssh port");
    }
    (!missing.is_empty()).then(|| {
        format!(
            "instance {} is running without {}",
            instance.id(),
            missing.join(", ")
        )
    })
}

/// Polls `get_instance` until `done` holds or the running deadline passes.
///
/// Every observation is checked: the state may only move as the lifecycle table allows,
/// and a running instance must be reachable ([`running_problems`]).
pub(crate) async fn wait_instance(
    p: &dyn Provider,
    cx: &Cx,
    id: &InstanceId,
    what: &str,
    done: impl Fn(&Instance) -> bool,
) -> Check<Instance> {
    let deadline = Instant::now() + cx.config().running_deadline();
    let mut pause = FIRST_POLL;
    let mut last: Option<InstanceState> = None;
    loop {
        let instance = p.get_instance(id).await.context("get_instance")?;
        let state = instance.state();
        if let Some(prev) = last
            && !reachable(prev, state)
        {
            return Err(Outcome::fail(format!(
                "instance {id} went from {prev} to {state}, which the lifecycle forbids"
            )));
        }
        if let Some(problem) = running_problems(&instance) {
            return Err(Outcome::Fail(problem));
        }
        if done(&instance) {
            return Ok(instance);
        }
        last = Some(state);

        if Instant::now() >= deadline {
            return Err(Outcome::fail(format!(
                "instance {id} did not become {what} within {:?} (last state {state})",
                cx.config().running_deadline()
            )));
        }
        sleep(pause).await;
        pause = (pause * 2).min(cx.config().poll_interval());
    }
}

/// Waits until the instance is in `state`.
pub(crate) async fn wait_state(
    p: &dyn Provider,
    cx: &Cx,
    id: &InstanceId,
    state: InstanceState,
) -> Check<Instance> {
    wait_instance(p, cx, id, state.as_str(), |i| i.state() == state).await
}

/// Polls `get_instance` until the instance leaves `from`, for at most the settle deadline.
///
/// Returns the first observation in another state, or `None` when it stayed in `from`.
/// The first poll is immediate, so a short transition is not missed.
pub(crate) async fn wait_until_left(
    p: &dyn Provider,
    cx: &Cx,
    id: &InstanceId,
    from: InstanceState,
) -> Check<Option<Instance>> {
    let deadline = Instant::now() + cx.config().settle_deadline();
    let mut pause = FIRST_POLL;
    loop {
        let instance = p.get_instance(id).await.context("get_instance")?;
        if instance.state() != from {
            return Ok(Some(instance));
        }

        if Instant::now() >= deadline {
            return Ok(None);
        }
        sleep(pause).await;
        pause = (pause * 2).min(cx.config().poll_interval());
    }
}

/// Waits until `get_instance` reports the instance terminated or not found.
///
/// On the way it may only be in a state from which terminated is reachable.
pub(crate) async fn wait_gone(p: &dyn Provider, cx: &Cx, id: &InstanceId) -> Check {
    let deadline = Instant::now() + cx.config().running_deadline();
    let mut pause = FIRST_POLL;
    loop {
        let state = match p.get_instance(id).await {
            Ok(instance) => instance.state(),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(Outcome::fail(format!(
                    "get_instance of a terminating instance: {e}"
                )));
            }
        };
        if state == InstanceState::Terminated {
            return Ok(());
        }
        let allowed = [InstanceState::Terminating, InstanceState::Failed];
        if !allowed.contains(&state) && !reachable(state, InstanceState::Terminating) {
            return Err(Outcome::fail(format!(
                "instance {id} is {state} after terminate"
            )));
        }

        if Instant::now() >= deadline {
            return Err(Outcome::fail(format!(
                "instance {id} was not terminated within {:?} (last state {state})",
                cx.config().running_deadline()
            )));
        }
        sleep(pause).await;
        pause = (pause * 2).min(cx.config().poll_interval());
    }
}

/// Re-evaluates `probe` until it yields `Some`, or fails once the settle deadline passes.
///
/// For eventually consistent views: a list that shows a new instance, a rule that takes
/// effect. `probe` returns `Ok(None)` to poll again; an `Err` ends the wait at once.
pub(crate) async fn settle<T, F, Fut>(cx: &Cx, what: &str, mut probe: F) -> Check<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Check<Option<T>>>,
{
    let deadline = Instant::now() + cx.config().settle_deadline();
    let mut pause = FIRST_POLL;
    loop {
        if let Some(value) = probe().await? {
            return Ok(value);
        }

        if Instant::now() >= deadline {
            return Err(Outcome::fail(format!(
                "{what} (still not so after {:?})",
                cx.config().settle_deadline()
            )));
        }
        sleep(pause).await;
        pause = (pause * 2).min(cx.config().poll_interval());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use InstanceState::*;

    #[test]
    fn reachability_follows_the_table() {
        assert!(reachable(Pending, Stopped));
        assert!(reachable(Running, Running));
        assert!(reachable(Stopped, Running));
        assert!(!reachable(Terminated, Running));
        assert!(!reachable(Terminating, Running));
        assert!(!reachable(Failed, Pending));
    }
}

//! Cases on failed and ambiguous creates, driven through the fault injection hook.

use super::find_by_ref_id;
use crate::{
    Check, Cx, Outcome,
    outcome::{Context, bail, ensure},
    wait::{self, settle},
};
use compute_provider::{Fault, FaultInjection, Provider};
use compute_types::{Capability, ErrorKind, Outcome as Applied};

fn faults(p: &dyn Provider) -> Check<&dyn FaultInjection> {
    p.fault_injection()
        .ok_or_else(|| Outcome::missing(Capability::FaultInjection))
}

/// Arms `fault`, creates, and checks that the create failed with `kind` (when given),
/// did not claim an unknown outcome, and left no instance with its ref id.
async fn failed_create_leaves_nothing(
    p: &dyn Provider,
    cx: &Cx,
    fault: Fault,
    kind: Option<ErrorKind>,
) -> Check {
    let hook = faults(p)?;
    let ty = cx.instance_type(p).await?;
    let request = cx.request(&ty.id)?;
    hook.inject(fault.clone()).await.context("inject")?;

    let err = match cx.create(p, &request).await {
        Ok(instance) => bail!(
            "create_instance made {} despite the injected {fault:?}",
            instance.id()
        ),
        Err(err) => err,
    };

    if let Some(kind) = kind {
        ensure!(
            err.kind() == kind,
            "create_instance with {fault:?} returned {err}, expected {kind}"
        );
        ensure!(
            !err.retry().is_retryable(),
            "{kind} should not be retried as such, but has the class {:?}",
            err.retry()
        );
    }
    ensure!(
        !err.is_outcome_unknown(),
        "create_instance with {fault:?} reported an unknown outcome: {err}"
    );
    if let Some(outcome) = err.outcome() {
        ensure!(
            *outcome == Applied::NotApplied,
            "create_instance with {fault:?} reported the outcome {outcome:?}"
        );
    }
    let left = find_by_ref_id(p, &request.ref_id).await?;
    ensure!(
        left.is_empty(),
        "after {fault:?}, {} with ref id {} exists ({})",
        left[0].id(),
        request.ref_id,
        left[0].state()
    );
    Ok(())
}

/// After an injected capacity failure, the error is `CapacityUnavailable` and no instance
/// with the ref id exists.
pub async fn capacity_failure_leaves_nothing(p: &dyn Provider, cx: &Cx) -> Outcome {
    let kind = Some(ErrorKind::CapacityUnavailable);
    Outcome::from_check(
        failed_create_leaves_nothing(p, cx, Fault::CapacityOnNextCreate, kind).await,
    )
}

/// After an injected quota failure, the error is `QuotaExceeded` and no instance with the
/// ref id exists.
pub async fn quota_failure_leaves_nothing(p: &dyn Provider, cx: &Cx) -> Outcome {
    let kind = Some(ErrorKind::QuotaExceeded);
    Outcome::from_check(failed_create_leaves_nothing(p, cx, Fault::QuotaOnNextCreate, kind).await)
}

/// After a create that fails half way, the provider has rolled back: no instance with the
/// ref id exists.
pub async fn mid_create_failure_leaves_nothing(p: &dyn Provider, cx: &Cx) -> Outcome {
    Outcome::from_check(failed_create_leaves_nothing(p, cx, Fault::FailMidCreate, None).await)
}

/// After an ambiguous create (an error with an unknown outcome), the instance is found by
/// its ref id (adoption), is the only one, and can be terminated.
pub async fn ambiguous_create_is_adoptable(p: &dyn Provider, cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let hook = faults(p)?;
            let ty = cx.instance_type(p).await?;
            let request = cx.request(&ty.id)?;
            hook.inject(Fault::AmbiguousNextCreate)
                .await
                .context("inject")?;

            let err = match cx.create(p, &request).await {
                Ok(instance) => bail!(
                    "create_instance returned {} despite the injected ambiguity",
                    instance.id()
                ),
                Err(err) => err,
            };
            let Some(Applied::Unknown { instance_id }) = err.outcome().cloned() else {
                bail!("an ambiguous create returned {err} without an unknown outcome");
            };

            let what = format!("no instance with ref id {} appeared", request.ref_id);
            let adopted = settle(cx, &what, || async {
                let found = find_by_ref_id(p, &request.ref_id).await?;
                Ok(found.into_iter().next())
            })
            .await?;
            cx.track(adopted.id());
            let found = find_by_ref_id(p, &request.ref_id).await?;
            ensure!(
                found.len() == 1,
                "{} instances carry ref id {} after one ambiguous create",
                found.len(),
                request.ref_id
            );
            if let Some(id) = instance_id {
                ensure!(
                    &id == adopted.id(),
                    "the error named {id}, but the ref id finds {}",
                    adopted.id()
                );
            }

            p.terminate_instance(adopted.id())
                .await
                .context("terminate_instance of the adopted instance")?;
            wait::wait_gone(p, cx, adopted.id()).await
        }
        .await,
    )
}

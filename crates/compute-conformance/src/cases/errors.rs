//! Cases on error kinds and retry classes: not found, invalid input and rate limits.

use std::time::Duration;

use tokio::time::sleep;

use super::find_by_ref_id;
use crate::{
    Check, Cx, Outcome,
    outcome::{Context, bail, ensure},
    wait::settle,
};
use compute_provider::{CreateInstance, LocationsQuery, Provider};
use compute_types::{
    Bytes, Error, ErrorKind, FirewallRule, InstanceId, InstanceTypeId, LocationId, Retry, Tags,
};

/// Checks that `result` failed with `kind` and a retry class that never retries.
fn expect_final<T>(result: compute_types::Result<T>, kind: ErrorKind, call: &str) -> Check<Error> {
    let err = match result {
        Ok(_) => bail!("{call} succeeded, expected {kind}"),
        Err(err) => err,
    };
    ensure!(err.kind() == kind, "{call} returned {err}, expected {kind}");
    ensure!(
        err.retry() == Retry::Never,
        "{call} returned {kind} with the retry class {:?}, expected never",
        err.retry()
    );
    Ok(err)
}

/// Getting, or acting on, an id the provider never issued is `NotFound`, never retried.
pub async fn unknown_instance_is_not_found(p: &dyn Provider, cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let id =
                InstanceId::new(format!("{}-never-issued", cx.run_id())).context("instance id")?;
            let ty = cx.instance_type(p).await?;
            let not_found = ErrorKind::NotFound;

            expect_final(p.get_instance(&id).await, not_found, "get_instance")?;
            if let Some(ability) = p.stop_start() {
                let result = ability.stop_instance(&id).await;
                expect_final(result, not_found, "stop_instance")?;
                let result = ability.start_instance(&id).await;
                expect_final(result, not_found, "start_instance")?;
            }
            if let Some(ability) = p.reboot() {
                let result = ability.reboot_instance(&id).await;
                expect_final(result, not_found, "reboot_instance")?;
            }
            if let Some(ability) = p.resize_volume() {
                let result = ability.resize_volume(&id, "root", Bytes::gib(1024)).await;
                expect_final(result, not_found, "resize_volume")?;
            }
            if let Some(ability) = p.change_type() {
                let result = ability.change_instance_type(&id, &ty.id).await;
                expect_final(result, not_found, "change_instance_type")?;
            }
            if let Some(ability) = p.update_tags() {
                let result = ability.update_tags(&id, &Tags::new()).await;
                expect_final(result, not_found, "update_tags")?;
            }
            if let Some(ability) = p.firewall() {
                let rule: FirewallRule =
                    "tcp:9000@192.0.2.0/25".parse().context("firewall rule")?;
                let result = ability.add_firewall_rules(&id, &[rule]).await;
                expect_final(result, not_found, "add_firewall_rules")?;
            }
            Ok(())
        }
        .await,
    )
}

/// Creates `request`, which must fail with `kind` naming `field`, and leaves nothing.
async fn expect_rejected(
    p: &dyn Provider,
    cx: &Cx,
    request: &CreateInstance,
    kind: ErrorKind,
    field: Option<&str>,
    what: &str,
) -> Check {
    let call = format!("create_instance with {what}");
    let err = expect_final(cx.create(p, request).await, kind, &call)?;
    if let Some(field) = field {
        ensure!(
            err.field() == Some(field),
            "{call} returned {err}, which names field {:?}, expected {field}",
            err.field()
        );
    }
    ensure!(
        !err.is_outcome_unknown(),
        "{call} was rejected with an unknown outcome: {err}"
    );
    let left = find_by_ref_id(p, &request.ref_id).await?;
    ensure!(
        left.is_empty(),
        "{call} was rejected, yet left {} behind",
        left[0].id()
    );
    Ok(())
}

/// Bad input is `InvalidRequest` naming the field, an unknown type is `NotFound`; neither
/// is retried and neither creates anything.
pub async fn invalid_request_is_rejected(p: &dyn Provider, cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let ty = cx.instance_type(p).await?;
            let invalid = ErrorKind::InvalidRequest;

            let mut bad_cluster = cx.request(&ty.id)?;
            bad_cluster.cluster = Some("Not_A_Cluster_Name".to_owned());
            expect_rejected(
                p,
                cx,
                &bad_cluster,
                invalid,
                Some("cluster"),
                "a bad cluster",
            )
            .await?;

            let mut moved = cx.request(&ty.id)?;
            moved.location = LocationId::new("conformance-elsewhere").context("location")?;
            let what = "a location other than the type's";
            expect_rejected(p, cx, &moved, invalid, Some("location"), what).await?;

            let mut no_name = cx.request(&ty.id)?;
            no_name.name = Some("   ".to_owned());
            expect_rejected(p, cx, &no_name, invalid, Some("name"), "a blank name").await?;

            let unknown = InstanceTypeId::from_parts(
                ty.provider().clone(),
                ty.location().clone(),
                ty.id.zone().cloned(),
                "conformance-no-such-type",
            )
            .context("type id")?;
            let request = cx.request(&unknown)?;
            let what = "an unknown instance type";
            expect_rejected(p, cx, &request, ErrorKind::NotFound, None, what).await
        }
        .await,
    )
}

/// A burst of calls beyond the provider's limit is answered `RateLimited` with the
/// throttled retry class, and calls succeed again after the advised wait.
///
/// Runs only with [`Config::with_rate_limit_burst`](crate::Config::with_rate_limit_burst).
pub async fn rate_limit_is_throttled(p: &dyn Provider, cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let Some(burst) = cx.config().rate_limit_burst() else {
                return Err(Outcome::unconfigured("rate_limit_burst"));
            };
            let query = LocationsQuery::all();

            let mut limited = None;
            for _ in 0..burst {
                match p.locations(&query).await {
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::RateLimited => {
                        limited = Some(e);
                        break;
                    }
                    Err(e) => bail!(
                        "locations during a burst returned {e}, expected success or rate limited"
                    ),
                }
            }

            let Some(err) = limited else {
                bail!("{burst} calls in a row were never rate limited");
            };
            let Retry::Throttled { after } = err.retry() else {
                bail!(
                    "a rate limit has the retry class {:?}, expected throttled",
                    err.retry()
                );
            };
            let pause = after.unwrap_or(Duration::from_secs(1));
            ensure!(
                pause <= cx.config().running_deadline(),
                "the rate limit asks to wait {pause:?}, longer than the running deadline"
            );
            sleep(pause).await;
            settle(cx, "calls still fail after the advised wait", || async {
                match p.locations(&query).await {
                    Ok(_) => Ok(Some(())),
                    Err(e) if e.kind() == ErrorKind::RateLimited => Ok(None),
                    Err(e) => bail!("locations after the wait returned {e}"),
                }
            })
            .await
        }
        .await,
    )
}

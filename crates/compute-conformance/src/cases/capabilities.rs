//! Cases on capability honesty: declared abilities work, undeclared ones are refused.

use std::net::{IpAddr, Ipv4Addr};

use super::{
    launch, launch_running,
    lifecycle::{no_elastic_volume, no_second_type},
};
use crate::{
    Check, Cx, Outcome, TAG_CASE, TAG_RUN,
    outcome::{Context, ensure},
    wait,
};
use compute_provider::{Fault, Probe, ProbeSource, Provider, ProviderExt, Secret};
use compute_types::{
    Bytes, Capability, ErrorKind, FirewallRule, Instance, InstanceState, Protocol, Tags,
};

/// Records a failed call of a declared ability.
fn note<T>(
    problems: &mut Vec<String>,
    cap: Capability,
    result: compute_types::Result<T>,
) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(e) if e.kind() == ErrorKind::Unsupported => {
            problems.push(format!("{cap} is declared but returns {e}"));
            None
        }
        Err(e) => {
            problems.push(format!("{cap} is declared but failed: {e}"));
            None
        }
    }
}

/// Every declared capability's call works on a running instance: images, quotas, tags,
/// firewall, probe, reboot, volume resize, stop and start, change type, fault injection
/// (whose clear must let the next create succeed) and user data.
///
/// A declared volume resize or type change that cannot be exercised (no elastic volume
/// with an id, no second type in the location) fails too: the claim goes unchecked.
pub async fn declared_capabilities_work(p: &dyn Provider, cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let instance = launch_running(p, cx, |r| r).await?;
            let mut problems = Vec::new();

            check_read_abilities(p, &instance, &mut problems).await?;
            check_instance_abilities(p, cx, &instance, &mut problems).await?;
            check_power_abilities(p, cx, &instance, &mut problems).await?;
            check_create_abilities(p, cx, &mut problems).await?;

            ensure!(problems.is_empty(), "{}", problems.join("; "));
            Ok(())
        }
        .await,
    )
}

async fn check_read_abilities(
    p: &dyn Provider,
    instance: &Instance,
    problems: &mut Vec<String>,
) -> Check {
    let location = &instance.placement.location;
    if let Some(images) = p.images() {
        note(
            problems,
            Capability::MachineImage,
            images.list_images(location).await,
        );
    }
    if let Some(quota) = p.quota() {
        note(problems, Capability::Quota, quota.quotas(location).await);
    }
    if let Some(probe) = p.network_probe() {
        let source = ProbeSource::External(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 10)));
        let flow = Probe::new(source, instance.id().clone(), Protocol::Tcp, Some(22));
        note(problems, Capability::NetworkProbe, probe.probe(&flow).await);
    }
    Ok(())
}

async fn check_instance_abilities(
    p: &dyn Provider,
    cx: &Cx,
    instance: &Instance,
    problems: &mut Vec<String>,
) -> Check {
    let id = instance.id();
    if let Some(tags) = p.update_tags() {
        let mut new = Tags::new();
        new.insert(TAG_RUN, cx.run_id()).context("tags")?;
        new.insert(TAG_CASE, cx.case()).context("tags")?;
        new.insert("conformance-step", "declared").context("tags")?;
        note(
            problems,
            Capability::UpdateTags,
            tags.update_tags(id, &new).await,
        );
    }
    if let Some(firewall) = p.firewall() {
        let rule: FirewallRule = "tcp:9100@192.0.2.0/25".parse().context("rule")?;
        let cap = Capability::ModifyFirewall;
        let added = note(
            problems,
            cap,
            firewall.add_firewall_rules(id, &[rule]).await,
        );
        let ids: Vec<_> = added
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| r.id)
            .collect();
        if !ids.is_empty() {
            note(
                problems,
                cap,
                firewall.revoke_firewall_rules(id, &ids).await,
            );
        }
    }
    if let Some(resize) = p.resize_volume() {
        let volume = instance
            .volumes
            .iter()
            .find(|v| v.id.is_some() && v.spec.elastic);
        if let Some(volume) = volume
            && let Some(volume_id) = &volume.id
            && let Some(size) = volume.spec.size.checked_add(Bytes::gib(1))
        {
            let result = resize.resize_volume(id, volume_id, size).await;
            note(problems, Capability::ResizeInstanceVolume, result);
        } else {
            let cap = Capability::ResizeInstanceVolume;
            problems.push(format!("{cap} is {}", no_elastic_volume(instance)));
        }
    }
    Ok(())
}

async fn check_power_abilities(
    p: &dyn Provider,
    cx: &Cx,
    instance: &Instance,
    problems: &mut Vec<String>,
) -> Check {
    let id = instance.id();
    if let Some(reboot) = p.reboot() {
        let rebooted = note(
            problems,
            Capability::RebootInstance,
            reboot.reboot_instance(id).await,
        );
        if rebooted.is_some() {
            wait::wait_state(p, cx, id, InstanceState::Running).await?;
        }
    }
    let Some(power) = p.stop_start() else {
        return Ok(());
    };
    let cap = Capability::StopStartInstance;
    if note(problems, cap, power.stop_instance(id).await).is_none() {
        return Ok(());
    }
    wait::wait_state(p, cx, id, InstanceState::Stopped).await?;
    if let Some(change) = p.change_type() {
        let ty = cx.instance_type(p).await?;
        let cap = Capability::ChangeInstanceType;
        match cx.other_instance_type(p, &ty).await? {
            Some(other) => {
                let result = change.change_instance_type(id, &other.id).await;
                note(problems, cap, result);
            }
            None => problems.push(format!("{cap} is {}", no_second_type(&ty))),
        }
    }
    if note(problems, cap, power.start_instance(id).await).is_some() {
        wait::wait_state(p, cx, id, InstanceState::Running).await?;
    }
    Ok(())
}

async fn check_create_abilities(p: &dyn Provider, cx: &Cx, problems: &mut Vec<String>) -> Check {
    if let Some(hook) = p.fault_injection() {
        let cap = Capability::FaultInjection;
        note(
            problems,
            cap,
            hook.inject(Fault::CapacityOnNextCreate).await,
        );
        note(problems, cap, hook.clear_faults().await);
    }
    let user_data = p.capabilities().has(Capability::InstanceUserData);
    let created = launch(p, cx, |r| {
        if user_data {
            r.with_user_data(Secret::new("#!/bin/sh\ntrue\n"))
        } else {
            r
        }
    })
    .await;
    if let Err(Outcome::Fail(detail)) = created {
        problems.push(format!(
            "a create after clear_faults (with user data: {user_data}) failed: {detail}"
        ));
    }
    Ok(())
}

/// A create asking for something the provider does not declare (user data, a VPC) is
/// refused with `Unsupported` and creates nothing. Accessor-based capabilities cannot be
/// called when undeclared, so the trait already guarantees them.
pub async fn undeclared_capabilities_are_unsupported(p: &dyn Provider, cx: &Cx) -> Outcome {
    Outcome::from_check(
        async {
            let caps = p.capabilities();
            let ty = cx.instance_type(p).await?;

            if !caps.has(Capability::InstanceUserData) {
                let request = cx
                    .request(&ty.id)?
                    .with_user_data(Secret::new("#!/bin/sh\ntrue\n"));
                expect_unsupported(p, cx, &request, Capability::InstanceUserData).await?;
            }
            if !caps.has(Capability::Vpc) {
                let request = cx
                    .request(&ty.id)?
                    .with_network("conformance-vpc", "conformance-subnet");
                expect_unsupported(p, cx, &request, Capability::Vpc).await?;
            }
            Ok(())
        }
        .await,
    )
}

async fn expect_unsupported(
    p: &dyn Provider,
    cx: &Cx,
    request: &compute_provider::CreateInstance,
    cap: Capability,
) -> Check {
    match cx.create(p, request).await {
        Ok(instance) => Err(Outcome::fail(format!(
            "{cap} is not declared, yet a create using it made {}",
            instance.id()
        ))),
        Err(e) => {
            ensure!(
                e.kind() == ErrorKind::Unsupported,
                "{cap} is not declared; a create using it returned {e}, expected unsupported"
            );
            Ok(())
        }
    }
}

//! Skips and capability honesty: a provider with fewer capabilities has the cases it
//! cannot run reported skipped with the capability named, undeclared features are really
//! checked, and declared features the suite cannot exercise are reported.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;

use compute_conformance::{Case, Config, Cx, Outcome, run_all, run_case};
use compute_fake::FakeProvider;
use compute_provider::{
    ApiScope, ChangeInstanceType, CreateInstance, InstanceTypeFilter, ListInstances,
    LocationsQuery, Provider, ResizeVolume,
};
use compute_types::{
    Bytes, Capabilities, Error, Instance, InstanceId, InstanceType, InstanceTypeId, Location,
    ProviderId, Result,
};

/// How [`Shaped`] changes the fake.
#[derive(Debug, Default, Clone)]
struct Shape {
    /// No optional ability and no create feature at all.
    bare: bool,
    /// Refuse user data and VPCs with `Unsupported` (only meaningful when `bare`).
    refuses_undeclared: bool,
    /// Report every volume as not elastic.
    no_elastic: bool,
    /// List only types of this name, so no location has a second type.
    only_type: Option<String>,
}

/// The fake, reshaped; it records the resize and type-change calls it forwards.
#[derive(Debug)]
struct Shaped {
    inner: Arc<dyn Provider>,
    shape: Shape,
    calls: Mutex<Vec<&'static str>>,
}

impl Shaped {
    fn new(shape: Shape) -> Arc<Self> {
        Arc::new(Self {
            inner: fake(),
            shape,
            calls: Mutex::new(Vec::new()),
        })
    }

    fn record(&self, call: &'static str) {
        self.calls.lock().unwrap().push(call);
    }

    fn calls(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }

    fn shape_instance(&self, mut instance: Instance) -> Instance {
        if self.shape.no_elastic {
            for volume in &mut instance.volumes {
                volume.spec.elastic = false;
            }
        }
        instance
    }
}

#[async_trait]
impl Provider for Shaped {
    fn id(&self) -> &ProviderId {
        self.inner.id()
    }

    fn api_scope(&self) -> ApiScope {
        self.inner.api_scope()
    }

    fn create_features(&self) -> Capabilities {
        if self.shape.bare {
            Capabilities::new()
        } else {
            self.inner.create_features()
        }
    }

    async fn locations(&self, query: &LocationsQuery) -> Result<Vec<Location>> {
        self.inner.locations(query).await
    }

    async fn instance_types(&self, filter: &InstanceTypeFilter) -> Result<Vec<InstanceType>> {
        let mut types = self.inner.instance_types(filter).await?;
        if let Some(name) = &self.shape.only_type {
            types.retain(|t| t.name() == name);
        }
        Ok(types)
    }

    async fn create_instance(&self, request: &CreateInstance) -> Result<Instance> {
        let undeclared = request.user_data.is_some() || request.vpc_id.is_some();
        if self.shape.refuses_undeclared && undeclared {
            self.record("refused");
            return Err(Error::unsupported(self.id().as_str(), "create_instance"));
        }
        let instance = self.inner.create_instance(request).await?;
        Ok(self.shape_instance(instance))
    }

    async fn get_instance(&self, id: &InstanceId) -> Result<Instance> {
        let instance = self.inner.get_instance(id).await?;
        Ok(self.shape_instance(instance))
    }

    async fn list_instances(&self, filter: &ListInstances) -> Result<Vec<Instance>> {
        let listed = self.inner.list_instances(filter).await?;
        Ok(listed.into_iter().map(|i| self.shape_instance(i)).collect())
    }

    async fn terminate_instance(&self, id: &InstanceId) -> Result<()> {
        self.inner.terminate_instance(id).await
    }

    fn stop_start(&self) -> Option<&dyn compute_provider::StopStart> {
        self.inner.stop_start().filter(|_| !self.shape.bare)
    }

    fn reboot(&self) -> Option<&dyn compute_provider::Reboot> {
        self.inner.reboot().filter(|_| !self.shape.bare)
    }

    fn resize_volume(&self) -> Option<&dyn ResizeVolume> {
        (!self.shape.bare).then_some(self as &dyn ResizeVolume)
    }

    fn change_type(&self) -> Option<&dyn ChangeInstanceType> {
        (!self.shape.bare).then_some(self as &dyn ChangeInstanceType)
    }

    fn firewall(&self) -> Option<&dyn compute_provider::Firewall> {
        self.inner.firewall().filter(|_| !self.shape.bare)
    }

    fn update_tags(&self) -> Option<&dyn compute_provider::UpdateTags> {
        self.inner.update_tags().filter(|_| !self.shape.bare)
    }

    fn images(&self) -> Option<&dyn compute_provider::Images> {
        self.inner.images().filter(|_| !self.shape.bare)
    }

    fn quota(&self) -> Option<&dyn compute_provider::QuotaInfo> {
        self.inner.quota().filter(|_| !self.shape.bare)
    }

    fn network_probe(&self) -> Option<&dyn compute_provider::NetworkProbe> {
        self.inner.network_probe().filter(|_| !self.shape.bare)
    }

    fn fault_injection(&self) -> Option<&dyn compute_provider::FaultInjection> {
        self.inner.fault_injection().filter(|_| !self.shape.bare)
    }
}

#[async_trait]
impl ResizeVolume for Shaped {
    async fn resize_volume(&self, id: &InstanceId, volume_id: &str, size: Bytes) -> Result<()> {
        self.record("resize_volume");
        let inner = self.inner.resize_volume().expect("the fake resizes");
        inner.resize_volume(id, volume_id, size).await
    }
}

#[async_trait]
impl ChangeInstanceType for Shaped {
    async fn change_instance_type(&self, id: &InstanceId, new_type: &InstanceTypeId) -> Result<()> {
        self.record("change_instance_type");
        let inner = self.inner.change_type().expect("the fake changes types");
        inner.change_instance_type(id, new_type).await
    }
}

fn fake() -> Arc<dyn Provider> {
    let fake = FakeProvider::builder()
        .short_delays()
        .build()
        .expect("the fake builds");
    Arc::new(fake)
}

/// Deadlines for the fake, and no rate limit burst.
fn config() -> Config {
    Config::new()
        .with_poll_interval(Duration::from_millis(10))
        .with_running_deadline(Duration::from_secs(3))
        .with_settle_deadline(Duration::from_millis(500))
        .with_case_deadline(Duration::from_secs(30))
}

async fn run(name: &str, p: Arc<Shaped>) -> Outcome {
    let case = Case::find(name).unwrap_or_else(|| panic!("{name} is not a case"));
    run_case(case, p, &config()).await.outcome
}

/// The skip each case must report on a bare provider; every other case must pass.
fn expected_skip(case: &str) -> Option<&'static str> {
    Some(match case {
        "create_is_idempotent_by_ref_id" => "create_idempotent_instance",
        "capacity_failure_leaves_nothing"
        | "quota_failure_leaves_nothing"
        | "mid_create_failure_leaves_nothing"
        | "ambiguous_create_is_adoptable" => "fault_injection",
        "stop_start_round_trip" => "stop_start_instance",
        "reboot_returns_to_running" => "reboot_instance",
        "resize_volume_grows_the_volume" => "resize_instance_volume",
        "change_type_applies_the_new_type" => "change_instance_type",
        "update_tags_replaces_caller_tags" => "update_tags",
        "inbound_is_denied_by_default"
        | "firewall_rule_opens_exactly_its_range"
        | "outbound_is_allowed"
        | "cluster_members_reach_each_other"
        | "clusters_are_isolated"
        | "revoked_rule_closes_again" => "network_probe",
        "rate_limit_is_throttled" => {
            "config rate_limit_burst (not set; see Config::with_rate_limit_burst)"
        }
        _ => return None,
    })
}

#[tokio::test]
async fn a_bare_provider_has_its_cases_skipped_naming_the_capability() {
    let p = Shaped::new(Shape {
        bare: true,
        refuses_undeclared: true,
        ..Shape::default()
    });

    let reports = run_all(Arc::clone(&p) as Arc<dyn Provider>, &config()).await;

    for report in &reports {
        match expected_skip(report.name) {
            Some(skip) => assert_eq!(
                report.outcome.to_string(),
                format!("skipped: {skip}"),
                "{}",
                report.name
            ),
            None => assert_eq!(report.outcome, Outcome::Pass, "{}", report.name),
        }
    }
    let skipped = reports
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Skip(_)));
    assert_eq!(skipped.count(), 17);
    assert!(
        p.calls().iter().filter(|c| **c == "refused").count() >= 2,
        "undeclared_capabilities_are_unsupported asked for user data and a vpc"
    );
}

#[tokio::test]
async fn undeclared_features_are_really_checked() {
    let honest = Shaped::new(Shape {
        bare: true,
        refuses_undeclared: true,
        ..Shape::default()
    });
    let lax = Shaped::new(Shape {
        bare: true,
        ..Shape::default()
    });

    let passed = run(
        "undeclared_capabilities_are_unsupported",
        Arc::clone(&honest),
    )
    .await;
    let caught = run("undeclared_capabilities_are_unsupported", lax).await;

    assert_eq!(passed, Outcome::Pass);
    assert_eq!(honest.calls(), ["refused", "refused"]);
    match caught {
        Outcome::Fail(detail) => assert!(
            detail.starts_with("instance_user_data is not declared, yet a create using it"),
            "{detail}"
        ),
        other => panic!("silently accepted user data was not caught: {other}"),
    }
}

#[tokio::test]
async fn the_fake_exercises_volume_resize_and_type_change() {
    let p = Shaped::new(Shape::default());
    let cases = [
        "declared_capabilities_work",
        "resize_volume_grows_the_volume",
        "change_type_applies_the_new_type",
    ];

    for name in cases {
        let outcome = run(name, Arc::clone(&p)).await;
        let calls = p.calls();

        assert_eq!(outcome, Outcome::Pass, "{name}");
        if name != "change_type_applies_the_new_type" {
            assert!(calls.contains(&"resize_volume"), "{name}: {calls:?}");
        }
        if name != "resize_volume_grows_the_volume" {
            assert!(calls.contains(&"change_instance_type"), "{name}: {calls:?}");
        }
    }
}

#[tokio::test]
async fn a_declared_resize_without_an_elastic_volume_is_reported() {
    let p = Shaped::new(Shape {
        no_elastic: true,
        ..Shape::default()
    });

    let skipped = run("resize_volume_grows_the_volume", Arc::clone(&p)).await;
    let declared = run("declared_capabilities_work", Arc::clone(&p)).await;

    let skip = skipped.to_string();
    assert!(
        skip.starts_with("skipped: resize_instance_volume (declared, but instance"),
        "{skip}"
    );
    match declared {
        Outcome::Fail(detail) => assert!(
            detail.contains("resize_instance_volume is declared, but instance"),
            "{detail}"
        ),
        other => panic!("an unexercised resize was not reported: {other}"),
    }
    assert!(!p.calls().contains(&"resize_volume"));
}

#[tokio::test]
async fn a_declared_type_change_without_a_second_type_is_reported() {
    let plain = fake();
    let chosen = Cx::new(config(), "probe")
        .instance_type(&*plain)
        .await
        .expect("the fake has a type to create");
    let p = Shaped::new(Shape {
        only_type: Some(chosen.name().to_owned()),
        ..Shape::default()
    });

    let skipped = run("change_type_applies_the_new_type", Arc::clone(&p)).await;
    let declared = run("declared_capabilities_work", Arc::clone(&p)).await;

    let skip = skipped.to_string();
    assert!(
        skip.starts_with("skipped: change_instance_type (declared, but"),
        "{skip}"
    );
    match declared {
        Outcome::Fail(detail) => assert!(
            detail.contains("change_instance_type is declared, but"),
            "{detail}"
        ),
        other => panic!("an unexercised type change was not reported: {other}"),
    }
    assert!(!p.calls().contains(&"change_instance_type"));
}

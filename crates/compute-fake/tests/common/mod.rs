//! Shared helpers of the fake's behaviour tests: a small hand-built catalog and requests.

#![allow(dead_code, unreachable_pub)] // Each test file uses a different subset.

use std::time::Duration;

use compute_fake::{FakeConfig, FakeProvider};
use compute_provider::{CreateInstance, ListInstances, Provider};
use compute_types::{
    Architecture, Bytes, Gpu, Instance, InstanceType, InstanceTypeId, Location, LocationId,
    Manufacturer, RefId, Zone, ZoneId,
};

pub const BOOT: Duration = Duration::from_secs(30);
pub const STOP: Duration = Duration::from_secs(10);
pub const TERMINATE: Duration = Duration::from_secs(5);

/// Two locations; `us-east-1` has zones a and b.
pub fn locations() -> Vec<Location> {
    let east = Location::new(loc("us-east-1"))
        .with_zone(Zone::new(ZoneId::new("us-east-1a").unwrap()))
        .with_zone(Zone::new(ZoneId::new("us-east-1b").unwrap()));
    vec![east, Location::new(loc("eu-west-1"))]
}

fn gpu_type(location: &str, name: &str, gpus: u32) -> InstanceType {
    let id = InstanceTypeId::builder("fake", location, name)
        .build()
        .unwrap();
    let mut t = InstanceType::new(id, 26 * gpus, Bytes::gib(200));
    t.gpus
        .push(Gpu::new(gpus, "H100", Manufacturer::Nvidia).with_memory(Bytes::gib(80)));
    t.architectures.push(Architecture::X86_64);
    t.stoppable = true;
    t.rebootable = true;
    t.elastic_root_volume = true;
    t.available = true;
    t
}

/// `gpu_1x` and `gpu_8x` in both locations, plus `fixed_1x` (not stoppable, not
/// rebootable, fixed root volume) in `us-east-1`.
pub fn types() -> Vec<InstanceType> {
    let mut types = Vec::new();
    for location in ["us-east-1", "eu-west-1"] {
        types.push(gpu_type(location, "gpu_1x", 1));
        types.push(gpu_type(location, "gpu_8x", 8));
    }
    let mut fixed = gpu_type("us-east-1", "fixed_1x", 1);
    fixed.stoppable = false;
    fixed.rebootable = false;
    fixed.elastic_root_volume = false;
    types.push(fixed);
    types
}

/// A configuration over the test catalog with known delays.
pub fn config() -> FakeConfig {
    FakeProvider::builder()
        .catalog(types(), locations())
        .boot_delay(BOOT)
        .stop_delay(STOP)
        .terminate_delay(TERMINATE)
        .reboot_delay(BOOT)
}

pub fn fake() -> FakeProvider {
    config().build().unwrap()
}

pub fn loc(name: &str) -> LocationId {
    LocationId::new(name).unwrap()
}

pub fn type_id(location: &str, name: &str) -> InstanceTypeId {
    InstanceTypeId::builder("fake", location, name)
        .build()
        .unwrap()
}

/// A request for `gpu_1x` in `us-east-1`.
pub fn req(ref_id: &str) -> CreateInstance {
    CreateInstance::new(RefId::new(ref_id).unwrap(), type_id("us-east-1", "gpu_1x"))
}

pub async fn all(p: &dyn Provider) -> Vec<Instance> {
    p.list_instances(&ListInstances::all()).await.unwrap()
}

/// Instances that are not terminating or terminated.
pub async fn live(p: &dyn Provider) -> Vec<Instance> {
    let mut out = all(p).await;
    out.retain(|i| {
        !matches!(
            i.state(),
            compute_types::InstanceState::Terminated | compute_types::InstanceState::Terminating
        )
    });
    out
}

pub async fn advance(d: Duration) {
    tokio::time::advance(d).await;
}

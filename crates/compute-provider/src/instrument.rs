//! The instrumentation layer: one tracing span per provider call, and never a secret.
//!
//! [`Instrumented`] wraps any provider and is a provider itself, with every optional
//! capability of the inner one (and only those). Each call opens
//! `info_span!("provider_call", provider, operation, location, instance_id, attempt)`;
//! `location` and `instance_id` are filled in when the call names them (or, for create,
//! once the instance id is known), and `attempt` is filled in by a
//! [`Retrying`](crate::Retrying) layer running inside the span. The outcome is logged at
//! `debug` with the elapsed time and, for a failure, the error kind and retry class.
//! Errors are returned, never logged at `error`: the caller decides what they mean.
//!
//! Only ids, location names, operation names and error kinds are recorded: never request
//! bodies, user data, environment values, keys or error messages.
//!
//! Put it outside the retry layer, so one span covers all attempts of a call:
//!
//! ```
//! # use std::sync::Arc;
//! # use compute_provider::{Instrumented, Provider, RetryConfig, Retrying};
//! fn layered(provider: Arc<dyn Provider>) -> Arc<dyn Provider> {
//!     let retrying: Arc<dyn Provider> = Arc::new(Retrying::new(provider, RetryConfig::new()));
//!     Arc::new(Instrumented::new(retrying))
//! }
//! ```

use std::{fmt, future::Future, sync::Arc};

use async_trait::async_trait;
use compute_types::{
    Bytes, Capabilities, Error, FirewallRule, FirewallRuleId, Image, Instance, InstanceId,
    InstanceType, InstanceTypeId, Location, LocationId, Outcome, ProviderId, Quota, Result, Tags,
};
use tokio::time::Instant;
use tracing::{Instrument, Span, debug, field::Empty, info_span};

use crate::{
    ApiScope, ChangeInstanceType, CreateInstance, Fault, FaultInjection, Firewall, Images,
    InstanceTypeFilter, ListInstances, LocationsQuery, NetworkProbe, Probe, ProbeResult, Provider,
    QuotaInfo, Reboot, ResizeVolume, StopStart, UpdateTags,
};

/// A provider that traces the calls of `inner`; see the [module docs](crate::instrument).
pub struct Instrumented<P: ?Sized = dyn Provider> {
    inner: Arc<P>,
}

impl<P: Provider + ?Sized> fmt::Debug for Instrumented<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instrumented")
            .field("inner", &self.inner)
            .finish()
    }
}

/// What a call is about, for the span's fields.
#[derive(Default)]
struct Target<'a> {
    location: Option<&'a str>,
    instance_id: Option<&'a InstanceId>,
}

impl<'a> Target<'a> {
    fn instance(id: &'a InstanceId) -> Self {
        Self {
            location: None,
            instance_id: Some(id),
        }
    }

    fn location(location: &'a LocationId) -> Self {
        Self {
            location: Some(location.as_str()),
            instance_id: None,
        }
    }

    /// One location from a list of them; several are left unrecorded.
    fn one_of(locations: &'a [LocationId]) -> Self {
        match locations {
            [one] => Self::location(one),
            _ => Self::default(),
        }
    }
}

impl<P: Provider + ?Sized> Instrumented<P> {
    /// Wraps `inner`.
    pub fn new(inner: Arc<P>) -> Self {
        Self { inner }
    }

    /// Returns the wrapped provider.
    pub fn inner(&self) -> &Arc<P> {
        &self.inner
    }

    fn span(&self, operation: &'static str, target: &Target<'_>) -> Span {
        let span = info_span!(
            "provider_call",
            provider = self.inner.id().as_str(),
            operation,
            location = Empty,
            instance_id = Empty,
            attempt = Empty,
        );
        if let Some(location) = target.location {
            span.record("location", location);
        }
        if let Some(id) = target.instance_id {
            span.record("instance_id", id.as_str());
        }
        span
    }

    /// Runs `call` inside a new span and logs its outcome; `id_of` names the instance a
    /// successful result is about, when the request did not.
    async fn traced<T, Fut>(
        &self,
        operation: &'static str,
        target: Target<'_>,
        call: Fut,
        id_of: fn(&T) -> Option<&InstanceId>,
    ) -> Result<T>
    where
        Fut: Future<Output = Result<T>> + Send,
        T: Send,
    {
        let span = self.span(operation, &target);
        let recorder = span.clone();
        let start = Instant::now();

        let traced = async move {
            let result = call.await;
            let elapsed_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
            match &result {
                Ok(value) => {
                    if let Some(id) = id_of(value) {
                        recorder.record("instance_id", id.as_str());
                    }
                    debug!(elapsed_ms, "provider call succeeded");
                }
                Err(err) => {
                    if let Some(Outcome::Unknown {
                        instance_id: Some(id),
                    }) = err.outcome()
                    {
                        recorder.record("instance_id", id.as_str());
                    }
                    debug!(
                        elapsed_ms,
                        error_kind = %err.kind(),
                        retry = ?err.retry(),
                        outcome_unknown = err.is_outcome_unknown(),
                        "provider call failed"
                    );
                }
            }
            result
        };
        traced.instrument(span).await
    }

    fn unsupported(&self, operation: &str) -> Error {
        Error::unsupported(self.inner.id().as_str(), operation)
    }
}

fn no_id<T>(_: &T) -> Option<&InstanceId> {
    None
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<P: Provider + ?Sized> Provider for Instrumented<P> {
    fn id(&self) -> &ProviderId {
        self.inner.id()
    }

    fn api_scope(&self) -> ApiScope {
        self.inner.api_scope()
    }

    fn create_features(&self) -> Capabilities {
        self.inner.create_features()
    }

    async fn locations(&self, query: &LocationsQuery) -> Result<Vec<Location>> {
        let call = self.inner.locations(query);
        self.traced("locations", Target::default(), call, no_id)
            .await
    }

    async fn instance_types(&self, filter: &InstanceTypeFilter) -> Result<Vec<InstanceType>> {
        let call = self.inner.instance_types(filter);
        let target = Target::one_of(&filter.locations);
        self.traced("instance_types", target, call, no_id).await
    }

    async fn create_instance(&self, request: &CreateInstance) -> Result<Instance> {
        let call = self.inner.create_instance(request);
        let target = Target::location(&request.location);
        self.traced("create_instance", target, call, |i| Some(i.id()))
            .await
    }

    async fn get_instance(&self, id: &InstanceId) -> Result<Instance> {
        let call = self.inner.get_instance(id);
        self.traced("get_instance", Target::instance(id), call, no_id)
            .await
    }

    async fn list_instances(&self, filter: &ListInstances) -> Result<Vec<Instance>> {
        let call = self.inner.list_instances(filter);
        let target = Target::one_of(&filter.locations);
        self.traced("list_instances", target, call, no_id).await
    }

    async fn terminate_instance(&self, id: &InstanceId) -> Result<()> {
        let call = self.inner.terminate_instance(id);
        self.traced("terminate_instance", Target::instance(id), call, no_id)
            .await
    }

    forward_capability_accessors!();
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<P: Provider + ?Sized> StopStart for Instrumented<P> {
    async fn stop_instance(&self, id: &InstanceId) -> Result<()> {
        let op = "stop_instance";
        let cap = self
            .inner
            .stop_start()
            .ok_or_else(|| self.unsupported(op))?;
        self.traced(op, Target::instance(id), cap.stop_instance(id), no_id)
            .await
    }

    async fn start_instance(&self, id: &InstanceId) -> Result<()> {
        let op = "start_instance";
        let cap = self
            .inner
            .stop_start()
            .ok_or_else(|| self.unsupported(op))?;
        self.traced(op, Target::instance(id), cap.start_instance(id), no_id)
            .await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<P: Provider + ?Sized> Reboot for Instrumented<P> {
    async fn reboot_instance(&self, id: &InstanceId) -> Result<()> {
        let op = "reboot_instance";
        let cap = self.inner.reboot().ok_or_else(|| self.unsupported(op))?;
        self.traced(op, Target::instance(id), cap.reboot_instance(id), no_id)
            .await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<P: Provider + ?Sized> ResizeVolume for Instrumented<P> {
    async fn resize_volume(&self, id: &InstanceId, volume_id: &str, size: Bytes) -> Result<()> {
        let op = "resize_volume";
        let cap = self
            .inner
            .resize_volume()
            .ok_or_else(|| self.unsupported(op))?;
        let call = cap.resize_volume(id, volume_id, size);
        self.traced(op, Target::instance(id), call, no_id).await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<P: Provider + ?Sized> ChangeInstanceType for Instrumented<P> {
    async fn change_instance_type(&self, id: &InstanceId, new_type: &InstanceTypeId) -> Result<()> {
        let op = "change_instance_type";
        let cap = self
            .inner
            .change_type()
            .ok_or_else(|| self.unsupported(op))?;
        let call = cap.change_instance_type(id, new_type);
        self.traced(op, Target::instance(id), call, no_id).await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<P: Provider + ?Sized> Firewall for Instrumented<P> {
    async fn add_firewall_rules(
        &self,
        id: &InstanceId,
        rules: &[FirewallRule],
    ) -> Result<Vec<FirewallRule>> {
        let op = "add_firewall_rules";
        let cap = self.inner.firewall().ok_or_else(|| self.unsupported(op))?;
        let call = cap.add_firewall_rules(id, rules);
        self.traced(op, Target::instance(id), call, no_id).await
    }

    async fn revoke_firewall_rules(
        &self,
        id: &InstanceId,
        rule_ids: &[FirewallRuleId],
    ) -> Result<()> {
        let op = "revoke_firewall_rules";
        let cap = self.inner.firewall().ok_or_else(|| self.unsupported(op))?;
        let call = cap.revoke_firewall_rules(id, rule_ids);
        self.traced(op, Target::instance(id), call, no_id).await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<P: Provider + ?Sized> UpdateTags for Instrumented<P> {
    async fn update_tags(&self, id: &InstanceId, tags: &Tags) -> Result<()> {
        let op = "update_tags";
        let cap = self
            .inner
            .update_tags()
            .ok_or_else(|| self.unsupported(op))?;
        self.traced(op, Target::instance(id), cap.update_tags(id, tags), no_id)
            .await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<P: Provider + ?Sized> Images for Instrumented<P> {
    async fn list_images(&self, location: &LocationId) -> Result<Vec<Image>> {
        let op = "list_images";
        let cap = self.inner.images().ok_or_else(|| self.unsupported(op))?;
        let call = cap.list_images(location);
        self.traced(op, Target::location(location), call, no_id)
            .await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<P: Provider + ?Sized> QuotaInfo for Instrumented<P> {
    async fn quotas(&self, location: &LocationId) -> Result<Vec<Quota>> {
        let op = "quotas";
        let cap = self.inner.quota().ok_or_else(|| self.unsupported(op))?;
        let call = cap.quotas(location);
        self.traced(op, Target::location(location), call, no_id)
            .await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<P: Provider + ?Sized> NetworkProbe for Instrumented<P> {
    async fn probe(&self, probe: &Probe) -> Result<ProbeResult> {
        let op = "probe";
        let cap = self
            .inner
            .network_probe()
            .ok_or_else(|| self.unsupported(op))?;
        self.traced(op, Target::instance(&probe.to), cap.probe(probe), no_id)
            .await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<P: Provider + ?Sized> FaultInjection for Instrumented<P> {
    async fn inject(&self, fault: Fault) -> Result<()> {
        let op = "inject";
        let cap = self
            .inner
            .fault_injection()
            .ok_or_else(|| self.unsupported(op))?;
        self.traced(op, Target::default(), cap.inject(fault), no_id)
            .await
    }

    async fn clear_faults(&self) -> Result<()> {
        let op = "clear_faults";
        let cap = self
            .inner
            .fault_injection()
            .ok_or_else(|| self.unsupported(op))?;
        self.traced(op, Target::default(), cap.clear_faults(), no_id)
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::{
        io,
        sync::{Arc, Mutex},
    };

    use compute_types::ErrorKind;
    use tracing_subscriber::fmt::{MakeWriter, format::FmtSpan};

    use super::*;
    use crate::{
        ProviderExt, RetryConfig, Retrying, Secret,
        testing::{Fault as TestFault, TestProvider, request},
    };

    /// A `MakeWriter` appending everything to one shared buffer.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Capture {
        fn text(&self) -> String {
            let bytes = self.0.lock().unwrap().clone();
            String::from_utf8(bytes).unwrap()
        }
    }

    impl io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Capture {
        type Writer = Self;

        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    fn capture() -> (Capture, tracing::subscriber::DefaultGuard) {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(capture.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_span_events(FmtSpan::NEW | FmtSpan::CLOSE)
            .with_ansi(false)
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        (capture, guard)
    }

    #[tokio::test(start_paused = true)]
    async fn traces_a_create_without_its_secrets() {
        let (capture, _guard) = capture();
        let p = TestProvider::new().idempotent().arc();
        p.fail_next("create_instance", TestFault::new(ErrorKind::Unavailable));
        let config = RetryConfig::new().with_seed(1);
        let layered = Instrumented::new(Arc::new(Retrying::new(p, config)));
        let req = request("node-0")
            .with_user_data(Secret::new("#!/bin/sh\necho user-data-hunter2"))
            .with_env("API_TOKEN", Secret::new("env-secret-sk-9876"));

        let inst = layered.create_instance(&req).await.unwrap();

        let text = capture.text();
        assert!(text.contains("provider_call"), "{text}");
        assert!(text.contains("operation=\"create_instance\""), "{text}");
        assert!(text.contains("location=\"loc-1\""), "{text}");
        assert!(
            text.contains(&format!("instance_id=\"{}\"", inst.id())),
            "{text}"
        );
        assert!(text.contains("retrying provider call"), "{text}");
        assert!(text.contains("attempt=2"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("sk-9876"), "{text}");
        assert!(!text.contains("API_TOKEN"), "{text}");
    }

    #[tokio::test]
    async fn failures_are_logged_at_debug_not_error() {
        let (capture, _guard) = capture();
        let p = TestProvider::new().arc();
        p.fail_next("get_instance", TestFault::new(ErrorKind::PermissionDenied));
        let layered = Instrumented::new(p);

        let err = layered
            .get_instance(&InstanceId::new("i-7").unwrap())
            .await
            .unwrap_err();

        let text = capture.text();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        assert!(text.contains("provider call failed"), "{text}");
        assert!(text.contains("error_kind=permission denied"), "{text}");
        assert!(text.contains("instance_id=\"i-7\""), "{text}");
        assert!(!text.contains("ERROR"), "{text}");
    }

    #[tokio::test]
    async fn forwards_exactly_the_inner_capabilities() {
        let bare = TestProvider::new().arc();
        let able = TestProvider::new().with_stop_start().arc();
        let inst = able.create_instance(&request("a")).await.unwrap();

        let wrapped = Instrumented::new(Arc::clone(&able));
        wrapped
            .stop_start()
            .unwrap()
            .stop_instance(inst.id())
            .await
            .unwrap();

        assert_eq!(
            Instrumented::new(Arc::clone(&bare)).capabilities(),
            bare.capabilities()
        );
        assert_eq!(wrapped.capabilities(), able.capabilities());
        assert_eq!(able.calls("stop_instance"), 1);
        let direct = Reboot::reboot_instance(&wrapped, inst.id()).await;
        assert_eq!(direct.unwrap_err().kind(), ErrorKind::Unsupported);
    }
}

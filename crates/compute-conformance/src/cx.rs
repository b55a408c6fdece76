//! The run configuration and the per-case context: run id, deadlines, what to create, and
//! the record of what a case created so the runner can clean it up.

use std::{
    sync::{
        Mutex, OnceLock,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::{Check, Outcome, outcome::Context};
use compute_provider::{
    CreateInstance, InstanceTypeFilter, ListInstances, LocationsQuery, Provider,
};
use compute_types::{
    Error, ErrorKind, Instance, InstanceId, InstanceType, InstanceTypeId, LocationId, RefId, Tags,
};

/// The tag key carrying the run id on everything a run creates.
pub const TAG_RUN: &str = "conformance-run";

/// The tag key carrying the case name on everything a case creates.
pub const TAG_CASE: &str = "conformance-case";

/// How a run behaves: deadlines, polling and what to create.
///
/// The defaults suit a live cloud (polls back off to 2 s, 20 minutes to reach running).
/// An in-memory provider should shorten the deadlines, so a broken provider fails fast
/// instead of making the run wait.
///
/// ```
/// use std::time::Duration;
///
/// use compute_conformance::Config;
///
/// let config = Config::new()
///     .with_running_deadline(Duration::from_secs(5))
///     .with_settle_deadline(Duration::from_secs(2))
///     .with_instance_type("fake/us-east-1//gpu_1x_a10".parse().unwrap());
/// assert_eq!(config.running_deadline(), Duration::from_secs(5));
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    run_id: Option<String>,
    poll_interval: Duration,
    running_deadline: Duration,
    settle_deadline: Duration,
    case_deadline: Duration,
    instance_type: Option<InstanceTypeId>,
    rate_limit_burst: Option<u32>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            run_id: None,
            poll_interval: Duration::from_secs(2),
            running_deadline: Duration::from_secs(20 * 60),
            settle_deadline: Duration::from_secs(120),
            case_deadline: Duration::from_secs(60 * 60),
            instance_type: None,
            rate_limit_burst: None,
        }
    }
}

impl Config {
    /// The defaults, suited to a live cloud.
    pub fn new() -> Self {
        Self::default()
    }

    /// Deadlines sized for an in-memory provider such as the fake, so a regression fails
    /// in seconds: polls at most 10 ms apart, 5 s to reach `running`, 1 s to settle, 60 s
    /// per case.
    pub fn in_memory() -> Self {
        Self::new()
            .with_poll_interval(Duration::from_millis(10))
            .with_running_deadline(Duration::from_secs(5))
            .with_settle_deadline(Duration::from_secs(1))
            .with_case_deadline(Duration::from_secs(60))
    }

    /// Sets the run id; by default one is made per test process. Use lower-case letters,
    /// digits and `-` only, starting with a letter, at most 20 characters.
    ///
    /// The run id is the value of the [`TAG_RUN`] tag that cleanup matches, so it is
    /// checked here, before any case can create an instance without it.
    ///
    /// # Errors
    /// `InvalidRequest` naming `run_id` when the id breaks the rule above or is not a
    /// valid tag value.
    pub fn with_run_id(mut self, run_id: impl Into<String>) -> compute_types::Result<Self> {
        let run_id = run_id.into();
        validate_run_id(&run_id)?;
        self.run_id = Some(run_id);
        Ok(self)
    }

    /// Sets the longest pause between two polls; polls start at 5 ms and back off to this.
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Sets how long an instance may take to reach running, stopped or terminated.
    pub fn with_running_deadline(mut self, deadline: Duration) -> Self {
        self.running_deadline = deadline;
        self
    }

    /// Sets how long a change (a listed instance, a firewall rule, a tag) may take to show.
    pub fn with_settle_deadline(mut self, deadline: Duration) -> Self {
        self.settle_deadline = deadline;
        self
    }

    /// Sets how long one case may take in all before it fails.
    pub fn with_case_deadline(mut self, deadline: Duration) -> Self {
        self.case_deadline = deadline;
        self
    }

    /// Sets the instance type cases create; by default the cheapest available one is used.
    pub fn with_instance_type(mut self, id: InstanceTypeId) -> Self {
        self.instance_type = Some(id);
        self
    }

    /// Lets `rate_limit_is_throttled` send up to `calls` cheap calls back to back to
    /// provoke a rate limit; without it that case is skipped. Set it above the provider's
    /// limit, and only where a burst is harmless (a fake, a test account).
    pub fn with_rate_limit_burst(mut self, calls: u32) -> Self {
        self.rate_limit_burst = Some(calls);
        self
    }

    /// Returns the longest pause between two polls.
    pub fn poll_interval(&self) -> Duration {
        self.poll_interval
    }

    /// Returns how long an instance may take to reach a resting state.
    pub fn running_deadline(&self) -> Duration {
        self.running_deadline
    }

    /// Returns how long a change may take to show.
    pub fn settle_deadline(&self) -> Duration {
        self.settle_deadline
    }

    /// Returns how long one case may take.
    pub fn case_deadline(&self) -> Duration {
        self.case_deadline
    }

    /// Returns the rate limit burst, if one is configured.
    pub fn rate_limit_burst(&self) -> Option<u32> {
        self.rate_limit_burst
    }

    /// Returns the configured instance type, if any.
    pub fn instance_type(&self) -> Option<&InstanceTypeId> {
        self.instance_type.as_ref()
    }
}

/// The longest run id: it prefixes cluster names, which are short.
const MAX_RUN_ID: usize = 20;

/// Checks `run_id` against the documented rule and as a [`TAG_RUN`] tag value.
fn validate_run_id(run_id: &str) -> compute_types::Result<()> {
    let plain = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    let well_formed = run_id.len() <= MAX_RUN_ID
        && run_id.starts_with(|c: char| c.is_ascii_lowercase())
        && run_id.chars().all(plain);
    if !well_formed {
        return Err(Error::invalid(
            "run_id",
            format!(
                "run id `{run_id}` must be 1 to {MAX_RUN_ID} lower-case letters, digits \
                 and `-`, starting with a letter"
            ),
        ));
    }

    let mut probe = Tags::new();
    probe.insert(TAG_RUN, run_id).map_err(|e| {
        Error::invalid(
            "run_id",
            format!("run id `{run_id}` is not a valid tag value: {e}"),
        )
    })
}

/// Returns this process's run id, made once from the clock and the process id.
fn process_run_id() -> &'static str {
    static RUN_ID: OnceLock<String> = OnceLock::new();
    RUN_ID.get_or_init(|| {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        format!(
            "cf{}{}",
            base36(secs),
            base36(u64::from(std::process::id()))
        )
    })
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// A short, stable token for a case name, used where names must stay short (clusters).
fn short_token(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    base36(hash % 36_u64.pow(6))
}

/// The context one case runs in.
///
/// It carries the run id and deadlines, names what the case creates (ref ids, clusters
/// and the run tags), and records every instance the case creates, so the runner can
/// terminate them even when the case fails or panics.
#[derive(Debug)]
pub struct Cx {
    config: Config,
    run_id: String,
    case: &'static str,
    seq: AtomicU32,
    created: Mutex<Vec<InstanceId>>,
}

impl Cx {
    /// A context for the case `case` under `config`.
    pub fn new(config: Config, case: &'static str) -> Self {
        let run_id = config
            .run_id
            .clone()
            .unwrap_or_else(|| process_run_id().to_owned());
        Self {
            config,
            run_id,
            case,
            seq: AtomicU32::new(0),
            created: Mutex::new(Vec::new()),
        }
    }

    /// Returns the run id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Returns the case name.
    pub fn case(&self) -> &'static str {
        self.case
    }

    /// Returns the configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Returns the tags every instance of this case carries: run id and case name.
    ///
    /// # Errors
    /// `InvalidRequest` when the case name is not a valid tag value (a run id is checked
    /// by [`Config::with_run_id`]).
    pub fn run_tags(&self) -> compute_types::Result<Tags> {
        let mut tags = Tags::new();
        tags.insert(TAG_RUN, self.run_id.as_str())?;
        tags.insert(TAG_CASE, self.case)?;
        Ok(tags)
    }

    /// Returns a fresh ref id, `<run>-<case>-<n>`.
    ///
    /// # Errors
    /// A failure when the run id makes an invalid ref id.
    pub fn ref_id(&self) -> Check<RefId> {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        RefId::new(format!("{}-{}-{n}", self.run_id, self.case)).context("ref id")
    }

    /// Returns a fresh cluster name, unique to this run and case.
    pub fn cluster(&self) -> String {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        format!("{}-{}-{n}", self.run_id, short_token(self.case))
    }

    /// Returns a create request for `type_id` with a fresh ref id and the run tags.
    ///
    /// # Errors
    /// A failure when the run id makes an invalid ref id or the run tags are invalid.
    pub fn request(&self, type_id: &InstanceTypeId) -> Check<CreateInstance> {
        let ref_id = self.ref_id()?;
        let name = ref_id.as_str().to_owned();
        let tags = self.run_tags().context("run tags")?;
        Ok(CreateInstance::new(ref_id, type_id.clone())
            .with_name(name)
            .with_tags(tags))
    }

    /// Records an instance for cleanup.
    pub fn track(&self, id: &InstanceId) {
        if let Ok(mut created) = self.created.lock()
            && !created.contains(id)
        {
            created.push(id.clone());
        }
    }

    /// Creates an instance and records it for cleanup.
    ///
    /// # Errors
    /// The provider's error, unchanged.
    pub async fn create(
        &self,
        p: &dyn Provider,
        request: &CreateInstance,
    ) -> compute_types::Result<Instance> {
        let instance = p.create_instance(request).await?;
        self.track(instance.id());
        Ok(instance)
    }

    /// Returns the instance type to create: the configured one, or else the cheapest
    /// available type in an available location.
    ///
    /// # Errors
    /// A failure when the configured type is not listed or nothing can be created.
    pub async fn instance_type(&self, p: &dyn Provider) -> Check<InstanceType> {
        if let Some(id) = &self.config.instance_type {
            let filter = InstanceTypeFilter::all()
                .with_location(id.location().clone())
                .with_type_name(id.type_name());
            let types = p.instance_types(&filter).await.context("instance_types")?;
            return types.into_iter().find(|t| &t.id == id).ok_or_else(|| {
                Outcome::fail(format!("the configured instance type {id} is not listed"))
            });
        }

        let locations = p
            .locations(&LocationsQuery::available())
            .await
            .context("locations")?;
        let open = |l: &LocationId| locations.iter().any(|x| &x.name == l && x.available);
        let types = p
            .instance_types(&InstanceTypeFilter::all())
            .await
            .context("instance_types")?;
        let mut candidates: Vec<_> = types
            .into_iter()
            .filter(|t| t.available && open(t.location()))
            .collect();
        candidates.sort_by(|a, b| {
            let price = match (a.price, b.price) {
                (Some(x), Some(y)) => x.compare(&y).unwrap_or(std::cmp::Ordering::Equal),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            };
            price.then_with(|| a.id.to_string().cmp(&b.id.to_string()))
        });
        candidates
            .into_iter()
            .next()
            .ok_or_else(|| Outcome::fail("no available instance type in an available location"))
    }

    /// Returns another available type in the same location as `ty`, if there is one.
    ///
    /// # Errors
    /// A failure when the provider cannot list types.
    pub async fn other_instance_type(
        &self,
        p: &dyn Provider,
        ty: &InstanceType,
    ) -> Check<Option<InstanceType>> {
        let filter = InstanceTypeFilter::all().with_location(ty.location().clone());
        let types = p.instance_types(&filter).await.context("instance_types")?;
        Ok(types
            .into_iter()
            .find(|t| t.available && t.name() != ty.name() && t.id.zone() == ty.id.zone()))
    }

    /// Terminates every instance this case created: those it recorded, and those the
    /// provider lists with this run's and case's tags. Faults left armed are cleared.
    ///
    /// Never touches an instance without the run tags: listed instances are checked
    /// here too, in case the provider ignores the tag filter. Without a valid run tag
    /// the sweep by tags is refused, since matching the case tag alone could reach other
    /// runs' instances; only the recorded instances are then terminated, and the refusal
    /// is reported. Returns the problems met.
    pub async fn cleanup(&self, p: &dyn Provider) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(faults) = p.fault_injection()
            && let Err(e) = faults.clear_faults().await
        {
            problems.push(format!("clear_faults: {e}"));
        }

        let mut ids = self.created.lock().map(|c| c.clone()).unwrap_or_default();
        match self.sweep_filter() {
            Ok(filter) => match p.list_instances(&filter).await {
                Ok(listed) => {
                    let ours = listed
                        .into_iter()
                        .filter(|i| i.tags.contains_all(&filter.tags));
                    for instance in ours {
                        if !ids.contains(instance.id()) {
                            ids.push(instance.id().clone());
                        }
                    }
                }
                Err(e) => problems.push(format!("list_instances: {e}")),
            },
            Err(e) => problems.push(format!("sweep by tags refused: {e}")),
        }

        for id in ids {
            match p.terminate_instance(&id).await {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => problems.push(format!("terminate_instance {id}: {e}")),
            }
        }
        problems
    }
}

impl Cx {
    /// Returns the list filter of the cleanup sweep, which must carry the run tag.
    fn sweep_filter(&self) -> compute_types::Result<ListInstances> {
        let tags = self.run_tags()?;
        if tags.get(TAG_RUN).is_none_or(str::is_empty) {
            return Err(Error::invalid("run_id", "the run tag is missing"));
        }
        let mut filter = ListInstances::all();
        filter.tags = tags;
        Ok(filter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_and_distinct() {
        let cx = Cx::new(
            Config::new().with_run_id("cf-test").unwrap(),
            "create_echoes_request",
        );

        let (a, b) = (cx.ref_id().unwrap(), cx.ref_id().unwrap());
        let cluster = cx.cluster();

        assert_ne!(a, b);
        assert_eq!(a.as_str(), "cf-test-create_echoes_request-0");
        compute_provider::validate_cluster_name(&cluster).unwrap();
        let tags = cx.run_tags().unwrap();
        assert_eq!(tags.get(TAG_RUN), Some("cf-test"));
        assert_eq!(tags.get(TAG_CASE), Some("create_echoes_request"));
    }

    #[test]
    fn a_case_name_that_is_no_tag_value_makes_no_run_tags() {
        let cx = Cx::new(Config::new(), "not a tag value!");

        let err = cx.run_tags().unwrap_err();

        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert!(cx.sweep_filter().is_err());
        assert!(
            cx.request(&"fake/us-east-1//gpu_1x_a10".parse().unwrap())
                .is_err()
        );
    }

    #[test]
    fn the_process_run_id_is_a_valid_cluster_prefix() {
        let id = process_run_id();

        assert!(id.len() <= 20, "{id}");
        compute_provider::validate_cluster_name(id).unwrap();
        validate_run_id(id).unwrap();
        assert_eq!(base36(0), "0");
        assert_eq!(base36(36), "10");
    }
}

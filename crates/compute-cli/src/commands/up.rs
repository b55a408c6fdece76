//! `computectl up`: check every input, pick the type, record the cluster, then create all
//! nodes at once through the library's all-or-nothing group create.

use std::{
    collections::BTreeSet,
    fs,
    net::IpAddr,
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use chrono::Utc;
use ipnet::IpNet;
use serde::Serialize;

use super::{check_cluster_name, instance_views, priced, prices};
use crate::{
    cli::UpArgs,
    context::Context,
    error::{CliError, CliResult, EXIT_INTERRUPTED},
    interrupt::Interrupts,
    inventory::{ClusterSpec, ClusterState},
    output::{JSON_VERSION, table},
    progress,
    views::{InstanceView, PriceView, plural},
};
use compute_net::{ClusterContext, Flow, Policy, Reason, Severity, lint, normalize};
use compute_provider::{
    CreateInstance, GroupError, GroupEvent, GroupOptions, Provider, PublicKey, create_group,
    group::Cancellation,
};
use compute_types::{
    Direction, Error, FirewallRule, FirewallRules, Instance, InstanceId, InstanceType,
    InstanceTypeId, LocationId, Price, RefId,
};

mod choose;

/// Longest node name: a DNS label.
const MAX_NODE_NAME_LEN: usize = 63;

/// The inputs of `up`, checked.
#[derive(Debug)]
struct Input {
    cluster: String,
    nodes: u32,
    rules: Vec<FirewallRule>,
    key: Option<PublicKey>,
    location: Option<LocationId>,
}

/// The JSON document of `up`.
#[derive(Debug, Serialize)]
struct UpJson {
    version: u32,
    cluster: ClusterJson,
    /// False when every node already existed and nothing was created.
    changed: bool,
    nodes: Vec<InstanceView>,
    /// Price per hour of all nodes together, when every node's price is known.
    total_price: Option<PriceView>,
    /// Things the user should know, e.g. that SSH from outside is denied.
    notes: Vec<String>,
}

/// A cluster as `up` reports it.
#[derive(Debug, Serialize)]
struct ClusterJson {
    name: String,
    state: &'static str,
    nodes: u32,
    instance_type: String,
    location: String,
    rules: Vec<String>,
    ssh_key_fingerprint: Option<String>,
    subnets: Vec<IpNet>,
    /// The `--catalog` file the type was chosen from; null for the built-in catalog.
    catalog: Option<String>,
}

/// Brings the cluster up, or confirms it is up with the same spec.
pub(super) fn run(cx: &Context, args: &UpArgs) -> CliResult {
    // Everything is checked before anything is created.
    let input = validate(cx, args)?;
    cx.warn_if_stale()?;
    let provider = cx.provider()?;
    let chosen = choose::instance_type(cx, &provider, args, input.location.as_ref())?;
    let notes = notes(&input)?;
    warn_about_rules(&input)?;

    // From here on Ctrl-C rolls back instead of killing the process, which would leave
    // booting nodes and a cluster recorded as `creating`.
    let interrupts = cx.block_on(async { Interrupts::listen() })?;
    let wanted = spec_of(cx, &input, &chosen.instance_type)?;
    let is_new = record(cx, &input.cluster, &wanted)?;
    // Why this type was picked is news only when the cluster is; a rerun keeps its type.
    if let Some(note) = chosen.note.as_ref().filter(|_| is_new) {
        eprintln!("{note}");
    }
    let requests = requests(&input, &chosen.instance_type.id, &wanted.node_ref_ids);

    let created = AtomicUsize::new(0);
    let launch = create(cx, &provider, &input, requests, args, &created, interrupts)?;
    let instances = match launch {
        Ok(instances) => instances,
        Err(err) => return Err(after_failure(cx, &input.cluster, is_new, err)),
    };
    let spec = finish(cx, &input.cluster, &instances)?;
    let changed = created.load(Ordering::Relaxed) > 0;

    let prices = cx.block_on(async { Ok(prices(&*provider, &instances).await) })?;
    let prices = priced(cx, &instances, &prices);
    let total = total_price(&prices);
    let views = instance_views(&instances, &prices);
    report(cx, &input.cluster, &spec, views, total, changed, notes)
}

/// Checks the cluster name, node names, rules, key file and location (clap's value
/// parser has already held `--nodes` to its range).
fn validate(cx: &Context, args: &UpArgs) -> CliResult<Input> {
    check_cluster_name(&args.cluster)?;
    check_node_names(&args.cluster, args.nodes)?;
    let rules = args
        .allow
        .iter()
        .map(|text| {
            FirewallRule::parse_field("--allow", text).map_err(|e| {
                CliError::from(e).with_hint(
                    "rules look like tcp:22@203.0.113.0/24, udp:60000-61000@10.0.0.0/8 \
                     or icmp@0.0.0.0/0",
                )
            })
        })
        .collect::<CliResult<Vec<_>>>()?;
    // Duplicates and rules in the wrong list would fail at the provider; catch them here.
    let set = FirewallRules::from_rules(rules.iter().cloned());
    normalize(&set).map_err(|e| CliError::usage(format!("--allow: {}", e.message())))?;
    let key = args.ssh_key.as_deref().map(read_public_key).transpose()?;
    let location = args
        .location
        .as_deref()
        .map(|l| cx.location(l))
        .transpose()?;

    Ok(Input {
        cluster: args.cluster.clone(),
        nodes: args.nodes,
        rules,
        key,
        location,
    })
}

/// Checks that every node name `<cluster>-<index>` fits in a DNS label (63 characters),
/// so a provider can use it as a host name.
fn check_node_names(cluster: &str, nodes: u32) -> CliResult {
    let longest_index = (nodes - 1).to_string().len();
    let room = MAX_NODE_NAME_LEN - 1 - longest_index;
    if cluster.len() <= room {
        return Ok(());
    }
    Err(CliError::usage(format!(
        "--cluster: `{cluster}` is {} characters; node names `<cluster>-<index>` must fit in \
         a DNS label of {MAX_NODE_NAME_LEN} characters, so with {} the cluster name may have \
         at most {room}",
        cluster.len(),
        plural(u64::from(nodes), "node", "nodes"),
    ))
    .with_hint("pick a shorter cluster name"))
}

/// Reads an OpenSSH public key file; the key's text never appears in errors.
fn read_public_key(path: &Path) -> CliResult<PublicKey> {
    let text = fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("cannot read --ssh-key {}: {e}", path.display())))?;
    if text.contains("PRIVATE KEY") {
        return Err(
            CliError::usage(format!("--ssh-key {} holds a private key", path.display()))
                .with_hint("pass the public key, e.g. ~/.ssh/id_ed25519.pub"),
        );
    }
    PublicKey::parse(&text).map_err(|_| {
        CliError::usage(format!(
            "--ssh-key {} is not an OpenSSH public key",
            path.display()
        ))
        .with_hint("pass one line like `ssh-ed25519 AAAA... user@host`, e.g. ~/.ssh/id_ed25519.pub")
    })
}

/// What the user should know about access to the cluster.
///
/// Whether SSH is reachable from outside comes from the nodes' compiled policy, the one
/// `firewall check` evaluates, so the note and the check always agree.
fn notes(input: &Input) -> CliResult<Vec<String>> {
    let mut notes = Vec::new();
    if input.rules.is_empty() {
        notes.push(
            "inbound: only traffic between the cluster's nodes is allowed (no --allow rules)"
                .to_owned(),
        );
    }
    let ssh_rules = rules_admitting_ssh(&input.rules)?;
    match (&input.key, ssh_rules.is_empty()) {
        (None, true) => notes.push(
            "no --ssh-key given: SSH from outside is denied; to log in, pass \
             --allow tcp:22@<your-ip>/32 --ssh-key ~/.ssh/id_ed25519.pub"
                .to_owned(),
        ),
        (None, false) => notes.push(format!(
            "no --ssh-key given: tcp port 22 is open to {} ({}), but no key is authorised, \
             so SSH logins will fail; to log in, pass --ssh-key ~/.ssh/id_ed25519.pub",
            sources(&ssh_rules),
            plural_rules(&ssh_rules),
        )),
        (Some(_), true) => notes.push(
            "no --allow rule opens tcp port 22: SSH from outside is denied; add \
             --allow tcp:22@<your-ip>/32"
                .to_owned(),
        ),
        (Some(_), false) => {}
    }
    Ok(notes)
}

/// The ingress rules through which a host outside the cluster reaches tcp port 22, in
/// list order, as the compiled policy (what `firewall check` evaluates) decides it.
///
/// Only a rule can admit an outside host, and a rule admits every address of its ranges
/// alike. Each rule is asked on its own, from the first address of its first range, so a
/// rule whose first address another rule also admits is still found.
fn rules_admitting_ssh(rules: &[FirewallRule]) -> CliResult<Vec<FirewallRule>> {
    let context = ClusterContext::standalone();
    let mut admitting = Vec::new();
    for rule in rules.iter().filter(|r| r.direction == Direction::Ingress) {
        let Some(net) = rule.cidrs.first() else {
            continue;
        };
        let alone = FirewallRules::from_rules([rule.clone()]);
        let policy = Policy::compile(&context, &alone)?;

        let src = net.network();
        let dst = match src {
            IpAddr::V4(_) => IpAddr::from([10, 0, 0, 1]),
            IpAddr::V6(_) => IpAddr::from([0xfd00, 0, 0, 0, 0, 0, 0, 1]),
        };
        let decision = policy.evaluate(Direction::Ingress, &Flow::tcp(src, dst, 22));
        if decision.allowed && matches!(decision.reason, Reason::Rule(_)) {
            admitting.push(rule.clone());
        }
    }
    Ok(admitting)
}

/// The source ranges of `rules`, e.g. `203.0.113.0/24, 198.51.100.0/24`.
fn sources(rules: &[FirewallRule]) -> String {
    let mut nets: Vec<String> = Vec::new();
    for net in rules.iter().flat_map(|r| r.cidrs.iter()) {
        let text = net.to_string();
        if !nets.contains(&text) {
            nets.push(text);
        }
    }
    nets.join(", ")
}

/// `rule tcp:22@...` or `rules tcp:22@..., all@...`.
fn plural_rules(rules: &[FirewallRule]) -> String {
    let texts: Vec<String> = rules.iter().map(ToString::to_string).collect();
    let word = if texts.len() == 1 { "rule" } else { "rules" };
    format!("{word} {}", texts.join(", "))
}

/// Prints lint findings about the rules as warnings; they do not stop `up`.
fn warn_about_rules(input: &Input) -> CliResult {
    let rules = FirewallRules::from_rules(input.rules.iter().cloned());
    let context = ClusterContext::standalone();
    for finding in lint(&context, &rules)? {
        if finding.severity >= Severity::Warning {
            eprintln!("warning: {}: {}", finding.code, finding.message);
        }
    }
    Ok(())
}

/// The spec `up` wants to record, with the catalog the type was chosen from.
fn spec_of(cx: &Context, input: &Input, instance_type: &InstanceType) -> CliResult<ClusterSpec> {
    Ok(ClusterSpec {
        state: ClusterState::Creating,
        nodes: input.nodes,
        instance_type: instance_type.id.clone(),
        location: instance_type.location().clone(),
        rules: input.rules.clone(),
        ssh_key_fingerprint: input.key.as_ref().map(|k| k.fingerprint().to_owned()),
        subnets: Vec::new(),
        node_ref_ids: ClusterSpec::node_ref_ids(&input.cluster, input.nodes)?,
        created_at: Utc::now(),
        catalog: cx.catalog_path(),
    })
}

/// Records the cluster before any node exists, so `sweep` never takes its nodes for
/// orphans. Returns true when the cluster is new (or was down).
///
/// # Errors
/// Exit 2 when a live cluster of that name has a different spec.
fn record(cx: &Context, name: &str, wanted: &ClusterSpec) -> CliResult<bool> {
    let inventory = cx.inventory()?;
    let mut locked = inventory.lock()?;
    match locked.clusters.get_mut(name) {
        Some(existing) if existing.state == ClusterState::Terminating => Err(CliError::usage(
            format!("cluster {name} is being torn down"),
        )
        .with_hint(format!(
            "finish with `computectl down --cluster {name}`, then run `up` again"
        ))),
        Some(existing) if existing.state != ClusterState::Down => {
            let diff = existing.differences(wanted);
            if !diff.is_empty() {
                return Err(CliError::usage(format!(
                    "cluster {name} exists with a different spec: {}",
                    diff.join("; ")
                ))
                .with_hint(format!(
                    "tear it down first with `computectl down --cluster {name}`, or pick \
                     another name"
                )));
            }
            Ok(false)
        }
        _ => {
            locked.clusters.insert(name.to_owned(), wanted.clone());
            locked.save()?;
            Ok(true)
        }
    }
}

/// One create request per node: same type, cluster, rules and key; ref id `<cluster>-<i>`.
fn requests(input: &Input, type_id: &InstanceTypeId, ref_ids: &[RefId]) -> Vec<CreateInstance> {
    let rules = FirewallRules::from_rules(input.rules.iter().cloned());
    ref_ids
        .iter()
        .map(|ref_id| {
            let mut request = CreateInstance::new(ref_id.clone(), type_id.clone())
                .with_name(ref_id.as_str())
                .with_cluster(&input.cluster)
                .with_firewall_rules(rules.clone());
            if let Some(key) = &input.key {
                request = request.with_public_key(key.clone());
            }
            request
        })
        .collect()
}

/// Runs the group create with a progress bar; counts the nodes actually created.
///
/// The first Ctrl-C cancels the group create, which stops launching, rolls back what this
/// run created and returns a cancelled [`GroupError`]; a second one exits at once (130),
/// saying which nodes may remain.
fn create(
    cx: &Context,
    provider: &Arc<dyn Provider>,
    input: &Input,
    requests: Vec<CreateInstance>,
    args: &UpArgs,
    created: &AtomicUsize,
    interrupts: Interrupts,
) -> CliResult<Result<Vec<Instance>, GroupError>> {
    let bar = progress::bar(
        u64::from(input.nodes),
        format!("starting {}", input.cluster),
    );
    let counter = Arc::new(AtomicUsize::new(0));
    let live = Arc::new(Mutex::new(BTreeSet::new()));
    let cancellation = Cancellation::new();
    let options = GroupOptions::new()
        .with_concurrency(args.concurrency)
        .with_wait(cx.wait_options(Duration::from_secs(args.timeout)))
        .with_cancellation(cancellation.clone())
        .with_progress({
            let bar = bar.clone();
            let counter = Arc::clone(&counter);
            let live = Arc::clone(&live);
            move |event| {
                track(&live, event);
                on_event(&bar, &counter, event);
            }
        });

    let watch = on_interrupts(
        interrupts,
        cancellation.clone(),
        bar.clone(),
        input.cluster.clone(),
        live,
    );
    let result = cx.block_on(async {
        let watcher = tokio::spawn(watch);
        let result = create_group(Arc::clone(provider), requests, options).await;
        watcher.abort();
        Ok(result)
    });
    bar.finish_and_clear();
    created.store(counter.load(Ordering::Relaxed), Ordering::Relaxed);
    if cancellation.is_cancelled() && matches!(result, Ok(Ok(_))) {
        eprintln!(
            "note: interrupted after every node was running; cluster {} is up (remove it \
             with `computectl down --cluster {}`)",
            input.cluster, input.cluster
        );
    }
    result
}

/// Keeps the ids of the nodes this run created and has not yet seen removed.
fn track(live: &Mutex<BTreeSet<InstanceId>>, event: &GroupEvent) {
    let mut live = live
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match event {
        GroupEvent::Created { instance_id, .. } => {
            live.insert(instance_id.clone());
        }
        GroupEvent::Removed { instance_id } => {
            live.remove(instance_id);
        }
        _ => {}
    }
}

/// Cancels the group create on the first Ctrl-C; exits the process on the second.
async fn on_interrupts(
    mut interrupts: Interrupts,
    cancellation: Cancellation,
    bar: indicatif::ProgressBar,
    cluster: String,
    live: Arc<Mutex<BTreeSet<InstanceId>>>,
) {
    interrupts.next().await;
    bar.suspend(|| {
        eprintln!(
            "interrupted: rolling back the nodes this run created (press Ctrl-C again to \
             stop at once)"
        );
    });
    cancellation.cancel();

    interrupts.next().await;
    bar.finish_and_clear();
    let left: Vec<InstanceId> = live
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .cloned()
        .collect();
    let what = if left.is_empty() {
        "no node was seen created, but a create in flight may still make one".to_owned()
    } else {
        format!("may remain: {}", ids(&left))
    };
    CliError::interrupted(format!(
        "interrupted again: stopped before the roll-back finished; cluster {cluster}: {what}"
    ))
    .with_hint(format!(
        "remove what is left with `computectl down --cluster {cluster}`; `computectl sweep` \
         lists anything else this SDK left"
    ))
    .report();
    std::process::exit(i32::from(EXIT_INTERRUPTED));
}

/// Moves the progress bar along with the group create's events.
fn on_event(bar: &indicatif::ProgressBar, created: &AtomicUsize, event: &GroupEvent) {
    match event {
        GroupEvent::Created { ref_id, .. } => {
            created.fetch_add(1, Ordering::Relaxed);
            bar.set_message(format!("created {ref_id}, waiting for running"));
        }
        GroupEvent::Adopted { ref_id, .. } => {
            bar.set_message(format!("{ref_id} already exists"));
        }
        GroupEvent::Running { ref_id, .. } => {
            bar.inc(1);
            bar.set_message(format!("{ref_id} is running"));
        }
        GroupEvent::CreateFailed { ref_id, kind, .. } | GroupEvent::WaitFailed { ref_id, kind } => {
            bar.set_message(format!("{ref_id} failed ({kind})"));
        }
        GroupEvent::RollingBack { instances } => {
            bar.set_message(format!(
                "rolling back {}",
                plural(*instances as u64, "node", "nodes")
            ));
        }
        GroupEvent::Removed { instance_id } => {
            bar.set_message(format!("removed {instance_id}"));
        }
        _ => {}
    }
}

/// Updates the inventory after a failed create and returns the error to report.
///
/// The roll-back removes only the nodes this run created; nodes that already existed
/// (a rerun's running nodes) are kept. When no node remains, a new cluster is forgotten
/// (nothing changed) and a rerun's cluster is marked down. When any node remains, kept
/// or left behind, the record stays as it was, so `ls` and `firewall` still see the
/// cluster, `down` can remove it and `sweep` does not call its nodes orphans.
fn after_failure(cx: &Context, name: &str, is_new: bool, err: GroupError) -> CliError {
    let clean = err.is_clean();
    let nothing_remains = clean && err.kept().is_empty();
    let updated = cx.inventory().and_then(|inventory| {
        let mut locked = inventory.lock()?;
        if nothing_remains && is_new {
            locked.clusters.remove(name);
        } else if nothing_remains && let Some(spec) = locked.clusters.get_mut(name) {
            spec.state = ClusterState::Down;
        }
        locked.save()
    });
    if let Err(e) = updated {
        tracing::warn!(error = %e, "cannot update the cluster inventory after a failed up");
    }

    let what = if err.kept().is_empty() {
        "is not up"
    } else {
        "is not fully up"
    };
    let message = format!("cluster {name} {what}: {}", summarize(&err));
    let refused = is_refused(&err);
    let cancelled = err.is_cancelled();
    let converted = CliError::from(Error::from(err));
    let err = if cancelled {
        CliError::interrupted(message)
    } else if converted.code() == crate::error::EXIT_USAGE {
        CliError::usage(message)
    } else {
        CliError::failed(message)
    };
    if refused
        && !cancelled
        && let Some(hint) = converted.hint()
    {
        err.with_hint(hint)
    } else if nothing_remains && cancelled {
        err.with_hint("nothing was left behind; run `up` again to create the cluster")
    } else if nothing_remains {
        err.with_hint("nothing was left behind; fix the cause and run `up` again")
    } else if clean {
        err.with_hint(format!(
            "the nodes that already existed were kept; fix the cause and run `up` again, \
             or remove the cluster with `computectl down --cluster {name}`"
        ))
    } else {
        err.with_hint(format!(
            "some nodes may remain; remove them with `computectl down --cluster {name}`"
        ))
    }
}

/// True when the group was refused before any node was started (e.g. by the quota
/// preflight), so nothing was created.
fn is_refused(err: &GroupError) -> bool {
    err.failures().is_empty() && err.rolled_back().is_empty() && err.unresolved().is_empty()
}

/// Says what failed and what was cleaned up, listing ids only when they are few.
fn summarize(err: &GroupError) -> String {
    if is_refused(err) && err.is_cancelled() {
        return "interrupted before any node was created; nothing was created".to_owned();
    }
    if is_refused(err) {
        return format!("{}; nothing was created", err.cause());
    }
    let failures = err.failures();
    let mut text = match failures.first() {
        Some((ref_id, first)) => format!(
            "{} failed, first {ref_id}: {}: {}",
            plural(failures.len() as u64, "node", "nodes"),
            first.kind(),
            first.message()
        ),
        None if err.is_cancelled() => "interrupted".to_owned(),
        None => err.cause().to_string(),
    };
    if err.is_cancelled() && !failures.is_empty() {
        text.push_str("; interrupted");
    }
    if !err.not_started().is_empty() {
        text.push_str(&format!("; {} not started", err.not_started().len()));
    }
    text.push_str(&format!("; rolled back {}", ids(err.cleaned_up())));
    if !err.kept().is_empty() {
        let kept: Vec<&InstanceId> = err.kept().iter().map(|(_, id)| id).collect();
        text.push_str(&format!("; kept {} that already existed", ids(&kept)));
    }
    if !err.left_behind().is_empty() {
        text.push_str(&format!("; may remain: {}", ids(err.left_behind())));
    }
    if !err.unresolved().is_empty() {
        text.push_str(&format!("; may still appear: {}", ids(err.unresolved())));
    }
    text
}

/// `3 nodes [i-1, i-2, i-3]`, or only the count past ten.
fn ids<T: std::fmt::Display>(items: &[T]) -> String {
    let count = plural(items.len() as u64, "node", "nodes");
    if items.is_empty() || items.len() > 10 {
        return count;
    }
    let list: Vec<String> = items.iter().map(ToString::to_string).collect();
    format!("{count} [{}]", list.join(", "))
}

/// Marks the cluster up and records the subnets the provider reported.
fn finish(cx: &Context, name: &str, instances: &[Instance]) -> CliResult<ClusterSpec> {
    let inventory = cx.inventory()?;
    let mut locked = inventory.lock()?;
    let spec = locked
        .clusters
        .get_mut(name)
        .ok_or_else(|| CliError::failed(format!("cluster {name} vanished from the inventory")))?;
    spec.state = ClusterState::Up;
    if let Some(subnets) = reported_subnets(instances) {
        spec.subnets = subnets;
    }
    let spec = spec.clone();
    locked.save()?;
    Ok(spec)
}

/// The subnet every node reports (`subnet_id` holding a CIDR, as `subnet-10.0.0.0/24`),
/// when all agree and it holds every node's private address.
fn reported_subnets(instances: &[Instance]) -> Option<Vec<IpNet>> {
    let mut subnet: Option<IpNet> = None;
    for inst in instances {
        let text = inst.network.subnet_id.as_deref()?;
        let cidr = text.rsplit_once('-').map_or(text, |(_, c)| c);
        let net: IpNet = cidr.parse().ok()?;
        let private: IpAddr = inst.network.private_ip?;
        if !net.contains(&private) || subnet.is_some_and(|s| s != net) {
            return None;
        }
        subnet = Some(net);
    }
    subnet.map(|s| vec![s])
}

/// Prints the nodes, the total price and the notes.
fn report(
    cx: &Context,
    name: &str,
    spec: &ClusterSpec,
    views: Vec<InstanceView>,
    total: Option<PriceView>,
    changed: bool,
    notes: Vec<String>,
) -> CliResult {
    if cx.out.is_json() {
        return cx.out.json(&UpJson {
            version: JSON_VERSION,
            cluster: ClusterJson {
                name: name.to_owned(),
                state: spec.state.as_str(),
                nodes: spec.nodes,
                instance_type: spec.instance_type.to_string(),
                location: spec.location.to_string(),
                rules: spec.rules.iter().map(ToString::to_string).collect(),
                ssh_key_fingerprint: spec.ssh_key_fingerprint.clone(),
                subnets: spec.subnets.clone(),
                catalog: spec.catalog.as_ref().map(|p| p.display().to_string()),
            },
            changed,
            nodes: views,
            total_price: total,
            notes,
        });
    }

    if !changed {
        eprintln!("cluster {name} is already up with this spec; nothing changed");
    }
    let rows = views.iter().map(InstanceView::row).collect();
    let mut text = table(&InstanceView::HEADER, rows);
    if let Some(total) = total {
        text.push_str(&format!(
            "\ncluster {name}: {}, {} in total",
            plural(views.len() as u64, "node", "nodes"),
            total.per_hour()
        ));
    }
    cx.out.text(&text)?;
    for note in notes {
        eprintln!("note: {note}");
    }
    Ok(())
}

/// Sum of the nodes' prices, when every node has one in one currency.
fn total_price(prices: &[Option<Price>]) -> Option<PriceView> {
    let mut total: Option<Price> = None;
    for price in prices {
        let price = (*price)?;
        total = Some(match total {
            None => price,
            Some(t) => t.checked_add(price).ok()?,
        });
    }
    total.map(PriceView::from)
}

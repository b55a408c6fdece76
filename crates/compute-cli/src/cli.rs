//! The command tree: global options, every command and its arguments, with examples.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use compute_types::Bytes;

/// Text shown after the top-level help.
const TOP_EXAMPLES: &str = "\
Examples:
  computectl types --gpu H100
  computectl plan --gpu H100 --gpus-per-node 8 --nodes 2
  computectl up --cluster demo --gpu H100 --gpus-per-node 8 --nodes 2
  computectl ls --cluster demo
  computectl firewall check --cluster demo --to demo-0 --from 203.0.113.9 --port 22
  computectl down --cluster demo

Exit codes: 0 success, 1 operation failed, 2 usage or invalid input.";

/// computectl: find GPU capacity, launch clusters with a safe firewall, tear them down.
#[derive(Debug, Parser)]
#[command(name = "computectl", version, about, after_help = TOP_EXAMPLES)]
#[command(max_term_width = 100)]
pub(crate) struct Cli {
    /// Global options, valid before or after the command.
    #[command(flatten)]
    pub(crate) global: GlobalArgs,

    /// The command to run.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command accepts, listed under their own heading in every `--help`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub(crate) struct GlobalArgs {
    /// Provider to use.
    #[arg(long, global = true, value_name = "NAME", default_value = "fake")]
    pub(crate) provider: String,

    /// Catalog file (CSV or JSON) or a directory of them; default: the built-in catalog.
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) catalog: Option<PathBuf>,

    /// State file of the fake provider [default: computectl/state.json in the data directory].
    #[arg(long, global = true, value_name = "PATH", env = "COMPUTECTL_STATE")]
    pub(crate) state: Option<PathBuf>,

    /// Output format.
    #[arg(short, long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub(crate) output: OutputFormat,

    /// More log detail on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub(crate) verbose: u8,

    /// Boot delay of the fake provider in milliseconds (for tests and demos).
    #[arg(long, global = true, hide = true, env = "COMPUTECTL_FAKE_BOOT_MS")]
    pub(crate) fake_boot_ms: Option<u64>,

    /// Terminate delay of the fake provider in milliseconds (for tests and demos).
    #[arg(long, global = true, hide = true, env = "COMPUTECTL_FAKE_TERMINATE_MS")]
    pub(crate) fake_terminate_ms: Option<u64>,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// Aligned columns for people.
    Table,
    /// JSON for scripts; the schema is documented in docs/CLI_JSON.md.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List instance types of the catalog, filtered.
    #[command(after_help = "\
Examples:
  computectl types --gpu H100
  computectl types --gpu A100 --gpus 8 --sort price-per-gpu
  computectl types --min-gpu-memory 80GiB --max-price 30 --location us-east-1 -o json
  computectl --catalog ../shared/data/catalogs types --gpu H100 --spot

--catalog takes a catalog file or a directory of catalog CSVs, such as
../shared/data/catalogs in the SDK's repository layout.")]
    Types(TypesArgs),

    /// List locations: regions, zones, availability and country.
    #[command(after_help = "\
Examples:
  computectl locations
  computectl --catalog ../shared/data/catalogs locations -o json

--catalog takes a catalog file or a directory of catalog CSVs, such as
../shared/data/catalogs in the SDK's repository layout.")]
    Locations,

    /// Rank offers for a cluster across providers, with the reasons others were rejected.
    #[command(after_help = "\
Examples:
  computectl plan --gpu H100 --gpus-per-node 8 --nodes 2
  computectl plan --gpu A100 --gpus-per-node 8 --nodes 4 --max-price 100 --location us-east-1")]
    Plan(PlanArgs),

    /// Create a cluster: allocate its subnet, create the nodes, wait until all run.
    #[command(long_about = "\
Create a cluster: allocate its subnet, create the nodes concurrently, wait until all run.

All-or-nothing: when any node fails, the nodes this run created are terminated and the
error says what failed and what was cleaned up; nodes that already existed (a rerun's) are
kept. Running `up` again with the same spec is a no-op. Without --allow, only traffic
between the cluster's nodes is let in; without --ssh-key, no key is authorised, so nobody
can log in over SSH.")]
    #[command(override_usage = "\
computectl up --cluster <NAME> --nodes <N> --type <ID> [OPTIONS]
       computectl up --cluster <NAME> --nodes <N> --gpu <MODEL> --gpus-per-node <G> [OPTIONS]")]
    #[command(after_help = "\
Examples:
  computectl up --cluster demo --gpu H100 --gpus-per-node 8 --nodes 2
  computectl up --cluster train --type gpu-8x-a100-80gb-sxm --nodes 4 --location us-east-1 \\
      --allow tcp:22@203.0.113.0/24 --ssh-key ~/.ssh/id_ed25519.pub")]
    Up(UpArgs),

    /// List instances with state, addresses, type, price and age.
    #[command(after_help = "\
Examples:
  computectl ls
  computectl ls --cluster demo -o json")]
    Ls(LsArgs),

    /// Show one instance in detail.
    #[command(after_help = "\
Examples:
  computectl show demo-0
  computectl show i-00000001 -o json")]
    Show(ShowArgs),

    /// Terminate every node of a cluster and wait; succeeds when nothing is left.
    #[command(after_help = "\
Examples:
  computectl down --cluster demo")]
    Down(DownArgs),

    /// Ask what may reach a node, show its policy as nftables, or lint a cluster's rules.
    #[command(subcommand)]
    #[command(after_help = "\
Examples:
  computectl firewall check --cluster demo --to demo-0 --from 203.0.113.9 --port 22
  computectl firewall render --cluster demo --to demo-0
  computectl firewall lint --cluster demo")]
    Firewall(FirewallCommand),

    /// List instances this SDK created that no cluster knows (orphans); terminate with --yes.
    #[command(after_help = "\
Examples:
  computectl sweep
  computectl sweep --yes")]
    Sweep(SweepArgs),
}

/// Most nodes one cluster may have.
pub(crate) const MAX_NODES: u32 = 100_000;

/// Most GPUs one node may be asked to have: far above any shape sold today, low enough to
/// catch a typo.
pub(crate) const MAX_GPUS_PER_NODE: u32 = 1_024;

/// Parses a count flag (`--nodes`, `--gpus`, `--gpus-per-node`), a whole number from 1 to
/// `max`, with the same message for every command and every way to miss: `0`, `-1`,
/// `4294967296`, `two`.
#[derive(Debug, Clone, Copy)]
struct CountParser {
    flag: &'static str,
    max: u32,
}

const NODES: CountParser = CountParser {
    flag: "--nodes",
    max: MAX_NODES,
};
const GPUS: CountParser = CountParser {
    flag: "--gpus",
    max: MAX_GPUS_PER_NODE,
};
const GPUS_PER_NODE: CountParser = CountParser {
    flag: "--gpus-per-node",
    max: MAX_GPUS_PER_NODE,
};

impl clap::builder::TypedValueParser for CountParser {
    type Value = u32;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<u32, clap::Error> {
        let text = value.to_string_lossy();
        match text.trim().parse::<u32>() {
            Ok(n) if (1..=self.max).contains(&n) => Ok(n),
            _ => {
                let (flag, max) = (self.flag, self.max);
                let message = format!("{flag} must be at least 1 and at most {max}, not `{text}`");
                Err(
                    clap::Error::raw(clap::error::ErrorKind::ValueValidation, message)
                        .with_cmd(cmd),
                )
            }
        }
    }
}

/// Parses a GPU memory size, which must carry a unit: a bare `80` would mean 80 bytes.
fn parse_gpu_memory(text: &str) -> Result<Bytes, String> {
    if text.trim().ends_with(|c: char| c.is_ascii_digit()) {
        return Err(format!(
            "`{text}` has no unit; write it with one, e.g. {}GiB",
            text.trim()
        ));
    }
    Bytes::parse(text).map_err(|e| e.message().to_owned())
}

/// Arguments of `types`.
#[derive(Debug, Args)]
pub(crate) struct TypesArgs {
    /// Only types with this GPU model, e.g. H100 (case-insensitive).
    #[arg(long, value_name = "MODEL")]
    pub(crate) gpu: Option<String>,

    /// Only types with exactly this many GPUs.
    #[arg(long, value_name = "N", value_parser = GPUS, allow_hyphen_values = true)]
    pub(crate) gpus: Option<u32>,

    /// Only types with at least this much memory per GPU, with a unit, e.g. 80GiB or 40GB.
    #[arg(long, value_name = "SIZE", value_parser = parse_gpu_memory, allow_hyphen_values = true)]
    pub(crate) min_gpu_memory: Option<Bytes>,

    /// Only types in this location.
    #[arg(long, value_name = "LOCATION")]
    pub(crate) location: Option<String>,

    /// Only types costing at most this much per hour, e.g. 30, 30 USD or 2.5EUR (USD unless a
    /// currency is given; it must be the catalog's currency).
    #[arg(long, value_name = "PRICE", allow_hyphen_values = true)]
    pub(crate) max_price: Option<String>,

    /// Show and filter by spot prices instead of on-demand prices.
    #[arg(long)]
    pub(crate) spot: bool,

    /// Sort order.
    #[arg(long, value_enum, default_value_t = SortKey::Price)]
    pub(crate) sort: SortKey,
}

/// How `types` sorts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SortKey {
    /// Cheapest instance first.
    Price,
    /// Cheapest per GPU first.
    PricePerGpu,
}

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    /// GPU model, e.g. H100.
    #[arg(long, value_name = "MODEL")]
    pub(crate) gpu: String,

    /// GPUs on each node.
    #[arg(long, value_name = "G", value_parser = GPUS_PER_NODE, allow_hyphen_values = true)]
    pub(crate) gpus_per_node: u32,

    /// Number of nodes, 1 to 100000.
    #[arg(long, value_name = "N", value_parser = NODES, allow_hyphen_values = true)]
    pub(crate) nodes: u32,

    /// Most the whole cluster may cost per hour, e.g. 100, 100 USD or 90EUR (USD unless a
    /// currency is given; it must be the catalog's currency).
    #[arg(long, value_name = "PRICE", allow_hyphen_values = true)]
    pub(crate) max_price: Option<String>,

    /// Only this location.
    #[arg(long, value_name = "LOCATION")]
    pub(crate) location: Option<String>,
}

/// Arguments of `up`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("shape").required(true).args(["type_id", "gpu"]))]
pub(crate) struct UpArgs {
    /// Cluster name: lower-case letters, digits and '-', starting with a letter.
    #[arg(long, value_name = "NAME")]
    pub(crate) cluster: String,

    /// Number of nodes, 1 to 100000.
    #[arg(long, value_name = "N", value_parser = NODES, allow_hyphen_values = true)]
    pub(crate) nodes: u32,

    /// Instance type: a type name (e.g. gpu-8x-h100-sxm) or a full type id.
    #[arg(long = "type", value_name = "ID", conflicts_with_all = ["gpu", "gpus_per_node"])]
    pub(crate) type_id: Option<String>,

    /// GPU model; needs --gpus-per-node. The cheapest type with that many of them is picked.
    #[arg(long, value_name = "MODEL", requires = "gpus_per_node")]
    pub(crate) gpu: Option<String>,

    /// GPUs on each node; required with --gpu, and only valid with it.
    #[arg(
        long,
        value_name = "G",
        requires = "gpu",
        value_parser = GPUS_PER_NODE,
        allow_hyphen_values = true
    )]
    pub(crate) gpus_per_node: Option<u32>,

    /// Location to launch in; default: wherever the chosen type is cheapest.
    #[arg(long, value_name = "LOCATION")]
    pub(crate) location: Option<String>,

    /// Let traffic in, in compact rule form, e.g. tcp:22@203.0.113.0/24 (repeatable).
    #[arg(long, value_name = "RULE")]
    pub(crate) allow: Vec<String>,

    /// OpenSSH public key file to authorise on every node.
    #[arg(long, value_name = "FILE.pub")]
    pub(crate) ssh_key: Option<PathBuf>,

    /// Most nodes created at the same time.
    #[arg(long, value_name = "N", default_value_t = 8, hide = true)]
    pub(crate) concurrency: usize,

    /// Give up waiting for the nodes after this many seconds (at least 1: a zero wait
    /// would create nodes only to roll them back).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 1800,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub(crate) timeout: u64,
}

/// Arguments of `ls`.
#[derive(Debug, Args)]
pub(crate) struct LsArgs {
    /// Only this cluster's nodes.
    #[arg(long, value_name = "NAME")]
    pub(crate) cluster: Option<String>,

    /// Include terminating and terminated instances.
    #[arg(short, long)]
    pub(crate) all: bool,
}

/// Arguments of `show`.
#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// Instance: its id, name or ref id.
    #[arg(value_name = "INSTANCE")]
    pub(crate) instance: String,
}

/// Arguments of `down`.
#[derive(Debug, Args)]
pub(crate) struct DownArgs {
    /// Cluster to tear down.
    #[arg(long, value_name = "NAME")]
    pub(crate) cluster: String,

    /// Give up waiting for termination after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub(crate) timeout: u64,
}

/// The `firewall` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum FirewallCommand {
    /// Would a packet from an address reach a node? Prints allow or deny and the reason.
    #[command(long_about = "\
Would a packet from an address reach a node? Prints allow or deny and the reason: the
matched rule, cluster-internal traffic, or the default deny. A deny is an answer, not a
failure: the exit code is 0 either way.")]
    #[command(after_help = "\
Examples:
  computectl firewall check --cluster demo --to demo-0 --from 203.0.113.9 --port 22
  computectl firewall check --cluster demo --to demo-1 --from 10.0.0.5 --port 53 --proto udp")]
    Check(CheckArgs),

    /// Print a node's inbound policy as nftables text.
    #[command(after_help = "\
Examples:
  computectl firewall render --cluster demo --to demo-0
  computectl firewall render --cluster demo --to demo-0 --format nftables > demo-0.nft")]
    Render(RenderArgs),

    /// Report risky or useless rules of a cluster.
    #[command(long_about = "\
Report risky or useless rules of a cluster, each with a severity: info, warning or error.
Findings are an answer, so the exit code is 0 whatever they say, unless --fail-on is given:
then it is 1 when a finding at or above that severity exists (the findings are printed
either way). In CI, `--fail-on error` fails the job on errors only and `--fail-on warning`
on warnings too.")]
    #[command(after_help = "\
Examples:
  computectl firewall lint --cluster demo
  computectl firewall lint --cluster demo -o json
  computectl firewall lint --cluster demo --fail-on error")]
    Lint(LintArgs),
}

/// Arguments of `firewall check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Cluster of the receiving node.
    #[arg(long, value_name = "NAME")]
    pub(crate) cluster: String,

    /// Receiving node: its id, name or ref id.
    #[arg(long, value_name = "INSTANCE")]
    pub(crate) to: String,

    /// Sending address (IPv4 or IPv6).
    #[arg(long, value_name = "ADDR")]
    pub(crate) from: std::net::IpAddr,

    /// Destination port (required for tcp and udp).
    #[arg(long, value_name = "P", value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) port: Option<u16>,

    /// Protocol.
    #[arg(long, value_enum, default_value_t = Proto::Tcp)]
    pub(crate) proto: Proto,
}

/// Protocols `firewall check` understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP.
    Icmp,
}

/// Arguments of `firewall render`.
#[derive(Debug, Args)]
pub(crate) struct RenderArgs {
    /// Cluster of the node.
    #[arg(long, value_name = "NAME")]
    pub(crate) cluster: String,

    /// Node: its id, name or ref id.
    #[arg(long, value_name = "INSTANCE")]
    pub(crate) to: String,

    /// Output language.
    #[arg(long, value_enum, default_value_t = RenderFormat::Nftables)]
    pub(crate) format: RenderFormat,
}

/// Languages `firewall render` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RenderFormat {
    /// An nftables ruleset (`nft -f`).
    Nftables,
}

/// Arguments of `firewall lint`.
#[derive(Debug, Args)]
pub(crate) struct LintArgs {
    /// Cluster to lint.
    #[arg(long, value_name = "NAME")]
    pub(crate) cluster: String,

    /// Exit 1 when a finding at or above this severity exists [default: never fail].
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub(crate) fail_on: Option<FailOn>,
}

/// The least severity that makes `firewall lint --fail-on` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub(crate) enum FailOn {
    /// Any finding.
    Info,
    /// Warnings and errors.
    Warning,
    /// Errors only.
    Error,
}

/// Arguments of `sweep`.
#[derive(Debug, Args)]
pub(crate) struct SweepArgs {
    /// Terminate the orphans found; without it they are only listed.
    #[arg(long)]
    pub(crate) yes: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_has_an_example() {
        let cli = Cli::command();

        let missing = all_commands(&cli)
            .into_iter()
            .filter(|c| {
                !c.get_after_help()
                    .is_some_and(|h| h.to_string().contains("computectl"))
            })
            .map(|c| c.get_name().to_owned())
            .collect::<Vec<_>>();

        assert!(
            missing.is_empty(),
            "commands without an example: {missing:?}"
        );
    }

    #[test]
    fn up_needs_a_shape() {
        let parsed = Cli::try_parse_from(["computectl", "up", "--cluster", "a", "--nodes", "1"]);

        assert!(parsed.is_err());
    }

    #[test]
    fn gpu_memory_needs_a_unit() {
        let bare = parse_gpu_memory("80");
        let with_unit = parse_gpu_memory("80GiB");
        let unknown = parse_gpu_memory("80 parsecs");

        assert!(bare.is_err_and(|e| e.contains("no unit") && e.contains("80GiB")));
        assert_eq!(with_unit, Ok(Bytes::gib(80)));
        assert!(unknown.is_err_and(|e| e.contains("unknown unit")));
    }

    #[test]
    fn global_options_go_anywhere() {
        let cli = Cli::try_parse_from(["computectl", "types", "-o", "json", "-vv"]).unwrap();

        assert_eq!(cli.global.output, OutputFormat::Json);
        assert_eq!(cli.global.verbose, 2);
        assert_eq!(cli.global.provider, "fake");
    }

    fn all_commands(cmd: &clap::Command) -> Vec<&clap::Command> {
        let mut out = vec![cmd];
        for sub in cmd.get_subcommands() {
            out.extend(all_commands(sub));
        }
        out
    }
}

//! L3 model of the compute SDK: address plans, firewall policy, reachability, nftables.

pub mod cidr;
mod diff;
mod flow;
mod hosts;
mod index;
mod lint;
mod network;
mod nft;
mod normalize;
mod plan;
mod policy;

pub use diff::{RuleDiff, diff};
pub use flow::{Decision, Flow, PortSet, Reach, Reason, RuleRef};
pub use hosts::{DEFAULT_RESERVED_HOSTS, HostAllocator};
pub use lint::{Finding, LintCode, Severity, lint};
pub use network::{InstanceInfo, InstanceSpec, Network, ReachabilityMatrix};
pub use nft::render_nftables;
pub use normalize::{CanonicalizedCidr, Normalized, ensure_unique, normalize};
pub use plan::{AddressPlan, ClusterSubnets, DEFAULT_IPV4_SUPERNET, SubnetSize};
pub use policy::{ClusterContext, NaivePolicy, PeerCluster, Policy, validate_rules};

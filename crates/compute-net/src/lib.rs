//! L3 model of the compute SDK: address plans, firewall policy, reachability, nftables.

pub mod cidr;
mod diff;
mod flow;
mod index;
mod lint;
mod normalize;
mod policy;

pub use diff::{RuleDiff, diff};
pub use flow::{Decision, Flow, PortSet, Reach, Reason, RuleRef};
pub use lint::{Finding, LintCode, Severity, lint};
pub use normalize::{CanonicalizedCidr, Normalized, ensure_unique, normalize};
pub use policy::{ClusterContext, NaivePolicy, PeerCluster, Policy, validate_rules};

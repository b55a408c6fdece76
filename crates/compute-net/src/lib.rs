//! L3 model of the compute SDK: address plans, firewall policy, reachability, nftables.

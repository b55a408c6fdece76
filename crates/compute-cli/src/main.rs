//! computectl: find GPU capacity, launch clusters with a safe firewall, tear them down.

fn main() {}

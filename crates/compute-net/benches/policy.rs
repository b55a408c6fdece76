//! Criterion benches for policy evaluation.

fn main() {}

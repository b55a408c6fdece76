//! Benchmarks of the fake provider.

fn main() {}

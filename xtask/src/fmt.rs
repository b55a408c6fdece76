//! `cargo xtask fmt`: format the whole workspace.

use std::path::Path;

use crate::{
    Result,
    cmd::{self, cargo},
};

/// Runs `cargo fmt --all`.
pub(crate) fn run(root: &Path) -> Result {
    cmd::run(cargo(root).args(["fmt", "--all"]))
}

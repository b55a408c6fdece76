//! `computectl locations`.

use crate::{
    context::Context,
    error::{CliError, CliResult},
};

/// Not wired yet.
pub(super) fn run(cx: &Context) -> CliResult {
    let _ = cx;
    Err(CliError::failed("not wired yet"))
}

//! Ctrl-C as a stream of interrupts, so a long command can clean up on the first one and
//! stop at once on the second.

use crate::error::{CliError, CliResult};

/// Interrupts (SIGINT, or Ctrl-C on Windows) received since [`Interrupts::listen`].
///
/// While one exists (and after, for the rest of the process), Ctrl-C no longer ends the
/// process by itself; the command decides what it does.
#[derive(Debug)]
pub(crate) struct Interrupts {
    #[cfg(unix)]
    signal: tokio::signal::unix::Signal,
    #[cfg(windows)]
    signal: tokio::signal::windows::CtrlC,
}

impl Interrupts {
    /// Starts listening. Must run inside the runtime ([`Context::block_on`]).
    ///
    /// [`Context::block_on`]: crate::context::Context::block_on
    ///
    /// # Errors
    /// Exit 1 when the handler cannot be installed.
    pub(crate) fn listen() -> CliResult<Self> {
        #[cfg(unix)]
        let signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
        #[cfg(windows)]
        let signal = tokio::signal::windows::ctrl_c();
        let signal =
            signal.map_err(|e| CliError::failed(format!("cannot listen for ctrl-c: {e}")))?;
        Ok(Self { signal })
    }

    /// Completes on the next interrupt (at once for one received and not yet taken).
    pub(crate) async fn next(&mut self) {
        if self.signal.recv().await.is_none() {
            // The listener was shut down with the runtime: no interrupt will come.
            std::future::pending::<()>().await;
        }
    }
}

//! What a command runs with: the output format, the catalog, the provider and the inventory,
//! each made only when the command first asks for it.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, OnceLock},
    time::Duration,
};

use compute_provider::{Provider, WaitOptions};

use crate::{
    cli::GlobalArgs,
    error::{CliError, CliResult},
    inventory::Inventory,
    output::Output,
};

/// Providers this build knows.
pub(crate) const PROVIDERS: &[&str] = &["fake"];

/// The state file's name under the data directory.
const DEFAULT_STATE: &str = "computectl/state.json";

/// Everything a command needs, built lazily from the global options.
#[derive(Debug)]
pub(crate) struct Context {
    /// Where results go.
    pub(crate) out: Output,
    catalog_path: Option<PathBuf>,
    state_path: PathBuf,
    runtime: OnceLock<tokio::runtime::Runtime>,
}

impl Context {
    /// Checks the global options; nothing is loaded yet.
    ///
    /// # Errors
    /// Exit 2 for an unknown provider; exit 1 when no state path can be found.
    pub(crate) fn new(global: &GlobalArgs) -> CliResult<Self> {
        if !PROVIDERS.contains(&global.provider.as_str()) {
            return Err(
                CliError::usage(format!("unknown provider `{}`", global.provider))
                    .with_hint(format!("available providers: {}", PROVIDERS.join(", "))),
            );
        }
        let state_path = match &global.state {
            Some(path) => path.clone(),
            None => default_state_path()?,
        };
        Ok(Self {
            out: Output::new(global.output),
            catalog_path: global.catalog.clone(),
            state_path,
            runtime: OnceLock::new(),
        })
    }

    /// Returns the `--catalog` path, when given.
    pub(crate) fn catalog_path(&self) -> Option<&Path> {
        self.catalog_path.as_deref()
    }

    /// Returns the provider's state file.
    pub(crate) fn state_path(&self) -> &Path {
        &self.state_path
    }

    /// Returns the cluster inventory beside the state file.
    pub(crate) fn inventory(&self) -> Inventory {
        Inventory::beside(&self.state_path)
    }

    /// Returns the provider, wrapped in the retry and tracing layers.
    ///
    /// # Errors
    /// Exit 1 when the provider cannot be opened.
    pub(crate) fn provider(&self) -> CliResult<Arc<dyn Provider>> {
        Err(CliError::failed("provider not wired yet"))
    }

    /// How long and how often to wait for instances.
    pub(crate) fn wait_options(&self, timeout: Duration) -> WaitOptions {
        WaitOptions::new(timeout).with_poll_interval(Duration::from_millis(200))
    }

    /// Runs a future to completion on a single-threaded runtime made on first use.
    ///
    /// # Errors
    /// Exit 1 when the runtime cannot be started; otherwise what the future returns.
    pub(crate) fn block_on<T>(&self, future: impl Future<Output = CliResult<T>>) -> CliResult<T> {
        if self.runtime.get().is_none() {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .map_err(|e| CliError::failed(format!("cannot start the async runtime: {e}")))?;
            let _ = self.runtime.set(runtime);
        }
        match self.runtime.get() {
            Some(runtime) => runtime.block_on(future),
            None => Err(CliError::failed("cannot start the async runtime")),
        }
    }
}

/// `<data dir>/computectl/state.json`.
fn default_state_path() -> CliResult<PathBuf> {
    dirs::data_dir()
        .map(|dir| dir.join(DEFAULT_STATE))
        .ok_or_else(|| {
            CliError::failed("cannot find the user's data directory for the state file")
                .with_hint("pass --state PATH or set COMPUTECTL_STATE")
        })
}

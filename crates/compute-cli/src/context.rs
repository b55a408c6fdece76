//! What a command runs with: the output format, the catalog, the provider and the inventory,
//! each made only when the command first asks for it.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, OnceLock},
    time::Duration,
};

use crate::{
    cli::GlobalArgs,
    error::{CliError, CliResult, describe},
    inventory::Inventory,
    output::Output,
};
use compute_catalog::Catalog;
use compute_fake::FakeProvider;
use compute_provider::{Instrumented, Provider, RetryConfig, Retrying, WaitOptions};

/// Providers this build knows.
pub(crate) const PROVIDERS: &[&str] = &["fake"];

/// How often `up`, `down` and `sweep` poll the fake.
const FAKE_POLL: Duration = Duration::from_millis(200);

/// The state file's name under the data directory.
const DEFAULT_STATE: &str = "computectl/state.json";

/// Everything a command needs, built lazily from the global options.
#[derive(Debug)]
pub(crate) struct Context {
    /// Where results go.
    pub(crate) out: Output,
    provider_name: String,
    catalog_path: Option<PathBuf>,
    state_path: PathBuf,
    fake: FakeKnobs,
    catalog: OnceLock<Catalog>,
    runtime: OnceLock<tokio::runtime::Runtime>,
}

/// Delays of the fake, for tests and demos.
#[derive(Debug, Clone, Copy)]
struct FakeKnobs {
    boot_ms: Option<u64>,
    terminate_ms: Option<u64>,
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
            provider_name: global.provider.clone(),
            catalog_path: global.catalog.clone(),
            state_path,
            fake: FakeKnobs {
                boot_ms: global.fake_boot_ms,
                terminate_ms: global.fake_terminate_ms,
            },
            catalog: OnceLock::new(),
            runtime: OnceLock::new(),
        })
    }

    /// Returns the cluster inventory beside the state file.
    pub(crate) fn inventory(&self) -> Inventory {
        Inventory::beside(&self.state_path)
    }

    /// Returns the catalog: `--catalog` when given, else the built-in one; loaded once.
    ///
    /// # Errors
    /// Exit 2 naming the path when the catalog cannot be loaded.
    pub(crate) fn catalog(&self) -> CliResult<&Catalog> {
        if let Some(catalog) = self.catalog.get() {
            return Ok(catalog);
        }
        let catalog = match &self.catalog_path {
            None => Catalog::builtin(),
            Some(path) => load_catalog(path)?,
        };
        Ok(self.catalog.get_or_init(|| catalog))
    }

    /// Returns the provider, wrapped in the tracing and retry layers (tracing outermost, so
    /// each call's span records its attempts).
    ///
    /// The fake is seeded from the same catalog `types` and `plan` read, and keeps its
    /// world in the state file, so separate invocations see the same instances.
    ///
    /// # Errors
    /// Exit 1 when the state file cannot be opened (a corrupt one is named, never reset);
    /// exit 2 when the catalog cannot be loaded.
    pub(crate) fn provider(&self) -> CliResult<Arc<dyn Provider>> {
        let catalog = self.catalog()?;
        let mut config = FakeProvider::builder().from_catalog(catalog);
        if let Some(ms) = self.fake.boot_ms {
            config = config.boot_delay(Duration::from_millis(ms));
        }
        if let Some(ms) = self.fake.terminate_ms {
            config = config.terminate_delay(Duration::from_millis(ms));
        }

        let fake = FakeProvider::open(&self.state_path, config).map_err(|e| {
            CliError::failed(describe(&e)).with_hint(
                "the state file was left unchanged; fix it, move it away, or pass --state",
            )
        })?;
        let retrying: Arc<dyn Provider> =
            Arc::new(Retrying::new(Arc::new(fake), RetryConfig::default()));
        Ok(Arc::new(Instrumented::new(retrying)))
    }

    /// How long and how often to wait for instances.
    ///
    /// The fake answers from a local file, so it is polled often; a cloud would be polled
    /// at the waiter's default interval.
    pub(crate) fn wait_options(&self, timeout: Duration) -> WaitOptions {
        let options = WaitOptions::new(timeout);
        match self.provider_name.as_str() {
            "fake" => options.with_poll_interval(FAKE_POLL),
            _ => options,
        }
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

/// Loads `--catalog`, logging what the loader skipped.
fn load_catalog(path: &Path) -> CliResult<Catalog> {
    let (catalog, report) = Catalog::load_path(path).map_err(|e| {
        CliError::usage(format!("cannot load catalog: {}", describe(&e)))
            .with_hint("--catalog takes a CSV or JSON catalog file, or a directory of them")
    })?;
    tracing::info!(
        path = %path.display(),
        types = catalog.len(),
        skipped = report.rows_skipped(),
        "loaded catalog"
    );
    Ok(catalog)
}

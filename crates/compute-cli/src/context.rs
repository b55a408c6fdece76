//! What a command runs with: the output format, the catalog, the state path, the provider
//! and the inventory, each made only when the command first asks for it.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, OnceLock},
    time::{Duration, SystemTime},
};

use crate::{
    cli::GlobalArgs,
    error::{CliError, CliResult, STATE_FILE_FIELD, describe},
    inventory::Inventory,
    output::Output,
};
use compute_catalog::{Catalog, DEFAULT_MAX_CATALOG_AGE, PlanWarning};
use compute_fake::FakeProvider;
use compute_provider::{Instrumented, Provider, RetryConfig, Retrying, WaitOptions};
use compute_types::LocationId;

/// Providers this build knows.
pub(crate) const PROVIDERS: &[&str] = &["fake"];

/// How often `up`, `down` and `sweep` poll the fake.
const FAKE_POLL: Duration = Duration::from_millis(200);

/// The state file's name under the data directory.
const DEFAULT_STATE: &str = "computectl/state.json";

/// Most locations an unknown-location hint lists by name.
const LOCATIONS_IN_HINT: usize = 12;

/// Everything a command needs, built lazily from the global options.
#[derive(Debug)]
pub(crate) struct Context {
    /// Where results go.
    pub(crate) out: Output,
    provider_name: String,
    catalog_path: Option<PathBuf>,
    /// `--state` (or `COMPUTECTL_STATE`); the default is found only when a command needs
    /// the state, so `types`, `locations` and `plan` run without a data directory.
    state_arg: Option<PathBuf>,
    state_path: OnceLock<PathBuf>,
    fake: FakeKnobs,
    catalog: OnceLock<Catalog>,
    provider: OnceLock<Arc<dyn Provider>>,
    runtime: OnceLock<tokio::runtime::Runtime>,
}

/// Delays of the fake, for tests and demos.
#[derive(Debug, Clone, Copy)]
struct FakeKnobs {
    boot_ms: Option<u64>,
    terminate_ms: Option<u64>,
}

impl Context {
    /// Checks the global options; nothing is loaded yet, not even the state path.
    ///
    /// # Errors
    /// Exit 2 for an unknown provider.
    pub(crate) fn new(global: &GlobalArgs) -> CliResult<Self> {
        if !PROVIDERS.contains(&global.provider.as_str()) {
            return Err(
                CliError::usage(format!("unknown provider `{}`", global.provider))
                    .with_hint(format!("available providers: {}", PROVIDERS.join(", "))),
            );
        }
        Ok(Self {
            out: Output::new(global.output),
            provider_name: global.provider.clone(),
            catalog_path: global.catalog.clone(),
            state_arg: global.state.clone(),
            state_path: OnceLock::new(),
            fake: FakeKnobs {
                boot_ms: global.fake_boot_ms,
                terminate_ms: global.fake_terminate_ms,
            },
            catalog: OnceLock::new(),
            provider: OnceLock::new(),
            runtime: OnceLock::new(),
        })
    }

    /// Returns the fake's state file: `--state` when given, else the default under the
    /// user's data directory, found on first use.
    ///
    /// Only the default path may have its folders created later; an explicit one must
    /// name a file in a folder that exists, so a typo never makes a directory tree.
    ///
    /// # Errors
    /// Exit 2 when `--state` (or `COMPUTECTL_STATE`) is a directory or its folder does not
    /// exist; exit 1 when no `--state` is given and no data directory can be found, or the
    /// default path is a directory.
    pub(crate) fn state_path(&self) -> CliResult<&Path> {
        if let Some(path) = self.state_path.get() {
            return Ok(path);
        }
        let path = match &self.state_arg {
            Some(path) => {
                check_state_arg(path)?;
                path.clone()
            }
            None => {
                let path = default_state_path()?;
                if path.is_dir() {
                    return Err(CliError::failed(format!(
                        "the default state file {} is a directory",
                        path.display()
                    ))
                    .with_hint("move it away, or pass --state PATH"));
                }
                path
            }
        };
        Ok(self.state_path.get_or_init(|| path))
    }

    /// Returns the cluster inventory beside the state file.
    ///
    /// # Errors
    /// As [`Context::state_path`].
    pub(crate) fn inventory(&self) -> CliResult<Inventory> {
        Ok(Inventory::beside(self.state_path()?))
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

    /// Returns `--catalog` as a canonical absolute path (none for the built-in catalog), so
    /// it can be recorded, compared and found again from another directory.
    pub(crate) fn catalog_path(&self) -> Option<PathBuf> {
        let path = self.catalog_path.as_ref()?;
        let absolute = std::fs::canonicalize(path).or_else(|_| std::path::absolute(path));
        Some(absolute.unwrap_or_else(|_| path.clone()))
    }

    /// Prints a `warning:` line on stderr when the catalog is older than the planner allows
    /// (or undated), in the words `plan` uses.
    ///
    /// # Errors
    /// As [`Context::catalog`].
    pub(crate) fn warn_if_stale(&self) -> CliResult {
        if let Some(warning) = staleness(self.catalog()?, SystemTime::now()) {
            eprintln!("warning: {warning}");
        }
        Ok(())
    }

    /// Checks `--location` of `up` against the catalog's locations: an exact name.
    ///
    /// # Errors
    /// Exit 2 naming the location and listing the known ones.
    pub(crate) fn location(&self, name: &str) -> CliResult<LocationId> {
        let known = known_locations(self.catalog()?);
        if known.iter().any(|l| l == name) {
            return Ok(LocationId::new(name)?);
        }
        Err(unknown_location(name, &known))
    }

    /// Checks `--location` of `types` and `plan`: an exact name, or a prefix ending in `*`
    /// (`us-*`) that at least one location matches.
    ///
    /// # Errors
    /// Exit 2 naming the location and listing the known ones.
    pub(crate) fn location_pattern<'a>(&self, pattern: &'a str) -> CliResult<&'a str> {
        let known = known_locations(self.catalog()?);
        let matches = |l: &String| match pattern.strip_suffix('*') {
            Some(prefix) => l.starts_with(prefix),
            None => l == pattern,
        };
        if known.iter().any(matches) {
            return Ok(pattern);
        }
        Err(unknown_location(pattern, &known))
    }

    /// Returns the provider, wrapped in the tracing and retry layers (tracing outermost, so
    /// each call's span records its attempts).
    ///
    /// The fake is seeded from the same catalog `types` and `plan` read, and keeps its
    /// world in the state file, so separate invocations see the same instances.
    ///
    /// # Errors
    /// Exit 1 when the state file cannot be opened (a corrupt one is named, never reset)
    /// or no state path can be found; exit 2 when the catalog cannot be loaded.
    pub(crate) fn provider(&self) -> CliResult<Arc<dyn Provider>> {
        if let Some(provider) = self.provider.get() {
            return Ok(Arc::clone(provider));
        }
        let catalog = self.catalog()?;
        let mut config = FakeProvider::builder().from_catalog(catalog);
        if let Some(ms) = self.fake.boot_ms {
            config = config.boot_delay(Duration::from_millis(ms));
        }
        if let Some(ms) = self.fake.terminate_ms {
            config = config.terminate_delay(Duration::from_millis(ms));
        }

        let state_path = self.state_path()?;
        tracing::trace!(state = %state_path.display(), "opening the fake's state file");
        let fake = FakeProvider::open(state_path, config).map_err(|e| {
            let err = if e.field() == Some(STATE_FILE_FIELD) {
                CliError::from(e)
            } else {
                CliError::failed(describe(&e))
            };
            err.with_hint(
                "the file was left unchanged; to work with another state file, pass --state",
            )
        })?;
        let retrying: Arc<dyn Provider> =
            Arc::new(Retrying::new(Arc::new(fake), RetryConfig::default()));
        let provider: Arc<dyn Provider> = Arc::new(Instrumented::new(retrying));
        Ok(Arc::clone(self.provider.get_or_init(|| provider)))
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
            // I/O is enabled for the Ctrl-C listener of `up`; nothing else uses it.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_io()
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

/// The catalog's staleness warning at `now`, as the planner words it.
pub(crate) fn staleness(catalog: &Catalog, now: SystemTime) -> Option<PlanWarning> {
    let Some(as_of) = catalog.as_of() else {
        return Some(PlanWarning::UnknownCatalogAge);
    };
    let age = catalog.age(now)?;
    (age > DEFAULT_MAX_CATALOG_AGE).then_some(PlanWarning::StaleCatalog {
        as_of,
        age,
        max_age: DEFAULT_MAX_CATALOG_AGE,
    })
}

/// The usage error for an unknown `--location`, listing (some of) the known ones: those
/// sharing the longest prefix with `name` first, then region ids before place names.
fn unknown_location(name: &str, known: &[String]) -> CliError {
    let shared = |l: &str| {
        l.chars()
            .zip(name.chars())
            .take_while(|(a, b)| a == b)
            .count()
    };
    let is_place = |l: &str| l.contains([',', ' ']);
    let mut ranked: Vec<&String> = known.iter().collect();
    ranked.sort_by_key(|l| (std::cmp::Reverse(shared(l)), is_place(l), l.as_str()));

    // Some marketplaces name locations `Oregon, US, NA`; quote those so the list reads.
    let mut listed = ranked
        .into_iter()
        .take(LOCATIONS_IN_HINT)
        .map(|l| {
            if is_place(l) {
                format!("\"{l}\"")
            } else {
                l.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    if known.len() > LOCATIONS_IN_HINT {
        listed.push_str(&format!(
            ", ... ({} in all; see `computectl locations`)",
            known.len()
        ));
    }
    CliError::usage(format!("--location: unknown location `{name}`"))
        .with_hint(format!("known locations: {listed}"))
}

/// Location names of every provider in the catalog, sorted, without duplicates.
fn known_locations(catalog: &Catalog) -> Vec<String> {
    let mut names: Vec<String> = catalog
        .locations()
        .into_iter()
        .map(|(_, location)| location.name.to_string())
        .collect();
    names.sort();
    names.dedup();
    names
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

/// Checks an explicit `--state` path: not a directory, in a folder that exists.
fn check_state_arg(path: &Path) -> CliResult {
    let hint = "--state (or COMPUTECTL_STATE) names the state file, e.g. \
                ~/computectl/state.json, in a folder that exists; without it the state lives \
                under the user's data directory";
    if path.is_dir() {
        return Err(CliError::usage(format!(
            "--state: {} is a directory, not a state file",
            path.display()
        ))
        .with_hint(hint));
    }
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if dir.is_dir() {
        return Ok(());
    }
    let problem = if dir.exists() {
        "is not a directory"
    } else {
        "does not exist"
    };
    Err(CliError::usage(format!(
        "--state: the folder {} of the state file {problem}",
        dir.display()
    ))
    .with_hint(hint))
}

/// Loads `--catalog`, logging what the loader skipped.
fn load_catalog(path: &Path) -> CliResult<Catalog> {
    let (catalog, report) = Catalog::load_path(path).map_err(|e| {
        CliError::usage(format!("cannot load catalog: {}", describe(&e)))
            .with_hint("--catalog takes a CSV or JSON catalog file, or a directory of them")
    })?;
    tracing::info!(
        path = %path.display(),
        as_of = ?catalog.as_of(),
        types = catalog.len(),
        skipped = report.rows_skipped(),
        "loaded catalog"
    );
    Ok(catalog)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::{cli::Cli, commands};

    fn parse(line: &str) -> Cli {
        let words = ["computectl", "-o", "json"].into_iter();
        Cli::try_parse_from(words.chain(line.split_whitespace())).unwrap()
    }

    #[test]
    fn catalog_commands_never_look_for_the_state_path() {
        // Narrow filters keep what the commands print (not captured) short.
        let lines = [
            "types --gpu H100 --gpus 8 --location us-east-1",
            "locations",
            "plan --gpu H100 --gpus-per-node 8 --nodes 1 --location us-east-1",
        ];

        for line in lines {
            let cli = parse(line);
            let cx = Context::new(&cli.global).unwrap();
            commands::run(&cx, &cli.command).unwrap();

            assert!(cx.state_path.get().is_none(), "{line} looked for the state");
        }
    }

    #[test]
    fn the_state_path_is_the_flag_when_given() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.json");
        let cli = parse(&format!("--state {} ls", state.display()));

        let cx = Context::new(&cli.global).unwrap();

        assert!(cx.state_path.get().is_none());
        let path = cx.state_path().unwrap();
        assert_eq!(path, state);
        assert_eq!(
            cx.inventory().unwrap().path(),
            dir.path().join("state.json.clusters.json")
        );
    }

    #[test]
    fn an_explicit_state_path_needs_an_existing_folder_and_is_no_directory() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no/such/dir/state.json");
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        let under_file = file.join("state.json");

        let errs = [&missing, &dir.path().to_path_buf(), &under_file].map(|path| {
            let cli = parse(&format!("--state {} ls", path.display()));
            let cx = Context::new(&cli.global).unwrap();
            cx.state_path().unwrap_err()
        });

        for err in &errs {
            assert_eq!(err.code(), crate::error::EXIT_USAGE, "{err}");
            assert!(err.message().starts_with("--state: "), "{err}");
        }
        assert!(errs[0].message().contains("does not exist"), "{}", errs[0]);
        assert!(errs[1].message().contains("is a directory"), "{}", errs[1]);
        assert!(
            errs[2].message().contains("is not a directory"),
            "{}",
            errs[2]
        );
        assert!(!dir.path().join("no").exists());
    }
}

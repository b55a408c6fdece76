//! Runs cases: each in its own task under a deadline, with cleanup afterwards whatever
//! happened, and an optional JSON report for `cargo xtask conformance`.

use std::{
    any::Any,
    fs,
    future::Future,
    path::Path,
    pin::Pin,
    sync::{Arc, Mutex},
    time::Instant,
};

use serde_json::{Value, json};
use tokio::time::timeout;

use crate::{CaseReport, Config, Cx, Outcome, TAG_RUN};
use compute_provider::Provider;

/// The environment variable naming the JSON report file; unset means no report.
pub const REPORT_ENV: &str = "COMPUTE_CONFORMANCE_REPORT";

/// The environment variable that must be `1` for live suites to touch a cloud.
pub const LIVE_ENV: &str = "COMPUTE_CONFORMANCE_LIVE";

/// The future a case runs as.
pub type CaseFuture = Pin<Box<dyn Future<Output = Outcome> + Send + 'static>>;

/// A case as the runner calls it.
pub type CaseFn = fn(Arc<dyn Provider>, Arc<Cx>) -> CaseFuture;

/// One named case of the suite.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    name: &'static str,
    run: CaseFn,
}

impl Case {
    #[doc(hidden)]
    pub const fn __new(name: &'static str, run: CaseFn) -> Self {
        Self { name, run }
    }

    /// Returns the case name, which is also the test name [`suite!`](crate::suite) gives it.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Returns the case named `name`.
    pub fn find(name: &str) -> Option<&'static Self> {
        CASES.iter().find(|c| c.name == name)
    }
}

static CASES: &[Case] = crate::__cases!(table);

/// Returns every case, in the order of the one list.
pub fn all_cases() -> &'static [Case] {
    CASES
}

/// Runs one case against `provider` and cleans up what it created.
///
/// The case runs in its own task under the case deadline, so a panic or a hang becomes
/// a failure instead of skipping the cleanup. Cleanup problems turn the outcome into a
/// failure, because a run that leaves instances behind costs money.
pub async fn run_case(case: &Case, provider: Arc<dyn Provider>, config: &Config) -> CaseReport {
    let started = Instant::now();
    let cx = Arc::new(Cx::new(config.clone(), case.name));
    let task = tokio::spawn((case.run)(Arc::clone(&provider), Arc::clone(&cx)));
    let abort = task.abort_handle();

    let mut outcome = match timeout(config.case_deadline(), task).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(join)) if join.is_panic() => {
            Outcome::fail(format!("panicked: {}", panic_text(join.into_panic())))
        }
        Ok(Err(join)) => Outcome::fail(format!("the case task ended: {join}")),
        Err(_) => {
            abort.abort();
            Outcome::fail(format!(
                "did not finish within {:?}",
                config.case_deadline()
            ))
        }
    };

    let cleanup = timeout(config.running_deadline(), cx.cleanup(&*provider)).await;
    let problems = cleanup.unwrap_or_else(|_| vec!["cleanup timed out".to_owned()]);
    if !problems.is_empty() {
        let problems = problems.join("; ");
        outcome = match outcome {
            Outcome::Fail(detail) => Outcome::Fail(format!("{detail}; cleanup: {problems}")),
            _ => Outcome::Fail(format!("cleanup: {problems}")),
        };
    }
    CaseReport {
        name: case.name,
        outcome,
        elapsed: started.elapsed(),
    }
}

/// Runs every case, one after another, against one provider.
///
/// The programmatic twin of [`suite!`](crate::suite): both come from the same list.
///
/// ```
/// # async fn demo(provider: std::sync::Arc<dyn compute_provider::Provider>) {
/// use compute_conformance::{Config, run_all};
///
/// let reports = run_all(provider, &Config::new()).await;
/// let failed = reports.iter().filter(|r| r.outcome.is_fail()).count();
/// # let _ = failed;
/// # }
/// ```
pub async fn run_all(provider: Arc<dyn Provider>, config: &Config) -> Vec<CaseReport> {
    let mut reports = Vec::with_capacity(CASES.len());
    for case in CASES {
        reports.push(run_case(case, Arc::clone(&provider), config).await);
    }
    reports
}

/// Returns why a live test of `suite` must not start, given the value of [`LIVE_ENV`];
/// `None` when it is `1`.
fn live_refusal(suite: &str, live_var: Option<&str>) -> Option<String> {
    (live_var != Some("1")).then(|| {
        format!(
            "live conformance tests of {suite} need {LIVE_ENV}=1; \
             run them with `cargo xtask conformance --live {suite}`"
        )
    })
}

fn panic_text(payload: Box<dyn Any + Send>) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a non-text panic".to_owned()
    }
}

/// Appends `report` to the JSON report at `path`, creating it for `provider` if needed.
///
/// Tests of one binary run on threads of one process, so a lock serialises the
/// read-modify-write of the whole file.
///
/// # Errors
/// A description of the I/O or JSON problem.
pub fn append_report(path: &Path, provider: &str, report: &CaseReport) -> Result<(), String> {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());

    let mut doc = match fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => serde_json::from_str::<Value>(&text)
            .map_err(|e| format!("{}: not a conformance report: {e}", path.display()))?,
        _ => json!({ "provider": provider, "cases": [] }),
    };
    let cases = doc
        .get_mut("cases")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| format!("{}: has no `cases` array", path.display()))?;
    cases.push(report.to_json());

    let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs one case as a test of [`suite!`](crate::suite); not for direct use.
///
/// # Panics
/// Panics when the case fails, which is how a test reports failure, and when a live test
/// starts without [`LIVE_ENV`]`=1`: it runs only when someone passes `--ignored`, so
/// passing quietly would hide that nothing was checked.
#[doc(hidden)]
pub async fn __run_test<F, Fut>(suite: &str, live: bool, case: &str, factory: F, config: Config)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Arc<dyn Provider>>,
{
    if live && let Some(refusal) = live_refusal(suite, std::env::var(LIVE_ENV).ok().as_deref()) {
        panic!("{refusal}");
    }
    let Some(case) = Case::find(case) else {
        panic!("`{case}` is not a conformance case");
    };

    if live {
        let run_id = Cx::new(config.clone(), case.name).run_id().to_owned();
        eprintln!(
            "conformance run {run_id}: {} creates instances tagged {TAG_RUN}={run_id}",
            case.name
        );
    }
    let provider = factory().await;
    let report = run_case(case, provider, &config).await;

    if let Some(path) = std::env::var_os(REPORT_ENV)
        && let Err(e) = append_report(Path::new(&path), suite, &report)
    {
        eprintln!("conformance report not written: {e}");
    }
    match &report.outcome {
        Outcome::Fail(detail) => panic!("{}: {detail}", case.name),
        Outcome::Skip(reason) => eprintln!("skipped: {reason}"),
        Outcome::Pass => {}
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn case_names_are_unique_and_findable() {
        let mut names: Vec<_> = all_cases().iter().map(Case::name).collect();

        names.sort_unstable();
        names.dedup();

        assert_eq!(names.len(), all_cases().len());
        assert!(Case::find("create_echoes_request").is_some());
        assert!(Case::find("no_such_case").is_none());
    }

    #[test]
    fn live_tests_start_only_with_the_live_variable_set_to_one() {
        let refusals = [None, Some(""), Some("0"), Some("true")].map(|v| live_refusal("acme", v));

        let allowed = live_refusal("acme", Some("1"));

        assert_eq!(allowed, None);
        for refusal in refusals {
            let refusal = refusal.expect("refused");
            assert!(
                refusal.contains("`cargo xtask conformance --live acme`"),
                "{refusal}"
            );
            assert!(refusal.contains(LIVE_ENV), "{refusal}");
        }
    }

    #[test]
    fn reports_accumulate_in_one_file() {
        let dir = std::env::temp_dir().join(format!("conformance-{}", std::process::id()));
        let path = dir.join("fake.json");
        let _ = fs::remove_file(&path);
        let report = |name, outcome| CaseReport {
            name,
            outcome,
            elapsed: Duration::from_millis(3),
        };

        append_report(&path, "fake", &report("a", Outcome::Pass)).unwrap();
        append_report(&path, "fake", &report("b", Outcome::fail("broken"))).unwrap();

        let doc: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(doc["provider"], "fake");
        assert_eq!(doc["cases"][1]["name"], "b");
        assert_eq!(doc["cases"][1]["result"], "fail");
        assert_eq!(doc["cases"][1]["detail"], "broken");
        assert_eq!(doc["cases"][0]["millis"], 3);
        let _ = fs::remove_dir_all(dir);
    }
}

//! What a case concludes (pass, skip or fail) and the report line a run records for it.

use std::{fmt, time::Duration};

use compute_types::{Capability, Error};

/// The result of one case.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The provider behaved as the contract says.
    Pass,
    /// The provider's capabilities rule the case out; the text names the capability.
    Skip(String),
    /// The provider broke the contract; the text says how.
    Fail(String),
}

impl Outcome {
    /// A skip because the provider lacks `capability`.
    pub fn missing(capability: Capability) -> Self {
        Self::Skip(capability.as_str().to_owned())
    }

    /// A skip because the run's [`Config`](crate::Config) lacks `setting`, named as its
    /// setter's suffix: `unconfigured("rate_limit_burst")` reads
    /// `config rate_limit_burst (not set; see Config::with_rate_limit_burst)`.
    pub fn unconfigured(setting: &str) -> Self {
        Self::Skip(format!(
            "config {setting} (not set; see Config::with_{setting})"
        ))
    }

    /// A skip because the provider declares `capability` but offers nothing to exercise
    /// it with; `reason` says what is missing.
    pub fn unexercised(capability: Capability, reason: impl fmt::Display) -> Self {
        Self::Skip(format!("{capability} ({reason})"))
    }

    /// A failure with a lower-case description.
    pub fn fail(detail: impl Into<String>) -> Self {
        Self::Fail(detail.into())
    }

    /// Turns the result of a case body into an outcome: `Ok` passes.
    pub fn from_check(check: Check) -> Self {
        match check {
            Ok(()) => Self::Pass,
            Err(outcome) => outcome,
        }
    }

    /// Returns `pass`, `skip` or `fail`, the names the JSON report uses.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Skip(_) => "skip",
            Self::Fail(_) => "fail",
        }
    }

    /// Returns the skip reason or failure detail; empty for a pass.
    pub fn detail(&self) -> &str {
        match self {
            Self::Pass => "",
            Self::Skip(text) | Self::Fail(text) => text,
        }
    }

    /// Returns true for a failure.
    pub fn is_fail(&self) -> bool {
        matches!(self, Self::Fail(_))
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pass => f.write_str("passed"),
            Self::Skip(reason) => write!(f, "skipped: {reason}"),
            Self::Fail(detail) => write!(f, "failed: {detail}"),
        }
    }
}

/// A provider error met where the case expected success fails the case.
impl From<Error> for Outcome {
    fn from(err: Error) -> Self {
        Self::Fail(err.to_string())
    }
}

/// The body of a case: `Ok` passes, `Err` carries the skip or failure.
pub type Check<T = ()> = Result<T, Outcome>;

/// Adds the call that failed to a provider error, so a failure names what was attempted.
pub(crate) trait Context<T> {
    /// Maps an error to a failure reading `<what>: <error>`.
    fn context(self, what: &str) -> Check<T>;
}

impl<T> Context<T> for compute_types::Result<T> {
    fn context(self, what: &str) -> Check<T> {
        self.map_err(|e| Outcome::Fail(format!("{what}: {e}")))
    }
}

/// Fails the case with a formatted detail unless the condition holds.
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err($crate::Outcome::Fail(format!($($fmt)+)));
        }
    };
}

/// Fails the case with a formatted detail.
macro_rules! bail {
    ($($fmt:tt)+) => {
        return Err($crate::Outcome::Fail(format!($($fmt)+)))
    };
}

pub(crate) use {bail, ensure};

/// One case's line in a run's report.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CaseReport {
    /// The case name, e.g. `create_echoes_request`.
    pub name: &'static str,
    /// What the case concluded, cleanup problems included.
    pub outcome: Outcome,
    /// How long the case took, cleanup included.
    pub elapsed: Duration,
}

impl CaseReport {
    /// Returns the report entry as JSON:
    /// `{"name", "result": "pass"|"fail"|"skip", "millis", "detail"}`.
    pub fn to_json(&self) -> serde_json::Value {
        let millis = u64::try_from(self.elapsed.as_millis()).unwrap_or(u64::MAX);
        serde_json::json!({
            "name": self.name,
            "result": self.outcome.as_str(),
            "millis": millis,
            "detail": self.outcome.detail(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_name_themselves() {
        let skip = Outcome::missing(Capability::RebootInstance);
        let fail = Outcome::from(Error::not_found("no such instance"));

        let report = CaseReport {
            name: "reboot_returns_to_running",
            outcome: skip.clone(),
            elapsed: Duration::from_millis(12),
        };

        assert_eq!(skip.to_string(), "skipped: reboot_instance");
        assert_eq!(
            Outcome::unconfigured("rate_limit_burst").to_string(),
            "skipped: config rate_limit_burst (not set; see Config::with_rate_limit_burst)"
        );
        let unexercised = Outcome::unexercised(Capability::ChangeInstanceType, "no second type");
        assert_eq!(
            unexercised.to_string(),
            "skipped: change_instance_type (no second type)"
        );
        assert_eq!(fail.as_str(), "fail");
        assert_eq!(fail.detail(), "not found: no such instance");
        let expected = serde_json::json!({
            "name": "reboot_returns_to_running",
            "result": "skip",
            "millis": 12,
            "detail": "reboot_instance",
        });
        assert_eq!(report.to_json(), expected);
    }
}

//! The one error type of the SDK: a kind, a retry class and, for mutating calls, an outcome.

use std::{error::Error as StdError, fmt, time::Duration};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::InstanceId;

/// What went wrong, in terms a caller can act on.
///
/// The set is shared by every provider: each vendor crate maps its own codes onto it once.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The resource does not exist (or is not visible to these credentials).
    NotFound,
    /// A resource with the same identity already exists.
    AlreadyExists,
    /// The request itself is wrong; the message names the field and the rule.
    InvalidRequest,
    /// The credentials are missing, malformed or expired.
    Unauthenticated,
    /// The credentials are valid but not allowed to do this.
    PermissionDenied,
    /// An account or project quota would be exceeded.
    QuotaExceeded,
    /// The provider has no capacity for this shape in this place right now.
    CapacityUnavailable,
    /// The provider does not implement this operation.
    Unsupported,
    /// Too many requests; slow down.
    RateLimited,
    /// The service is temporarily unavailable.
    Unavailable,
    /// The operation did not finish in time.
    Timeout,
    /// A bug or an unexpected answer; not the caller's fault.
    Internal,
}

impl ErrorKind {
    /// Returns the lower-case name used in messages, e.g. `not found`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not found",
            Self::AlreadyExists => "already exists",
            Self::InvalidRequest => "invalid request",
            Self::Unauthenticated => "unauthenticated",
            Self::PermissionDenied => "permission denied",
            Self::QuotaExceeded => "quota exceeded",
            Self::CapacityUnavailable => "capacity unavailable",
            Self::Unsupported => "unsupported",
            Self::RateLimited => "rate limited",
            Self::Unavailable => "unavailable",
            Self::Timeout => "timeout",
            Self::Internal => "internal",
        }
    }

    /// Returns the retry class an error of this kind gets unless told otherwise.
    ///
    /// Rate limits are throttled, outages and timeouts transient, everything else final:
    /// capacity and quota errors call for another place or shape, not the same call again.
    pub fn default_retry(self) -> Retry {
        match self {
            Self::RateLimited => Retry::Throttled { after: None },
            Self::Unavailable | Self::Timeout => Retry::Transient,
            _ => Retry::Never,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether, and how, a failed call may be retried.
///
/// In JSON: `{"class":"never"}`, `{"class":"transient"}` or
/// `{"class":"throttled","after_ms":1500}`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "class", rename_all = "snake_case")]
pub enum Retry {
    /// Retrying the same call cannot help.
    Never,
    /// A passing fault; retry with backoff.
    Transient,
    /// The provider asked us to slow down, optionally saying for how long.
    Throttled {
        /// How long the provider asked us to wait, when it said.
        #[serde(
            rename = "after_ms",
            default,
            with = "opt_millis",
            skip_serializing_if = "Option::is_none"
        )]
        after: Option<Duration>,
    },
}

/// Durations as whole milliseconds, for retry-after hints.
mod opt_millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

impl Retry {
    /// Returns true when a retry may succeed.
    pub fn is_retryable(self) -> bool {
        !matches!(self, Self::Never)
    }
}

/// What a failed mutating call left behind.
///
/// This is what makes a failed create safe to reason about: either nothing was applied, or
/// the caller must look (for example by ref id) because something may exist.
///
/// In JSON: `{"outcome":"not_applied"}` or `{"outcome":"unknown","instance_id":"i-1"}`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The provider did not apply the change.
    NotApplied,
    /// The change may have been applied; the resource may exist.
    Unknown {
        /// The cloud's id of the resource, when the provider learned it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance_id: Option<InstanceId>,
    },
}

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    message: String,
    field: Option<String>,
    retry: Retry,
    outcome: Option<Outcome>,
    provider: Option<String>,
    operation: Option<String>,
    attempts: Option<u32>,
    elapsed: Option<Duration>,
    source: Option<BoxError>,
}

/// The error every fallible SDK call returns.
///
/// It carries a [`ErrorKind`], a [`Retry`] class, the provider and operation names, and for
/// mutating calls an [`Outcome`]. `Display` prints only this error's own lower-case message
/// (prefixed by provider and operation when known); the cause is reached through
/// [`std::error::Error::source`]. Messages never contain secrets.
pub struct Error(Box<Inner>);

/// The SDK's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Creates an error of `kind` with a lower-case message and the kind's default retry class.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            kind,
            message: message.into(),
            field: None,
            retry: kind.default_retry(),
            outcome: None,
            provider: None,
            operation: None,
            attempts: None,
            elapsed: None,
            source: None,
        }))
    }

    /// Creates an [`ErrorKind::InvalidRequest`] naming the offending field and the rule it broke.
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        let field = field.into();
        let mut err = Self::new(ErrorKind::InvalidRequest, rule);
        err.0.field = Some(field);
        err
    }

    /// Creates an [`ErrorKind::NotFound`] error.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// Creates an [`ErrorKind::Unsupported`] error for `operation` of `provider`.
    pub fn unsupported(provider: impl Into<String>, operation: impl Into<String>) -> Self {
        Self::new(
            ErrorKind::Unsupported,
            "operation not supported by this provider",
        )
        .with_provider(provider)
        .with_operation(operation)
    }

    /// Creates an [`ErrorKind::Internal`] error.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// Sets the provider name.
    pub fn with_provider(mut self, provider: impl Into<String>) -> Self {
        self.0.provider = Some(provider.into());
        self
    }

    /// Sets the operation name, e.g. `create_instance`.
    pub fn with_operation(mut self, operation: impl Into<String>) -> Self {
        self.0.operation = Some(operation.into());
        self
    }

    /// Sets the provider name and operation name only where they are not set yet.
    pub fn or_context(mut self, provider: &str, operation: &str) -> Self {
        if self.0.provider.is_none() {
            self.0.provider = Some(provider.to_owned());
        }
        if self.0.operation.is_none() {
            self.0.operation = Some(operation.to_owned());
        }
        self
    }

    /// Overrides the retry class.
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.0.retry = retry;
        self
    }

    /// Sets the outcome of the mutating call that failed.
    pub fn with_outcome(mut self, outcome: Outcome) -> Self {
        self.0.outcome = Some(outcome);
        self
    }

    /// Records how many attempts were made and how long they took (set by retry layers).
    pub fn with_attempts(mut self, attempts: u32, elapsed: Duration) -> Self {
        self.0.attempts = Some(attempts);
        self.0.elapsed = Some(elapsed);
        self
    }

    /// Attaches the underlying cause; reach it through [`std::error::Error::source`].
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.0.source = Some(Box::new(source));
        self
    }

    /// Returns the kind.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// Returns the retry class.
    pub fn retry(&self) -> Retry {
        self.0.retry
    }

    /// Returns the outcome of a failed mutating call, when the provider knows it.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.0.outcome.as_ref()
    }

    /// Returns true when the failed call may nevertheless have created something.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self.0.outcome, Some(Outcome::Unknown { .. }))
    }

    /// Returns the field an [`ErrorKind::InvalidRequest`] is about.
    pub fn field(&self) -> Option<&str> {
        self.0.field.as_deref()
    }

    /// Returns the message without provider, operation or field prefixes.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// Returns the provider name, when known.
    pub fn provider(&self) -> Option<&str> {
        self.0.provider.as_deref()
    }

    /// Returns the operation name, when known.
    pub fn operation(&self) -> Option<&str> {
        self.0.operation.as_deref()
    }

    /// Returns the number of attempts a retry layer made, when one did.
    pub fn attempts(&self) -> Option<u32> {
        self.0.attempts
    }

    /// Returns the time a retry layer spent, when one did.
    pub fn elapsed(&self) -> Option<Duration> {
        self.0.elapsed
    }

    /// Returns a copy of this error without its source (sources are not `Clone`).
    pub fn clone_shallow(&self) -> Self {
        let inner = &self.0;
        Self(Box::new(Inner {
            kind: inner.kind,
            message: inner.message.clone(),
            field: inner.field.clone(),
            retry: inner.retry,
            outcome: inner.outcome.clone(),
            provider: inner.provider.clone(),
            operation: inner.operation.clone(),
            attempts: inner.attempts,
            elapsed: inner.elapsed,
            source: None,
        }))
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.0;
        let mut d = f.debug_struct("Error");
        d.field("kind", &inner.kind)
            .field("message", &inner.message);
        if let Some(field) = &inner.field {
            d.field("field", field);
        }
        d.field("retry", &inner.retry);
        if let Some(outcome) = &inner.outcome {
            d.field("outcome", outcome);
        }
        if let Some(provider) = &inner.provider {
            d.field("provider", provider);
        }
        if let Some(operation) = &inner.operation {
            d.field("operation", operation);
        }
        if let Some(attempts) = inner.attempts {
            d.field("attempts", &attempts);
        }
        if let Some(source) = &inner.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.0;
        if let Some(provider) = &inner.provider {
            write!(f, "{provider}: ")?;
        }
        if let Some(operation) = &inner.operation {
            write!(f, "{operation}: ")?;
        }
        write!(f, "{}: ", inner.kind)?;
        if let Some(field) = &inner.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&inner.message)?;
        if let Some(Outcome::Unknown { instance_id }) = &inner.outcome {
            match instance_id {
                Some(id) => write!(f, " (outcome unknown: instance {id} may exist)")?,
                None => f.write_str(" (outcome unknown: the instance may exist)")?,
            }
        }
        if let Some(attempts) = inner.attempts {
            write!(f, " after {attempts} attempts")?;
        }
        Ok(())
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0
            .source
            .as_ref()
            .map(|s| s.as_ref() as &(dyn StdError + 'static))
    }
}

/// The JSON form of an [`Error`]: every field, and the messages of its source chain.
#[derive(Serialize, Deserialize)]
struct Report {
    kind: ErrorKind,
    message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    retry: Retry,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    operation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attempts: Option<u32>,
    #[serde(default, with = "opt_millis", skip_serializing_if = "Option::is_none")]
    elapsed_ms: Option<Duration>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    causes: Vec<String>,
}

/// A cause read back from JSON: only its message survives the trip.
#[derive(Debug)]
struct Cause {
    message: String,
    source: Option<Box<Self>>,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for Cause {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

/// Serialises every field and the source chain's messages (`causes`), as a report for
/// logs and machine-readable output. Messages never hold secrets, so neither does this.
impl Serialize for Error {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let inner = &self.0;
        let mut causes = Vec::new();
        let mut next = self.source();
        while let Some(cause) = next {
            causes.push(cause.to_string());
            next = cause.source();
        }

        Report {
            kind: inner.kind,
            message: inner.message.clone(),
            field: inner.field.clone(),
            retry: inner.retry,
            outcome: inner.outcome.clone(),
            provider: inner.provider.clone(),
            operation: inner.operation.clone(),
            attempts: inner.attempts,
            elapsed_ms: inner.elapsed,
            causes,
        }
        .serialize(s)
    }
}

/// Reads back what [`Serialize`] wrote; each cause becomes a plain message in the chain.
impl<'de> Deserialize<'de> for Error {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let report = Report::deserialize(d)?;
        let source = report
            .causes
            .into_iter()
            .rev()
            .fold(None, |source, message| {
                Some(Box::new(Cause { message, source }))
            });

        Ok(Self(Box::new(Inner {
            kind: report.kind,
            message: report.message,
            field: report.field,
            retry: report.retry,
            outcome: report.outcome,
            provider: report.provider,
            operation: report.operation,
            attempts: report.attempts,
            elapsed: report.elapsed_ms,
            source: source.map(|c| c as BoxError),
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_retry_classes_and_outcomes_round_trip() {
        let kinds = [
            ErrorKind::NotFound,
            ErrorKind::AlreadyExists,
            ErrorKind::InvalidRequest,
            ErrorKind::Unauthenticated,
            ErrorKind::PermissionDenied,
            ErrorKind::QuotaExceeded,
            ErrorKind::CapacityUnavailable,
            ErrorKind::Unsupported,
            ErrorKind::RateLimited,
            ErrorKind::Unavailable,
            ErrorKind::Timeout,
            ErrorKind::Internal,
        ];
        for kind in kinds {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str().replace(' ', "_")));
            assert_eq!(serde_json::from_str::<ErrorKind>(&json).unwrap(), kind);
        }

        let throttled = Retry::Throttled {
            after: Some(Duration::from_millis(1500)),
        };
        let json = serde_json::to_string(&throttled).unwrap();
        assert_eq!(json, r#"{"class":"throttled","after_ms":1500}"#);
        for retry in [
            Retry::Never,
            Retry::Transient,
            throttled,
            Retry::Throttled { after: None },
        ] {
            let json = serde_json::to_string(&retry).unwrap();
            assert_eq!(serde_json::from_str::<Retry>(&json).unwrap(), retry);
        }

        let unknown = Outcome::Unknown {
            instance_id: Some(InstanceId::new("i-1").unwrap()),
        };
        let json = serde_json::to_string(&unknown).unwrap();
        assert_eq!(json, r#"{"outcome":"unknown","instance_id":"i-1"}"#);
        for outcome in [Outcome::NotApplied, unknown] {
            let json = serde_json::to_string(&outcome).unwrap();
            assert_eq!(serde_json::from_str::<Outcome>(&json).unwrap(), outcome);
        }
    }

    #[test]
    fn errors_round_trip_with_their_causes() {
        let io = std::io::Error::other("connection reset");
        let err = Error::new(ErrorKind::Timeout, "create timed out")
            .with_provider("fake")
            .with_operation("create_instance")
            .with_outcome(Outcome::Unknown { instance_id: None })
            .with_source(io);

        let json = serde_json::to_value(&err).unwrap();
        let back: Error = serde_json::from_value(json.clone()).unwrap();

        assert_eq!(json["kind"], "timeout");
        assert_eq!(json["retry"]["class"], "transient");
        assert_eq!(json["causes"][0], "connection reset");
        assert_eq!(back.to_string(), err.to_string());
        assert_eq!(back.kind(), err.kind());
        assert_eq!(back.retry(), err.retry());
        assert_eq!(back.outcome(), err.outcome());
        assert_eq!(back.source().unwrap().to_string(), "connection reset");
        assert_eq!(serde_json::to_value(&back).unwrap(), json);
    }

    #[test]
    fn invalid_names_field_and_rule() {
        let err = Error::invalid("ports.from", "must be between 1 and 65535");

        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert_eq!(err.field(), Some("ports.from"));
        assert_eq!(
            err.to_string(),
            "invalid request: ports.from: must be between 1 and 65535"
        );
        assert_eq!(err.retry(), Retry::Never);
    }

    #[test]
    fn default_retry_classes() {
        assert_eq!(
            Error::new(ErrorKind::RateLimited, "slow").retry(),
            Retry::Throttled { after: None }
        );
        assert_eq!(
            Error::new(ErrorKind::Unavailable, "x").retry(),
            Retry::Transient
        );
        assert_eq!(
            Error::new(ErrorKind::Timeout, "x").retry(),
            Retry::Transient
        );
        assert!(
            !Error::new(ErrorKind::CapacityUnavailable, "x")
                .retry()
                .is_retryable()
        );
    }

    #[test]
    fn display_has_context_and_outcome_but_not_source() {
        let io = std::io::Error::other("socket closed");
        let id = InstanceId::new("i-123").unwrap();
        let err = Error::new(ErrorKind::Timeout, "no answer in 30s")
            .with_provider("fake")
            .with_operation("create_instance")
            .with_outcome(Outcome::Unknown {
                instance_id: Some(id),
            })
            .with_source(io);

        let text = err.to_string();

        assert_eq!(
            text,
            "fake: create_instance: timeout: no answer in 30s \
             (outcome unknown: instance i-123 may exist)"
        );
        assert!(err.is_outcome_unknown());
        assert_eq!(err.source().unwrap().to_string(), "socket closed");
    }

    #[test]
    fn unsupported_carries_names() {
        let err = Error::unsupported("lambda", "stop_instance");

        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert_eq!(err.provider(), Some("lambda"));
        assert_eq!(err.operation(), Some("stop_instance"));
    }
}

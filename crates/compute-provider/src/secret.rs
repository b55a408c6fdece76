//! A wrapper for secret values that never prints them.

use std::fmt;

/// A secret value (API key, token, user data, private key) that never reaches `Debug`,
/// `Display`, logs or errors.
///
/// Both formatting traits print `[redacted]`. The value is reached only through
/// [`Secret::expose_secret`], a name that is easy to grep for in review.
///
/// ```
/// use compute_provider::Secret;
///
/// let key = Secret::new("sk-live-1234");
/// assert_eq!(format!("{key:?} {key}"), "[redacted] [redacted]");
/// assert_eq!(key.expose_secret(), "sk-live-1234");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Returns the secret value. Call it only where the value is sent to its one consumer.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Returns true when the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

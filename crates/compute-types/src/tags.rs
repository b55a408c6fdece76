//! Ordered key-value tags with documented limits and the SDK's reserved ownership keys.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Keys starting with this prefix belong to the SDK; callers cannot set them through
/// [`Tags::insert`].
pub const RESERVED_PREFIX: &str = "compute-sdk:";
/// Ownership tag holding the caller's [`RefId`](crate::RefId) of an instance.
pub const TAG_REF_ID: &str = "compute-sdk:ref-id";
/// Ownership tag holding the [`CredentialRefId`](crate::CredentialRefId) that created it.
pub const TAG_CREDENTIAL_REF_ID: &str = "compute-sdk:credential-ref-id";
/// Tag holding the name of the cluster an instance belongs to.
pub const TAG_CLUSTER: &str = "compute-sdk:cluster";

/// Longest tag key, in characters.
pub const MAX_KEY_LEN: usize = 128;
/// Longest tag value, in characters.
pub const MAX_VALUE_LEN: usize = 256;
/// Most tags on one resource (the SDK's own included).
pub const MAX_TAGS: usize = 50;

/// Tags on a resource, ordered by key.
///
/// Limits (the strictest common ground of the major clouds): keys are 1 to 128 characters,
/// values 0 to 256; both may hold letters, digits, white space and `_ . : / = + - @`; at most
/// 50 tags. Keys starting with [`RESERVED_PREFIX`] are the SDK's own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    try_from = "BTreeMap<String, String>",
    into = "BTreeMap<String, String>"
)]
pub struct Tags(BTreeMap<String, String>);

fn allowed(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c)
}

fn check(key: &str, value: &str) -> Result<()> {
    let field = || format!("tags.{}", key.chars().take(32).collect::<String>());
    if key.is_empty() {
        return Err(Error::invalid("tags", "a key must not be empty"));
    }
    if key.chars().count() > MAX_KEY_LEN {
        return Err(Error::invalid(
            field(),
            format!("key must be at most {MAX_KEY_LEN} chars"),
        ));
    }
    if !key.chars().all(allowed) {
        return Err(Error::invalid(
            field(),
            "key may hold only letters, digits, spaces and _ . : / = + - @",
        ));
    }
    if value.chars().count() > MAX_VALUE_LEN {
        return Err(Error::invalid(
            field(),
            format!("value must be at most {MAX_VALUE_LEN} chars"),
        ));
    }
    if !value.chars().all(allowed) {
        return Err(Error::invalid(
            field(),
            "value may hold only letters, digits, spaces and _ . : / = + - @",
        ));
    }
    Ok(())
}

impl Tags {
    /// Creates an empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts a caller tag, replacing any value under the same key.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) naming the tag when the
    /// key or value breaks the limits, the key is reserved, or the set is full.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Result<()> {
        let key = key.into();
        if key.starts_with(RESERVED_PREFIX) {
            return Err(Error::invalid(
                format!("tags.{key}"),
                format!("keys starting with `{RESERVED_PREFIX}` are reserved for the SDK"),
            ));
        }
        self.insert_reserved(key, value)
    }

    /// Inserts a tag without the reserved-prefix check; for the SDK's own ownership tags.
    ///
    /// # Errors
    /// As [`Tags::insert`], except for the reserved-prefix rule.
    pub fn insert_reserved(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<()> {
        let (key, value) = (key.into(), value.into());
        check(&key, &value)?;
        if !self.0.contains_key(&key) && self.0.len() >= MAX_TAGS {
            return Err(Error::invalid(
                "tags",
                format!("at most {MAX_TAGS} tags are allowed"),
            ));
        }
        self.0.insert(key, value);
        Ok(())
    }

    /// Builds tags from pairs, all checked as caller tags.
    ///
    /// # Errors
    /// As [`Tags::insert`].
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self> {
        let mut tags = Self::new();
        for (k, v) in pairs {
            tags.insert(k, v)?;
        }
        Ok(tags)
    }

    /// Returns the value under `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Removes a tag and returns its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.0.remove(key)
    }

    /// Returns true when every pair of `other` is present here with the same value.
    pub fn contains_all(&self, other: &Self) -> bool {
        other.0.iter().all(|(k, v)| self.0.get(k) == Some(v))
    }

    /// Iterates over the tags in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Returns the number of tags.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Returns true when there are no tags.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Returns only the caller's tags (without the SDK's reserved ones).
    pub fn user_tags(&self) -> Self {
        let map = self
            .0
            .iter()
            .filter(|(k, _)| !k.starts_with(RESERVED_PREFIX));
        Self(map.map(|(k, v)| (k.clone(), v.clone())).collect())
    }
}

impl TryFrom<BTreeMap<String, String>> for Tags {
    type Error = Error;

    fn try_from(map: BTreeMap<String, String>) -> Result<Self> {
        let mut tags = Self::new();
        for (k, v) in map {
            tags.insert_reserved(k, v)?;
        }
        Ok(tags)
    }
}

impl From<Tags> for BTreeMap<String, String> {
    fn from(tags: Tags) -> Self {
        tags.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn insert_and_query() {
        let mut tags = Tags::from_pairs([("team", "ml"), ("env", "prod")]).unwrap();
        tags.insert_reserved(TAG_REF_ID, "node-1").unwrap();

        assert_eq!(tags.get("team"), Some("ml"));
        assert_eq!(tags.iter().next(), Some((TAG_REF_ID, "node-1")));
        assert!(tags.contains_all(&Tags::from_pairs([("env", "prod")]).unwrap()));
        assert_eq!(tags.user_tags().len(), 2);
    }

    #[test]
    fn limits_are_enforced() {
        let long_key = "k".repeat(300);
        let err = Tags::from_pairs([(long_key.as_str(), "v")]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert!(err.field().unwrap().starts_with("tags.kkk"));

        let err = Tags::from_pairs([(TAG_REF_ID, "x")]).unwrap_err();
        assert!(err.message().contains("reserved"));
        assert!(Tags::from_pairs([("k", "v".repeat(257))]).is_err());
        assert!(Tags::from_pairs([("bad\u{7}", "v")]).is_err());
        assert!(Tags::from_pairs([("", "v")]).is_err());

        let mut full = Tags::new();
        for i in 0..MAX_TAGS {
            full.insert(format!("k{i}"), "v").unwrap();
        }
        assert!(full.insert("one-more", "v").is_err());
    }

    #[test]
    fn serde_round_trip_validates() {
        let tags = Tags::from_pairs([("a", "1"), ("b", "2")]).unwrap();
        let json = serde_json::to_string(&tags).unwrap();
        assert_eq!(json, r#"{"a":"1","b":"2"}"#);
        assert_eq!(serde_json::from_str::<Tags>(&json).unwrap(), tags);
        assert!(serde_json::from_str::<Tags>(r#"{"a":"\u0007"}"#).is_err());
    }
}

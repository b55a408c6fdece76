//! Identifier newtypes, and the canonical instance type id built from structured parts.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Longest id the SDK accepts, in bytes.
pub const MAX_ID_LEN: usize = 255;

fn check_text(field: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if value.len() > MAX_ID_LEN {
        return Err(Error::invalid(
            field,
            format!("must be at most {MAX_ID_LEN} bytes"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    if value.trim() != value {
        return Err(Error::invalid(
            field,
            "must not start or end with white space",
        ));
    }
    Ok(())
}

fn check_token(field: &str, value: &str, max: usize) -> Result<()> {
    check_text(field, value)?;
    if value.len() > max {
        return Err(Error::invalid(
            field,
            format!("must be at most {max} bytes"),
        ));
    }
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
    if !value.chars().all(ok) {
        return Err(Error::invalid(
            field,
            "may contain only ASCII letters, digits, '-', '_', '.' and ':'",
        ));
    }
    Ok(())
}

macro_rules! text_id {
    ($(#[$meta:meta])* $name:ident, $field:literal, $check:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps an id.
            ///
            /// # Errors
            /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) naming the field
            /// when the value breaks the id's rules.
            pub fn new(value: impl Into<String>) -> Result<Self> {
                let value = value.into();
                let check: fn(&str, &str) -> Result<()> = $check;
                check($field, &value)?;
                Ok(Self(value))
            }

            /// Returns the id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;

            fn try_from(s: String) -> Result<Self> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

text_id!(
    /// The cloud's own id of an instance (for example `i-0abc…` on EC2).
    InstanceId, "instance_id", check_text
);
text_id!(
    /// The caller's id of an instance: required on create, and the key of idempotency.
    ///
    /// A repeated create with the same ref id returns the instance the first one made. Ref ids
    /// are at most 128 ASCII letters, digits, `-`, `_`, `.` or `:`, so every provider can carry
    /// them in a tag or a name.
    RefId, "ref_id", |f, v| check_token(f, v, 128)
);
text_id!(
    /// The caller's id of the credential an instance was created with.
    CredentialRefId, "credential_ref_id", |f, v| check_token(f, v, 128)
);
text_id!(
    /// A provider's name in the SDK, e.g. `fake`, `lambda`, `aws`.
    ProviderId, "provider", |f, v| check_token(f, v, 64)
);
text_id!(
    /// A location (region) name as the provider writes it, e.g. `us-east-1` or
    /// `Oregon, US, NA`.
    LocationId, "location", check_text
);
text_id!(
    /// A zone name inside a location, e.g. `us-central1-a` or `use1-az4`.
    ZoneId, "zone", check_text
);
text_id!(
    /// A machine image id.
    ImageId, "image_id", check_text
);
text_id!(
    /// A firewall rule id, assigned by the provider when the rule is added.
    FirewallRuleId, "firewall_rule_id", check_text
);

/// The canonical id of an instance type: provider, location, optional zone and type name.
///
/// One builder serves instance types and instances, so the id an instance reports is always
/// the id of the type it was created from. The text form is
/// `provider/location/zone/type`, with an empty zone segment when there is none, and with
/// `%`, `/` and characters outside printable ASCII percent-encoded, so any location or type
/// name (including ones with spaces, commas or slashes) parses back to the same parts.
///
/// ```
/// use compute_types::InstanceTypeId;
///
/// let id = InstanceTypeId::builder("vast", "Oregon, US, NA", "1x-RTX_5090")
///     .build()
///     .unwrap();
/// assert_eq!(id.to_string(), "vast/Oregon,%20US,%20NA//1x-RTX_5090");
/// assert_eq!(id.to_string().parse::<InstanceTypeId>().unwrap(), id);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InstanceTypeId {
    provider: ProviderId,
    location: LocationId,
    zone: Option<ZoneId>,
    type_name: String,
}

/// Builds an [`InstanceTypeId`] from its parts.
#[derive(Debug, Clone)]
pub struct InstanceTypeIdBuilder {
    provider: String,
    location: String,
    zone: Option<String>,
    type_name: String,
}

impl InstanceTypeIdBuilder {
    /// Sets the zone.
    pub fn zone(mut self, zone: impl Into<String>) -> Self {
        self.zone = Some(zone.into());
        self
    }

    /// Sets or clears the zone.
    pub fn maybe_zone(mut self, zone: Option<impl Into<String>>) -> Self {
        self.zone = zone.map(Into::into);
        self
    }

    /// Validates the parts and builds the id.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) naming the part that is
    /// empty, too long or contains control characters.
    pub fn build(self) -> Result<InstanceTypeId> {
        check_text("instance_type", &self.type_name)?;
        Ok(InstanceTypeId {
            provider: ProviderId::new(self.provider)?,
            location: LocationId::new(self.location)?,
            zone: self.zone.map(ZoneId::new).transpose()?,
            type_name: self.type_name,
        })
    }
}

impl InstanceTypeId {
    /// Starts building an id from the required parts.
    pub fn builder(
        provider: impl Into<String>,
        location: impl Into<String>,
        type_name: impl Into<String>,
    ) -> InstanceTypeIdBuilder {
        InstanceTypeIdBuilder {
            provider: provider.into(),
            location: location.into(),
            zone: None,
            type_name: type_name.into(),
        }
    }

    /// Builds an id from already validated parts.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) when the type name is
    /// empty or malformed.
    pub fn from_parts(
        provider: ProviderId,
        location: LocationId,
        zone: Option<ZoneId>,
        type_name: impl Into<String>,
    ) -> Result<Self> {
        let type_name = type_name.into();
        check_text("instance_type", &type_name)?;
        Ok(Self {
            provider,
            location,
            zone,
            type_name,
        })
    }

    /// Returns the provider.
    pub fn provider(&self) -> &ProviderId {
        &self.provider
    }

    /// Returns the location.
    pub fn location(&self) -> &LocationId {
        &self.location
    }

    /// Returns the zone, when the type is zonal.
    pub fn zone(&self) -> Option<&ZoneId> {
        self.zone.as_ref()
    }

    /// Returns the provider's name of the type, e.g. `p5.48xlarge`.
    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    /// Returns the same type placed in another zone (or none).
    pub fn with_zone(&self, zone: Option<ZoneId>) -> Self {
        Self {
            zone,
            ..self.clone()
        }
    }
}

fn encode(part: &str, out: &mut String) {
    for b in part.bytes() {
        if b.is_ascii_graphic() && b != b'%' && b != b'/' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

fn decode(field: &str, part: &str) -> Result<String> {
    let bytes = part.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = part
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| Error::invalid(field, "has a malformed percent escape"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Error::invalid(field, "is not valid UTF-8"))
}

impl fmt::Display for InstanceTypeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        encode(self.provider.as_str(), &mut s);
        s.push('/');
        encode(self.location.as_str(), &mut s);
        s.push('/');
        if let Some(zone) = &self.zone {
            encode(zone.as_str(), &mut s);
        }
        s.push('/');
        encode(&self.type_name, &mut s);
        f.write_str(&s)
    }
}

impl FromStr for InstanceTypeId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let parts: Vec<&str> = s.split('/').collect();
        let [provider, location, zone, type_name] = parts.as_slice() else {
            return Err(Error::invalid(
                "instance_type_id",
                "must have four '/'-separated parts: provider/location/zone/type",
            ));
        };
        let zone = if zone.is_empty() {
            None
        } else {
            Some(decode("zone", zone)?)
        };
        Self::builder(
            decode("provider", provider)?,
            decode("location", location)?,
            decode("instance_type", type_name)?,
        )
        .maybe_zone(zone)
        .build()
    }
}

impl TryFrom<String> for InstanceTypeId {
    type Error = Error;

    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<InstanceTypeId> for String {
    fn from(id: InstanceTypeId) -> Self {
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn text_ids_validate() {
        assert!(InstanceId::new("i-0abc").is_ok());
        assert_eq!(
            InstanceId::new("").unwrap_err().field(),
            Some("instance_id")
        );
        assert_eq!(RefId::new("has space").unwrap_err().field(), Some("ref_id"));
        assert_eq!(
            RefId::new("x".repeat(129)).unwrap_err().kind(),
            ErrorKind::InvalidRequest
        );
        assert!(LocationId::new("Oregon, US, NA").is_ok());
        assert!(LocationId::new(" padded").is_err());
    }

    #[test]
    fn text_id_serde_validates() {
        let id: RefId = serde_json::from_str("\"node-1\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"node-1\"");
        assert!(serde_json::from_str::<RefId>("\"bad id\"").is_err());
    }

    #[test]
    fn type_id_round_trips_awkward_parts() {
        let cases = [
            ("aws", "us-east-1", Some("use1-az4"), "p5.48xlarge"),
            ("vast", ", US, NA", None, "1x-RTX_5090-32-65536"),
            ("odd", "a/b%c", Some("z 1"), "type/with/slashes"),
            ("lambda", "us-east-1", None, "gpu_8x_h100_sxm5"),
            ("x", "région", None, "ünïcode"),
        ];
        for (provider, location, zone, name) in cases {
            let id = InstanceTypeId::builder(provider, location, name)
                .maybe_zone(zone)
                .build()
                .unwrap();

            let text = id.to_string();
            let back: InstanceTypeId = text.parse().unwrap();

            assert_eq!(back, id, "{text}");
            assert_eq!(text.split('/').count(), 4, "{text}");
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(serde_json::from_str::<InstanceTypeId>(&json).unwrap(), id);
        }
    }

    #[test]
    fn type_id_rejects_malformed_text() {
        for bad in [
            "",
            "a/b/c",
            "a/b/c/d/e",
            "a/b//",
            "/b//t",
            "a/b//t%2",
            "a/b//t%zz",
        ] {
            let err = bad.parse::<InstanceTypeId>().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{bad}");
        }
    }
}

//! Exact byte quantities that parse and print SI and IEC units.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, Result};

/// An exact number of bytes.
///
/// Parses `"80GiB"`, `"2TB"`, `"512MiB"`, `"1.5GiB"` (when the result is a whole number of
/// bytes) and plain integers; unit names ignore case (`80gb` is `80GB`: bits are never
/// meant). Prints the largest unit that divides the value exactly, so `Bytes::gib(80)`
/// prints `80GiB` and `Bytes::parse("2TB")` prints `2TB`.
/// Serialises as an integer count of bytes and accepts an integer or a unit string.
///
/// ```
/// use compute_types::Bytes;
///
/// let b: Bytes = "80GiB".parse().unwrap();
/// assert_eq!(b.as_u64(), 80 * 1024 * 1024 * 1024);
/// assert_eq!(b.to_string(), "80GiB");
/// assert!("12XB".parse::<Bytes>().is_err());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bytes(u64);

/// Units from the largest multiplier down, so printing picks the largest exact one.
const UNITS: &[(&str, u64)] = &[
    ("PiB", 1 << 50),
    ("PB", 1_000_000_000_000_000),
    ("TiB", 1 << 40),
    ("TB", 1_000_000_000_000),
    ("GiB", 1 << 30),
    ("GB", 1_000_000_000),
    ("MiB", 1 << 20),
    ("MB", 1_000_000),
    ("KiB", 1 << 10),
    ("kB", 1_000),
    ("KB", 1_000),
    ("B", 1),
];

impl Bytes {
    /// Zero bytes.
    pub const ZERO: Self = Self(0);

    /// Wraps a count of bytes.
    pub const fn new(bytes: u64) -> Self {
        Self(bytes)
    }

    /// `n` mebibytes (saturating).
    pub const fn mib(n: u64) -> Self {
        Self(n.saturating_mul(1 << 20))
    }

    /// `n` gibibytes (saturating).
    pub const fn gib(n: u64) -> Self {
        Self(n.saturating_mul(1 << 30))
    }

    /// `n` tebibytes (saturating).
    pub const fn tib(n: u64) -> Self {
        Self(n.saturating_mul(1 << 40))
    }

    /// `n` gigabytes (SI, saturating).
    pub const fn gb(n: u64) -> Self {
        Self(n.saturating_mul(1_000_000_000))
    }

    /// Returns the count of bytes.
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// Returns the size in whole gibibytes, rounded down.
    pub const fn as_gib(self) -> u64 {
        self.0 >> 30
    }

    /// Adds, or returns `None` on overflow.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }

    /// Multiplies by a count, or returns `None` on overflow.
    pub fn checked_mul(self, n: u64) -> Option<Self> {
        self.0.checked_mul(n).map(Self)
    }

    /// Parses a quantity with an optional unit.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) for an empty,
    /// negative, fractional-byte, overflowing or unknown-unit value.
    pub fn parse(text: &str) -> Result<Self> {
        parse_bytes("size", text)
    }

    /// Like [`Bytes::parse`], naming `field` in the error.
    ///
    /// # Errors
    /// As [`Bytes::parse`].
    pub fn parse_field(field: &str, text: &str) -> Result<Self> {
        parse_bytes(field, text)
    }
}

fn parse_bytes(field: &str, text: &str) -> Result<Bytes> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if text.starts_with('-') {
        return Err(Error::invalid(field, format!("`{text}` is negative")));
    }

    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = (&text[..split], text[split..].trim());
    let multiplier = if unit.is_empty() {
        1
    } else {
        UNITS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(unit))
            .map(|(_, m)| *m)
            .ok_or_else(|| {
                Error::invalid(
                    field,
                    format!(
                        "`{text}` has unknown unit `{unit}` (use B, KB, MB, GB, TB, PB or KiB..PiB)"
                    ),
                )
            })?
    };

    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || frac.contains('.') || (number.contains('.') && frac.is_empty()) {
        return Err(Error::invalid(field, format!("`{text}` is not a number")));
    }
    let overflow = || Error::invalid(field, format!("`{text}` is larger than 2^64 bytes"));
    let whole: u64 = whole.parse().map_err(|_| overflow())?;
    let mut total = whole.checked_mul(multiplier).ok_or_else(overflow)?;
    // Trailing zeros change nothing; what is left must name whole bytes.
    let frac = frac.trim_end_matches('0');
    if !frac.is_empty() {
        total = total
            .checked_add(fraction_bytes(field, text, frac, multiplier)?)
            .ok_or_else(overflow)?;
    }
    Ok(Bytes(total))
}

/// The bytes in `0.frac` units of `multiplier`, exactly, or an error when they are not whole.
///
/// `frac` holds at most 38 digits (it fits a `u128`); the product is reduced by the common
/// factor of `multiplier` and the decimal scale first, so nothing overflows.
fn fraction_bytes(field: &str, text: &str, frac: &str, multiplier: u64) -> Result<u64> {
    if frac.len() > 38 {
        return Err(Error::invalid(
            field,
            format!("`{text}` has more than 38 decimal places"),
        ));
    }
    let digits: u128 = frac
        .parse()
        .map_err(|_| Error::invalid(field, format!("`{text}` is not a number")))?;

    let scale = 10u128.pow(frac.len() as u32);
    let multiplier = u128::from(multiplier);
    let common = gcd(multiplier, scale);
    let denominator = scale / common;
    if !digits.is_multiple_of(denominator) {
        return Err(Error::invalid(
            field,
            format!("`{text}` is not a whole number of bytes"),
        ));
    }

    // digits < scale, so the result is below `multiplier` and fits a u64.
    let part = digits / denominator * (multiplier / common);
    Ok(u64::try_from(part).unwrap_or(u64::MAX))
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0B");
        }
        for (name, m) in UNITS {
            if *name != "KB" && self.0.is_multiple_of(*m) {
                return write!(f, "{}{}", self.0 / m, name);
            }
        }
        write!(f, "{}B", self.0)
    }
}

impl FromStr for Bytes {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Int(u64),
            Text(String),
        }
        match Repr::deserialize(d)? {
            Repr::Int(n) => Ok(Self(n)),
            Repr::Text(t) => Self::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(Bytes::parse("80GiB").unwrap(), Bytes::gib(80));
        assert_eq!(Bytes::parse("2TB").unwrap().as_u64(), 2_000_000_000_000);
        assert_eq!(Bytes::parse("512MiB").unwrap(), Bytes::mib(512));
        assert_eq!(Bytes::parse("1.5GiB").unwrap(), Bytes::mib(1536));
        assert_eq!(Bytes::parse("1024").unwrap().as_u64(), 1024);
        assert_eq!(Bytes::parse("3 kB").unwrap().as_u64(), 3000);
        assert_eq!(Bytes::parse("80gib").unwrap(), Bytes::gib(80));
        assert_eq!(Bytes::parse("80gb").unwrap().as_u64(), 80_000_000_000);
        assert_eq!(Bytes::parse("2 TIB").unwrap(), Bytes::gib(2048));
    }

    #[test]
    fn long_fractions_are_exact_and_never_overflow() {
        // Trailing zeros are ignored however many there are.
        let zeros = format!("0.1{}B", "0".repeat(36));
        assert!(Bytes::parse(&zeros).is_err(), "0.1 bytes is not whole");
        let kb = format!("1.5{}KB", "0".repeat(60));
        assert_eq!(Bytes::parse(&kb).unwrap().as_u64(), 1500);

        // One byte written as a fraction of a PiB, 2^-50 exactly (50 decimal places).
        let one = "0.00000000000000088817841970012523233890533447265625PiB";
        assert!(Bytes::parse(one).is_err(), "more than 38 places is refused");
        assert_eq!(Bytes::parse("0.0009765625KiB").unwrap().as_u64(), 1);

        // Many significant places in a big unit: an error, not a panic or a wrong size.
        for bad in [
            "1.999999999999999999999999PiB",
            "0.1234567890123456789012345678901234567PB",
        ] {
            let err = Bytes::parse(bad).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidRequest, "{bad}");
            assert!(err.to_string().contains("whole number"), "{err}");
        }
        assert_eq!(Bytes::parse("1.125PiB").unwrap().as_u64(), 9 * (1u64 << 47));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "12XB",
            "-5GiB",
            "GiB",
            "1.2.3GB",
            "1.B",
            "99999999999PiB",
            "0.5B",
            "abc",
        ] {
            let err = Bytes::parse(bad).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidRequest, "{bad}");
            assert_eq!(err.field(), Some("size"), "{bad}");
        }
    }

    #[test]
    fn prints_exact_units_and_round_trips() {
        assert_eq!(Bytes::gib(80).to_string(), "80GiB");
        assert_eq!(Bytes::parse("2TB").unwrap().to_string(), "2TB");
        assert_eq!(Bytes::new(1001).to_string(), "1001B");
        assert_eq!(Bytes::ZERO.to_string(), "0B");
        for n in [0, 1, 999, 1000, 1024, 1536 << 20, u64::MAX] {
            let b = Bytes::new(n);
            assert_eq!(b.to_string().parse::<Bytes>().unwrap(), b);
        }
    }

    #[test]
    fn serde_accepts_int_and_text() {
        assert_eq!(serde_json::to_string(&Bytes::gib(1)).unwrap(), "1073741824");
        assert_eq!(
            serde_json::from_str::<Bytes>("\"1GiB\"").unwrap(),
            Bytes::gib(1)
        );
        assert_eq!(serde_json::from_str::<Bytes>("42").unwrap(), Bytes::new(42));
        assert!(serde_json::from_str::<Bytes>("\"12XB\"").is_err());
    }
}

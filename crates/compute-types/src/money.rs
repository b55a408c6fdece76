//! Prices as exact decimal amounts with an ISO 4217 currency, per hour.

use std::{fmt, str::FromStr};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// An ISO 4217 currency code such as `USD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    /// United States dollar.
    pub const USD: Self = Self(*b"USD");
    /// Euro.
    pub const EUR: Self = Self(*b"EUR");

    /// Validates a three-letter upper-case code.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) naming `currency`
    /// unless the code is three ASCII upper-case letters.
    pub fn new(code: &str) -> Result<Self> {
        match code.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_uppercase()) => Ok(Self([*a, *b, *c])),
            _ => Err(Error::invalid(
                "currency",
                format!("`{code}` is not an ISO 4217 code (three upper-case letters)"),
            )),
        }
    }

    /// Returns the code as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Currency {
    type Error = Error;

    fn try_from(s: String) -> Result<Self> {
        Self::new(&s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.as_str().to_owned()
    }
}

/// An hourly price: an exact decimal amount in one currency. No floats anywhere.
///
/// Arithmetic refuses to mix currencies.
///
/// ```
/// use compute_types::Price;
///
/// let node: Price = "23.92 USD".parse().unwrap();
/// let cluster = node.checked_mul(2).unwrap();
/// assert_eq!(cluster.to_string(), "47.84 USD/h");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Price {
    /// The amount per hour, serialised as a decimal string.
    pub amount: Decimal,
    /// The currency.
    pub currency: Currency,
}

impl Price {
    /// Creates a price per hour.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) naming `price` when the
    /// amount is negative.
    pub fn new(amount: Decimal, currency: Currency) -> Result<Self> {
        if amount.is_sign_negative() && !amount.is_zero() {
            return Err(Error::invalid("price", format!("`{amount}` is negative")));
        }
        Ok(Self {
            amount: amount.normalize(),
            currency,
        })
    }

    /// Creates a price in US dollars.
    ///
    /// # Errors
    /// As [`Price::new`].
    pub fn usd(amount: Decimal) -> Result<Self> {
        Self::new(amount, Currency::USD)
    }

    /// Parses `"2.49"` (dollars) or `"2.49 EUR"`, naming `field` in errors.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) naming `field` for a
    /// malformed or negative amount or a malformed currency.
    pub fn parse_field(field: &str, text: &str) -> Result<Self> {
        let text = text.trim().trim_start_matches('$');
        let text = text.strip_suffix("/h").unwrap_or(text).trim();
        let (amount, currency) = match text.split_once(' ') {
            Some((a, c)) => (a, Currency::new(c.trim())?),
            None => (text, Currency::USD),
        };
        let amount = Decimal::from_str(amount)
            .map_err(|_| Error::invalid(field, format!("`{amount}` is not a decimal amount")))?;
        Self::new(amount, currency).map_err(|e| Error::invalid(field, e.message().to_owned()))
    }

    /// Adds two prices of one currency.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) when the currencies
    /// differ or the sum overflows.
    pub fn checked_add(self, other: Self) -> Result<Self> {
        if self.currency != other.currency {
            return Err(Error::invalid(
                "currency",
                format!("cannot add {} to {}", other.currency, self.currency),
            ));
        }
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or_else(|| Error::invalid("price", "sum overflows"))?;
        Ok(Self {
            amount,
            currency: self.currency,
        })
    }

    /// Multiplies by a count, e.g. nodes in a cluster.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) on overflow.
    pub fn checked_mul(self, n: u64) -> Result<Self> {
        let amount = self
            .amount
            .checked_mul(Decimal::from(n))
            .ok_or_else(|| Error::invalid("price", "product overflows"))?;
        Ok(Self {
            amount: amount.normalize(),
            currency: self.currency,
        })
    }

    /// Divides by a count (e.g. price per GPU); `None` when `n` is zero.
    pub fn per(self, n: u64) -> Option<Self> {
        if n == 0 {
            return None;
        }
        let amount = self.amount.checked_div(Decimal::from(n))?;
        Some(Self {
            amount: amount.normalize(),
            currency: self.currency,
        })
    }

    /// Compares two prices of one currency; `None` when the currencies differ.
    pub fn compare(&self, other: &Self) -> Option<std::cmp::Ordering> {
        (self.currency == other.currency).then(|| self.amount.cmp(&other.amount))
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/h", self.amount, self.currency)
    }
}

impl FromStr for Price {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse_field("price", s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let p: Price = "2.49".parse().unwrap();
        assert_eq!(p.to_string(), "2.49 USD/h");
        assert_eq!("1.10 EUR".parse::<Price>().unwrap().currency, Currency::EUR);
        assert_eq!(p.to_string().parse::<Price>().unwrap(), p);
    }

    #[test]
    fn refuses_to_mix_currencies() {
        let usd: Price = "1".parse().unwrap();
        let eur: Price = "1 EUR".parse().unwrap();

        let err = usd.checked_add(eur).unwrap_err();

        assert_eq!(err.field(), Some("currency"));
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!("-1".parse::<Price>().unwrap_err().field(), Some("price"));
        assert_eq!("abc".parse::<Price>().unwrap_err().field(), Some("price"));
        assert_eq!(Currency::new("usd").unwrap_err().field(), Some("currency"));
        assert!(Currency::new("US").is_err());
    }

    #[test]
    fn exact_arithmetic_and_serde() {
        let p: Price = "0.1".parse().unwrap();
        let sum = p.checked_add(p).unwrap().checked_add(p).unwrap();
        assert_eq!(sum, "0.3".parse().unwrap());
        assert_eq!(sum.per(3).unwrap(), p);
        let json = serde_json::to_string(&sum).unwrap();
        assert_eq!(json, r#"{"amount":"0.3","currency":"USD"}"#);
        assert_eq!(serde_json::from_str::<Price>(&json).unwrap(), sum);
    }
}

//! Prices as exact decimal amounts with an ISO 4217 currency, per hour.

use std::{fmt, str::FromStr};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Active ISO 4217 codes, including the funds and precious-metal codes, without the testing
/// (`XTS`) and no-currency (`XXX`) codes.
const ISO_4217: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND \
BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF \
DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR \
IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA \
MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR \
PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB \
TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU \
XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XUA YER ZAR ZMW ZWG ZWL";

/// An ISO 4217 currency code such as `USD`, checked against the active list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    /// United States dollar.
    pub const USD: Self = Self(*b"USD");
    /// Euro.
    pub const EUR: Self = Self(*b"EUR");

    /// Validates a code against the active ISO 4217 list.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) naming `currency`
    /// unless the code is an active ISO 4217 code in upper case.
    pub fn new(code: &str) -> Result<Self> {
        let known = code.len() == 3 && ISO_4217.split_ascii_whitespace().any(|c| c == code);
        match code.as_bytes() {
            [a, b, c] if known => Ok(Self([*a, *b, *c])),
            _ => Err(Error::invalid(
                "currency",
                format!("`{code}` is not an ISO 4217 currency code (e.g. USD, EUR, GBP)"),
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
#[serde(try_from = "PriceRepr")]
#[non_exhaustive]
pub struct Price {
    /// The amount per hour, serialised as a decimal string.
    pub amount: Decimal,
    /// The currency.
    pub currency: Currency,
}

/// The wire form of a [`Price`], checked by [`Price::new`] on the way in.
#[derive(Deserialize)]
struct PriceRepr {
    amount: Decimal,
    currency: Currency,
}

impl TryFrom<PriceRepr> for Price {
    type Error = Error;

    fn try_from(repr: PriceRepr) -> Result<Self> {
        Self::new(repr.amount, repr.currency)
    }
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

    /// Parses `"2.49"` (dollars), `"2.49 EUR"`, `"2.49EUR"` or `"2.49 eur"`, naming `field`
    /// in errors.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) naming `field` for a
    /// malformed or negative amount or a malformed currency.
    pub fn parse_field(field: &str, text: &str) -> Result<Self> {
        let text = text.trim().trim_start_matches('$');
        let text = text.strip_suffix("/h").unwrap_or(text).trim();
        let split = text
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(text.len());
        let (amount, code) = (text[..split].trim(), text[split..].trim());
        let currency = if code.is_empty() {
            Currency::USD
        } else {
            // People write `5usd` as often as `5 USD`; the code itself is upper case.
            Currency::new(&code.to_ascii_uppercase())
                .map_err(|e| Error::invalid(field, e.message().to_owned()))?
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
    fn currency_list_is_well_formed() {
        let codes: Vec<&str> = ISO_4217.split_ascii_whitespace().collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();

        assert_eq!(sorted, codes, "sorted and without duplicates");
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()))
        );
        assert!(codes.len() > 150);
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
        assert!(Currency::new("XYZ").is_err());
        assert_eq!(
            "30 XYZ".parse::<Price>().unwrap_err().field(),
            Some("price")
        );
        assert_eq!("1EUR".parse::<Price>().unwrap(), "1 EUR".parse().unwrap());
        assert_eq!("5usd".parse::<Price>().unwrap(), "5 USD".parse().unwrap());
        assert_eq!("5 eur".parse::<Price>().unwrap().currency, Currency::EUR);
        assert_eq!("$2.5/h".parse::<Price>().unwrap().to_string(), "2.5 USD/h");
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

        // JSON goes through the same checks as `Price::new`.
        let negative = serde_json::from_str::<Price>(r#"{"amount":"-1","currency":"USD"}"#);
        assert!(negative.unwrap_err().to_string().contains("negative"));
        let unknown = serde_json::from_str::<Price>(r#"{"amount":"1","currency":"ABC"}"#);
        assert!(unknown.unwrap_err().to_string().contains("ISO 4217"));
    }
}

//! Locations (regions) holding their zones, with validated country codes.
//!
//! The Go v1 interface spread placement over `Location`, `SubLocation` and `AvailableAzs`.
//! Here a [`Location`] is a region and owns its [`Zone`]s: Go's `Location` maps to
//! [`Location::name`], `SubLocation` and each entry of `AvailableAzs` map to a [`Zone`].

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::{Error, LocationId, Result, ZoneId};

/// Every assigned ISO 3166-1 alpha-3 code, sorted.
const ALPHA3: &str = "ABW AFG AGO AIA ALA ALB AND ARE ARG ARM ASM ATA ATF ATG AUS AUT AZE BDI BEL \
BEN BES BFA BGD BGR BHR BHS BIH BLM BLR BLZ BMU BOL BRA BRB BRN BTN BVT BWA CAF CAN CCK CHE CHL \
CHN CIV CMR COD COG COK COL COM CPV CRI CUB CUW CXR CYM CYP CZE DEU DJI DMA DNK DOM DZA ECU EGY \
ERI ESH ESP EST ETH FIN FJI FLK FRA FRO FSM GAB GBR GEO GGY GHA GIB GIN GLP GMB GNB GNQ GRC GRD \
GRL GTM GUF GUM GUY HKG HMD HND HRV HTI HUN IDN IMN IND IOT IRL IRN IRQ ISL ISR ITA JAM JEY JOR \
JPN KAZ KEN KGZ KHM KIR KNA KOR KWT LAO LBN LBR LBY LCA LIE LKA LSO LTU LUX LVA MAC MAF MAR MCO \
MDA MDG MDV MEX MHL MKD MLI MLT MMR MNE MNG MNP MOZ MRT MSR MTQ MUS MWI MYS MYT NAM NCL NER NFK \
NGA NIC NIU NLD NOR NPL NRU NZL OMN PAK PAN PCN PER PHL PLW PNG POL PRI PRK PRT PRY PSE PYF QAT \
REU ROU RUS RWA SAU SDN SEN SGP SGS SHN SJM SLB SLE SLV SMR SOM SPM SRB SSD STP SUR SVK SVN SWE \
SWZ SXM SYC SYR TCA TCD TGO THA TJK TKL TKM TLS TON TTO TUN TUR TUV TWN TZA UGA UKR UMI URY USA \
UZB VAT VCT VEN VGB VIR VNM VUT WLF WSM YEM ZAF ZMB ZWE";

/// An ISO 3166-1 alpha-3 country code such as `USA` or `FIN`, checked against the standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode([u8; 3]);

impl CountryCode {
    /// Validates a code.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) naming `country` unless
    /// the text is an assigned ISO 3166-1 alpha-3 code (upper case).
    pub fn new(code: &str) -> Result<Self> {
        let known = code.len() == 3 && ALPHA3.split_ascii_whitespace().any(|c| c == code);
        match code.as_bytes() {
            [a, b, c] if known => Ok(Self([*a, *b, *c])),
            _ => Err(Error::invalid(
                "country",
                format!("`{code}` is not an ISO 3166-1 alpha-3 code (e.g. USA, FIN, JPN)"),
            )),
        }
    }

    /// Returns the code as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CountryCode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

impl TryFrom<String> for CountryCode {
    type Error = Error;

    fn try_from(s: String) -> Result<Self> {
        Self::new(&s)
    }
}

impl From<CountryCode> for String {
    fn from(c: CountryCode) -> Self {
        c.as_str().to_owned()
    }
}

/// A zone inside a location (Go's `SubLocation` / one of `AvailableAzs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Zone {
    /// The zone's name.
    pub name: ZoneId,
    /// Whether new instances can be placed there now.
    pub available: bool,
}

impl Zone {
    /// An available zone.
    pub fn new(name: ZoneId) -> Self {
        Self {
            name,
            available: true,
        }
    }
}

/// A provider location (region) and its zones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Location {
    /// The provider's name for the region.
    pub name: LocationId,
    /// A human-readable description, e.g. `US East (Virginia)`.
    #[serde(default)]
    pub description: String,
    /// Whether new instances can be placed there now.
    pub available: bool,
    /// The API endpoint serving this location, for per-location APIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Preference order; lower is preferred.
    #[serde(default)]
    pub priority: i32,
    /// The country the location is in, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<CountryCode>,
    /// The zones of the location; empty for providers without zones.
    #[serde(default)]
    pub zones: Vec<Zone>,
}

impl Location {
    /// An available location with no zones and no other facts.
    pub fn new(name: LocationId) -> Self {
        Self {
            name,
            description: String::new(),
            available: true,
            endpoint: None,
            priority: 0,
            country: None,
            zones: Vec::new(),
        }
    }

    /// Sets the country.
    pub fn with_country(mut self, country: CountryCode) -> Self {
        self.country = Some(country);
        self
    }

    /// Adds a zone.
    pub fn with_zone(mut self, zone: Zone) -> Self {
        self.zones.push(zone);
        self
    }

    /// Returns the zone named `name`.
    pub fn zone(&self, name: &ZoneId) -> Option<&Zone> {
        self.zones.iter().find(|z| &z.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn country_codes_are_checked_against_the_standard() {
        assert_eq!(ALPHA3.split_ascii_whitespace().count(), 249);
        let mut sorted: Vec<_> = ALPHA3.split_ascii_whitespace().collect();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 249);

        assert!(CountryCode::new("USA").is_ok());
        assert!(CountryCode::new("FIN").is_ok());
        for bad in ["US", "usa", "XYZ", "", "USAA"] {
            let err = CountryCode::new(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidRequest);
            assert_eq!(err.field(), Some("country"));
        }
    }

    #[test]
    fn location_round_trips() {
        let loc = Location::new(LocationId::new("us-east-1").unwrap())
            .with_country(CountryCode::new("USA").unwrap())
            .with_zone(Zone::new(ZoneId::new("use1-az4").unwrap()));

        let json = serde_json::to_string(&loc).unwrap();

        assert_eq!(serde_json::from_str::<Location>(&json).unwrap(), loc);
        assert!(serde_json::from_str::<Location>(&json.replace("USA", "US")).is_err());
        assert!(loc.zone(&ZoneId::new("use1-az4").unwrap()).is_some());

        let mut zone = Zone::new(ZoneId::new("use1-az6").unwrap());
        zone.available = false;
        let json = serde_json::to_string(&zone).unwrap();
        assert_eq!(json, r#"{"name":"use1-az6","available":false}"#);
        assert_eq!(serde_json::from_str::<Zone>(&json).unwrap(), zone);
    }
}

//! Countries of catalog locations: ISO alpha-2 to alpha-3, and well-known cloud regions.
//!
//! Only facts we are sure of are listed. A location we cannot place gets no country rather
//! than a guessed one.

use compute_types::CountryCode;

/// ISO 3166-1 alpha-2 to alpha-3, for the countries marketplace catalogs name (and neighbours).
const ALPHA2: &[(&str, &str)] = &[
    ("AE", "ARE"),
    ("AR", "ARG"),
    ("AT", "AUT"),
    ("AU", "AUS"),
    ("BE", "BEL"),
    ("BG", "BGR"),
    ("BR", "BRA"),
    ("CA", "CAN"),
    ("CH", "CHE"),
    ("CL", "CHL"),
    ("CN", "CHN"),
    ("CZ", "CZE"),
    ("DE", "DEU"),
    ("DK", "DNK"),
    ("EE", "EST"),
    ("ES", "ESP"),
    ("FI", "FIN"),
    ("FR", "FRA"),
    ("GB", "GBR"),
    ("GR", "GRC"),
    ("HK", "HKG"),
    ("HR", "HRV"),
    ("HU", "HUN"),
    ("ID", "IDN"),
    ("IE", "IRL"),
    ("IL", "ISR"),
    ("IN", "IND"),
    ("IS", "ISL"),
    ("IT", "ITA"),
    ("JP", "JPN"),
    ("KR", "KOR"),
    ("KZ", "KAZ"),
    ("LT", "LTU"),
    ("LU", "LUX"),
    ("LV", "LVA"),
    ("MX", "MEX"),
    ("MY", "MYS"),
    ("NL", "NLD"),
    ("NO", "NOR"),
    ("NZ", "NZL"),
    ("PH", "PHL"),
    ("PL", "POL"),
    ("PT", "PRT"),
    ("QA", "QAT"),
    ("RO", "ROU"),
    ("RS", "SRB"),
    ("RU", "RUS"),
    ("SA", "SAU"),
    ("SE", "SWE"),
    ("SG", "SGP"),
    ("SI", "SVN"),
    ("SK", "SVK"),
    ("TH", "THA"),
    ("TR", "TUR"),
    ("TW", "TWN"),
    ("UA", "UKR"),
    ("US", "USA"),
    ("VN", "VNM"),
    ("ZA", "ZAF"),
];

/// Continent codes marketplace locations end with.
const CONTINENTS: &[&str] = &["AF", "AN", "AS", "EU", "NA", "OC", "SA"];

/// Regions whose country is public and stable, by provider. `us-` regions of any provider
/// are in the USA and need no entry.
const REGIONS: &[(&str, &str, &str)] = &[
    ("aws", "af-south-1", "ZAF"),
    ("aws", "ap-east-1", "HKG"),
    ("aws", "ap-northeast-1", "JPN"),
    ("aws", "ap-northeast-2", "KOR"),
    ("aws", "ap-northeast-3", "JPN"),
    ("aws", "ap-south-1", "IND"),
    ("aws", "ap-south-2", "IND"),
    ("aws", "ap-southeast-1", "SGP"),
    ("aws", "ap-southeast-2", "AUS"),
    ("aws", "ap-southeast-3", "IDN"),
    ("aws", "ap-southeast-4", "AUS"),
    ("aws", "ca-central-1", "CAN"),
    ("aws", "eu-central-1", "DEU"),
    ("aws", "eu-central-2", "CHE"),
    ("aws", "eu-north-1", "SWE"),
    ("aws", "eu-south-1", "ITA"),
    ("aws", "eu-south-2", "ESP"),
    ("aws", "eu-west-1", "IRL"),
    ("aws", "eu-west-2", "GBR"),
    ("aws", "eu-west-3", "FRA"),
    ("aws", "il-central-1", "ISR"),
    ("aws", "me-central-1", "ARE"),
    ("aws", "me-south-1", "BHR"),
    ("aws", "sa-east-1", "BRA"),
    ("gcp", "africa-south1", "ZAF"),
    ("gcp", "asia-east1", "TWN"),
    ("gcp", "asia-east2", "HKG"),
    ("gcp", "asia-northeast1", "JPN"),
    ("gcp", "asia-northeast2", "JPN"),
    ("gcp", "asia-northeast3", "KOR"),
    ("gcp", "asia-south1", "IND"),
    ("gcp", "asia-south2", "IND"),
    ("gcp", "asia-southeast1", "SGP"),
    ("gcp", "asia-southeast2", "IDN"),
    ("gcp", "australia-southeast1", "AUS"),
    ("gcp", "australia-southeast2", "AUS"),
    ("gcp", "europe-central2", "POL"),
    ("gcp", "europe-north1", "FIN"),
    ("gcp", "europe-southwest1", "ESP"),
    ("gcp", "europe-west1", "BEL"),
    ("gcp", "europe-west10", "DEU"),
    ("gcp", "europe-west12", "ITA"),
    ("gcp", "europe-west2", "GBR"),
    ("gcp", "europe-west3", "DEU"),
    ("gcp", "europe-west4", "NLD"),
    ("gcp", "europe-west6", "CHE"),
    ("gcp", "europe-west8", "ITA"),
    ("gcp", "europe-west9", "FRA"),
    ("gcp", "me-central1", "QAT"),
    ("gcp", "me-central2", "SAU"),
    ("gcp", "me-west1", "ISR"),
    ("gcp", "northamerica-northeast1", "CAN"),
    ("gcp", "northamerica-northeast2", "CAN"),
    ("gcp", "southamerica-east1", "BRA"),
    ("gcp", "southamerica-west1", "CHL"),
    ("lambda", "australia-east-1", "AUS"),
    ("lambda", "europe-central-1", "DEU"),
    ("lambda", "asia-northeast-1", "JPN"),
    ("nebius", "eu-north1", "FIN"),
    ("nebius", "eu-west1", "FRA"),
];

/// Returns the alpha-3 code of an alpha-2 code we list.
pub(crate) fn alpha3(alpha2: &str) -> Option<CountryCode> {
    let (_, code) = ALPHA2.iter().find(|(a2, _)| *a2 == alpha2)?;
    CountryCode::new(code).ok()
}

/// Returns the country of a location of `provider`, when we know it for sure.
///
/// Marketplace text such as `Oregon, US, NA` or `, CN, AS` ends with an alpha-2 country and
/// a continent; cloud regions are looked up by provider, and `us-…` means the USA anywhere.
pub(crate) fn country_of(provider: &str, location: &str) -> Option<CountryCode> {
    if let Some(code) = from_free_text(location) {
        return Some(code);
    }
    if location.starts_with("us-") {
        return CountryCode::new("USA").ok();
    }
    let (_, _, code) = REGIONS
        .iter()
        .find(|(p, region, _)| *p == provider && *region == location)?;
    CountryCode::new(code).ok()
}

fn from_free_text(location: &str) -> Option<CountryCode> {
    let mut parts = location.rsplit(',').map(str::trim);
    let continent = parts.next()?;
    let country = parts.next()?;
    if !CONTINENTS.contains(&continent) {
        return None;
    }
    alpha3(country)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_hold_valid_codes() {
        for (a2, a3) in ALPHA2 {
            assert!(CountryCode::new(a3).is_ok(), "{a2} -> {a3}");
        }
        for (p, region, a3) in REGIONS {
            assert!(CountryCode::new(a3).is_ok(), "{p}/{region} -> {a3}");
        }
    }

    #[test]
    fn places_locations() {
        let cases = [
            ("vast", "Oregon, US, NA", Some("USA")),
            ("vast", ", CN, AS", Some("CHN")),
            ("vast", "The Netherlands, NL, EU", Some("NLD")),
            ("vast", "Sverdlovsk Oblast, RU, EU", Some("RUS")),
            ("vast", "Somewhere, XX, EU", None),
            ("aws", "eu-north-1", Some("SWE")),
            ("nebius", "eu-north1", Some("FIN")),
            ("gcp", "europe-west4", Some("NLD")),
            ("lambda", "us-south-3", Some("USA")),
            ("lambda", "asia-northeast-2", None),
            ("nebius", "me-west1", None),
            ("other", "eu-central-1", None),
        ];
        for (provider, location, want) in cases {
            let got = country_of(provider, location);

            assert_eq!(got.as_ref().map(CountryCode::as_str), want, "{location}");
        }
    }
}

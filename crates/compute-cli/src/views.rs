//! What the CLI prints about instances, types and locations: one serde view per thing, the
//! stable JSON schema of docs/CLI_JSON.md, and the matching table rows.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use compute_types::{Instance, InstanceType, Location, Price, PriceScope, TAG_CLUSTER, TAG_REF_ID};

/// An instance as `ls`, `show`, `up` and `sweep` print it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct InstanceView {
    /// The cloud's id.
    pub(crate) id: String,
    /// Display name.
    pub(crate) name: String,
    /// The caller's ref id.
    pub(crate) ref_id: String,
    /// Cluster, when the instance belongs to one.
    pub(crate) cluster: Option<String>,
    /// Lifecycle state.
    pub(crate) state: String,
    /// Provider.
    pub(crate) provider: String,
    /// Type name.
    pub(crate) instance_type: String,
    /// Canonical type id.
    pub(crate) instance_type_id: String,
    /// Location.
    pub(crate) location: String,
    /// Zone.
    pub(crate) zone: Option<String>,
    /// Private address.
    pub(crate) private_ip: Option<IpAddr>,
    /// Public address.
    pub(crate) public_ip: Option<IpAddr>,
    /// Bought as spot.
    pub(crate) spot: bool,
    /// Hourly price of the whole instance, when known.
    pub(crate) price: Option<PriceView>,
    /// Creation time.
    pub(crate) created_at: DateTime<Utc>,
    /// Seconds since creation.
    pub(crate) age_seconds: i64,
    /// Inbound and outbound rules in compact form.
    pub(crate) firewall_rules: Vec<String>,
    /// Fingerprint of the authorised SSH key.
    pub(crate) ssh_key_fingerprint: Option<String>,
    /// Messages the provider gave about the state.
    pub(crate) messages: Vec<String>,
}

impl InstanceView {
    /// The view of `instance`, priced with `price` (the type's whole-instance price).
    pub(crate) fn new(instance: &Instance, price: Option<Price>, now: DateTime<Utc>) -> Self {
        let cluster = instance.tags.get(TAG_CLUSTER).map(str::to_owned);
        let ref_id = instance
            .tags
            .get(TAG_REF_ID)
            .unwrap_or(instance.ref_id().as_str());
        Self {
            id: instance.id().to_string(),
            name: instance.identity.name.clone(),
            ref_id: ref_id.to_owned(),
            cluster,
            state: instance.state().to_string(),
            provider: instance.compute.instance_type_id.provider().to_string(),
            instance_type: instance.instance_type().to_owned(),
            instance_type_id: instance.compute.instance_type_id.to_string(),
            location: instance.placement.location.to_string(),
            zone: instance.placement.zone.as_ref().map(ToString::to_string),
            private_ip: instance.network.private_ip,
            public_ip: instance.network.public_ip,
            spot: instance.compute.spot,
            price: price.map(PriceView::from),
            created_at: instance.identity.created_at,
            age_seconds: (now - instance.identity.created_at).num_seconds().max(0),
            firewall_rules: instance
                .network
                .firewall_rules
                .iter()
                .map(ToString::to_string)
                .collect(),
            ssh_key_fingerprint: instance.access.public_key_fingerprint.clone(),
            messages: instance.lifecycle.status.messages.clone(),
        }
    }

    /// Table header of [`InstanceView::row`].
    pub(crate) const HEADER: [&'static str; 9] = [
        "name",
        "id",
        "state",
        "private ip",
        "public ip",
        "type",
        "location",
        "price",
        "age",
    ];

    /// One table row.
    pub(crate) fn row(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.id.clone(),
            self.state.clone(),
            show_ip(self.private_ip),
            show_ip(self.public_ip),
            self.instance_type.clone(),
            self.location.clone(),
            self.price
                .as_ref()
                .map_or_else(|| "-".into(), PriceView::per_hour),
            age(self.age_seconds),
        ]
    }
}

/// A price in JSON: an exact decimal string and a currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PriceView {
    /// Amount per hour, a decimal string such as `"23.92"`.
    pub(crate) amount: String,
    /// ISO 4217 code.
    pub(crate) currency: String,
}

impl PriceView {
    /// The one way text output writes a price: `23.92 USD/h`, `0.40 EUR/h`, `1.42 USD/h`.
    ///
    /// Tables round to cents from 1 up and to four decimals below 1, so a per-GPU price
    /// of `0.0625` keeps its digits; JSON keeps the exact amount.
    pub(crate) fn per_hour(&self) -> String {
        format!("{} {}/h", round_for_table(&self.amount), self.currency)
    }
}

/// Rounds a decimal string half away from zero, to 2 decimals from 1 up and 4 below,
/// keeping at least 2 decimals and no trailing zeros past them.
fn round_for_table(amount: &str) -> String {
    let (sign, unsigned) = match amount.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", amount),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let places = if whole.trim_start_matches('0').is_empty() {
        4
    } else {
        2
    };
    let fraction = format!("{fraction:0<width$}", width = places + 1);

    let mut digits: Vec<u8> = format!("{whole}{}", &fraction[..places]).into_bytes();
    if fraction.as_bytes()[places] >= b'5' {
        let carried = digits.iter_mut().rev().all(|d| {
            let overflow = *d == b'9';
            *d = if overflow { b'0' } else { *d + 1 };
            overflow
        });
        if carried {
            digits.insert(0, b'1');
        }
    }

    let text = String::from_utf8(digits).unwrap_or_default();
    let (whole, fraction) = text.split_at(text.len() - places);
    let mut fraction = fraction.trim_end_matches('0').to_owned();
    while fraction.len() < 2 {
        fraction.push('0');
    }
    let whole = if whole.is_empty() { "0" } else { whole };
    format!("{sign}{whole}.{fraction}")
}

impl From<Price> for PriceView {
    fn from(p: Price) -> Self {
        Self {
            amount: p.amount.round_dp(6).normalize().to_string(),
            currency: p.currency.to_string(),
        }
    }
}

/// An instance type as `types` prints it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TypeView {
    /// Canonical id.
    pub(crate) id: String,
    /// Provider.
    pub(crate) provider: String,
    /// Location.
    pub(crate) location: String,
    /// Zone, for zonal types.
    pub(crate) zone: Option<String>,
    /// Type name; empty for accelerator-only offers that have none.
    pub(crate) name: String,
    /// GPU model (of the first GPU kind), when the type has GPUs.
    pub(crate) gpu_model: Option<String>,
    /// Number of GPUs.
    pub(crate) gpu_count: u32,
    /// Memory per GPU in bytes, when known.
    pub(crate) gpu_memory_bytes: Option<u64>,
    /// Virtual CPUs.
    pub(crate) vcpus: u32,
    /// Host memory in bytes.
    pub(crate) memory_bytes: u64,
    /// On-demand price per hour.
    pub(crate) price: Option<PriceView>,
    /// Spot price per hour.
    pub(crate) spot_price: Option<PriceView>,
    /// What the prices cover: `instance` or `accelerators_only` (host billed on top).
    pub(crate) price_scope: &'static str,
    /// The selected price (spot with `--spot`) divided by the GPU count.
    pub(crate) price_per_gpu: Option<PriceView>,
    /// Whether the type can be launched now.
    pub(crate) available: bool,
}

impl TypeView {
    /// The view of `t`; `spot` picks which price the per-GPU figure uses.
    pub(crate) fn new(t: &InstanceType, spot: bool) -> Self {
        let gpu = t.gpus.first();
        let selected = if spot { t.spot_price } else { t.price };
        Self {
            id: t.id.to_string(),
            provider: t.provider().to_string(),
            location: t.location().to_string(),
            zone: t.id.zone().map(ToString::to_string),
            name: t.name().to_owned(),
            gpu_model: gpu.map(|g| g.model.clone()),
            gpu_count: t.gpu_count(),
            gpu_memory_bytes: gpu.and_then(|g| g.memory).map(|m| m.as_u64()),
            vcpus: t.vcpus,
            memory_bytes: t.memory.as_u64(),
            price: t.price.map(PriceView::from),
            spot_price: t.spot_price.map(PriceView::from),
            price_scope: scope_name(t.price_scope),
            price_per_gpu: selected
                .and_then(|p| p.per(u64::from(t.gpu_count())))
                .map(PriceView::from),
            available: t.available,
        }
    }

    /// Table header of [`TypeView::row`].
    pub(crate) const HEADER: [&'static str; 9] = [
        "provider", "location", "zone", "type", "gpus", "gpu mem", "vcpus", "price", "per gpu",
    ];

    /// One table row; `spot` shows the spot price. Partial prices are marked.
    pub(crate) fn row(&self, spot: bool) -> Vec<String> {
        let price = if spot { &self.spot_price } else { &self.price };
        let partial = self.price_scope != "instance";
        let mark = |p: &PriceView| {
            if partial {
                format!("{} (gpus only)", p.per_hour())
            } else {
                p.per_hour()
            }
        };
        let gpus = match (&self.gpu_model, self.gpu_count) {
            (Some(model), n) => format!("{n}x {model}"),
            (None, _) => "-".into(),
        };
        vec![
            self.provider.clone(),
            self.location.clone(),
            self.zone.clone().unwrap_or_else(|| "-".into()),
            if self.name.is_empty() {
                "-".into()
            } else {
                self.name.clone()
            },
            gpus,
            self.gpu_memory_bytes
                .map_or_else(|| "-".into(), |b| compute_types::Bytes::new(b).to_string()),
            if self.vcpus == 0 {
                "-".into()
            } else {
                self.vcpus.to_string()
            },
            price.as_ref().map_or_else(|| "-".into(), mark),
            self.price_per_gpu.as_ref().map_or_else(|| "-".into(), mark),
        ]
    }
}

/// The JSON name of a price scope.
pub(crate) fn scope_name(scope: PriceScope) -> &'static str {
    match scope {
        PriceScope::AcceleratorsOnly => "accelerators_only",
        _ => "instance",
    }
}

/// A location as `locations` prints it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LocationView {
    /// Provider.
    pub(crate) provider: String,
    /// Location (region) name.
    pub(crate) name: String,
    /// Description.
    pub(crate) description: String,
    /// Whether new instances can be placed there now.
    pub(crate) available: bool,
    /// ISO 3166-1 alpha-3 country, when known.
    pub(crate) country: Option<String>,
    /// Zones with their availability.
    pub(crate) zones: Vec<ZoneView>,
}

/// A zone of a location.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ZoneView {
    /// Zone name.
    pub(crate) name: String,
    /// Whether new instances can be placed there now.
    pub(crate) available: bool,
}

impl LocationView {
    /// The view of `location` of `provider`.
    pub(crate) fn new(provider: &str, location: &Location) -> Self {
        Self {
            provider: provider.to_owned(),
            name: location.name.to_string(),
            description: location.description.clone(),
            available: location.available,
            country: location.country.map(|c| c.to_string()),
            zones: location
                .zones
                .iter()
                .map(|z| ZoneView {
                    name: z.name.to_string(),
                    available: z.available,
                })
                .collect(),
        }
    }

    /// Table header of [`LocationView::row`].
    pub(crate) const HEADER: [&'static str; 5] =
        ["provider", "location", "available", "country", "zones"];

    /// One table row.
    pub(crate) fn row(&self) -> Vec<String> {
        let zones = if self.zones.is_empty() {
            "-".to_owned()
        } else {
            self.zones
                .iter()
                .map(|z| {
                    if z.available {
                        z.name.clone()
                    } else {
                        format!("{} (unavailable)", z.name)
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        vec![
            self.provider.clone(),
            self.name.clone(),
            yes_no(self.available).into(),
            self.country.clone().unwrap_or_else(|| "-".into()),
            zones,
        ]
    }
}

/// `1 node`, `2 nodes`, `0 nodes`.
pub(crate) fn plural(count: u64, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}

/// `yes` or `no`.
pub(crate) fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// An address or `-`.
pub(crate) fn show_ip(ip: Option<IpAddr>) -> String {
    ip.map_or_else(|| "-".into(), |ip| ip.to_string())
}

/// A short age like kubectl's: `42s`, `5m`, `3h`, `2d`.
pub(crate) fn age(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 2 * 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use compute_types::{Bytes, Gpu, InstanceId, Manufacturer, RefId};

    use super::*;

    fn gpu_type(scope: PriceScope) -> InstanceType {
        let id = "gcp/us-central1/us-central1-a/".to_owned() + "a3-highgpu-8g";
        let mut t = InstanceType::new(id.parse().unwrap(), 208, Bytes::gib(1872));
        t.gpus
            .push(Gpu::new(8, "H100", Manufacturer::Nvidia).with_memory(Bytes::gib(80)));
        t.price = Some("40".parse().unwrap());
        t.price_scope = scope;
        t
    }

    #[test]
    fn partial_prices_are_marked() {
        let full = TypeView::new(&gpu_type(PriceScope::Instance), false);
        let partial = TypeView::new(&gpu_type(PriceScope::AcceleratorsOnly), false);

        let full_row = full.row(false);
        let partial_row = partial.row(false);

        assert_eq!(full_row[7], "40.00 USD/h");
        assert_eq!(full_row[8], "5.00 USD/h");
        assert_eq!(partial_row[7], "40.00 USD/h (gpus only)");
        assert_eq!(partial.price_scope, "accelerators_only");
    }

    #[test]
    fn instance_view_reads_tags_and_age() {
        let type_id = "fake/us-east-1//gpu-8x-h100-sxm".parse().unwrap();
        let created: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        let mut inst = Instance::new(
            "demo-0",
            RefId::new("demo-0").unwrap(),
            InstanceId::new("i-1").unwrap(),
            type_id,
            created,
        );
        inst.tags.insert_reserved(TAG_CLUSTER, "demo").unwrap();

        let view = InstanceView::new(&inst, None, created + chrono::Duration::seconds(300));

        assert_eq!(view.cluster.as_deref(), Some("demo"));
        assert_eq!(view.row()[8], "5m");
        assert_eq!(view.row()[7], "-");
    }

    #[test]
    fn prices_read_the_same_everywhere() {
        let view = |text: &str| PriceView::from(text.parse::<Price>().unwrap());

        assert_eq!(view("98.32").per_hour(), "98.32 USD/h");
        assert_eq!(view("0.4").per_hour(), "0.40 USD/h");
        assert_eq!(view("12").per_hour(), "12.00 USD/h");
        assert_eq!(view("1.41875").per_hour(), "1.42 USD/h");
        assert_eq!(view("3.5EUR").per_hour(), "3.50 EUR/h");
    }

    #[test]
    fn table_prices_are_rounded() {
        let rounded = |amount: &str| round_for_table(amount);

        assert_eq!(rounded("66.048"), "66.05");
        assert_eq!(rounded("75.9552"), "75.96");
        assert_eq!(rounded("9.995"), "10.00");
        assert_eq!(rounded("99.999"), "100.00");
        assert_eq!(rounded("0.0625"), "0.0625");
        assert_eq!(rounded("0.06255"), "0.0626");
        assert_eq!(rounded("0.125"), "0.125");
        assert_eq!(rounded("0.99996"), "1.00");
        assert_eq!(rounded("0.00001"), "0.00");
        assert_eq!(rounded("0"), "0.00");
        assert_eq!(rounded("-1.005"), "-1.01");
    }

    #[test]
    fn plurals_agree_with_the_count() {
        assert_eq!(plural(1, "node", "nodes"), "1 node");
        assert_eq!(plural(2, "node", "nodes"), "2 nodes");
        assert_eq!(plural(0, "node", "nodes"), "0 nodes");
    }

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(age(5), "5s");
        assert_eq!(age(600), "10m");
        assert_eq!(age(3 * 3600), "3h");
        assert_eq!(age(3 * 86400), "3d");
    }
}

//! Firewall rules: direction, protocol, port range and address ranges, with a compact text form.

use std::{fmt, str::FromStr};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::{Error, FirewallRuleId, Result};

/// Which way a rule admits traffic.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Traffic arriving at the instance.
    Ingress,
    /// Traffic leaving the instance.
    Egress,
}

/// The IP protocol a rule matches.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// TCP, with a port range.
    Tcp,
    /// UDP, with a port range.
    Udp,
    /// ICMP and ICMPv6, without ports.
    Icmp,
    /// Every protocol and port.
    All,
}

impl Protocol {
    /// Returns true for protocols that carry ports (TCP and UDP).
    pub fn has_ports(self) -> bool {
        matches!(self, Self::Tcp | Self::Udp)
    }

    /// Returns the lower-case name used in the compact form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
            Self::Icmp => "icmp",
            Self::All => "all",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Ok(Self::Tcp),
            "udp" => Ok(Self::Udp),
            "icmp" => Ok(Self::Icmp),
            "all" => Ok(Self::All),
            _ => Err(Error::invalid(
                "protocol",
                format!("`{s}` is not one of tcp, udp, icmp, all"),
            )),
        }
    }
}

/// An inclusive port range inside `1..=65535` with `from <= to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "RawPortRange")]
pub struct PortRange {
    from: u16,
    to: u16,
}

#[derive(Deserialize)]
struct RawPortRange {
    from: u32,
    to: u32,
}

impl TryFrom<RawPortRange> for PortRange {
    type Error = Error;

    fn try_from(raw: RawPortRange) -> Result<Self> {
        Self::new(raw.from, raw.to)
    }
}

impl PortRange {
    /// The whole port space, `1-65535`.
    pub const ALL: Self = Self { from: 1, to: 65535 };

    /// Validates a range.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) naming `ports.from` or
    /// `ports.to` when a bound is outside `1..=65535`, or `ports` when `from > to`.
    pub fn new(from: u32, to: u32) -> Result<Self> {
        let bound = |field: &str, p: u32| {
            u16::try_from(p)
                .ok()
                .filter(|p| *p >= 1)
                .ok_or_else(|| Error::invalid(field, format!("port {p} is outside 1..=65535")))
        };
        let (from, to) = (bound("ports.from", from)?, bound("ports.to", to)?);
        if from > to {
            return Err(Error::invalid(
                "ports",
                format!("range {from}-{to} has from > to"),
            ));
        }
        Ok(Self { from, to })
    }

    /// A single port.
    ///
    /// # Errors
    /// As [`PortRange::new`].
    pub fn single(port: u32) -> Result<Self> {
        Self::new(port, port)
    }

    /// Returns the first port.
    pub fn from(self) -> u16 {
        self.from
    }

    /// Returns the last port.
    pub fn to(self) -> u16 {
        self.to
    }

    /// Returns true when `port` is in the range.
    pub fn contains(self, port: u16) -> bool {
        (self.from..=self.to).contains(&port)
    }

    /// Returns true when this is the whole port space.
    pub fn is_all(self) -> bool {
        self == Self::ALL
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.from == self.to {
            write!(f, "{}", self.from)
        } else {
            write!(f, "{}-{}", self.from, self.to)
        }
    }
}

impl FromStr for PortRange {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let num = |field: &str, t: &str| {
            t.trim()
                .parse::<u32>()
                .map_err(|_| Error::invalid(field, format!("`{t}` is not a port number")))
        };
        match s.split_once('-') {
            Some((a, b)) => Self::new(num("ports.from", a)?, num("ports.to", b)?),
            None => Self::single(num("ports", s)?),
        }
    }
}

/// One firewall rule.
///
/// An ingress rule admits traffic from `cidrs` to the instance; an egress rule admits traffic
/// from the instance to `cidrs`. TCP and UDP rules carry a port range; ICMP and `all` rules
/// carry none. Addresses may be IPv4 or IPv6. A CIDR with host bits set (`10.0.0.1/24`) is
/// kept as written here; `compute-net` canonicalises and reports it.
///
/// The compact text form is `[egress:]proto[:ports]@cidr[,cidr...]`, for example
/// `tcp:22@203.0.113.0/24`, `udp:60000-61000@0.0.0.0/0`, `icmp@10.0.0.0/8`. Ingress is the
/// default direction.
///
/// ```
/// use compute_types::FirewallRule;
///
/// let rule: FirewallRule = "tcp:22@203.0.113.0/24".parse().unwrap();
/// assert_eq!(rule.to_string(), "tcp:22@203.0.113.0/24");
/// assert!("tcp:0@10.0.0.0/8".parse::<FirewallRule>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawRule")]
#[non_exhaustive]
pub struct FirewallRule {
    /// The provider's id, once the rule exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<FirewallRuleId>,
    /// Ingress or egress.
    pub direction: Direction,
    /// The protocol matched.
    pub protocol: Protocol,
    /// The ports matched; `None` for ICMP and `all`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<PortRange>,
    /// Sources (ingress) or destinations (egress).
    pub cidrs: Vec<IpNet>,
}

#[derive(Deserialize)]
struct RawRule {
    #[serde(default)]
    id: Option<FirewallRuleId>,
    direction: Direction,
    protocol: Protocol,
    #[serde(default)]
    ports: Option<PortRange>,
    cidrs: Vec<IpNet>,
}

impl TryFrom<RawRule> for FirewallRule {
    type Error = Error;

    fn try_from(raw: RawRule) -> Result<Self> {
        let rule = Self::new(raw.direction, raw.protocol, raw.ports, raw.cidrs)?;
        Ok(Self { id: raw.id, ..rule })
    }
}

impl FirewallRule {
    /// Creates a validated rule.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) naming `ports` when a
    /// TCP/UDP rule has no ports or an ICMP/`all` rule has some, or `cidrs` when none is given.
    pub fn new(
        direction: Direction,
        protocol: Protocol,
        ports: Option<PortRange>,
        cidrs: Vec<IpNet>,
    ) -> Result<Self> {
        match (protocol.has_ports(), ports) {
            (true, None) => {
                return Err(Error::invalid(
                    "ports",
                    format!("{protocol} rules need a port range"),
                ));
            }
            (false, Some(_)) => {
                return Err(Error::invalid(
                    "ports",
                    format!("{protocol} rules take no ports"),
                ));
            }
            _ => {}
        }
        if cidrs.is_empty() {
            return Err(Error::invalid(
                "cidrs",
                "at least one address range is required",
            ));
        }
        Ok(Self {
            id: None,
            direction,
            protocol,
            ports,
            cidrs,
        })
    }

    /// An ingress rule.
    ///
    /// # Errors
    /// As [`FirewallRule::new`].
    pub fn ingress(
        protocol: Protocol,
        ports: Option<PortRange>,
        cidrs: Vec<IpNet>,
    ) -> Result<Self> {
        Self::new(Direction::Ingress, protocol, ports, cidrs)
    }

    /// An egress rule.
    ///
    /// # Errors
    /// As [`FirewallRule::new`].
    pub fn egress(protocol: Protocol, ports: Option<PortRange>, cidrs: Vec<IpNet>) -> Result<Self> {
        Self::new(Direction::Egress, protocol, ports, cidrs)
    }

    /// Returns the rule with a provider id.
    pub fn with_id(mut self, id: FirewallRuleId) -> Self {
        self.id = Some(id);
        self
    }

    /// Returns the same rule without its id, for comparing what rules admit.
    pub fn without_id(&self) -> Self {
        Self {
            id: None,
            ..self.clone()
        }
    }

    /// Parses the compact form, naming `field` (e.g. `--allow`) in errors.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) naming `field` and the
    /// part that is wrong.
    pub fn parse_field(field: &str, text: &str) -> Result<Self> {
        parse_rule(text).map_err(|e| {
            let part = e.field().unwrap_or("rule");
            Error::invalid(field, format!("`{text}`: {part}: {}", e.message()))
        })
    }
}

fn parse_rule(text: &str) -> Result<FirewallRule> {
    let text = text.trim();
    let (head, cidrs) = text.split_once('@').ok_or_else(|| {
        Error::invalid(
            "rule",
            "expected proto[:ports]@cidr, e.g. tcp:22@203.0.113.0/24",
        )
    })?;
    let (direction, head) = match head.split_once(':') {
        Some(("ingress", rest)) => (Direction::Ingress, rest),
        Some(("egress", rest)) => (Direction::Egress, rest),
        _ => (Direction::Ingress, head),
    };
    let (protocol, ports) = match head.split_once(':') {
        Some((p, ports)) => (p.parse::<Protocol>()?, Some(ports.parse::<PortRange>()?)),
        None => (head.parse::<Protocol>()?, None),
    };
    let cidrs = cidrs
        .split(',')
        .map(|c| {
            c.trim()
                .parse::<IpNet>()
                .map_err(|_| Error::invalid("cidr", format!("`{c}` is not an IPv4 or IPv6 CIDR")))
        })
        .collect::<Result<Vec<_>>>()?;
    FirewallRule::new(direction, protocol, ports, cidrs)
}

impl fmt::Display for FirewallRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.direction == Direction::Egress {
            f.write_str("egress:")?;
        }
        f.write_str(self.protocol.as_str())?;
        if let Some(ports) = self.ports {
            write!(f, ":{ports}")?;
        }
        f.write_str("@")?;
        for (i, cidr) in self.cidrs.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{cidr}")?;
        }
        Ok(())
    }
}

impl FromStr for FirewallRule {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        parse_rule(s)
    }
}

/// The firewall rules of an instance, split by direction.
///
/// The empty set is the secure default: **deny all inbound, allow all outbound**. Ingress
/// rules open inbound traffic. Egress rules, when any are present, replace the default allow
/// with exactly what they admit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FirewallRules {
    /// Rules admitting inbound traffic.
    #[serde(default)]
    pub ingress: Vec<FirewallRule>,
    /// Rules admitting outbound traffic; empty means all outbound is allowed.
    #[serde(default)]
    pub egress: Vec<FirewallRule>,
}

impl FirewallRules {
    /// The secure default: deny all inbound, allow all outbound.
    pub fn secure_default() -> Self {
        Self::default()
    }

    /// Sorts rules into their directions.
    pub fn from_rules(rules: impl IntoIterator<Item = FirewallRule>) -> Self {
        let mut set = Self::default();
        for rule in rules {
            set.push(rule);
        }
        set
    }

    /// Adds a rule to the list of its direction.
    pub fn push(&mut self, rule: FirewallRule) {
        match rule.direction {
            Direction::Ingress => self.ingress.push(rule),
            Direction::Egress => self.egress.push(rule),
        }
    }

    /// Iterates over all rules, ingress first.
    pub fn iter(&self) -> impl Iterator<Item = &FirewallRule> {
        self.ingress.iter().chain(&self.egress)
    }

    /// Returns true when this is the secure default (no rules at all).
    pub fn is_empty(&self) -> bool {
        self.ingress.is_empty() && self.egress.is_empty()
    }

    /// Returns the number of rules.
    pub fn len(&self) -> usize {
        self.ingress.len() + self.egress.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn compact_form_round_trips() {
        for text in [
            "tcp:22@203.0.113.0/24",
            "udp:60000-61000@0.0.0.0/0",
            "icmp@10.0.0.0/8",
            "all@10.0.0.0/8,2001:db8::/32",
            "egress:tcp:443@0.0.0.0/0",
            "tcp:1-65535@::/0",
        ] {
            let rule: FirewallRule = text.parse().unwrap();
            assert_eq!(rule.to_string(), text);
            let json = serde_json::to_string(&rule).unwrap();
            assert_eq!(serde_json::from_str::<FirewallRule>(&json).unwrap(), rule);
        }
    }

    #[test]
    fn bad_rules_name_the_field() {
        let cases = [
            ("tcp:0@10.0.0.0/8", "ports"),
            ("tcp:70000@10.0.0.0/8", "ports"),
            ("tcp:2000-1000@10.0.0.0/8", "ports"),
            ("tcp:22@10.0.0.0/33", "cidr"),
            ("tcp@10.0.0.0/8", "ports"),
            ("icmp:22@10.0.0.0/8", "ports"),
            ("sctp:22@10.0.0.0/8", "protocol"),
            ("tcp:22", "rule"),
        ];
        for (text, field) in cases {
            let err = text.parse::<FirewallRule>().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{text}");
            assert!(err.field().unwrap().starts_with(field), "{text}: {err}");
        }
    }

    #[test]
    fn port_range_bounds() {
        assert!(PortRange::new(1, 65535).unwrap().is_all());
        assert_eq!(
            PortRange::new(0, 1).unwrap_err().field(),
            Some("ports.from")
        );
        assert_eq!(
            PortRange::new(1, 70000).unwrap_err().field(),
            Some("ports.to")
        );
        assert_eq!(PortRange::new(9, 8).unwrap_err().field(), Some("ports"));
        assert!(serde_json::from_str::<PortRange>(r#"{"from":0,"to":5}"#).is_err());
    }

    #[test]
    fn parse_field_names_the_flag() {
        let err = FirewallRule::parse_field("--allow", "tcp:0@1.2.3.4/32").unwrap_err();
        assert_eq!(err.field(), Some("--allow"));
        assert!(err.message().contains("ports"), "{err}");
    }

    #[test]
    fn rules_sort_by_direction() {
        let rules = FirewallRules::from_rules([
            "tcp:22@0.0.0.0/0".parse().unwrap(),
            "egress:all@10.0.0.0/8".parse().unwrap(),
        ]);
        assert_eq!((rules.ingress.len(), rules.egress.len()), (1, 1));
        assert!(FirewallRules::secure_default().is_empty());
    }
}

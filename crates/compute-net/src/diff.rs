//! Diff between current and desired rules: the rules to add and the rule ids to revoke.

use std::collections::BTreeSet;

use compute_types::{Direction, Error, FirewallRule, FirewallRuleId, FirewallRules, Result};

use crate::{
    normalize::{RuleKey, direction_name},
    policy::validate_rules,
};

/// The changes that turn the current rules into the desired ones.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleDiff {
    /// Rules to add, without ids (the provider assigns them).
    pub add: Vec<FirewallRule>,
    /// Ids of current rules to revoke.
    pub revoke: Vec<FirewallRuleId>,
}

impl RuleDiff {
    /// Returns true when nothing needs to change.
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.revoke.is_empty()
    }

    /// Returns `current` with the revoked rules removed and the added rules appended, as a
    /// provider applying the diff would leave it.
    pub fn apply(&self, current: &FirewallRules) -> FirewallRules {
        let revoked: BTreeSet<&FirewallRuleId> = self.revoke.iter().collect();
        let kept = current
            .iter()
            .filter(|rule| rule.id.as_ref().is_none_or(|id| !revoked.contains(id)))
            .cloned();
        FirewallRules::from_rules(kept.chain(self.add.iter().cloned()))
    }
}

/// Computes the fewest rule changes from `current` (rules with provider ids) to `desired`.
///
/// Rules are compared by what they admit as written canonically: direction, protocol,
/// ports and the set of canonical CIDRs, ignoring ids. A current rule whose form is desired
/// is kept (one per form; extra copies are revoked), every other current rule is revoked,
/// and every desired form not present is added once. Applying the diff leaves exactly the
/// desired forms, so every flow is decided as the desired rules decide it. Emptying the
/// egress list by revoking restores the default allow-all outbound, as the desired rules
/// say.
///
/// # Errors
/// [`ErrorKind::InvalidRequest`](compute_types::ErrorKind::InvalidRequest) as
/// [`validate_rules`] (naming `current.` or `desired.` fields), or naming
/// `current.ingress[i].id` when a rule that must be revoked has no id.
///
/// # Examples
///
/// ```
/// use compute_net::diff;
/// use compute_types::{FirewallRule, FirewallRules};
///
/// let ssh: FirewallRule = "tcp:22@0.0.0.0/0".parse().unwrap();
/// let web: FirewallRule = "tcp:443@0.0.0.0/0".parse().unwrap();
/// let current = FirewallRules::from_rules([ssh.with_id("fw-1".parse().unwrap())]);
/// let desired = FirewallRules::from_rules([web.clone()]);
///
/// let changes = diff(&current, &desired).unwrap();
/// assert_eq!(changes.add, vec![web]);
/// assert_eq!(changes.revoke[0].as_str(), "fw-1");
/// ```
pub fn diff(current: &FirewallRules, desired: &FirewallRules) -> Result<RuleDiff> {
    validate_rules(current).map_err(|e| prefixed("current", &e))?;
    validate_rules(desired).map_err(|e| prefixed("desired", &e))?;

    let wanted: BTreeSet<RuleKey> = desired.iter().map(RuleKey::of).collect();
    let mut present = BTreeSet::new();
    let mut out = RuleDiff::default();
    for (list, direction) in [
        (&current.ingress, Direction::Ingress),
        (&current.egress, Direction::Egress),
    ] {
        for (i, rule) in list.iter().enumerate() {
            let key = RuleKey::of(rule);
            if wanted.contains(&key) && !present.contains(&key) {
                present.insert(key);
                continue;
            }
            let Some(id) = &rule.id else {
                let field = format!("current.{}[{i}].id", direction_name(direction));
                return Err(Error::invalid(
                    field,
                    format!("`{rule}` must be revoked but has no id"),
                ));
            };
            out.revoke.push(id.clone());
        }
    }

    for rule in desired.iter() {
        let key = RuleKey::of(rule);
        if !present.contains(&key) {
            present.insert(key);
            out.add.push(rule.without_id());
        }
    }
    Ok(out)
}

/// Puts `side.` in front of an invalid-request field.
fn prefixed(side: &str, err: &Error) -> Error {
    match err.field() {
        Some(field) => Error::invalid(format!("{side}.{field}"), err.message()),
        None => err.clone_shallow(),
    }
}

#[cfg(test)]
mod tests {
    use compute_types::ErrorKind;

    use super::*;

    fn with_ids(texts: &[&str]) -> FirewallRules {
        FirewallRules::from_rules(texts.iter().enumerate().map(|(i, t)| {
            t.parse::<FirewallRule>()
                .unwrap()
                .with_id(format!("fw-{i}").parse().unwrap())
        }))
    }

    fn plain(texts: &[&str]) -> FirewallRules {
        FirewallRules::from_rules(texts.iter().map(|t| t.parse::<FirewallRule>().unwrap()))
    }

    #[test]
    fn keeps_matching_rules_and_swaps_the_rest() {
        let current = with_ids(&[
            "tcp:22@0.0.0.0/0",
            "tcp:80@0.0.0.0/0",
            "egress:all@0.0.0.0/0",
        ]);
        let desired = plain(&["tcp:22@0.0.0.0/0", "tcp:443@0.0.0.0/0"]);

        let changes = diff(&current, &desired).unwrap();
        let applied = changes.apply(&current);

        assert_eq!(changes.add, plain(&["tcp:443@0.0.0.0/0"]).ingress);
        let revoked: Vec<&str> = changes.revoke.iter().map(|id| id.as_str()).collect();
        assert_eq!(revoked, ["fw-1", "fw-2"]);
        assert_eq!(applied.len(), 2);
        assert!(applied.egress.is_empty());
    }

    #[test]
    fn equal_forms_need_no_change() {
        let current = with_ids(&["tcp:22@10.0.0.1/8,1.2.3.4/32"]);
        let desired = plain(&["tcp:22@1.2.3.4/32,10.0.0.0/8"]);

        let changes = diff(&current, &desired).unwrap();

        assert!(changes.is_empty());
    }

    #[test]
    fn extra_copies_are_revoked() {
        let current = with_ids(&["tcp:22@0.0.0.0/0", "tcp:22@0.0.0.0/0"]);
        let desired = plain(&["tcp:22@0.0.0.0/0", "tcp:22@0.0.0.0/0"]);

        let changes = diff(&current, &desired).unwrap();

        assert!(changes.add.is_empty());
        assert_eq!(changes.revoke.len(), 1);
        assert_eq!(changes.revoke[0].as_str(), "fw-1");
    }

    #[test]
    fn revoking_a_rule_without_id_is_invalid() {
        let current = plain(&["tcp:22@0.0.0.0/0"]);

        let err = diff(&current, &FirewallRules::default()).unwrap_err();

        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert_eq!(err.field(), Some("current.ingress[0].id"));
    }

    #[test]
    fn malformed_desired_rules_name_the_side() {
        let mut desired = plain(&["tcp:22@0.0.0.0/0"]);
        desired.ingress[0].cidrs.clear();

        let err = diff(&FirewallRules::default(), &desired).unwrap_err();

        assert_eq!(err.field(), Some("desired.ingress[0].cidrs"));
    }
}

//! How a fund's money is broken down for reporting: by host country, applicant category or SDG.
//! A grant with several host countries or goals splits its amounts evenly among them, to the
//! minor unit, so that every breakdown adds up to the total it breaks down.

use std::collections::BTreeMap;

use crate::domain::money::split_evenly;

/// The bucket for grants that name no country or goal, so nothing falls out of a breakdown.
pub const UNSPECIFIED: &str = "UNSPECIFIED";

/// One grant's amounts and the keys it counts under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contribution {
    pub keys: Vec<String>,
    pub committed_minor: i64,
    pub disbursed_minor: i64,
}

/// One line of a breakdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakdownLine {
    pub key: String,
    pub committed_minor: i64,
    pub disbursed_minor: i64,
    /// How many grants count under the key, wholly or in part.
    pub grants: u32,
}

/// Adds contributions up per key, in key order.
pub fn breakdown(contributions: &[Contribution]) -> Vec<BreakdownLine> {
    let mut lines: BTreeMap<String, BreakdownLine> = BTreeMap::new();
    for contribution in contributions {
        let mut keys = contribution.keys.clone();
        keys.sort();
        keys.dedup();
        if keys.is_empty() {
            keys.push(UNSPECIFIED.to_owned());
        }
        let committed = split_evenly(contribution.committed_minor, keys.len());
        let disbursed = split_evenly(contribution.disbursed_minor, keys.len());
        for ((key, committed), disbursed) in keys.into_iter().zip(committed).zip(disbursed) {
            let line = lines.entry(key.clone()).or_insert(BreakdownLine {
                key,
                committed_minor: 0,
                disbursed_minor: 0,
                grants: 0,
            });
            line.committed_minor += committed;
            line.disbursed_minor += disbursed;
            line.grants += 1;
        }
    }
    lines.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(keys: &[&str], committed: i64, disbursed: i64) -> Contribution {
        Contribution {
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
            committed_minor: committed,
            disbursed_minor: disbursed,
        }
    }

    #[test]
    fn several_keys_split_evenly_and_add_up_to_the_total() {
        let lines = breakdown(&[
            grant(&["KE", "TZ", "UG"], 100, 10),
            grant(&["KE"], 50, 50),
            grant(&[], 7, 0),
        ]);
        let keys: Vec<&str> = lines.iter().map(|l| l.key.as_str()).collect();
        assert_eq!(keys, ["KE", "TZ", "UG", UNSPECIFIED]);
        assert_eq!(lines[0].committed_minor, 34 + 50);
        assert_eq!(lines[0].disbursed_minor, 4 + 50);
        assert_eq!(lines[0].grants, 2);
        assert_eq!(lines[1].committed_minor, 33);
        assert_eq!(lines.iter().map(|l| l.committed_minor).sum::<i64>(), 157);
        assert_eq!(lines.iter().map(|l| l.disbursed_minor).sum::<i64>(), 60);
    }

    #[test]
    fn a_key_named_twice_counts_once() {
        let lines = breakdown(&[grant(&["6", "6"], 10, 0)]);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].committed_minor, 10);
    }

    #[test]
    fn every_breakdown_adds_up_for_many_shapes() {
        let mut contributions = Vec::new();
        for n in 1..200_i64 {
            let keys: Vec<String> = (0..(n % 5)).map(|k| format!("K{}", (n + k) % 7)).collect();
            contributions.push(Contribution {
                keys,
                committed_minor: n * 1_003,
                disbursed_minor: n * 17,
            });
        }
        let lines = breakdown(&contributions);
        let committed: i64 = contributions.iter().map(|c| c.committed_minor).sum();
        let disbursed: i64 = contributions.iter().map(|c| c.disbursed_minor).sum();
        assert_eq!(
            lines.iter().map(|l| l.committed_minor).sum::<i64>(),
            committed
        );
        assert_eq!(
            lines.iter().map(|l| l.disbursed_minor).sum::<i64>(),
            disbursed
        );
    }
}

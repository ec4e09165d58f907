//! Who may see what (DESIGN.md section 8, **contract**): roles, bearer tokens stored
//! hashed, stable peer codes in place of other organisations' names, and small-cell
//! suppression. Everything a non-analyst receives has passed through [`Viewer::protect`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::table::{Cell, Table};

pub mod audit;
pub mod rounding;
pub mod suppress;
pub mod thresholds;
pub mod tokens;
pub mod universe;

/// A role (**contract** names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, named, unsuppressed.
    Analyst,
    /// Their own organisation named; others by stable peer codes; suppressed.
    Leader,
    /// Every organisation by peer code; suppressed.
    Facilitator,
    /// Published outputs only: pseudonymised and suppressed.
    Public,
    /// Moderates one breakout group of one learning session, within its date window;
    /// every organisation by peer code.
    Moderator,
    /// A leader of one organisation for one breakout group of one learning session,
    /// within its date window: their own organisation named, others by peer code.
    Participant,
    /// A member of the Māori or consumer advisory groups: every session's summaries and
    /// the equity dashboard, every organisation by peer code.
    Advisor,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Analyst,
        Role::Leader,
        Role::Facilitator,
        Role::Public,
        Role::Moderator,
        Role::Participant,
        Role::Advisor,
    ];

    /// Whether a token of this role names its organisation (`--org`).
    pub fn has_org(self) -> bool {
        matches!(self, Role::Leader | Role::Participant)
    }

    /// Whether a token of this role holds for one session's group only.
    pub fn is_scoped(self) -> bool {
        matches!(self, Role::Moderator | Role::Participant)
    }

    /// The role a name (`analyst`, `leader`, …) stands for.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Analyst => "analyst",
            Role::Leader => "leader",
            Role::Facilitator => "facilitator",
            Role::Public => "public",
            Role::Moderator => "moderator",
            Role::Participant => "participant",
            Role::Advisor => "advisor",
        }
    }
}

/// The one learning session's breakout group a moderator or participant token holds
/// for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scope {
    pub session: i64,
    pub group: i64,
}

/// The person asking: a role; for a leader or participant, their organisation; for a
/// moderator or participant, their session's group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Viewer {
    pub role: Role,
    pub org: Option<String>,
    pub scope: Option<Scope>,
}

impl Viewer {
    pub fn analyst() -> Viewer {
        Viewer {
            role: Role::Analyst,
            org: None,
            scope: None,
        }
    }

    pub fn public() -> Viewer {
        Viewer {
            role: Role::Public,
            org: None,
            scope: None,
        }
    }

    pub fn leader(org: &str) -> Viewer {
        Viewer {
            role: Role::Leader,
            org: Some(org.to_string()),
            scope: None,
        }
    }

    /// Whether this viewer may see `org_code` by its name and code.
    pub fn may_name(&self, org_code: &str) -> bool {
        self.role == Role::Analyst || self.org.as_deref() == Some(org_code)
    }

    /// Rewrites a result for this viewer: other organisations' codes become peer codes
    /// and their names and places disappear. The result must come from the protected
    /// view (`dashboard::reach`) for anyone but an analyst, so its small cells are
    /// already withheld across every response; returns how many of its rows are.
    pub fn protect(&self, table: &mut Table, peers: &Pseudonyms) -> usize {
        if self.role == Role::Analyst {
            return 0;
        }
        peers.relabel(self, table);
        table
            .col(suppress::REASON)
            .map_or(0, |c| table.rows.iter().filter(|r| !r[c].is_null()).count())
    }
}

/// Stable peer codes (`P417`, `P052`, …): each organisation's number is a keyed hash of
/// its code, so the codes do not follow the alphabet (or size), cannot be worked out by
/// anyone without the key, and stay the same from one request, lake version and year to
/// the next, whoever joins or leaves. Two organisations whose hashes fall on the same
/// number are told apart in the order of their full hashes (the later one takes the
/// next free number), so only such a pair can ever see a code move.
#[derive(Debug, Clone, Default)]
pub struct Pseudonyms {
    codes: BTreeMap<String, String>,
    names: BTreeMap<String, String>,
}

/// Peer codes are `P` and three digits.
const CODE_SPACE: u64 = 1000;

/// Columns that carry an organisation's identity.
const ORG_CODE_COLUMNS: [&str; 2] = ["org_code", "organisation"];
const ORG_NAME_COLUMNS: [&str; 1] = ["org_name"];
/// Columns that place an organisation (withheld beside a peer code).
const ORG_PLACE_COLUMNS: [&str; 2] = ["jurisdiction", "region"];
/// Columns of a jurisdiction's rules. Their wording names the jurisdiction, and even
/// blanked, the number of rule rows an organisation has would (each jurisdiction has its
/// own number of rules), so a coded organisation's rows of such a table are not served.
const RULE_COLUMNS: [&str; 4] = ["rule_id", "rule", "citation", "source"];

impl Pseudonyms {
    /// `key`: the configured `[privacy] pseudonym_key`; `orgs`: every organisation's
    /// code and name.
    pub fn new(key: &str, orgs: &[(String, String)]) -> Pseudonyms {
        let mut hashed: Vec<([u8; 32], &String)> = orgs
            .iter()
            .map(|(code, _)| {
                let mut h = Sha256::new();
                h.update(key.as_bytes());
                h.update([0]);
                h.update(code.as_bytes());
                (h.finalize().into(), code)
            })
            .collect();
        hashed.sort();
        let mut taken = std::collections::BTreeSet::new();
        let mut codes = BTreeMap::new();
        for (hash, code) in hashed {
            let start = u64::from_be_bytes(hash[..8].try_into().expect("8 bytes")) % CODE_SPACE;
            let number = (0..CODE_SPACE)
                .map(|i| (start + i) % CODE_SPACE)
                .find(|n| !taken.contains(n))
                .expect("fewer organisations than peer codes");
            taken.insert(number);
            codes.insert(code.clone(), format!("P{number:03}"));
        }
        Pseudonyms {
            codes,
            names: orgs.iter().cloned().collect(),
        }
    }

    /// How `viewer` sees `org_code`.
    pub fn label(&self, viewer: &Viewer, org_code: &str) -> String {
        if viewer.may_name(org_code) {
            org_code.to_string()
        } else {
            self.codes
                .get(org_code)
                .cloned()
                .unwrap_or_else(|| "P??".into())
        }
    }

    /// The organisation `viewer` means by `label` (a peer code, or a code they may name).
    pub fn org_of(&self, viewer: &Viewer, label: &str) -> Option<String> {
        if viewer.may_name(label) && self.names.contains_key(label) {
            return Some(label.to_string());
        }
        self.codes
            .iter()
            .find(|(_, code)| code.as_str() == label)
            .map(|(org, _)| org.clone())
    }

    /// The organisation's name for a viewer who may name it.
    pub fn name(&self, org_code: &str) -> Option<&str> {
        self.names.get(org_code).map(String::as_str)
    }

    /// Every code and name `viewer` must never receive.
    pub fn forbidden(&self, viewer: &Viewer) -> Vec<&str> {
        self.names
            .iter()
            .filter(|(code, _)| !viewer.may_name(code))
            .flat_map(|(code, name)| [code.as_str(), name.as_str()])
            .collect()
    }

    /// All organisation codes, in code order.
    pub fn orgs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.names.iter().map(|(c, n)| (c.as_str(), n.as_str()))
    }

    fn relabel(&self, viewer: &Viewer, table: &mut Table) {
        let code_cols: Vec<usize> = ORG_CODE_COLUMNS
            .iter()
            .filter_map(|c| table.col(c))
            .collect();
        let name_cols: Vec<usize> = ORG_NAME_COLUMNS
            .iter()
            .filter_map(|c| table.col(c))
            .collect();
        let place_cols: Vec<usize> = ORG_PLACE_COLUMNS
            .iter()
            .filter_map(|c| table.col(c))
            .collect();
        if RULE_COLUMNS.iter().any(|c| table.col(c).is_some()) && !code_cols.is_empty() {
            table.rows.retain(|row| {
                code_cols
                    .iter()
                    .all(|&c| row[c].as_str().is_none_or(|code| viewer.may_name(code)))
            });
        }
        for row in &mut table.rows {
            // A row about an organisation this viewer sees by code. A row with no
            // organisation (a jurisdiction's or the nation's total) keeps its place: the
            // protected view has already decided whether it may be shown.
            let coded = code_cols
                .first()
                .and_then(|&c| row[c].as_str())
                .is_some_and(|code| !viewer.may_name(code));
            for &c in &code_cols {
                if let Cell::Text(code) = &row[c] {
                    row[c] = Cell::Text(self.label(viewer, code));
                }
            }
            if coded {
                // A peer code beside its jurisdiction would name the organisation
                // wherever a jurisdiction has only one or two of them.
                for &c in name_cols.iter().chain(&place_cols) {
                    row[c] = Cell::Null;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn orgs() -> Vec<(String, String)> {
        ["AKL", "CMH", "WTN", "CAN"]
            .iter()
            .map(|c| (c.to_string(), format!("{c} health")))
            .collect()
    }

    #[test]
    fn peer_codes_are_stable_distinct_and_keyed() {
        let a = Pseudonyms::new("key one", &orgs());
        let b = Pseudonyms::new("key one", &orgs());
        let c = Pseudonyms::new("key two", &orgs());
        let leader = Viewer::leader("CMH");
        let labels: Vec<String> = ["AKL", "WTN", "CAN"]
            .iter()
            .map(|o| a.label(&leader, o))
            .collect();
        assert_eq!(
            labels,
            ["AKL", "WTN", "CAN"]
                .iter()
                .map(|o| b.label(&leader, o))
                .collect::<Vec<_>>()
        );
        let mut sorted = labels.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 3);
        assert!(labels.iter().all(|l| l.starts_with('P') && l.len() == 4));
        assert_eq!(a.label(&leader, "CMH"), "CMH");
        // Another key gives another order for at least one organisation.
        let all = ["AKL", "CMH", "WTN", "CAN"];
        let public = Viewer::public();
        assert!(
            all.iter()
                .any(|o| a.label(&public, o) != c.label(&public, o))
        );
        assert_eq!(a.forbidden(&leader).len(), 6);
    }

    #[test]
    fn peer_codes_stay_when_an_organisation_joins_or_leaves() {
        let before = Pseudonyms::new("key one", &orgs());
        let mut more = orgs();
        more.push(("NEW".into(), "NEW health".into()));
        let after = Pseudonyms::new("key one", &more);
        let fewer = Pseudonyms::new("key one", &orgs()[1..]);
        let public = Viewer::public();
        for (code, _) in &orgs()[1..] {
            assert_eq!(before.label(&public, code), after.label(&public, code));
            assert_eq!(before.label(&public, code), fewer.label(&public, code));
        }
        // Many organisations still get distinct codes.
        let many: Vec<(String, String)> = (0..400)
            .map(|i| (format!("O{i}"), format!("Org {i}")))
            .collect();
        let p = Pseudonyms::new("k", &many);
        let distinct: std::collections::BTreeSet<String> =
            many.iter().map(|(c, _)| p.label(&public, c)).collect();
        assert_eq!(distinct.len(), 400);
    }

    #[test]
    fn a_coded_organisation_s_rule_rows_are_not_served() {
        let p = Pseudonyms::new("k", &orgs());
        let cols = ["org_code", "jurisdiction", "rule_id", "rule", "breaches"];
        let row = |org: &str| {
            vec![
                Cell::Text(org.into()),
                Cell::Text("NZ".into()),
                Cell::Text("nz_idccr_s60_review".into()),
                Cell::Text("Review within 24 hours".into()),
                Cell::Int(7),
            ]
        };
        let mut t = Table {
            columns: cols.iter().map(|c| c.to_string()).collect(),
            rows: vec![row("CMH"), row("AKL")],
        };
        let mut facilitator = t.clone();
        Viewer::leader("CMH").protect(&mut t, &p);
        assert_eq!(t.rows, [row("CMH")], "the leader's own rows only, whole");
        Viewer {
            role: Role::Facilitator,
            org: None,
            scope: None,
        }
        .protect(&mut facilitator, &p);
        assert!(facilitator.rows.is_empty());
        // Without rule columns a coded row stays, without its place.
        let mut t = Table {
            columns: vec!["org_code".into(), "jurisdiction".into(), "events".into()],
            rows: vec![vec![
                Cell::Text("AKL".into()),
                Cell::Text("NZ".into()),
                Cell::Int(9),
            ]],
        };
        t.rows
            .push(vec![Cell::Null, Cell::Text("NZ".into()), Cell::Int(90)]);
        Viewer::public().protect(&mut t, &p);
        assert_eq!(
            t.rows,
            [
                vec![
                    Cell::Text(p.label(&Viewer::public(), "AKL")),
                    Cell::Null,
                    Cell::Int(9)
                ],
                // a jurisdiction's own total keeps its name
                vec![Cell::Null, Cell::Text("NZ".into()), Cell::Int(90)]
            ]
        );
    }
}

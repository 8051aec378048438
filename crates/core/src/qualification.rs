//! The qualification checklist (BANT): need, budget, authority, timing. Each is `unknown`, `yes`
//! or `no`, with who set it, when, and an optional note. A lead is a prospect only when all four
//! are `yes`; authority `no` makes the contact an intermediary (DESIGN §2), never a prospect by
//! itself.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::ids::UserId;
use crate::lifecycle::LifecycleStage;
use crate::scoring::Temperature;

/// One checklist criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// The contact has a problem we solve.
    Need,
    /// Money is, or will be, available.
    Budget,
    /// The contact can decide (or sign).
    Authority,
    /// There is a time frame for buying.
    Timing,
}

impl Criterion {
    pub const ALL: [Criterion; 4] =
        [Criterion::Need, Criterion::Budget, Criterion::Authority, Criterion::Timing];

    pub fn as_str(self) -> &'static str {
        match self {
            Criterion::Need => "need",
            Criterion::Budget => "budget",
            Criterion::Authority => "authority",
            Criterion::Timing => "timing",
        }
    }

    pub fn parse(s: &str) -> Option<Criterion> {
        Criterion::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Criterion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The answer to one criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    #[default]
    Unknown,
    Yes,
    No,
}

impl Answer {
    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Unknown => "unknown",
            Answer::Yes => "yes",
            Answer::No => "no",
        }
    }

    pub fn parse(s: &str) -> Option<Answer> {
        match s {
            "unknown" => Some(Answer::Unknown),
            "yes" => Some(Answer::Yes),
            "no" => Some(Answer::No),
            _ => None,
        }
    }
}

/// One criterion's answer and its provenance.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChecklistItem {
    pub answer: Answer,
    pub set_by: Option<UserId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub set_at: Option<Timestamp>,
    pub note: Option<String>,
}

/// The four criteria of one contact.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Checklist {
    pub need: ChecklistItem,
    pub budget: ChecklistItem,
    pub authority: ChecklistItem,
    pub timing: ChecklistItem,
}

impl Checklist {
    pub fn get(&self, c: Criterion) -> &ChecklistItem {
        match c {
            Criterion::Need => &self.need,
            Criterion::Budget => &self.budget,
            Criterion::Authority => &self.authority,
            Criterion::Timing => &self.timing,
        }
    }

    pub fn get_mut(&mut self, c: Criterion) -> &mut ChecklistItem {
        match c {
            Criterion::Need => &mut self.need,
            Criterion::Budget => &mut self.budget,
            Criterion::Authority => &mut self.authority,
            Criterion::Timing => &mut self.timing,
        }
    }

    /// All four answered `yes`: the lead is a qualified prospect.
    pub fn is_complete(&self) -> bool {
        Criterion::ALL.iter().all(|c| self.get(*c).answer == Answer::Yes)
    }

    /// The criteria not (yet) answered `yes`.
    pub fn missing(&self) -> Vec<Criterion> {
        Criterion::ALL.into_iter().filter(|c| self.get(*c).answer != Answer::Yes).collect()
    }

    /// Whether the contact lacks buying authority (an intermediary).
    pub fn lacks_authority(&self) -> bool {
        self.authority.answer == Answer::No
    }
}

/// How strong the interest shown is (DESIGN §2 table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Interest {
    Weak,
    Real,
    High,
}

/// The four questions that tell a contact from a prospect from a customer (DESIGN §2), answered
/// for one contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageProfile {
    pub has_bought: bool,
    pub needs_known: bool,
    pub interest_shown: Interest,
    pub conversion_process_started: bool,
}

impl StageProfile {
    pub fn of(stage: LifecycleStage, checklist: &Checklist, temperature: Temperature) -> StageProfile {
        use LifecycleStage::*;
        let has_bought = stage == Customer;
        let process_started = matches!(stage, Sql | Opportunity | Customer);
        StageProfile {
            has_bought,
            needs_known: has_bought || checklist.need.answer == Answer::Yes,
            interest_shown: if has_bought {
                Interest::High
            } else {
                match temperature {
                    Temperature::Cold if !process_started => Interest::Weak,
                    Temperature::Hot => Interest::High,
                    _ => Interest::Real,
                }
            },
            conversion_process_started: process_started,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_only_when_all_four_are_yes() {
        let mut c = Checklist::default();
        assert!(!c.is_complete());
        assert_eq!(c.missing().len(), 4);
        for cr in Criterion::ALL {
            c.get_mut(cr).answer = Answer::Yes;
        }
        assert!(c.is_complete());
        c.authority.answer = Answer::No;
        assert!(!c.is_complete() && c.lacks_authority());
        assert_eq!(c.missing(), vec![Criterion::Authority]);
    }

    #[test]
    fn the_section_two_table_distinguishes_the_three_states() {
        let mut yes = Checklist::default();
        yes.need.answer = Answer::Yes;
        let lead = StageProfile::of(LifecycleStage::Lead, &Checklist::default(), Temperature::Cold);
        let prospect = StageProfile::of(LifecycleStage::Sql, &yes, Temperature::Warm);
        let customer = StageProfile::of(LifecycleStage::Customer, &Checklist::default(), Temperature::Cold);
        assert_eq!(
            lead,
            StageProfile {
                has_bought: false,
                needs_known: false,
                interest_shown: Interest::Weak,
                conversion_process_started: false
            }
        );
        assert_eq!(
            prospect,
            StageProfile {
                has_bought: false,
                needs_known: true,
                interest_shown: Interest::Real,
                conversion_process_started: true
            }
        );
        assert_eq!(
            customer,
            StageProfile {
                has_bought: true,
                needs_known: true,
                interest_shown: Interest::High,
                conversion_process_started: true
            }
        );
    }
}

//! Lifecycle stages (DESIGN §3): where a contact stands between first visit and purchase.
//! `visitor → lead → MQL → SQL (prospect) → opportunity → customer`, with the side states
//! `nurturing`, `disqualified` and `intermediary`, and `churned` for a customer who left.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::ids::{ContactId, DealId, UserId};
use crate::qualification::Checklist;
use crate::scoring::{ScoringRules, Standing};

/// A contact's stage in the funnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LifecycleStage {
    /// An anonymous browser, known only by its cookie; becomes a lead when it identifies itself.
    Visitor,
    /// Showed interest (a form, a download, a request) and is not qualified yet.
    Lead,
    /// Marketing-qualified: met marketing's fit and engagement thresholds.
    Mql,
    /// Sales-qualified: sales accepted it and the qualification checklist is complete. A prospect.
    Sql,
    /// A deal is open with this contact.
    Opportunity,
    /// Has bought at least once.
    Customer,
    /// Not ready: back with marketing, being nurtured.
    Nurturing,
    /// Failed a knock-out or fell below the floor; kept with the reason, can come back.
    Disqualified,
    /// Works at a target company but lacks buying authority: never a prospect by itself.
    Intermediary,
    /// Was a customer and left (with the reason); can be won back.
    Churned,
}

impl LifecycleStage {
    pub const ALL: [LifecycleStage; 10] = [
        LifecycleStage::Visitor,
        LifecycleStage::Lead,
        LifecycleStage::Mql,
        LifecycleStage::Sql,
        LifecycleStage::Opportunity,
        LifecycleStage::Customer,
        LifecycleStage::Nurturing,
        LifecycleStage::Disqualified,
        LifecycleStage::Intermediary,
        LifecycleStage::Churned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleStage::Visitor => "visitor",
            LifecycleStage::Lead => "lead",
            LifecycleStage::Mql => "mql",
            LifecycleStage::Sql => "sql",
            LifecycleStage::Opportunity => "opportunity",
            LifecycleStage::Customer => "customer",
            LifecycleStage::Nurturing => "nurturing",
            LifecycleStage::Disqualified => "disqualified",
            LifecycleStage::Intermediary => "intermediary",
            LifecycleStage::Churned => "churned",
        }
    }

    pub fn parse(s: &str) -> Option<LifecycleStage> {
        LifecycleStage::ALL.into_iter().find(|stage| stage.as_str() == s)
    }
}

impl LifecycleStage {
    /// How far along the funnel a stage is: lead 1, MQL 2, SQL 3, opportunity 4, customer 5 (a
    /// churned contact was a customer: 5). Side and anonymous stages (visitor, nurturing,
    /// disqualified, intermediary) reach no step by themselves: 0.
    pub fn funnel_rank(self) -> u8 {
        use LifecycleStage::*;
        match self {
            Lead => 1,
            Mql => 2,
            Sql => 3,
            Opportunity => 4,
            Customer | Churned => 5,
            Visitor | Nurturing | Disqualified | Intermediary => 0,
        }
    }
}

/// When a contact first reached each funnel step past lead (docs/analytics.md): a step is
/// reached by entering it or any later step (a skipped step counts as passed), and the first
/// time counts (moving back and entering again changes nothing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reached {
    pub mql: Option<Timestamp>,
    pub sql: Option<Timestamp>,
    pub opportunity: Option<Timestamp>,
    pub customer: Option<Timestamp>,
}

impl Reached {
    /// Notes that the contact entered `stage` at `at`.
    pub fn enter(&mut self, stage: LifecycleStage, at: Timestamp) {
        let rank = stage.funnel_rank();
        for (step, slot) in
            [(2, &mut self.mql), (3, &mut self.sql), (4, &mut self.opportunity), (5, &mut self.customer)]
        {
            if rank >= step {
                *slot = Some(slot.map_or(at, |t| t.min(at)));
            }
        }
    }

    /// The steps reached, from the stages entered in any order.
    pub fn of(entered: impl IntoIterator<Item = (LifecycleStage, Timestamp)>) -> Reached {
        let mut r = Reached::default();
        for (stage, at) in entered {
            r.enter(stage, at);
        }
        r
    }

    pub fn is_empty(&self) -> bool {
        *self == Reached::default()
    }
}

impl fmt::Display for LifecycleStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who or what moved a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// A person, through the UI, the API or the CLI.
    User { user_id: UserId },
    /// A scoring or lifecycle rule, in a given version of the rules.
    Rule { rule: String, rules_version: i64 },
    /// An import that said so (history from another tool).
    Import,
    /// A deal of the contact was opened, won or lost.
    Deal { deal_id: DealId },
}

impl Actor {
    pub fn is_user(&self) -> bool {
        matches!(self, Actor::User { .. })
    }
}

/// A recorded change of stage. History is append-only: transitions are never edited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transition {
    pub contact_id: ContactId,
    pub from: LifecycleStage,
    pub to: LifecycleStage,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    pub actor: Actor,
    pub reason: String,
}

/// The moves a person may make by hand, from each stage. MQL can also be set by hand (marketing
/// vouching for a lead); SQL cannot: it needs sales' acceptance and a complete checklist.
pub fn manual_targets(from: LifecycleStage) -> &'static [LifecycleStage] {
    use LifecycleStage::*;
    match from {
        Visitor => &[Lead, Disqualified],
        Lead => &[Mql, Nurturing, Disqualified, Intermediary],
        Mql => &[Lead, Nurturing, Disqualified, Intermediary],
        Sql => &[Opportunity, Nurturing, Disqualified, Intermediary],
        Opportunity => &[Customer, Nurturing, Disqualified],
        Customer => &[Churned],
        Nurturing => &[Lead, Mql, Disqualified, Intermediary],
        Disqualified => &[Lead, Nurturing],
        Intermediary => &[Lead, Nurturing, Disqualified],
        Churned => &[Customer, Lead, Nurturing],
    }
}

/// Every legal move, by hand or by rule: the manual ones, MQL → SQL, which only the rule
/// (acceptance + complete checklist) makes, and the moves deals make ([`stage_after_deal`]).
pub fn is_legal(from: LifecycleStage, to: LifecycleStage) -> bool {
    manual_targets(from).contains(&to)
        || (from == LifecycleStage::Mql && to == LifecycleStage::Sql)
        || [DealEvent::Opened, DealEvent::Won, DealEvent::Lost { nurture: true }]
            .into_iter()
            .any(|e| stage_after_deal(from, e) == Some(to))
}

/// What happened to a deal, as the contacts taking part in it see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DealEvent {
    /// A deal was created (or reopened).
    Opened,
    /// The deal was signed.
    Won,
    /// The deal was lost; `nurture` sends its contacts back to marketing.
    Lost { nurture: bool },
}

/// Where a deal takes one of its buying contacts (an intermediary keeps its stage: the app does
/// not ask): opening one makes an SQL an opportunity; winning it makes anyone not yet a customer
/// one (they bought); losing it with `nurture` sends an opportunity back to nurturing. `None`:
/// the contact stays where it is.
///
/// ```
/// use leadgate_core::lifecycle::{DealEvent, LifecycleStage::*, stage_after_deal};
/// assert_eq!(stage_after_deal(Sql, DealEvent::Opened), Some(Opportunity));
/// assert_eq!(stage_after_deal(Lead, DealEvent::Opened), None);
/// assert_eq!(stage_after_deal(Opportunity, DealEvent::Won), Some(Customer));
/// assert_eq!(stage_after_deal(Churned, DealEvent::Won), Some(Customer));
/// assert_eq!(stage_after_deal(Customer, DealEvent::Won), None);
/// assert_eq!(stage_after_deal(Opportunity, DealEvent::Lost { nurture: true }), Some(Nurturing));
/// assert_eq!(stage_after_deal(Opportunity, DealEvent::Lost { nurture: false }), None);
/// ```
pub fn stage_after_deal(current: LifecycleStage, event: DealEvent) -> Option<LifecycleStage> {
    use LifecycleStage::*;
    match (event, current) {
        (DealEvent::Opened, Sql) => Some(Opportunity),
        (DealEvent::Won, Customer) => None,
        (DealEvent::Won, _) => Some(Customer),
        (DealEvent::Lost { nurture: true }, Opportunity) => Some(Nurturing),
        _ => None,
    }
}

/// A refused move, with the moves that are possible.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct IllegalTransition {
    pub from: LifecycleStage,
    pub to: LifecycleStage,
    pub allowed: Vec<LifecycleStage>,
}

impl fmt::Display for IllegalTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.from == self.to {
            return write!(f, "the contact is already `{}`", self.to);
        }
        write!(f, "a contact cannot move from `{}` to `{}`", self.from, self.to)?;
        if self.to == LifecycleStage::Sql {
            write!(
                f,
                " by hand: a lead becomes SQL when sales accepts it and its checklist (need, budget, authority, timing) is all yes"
            )?;
        }
        if self.allowed.is_empty() {
            write!(f, "; `{}` is final", self.from)
        } else {
            let names: Vec<&str> = self.allowed.iter().map(|s| s.as_str()).collect();
            write!(f, "; from `{}` it can move to: {}", self.from, names.join(", "))
        }
    }
}

/// Checks a move requested by a person.
pub fn check_manual(from: LifecycleStage, to: LifecycleStage) -> Result<(), IllegalTransition> {
    if manual_targets(from).contains(&to) {
        Ok(())
    } else {
        Err(IllegalTransition { from, to, allowed: manual_targets(from).to_vec() })
    }
}

/// What automatic rules look at.
#[derive(Debug, Clone)]
pub struct LifecycleFacts<'a> {
    pub stage: LifecycleStage,
    pub standing: &'a Standing,
    pub checklist: &'a Checklist,
    /// Sales accepted the lead (it becomes SQL once the checklist is complete).
    pub sales_accepted: bool,
    /// The current stage was set by a person: rules will not demote it (they never undo a
    /// person's decision), though they may still move it forward.
    pub stage_set_by_user: bool,
    /// A rejected lead is not re-qualified before this instant (recycling period).
    pub recycle_until: Option<Timestamp>,
}

/// A move decided by a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutomaticMove {
    pub to: LifecycleStage,
    /// The rule's id (`knockout:personal-email`, `mql-threshold`, …).
    pub rule: String,
    pub reason: String,
}

/// The move the rules make now, if any (at most one; call again after applying it).
pub fn automatic_move(
    facts: &LifecycleFacts<'_>,
    rules: &ScoringRules,
    now: Timestamp,
) -> Option<AutomaticMove> {
    use LifecycleStage::*;
    let stage = facts.stage;
    let card = facts.standing;
    let mv = |to, rule: &str, reason: String| Some(AutomaticMove { to, rule: rule.to_string(), reason });
    // Authority `no` always wins: the contact is an intermediary, whatever its score.
    if facts.checklist.lacks_authority() && matches!(stage, Lead | Mql | Sql | Nurturing) {
        return mv(Intermediary, "checklist-authority", "the contact has no buying authority".into());
    }
    if !facts.stage_set_by_user {
        if let Some(k) = card.knockouts.first()
            && matches!(stage, Visitor | Lead | Mql | Nurturing)
        {
            return mv(Disqualified, &format!("knockout:{}", k.rule), format!("knock-out: {}", k.reason));
        }
        if let Some(floor) = rules.lifecycle().disqualify_below_fit
            && card.fit.points < floor
            && matches!(stage, Lead | Nurturing)
        {
            return mv(
                Disqualified,
                "fit-floor",
                format!("fit {} is below the floor {floor}", card.fit.points),
            );
        }
    }
    // Disqualified by a rule that no longer holds (the rules or the data changed): back to lead.
    if stage == Disqualified
        && !facts.stage_set_by_user
        && card.knockouts.is_empty()
        && rules.lifecycle().disqualify_below_fit.is_none_or(|floor| card.fit.points >= floor)
    {
        return mv(Lead, "requalified", "no knock-out or floor disqualifies it any more".into());
    }
    let l = rules.lifecycle();
    let recycling = facts.recycle_until.is_some_and(|t| now < t);
    if matches!(stage, Lead | Nurturing) && !recycling && card.knockouts.is_empty() {
        let grade_ok = card.fit.grade.at_least(l.mql_min_fit_grade);
        let engaged = card.engagement >= l.mql_min_engagement;
        let hot = rules.hot_is_enough(card.temperature.level);
        if grade_ok && (engaged || hot) {
            let why = if engaged {
                format!(
                    "fit grade {} (at least {}) and engagement {} (at least {})",
                    card.fit.grade, l.mql_min_fit_grade, card.engagement, l.mql_min_engagement
                )
            } else {
                format!(
                    "fit grade {} (at least {}) and hot: {}",
                    card.fit.grade, l.mql_min_fit_grade, card.temperature.reason
                )
            };
            return mv(Mql, "mql-threshold", why);
        }
    }
    if stage == Mql && facts.sales_accepted && facts.checklist.is_complete() {
        return mv(Sql, "sales-accepted", "sales accepted the lead and its checklist is complete".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stage_round_trips_through_its_name() {
        for stage in LifecycleStage::ALL {
            assert_eq!(LifecycleStage::parse(stage.as_str()), Some(stage));
            let json = serde_json::to_string(&stage).unwrap();
            assert_eq!(json, format!("\"{}\"", stage.as_str()));
        }
        assert_eq!(LifecycleStage::parse("MQL"), None);
    }

    #[test]
    fn a_skipped_step_counts_as_passed_and_the_first_time_counts() {
        let t = |s: &str| -> Timestamp { s.parse().unwrap() };
        let r = Reached::of([
            (LifecycleStage::Mql, t("2026-01-02T00:00:00Z")),
            (LifecycleStage::Nurturing, t("2026-01-03T00:00:00Z")),
            (LifecycleStage::Mql, t("2026-01-04T00:00:00Z")),
            (LifecycleStage::Customer, t("2026-01-05T00:00:00Z")),
            (LifecycleStage::Churned, t("2026-02-01T00:00:00Z")),
        ]);
        assert_eq!(r.mql, Some(t("2026-01-02T00:00:00Z")), "re-entering does not move the first time");
        assert_eq!(r.sql, Some(t("2026-01-05T00:00:00Z")), "skipped on the way to customer: passed then");
        assert_eq!(r.opportunity, r.sql);
        assert_eq!(r.customer, Some(t("2026-01-05T00:00:00Z")), "churning later changes nothing");
        assert!(Reached::of([(LifecycleStage::Nurturing, t("2026-01-01T00:00:00Z"))]).is_empty());
    }
}

//! Hand-off to sales (DESIGN §7): who gets a lead (routing), how fast they must touch it (the
//! marketing–sales agreement, counted in the rep's working hours) and what a breach does. Pure
//! functions over plain data: the application reads reps, loads and the agreement from the store
//! and hands them in, so every routing choice and deadline is testable and explainable.

pub mod hours;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::ids::UserId;
use crate::scoring::{FitGrade, Temperature};
use crate::validation::ValidationErrors;
pub use hours::{Day, Schedule, WorkingHours};

/// What a sales rep covers and how much they can take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RepProfile {
    /// Countries the rep covers (as contacts and companies spell them); empty: all.
    #[serde(default)]
    pub countries: Vec<String>,
    /// Company sectors the rep covers; empty: all.
    #[serde(default)]
    pub sectors: Vec<String>,
    /// Smallest company (employees) the rep takes.
    #[serde(default)]
    pub min_employees: Option<i64>,
    /// Largest company (employees) the rep takes.
    #[serde(default)]
    pub max_employees: Option<i64>,
    /// The team the rep belongs to, for round-robin and least-loaded routing.
    #[serde(default)]
    pub team: Option<String>,
    /// Who is told when the rep misses a deadline.
    #[serde(default)]
    pub manager_id: Option<UserId>,
    #[serde(default)]
    pub working_hours: WorkingHours,
    /// Open prospects the rep can hold at most; routing skips a rep at capacity.
    #[serde(default = "default_capacity")]
    pub capacity: u32,
    /// False while the rep is away: routing skips them.
    #[serde(default = "yes")]
    pub available: bool,
}

fn default_capacity() -> u32 {
    50
}

fn yes() -> bool {
    true
}

/// The longest first-touch budget or reminder an agreement accepts, in working minutes (90
/// eight-hour days): beyond it a "deadline" means nothing, and date arithmetic must stay far
/// from the end of time.
pub const MAX_BUDGET_MINUTES: u32 = 43_200;
/// Routing rules an agreement may have.
pub const MAX_ROUTING_RULES: usize = 200;
/// Entries of a list condition or a rep's territory.
const MAX_LIST: usize = 300;
/// Characters of a rule name, a team or a list entry.
const MAX_NAME: usize = 100;
/// The largest company size a condition may name.
const MAX_EMPLOYEES: i64 = 10_000_000;

impl RepProfile {
    pub fn validate(&self) -> Result<Schedule, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        errors.check_texts("countries", &self.countries, MAX_LIST, MAX_NAME);
        errors.check_texts("sectors", &self.sectors, MAX_LIST, MAX_NAME);
        if let Some(team) = &self.team {
            errors.check_text("team", team, 1, MAX_NAME);
        }
        if let Some(n) = self.max_employees {
            errors.check_range("max_employees", n, 0..=MAX_EMPLOYEES);
        }
        if self.capacity > 10_000 {
            errors.add("capacity", "must be at most 10000");
        }
        if let (Some(lo), Some(hi)) = (self.min_employees, self.max_employees)
            && lo > hi
        {
            errors.add("max_employees", "must be at least min_employees");
        }
        if self.min_employees.is_some_and(|n| n < 0) {
            errors.add("min_employees", "cannot be negative");
        }
        if self.capacity == 0 {
            errors.add("capacity", "must be at least 1 (set available to false to pause a rep)");
        }
        match self.working_hours.schedule() {
            Ok(s) => errors.into_result(s),
            Err(e) => {
                errors.extend_prefixed("working_hours", e);
                Err(errors)
            }
        }
    }

    /// Why the rep cannot take this lead, or `None` when the lead is in their patch.
    fn mismatch(&self, lead: &LeadFacts) -> Option<String> {
        if !self.countries.is_empty() && !any_equal(&self.countries, lead.country.as_deref()) {
            return Some(format!(
                "does not cover {}",
                lead.country.as_deref().unwrap_or("an unknown country")
            ));
        }
        if !self.sectors.is_empty() && !any_equal(&self.sectors, lead.sector.as_deref()) {
            return Some(format!(
                "does not cover the sector {}",
                lead.sector.as_deref().unwrap_or("(unknown)")
            ));
        }
        if self.min_employees.is_some() || self.max_employees.is_some() {
            let Some(n) = lead.employees else {
                return Some("takes companies of a given size and the company's size is unknown".into());
            };
            if self.min_employees.is_some_and(|lo| n < lo) || self.max_employees.is_some_and(|hi| n > hi) {
                return Some(format!("does not take companies of {n} employees"));
            }
        }
        None
    }
}

fn any_equal(list: &[String], value: Option<&str>) -> bool {
    value.is_some_and(|v| list.iter().any(|x| x.trim().eq_ignore_ascii_case(v.trim())))
}

/// A rep as routing sees them: profile and current load.
#[derive(Debug, Clone)]
pub struct RepLoad {
    pub user_id: UserId,
    pub name: String,
    pub profile: RepProfile,
    /// Open assignments (leads not yet closed).
    pub open: u32,
    /// Every lead ever assigned, for weighted shares.
    pub assigned_total: u32,
    /// When the rep last received a lead, for round-robin.
    pub last_assigned_at: Option<Timestamp>,
}

/// What routing reads about a lead.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeadFacts {
    pub country: Option<String>,
    pub sector: Option<String>,
    pub employees: Option<i64>,
    pub source: Option<String>,
    pub temperature: Option<Temperature>,
    pub grade: Option<FitGrade>,
}

/// Which leads a routing rule takes: every list left empty matches anything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LeadConditions {
    #[serde(default)]
    pub countries: Vec<String>,
    #[serde(default)]
    pub sectors: Vec<String>,
    #[serde(default)]
    pub min_employees: Option<i64>,
    #[serde(default)]
    pub max_employees: Option<i64>,
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(default)]
    pub temperatures: Vec<Temperature>,
    #[serde(default)]
    pub grades: Vec<FitGrade>,
}

impl LeadConditions {
    fn matches(&self, lead: &LeadFacts) -> bool {
        (self.countries.is_empty() || any_equal(&self.countries, lead.country.as_deref()))
            && (self.sectors.is_empty() || any_equal(&self.sectors, lead.sector.as_deref()))
            && (self.sources.is_empty() || any_equal(&self.sources, lead.source.as_deref()))
            && (self.temperatures.is_empty()
                || lead.temperature.is_some_and(|t| self.temperatures.contains(&t)))
            && (self.grades.is_empty() || lead.grade.is_some_and(|g| self.grades.contains(&g)))
            && self.min_employees.is_none_or(|lo| lead.employees.is_some_and(|n| n >= lo))
            && self.max_employees.is_none_or(|hi| lead.employees.is_some_and(|n| n <= hi))
    }
}

/// Who a routing rule hands its leads to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "strategy", rename_all = "snake_case", deny_unknown_fields)]
pub enum Assignee {
    /// Always this rep.
    Rep { user_id: UserId },
    /// The team member who waited longest since their last lead.
    RoundRobin { team: String },
    /// Reps in proportion to their weights (a weight of 2 gets twice the leads of 1).
    Weighted { weights: Vec<RepWeight> },
    /// The team member with the fewest open leads.
    LeastLoaded { team: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RepWeight {
    pub user_id: UserId,
    pub weight: u32,
}

/// One routing rule: leads matching `when` go to `assign`. Rules are tried in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RoutingRule {
    pub name: String,
    #[serde(default)]
    pub when: LeadConditions,
    pub assign: Assignee,
}

/// The outcome of routing one lead.
#[derive(Debug, Clone, PartialEq)]
pub enum RoutingDecision {
    Assigned {
        rep: UserId,
        rule: String,
        why: String,
    },
    /// No rule found an eligible rep: the lead waits in the unassigned queue, with the reasons.
    Unassigned {
        why: String,
    },
}

/// Chooses the rep for a lead: the first rule whose conditions match and that has an eligible
/// rep (available, under capacity, covering the lead, not excluded) wins. Ties break on the
/// user id so the same inputs always give the same rep.
pub fn route(
    rules: &[RoutingRule],
    lead: &LeadFacts,
    reps: &[RepLoad],
    exclude: &[UserId],
) -> RoutingDecision {
    let mut notes: Vec<String> = Vec::new();
    for rule in rules {
        if !rule.when.matches(lead) {
            continue;
        }
        let eligible = |user: UserId| -> Result<&RepLoad, String> {
            let rep = reps
                .iter()
                .find(|r| r.user_id == user)
                .ok_or_else(|| format!("{user} is not a sales rep"))?;
            if exclude.contains(&user) {
                return Err(format!("{} already had this lead", rep.name));
            }
            if !rep.profile.available {
                return Err(format!("{} is unavailable", rep.name));
            }
            if rep.open >= rep.profile.capacity {
                return Err(format!("{} is at capacity ({} open)", rep.name, rep.open));
            }
            if let Some(why) = rep.profile.mismatch(lead) {
                return Err(format!("{} {why}", rep.name));
            }
            Ok(rep)
        };
        let team = |name: &str| -> Vec<UserId> {
            let mut ids: Vec<UserId> = reps
                .iter()
                .filter(|r| r.profile.team.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(name)))
                .map(|r| r.user_id)
                .collect();
            ids.sort();
            ids
        };
        let pick = |candidates: Vec<UserId>| -> (Vec<&RepLoad>, Vec<String>) {
            let mut ok = Vec::new();
            let mut refused = Vec::new();
            for id in candidates {
                match eligible(id) {
                    Ok(r) => ok.push(r),
                    Err(why) => refused.push(why),
                }
            }
            (ok, refused)
        };
        let chosen: Result<(&RepLoad, String), Vec<String>> = match &rule.assign {
            Assignee::Rep { user_id } => match eligible(*user_id) {
                Ok(r) => Ok((r, format!("rule `{}` names {}", rule.name, r.name))),
                Err(why) => Err(vec![why]),
            },
            Assignee::RoundRobin { team: t } => {
                let (ok, refused) = pick(team(t));
                // Never assigned sorts first (None < Some), then the longest wait.
                ok.into_iter()
                    .min_by_key(|r| (r.last_assigned_at, r.user_id))
                    .map(|r| {
                        (
                            r,
                            format!(
                                "rule `{}`: round-robin in team {t}, {} waited longest",
                                rule.name, r.name
                            ),
                        )
                    })
                    .ok_or(if refused.is_empty() { vec![format!("team {t} has no reps")] } else { refused })
            }
            Assignee::LeastLoaded { team: t } => {
                let (ok, refused) = pick(team(t));
                ok.into_iter()
                    .min_by_key(|r| (r.open, r.user_id))
                    .map(|r| {
                        let why = format!(
                            "rule `{}`: least loaded in team {t}, {} has {} open",
                            rule.name, r.name, r.open
                        );
                        (r, why)
                    })
                    .ok_or(if refused.is_empty() { vec![format!("team {t} has no reps")] } else { refused })
            }
            Assignee::Weighted { weights } => {
                let (ok, refused) =
                    pick(weights.iter().filter(|w| w.weight > 0).map(|w| w.user_id).collect());
                // The rep furthest below their share: smallest (assigned + 1) / weight, compared
                // exactly by cross-multiplication.
                let weight =
                    |id: UserId| weights.iter().find(|w| w.user_id == id).map_or(1, |w| w.weight) as u64;
                ok.into_iter()
                    .min_by(|a, b| {
                        let lhs = (a.assigned_total as u64 + 1) * weight(b.user_id);
                        let rhs = (b.assigned_total as u64 + 1) * weight(a.user_id);
                        lhs.cmp(&rhs).then(a.user_id.cmp(&b.user_id))
                    })
                    .map(|r| {
                        let why = format!(
                            "rule `{}`: weighted, {} is furthest below their share (weight {}, {} so far)",
                            rule.name,
                            r.name,
                            weight(r.user_id),
                            r.assigned_total
                        );
                        (r, why)
                    })
                    .ok_or(if refused.is_empty() {
                        vec!["no rep has a weight above 0".to_string()]
                    } else {
                        refused
                    })
            }
        };
        match chosen {
            Ok((rep, why)) => {
                return RoutingDecision::Assigned { rep: rep.user_id, rule: rule.name.clone(), why };
            }
            Err(reasons) => notes.push(format!("rule `{}` matched but {}", rule.name, reasons.join("; "))),
        }
    }
    let why = if notes.is_empty() {
        if rules.is_empty() {
            "no routing rules are set up".to_string()
        } else {
            "no routing rule matches this lead".to_string()
        }
    } else {
        notes.join(". ")
    };
    RoutingDecision::Unassigned { why }
}

/// What a missed first-touch deadline does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BreachAction {
    /// Mark the assignment breached (always done) and tell webhook subscribers.
    Flag,
    /// Also give the rep's manager a task to follow up.
    NotifyManager,
    /// Also hand the lead to the next eligible rep.
    Reassign,
}

/// First-touch budgets in working minutes, by temperature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FirstTouch {
    pub hot_minutes: u32,
    pub warm_minutes: u32,
    pub cold_minutes: u32,
    /// Stricter budgets for fit grades (e.g. `{"A": 60}`); the smaller of the two applies.
    #[serde(default)]
    pub by_grade: std::collections::BTreeMap<FitGrade, u32>,
}

/// The marketing–sales agreement: routing, deadlines, reminders, breaches and recycling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Agreement {
    /// Tried in order; the first with an eligible rep assigns.
    #[serde(default)]
    pub routing: Vec<RoutingRule>,
    pub first_touch: FirstTouch,
    /// Working minutes before the deadline when the rep is reminded.
    pub reminder_minutes: u32,
    pub on_breach: BreachAction,
    /// Days a rejected lead waits in nurturing before it can be routed again.
    pub recycle_days: u32,
    /// Working days after a touch with no reply when a follow-up task falls due.
    pub follow_up_days: u32,
}

impl Default for Agreement {
    /// Hot leads within one working hour, warm within one working day (8 h), cold within three.
    fn default() -> Self {
        Agreement {
            routing: Vec::new(),
            first_touch: FirstTouch {
                hot_minutes: 60,
                warm_minutes: 8 * 60,
                cold_minutes: 3 * 8 * 60,
                by_grade: Default::default(),
            },
            reminder_minutes: 15,
            on_breach: BreachAction::Flag,
            recycle_days: 30,
            follow_up_days: 2,
        }
    }
}

/// When the rep is reminded and when the first touch is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    pub remind_at: Option<Timestamp>,
    pub due_at: Timestamp,
    pub budget_minutes: u32,
}

impl Agreement {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if self.routing.len() > MAX_ROUTING_RULES {
            errors.add(
                "routing",
                format!("has {} rules; at most {MAX_ROUTING_RULES} are accepted", self.routing.len()),
            );
            return Err(errors);
        }
        let mut names = std::collections::HashSet::new();
        for (i, rule) in self.routing.iter().enumerate() {
            if rule.name.trim().is_empty() {
                errors.add(
                    format!("routing[{i}].name"),
                    "is required: name the rule so assignments can say who chose",
                );
            } else {
                errors.check_text(format!("routing[{i}].name"), &rule.name, 1, MAX_NAME);
            }
            if !names.insert(rule.name.as_str()) {
                errors
                    .add(format!("routing[{i}].name"), format!("`{}` is used by an earlier rule", rule.name));
            }
            match &rule.assign {
                Assignee::RoundRobin { team } | Assignee::LeastLoaded { team } => {
                    errors.check_text(format!("routing[{i}].assign.team"), team, 1, MAX_NAME);
                }
                Assignee::Weighted { weights } => {
                    if weights.iter().all(|w| w.weight == 0) {
                        errors.add(
                            format!("routing[{i}].assign.weights"),
                            "needs at least one rep with a weight above 0",
                        );
                    }
                    if weights.len() > MAX_LIST || weights.iter().any(|w| w.weight > 1000) {
                        errors.add(
                            format!("routing[{i}].assign.weights"),
                            format!("at most {MAX_LIST} reps, each with a weight of at most 1000"),
                        );
                    }
                }
                Assignee::Rep { .. } => {}
            }
            let when = &rule.when;
            errors.check_texts(&format!("routing[{i}].when.countries"), &when.countries, MAX_LIST, MAX_NAME);
            errors.check_texts(&format!("routing[{i}].when.sectors"), &when.sectors, MAX_LIST, MAX_NAME);
            errors.check_texts(&format!("routing[{i}].when.sources"), &when.sources, MAX_LIST, MAX_NAME);
            for (field, n) in [("min_employees", when.min_employees), ("max_employees", when.max_employees)] {
                if let Some(n) = n {
                    errors.check_range(format!("routing[{i}].when.{field}"), n, 0..=MAX_EMPLOYEES);
                }
            }
            if let (Some(lo), Some(hi)) = (rule.when.min_employees, rule.when.max_employees)
                && lo > hi
            {
                errors.add(format!("routing[{i}].when.max_employees"), "must be at least min_employees");
            }
        }
        let ft = &self.first_touch;
        for (field, v) in [
            ("hot_minutes", ft.hot_minutes),
            ("warm_minutes", ft.warm_minutes),
            ("cold_minutes", ft.cold_minutes),
        ] {
            errors.check_range(format!("first_touch.{field}"), v, 1..=MAX_BUDGET_MINUTES);
        }
        if ft.by_grade.values().any(|v| *v == 0 || *v > MAX_BUDGET_MINUTES) {
            errors.add(
                "first_touch.by_grade",
                format!("budgets must be between 1 and {MAX_BUDGET_MINUTES} minutes"),
            );
        }
        errors.check_range("reminder_minutes", self.reminder_minutes, 0..=MAX_BUDGET_MINUTES);
        if self.recycle_days > 3650 {
            errors.add("recycle_days", "must be at most 3650 (ten years)");
        }
        if self.follow_up_days == 0 || self.follow_up_days > 365 {
            errors.add("follow_up_days", "must be between 1 and 365");
        }
        errors.into_result(())
    }

    /// The first-touch budget for a lead: by temperature, tightened by its grade.
    pub fn budget_minutes(&self, temperature: Option<Temperature>, grade: Option<FitGrade>) -> u32 {
        let ft = &self.first_touch;
        let by_temperature = match temperature {
            Some(Temperature::Hot) => ft.hot_minutes,
            Some(Temperature::Warm) => ft.warm_minutes,
            Some(Temperature::Cold) | None => ft.cold_minutes,
        };
        grade.and_then(|g| ft.by_grade.get(&g)).map_or(by_temperature, |g| (*g).min(by_temperature))
    }

    /// Deadlines for a lead assigned at `at` to a rep working `schedule`.
    pub fn deadlines(
        &self,
        schedule: &Schedule,
        at: Timestamp,
        temperature: Option<Temperature>,
        grade: Option<FitGrade>,
    ) -> Deadlines {
        let budget = self.budget_minutes(temperature, grade);
        let due_at = schedule.add_working_time(at, SignedDuration::from_mins(budget as i64));
        let remind_at = (self.reminder_minutes > 0 && self.reminder_minutes < budget).then(|| {
            schedule.add_working_time(at, SignedDuration::from_mins((budget - self.reminder_minutes) as i64))
        });
        Deadlines { remind_at, due_at, budget_minutes: budget }
    }

    /// The deadlines of an untouched lead that warmed up at `now` (to `temperature`): its new
    /// budget counted from now, when that falls before `current_due`. A deadline is only ever
    /// tightened: a lead cooling down keeps the deadline it has.
    pub fn tightened(
        &self,
        schedule: &Schedule,
        current_due: Timestamp,
        now: Timestamp,
        temperature: Option<Temperature>,
        grade: Option<FitGrade>,
    ) -> Option<Deadlines> {
        let d = self.deadlines(schedule, now, temperature, grade);
        (d.due_at < current_due).then_some(d)
    }
}

/// Where an open assignment stands against its deadlines at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaState {
    /// Touched (or closed) in time, or still within the budget.
    OnTrack,
    /// The reminder time passed and the lead is untouched.
    Warning,
    /// The deadline passed and the lead is untouched.
    Breached,
}

/// The state of an untouched assignment at `now`.
pub fn sla_state(remind_at: Option<Timestamp>, due_at: Timestamp, touched: bool, now: Timestamp) -> SlaState {
    if touched {
        SlaState::OnTrack
    } else if now >= due_at {
        SlaState::Breached
    } else if remind_at.is_some_and(|r| now >= r) {
        SlaState::Warning
    } else {
        SlaState::OnTrack
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn user(n: u128) -> UserId {
        UserId(Uuid::from_u128(n))
    }

    fn rep(n: u128, name: &str, team: &str) -> RepLoad {
        RepLoad {
            user_id: user(n),
            name: name.into(),
            profile: RepProfile {
                countries: vec![],
                sectors: vec![],
                min_employees: None,
                max_employees: None,
                team: Some(team.into()),
                manager_id: None,
                working_hours: WorkingHours::default(),
                capacity: 10,
                available: true,
            },
            open: 0,
            assigned_total: 0,
            last_assigned_at: None,
        }
    }

    fn rule(name: &str, when: LeadConditions, assign: Assignee) -> RoutingRule {
        RoutingRule { name: name.into(), when, assign }
    }

    fn assigned(d: &RoutingDecision) -> UserId {
        match d {
            RoutingDecision::Assigned { rep, .. } => *rep,
            other => panic!("expected an assignment, got {other:?}"),
        }
    }

    #[test]
    fn the_first_matching_rule_with_an_eligible_rep_wins() {
        let mut france = rep(1, "Camille", "emea");
        france.profile.countries = vec!["France".into()];
        let any = rep(2, "Sam", "world");
        let rules = vec![
            rule(
                "hot French leads",
                LeadConditions {
                    countries: vec!["france".into()],
                    temperatures: vec![Temperature::Hot],
                    ..Default::default()
                },
                Assignee::Rep { user_id: user(1) },
            ),
            rule("everyone else", LeadConditions::default(), Assignee::Rep { user_id: user(2) }),
        ];
        let hot_fr = LeadFacts {
            country: Some("France".into()),
            temperature: Some(Temperature::Hot),
            ..Default::default()
        };
        let d = route(&rules, &hot_fr, &[france.clone(), any.clone()], &[]);
        assert_eq!(assigned(&d), user(1));
        let RoutingDecision::Assigned { rule, why, .. } = d else { unreachable!() };
        assert_eq!(rule, "hot French leads");
        assert!(why.contains("Camille"), "{why}");
        let warm_fr = LeadFacts { temperature: Some(Temperature::Warm), ..hot_fr.clone() };
        assert_eq!(assigned(&route(&rules, &warm_fr, &[france.clone(), any.clone()], &[])), user(2));
        // At capacity, the French rep is skipped and the next rule takes the lead.
        france.open = 10;
        assert_eq!(assigned(&route(&rules, &hot_fr, &[france, any], &[])), user(2));
    }

    #[test]
    fn round_robin_goes_to_who_waited_longest() {
        let t = |s: &str| -> Timestamp { s.parse().unwrap() };
        let mut a = rep(1, "A", "inside");
        let mut b = rep(2, "B", "inside");
        let c = rep(3, "C", "field");
        a.last_assigned_at = Some(t("2026-11-24T10:00:00Z"));
        b.last_assigned_at = Some(t("2026-11-24T09:00:00Z"));
        let rules =
            vec![rule("all", LeadConditions::default(), Assignee::RoundRobin { team: "inside".into() })];
        let lead = LeadFacts::default();
        assert_eq!(assigned(&route(&rules, &lead, &[a.clone(), b.clone(), c.clone()], &[])), user(2));
        b.last_assigned_at = Some(t("2026-11-24T11:00:00Z"));
        assert_eq!(assigned(&route(&rules, &lead, &[a.clone(), b.clone(), c], &[])), user(1));
        // Excluded (e.g. the rep who breached): the other one.
        assert_eq!(assigned(&route(&rules, &lead, &[a, b], &[user(1)])), user(2));
    }

    #[test]
    fn weighted_routing_follows_the_weights() {
        let mut reps = vec![rep(1, "A", "t"), rep(2, "B", "t")];
        let rules = vec![rule(
            "weighted",
            LeadConditions::default(),
            Assignee::Weighted {
                weights: vec![
                    RepWeight { user_id: user(1), weight: 3 },
                    RepWeight { user_id: user(2), weight: 1 },
                ],
            },
        )];
        for _ in 0..40 {
            let who = assigned(&route(&rules, &LeadFacts::default(), &reps, &[]));
            reps.iter_mut().find(|r| r.user_id == who).unwrap().assigned_total += 1;
        }
        assert_eq!((reps[0].assigned_total, reps[1].assigned_total), (30, 10));
    }

    #[test]
    fn least_loaded_takes_the_emptiest_queue() {
        let mut a = rep(1, "A", "t");
        let mut b = rep(2, "B", "t");
        a.open = 4;
        b.open = 2;
        let rules = vec![rule("all", LeadConditions::default(), Assignee::LeastLoaded { team: "t".into() })];
        assert_eq!(assigned(&route(&rules, &LeadFacts::default(), &[a, b], &[])), user(2));
    }

    #[test]
    fn no_eligible_rep_says_why() {
        let mut a = rep(1, "Ada", "t");
        a.profile.available = false;
        let mut b = rep(2, "Bob", "t");
        b.profile.min_employees = Some(500);
        let rules = vec![rule("all", LeadConditions::default(), Assignee::RoundRobin { team: "t".into() })];
        let lead = LeadFacts { employees: Some(20), ..Default::default() };
        let RoutingDecision::Unassigned { why } = route(&rules, &lead, &[a, b], &[]) else {
            panic!("assigned")
        };
        assert!(why.contains("Ada is unavailable"), "{why}");
        assert!(why.contains("Bob does not take companies of 20 employees"), "{why}");
        assert_eq!(
            route(&[], &lead, &[], &[]),
            RoutingDecision::Unassigned { why: "no routing rules are set up".into() }
        );
    }

    #[test]
    fn budgets_follow_temperature_and_grade() {
        let mut a = Agreement::default();
        assert_eq!(a.budget_minutes(Some(Temperature::Hot), None), 60);
        assert_eq!(a.budget_minutes(Some(Temperature::Warm), Some(FitGrade::A)), 480);
        a.first_touch.by_grade.insert(FitGrade::A, 120);
        assert_eq!(a.budget_minutes(Some(Temperature::Warm), Some(FitGrade::A)), 120);
        assert_eq!(a.budget_minutes(Some(Temperature::Hot), Some(FitGrade::A)), 60);
        assert_eq!(a.budget_minutes(None, None), 1440);
    }

    proptest::proptest! {
        /// Whatever budget, reminder, working day and week validation lets through, deadlines
        /// are computed without panicking, at any instant from 1970 to 2200, and never before
        /// the lead came in.
        #[test]
        fn deadlines_never_panic_within_the_validated_bounds(
            budget in 1u32..=MAX_BUDGET_MINUTES,
            reminder in 0u32..=MAX_BUDGET_MINUTES,
            start in 0i8..=22,
            length in 30i16..=(23 * 60),
            day in 0usize..7,
            at in 0i64..7_258_118_400,
        ) {
            let mut a = Agreement::default();
            a.first_touch.cold_minutes = budget;
            a.reminder_minutes = reminder;
            proptest::prop_assert!(a.validate().is_ok());
            let start_minutes = i16::from(start) * 60;
            let end = (start_minutes + length).min(23 * 60 + 59);
            let days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
            let hours: WorkingHours = serde_json::from_value(serde_json::json!({
                "time_zone": "Europe/Paris", "days": [days[day]],
                "start": format!("{:02}:00", start), "end": format!("{:02}:{:02}", end / 60, end % 60)
            })).unwrap();
            let Ok(schedule) = hours.schedule() else { return Ok(()) };
            let at = Timestamp::from_second(at).unwrap();
            let d = a.deadlines(&schedule, at, None, None);
            proptest::prop_assert!(d.due_at >= at);
        }
    }

    #[test]
    fn a_lead_warming_up_tightens_its_deadline_never_loosens_it() {
        let a = Agreement::default();
        let s = WorkingHours::default().schedule().unwrap();
        let monday: Timestamp = "2026-11-30T09:00:00Z".parse().unwrap();
        let cold = a.deadlines(&s, monday, Some(Temperature::Cold), None);
        // Hot two hours later: 60 working minutes from then, well before the cold deadline.
        let later = monday + SignedDuration::from_hours(2);
        let hot = a.tightened(&s, cold.due_at, later, Some(Temperature::Hot), None).expect("tightened");
        assert_eq!(hot.due_at, "2026-11-30T12:00:00Z".parse().unwrap());
        assert_eq!(hot.budget_minutes, 60);
        // Cooling down, or warming up to a budget ending after the current deadline: unchanged.
        assert_eq!(a.tightened(&s, hot.due_at, later, Some(Temperature::Cold), None), None);
        let almost_due = cold.due_at - SignedDuration::from_mins(30);
        assert_eq!(a.tightened(&s, cold.due_at, almost_due, Some(Temperature::Hot), None), None);
    }

    #[test]
    fn deadlines_and_states_across_a_weekend() {
        let a = Agreement::default();
        let s = WorkingHours::default().schedule().unwrap();
        let friday = "2026-11-27T16:30:00Z".parse().unwrap();
        let d = a.deadlines(&s, friday, Some(Temperature::Hot), None);
        // 30 min on Friday, 30 on Monday; the reminder 15 working minutes earlier.
        assert_eq!(d.due_at, "2026-11-30T09:30:00Z".parse().unwrap());
        assert_eq!(d.remind_at, Some("2026-11-30T09:15:00Z".parse().unwrap()));
        let saturday = "2026-11-28T12:00:00Z".parse().unwrap();
        assert_eq!(sla_state(d.remind_at, d.due_at, false, saturday), SlaState::OnTrack);
        assert_eq!(
            sla_state(d.remind_at, d.due_at, false, "2026-11-30T09:20:00Z".parse().unwrap()),
            SlaState::Warning
        );
        assert_eq!(sla_state(d.remind_at, d.due_at, false, d.due_at), SlaState::Breached);
        assert_eq!(sla_state(d.remind_at, d.due_at, true, d.due_at), SlaState::OnTrack);
    }

    #[test]
    fn agreements_are_checked_field_by_field() {
        let mut a = Agreement::default();
        a.first_touch.hot_minutes = 0;
        a.routing.push(rule("", LeadConditions::default(), Assignee::RoundRobin { team: " ".into() }));
        let fields: Vec<String> = a.validate().unwrap_err().errors.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["routing[0].name", "routing[0].assign.team", "first_touch.hot_minutes"]);
        assert!(Agreement::default().validate().is_ok());
    }
}

/// What decides when a lead of a rep's queue comes up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueueFacts {
    /// Its first-touch deadline has passed.
    pub overdue: bool,
    /// Its temperature now (`None`: not scored).
    pub temperature: Option<Temperature>,
    /// Its predicted chance to convert, when a model is active.
    pub probability: Option<f64>,
    pub due_at: Option<Timestamp>,
}

/// The order a queue is worked in, what to do next first: leads past their deadline, then hot,
/// warm, cold and unscored ones, then the likelier to convert (unpredicted last), then the
/// nearer deadline (none last).
pub fn next_to_do(a: &QueueFacts, b: &QueueFacts) -> std::cmp::Ordering {
    b.overdue
        .cmp(&a.overdue)
        .then_with(|| b.temperature.cmp(&a.temperature))
        .then_with(|| b.probability.unwrap_or(-1.0).total_cmp(&a.probability.unwrap_or(-1.0)))
        .then_with(|| match (a.due_at, b.due_at) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        })
}

#[cfg(test)]
mod queue_tests {
    use super::*;

    #[test]
    fn overdue_then_hot_then_likely_then_soon() {
        let at = |s: &str| Some(s.parse::<Timestamp>().unwrap());
        let lead = |overdue, temperature, probability, due_at| QueueFacts {
            overdue,
            temperature,
            probability,
            due_at,
        };
        let mut q = [
            lead(false, Some(Temperature::Cold), Some(0.9), at("2026-11-24T10:00:00Z")),
            lead(false, Some(Temperature::Hot), Some(0.2), at("2026-11-25T10:00:00Z")),
            lead(false, Some(Temperature::Hot), Some(0.6), at("2026-11-26T10:00:00Z")),
            lead(true, Some(Temperature::Cold), None, at("2026-11-23T10:00:00Z")),
            lead(false, None, None, None),
            lead(false, Some(Temperature::Hot), Some(0.6), at("2026-11-25T09:00:00Z")),
            lead(false, Some(Temperature::Warm), None, None),
        ];
        q.sort_by(next_to_do);
        let order: Vec<(bool, Option<Temperature>, Option<f64>)> =
            q.iter().map(|f| (f.overdue, f.temperature, f.probability)).collect();
        assert_eq!(
            order,
            [
                (true, Some(Temperature::Cold), None),
                (false, Some(Temperature::Hot), Some(0.6)),
                (false, Some(Temperature::Hot), Some(0.6)),
                (false, Some(Temperature::Hot), Some(0.2)),
                (false, Some(Temperature::Warm), None),
                (false, Some(Temperature::Cold), Some(0.9)),
                (false, None, None),
            ]
        );
        assert_eq!(q[1].due_at, at("2026-11-25T09:00:00Z"), "ties by the nearer deadline");
    }
}

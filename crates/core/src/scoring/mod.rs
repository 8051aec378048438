//! Scoring (DESIGN §4): fit, engagement, temperature and knock-outs, computed from a contact, its
//! company and its timeline by [`score`], a pure function of (rules, data, now). Nothing is
//! stored that cannot be recomputed: the explanation *is* the computation, so every number
//! shown is the exact sum of the contributions listed beside it.

pub mod condition;
pub mod fields;
pub mod ledger;
pub mod points;
pub mod rules;

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::event::{Event, EventKind};
use crate::ids::EventId;
use condition::Evidence;
use fields::Prospect;
pub use ledger::Ledger;
pub use points::Points;
pub use rules::{RulesDoc, RulesError, ScoringRules};

/// Fit grade: A (ideal customer) to D (poor fit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum FitGrade {
    A,
    B,
    C,
    D,
}

impl FitGrade {
    pub fn as_str(self) -> &'static str {
        match self {
            FitGrade::A => "A",
            FitGrade::B => "B",
            FitGrade::C => "C",
            FitGrade::D => "D",
        }
    }

    pub fn parse(s: &str) -> Option<FitGrade> {
        match s {
            "A" | "a" => Some(FitGrade::A),
            "B" | "b" => Some(FitGrade::B),
            "C" | "c" => Some(FitGrade::C),
            "D" | "d" => Some(FitGrade::D),
            _ => None,
        }
    }

    /// Whether this grade is `other` or better (A is best).
    pub fn at_least(self, other: FitGrade) -> bool {
        self <= other
    }
}

impl fmt::Display for FitGrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How ready a lead is to talk to sales.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Temperature {
    /// Aware, passive.
    Cold,
    /// A felt need: follow up before a competitor does.
    Warm,
    /// Ready to act: contact now.
    Hot,
}

impl Temperature {
    pub fn as_str(self) -> &'static str {
        match self {
            Temperature::Cold => "cold",
            Temperature::Warm => "warm",
            Temperature::Hot => "hot",
        }
    }

    pub fn parse(s: &str) -> Option<Temperature> {
        match s {
            "cold" => Some(Temperature::Cold),
            "warm" => Some(Temperature::Warm),
            "hot" => Some(Temperature::Hot),
            _ => None,
        }
    }
}

impl fmt::Display for Temperature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One fit rule that held.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FitContribution {
    pub rule: String,
    pub label: String,
    pub points: Points,
    /// The field values that made the rule hold.
    pub evidence: Vec<Evidence>,
}

/// Fit: the points of every rule that held, and the grade they give.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Fit {
    /// Exactly the sum of the contributions.
    pub points: Points,
    pub grade: FitGrade,
    pub contributions: Vec<FitContribution>,
}

/// Which cap cut an event's points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Cap {
    Daily,
    Lifetime,
}

/// One event's part of the engagement score.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EngagementContribution {
    pub rule: String,
    pub label: String,
    pub event_id: EventId,
    pub kind: EventKind,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub occurred_at: Timestamp,
    /// What the rule gives per event.
    pub rule_points: Points,
    /// What this event earned after caps.
    pub points_before_decay: Points,
    /// The cap that cut it, if any.
    pub cap_applied: Option<Cap>,
    /// Age of the event in days at scoring time.
    pub age_days: f64,
    /// `0.5 ^ (age / half-life)`.
    pub decay_factor: f64,
    /// `points_before_decay × decay_factor`, rounded to the hundredth: what counts.
    pub points: Points,
}

/// Engagement: what the contact did, weighted and decaying with time.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Engagement {
    /// Exactly the sum of the contributions' `points`.
    pub score: Points,
    pub half_life_days: f64,
    /// Newest first.
    pub contributions: Vec<EngagementContribution>,
    /// Events that no rule scores (they earn nothing).
    pub unscored_events: usize,
}

/// Cold, warm or hot, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TemperatureReading {
    pub level: Temperature,
    /// The reason in English words (logs, CLI, API readers).
    pub reason: String,
    /// The same reason as data, for interfaces that speak other languages.
    pub cause: TemperatureCause,
}

/// Why a contact has its temperature: the first rule that held, with its figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TemperatureCause {
    /// An intent signal (quote, demo, contact-sales request) within the window.
    Intent { event_kind: String, on: String, within_days: f64 },
    /// Repeated pricing page visits within the window.
    PricingVisits { visits: usize, within_days: f64 },
    HotEngagement {
        #[cfg_attr(feature = "openapi", schema(value_type = f64))]
        engagement: Points,
        #[cfg_attr(feature = "openapi", schema(value_type = f64))]
        threshold: Points,
    },
    WarmEngagement {
        #[cfg_attr(feature = "openapi", schema(value_type = f64))]
        engagement: Points,
        #[cfg_attr(feature = "openapi", schema(value_type = f64))]
        threshold: Points,
    },
    /// Scored activity within the recent window, however small.
    RecentActivity { days: f64, label: String, on: String },
    Cold {
        #[cfg_attr(feature = "openapi", schema(value_type = f64))]
        engagement: Points,
        #[cfg_attr(feature = "openapi", schema(value_type = f64))]
        threshold: Points,
    },
}

/// A knock-out that holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KnockoutHit {
    pub rule: String,
    pub reason: String,
    pub evidence: Vec<Evidence>,
}

/// Everything scoring says about one contact at one instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Scorecard {
    pub fit: Fit,
    pub engagement: Engagement,
    pub temperature: TemperatureReading,
    pub knockouts: Vec<KnockoutHit>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub computed_at: Timestamp,
}

/// The score of a contact as last computed and stored (what lists sort and filter on). The full
/// explanation is recomputed on demand from the same inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScoreSummary {
    pub fit_points: Points,
    pub fit_grade: FitGrade,
    pub engagement: Points,
    pub temperature: Temperature,
    pub temperature_reason: String,
    /// Ids of the knock-outs that hold.
    pub knockouts: Vec<String>,
    /// The version of the scoring rules that computed this.
    pub rules_version: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub scored_at: Timestamp,
}

/// Where a contact stands: what lifecycle rules and lists need, without the per-event detail of
/// a [`Scorecard`]. Computed from the engagement [`Ledger`] on every write, so it costs no
/// timeline read.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub fit: Fit,
    pub engagement: Points,
    pub temperature: TemperatureReading,
    pub knockouts: Vec<KnockoutHit>,
    pub computed_at: Timestamp,
}

impl Standing {
    pub fn summary(&self, rules_version: i64) -> ScoreSummary {
        ScoreSummary {
            fit_points: self.fit.points,
            fit_grade: self.fit.grade,
            engagement: self.engagement,
            temperature: self.temperature.level,
            temperature_reason: self.temperature.reason.clone(),
            knockouts: self.knockouts.iter().map(|k| k.rule.clone()).collect(),
            rules_version,
            scored_at: self.computed_at,
        }
    }
}

impl Scorecard {
    pub fn standing(&self) -> Standing {
        Standing {
            fit: self.fit.clone(),
            engagement: self.engagement.score,
            temperature: self.temperature.clone(),
            knockouts: self.knockouts.clone(),
            computed_at: self.computed_at,
        }
    }

    pub fn summary(&self, rules_version: i64) -> ScoreSummary {
        self.standing().summary(rules_version)
    }
}

/// Where a contact stands at `now`, from its profile and its engagement ledger. Equal to
/// `score(...).standing()` over the events the ledger walked.
pub fn standing(rules: &ScoringRules, prospect: Prospect<'_>, ledger: &Ledger, now: Timestamp) -> Standing {
    let engagement = ledger.engagement(rules, now);
    Standing {
        fit: fit(rules, prospect),
        engagement,
        temperature: temperature(rules, ledger, engagement, now),
        knockouts: knockouts(rules, prospect),
        computed_at: now,
    }
}

/// A contact's temperature at `now` from its engagement ledger alone (it needs no profile).
pub fn temperature_at(rules: &ScoringRules, ledger: &Ledger, now: Timestamp) -> Temperature {
    temperature(rules, ledger, ledger.engagement(rules, now), now).level
}

/// Scores a contact at instant `now` from its profile and its events (any order). Events dated
/// after `now` (clock skew of the sender) count as happening at `now`.
///
/// Pure: the same rules, data and `now` always give the same scorecard, to the hundredth.
pub fn score(rules: &ScoringRules, prospect: Prospect<'_>, events: &[Event], now: Timestamp) -> Scorecard {
    let mut ordered: Vec<&Event> = events.iter().collect();
    ordered.sort_by_key(|e| (e.occurred_at, e.id));
    let (engagement, ledger) = engagement(rules, &ordered, now);
    let temperature = temperature(rules, &ledger, engagement.score, now);
    Scorecard {
        fit: fit(rules, prospect),
        engagement,
        temperature,
        knockouts: knockouts(rules, prospect),
        computed_at: now,
    }
}

fn knockouts(rules: &ScoringRules, prospect: Prospect<'_>) -> Vec<KnockoutHit> {
    rules
        .knockouts
        .iter()
        .filter_map(|k| {
            let mut evidence = Vec::new();
            k.when.eval(&prospect, &mut evidence).then(|| KnockoutHit {
                rule: k.id.clone(),
                reason: k.reason.clone(),
                evidence,
            })
        })
        .collect()
}

fn fit(rules: &ScoringRules, prospect: Prospect<'_>) -> Fit {
    let contributions: Vec<FitContribution> = rules
        .fit
        .iter()
        .filter_map(|r| {
            let mut evidence = Vec::new();
            r.when.eval(&prospect, &mut evidence).then(|| FitContribution {
                rule: r.id.clone(),
                label: r.label.clone(),
                points: r.points,
                evidence,
            })
        })
        .collect();
    let points = contributions.iter().map(|c| c.points).sum();
    Fit { points, grade: rules.grade(points), contributions }
}

fn age_days(at_us: i64, now: Timestamp) -> f64 {
    (now.as_microsecond() - at_us).max(0) as f64 / 86_400_000_000.0
}

/// Walks the events (in time order) through the ledger, keeping each scored event's detail for
/// the explanation.
fn engagement(rules: &ScoringRules, events: &[&Event], now: Timestamp) -> (Engagement, Ledger) {
    let mut ledger = Ledger::new(0);
    let mut contributions = Vec::new();
    let mut unscored = 0;
    for &event in events {
        let award = ledger.walk(rules, event);
        let Some(index) = award.rule else {
            unscored += 1;
            continue;
        };
        let rule = &rules.engagement[index];
        let at = event.occurred_at.as_microsecond();
        let factor = ledger::decay(rules, at, now);
        contributions.push(EngagementContribution {
            rule: rule.id.clone(),
            label: rule.label.clone(),
            event_id: event.id,
            kind: event.kind.clone(),
            occurred_at: event.occurred_at,
            rule_points: rule.points,
            points_before_decay: award.points,
            cap_applied: award.cap,
            age_days: age_days(at, now),
            decay_factor: factor,
            points: award.points.scaled(factor),
        });
    }
    let score = contributions.iter().map(|c| c.points).sum();
    contributions.reverse();
    let half_life_days = rules.half_life_days;
    (Engagement { score, half_life_days, contributions, unscored_events: unscored }, ledger)
}

fn temperature(
    rules: &ScoringRules,
    ledger: &Ledger,
    engagement: Points,
    now: Timestamp,
) -> TemperatureReading {
    let t = rules.temperature_doc();
    let hot = |reason: String, cause: TemperatureCause| TemperatureReading {
        level: Temperature::Hot,
        reason,
        cause,
    };
    let date = |at_us: i64| {
        Timestamp::from_microsecond(at_us).map(|t| t.strftime("%Y-%m-%d").to_string()).unwrap_or_default()
    };
    // Newest first, so the reason names the latest signal.
    if let Some(e) = ledger
        .entries
        .iter()
        .rev()
        .find(|e| e.intent.is_some() && age_days(e.at, now) <= t.intent_within_days)
    {
        let kind = e.intent.and_then(|i| rules.intent_kinds.get(i as usize)).map_or("intent", |k| k.as_str());
        return hot(
            format!("intent signal: {kind} on {} (within {} days)", date(e.at), t.intent_within_days),
            TemperatureCause::Intent {
                event_kind: kind.to_string(),
                on: date(e.at),
                within_days: t.intent_within_days,
            },
        );
    }
    if let Some(p) = &t.pricing_visits {
        let visits =
            ledger.entries.iter().filter(|e| e.pricing && age_days(e.at, now) <= p.within_days).count();
        if visits >= p.count as usize {
            return hot(
                format!("{visits} pricing page visits in the last {} days", p.within_days),
                TemperatureCause::PricingVisits { visits, within_days: p.within_days },
            );
        }
    }
    if engagement >= t.hot_engagement {
        return hot(
            format!("engagement {engagement} is at or above the hot threshold {}", t.hot_engagement),
            TemperatureCause::HotEngagement { engagement, threshold: t.hot_engagement },
        );
    }
    if engagement >= t.warm_engagement {
        return TemperatureReading {
            level: Temperature::Warm,
            reason: format!(
                "engagement {engagement} is at or above the warm threshold {}",
                t.warm_engagement
            ),
            cause: TemperatureCause::WarmEngagement { engagement, threshold: t.warm_engagement },
        };
    }
    if let Some(days) = t.active_within_days
        && let Some(e) = ledger.entries.iter().rev().find(|e| e.points > 0 && age_days(e.at, now) <= days)
    {
        let label =
            e.rule.and_then(|r| rules.engagement.get(r as usize)).map_or("activity", |r| r.label.as_str());
        return TemperatureReading {
            level: Temperature::Warm,
            reason: format!("active in the last {days} days: {label} on {}", date(e.at)),
            cause: TemperatureCause::RecentActivity { days, label: label.to_string(), on: date(e.at) },
        };
    }
    TemperatureReading {
        level: Temperature::Cold,
        reason: format!(
            "engagement {engagement} is below the warm threshold {} and no intent signal",
            t.warm_engagement
        ),
        cause: TemperatureCause::Cold { engagement, threshold: t.warm_engagement },
    }
}

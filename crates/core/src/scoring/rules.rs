//! Scoring rules as data. A rules document (JSON) says how fit is graded, how events earn
//! engagement points (with caps and decay), what makes a lead warm or hot, what knocks a contact
//! out, and when a lead becomes marketing-qualified. It is parsed with errors that point at the
//! line (bad JSON) or at the key (`fit.rules[2].when.value: …`), then compiled once into
//! [`ScoringRules`], which scoring uses many times.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::event::{Event, EventKind};
use crate::scoring::condition::{Condition, ConditionDoc};
use crate::scoring::fields::{ContactFields, EventField, EventFields};
use crate::scoring::points::{MAX_RULE_POINTS, Points};
use crate::scoring::{FitGrade, Temperature};
use crate::validation::{ValidationErrors, is_plain_text};

/// A rules document, as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RulesDoc {
    /// What this rule set is for, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub fit: FitDoc,
    pub engagement: EngagementDoc,
    pub temperature: TemperatureDoc,
    #[serde(default)]
    pub knockouts: Vec<KnockoutDoc>,
    pub lifecycle: LifecycleDoc,
}

/// How well a contact and its company match the ideal customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FitDoc {
    /// Every rule that holds adds its points.
    pub rules: Vec<FitRuleDoc>,
    /// Minimum fit points for grades A, B and C; below C is D.
    pub grades: GradesDoc,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FitRuleDoc {
    /// Stable identifier shown in explanations (`decision-maker`).
    pub id: String,
    /// Human wording (`Job title shows decision power`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub when: ConditionDoc,
    pub points: Points,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GradesDoc {
    pub a: Points,
    pub b: Points,
    pub c: Points,
}

/// What events earn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EngagementDoc {
    /// Days after which an event's points count half (default 30).
    #[serde(default = "default_half_life")]
    pub half_life_days: f64,
    /// Each event is scored by the first rule that matches it: put specific rules (a pricing
    /// page view) before general ones (any page view).
    pub rules: Vec<EngagementRuleDoc>,
}

fn default_half_life() -> f64 {
    30.0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EngagementRuleDoc {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The event kind this rule scores; absent means any kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// An extra condition on the event (`property.url contains /pricing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<ConditionDoc>,
    /// Points per matching event; negative for signals against buying.
    pub points: Points,
    /// At most this many points (in absolute value) from this rule per calendar day (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_cap: Option<Points>,
    /// At most this many points (in absolute value) from this rule over the contact's lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_cap: Option<Points>,
}

/// Cold, warm or hot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TemperatureDoc {
    /// Engagement at or above this is hot.
    pub hot_engagement: Points,
    /// Engagement at or above this is warm.
    pub warm_engagement: Points,
    /// Event kinds that show buying intent by themselves: one within `intent_within_days` makes
    /// the lead hot at once.
    #[serde(default = "default_intent_kinds")]
    pub intent_kinds: Vec<String>,
    #[serde(default = "default_intent_days")]
    pub intent_within_days: f64,
    /// Repeated pricing visits make a lead hot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing_visits: Option<PricingVisitsDoc>,
    /// Any event earning points within this many days makes a lead at least warm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_within_days: Option<f64>,
}

fn default_intent_kinds() -> Vec<String> {
    vec!["quote_request".into(), "demo_request".into(), "contact_sales_request".into()]
}

fn default_intent_days() -> f64 {
    30.0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PricingVisitsDoc {
    /// Text in the page URL that marks a pricing page.
    pub url_contains: String,
    /// How many visits…
    pub count: u32,
    /// …within how many days.
    pub within_days: f64,
}

/// A condition that disqualifies whatever the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KnockoutDoc {
    pub id: String,
    /// Why this disqualifies, as recorded on the contact (`Works for a competitor`).
    pub reason: String,
    pub when: ConditionDoc,
}

/// When leads move on their own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LifecycleDoc {
    /// A lead becomes an MQL with at least this fit grade…
    pub mql_min_fit_grade: FitGrade,
    /// …and at least this engagement…
    pub mql_min_engagement: Points,
    /// …or, if true, whenever it is hot (an intent signal).
    #[serde(default)]
    pub mql_when_hot: bool,
    /// Leads with fewer fit points than this are disqualified (the floor); absent means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disqualify_below_fit: Option<Points>,
}

/// A checked rule set, ready to score with.
#[derive(Debug, Clone)]
pub struct ScoringRules {
    pub doc: RulesDoc,
    pub(crate) fit: Vec<FitRule>,
    pub(crate) engagement: Vec<EngagementRule>,
    pub(crate) knockouts: Vec<Knockout>,
    pub(crate) intent_kinds: Vec<EventKind>,
    pub(crate) half_life_days: f64,
    /// `temperature.pricing_visits.url_contains`, lower-cased once.
    pub(crate) pricing_needle: Option<String>,
}

/// The property whose value marks a pricing visit (`temperature.pricing_visits`).
pub(crate) const PRICING_URL_PROPERTY: &str = "url";

/// What scoring reads of an event besides its id, kind and time. A rescore reads millions of
/// events and only this of each: a tracker's page view carries a dozen properties, and the
/// default rules read one of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventNeeds {
    pub source: bool,
    pub campaign: bool,
    /// The property keys read; `None` for all of them.
    pub properties: Option<BTreeSet<String>>,
}

impl EventNeeds {
    /// The whole event (for showing or exporting it).
    pub fn everything() -> EventNeeds {
        EventNeeds { source: true, campaign: true, properties: None }
    }

    /// Drops from an event what is not needed: what a read with these needs gives.
    pub fn strip(&self, event: &mut Event) {
        if !self.source {
            event.source = None;
        }
        if !self.campaign {
            event.campaign = None;
        }
        if let Some(keys) = &self.properties {
            event.properties.retain(|k, _| keys.contains(k));
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct FitRule {
    pub id: String,
    pub label: String,
    pub when: Condition<ContactFields>,
    pub points: Points,
}

#[derive(Debug, Clone)]
pub(crate) struct EngagementRule {
    pub id: String,
    pub label: String,
    pub kind: Option<EventKind>,
    pub when: Option<Condition<EventFields>>,
    pub points: Points,
    pub daily_cap: Option<Points>,
    pub lifetime_cap: Option<Points>,
}

#[derive(Debug, Clone)]
pub(crate) struct Knockout {
    pub id: String,
    pub reason: String,
    pub when: Condition<ContactFields>,
}

/// Why a rules document was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RulesError {
    /// Not JSON at all.
    #[error("the rules are not valid JSON: {message} (line {line}, column {column})")]
    Syntax { line: usize, column: usize, message: String },
    /// JSON, but some keys are wrong or invalid.
    #[error("the rules have errors: {0}")]
    Invalid(ValidationErrors),
}

/// The longest rules document accepted, in bytes.
pub const MAX_RULES_BYTES: usize = 512 * 1024;
const MAX_RULES: usize = 500;

impl RulesDoc {
    /// An id for a new rule labelled `label`: its letters without accents, lower case, words
    /// joined by `-`, made unique among the ids in use (`-2`, `-3`…).
    pub fn new_rule_id(&self, label: &str) -> String {
        let words: Vec<String> = crate::text::fold(label)
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_lowercase)
            .collect();
        let mut base = words.join("-");
        base.truncate(56);
        let base = if base.is_empty() { "rule".to_string() } else { base.trim_end_matches('-').to_string() };
        let taken = |id: &str| {
            self.fit.rules.iter().any(|r| r.id == id)
                || self.engagement.rules.iter().any(|r| r.id == id)
                || self.knockouts.iter().any(|k| k.id == id)
        };
        (1..)
            .map(|n| if n == 1 { base.clone() } else { format!("{base}-{n}") })
            .find(|id| !taken(id))
            .unwrap_or(base)
    }
}

impl ScoringRules {
    /// Parses and checks a JSON rules document.
    pub fn from_json(text: &str) -> Result<ScoringRules, RulesError> {
        if text.len() > MAX_RULES_BYTES {
            return Err(RulesError::Invalid(ValidationErrors::single(
                "rules",
                format!("the document is larger than {} KiB", MAX_RULES_BYTES / 1024),
            )));
        }
        let de = &mut serde_json::Deserializer::from_str(text);
        let doc: RulesDoc = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            match inner.classify() {
                serde_json::error::Category::Data => {
                    let msg = inner.to_string();
                    let msg = msg.rsplit_once(" at line ").map_or(msg.as_str(), |(m, _)| m).to_string();
                    let field = if path == "." { "rules".to_string() } else { path };
                    RulesError::Invalid(ValidationErrors::single(field, msg))
                }
                _ => RulesError::Syntax {
                    line: inner.line(),
                    column: inner.column(),
                    message: inner.to_string(),
                },
            }
        })?;
        ScoringRules::compile(doc).map_err(RulesError::Invalid)
    }

    /// Checks a parsed document and compiles its conditions.
    pub fn compile(doc: RulesDoc) -> Result<ScoringRules, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut ids = std::collections::HashSet::new();
        let mut check_id = |errors: &mut ValidationErrors, path: String, id: &str| {
            let well_formed = !id.is_empty()
                && id.len() <= 64
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !well_formed {
                errors.add(path, "must be 1 to 64 letters, digits, `-` or `_` (e.g. `decision-maker`)");
            } else if !ids.insert(id.to_string()) {
                errors.add(path, format!("`{id}` is used by another rule; ids must be unique"));
            }
        };
        let check_points = |errors: &mut ValidationErrors, path: String, p: Points| {
            if p.abs() > Points::from_f64(MAX_RULE_POINTS).unwrap_or(Points::ZERO) {
                errors.add(path, format!("must be between -{MAX_RULE_POINTS} and {MAX_RULE_POINTS}"));
            }
        };
        let label = |errors: &mut ValidationErrors, path: String, l: &Option<String>, id: &str| -> String {
            match l {
                Some(l) if l.chars().count() > 200 || !is_plain_text(l) => {
                    errors.add(path, "must be plain text of at most 200 characters");
                    id.to_string()
                }
                Some(l) if !l.trim().is_empty() => l.trim().to_string(),
                _ => id.to_string(),
            }
        };
        let total = doc.fit.rules.len() + doc.engagement.rules.len() + doc.knockouts.len();
        if total > MAX_RULES {
            errors.add("rules", format!("has {total} rules; at most {MAX_RULES} are accepted"));
        }

        let mut fit = Vec::new();
        for (i, r) in doc.fit.rules.iter().enumerate() {
            let path = format!("fit.rules[{i}]");
            check_id(&mut errors, format!("{path}.id"), &r.id);
            check_points(&mut errors, format!("{path}.points"), r.points);
            let label = label(&mut errors, format!("{path}.label"), &r.label, &r.id);
            if let Some(when) = Condition::compile(&r.when, &format!("{path}.when"), &mut errors) {
                fit.push(FitRule { id: r.id.clone(), label, when, points: r.points });
            }
        }
        let g = &doc.fit.grades;
        if !(g.a >= g.b && g.b >= g.c) {
            errors.add("fit.grades", "thresholds must go down from a to c (a ≥ b ≥ c)");
        }

        let mut engagement = Vec::new();
        let half_life = doc.engagement.half_life_days;
        if !(half_life.is_finite() && (0.1..=3650.0).contains(&half_life)) {
            errors.add("engagement.half_life_days", "must be between 0.1 and 3650 days");
        }
        for (i, r) in doc.engagement.rules.iter().enumerate() {
            let path = format!("engagement.rules[{i}]");
            check_id(&mut errors, format!("{path}.id"), &r.id);
            check_points(&mut errors, format!("{path}.points"), r.points);
            let label = label(&mut errors, format!("{path}.label"), &r.label, &r.id);
            let kind = match r.kind.as_deref() {
                None | Some("*") => None,
                Some(k) => match k.parse::<EventKind>() {
                    Ok(k) => Some(k),
                    Err(e) => {
                        errors.add(format!("{path}.kind"), e.to_string());
                        None
                    }
                },
            };
            for (key, cap) in [("daily_cap", r.daily_cap), ("lifetime_cap", r.lifetime_cap)] {
                if cap.is_some_and(|c| c <= Points::ZERO) {
                    errors.add(format!("{path}.{key}"), "must be a positive number of points");
                }
            }
            let when = match &r.when {
                Some(doc) => match Condition::compile(doc, &format!("{path}.when"), &mut errors) {
                    Some(c) => Some(c),
                    None => continue,
                },
                None => None,
            };
            engagement.push(EngagementRule {
                id: r.id.clone(),
                label,
                kind,
                when,
                points: r.points,
                daily_cap: r.daily_cap,
                lifetime_cap: r.lifetime_cap,
            });
        }

        let t = &doc.temperature;
        if t.hot_engagement < t.warm_engagement {
            errors.add("temperature.hot_engagement", "must be at least warm_engagement");
        }
        let mut intent_kinds = Vec::new();
        for (i, k) in t.intent_kinds.iter().enumerate() {
            match k.parse::<EventKind>() {
                Ok(k) => intent_kinds.push(k),
                Err(e) => errors.add(format!("temperature.intent_kinds[{i}]"), e.to_string()),
            }
        }
        let days_ok = |d: f64| d.is_finite() && (0.0..=3650.0).contains(&d);
        if !days_ok(t.intent_within_days) {
            errors.add("temperature.intent_within_days", "must be between 0 and 3650 days");
        }
        if let Some(p) = &t.pricing_visits {
            if p.url_contains.trim().is_empty() {
                errors.add("temperature.pricing_visits.url_contains", "must not be empty (e.g. `/pricing`)");
            }
            if p.count == 0 {
                errors.add("temperature.pricing_visits.count", "must be at least 1");
            }
            if !days_ok(p.within_days) {
                errors.add("temperature.pricing_visits.within_days", "must be between 0 and 3650 days");
            }
        }
        if t.active_within_days.is_some_and(|d| !days_ok(d)) {
            errors.add("temperature.active_within_days", "must be between 0 and 3650 days");
        }

        let mut knockouts = Vec::new();
        for (i, k) in doc.knockouts.iter().enumerate() {
            let path = format!("knockouts[{i}]");
            check_id(&mut errors, format!("{path}.id"), &k.id);
            if k.reason.trim().is_empty() || k.reason.chars().count() > 200 || !is_plain_text(&k.reason) {
                errors.add(format!("{path}.reason"), "must be plain text of 1 to 200 characters");
            }
            if let Some(when) = Condition::compile(&k.when, &format!("{path}.when"), &mut errors) {
                knockouts.push(Knockout { id: k.id.clone(), reason: k.reason.trim().to_string(), when });
            }
        }
        if doc.description.as_ref().is_some_and(|d| d.chars().count() > 2_000) {
            errors.add("description", "is longer than 2000 characters");
        }
        errors.into_result(())?;
        let pricing_needle = doc.temperature.pricing_visits.as_ref().map(|p| p.url_contains.to_lowercase());
        Ok(ScoringRules {
            fit,
            engagement,
            knockouts,
            intent_kinds,
            half_life_days: half_life,
            pricing_needle,
            doc,
        })
    }

    /// The grade for a number of fit points.
    pub fn grade(&self, points: Points) -> FitGrade {
        let g = &self.doc.fit.grades;
        if points >= g.a {
            FitGrade::A
        } else if points >= g.b {
            FitGrade::B
        } else if points >= g.c {
            FitGrade::C
        } else {
            FitGrade::D
        }
    }

    pub fn temperature_doc(&self) -> &TemperatureDoc {
        &self.doc.temperature
    }

    /// The longest window temperature looks back over, in days.
    pub fn temperature_horizon_days(&self) -> f64 {
        let t = &self.doc.temperature;
        [Some(t.intent_within_days), t.pricing_visits.as_ref().map(|p| p.within_days), t.active_within_days]
            .into_iter()
            .flatten()
            .fold(0.0, f64::max)
    }

    pub fn lifecycle(&self) -> &LifecycleDoc {
        &self.doc.lifecycle
    }

    /// Whether `t` is hot enough to be an MQL on temperature alone.
    pub fn hot_is_enough(&self, t: Temperature) -> bool {
        self.doc.lifecycle.mql_when_hot && t == Temperature::Hot
    }

    /// The built-in rule set for a B2B company (see `docs/scoring.md`).
    pub fn default_b2b() -> ScoringRules {
        Self::builtin(DEFAULT_B2B)
    }

    /// The rule set for the x-education dataset's imported fields.
    pub fn x_education() -> ScoringRules {
        Self::builtin(X_EDUCATION)
    }

    fn builtin(text: &str) -> ScoringRules {
        match ScoringRules::from_json(text) {
            Ok(r) => r,
            // A unit test compiles both built-in sets, so this cannot ship broken.
            Err(e) => panic!("built-in scoring rules are invalid: {e}"),
        }
    }

    /// A built-in rule set by name: `b2b` or `x-education`.
    pub fn preset(name: &str) -> Option<ScoringRules> {
        match name {
            "b2b" | "default" => Some(Self::default_b2b()),
            "x-education" => Some(Self::x_education()),
            _ => None,
        }
    }

    /// What scoring reads of an event besides its id, kind and time (see [`EventNeeds`]).
    pub fn event_needs(&self) -> EventNeeds {
        let (mut source, mut campaign, mut keys) = (false, false, BTreeSet::new());
        for when in self.engagement.iter().filter_map(|r| r.when.as_ref()) {
            for field in when.fields() {
                match field {
                    EventField::Kind => {}
                    EventField::Source => source = true,
                    EventField::Campaign => campaign = true,
                    EventField::Property(key) => {
                        keys.insert(key.clone());
                    }
                }
            }
        }
        if self.pricing_needle.is_some() {
            keys.insert(PRICING_URL_PROPERTY.to_string());
        }
        EventNeeds { source, campaign, properties: Some(keys) }
    }

    /// The document as pretty JSON (what `GET /scoring/rules` and `leadgate rules export` give).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.doc).unwrap_or_default()
    }
}

const DEFAULT_B2B: &str = include_str!("presets/b2b.json");
const X_EDUCATION: &str = include_str!("presets/x-education.json");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_rule_sets_compile() {
        let b2b = ScoringRules::default_b2b();
        assert!(b2b.fit.len() >= 5 && b2b.engagement.len() >= 8 && b2b.knockouts.len() >= 3);
        let xe = ScoringRules::x_education();
        assert!(!xe.fit.is_empty());
    }

    #[test]
    fn a_new_rules_id_is_made_from_its_label_and_unique() {
        let doc = ScoringRules::default_b2b().doc;
        assert_eq!(doc.new_rule_id("Décideur à Paris !"), "decideur-a-paris");
        assert_eq!(doc.new_rule_id("¿?"), "rule");
        let taken = doc.fit.rules[0].id.clone();
        assert_eq!(doc.new_rule_id(&taken), format!("{taken}-2"), "an id in use gets a number");
        let long = "x".repeat(100);
        assert!(doc.new_rule_id(&long).len() <= 64);
    }

    #[test]
    fn json_syntax_errors_give_line_and_column() {
        let err = ScoringRules::from_json("{\n  \"description\": \"x\",\n  \"fit\": }").unwrap_err();
        match err {
            RulesError::Syntax { line, .. } => assert_eq!(line, 3),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn semantic_errors_point_at_the_key() {
        let mut doc = ScoringRules::default_b2b().doc;
        doc.fit.rules[1].when = ConditionDoc {
            field: Some("job_title".into()),
            op: Some(crate::scoring::condition::Op::Matches),
            value: Some(serde_json::json!("(unclosed")),
            ..Default::default()
        };
        doc.fit.rules[2].id = doc.fit.rules[0].id.clone();
        doc.engagement.rules[0].kind = Some("Bad Kind".into());
        doc.knockouts[0].when.field = Some("shoe_size".into());
        doc.engagement.half_life_days = 0.0;
        let err = ScoringRules::compile(doc).unwrap_err();
        let fields: Vec<&str> = err.errors.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "fit.rules[1].when.value",
            "fit.rules[2].id",
            "engagement.rules[0].kind",
            "knockouts[0].when.field",
            "engagement.half_life_days",
        ] {
            assert!(fields.contains(&f), "{f} not in {fields:?}");
        }
    }

    #[test]
    fn type_errors_point_at_the_path() {
        let text =
            ScoringRules::default_b2b().to_json().replacen("\"points\": 25.0", "\"points\": \"lots\"", 1);
        match ScoringRules::from_json(&text).unwrap_err() {
            RulesError::Invalid(e) => assert!(e.errors[0].field.ends_with(".points"), "{e}"),
            other => panic!("{other:?}"),
        }
        let unknown =
            ScoringRules::default_b2b().to_json().replacen("\"fit\": {", "\"fit\": {\"rulez\": [],", 1);
        match ScoringRules::from_json(&unknown).unwrap_err() {
            RulesError::Invalid(e) => assert!(e.to_string().contains("rulez"), "{e}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn export_then_import_is_the_same_document() {
        let rules = ScoringRules::default_b2b();
        let again = ScoringRules::from_json(&rules.to_json()).unwrap();
        assert_eq!(again.doc, rules.doc);
    }
}

//! A sequence's steps and how an enrolment moves through them.
//!
//! Steps have stable keys (`welcome`, `pricing-nudge`): a message is reserved under (enrolment,
//! step key), so editing a sequence never makes a step send twice. Branches only jump forward, so
//! every enrolment ends and [`advance`] walks at most the number of steps.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::contact::Contact;
use crate::event::EventKind;
use crate::ids::TemplateId;
use crate::lifecycle::LifecycleStage;
use crate::scoring::Temperature;
use crate::validation::ValidationErrors;

use super::sending::add_days;

/// The most steps a sequence may have: programmes longer than this are several sequences.
pub const MAX_STEPS: usize = 100;
/// The longest wait, in days.
pub const MAX_WAIT_DAYS: u32 = 730;

/// One step of a sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Step {
    /// Stable within the sequence: letters, digits, `-` and `_`.
    pub key: String,
    #[serde(flatten)]
    pub action: Action,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// Send a template.
    Send { template: TemplateId },
    /// Wait a number of days, or of working days (Monday to Friday).
    Wait {
        days: u32,
        #[serde(default)]
        working_days: bool,
    },
    /// Wait until `until` holds, at most `up_to_days`; moves on as soon as it holds.
    WaitFor { until: Condition, up_to_days: u32 },
    /// When the condition holds, jump forward to step `to`; otherwise go on to the next step.
    Branch { when: Condition, to: String },
    /// Set a contact field (a custom field's key).
    SetField { field: String, value: Value },
    /// Give the contact's owner (or the routing, if none) a task.
    NotifyOwner { task: String },
    /// Stop here.
    End,
}

/// A behaviour or state a branch or a wait looks at. Opens are not conditions: Apple Mail
/// Privacy Protection and link scanners open mail for nobody (see [`super::tracking`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Condition {
    /// A person clicked a link of the message sent at step `step` (any step's, if absent) during
    /// this enrolment. Scanner clicks do not count.
    Clicked {
        #[serde(default)]
        step: Option<String>,
    },
    /// Visited a page whose address contains `page` (`*` matches anything), during this enrolment.
    Visited { page: String },
    /// Submitted a form (this one, by its slug, if given) during this enrolment.
    SubmittedForm {
        #[serde(default)]
        form: Option<String>,
    },
    /// The contact's temperature is `temperature` or hotter.
    TemperatureAtLeast { temperature: Temperature },
    /// The engagement score is at least `points`.
    EngagementAtLeast { points: f64 },
    /// The lifecycle stage is `stage`.
    StageIs { stage: LifecycleStage },
    /// A contact field compared with a value.
    Field {
        field: String,
        op: FieldOp,
        #[serde(default)]
        value: Option<Value>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FieldOp {
    Equals,
    NotEquals,
    Contains,
    IsSet,
    IsNotSet,
}

/// Checks a sequence's steps: keys unique and well formed, branches jumping forward to a step
/// that exists, waits within bounds. `templates` says whether a template exists.
pub fn validate(steps: &[Step], templates: &dyn Fn(TemplateId) -> bool) -> Result<(), ValidationErrors> {
    let mut e = ValidationErrors::default();
    if steps.is_empty() {
        e.add("steps", "add at least one step (a send)");
    }
    if steps.len() > MAX_STEPS {
        e.add(
            "steps",
            format!("has {} steps; at most {MAX_STEPS}: split it into several sequences", steps.len()),
        );
    }
    for (i, step) in steps.iter().enumerate() {
        let at = format!("steps[{i}]");
        let key_ok = !step.key.is_empty()
            && step.key.len() <= 40
            && step.key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !key_ok {
            e.add(format!("{at}.key"), "use 1 to 40 letters, digits, `-` or `_` (e.g. `welcome`)");
        } else if steps[..i].iter().any(|s| s.key == step.key) {
            e.add(
                format!("{at}.key"),
                format!("`{}` is used by an earlier step; keys must be unique", step.key),
            );
        }
        match &step.action {
            Action::Send { template } if !templates(*template) => {
                e.add(format!("{at}.template"), format!("no template has the id {template}"))
            }
            Action::Wait { days, .. } if *days == 0 || *days > MAX_WAIT_DAYS => {
                e.add(format!("{at}.days"), format!("must be from 1 to {MAX_WAIT_DAYS} days"))
            }
            Action::WaitFor { until, up_to_days } => {
                if *up_to_days == 0 || *up_to_days > MAX_WAIT_DAYS {
                    e.add(format!("{at}.up_to_days"), format!("must be from 1 to {MAX_WAIT_DAYS} days"));
                }
                check_condition(until, &format!("{at}.until"), steps, &mut e);
            }
            Action::Branch { when, to } => {
                match steps.iter().position(|s| &s.key == to) {
                    None => e.add(format!("{at}.to"), format!("no step has the key `{to}`")),
                    Some(j) if j <= i => e.add(
                        format!("{at}.to"),
                        "a branch can only jump forward, to a later step (so every contact leaves)",
                    ),
                    Some(_) => {}
                }
                check_condition(when, &format!("{at}.when"), steps, &mut e);
            }
            Action::SetField { field, .. } => e.check_text(format!("{at}.field"), field, 1, 64),
            Action::NotifyOwner { task } => e.check_text(format!("{at}.task"), task, 1, 200),
            _ => {}
        }
    }
    e.into_result(())
}

fn check_condition(c: &Condition, at: &str, steps: &[Step], e: &mut ValidationErrors) {
    match c {
        Condition::Clicked { step: Some(k) }
            if !steps.iter().any(|s| &s.key == k && matches!(s.action, Action::Send { .. })) =>
        {
            e.add(format!("{at}.step"), format!("no send step has the key `{k}`"))
        }
        Condition::Visited { page } => e.check_text(format!("{at}.page"), page, 1, 300),
        Condition::EngagementAtLeast { points } if !points.is_finite() => {
            e.add(format!("{at}.points"), "must be a number")
        }
        Condition::Field { field, op, value } => {
            e.check_text(format!("{at}.field"), field, 1, 64);
            if matches!(op, FieldOp::Equals | FieldOp::NotEquals | FieldOp::Contains) && value.is_none() {
                e.add(format!("{at}.value"), "give the value to compare with");
            }
        }
        _ => {}
    }
}

/// What happened to the contact since it was enrolled, as the condition checks need it.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// Human clicks: the step key of the message clicked, and when.
    pub clicks: Vec<(String, Timestamp)>,
    /// Inbound events since enrolment: kind, page address (page views), form slug (forms), when.
    pub events: Vec<(EventKind, Option<String>, Option<String>, Timestamp)>,
}

/// Where an enrolment stands: the index of its current step, entered at `since`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub step: usize,
    pub since: Timestamp,
}

/// Something to do as the enrolment moves.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Reserve and send the template under this step key.
    Send {
        step: String,
        template: TemplateId,
    },
    SetField {
        field: String,
        value: Value,
    },
    NotifyOwner {
        task: String,
    },
}

/// Where an enrolment is after an evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Still enrolled at `position`; evaluate again at `wake` (or earlier, when the contact does
    /// something).
    Waiting { position: Position, wake: Timestamp },
    /// Went past the last step or reached an `end`.
    Completed,
}

/// Evaluates an enrolment at `now`: runs through every step that can run now, and stops at a
/// wait that has not elapsed, at a send that may not go yet (`send_opens`: the send window and
/// the frequency cap, computed by the caller), or at the end. The effects are returned in order
/// for the caller to apply in the same transaction as the new position.
pub fn advance(
    steps: &[Step],
    mut position: Position,
    contact: &Contact,
    behaviour: &Behaviour,
    now: Timestamp,
    send_opens: Timestamp,
    tz: &TimeZone,
) -> (Vec<Effect>, Outcome) {
    let mut effects = Vec::new();
    // Forward-only jumps: at most one visit per step.
    for _ in 0..=steps.len() {
        let Some(step) = steps.get(position.step) else { return (effects, Outcome::Completed) };
        let next = Position { step: position.step + 1, since: now };
        match &step.action {
            Action::Send { template } => {
                if send_opens > now {
                    return (effects, Outcome::Waiting { position, wake: send_opens });
                }
                effects.push(Effect::Send { step: step.key.clone(), template: *template });
                position = next;
                // One message per evaluation: the frequency cap is checked again before the next.
                if matches!(steps.get(position.step).map(|s| &s.action), Some(Action::Send { .. })) {
                    return (effects, Outcome::Waiting { position, wake: now });
                }
            }
            Action::Wait { days, working_days } => {
                let until = add_days(position.since, *days, *working_days, tz);
                if until > now {
                    return (effects, Outcome::Waiting { position, wake: until });
                }
                position = Position { step: position.step + 1, since: until };
            }
            Action::WaitFor { until, up_to_days } => {
                let deadline = add_days(position.since, *up_to_days, false, tz);
                if holds(until, steps, contact, behaviour, position.since) || deadline <= now {
                    position = next;
                } else {
                    return (effects, Outcome::Waiting { position, wake: deadline });
                }
            }
            Action::Branch { when, to } => {
                let target = steps.iter().position(|s| &s.key == to).filter(|j| *j > position.step);
                position = match target {
                    Some(j) if holds(when, steps, contact, behaviour, Timestamp::MIN) => {
                        Position { step: j, since: now }
                    }
                    _ => next,
                };
            }
            Action::SetField { field, value } => {
                effects.push(Effect::SetField { field: field.clone(), value: value.clone() });
                position = next;
            }
            Action::NotifyOwner { task } => {
                effects.push(Effect::NotifyOwner { task: task.clone() });
                position = next;
            }
            Action::End => return (effects, Outcome::Completed),
        }
    }
    (effects, Outcome::Completed)
}

/// Whether `c` holds for `contact`, counting behaviour at or after `since`.
pub fn holds(c: &Condition, _steps: &[Step], contact: &Contact, b: &Behaviour, since: Timestamp) -> bool {
    match c {
        Condition::Clicked { step } => {
            b.clicks.iter().any(|(k, at)| *at >= since && step.as_ref().is_none_or(|s| s == k))
        }
        Condition::Visited { page } => b.events.iter().any(|(kind, url, _, at)| {
            *at >= since
                && *kind == EventKind::PageView
                && url.as_deref().is_some_and(|u| matches_page(page, u))
        }),
        Condition::SubmittedForm { form } => b.events.iter().any(|(kind, _, id, at)| {
            *at >= since
                && *kind == EventKind::FormSubmitted
                && form.as_ref().is_none_or(|f| id.as_ref() == Some(f))
        }),
        Condition::TemperatureAtLeast { temperature } => {
            contact.score.as_ref().is_some_and(|s| s.temperature >= *temperature)
        }
        Condition::EngagementAtLeast { points } => {
            contact.score.as_ref().is_some_and(|s| s.engagement.as_f64() >= *points)
        }
        Condition::StageIs { stage } => contact.lifecycle_stage == *stage,
        Condition::Field { field, op, value } => {
            let actual = field_value(contact, field);
            let text = |v: &Value| match v {
                Value::String(s) => s.trim().to_lowercase(),
                other => other.to_string(),
            };
            let set = actual.as_ref().is_some_and(|v| !v.is_null() && v.as_str() != Some(""));
            match op {
                FieldOp::IsSet => set,
                FieldOp::IsNotSet => !set,
                FieldOp::Equals => {
                    actual.as_ref().zip(value.as_ref()).is_some_and(|(a, v)| text(a) == text(v))
                }
                FieldOp::NotEquals => {
                    actual.as_ref().zip(value.as_ref()).is_none_or(|(a, v)| text(a) != text(v))
                }
                FieldOp::Contains => {
                    actual.as_ref().zip(value.as_ref()).is_some_and(|(a, v)| text(a).contains(&text(v)))
                }
            }
        }
    }
}

/// A built-in field (`country`, `job_title`, `source`…) or a custom field's value.
fn field_value(c: &Contact, field: &str) -> Option<Value> {
    let s = |v: &Option<String>| v.clone().map(Value::String);
    match field {
        "first_name" => s(&c.first_name),
        "last_name" => s(&c.last_name),
        "job_title" => s(&c.job_title),
        "country" => s(&c.country),
        "city" => s(&c.city),
        "source" => s(&c.source),
        "campaign" => s(&c.campaign),
        "phone" => s(&c.phone),
        "email" => c.email.as_ref().map(|e| Value::String(e.to_string())),
        custom => c.custom.get(custom).cloned(),
    }
}

/// Whether `url` matches `pattern`: a case-insensitive substring test where `*` stands for any
/// text (`/pricing`, `*/blog/*roi*`).
pub fn matches_page(pattern: &str, url: &str) -> bool {
    let url = url.to_lowercase();
    let pattern = pattern.to_lowercase();
    let mut rest = url.as_str();
    // Without a leading `*` the first part may still sit anywhere: a substring test.
    for part in pattern.split('*').filter(|p| !p.is_empty()) {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::email::Email;
    use crate::ids::ContactId;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn tpl(n: u128) -> TemplateId {
        TemplateId(uuid::Uuid::from_u128(n))
    }

    fn step(key: &str, action: Action) -> Step {
        Step { key: key.into(), action }
    }

    fn contact() -> Contact {
        let mut c = crate::contact::NewContact::lead(Email::parse("ana@example.com").unwrap())
            .into_contact(ContactId(uuid::Uuid::nil()), at("2026-11-01T00:00:00Z"));
        c.lifecycle_stage = LifecycleStage::Nurturing;
        c
    }

    /// Welcome; wait up to 3 days for a click on it; if clicked, jump to the offer; else a
    /// reminder; then the offer; end.
    fn recycle() -> Vec<Step> {
        vec![
            step("welcome", Action::Send { template: tpl(1) }),
            step(
                "wait-click",
                Action::WaitFor { until: Condition::Clicked { step: Some("welcome".into()) }, up_to_days: 3 },
            ),
            step(
                "clicked",
                Action::Branch {
                    when: Condition::Clicked { step: Some("welcome".into()) },
                    to: "offer".into(),
                },
            ),
            step("reminder", Action::Send { template: tpl(2) }),
            step("pause", Action::Wait { days: 2, working_days: true }),
            step("offer", Action::Send { template: tpl(3) }),
        ]
    }

    fn tz() -> TimeZone {
        TimeZone::UTC
    }

    #[test]
    fn the_first_step_sends_and_the_wait_for_a_click_sleeps_until_its_deadline() {
        let now = at("2026-11-24T10:00:00Z");
        let start = Position { step: 0, since: now };
        let (effects, outcome) =
            advance(&recycle(), start, &contact(), &Behaviour::default(), now, now, &tz());
        assert_eq!(effects, [Effect::Send { step: "welcome".into(), template: tpl(1) }]);
        assert_eq!(
            outcome,
            Outcome::Waiting { position: Position { step: 1, since: now }, wake: at("2026-11-27T10:00:00Z") }
        );
    }

    #[test]
    fn a_click_moves_on_at_once_and_takes_the_branch() {
        let since = at("2026-11-24T10:00:00Z");
        let now = at("2026-11-25T09:00:00Z");
        let b =
            Behaviour { clicks: vec![("welcome".into(), at("2026-11-25T08:59:00Z"))], ..Default::default() };
        let (effects, outcome) =
            advance(&recycle(), Position { step: 1, since }, &contact(), &b, now, now, &tz());
        // The reminder and the pause are skipped: straight to the offer.
        assert_eq!(effects, [Effect::Send { step: "offer".into(), template: tpl(3) }]);
        assert_eq!(outcome, Outcome::Completed);
    }

    #[test]
    fn without_a_click_the_reminder_goes_after_the_deadline_then_working_days_pass() {
        let since = at("2026-11-24T10:00:00Z");
        let now = at("2026-11-27T10:00:00Z"); // a Friday
        let (effects, outcome) = advance(
            &recycle(),
            Position { step: 1, since },
            &contact(),
            &Behaviour::default(),
            now,
            now,
            &tz(),
        );
        assert_eq!(effects, [Effect::Send { step: "reminder".into(), template: tpl(2) }]);
        // Two working days from Friday: Tuesday.
        assert_eq!(
            outcome,
            Outcome::Waiting { position: Position { step: 4, since: now }, wake: at("2026-12-01T10:00:00Z") }
        );
    }

    #[test]
    fn a_send_outside_the_window_or_over_the_cap_waits_at_its_step() {
        let now = at("2026-11-24T10:00:00Z");
        let opens = at("2026-11-25T08:00:00Z");
        let start = Position { step: 0, since: now };
        let (effects, outcome) =
            advance(&recycle(), start, &contact(), &Behaviour::default(), now, opens, &tz());
        assert!(effects.is_empty());
        assert_eq!(outcome, Outcome::Waiting { position: start, wake: opens });
    }

    #[test]
    fn behaviour_before_the_wait_began_does_not_count_for_it() {
        let since = at("2026-11-24T10:00:00Z");
        let b =
            Behaviour { clicks: vec![("welcome".into(), at("2026-11-20T00:00:00Z"))], ..Default::default() };
        let c = Condition::Clicked { step: None };
        assert!(!holds(&c, &[], &contact(), &b, since));
        assert!(holds(&c, &[], &contact(), &b, Timestamp::MIN));
    }

    #[test]
    fn conditions_on_visits_forms_state_and_fields() {
        let t = at("2026-11-24T10:00:00Z");
        let form = "demo".to_string();
        let b = Behaviour {
            clicks: vec![],
            events: vec![
                (EventKind::PageView, Some("https://acme.test/fr/Pricing?x=1".into()), None, t),
                (EventKind::FormSubmitted, None, Some(form.clone()), t),
            ],
        };
        let mut c = contact();
        c.country = Some("France".into());
        c.custom.insert("industry".into(), Value::String("Logistics".into()));
        let yes = |cond: Condition| holds(&cond, &[], &c, &b, t);
        assert!(yes(Condition::Visited { page: "/pricing".into() }));
        assert!(yes(Condition::Visited { page: "*acme*/fr/*pric*".into() }));
        assert!(!yes(Condition::Visited { page: "/blog".into() }));
        assert!(yes(Condition::SubmittedForm { form: Some(form) }));
        assert!(yes(Condition::SubmittedForm { form: None }));
        assert!(!yes(Condition::SubmittedForm { form: Some("trial".into()) }));
        assert!(yes(Condition::StageIs { stage: LifecycleStage::Nurturing }));
        assert!(!yes(Condition::TemperatureAtLeast { temperature: Temperature::Cold }), "never scored");
        assert!(yes(Condition::Field {
            field: "country".into(),
            op: FieldOp::Equals,
            value: Some("france".into())
        }));
        assert!(yes(Condition::Field {
            field: "industry".into(),
            op: FieldOp::Contains,
            value: Some("log".into())
        }));
        assert!(yes(Condition::Field { field: "city".into(), op: FieldOp::IsNotSet, value: None }));
        assert!(!yes(Condition::Field {
            field: "country".into(),
            op: FieldOp::NotEquals,
            value: Some("France".into())
        }));
    }

    #[test]
    fn effects_between_waits_run_in_order_and_an_end_completes() {
        let steps = vec![
            step("tag", Action::SetField { field: "nurtured".into(), value: Value::Bool(true) }),
            step("tell", Action::NotifyOwner { task: "Call back".into() }),
            step("stop", Action::End),
            step("never", Action::Send { template: tpl(1) }),
        ];
        let now = at("2026-11-24T10:00:00Z");
        let (effects, outcome) = advance(
            &steps,
            Position { step: 0, since: now },
            &contact(),
            &Behaviour::default(),
            now,
            now,
            &tz(),
        );
        assert_eq!(
            effects,
            [
                Effect::SetField { field: "nurtured".into(), value: Value::Bool(true) },
                Effect::NotifyOwner { task: "Call back".into() }
            ]
        );
        assert_eq!(outcome, Outcome::Completed);
    }

    #[test]
    fn two_sends_in_a_row_go_one_evaluation_apart() {
        let steps =
            vec![step("a", Action::Send { template: tpl(1) }), step("b", Action::Send { template: tpl(2) })];
        let now = at("2026-11-24T10:00:00Z");
        let (effects, outcome) = advance(
            &steps,
            Position { step: 0, since: now },
            &contact(),
            &Behaviour::default(),
            now,
            now,
            &tz(),
        );
        assert_eq!(effects.len(), 1);
        assert_eq!(outcome, Outcome::Waiting { position: Position { step: 1, since: now }, wake: now });
    }

    #[test]
    fn validation_points_at_each_bad_step() {
        let steps = vec![
            step("a", Action::Send { template: tpl(9) }),
            step("a", Action::Wait { days: 0, working_days: false }),
            step(
                "back",
                Action::Branch { when: Condition::Clicked { step: Some("nope".into()) }, to: "a".into() },
            ),
            step("bad key!", Action::End),
        ];
        let errors = validate(&steps, &|t| t == tpl(1)).unwrap_err();
        let fields: Vec<_> = errors.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "steps[0].template",
                "steps[1].key",
                "steps[1].days",
                "steps[2].to",
                "steps[2].when.step",
                "steps[3].key"
            ]
        );
        assert!(validate(&recycle(), &|_| true).is_ok());
        assert!(validate(&[], &|_| true).is_err());
    }

    #[test]
    fn steps_read_from_json_as_the_api_sends_them() {
        let json = r#"[{"key":"hello","type":"send","template":"00000000-0000-0000-0000-000000000001"},
                       {"key":"w","type":"wait_for","until":{"type":"visited","page":"/pricing"},"up_to_days":5}]"#;
        let steps: Vec<Step> = serde_json::from_str(json).unwrap();
        assert_eq!(steps[0].action, Action::Send { template: tpl(1) });
        assert!(matches!(&steps[1].action, Action::WaitFor { up_to_days: 5, .. }));
    }
}

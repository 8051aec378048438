//! Nurturing in the UI: the sequences with their figures, the sequence editor (one line per
//! step, no JSON), the template editor with a preview for a real contact and a test send, and a
//! contact's sequences and messages on its page.

use leadgate_app::nurture::{NurtureSettings, SequenceDraft, SequenceView, TemplateDraft};
use leadgate_core::form::Purpose;
use leadgate_core::ids::{SequenceId, TemplateId};
use leadgate_core::lifecycle::LifecycleStage;
use leadgate_core::nurture::sending::{FrequencyCap, RateLimits, SendWindow};
use leadgate_core::nurture::sequence::{Action, Condition, FieldOp, Step};
use leadgate_core::nurture::{ExitReason, MessageState, SequenceState, Trigger};
use leadgate_core::scoring::Temperature;

use super::*;

pub(super) struct SequenceLine {
    pub id: String,
    pub name: String,
    pub state: &'static str,
}

pub(super) struct TemplateLine {
    pub id: String,
    pub name: String,
    pub subject: String,
}

#[derive(Template)]
#[template(path = "ui/nurture.html")]
pub(super) struct NurturePage {
    c: Chrome,
    sequences: Vec<SequenceLine>,
    templates: Vec<TemplateLine>,
    ambiguous: usize,
    settings: SettingsForm,
    /// Time zone names for the zone field's suggestions.
    zones: Vec<String>,
    errors: Vec<String>,
}

/// The sending rules as the settings form shows them.
pub(super) struct SettingsForm {
    from_name: String,
    from_address: String,
    reply_to: String,
    time_zone: String,
    /// (ISO weekday, label, open).
    days: Vec<(u8, &'static str, bool)>,
    from_hour: String,
    to_hour: String,
    cap_max: String,
    cap_hours: String,
    rate_per_minute: String,
    rate_per_domain: String,
    tracking: bool,
}

fn settings_form(t: &Texts, n: &NurtureSettings) -> SettingsForm {
    let names = [t.monday, t.tuesday, t.wednesday, t.thursday, t.friday, t.saturday, t.sunday];
    let opt = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_default();
    SettingsForm {
        from_name: n.from_name.clone().unwrap_or_default(),
        from_address: n.from_address.clone().unwrap_or_default(),
        reply_to: n.reply_to.clone().unwrap_or_default(),
        time_zone: n.time_zone.clone(),
        days: (1..=7u8).map(|d| (d, names[d as usize - 1], n.window.days.contains(&d))).collect(),
        from_hour: n.window.from_hour.to_string(),
        to_hour: n.window.to_hour.to_string(),
        cap_max: n.cap.max.to_string(),
        cap_hours: n.cap.hours.to_string(),
        rate_per_minute: opt(n.rate.per_minute),
        rate_per_domain: opt(n.rate.per_domain_per_minute),
        tracking: n.tracking,
    }
}

/// The settings a posted form asks for, or the fields that are not numbers.
fn settings_from_form(form: &Posted) -> Result<NurtureSettings, Vec<String>> {
    let value = |name: &str| form.value(name);
    let text = |name: &str| Some(value(name)).filter(|v| !v.is_empty());
    let mut bad = Vec::new();
    let mut number = |name: &str, optional: bool| -> Option<u32> {
        let v = value(name);
        if v.is_empty() && optional {
            return None;
        }
        match v.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                bad.push(format!("{name}: {v}"));
                None
            }
        }
    };
    let from_hour = number("from_hour", false).unwrap_or(0).min(255) as u8;
    let to_hour = number("to_hour", false).unwrap_or(0).min(255) as u8;
    let cap = FrequencyCap {
        max: number("cap_max", false).unwrap_or(0),
        hours: number("cap_hours", false).unwrap_or(0),
    };
    let rate = RateLimits {
        per_minute: number("rate_per_minute", true),
        per_domain_per_minute: number("rate_per_domain", true),
    };
    if !bad.is_empty() {
        return Err(bad);
    }
    let days = form.iter().filter(|(k, _)| k == "day").filter_map(|(_, v)| v.parse::<u8>().ok()).collect();
    Ok(NurtureSettings {
        window: SendWindow { days, from_hour, to_hour },
        cap,
        rate,
        time_zone: value("time_zone"),
        tracking: !value("tracking").is_empty(),
        from_name: text("from_name"),
        from_address: text("from_address"),
        reply_to: text("reply_to"),
    })
}

async fn nurture_page(
    state: &AppState,
    s: &Signed,
    settings: Option<NurtureSettings>,
    errors: Vec<String>,
    notice: Option<String>,
) -> Response {
    let t = s.lang.texts();
    let (sequences, templates, ambiguous, stored) = match (
        state.app.sequences(s.p()).await,
        state.app.templates(s.p()).await,
        state.app.messages_in_state(s.p(), MessageState::Ambiguous).await,
        state.app.nurture_settings(s.p()).await,
    ) {
        (Ok(a), Ok(b), Ok(c), Ok(d)) => (a, b, c, d),
        (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => return app_error(s, e),
    };
    let mut c = s.chrome("nurture");
    c.notice = notice;
    render(NurturePage {
        c,
        sequences: sequences
            .into_iter()
            .map(|q| SequenceLine { id: q.id.to_string(), name: q.name, state: state_label(t, q.state) })
            .collect(),
        templates: templates
            .into_iter()
            .map(|x| TemplateLine { id: x.id.to_string(), name: x.name, subject: x.subject })
            .collect(),
        ambiguous: ambiguous.len(),
        settings: settings_form(t, settings.as_ref().unwrap_or(&stored)),
        zones: jiff::tz::db().available().map(|z| z.as_str().to_string()).collect(),
        errors,
    })
}

/// Saves the sending rules; on a mistake, the page again with the form as typed.
pub(super) async fn nurture_save_settings(
    State(state): State<AppState>,
    s: Signed,
    body: axum::body::Bytes,
) -> Response {
    let form = Posted::read(&body);
    if let Some(r) = s.refuse_forged(form.csrf()) {
        return r;
    }
    let t = s.lang.texts();
    let settings = match settings_from_form(&form) {
        Ok(settings) => settings,
        Err(bad) => {
            let lines = bad.into_iter().map(|b| format!("{}{} {b}", t.not_a_number, t.colon)).collect();
            return refused(nurture_page(&state, &s, None, lines, None).await);
        }
    };
    match state.app.put_nurture_settings(s.p(), settings.clone()).await {
        Ok(_) => Redirect::to("/nurture?done=settings").into_response(),
        Err(leadgate_app::AppError::Invalid(errors)) => {
            refused(nurture_page(&state, &s, Some(settings), field_lines(t, errors), None).await)
        }
        Err(e) => app_error(&s, e),
    }
}

fn state_label(t: &Texts, s: SequenceState) -> &'static str {
    match s {
        SequenceState::Active => t.seq_state_active,
        SequenceState::Paused => t.seq_state_paused,
        SequenceState::Archived => t.seq_state_archived,
    }
}

pub(super) fn exit_label(t: &Texts, r: ExitReason) -> &'static str {
    match r {
        ExitReason::Completed => t.exit_completed,
        ExitReason::Qualified => t.exit_qualified,
        ExitReason::Unsubscribed => t.exit_unsubscribed,
        ExitReason::ConsentWithdrawn => t.exit_consent_withdrawn,
        ExitReason::HardBounced => t.exit_hard_bounced,
        ExitReason::DoNotEmail => t.exit_do_not_email,
        ExitReason::Replied => t.exit_replied,
        ExitReason::Removed => t.exit_removed,
        ExitReason::SequenceArchived => t.exit_sequence_archived,
    }
}

pub(super) fn message_label(t: &Texts, s: MessageState) -> &'static str {
    match s {
        MessageState::Reserved => t.msg_reserved,
        MessageState::Sending => t.msg_sending,
        MessageState::Sent => t.msg_sent,
        MessageState::Ambiguous => t.msg_ambiguous,
        MessageState::Failed => t.msg_failed,
        MessageState::Bounced => t.msg_bounced,
        MessageState::Skipped => t.msg_skipped,
    }
}

pub(super) async fn nurture(
    State(state): State<AppState>,
    s: Signed,
    Query(n): Query<NoticeQuery>,
) -> Response {
    let notice = (n.done.as_deref() == Some("settings")).then(|| s.lang.texts().settings_saved.to_string());
    nurture_page(&state, &s, None, Vec::new(), notice).await
}

#[derive(Deserialize)]
pub(super) struct NewNamed {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
}

/// A new sequence: a name, paused until its steps are written.
pub(super) async fn nurture_new_sequence(
    State(state): State<AppState>,
    s: Signed,
    Form(f): Form<NewNamed>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let templates = match state.app.templates(s.p()).await {
        Ok(t) => t,
        Err(e) => return app_error(&s, e),
    };
    let Some(first) = templates.first() else {
        return s.error(StatusCode::UNPROCESSABLE_ENTITY, s.lang.texts().new_template);
    };
    let draft = SequenceDraft {
        name: f.name,
        steps: vec![Step { key: "first".into(), action: Action::Send { template: first.id } }],
        purpose: Some(Purpose::Newsletter),
        trigger: None,
        reenrol: false,
        state: Some(SequenceState::Paused),
    };
    match state.app.create_sequence(s.p(), draft).await {
        Ok(v) => Redirect::to(&format!("/nurture/sequences/{}", v.sequence.id)).into_response(),
        Err(e) => app_error(&s, e),
    }
}

pub(super) async fn nurture_new_template(
    State(state): State<AppState>,
    s: Signed,
    Form(f): Form<NewNamed>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let draft = TemplateDraft {
        name: f.name,
        language: Some(s.lang.code().to_string()),
        subject: "{{ first_name | default(\"Hello\") }}".into(),
        html: "<p>{{ first_name | default(\"Hello\") }},</p>\n<p></p>".into(),
        text: None,
        from_name: None,
        from_address: None,
        reply_to: None,
    };
    match state.app.create_template(s.p(), draft).await {
        Ok(t) => Redirect::to(&format!("/nurture/templates/{}", t.id)).into_response(),
        Err(e) => app_error(&s, e),
    }
}

/// One line of the step editor.
pub(super) struct StepRow {
    pub i: usize,
    pub key: String,
    pub kind: &'static str,
    pub template: String,
    pub days: String,
    pub working: bool,
    pub condition: &'static str,
    pub value: String,
    pub target: String,
    pub text: String,
    pub field_value: String,
}

/// The figures of one step that sends, with its chart.
pub(super) struct StepResult {
    pub key: String,
    /// Sent, delivered, human opens, all opens, clicks, became MQL+, unsubscribed, bounced,
    /// not sent, uncertain, waiting.
    pub cells: [String; 11],
    pub chart: String,
}

#[derive(Template)]
#[template(path = "ui/sequence.html")]
pub(super) struct SequencePage {
    c: Chrome,
    id: String,
    name: String,
    states: Vec<Choice>,
    purposes: Vec<Choice>,
    triggers: Vec<Choice>,
    trigger_value: String,
    reenrol: bool,
    rows: Vec<StepRow>,
    kinds: Vec<(&'static str, &'static str)>,
    conditions: Vec<(&'static str, &'static str)>,
    templates: Vec<Choice>,
    counts: Vec<(String, String)>,
    results: Vec<StepResult>,
    conversion_days: String,
    errors: Vec<String>,
}

const KINDS: [&str; 8] = ["send", "wait", "wait_for", "branch", "set_field", "notify_owner", "end", "remove"];
const CONDITIONS: [&str; 11] = [
    "clicked",
    "visited",
    "submitted_form",
    "temperature_at_least",
    "engagement_at_least",
    "stage_is",
    "field_equals",
    "field_not_equals",
    "field_contains",
    "field_is_set",
    "field_is_not_set",
];

/// The line editor's name of a field test, and back.
const FIELD_OPS: [(&str, FieldOp); 5] = [
    ("field_equals", FieldOp::Equals),
    ("field_not_equals", FieldOp::NotEquals),
    ("field_contains", FieldOp::Contains),
    ("field_is_set", FieldOp::IsSet),
    ("field_is_not_set", FieldOp::IsNotSet),
];

fn kind_label(t: &Texts, k: &str) -> &'static str {
    match k {
        "send" => t.seq_type_send,
        "wait" => t.seq_type_wait,
        "wait_for" => t.seq_type_wait_for,
        "branch" => t.seq_type_branch,
        "set_field" => t.seq_type_set_field,
        "notify_owner" => t.seq_type_notify_owner,
        "end" => t.seq_type_end,
        _ => t.seq_type_remove,
    }
}

fn condition_label(t: &Texts, k: &str) -> &'static str {
    match k {
        "clicked" => t.cond_clicked,
        "visited" => t.cond_visited,
        "submitted_form" => t.cond_submitted_form,
        "temperature_at_least" => t.cond_temperature,
        "engagement_at_least" => t.cond_engagement,
        "stage_is" => t.cond_stage,
        "field_equals" => t.cond_field_equals,
        "field_not_equals" => t.cond_field_not_equals,
        "field_contains" => t.cond_field_contains,
        "field_is_set" => t.cond_field_is_set,
        _ => t.cond_field_is_not_set,
    }
}

fn condition_row(c: &Condition) -> (&'static str, String) {
    match c {
        Condition::Clicked { step } => ("clicked", step.clone().unwrap_or_default()),
        Condition::Visited { page } => ("visited", page.clone()),
        Condition::SubmittedForm { form } => ("submitted_form", form.clone().unwrap_or_default()),
        Condition::TemperatureAtLeast { temperature } => {
            ("temperature_at_least", temperature.as_str().to_string())
        }
        Condition::StageIs { stage } => ("stage_is", stage.as_str().to_string()),
        Condition::EngagementAtLeast { points } => ("engagement_at_least", points.to_string()),
        Condition::Field { field, op, value } => {
            let name = FIELD_OPS.iter().find(|(_, o)| o == op).map_or("field_equals", |(n, _)| n);
            let value = match value {
                None => String::new(),
                Some(serde_json::Value::String(v)) => v.clone(),
                Some(v) => v.to_string(),
            };
            (name, format!("{field} {value}").trim_end().to_string())
        }
    }
}

fn row_of(i: usize, step: &Step) -> StepRow {
    let mut row = StepRow {
        i,
        key: step.key.clone(),
        kind: "end",
        template: String::new(),
        days: String::new(),
        working: false,
        condition: "clicked",
        value: String::new(),
        target: String::new(),
        text: String::new(),
        field_value: String::new(),
    };
    match &step.action {
        Action::Send { template } => {
            row.kind = "send";
            row.template = template.to_string();
        }
        Action::Wait { days, working_days } => {
            row.kind = "wait";
            row.days = days.to_string();
            row.working = *working_days;
        }
        Action::WaitFor { until, up_to_days } => {
            row.kind = "wait_for";
            row.days = up_to_days.to_string();
            (row.condition, row.value) = condition_row(until);
        }
        Action::Branch { when, to } => {
            row.kind = "branch";
            row.target = to.clone();
            (row.condition, row.value) = condition_row(when);
        }
        Action::SetField { field, value } => {
            row.kind = "set_field";
            row.text = field.clone();
            row.field_value = value.as_str().map_or_else(|| value.to_string(), str::to_string);
        }
        Action::NotifyOwner { task } => {
            row.kind = "notify_owner";
            row.text = task.clone();
        }
        Action::End => {}
    }
    row
}

fn empty_row(i: usize) -> StepRow {
    let mut r = row_of(i, &Step { key: String::new(), action: Action::End });
    r.kind = "remove";
    r
}

async fn sequence_page(
    state: &AppState,
    s: &Signed,
    view: SequenceView,
    errors: Vec<String>,
    notice: Option<String>,
) -> Response {
    let t = s.lang.texts();
    let templates = match state.app.templates(s.p()).await {
        Ok(t) => t,
        Err(e) => return app_error(s, e),
    };
    let q = &view.sequence;
    let n = |x: i64| s.lang.number(x as f64, 0);
    let mut rows: Vec<StepRow> = q.steps.iter().enumerate().map(|(i, st)| row_of(i, st)).collect();
    let results = rows
        .iter()
        .filter_map(|row| view.steps_figures.iter().find(|f| f.step_key == row.key))
        .map(|f| {
            let part = |x: i64| {
                if f.sent > 0 {
                    format!("{} ({})", n(x), s.lang.percent(x as f64 / f.sent as f64))
                } else {
                    n(x)
                }
            };
            let bars: Vec<(String, f64, String, &str)> = [
                (t.seq_sent, f.sent, "#4f6bed"),
                (t.seq_delivered, f.delivered, "#4f6bed"),
                (t.seq_human_opens, f.human_opened, "#7b8fd9"),
                (t.seq_clicks, f.clicked, "#2e9e6a"),
                (t.seq_converted, f.converted, "#1f7a4d"),
                (t.seq_unsubscribed, f.unsubscribed, "#c05a28"),
            ]
            .into_iter()
            .map(|(label, x, color)| (label.to_string(), x as f64, part(x), color))
            .collect();
            StepResult {
                key: f.step_key.clone(),
                chart: dashboard::bars_svg(&format!("{} {}", t.seq_step_key, f.step_key), &bars),
                cells: [
                    n(f.sent),
                    part(f.delivered),
                    part(f.human_opened),
                    part(f.opened),
                    part(f.clicked),
                    part(f.converted),
                    part(f.unsubscribed),
                    part(f.bounced),
                    n(f.skipped),
                    n(f.ambiguous),
                    n(f.reserved),
                ],
            }
        })
        .collect();
    rows.push(empty_row(rows.len()));
    let (trigger_kind, trigger_value) = match &q.trigger {
        None => ("none", String::new()),
        Some(Trigger::RejectedBySales) => ("rejected_by_sales", String::new()),
        Some(Trigger::FormSubmitted { form }) => ("form_submitted", form.clone().unwrap_or_default()),
        Some(Trigger::EnteredStage { stage }) => ("entered_stage", stage.as_str().to_string()),
        Some(Trigger::ColdFor { days }) => ("cold_for", days.to_string()),
    };
    let choice = |value: &str, label: &str, selected: bool| Choice {
        value: value.into(),
        label: label.into(),
        selected,
    };
    let mut counts = Vec::new();
    let active = view.enrolments.get("active").copied().unwrap_or(0);
    let completed = view.enrolments.get("completed").copied().unwrap_or(0);
    counts.push((t.seq_enrolled_now.to_string(), n(active)));
    counts.push((t.seq_completed.to_string(), n(completed)));
    for r in ExitReason::ALL.into_iter().filter(|r| *r != ExitReason::Completed) {
        if let Some(x) = view.enrolments.get(r.as_str()) {
            counts.push((exit_label(t, r).to_string(), n(*x)));
        }
    }
    let mut c = s.chrome("nurture");
    c.notice = notice;
    render(SequencePage {
        c,
        id: q.id.to_string(),
        name: q.name.clone(),
        states: SequenceState::ALL
            .into_iter()
            .map(|st| choice(st.as_str(), state_label(t, st), st == q.state))
            .collect(),
        purposes: std::iter::once(choice("", t.seq_purpose_none, q.purpose.is_none()))
            .chain(Purpose::ALL.into_iter().map(|p| {
                let label = match p {
                    Purpose::Newsletter => t.purpose_newsletter,
                    Purpose::CommercialProspecting => t.purpose_prospecting,
                };
                choice(p.as_str(), label, q.purpose == Some(p))
            }))
            .collect(),
        triggers: [
            ("none", t.seq_trigger_none),
            ("rejected_by_sales", t.seq_trigger_rejected),
            ("form_submitted", t.seq_trigger_form),
            ("entered_stage", t.seq_trigger_stage),
            ("cold_for", t.seq_trigger_cold),
        ]
        .into_iter()
        .map(|(v, l)| choice(v, l, v == trigger_kind))
        .collect(),
        trigger_value,
        reenrol: q.reenrol,
        rows,
        kinds: KINDS.iter().map(|k| (*k, kind_label(t, k))).collect(),
        conditions: CONDITIONS.iter().map(|k| (*k, condition_label(t, k))).collect(),
        templates: templates.into_iter().map(|x| choice(&x.id.to_string(), &x.name, false)).collect(),
        counts,
        results,
        conversion_days: n(view.conversion_days as i64),
        errors,
    })
}

pub(super) async fn nurture_sequence(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Query(n): Query<NoticeQuery>,
) -> Response {
    let Ok(id) = id.parse::<SequenceId>() else {
        return s.error(StatusCode::NOT_FOUND, s.lang.texts().not_found);
    };
    match state.app.sequence(s.p(), id, None).await {
        Ok(v) => {
            let notice = (n.done.as_deref() == Some("saved")).then(|| s.lang.texts().seq_saved.to_string());
            sequence_page(&state, &s, v, Vec::new(), notice).await
        }
        Err(e) => app_error(&s, e),
    }
}

/// Reads the editor's lines (`key_3`, `kind_3`, …) back into steps; `remove` lines and empty new
/// lines are dropped. Problems with a value come back as messages naming the line.
fn steps_from_form(form: &[(String, String)]) -> (Vec<Step>, Vec<String>) {
    let get = |name: &str, i: usize| {
        form.iter()
            .find(|(k, _)| *k == format!("{name}_{i}"))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let mut steps = Vec::new();
    let mut problems = Vec::new();
    for i in 0..=leadgate_core::nurture::sequence::MAX_STEPS {
        if !form.iter().any(|(k, _)| *k == format!("kind_{i}")) {
            break;
        }
        let kind = get("kind", i);
        if kind == "remove" || kind.is_empty() {
            continue;
        }
        let key = match get("key", i) {
            k if k.is_empty() => format!("step-{}", i + 1),
            k => k,
        };
        let days = |problems: &mut Vec<String>| match get("days", i).parse::<u32>() {
            Ok(d) => d,
            Err(_) => {
                problems.push(format!("{key}: {}", get("days", i)));
                0
            }
        };
        let condition = |problems: &mut Vec<String>| {
            let value = get("value", i);
            let none_if_empty = |v: String| (!v.is_empty()).then_some(v);
            match get("condition", i).as_str() {
                "clicked" => Condition::Clicked { step: none_if_empty(value) },
                "visited" => Condition::Visited { page: value },
                "submitted_form" => Condition::SubmittedForm { form: none_if_empty(value) },
                "temperature_at_least" => match Temperature::parse(&value) {
                    Some(temperature) => Condition::TemperatureAtLeast { temperature },
                    None => {
                        problems.push(format!("{key}: {value}"));
                        Condition::TemperatureAtLeast { temperature: Temperature::Hot }
                    }
                },
                "engagement_at_least" => match value.replace(',', ".").parse::<f64>() {
                    Ok(points) if points.is_finite() => Condition::EngagementAtLeast { points },
                    _ => {
                        problems.push(format!("{key}: {value}"));
                        Condition::EngagementAtLeast { points: 0.0 }
                    }
                },
                op if op.starts_with("field_") => {
                    // "<field> <value>": the field's name, then what it is compared with.
                    let op = FIELD_OPS.iter().find(|(n, _)| *n == op).map_or(FieldOp::Equals, |(_, o)| *o);
                    let (field, compared) = value.split_once(char::is_whitespace).unwrap_or((&value, ""));
                    let compared = compared.trim();
                    let needs_value = matches!(op, FieldOp::Equals | FieldOp::NotEquals | FieldOp::Contains);
                    if field.is_empty() || (needs_value && compared.is_empty()) {
                        problems.push(format!("{key}: {value}"));
                    }
                    Condition::Field {
                        field: field.to_string(),
                        op,
                        value: (needs_value && !compared.is_empty())
                            .then(|| serde_json::Value::String(compared.to_string())),
                    }
                }
                _ => match LifecycleStage::parse(&value) {
                    Some(stage) => Condition::StageIs { stage },
                    None => {
                        problems.push(format!("{key}: {value}"));
                        Condition::StageIs { stage: LifecycleStage::Mql }
                    }
                },
            }
        };
        let action = match kind.as_str() {
            "send" => match get("template", i).parse::<TemplateId>() {
                Ok(template) => Action::Send { template },
                Err(_) => {
                    problems.push(format!("{key}: {}", get("template", i)));
                    continue;
                }
            },
            "wait" => Action::Wait { days: days(&mut problems), working_days: !get("working", i).is_empty() },
            "wait_for" => {
                Action::WaitFor { until: condition(&mut problems), up_to_days: days(&mut problems) }
            }
            "branch" => Action::Branch { when: condition(&mut problems), to: get("target", i) },
            "set_field" => {
                let raw = get("field_value", i);
                let value = serde_json::from_str(&raw).unwrap_or(serde_json::Value::String(raw));
                Action::SetField { field: get("text", i), value }
            }
            "notify_owner" => Action::NotifyOwner { task: get("text", i) },
            _ => Action::End,
        };
        steps.push(Step { key, action });
    }
    (steps, problems)
}

/// The sequence page again, naming a trigger value that does not fit its trigger.
async fn bad_trigger_value(state: &AppState, s: &Signed, id: SequenceId, value: &str) -> Response {
    let t = s.lang.texts();
    let view = match state.app.sequence(s.p(), id, None).await {
        Ok(v) => v,
        Err(e) => return app_error(s, e),
    };
    sequence_page(state, s, view, vec![format!("{}{} {value}", t.seq_trigger_value, t.colon)], None).await
}

pub(super) async fn nurture_save_sequence(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let t = s.lang.texts();
    let form = Posted::read(&body);
    let value = |name: &str| form.value(name);
    let id: SequenceId = match s.accept(&value("_csrf"), &id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let (steps, problems) = steps_from_form(&form);
    let trigger_value = value("trigger_value");
    let trigger = match value("trigger").as_str() {
        "rejected_by_sales" => Some(Trigger::RejectedBySales),
        "form_submitted" => Some(Trigger::FormSubmitted {
            form: (!trigger_value.is_empty()).then_some(trigger_value.clone()),
        }),
        "entered_stage" => match LifecycleStage::parse(&trigger_value) {
            Some(stage) => Some(Trigger::EnteredStage { stage }),
            None => return bad_trigger_value(&state, &s, id, &trigger_value).await,
        },
        "cold_for" => match trigger_value.trim().parse::<u32>() {
            Ok(days) => Some(Trigger::ColdFor { days }),
            Err(_) => return bad_trigger_value(&state, &s, id, &trigger_value).await,
        },
        _ => None,
    };
    let draft = SequenceDraft {
        name: value("name"),
        steps,
        purpose: Purpose::parse(&value("purpose")),
        trigger,
        reenrol: !value("reenrol").is_empty(),
        state: SequenceState::parse(&value("state")),
    };
    let outcome = if problems.is_empty() {
        state.app.update_sequence(s.p(), id, draft).await
    } else {
        Err(leadgate_app::AppError::invalid("steps", problems.join("; ")))
    };
    match outcome {
        Ok(v) => sequence_page(&state, &s, v, Vec::new(), Some(t.seq_saved.to_string())).await,
        Err(leadgate_app::AppError::Invalid(errors)) => {
            let view = match state.app.sequence(s.p(), id, None).await {
                Ok(v) => v,
                Err(e) => return app_error(&s, e),
            };
            refused(sequence_page(&state, &s, view, field_lines(t, errors), None).await)
        }
        Err(e) => app_error(&s, e),
    }
}

/// A form's problems as lines "field: what to do".
fn field_lines(t: &Texts, errors: leadgate_core::validation::ValidationErrors) -> Vec<String> {
    errors.errors.into_iter().map(|e| format!("{}{} {}", e.field, t.colon, e.message)).collect()
}

#[derive(Template)]
#[template(path = "ui/email_template.html")]
pub(super) struct TemplatePage {
    c: Chrome,
    id: String,
    name: String,
    languages: Vec<Choice>,
    subject: String,
    html: String,
    text: String,
    from_address: String,
    preview: Option<leadgate_app::nurture::render::Rendered>,
    preview_for: String,
    errors: Vec<String>,
}

#[derive(Deserialize, Default)]
pub(super) struct TemplateQuery {
    done: Option<String>,
    preview: Option<String>,
}

async fn template_page(
    state: &AppState,
    s: &Signed,
    id: TemplateId,
    q: TemplateQuery,
    errors: Vec<String>,
    notice: Option<String>,
) -> Response {
    let t = match state.app.template(s.p(), id).await {
        Ok(t) => t,
        Err(e) => return app_error(s, e),
    };
    let mut errors = errors;
    let preview_for = q.preview.clone().unwrap_or_default();
    let preview = match q.preview.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(who) => match state.app.find_contact(s.p(), who).await {
            Ok(contact) => match state.app.preview_template(s.p(), id, contact.id).await {
                Ok(r) => Some(r),
                Err(e) => {
                    errors.push(e.to_string());
                    None
                }
            },
            Err(e) => {
                errors.push(e.to_string());
                None
            }
        },
        None => None,
    };
    let mut c = s.chrome("nurture");
    c.notice = notice;
    render(TemplatePage {
        c,
        id: id.to_string(),
        name: t.name,
        languages: ["en", "fr"]
            .into_iter()
            .map(|l| Choice {
                value: l.into(),
                label: if l == "fr" { "Français".into() } else { "English".into() },
                selected: t.language == l,
            })
            .collect(),
        subject: t.subject,
        html: t.html,
        text: t.text,
        from_address: t.from_address.unwrap_or_default(),
        preview,
        preview_for,
        errors,
    })
}

pub(super) async fn nurture_template(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Query(q): Query<TemplateQuery>,
) -> Response {
    let Ok(id) = id.parse::<TemplateId>() else {
        return s.error(StatusCode::NOT_FOUND, s.lang.texts().not_found);
    };
    // The notice is worded here from a code: a link cannot make the page say anything else.
    let notice = (q.done.as_deref() == Some("saved")).then(|| s.lang.texts().tpl_saved.to_string());
    template_page(&state, &s, id, q, Vec::new(), notice).await
}

#[derive(Deserialize)]
pub(super) struct TemplateForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
    language: String,
    subject: String,
    html: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    from_address: String,
}

pub(super) async fn nurture_save_template(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<TemplateForm>,
) -> Response {
    let id: TemplateId = match s.accept(&f.csrf, &id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let blank = |v: String| (!v.trim().is_empty()).then_some(v);
    let draft = TemplateDraft {
        name: f.name,
        language: Some(f.language),
        subject: f.subject,
        html: f.html,
        text: blank(f.text),
        from_name: None,
        from_address: blank(f.from_address),
        reply_to: None,
    };
    let t = s.lang.texts();
    match state.app.update_template(s.p(), id, draft).await {
        Ok(_) => Redirect::to(&format!("/nurture/templates/{id}?done=saved")).into_response(),
        Err(leadgate_app::AppError::Invalid(errors)) => refused(
            template_page(&state, &s, id, TemplateQuery::default(), field_lines(t, errors), None).await,
        ),
        Err(e) => app_error(&s, e),
    }
}

#[derive(Deserialize)]
pub(super) struct TestForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    to: String,
}

pub(super) async fn nurture_test_template(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<TestForm>,
) -> Response {
    let id: TemplateId = match s.accept(&f.csrf, &id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    match state.app.test_send(s.p(), id, f.to.trim(), None).await {
        Ok(reply) => {
            let done = s.lang.texts().tpl_test_sent.replace("{reply}", &reply);
            template_page(&state, &s, id, TemplateQuery::default(), Vec::new(), Some(done)).await
        }
        Err(e) => template_page(&state, &s, id, TemplateQuery::default(), vec![e.to_string()], None).await,
    }
}

#[derive(Deserialize)]
pub(super) struct EnrolForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    sequence: String,
}

/// Enrols the contact of the page in a sequence, and says why when it cannot be.
pub(super) async fn contact_enrol(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<EnrolForm>,
) -> Response {
    let id: ContactId = match s.accept(&f.csrf, &id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let Ok(sequence) = f.sequence.parse::<SequenceId>() else {
        return s.error(StatusCode::UNPROCESSABLE_ENTITY, s.lang.texts().not_found);
    };
    match state.app.enrol(s.p(), sequence, &[id]).await {
        Ok(r) => {
            // The page words the outcome from a code: a link never carries text to show.
            let query = if r.enrolled > 0 {
                "done=enrolled".to_string()
            } else {
                format!("not_enrolled={}", r.refused.keys().next().map_or("already", String::as_str))
            };
            Redirect::to(&format!("/contacts/{id}?{query}")).into_response()
        }
        Err(e) => app_error(&s, e),
    }
}

/// The active sequences a user who manages nurturing may enrol leads in (none for others).
pub(super) async fn active_sequences(state: &AppState, s: &Signed) -> Vec<Choice> {
    if !s.p().user.role.allows(leadgate_core::access::Permission::ManageNurture) {
        return Vec::new();
    }
    state
        .app
        .sequences(s.p())
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|q| q.state == leadgate_core::nurture::SequenceState::Active)
        .map(|q| Choice { value: q.id.to_string(), label: q.name, selected: false })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadgate_core::scoring::Temperature;

    /// The form the line editor posts for `steps`, as the page fills it in.
    fn form_of(steps: &[Step]) -> Vec<(String, String)> {
        let mut form = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let r = row_of(i, step);
            for (name, value) in [
                ("key", r.key),
                ("kind", r.kind.to_string()),
                ("template", r.template),
                ("days", r.days),
                ("condition", r.condition.to_string()),
                ("value", r.value),
                ("target", r.target),
                ("text", r.text),
                ("field_value", r.field_value),
            ] {
                form.push((format!("{name}_{i}"), value));
            }
            if r.working {
                form.push((format!("working_{i}"), "yes".into()));
            }
        }
        form
    }

    #[test]
    fn every_condition_a_sequence_can_hold_survives_a_save_from_the_line_editor() {
        let field = |op: FieldOp, value: Option<&str>| Condition::Field {
            field: "custom.plan".into(),
            op,
            value: value.map(|v| serde_json::Value::String(v.into())),
        };
        let conditions = [
            Condition::Clicked { step: Some("welcome".into()) },
            Condition::Clicked { step: None },
            Condition::Visited { page: "/pricing*".into() },
            Condition::SubmittedForm { form: Some("demo".into()) },
            Condition::TemperatureAtLeast { temperature: Temperature::Warm },
            Condition::EngagementAtLeast { points: 42.5 },
            Condition::StageIs { stage: LifecycleStage::Nurturing },
            field(FieldOp::Equals, Some("Pro plan")),
            field(FieldOp::NotEquals, Some("free")),
            field(FieldOp::Contains, Some("pro")),
            field(FieldOp::IsSet, None),
            field(FieldOp::IsNotSet, None),
        ];
        let mut steps: Vec<Step> = conditions
            .into_iter()
            .enumerate()
            .map(|(i, until)| Step { key: format!("c{i}"), action: Action::WaitFor { until, up_to_days: 3 } })
            .collect();
        steps.push(Step {
            key: "jump".into(),
            action: Action::Branch { when: field(FieldOp::Equals, Some("x")), to: "end".into() },
        });
        steps.push(Step { key: "end".into(), action: Action::End });
        let (back, problems) = steps_from_form(&form_of(&steps));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(back, steps);

        // A field test without the value it compares with is named, not saved half-made.
        let mut form = form_of(&steps[7..8]);
        form.retain(|(k, _)| k != "value_0");
        form.push(("value_0".into(), "custom.plan".into()));
        assert_eq!(steps_from_form(&form).1.len(), 1);
    }
}

//! The scoring rules editor with its preview.

use super::*;

pub(super) struct PreviewView {
    pub basis: String,
    pub lines: Vec<String>,
}

#[derive(Template)]
#[template(path = "ui/rules.html")]
pub(super) struct RulesPage {
    pub(super) c: Chrome,
    pub(super) version: i64,
    pub(super) text: String,
    pub(super) comment: String,
    pub(super) errors: Vec<String>,
    pub(super) preview: Option<PreviewView>,
    pub(super) job: Option<JobNotice>,
    /// Every version, newest first, each restorable in one click.
    pub(super) history: Vec<VersionLine>,
    pub(super) can_edit: bool,
    /// The rules' points and thresholds as form fields (conditions stay in the JSON).
    pub(super) weights: Weights,
}

/// A rule whose label and points the weights form edits.
#[derive(Clone)]
pub(super) struct WeightRow {
    pub id: String,
    pub label: String,
    pub points: String,
    /// Engagement rules: the event kind scored, and the caps (empty: none).
    pub kind: String,
    pub daily_cap: String,
    pub lifetime_cap: String,
    /// The rule's condition in words.
    pub condition: String,
}

/// The numbers of a rule set people tune most, as form fields.
#[derive(Clone)]
pub(super) struct Weights {
    pub fit: Vec<WeightRow>,
    pub grade_a: String,
    pub grade_b: String,
    pub grade_c: String,
    pub half_life_days: String,
    pub engagement: Vec<WeightRow>,
    pub hot_engagement: String,
    pub warm_engagement: String,
    pub intent_within_days: String,
    pub mql_grades: Vec<Choice>,
    pub mql_min_engagement: String,
    pub mql_when_hot: bool,
    pub disqualify_below_fit: String,
    /// Knock-outs: (reason, condition in words).
    pub knockouts: Vec<(String, String)>,
}

/// A JSON value as a form field shows it (`25`, `2.5`, a text; empty when absent).
pub(super) fn shown(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(x) if x.fract() == 0.0 => format!("{x:.0}"),
            Some(x) => x.to_string(),
            None => n.to_string(),
        },
        other => other.to_string(),
    }
}

pub(super) fn weights_of(lang: Lang, rules: &leadgate_core::scoring::RulesDoc) -> Weights {
    use super::rule_editor::{Section, describe};
    let v = serde_json::to_value(rules).unwrap_or_default();
    let text = |x: &serde_json::Value| x.as_str().unwrap_or_default().to_string();
    let row = |(r, when): (&serde_json::Value, Option<&leadgate_core::scoring::condition::ConditionDoc>),
               section| WeightRow {
        id: text(&r["id"]),
        label: r["label"].as_str().map_or_else(|| text(&r["id"]), String::from),
        points: shown(&r["points"]),
        kind: text(&r["kind"]),
        daily_cap: shown(&r["daily_cap"]),
        lifetime_cap: shown(&r["lifetime_cap"]),
        condition: describe(lang, section, when),
    };
    let fit =
        v["fit"]["rules"].as_array().into_iter().flatten().zip(rules.fit.rules.iter().map(|r| Some(&r.when)));
    let engagement = v["engagement"]["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .zip(rules.engagement.rules.iter().map(|r| r.when.as_ref()));
    let grade = text(&v["lifecycle"]["mql_min_fit_grade"]);
    Weights {
        fit: fit.map(|x| row(x, Section::Fit)).collect(),
        grade_a: shown(&v["fit"]["grades"]["a"]),
        grade_b: shown(&v["fit"]["grades"]["b"]),
        grade_c: shown(&v["fit"]["grades"]["c"]),
        half_life_days: shown(&v["engagement"]["half_life_days"]),
        engagement: engagement.map(|x| row(x, Section::Engagement)).collect(),
        hot_engagement: shown(&v["temperature"]["hot_engagement"]),
        warm_engagement: shown(&v["temperature"]["warm_engagement"]),
        intent_within_days: shown(&v["temperature"]["intent_within_days"]),
        mql_grades: ["A", "B", "C", "D"]
            .iter()
            .map(|g| Choice { value: g.to_string(), label: g.to_string(), selected: grade == *g })
            .collect(),
        mql_min_engagement: shown(&v["lifecycle"]["mql_min_engagement"]),
        mql_when_hot: v["lifecycle"]["mql_when_hot"].as_bool().unwrap_or(false),
        disqualify_below_fit: shown(&v["lifecycle"]["disqualify_below_fit"]),
        knockouts: rules
            .knockouts
            .iter()
            .map(|k| (lang.rule_words(&k.reason), describe(lang, Section::Knockout, Some(&k.when))))
            .collect(),
    }
}

/// A number as people type it in a form ("25", "2,5", "1 000"): `None` when left empty, an
/// error when it is not a number. Whole numbers stay whole (`25`, not `25.0`).
pub(super) fn form_number(raw: &str) -> Result<Option<serde_json::Value>, ()> {
    let raw = raw.replace([' ', '\u{a0}', '\u{202f}'], "").replace(',', ".");
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<f64>().ok().and_then(json_number).map(Some).ok_or(())
}

/// A number as the rules write it: whole numbers stay whole (`25`, not `25.0`), as people write
/// them; `None` for what JSON cannot hold (infinities, NaN).
pub(super) fn json_number(x: f64) -> Option<serde_json::Value> {
    let n = serde_json::Number::from_f64(x)?;
    Some(if x.fract() == 0.0 && x.abs() < 1e15 {
        serde_json::json!(x as i64)
    } else {
        serde_json::Value::Number(n)
    })
}

/// The rules in force with the weights form's numbers written in: a JSON text for the same
/// checks, preview and save as a typed one. A value that is not a number is named.
fn apply_weights(
    t: &Texts,
    rules: &leadgate_core::scoring::RulesDoc,
    form: &Posted,
) -> Result<String, Vec<String>> {
    let mut v = serde_json::to_value(rules).unwrap_or_default();
    let mut bad = Vec::new();
    // Not sent: unchanged. Sent empty: absent for an optional number, unchanged otherwise.
    let mut number = |name: &str, label: &str, optional: bool| -> Option<serde_json::Value> {
        if !form.has(name) {
            return None;
        }
        match form_number(&form.value(name)) {
            Ok(Some(x)) => Some(x),
            Ok(None) => optional.then_some(serde_json::Value::Null),
            Err(()) => {
                bad.push(format!("{label}{} {}", t.colon, t.not_a_number));
                None
            }
        }
    };
    // A value read (`null` for an optional one left empty) replaces the one in force.
    let set = |target: &mut serde_json::Value, value: Option<serde_json::Value>| {
        if let Some(x) = value {
            *target = x;
        }
    };
    for section in ["fit", "engagement"] {
        let count = v[section]["rules"].as_array().map_or(0, Vec::len);
        for i in 0..count {
            let label = v[section]["rules"][i]["label"]
                .as_str()
                .or(v[section]["rules"][i]["id"].as_str())
                .unwrap_or("")
                .to_string();
            let typed = form.value(&format!("{section}_{i}_label"));
            if !typed.is_empty() {
                v[section]["rules"][i]["label"] = serde_json::Value::String(typed);
            }
            set(
                &mut v[section]["rules"][i]["points"],
                number(&format!("{section}_{i}_points"), &label, false),
            );
            if section == "engagement" {
                set(
                    &mut v[section]["rules"][i]["daily_cap"],
                    number(&format!("{section}_{i}_daily_cap"), &label, true),
                );
                set(
                    &mut v[section]["rules"][i]["lifetime_cap"],
                    number(&format!("{section}_{i}_lifetime_cap"), &label, true),
                );
            }
        }
    }
    set(&mut v["fit"]["grades"]["a"], number("grade_a", t.col_grade, false));
    set(&mut v["fit"]["grades"]["b"], number("grade_b", t.col_grade, false));
    set(&mut v["fit"]["grades"]["c"], number("grade_c", t.col_grade, false));
    set(&mut v["engagement"]["half_life_days"], number("half_life_days", t.rules_half_life, false));
    set(&mut v["temperature"]["hot_engagement"], number("hot_engagement", t.rules_hot_engagement, false));
    set(&mut v["temperature"]["warm_engagement"], number("warm_engagement", t.rules_warm_engagement, false));
    set(
        &mut v["temperature"]["intent_within_days"],
        number("intent_within_days", t.rules_intent_days, false),
    );
    set(
        &mut v["lifecycle"]["mql_min_engagement"],
        number("mql_min_engagement", t.rules_mql_engagement, false),
    );
    set(
        &mut v["lifecycle"]["disqualify_below_fit"],
        number("disqualify_below_fit", t.rules_disqualify_below, true),
    );
    let grade = form.value("mql_min_fit_grade");
    if ["A", "B", "C", "D"].contains(&grade.as_str()) {
        v["lifecycle"]["mql_min_fit_grade"] = serde_json::Value::String(grade);
    }
    // A checkbox is sent only when ticked: the form marks that it carries the lifecycle fields.
    if form.has("mql_min_fit_grade") {
        v["lifecycle"]["mql_when_hot"] = serde_json::Value::Bool(!form.value("mql_when_hot").is_empty());
    }
    // Optional numbers left empty are absent, not null.
    for r in v["engagement"]["rules"].as_array_mut().into_iter().flatten() {
        if let Some(o) = r.as_object_mut() {
            o.retain(|_, x| !x.is_null());
        }
    }
    if let Some(o) = v["lifecycle"].as_object_mut() {
        o.retain(|_, x| !x.is_null());
    }
    if bad.is_empty() { Ok(serde_json::to_string_pretty(&v).unwrap_or_default()) } else { Err(bad) }
}

/// The weights form: previews or saves the rules in force with its numbers.
pub(super) async fn rules_weights(
    State(state): State<AppState>,
    s: Signed,
    body: axum::body::Bytes,
) -> Response {
    let form = match s.posted(&body, leadgate_core::access::Permission::ManageScoring) {
        Ok(form) => form,
        Err(refused) => return *refused,
    };
    let t = s.lang.texts();
    let view = match state.app.scoring_rules(s.p()).await {
        Ok(v) => v,
        Err(e) => return app_error(&s, e),
    };
    let comment = Some(form.value("comment")).filter(|c| !c.is_empty());
    match apply_weights(t, &view.rules, &form) {
        Ok(text) => rules_apply(&state, &s, text, comment, &form.value("action"), Vec::new()).await,
        Err(bad) => {
            let text = serde_json::to_string_pretty(&view.rules).unwrap_or_default();
            rules_apply(&state, &s, text, comment, "refused", bad).await
        }
    }
}

/// A version of the rules in their history.
#[derive(Clone)]
pub(super) struct VersionLine {
    pub version: i64,
    pub when: String,
    pub who: String,
    pub why: String,
    pub current: bool,
}

/// The rules' history as the page shows it.
async fn rules_history(state: &AppState, s: &Signed) -> Vec<VersionLine> {
    let names = user_names(state, s.p()).await;
    let versions = state.app.rules_history(s.p()).await.unwrap_or_default();
    let newest = versions.first().map(|v| v.version);
    versions
        .into_iter()
        .map(|v| VersionLine {
            version: v.version,
            when: s.datetime(v.created_at),
            who: v.created_by.and_then(|u| names.get(&u).cloned()).unwrap_or_else(|| "Leadgate".into()),
            why: v.comment.unwrap_or_default(),
            current: Some(v.version) == newest,
        })
        .collect()
}

pub(super) fn job_notice(
    lang: Lang,
    j: &leadgate_store::jobs::Job,
    running_text: String,
    done_text: &str,
    failed_text: &str,
    now: jiff::Timestamp,
) -> JobNotice {
    use leadgate_store::jobs::JobState;
    let running = matches!(j.state, JobState::Queued | JobState::Running);
    let failed = matches!(j.state, JobState::Failed | JobState::Cancelled);
    let text = if running {
        running_text
    } else if failed {
        format!("{failed_text}: {}", j.last_error.clone().unwrap_or_default())
    } else {
        done_text.to_string()
    };
    let (percent, counts) = job_progress(lang, j, now);
    JobNotice { id: j.id.to_string(), text, running, failed, percent, counts }
}

/// How far a job is: its share done (when its size is known) and "1,200 of 20,000 · about 12 s
/// left" (the time left from its pace so far).
pub(super) fn job_progress(
    lang: Lang,
    j: &leadgate_store::jobs::Job,
    now: jiff::Timestamp,
) -> (Option<u32>, String) {
    let t = lang.texts();
    let n = |x: i64| lang.number(x as f64, 0);
    let finished = matches!(j.state, leadgate_store::jobs::JobState::Succeeded);
    let Some(total) = j.progress_total.filter(|t| *t > 0) else {
        // A file read as it streams: its size is known at the end only.
        let counts = if j.progress_done > 0 {
            t.job_counted.replace("{done}", &n(j.progress_done))
        } else {
            String::new()
        };
        return (finished.then_some(100), counts);
    };
    let done = j.progress_done.clamp(0, total);
    let percent = ((done * 100) / total) as u32;
    let mut counts = t.job_counts.replace("{done}", &n(done)).replace("{total}", &n(total));
    let elapsed = now.duration_since(j.created_at).as_secs_f64();
    if done > 0 && done < total && elapsed > 0.0 {
        let left = (elapsed / done as f64 * (total - done) as f64).round() as i64;
        let words =
            if left >= 60 { format!("{} min {} s", left / 60, left % 60) } else { format!("{left} s") };
        counts.push_str(&t.job_time_left.replace("{left}", &words));
    }
    (Some(percent), counts)
}

/// `GET /jobs/{id}/progress`: a running job's progress as JSON, for the page that shows it to
/// follow without reloading itself.
pub(super) async fn job_progress_json(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<leadgate_core::ids::JobId>() else {
        return s.error(StatusCode::NOT_FOUND, s.lang.texts().not_found);
    };
    match state.app.job(s.p(), id).await {
        Ok(j) => {
            // The page's own notice, without its words: whether it runs, how far, what is left.
            let n = job_notice(s.lang, &j, String::new(), "", "", state.app.now());
            axum::Json(serde_json::json!({ "running": n.running, "percent": n.percent, "counts": n.counts }))
                .into_response()
        }
        Err(e) => app_error(&s, e),
    }
}

#[derive(Deserialize)]
pub(super) struct RulesQuery {
    pub(super) job: Option<String>,
    /// A built-in rule set to load into the editor (previewed, saved only when the user saves).
    pub(super) preset: Option<String>,
}

pub(super) async fn rules_page(
    State(state): State<AppState>,
    s: Signed,
    Query(q): Query<RulesQuery>,
) -> Response {
    let t = s.lang.texts();
    let view = match state.app.scoring_rules(s.p()).await {
        Ok(v) => v,
        Err(e) => return app_error(&s, e),
    };
    let job = match q.job.as_deref().and_then(|j| j.parse::<leadgate_core::ids::JobId>().ok()) {
        Some(id) => state.app.job(s.p(), id).await.ok().map(|j| {
            let running = t
                .rescoring
                .replace("{done}", &s.lang.number(j.progress_done as f64, 0))
                .replace("{total}", &j.progress_total.map_or("…".into(), |n| s.lang.number(n as f64, 0)));
            job_notice(s.lang, &j, running, t.rescored, t.rescore_failed, state.app.now())
        }),
        None => None,
    };
    let preset = q
        .preset
        .as_deref()
        .and_then(|name| Some((name, leadgate_core::scoring::ScoringRules::preset(name)?)));
    let (text, comment) = match preset {
        Some((name, rules)) => (rules.to_json(), t.rules_from_preset.replace("{name}", name)),
        None => (serde_json::to_string_pretty(&view.rules).unwrap_or_default(), String::new()),
    };
    render(RulesPage {
        c: s.chrome("rules"),
        version: view.version,
        text,
        comment,
        errors: Vec::new(),
        preview: None,
        job,
        history: rules_history(&state, &s).await,
        can_edit: s.p().user.role.allows(leadgate_core::access::Permission::ManageScoring),
        weights: weights_of(s.lang, &view.rules),
    })
}

#[derive(Deserialize)]
pub(super) struct RulesForm {
    #[serde(rename = "_csrf")]
    pub(super) csrf: String,
    #[serde(default)]
    pub(super) rules: String,
    pub(super) comment: Option<String>,
    pub(super) action: String,
    /// With `action=restore`: the version to make the rules again.
    pub(super) version: Option<i64>,
}

pub(super) async fn rules_submit(
    State(state): State<AppState>,
    s: Signed,
    Form(f): Form<RulesForm>,
) -> Response {
    if let Some(r) =
        s.refuse_forged(&f.csrf).or_else(|| s.refuse_role(leadgate_core::access::Permission::ManageScoring))
    {
        return r;
    }
    let t = s.lang.texts();
    if f.action == "restore" {
        let Some(version) = f.version else {
            return s.error(StatusCode::UNPROCESSABLE_ENTITY, t.not_found);
        };
        return match state.app.restore_scoring_rules(s.p(), version).await {
            Ok(change) => Redirect::to(&format!("/rules?job={}", change.rescore_job)).into_response(),
            Err(e) => app_error(&s, e),
        };
    }
    rules_apply(&state, &s, f.rules, f.comment, &f.action, Vec::new()).await
}

/// Previews or saves a rule set given as JSON text (typed, or made from the weights form),
/// showing the page again with the mistakes or the preview; `refused` are mistakes found
/// before (values of the weights form that are not numbers).
async fn rules_apply(
    state: &AppState,
    s: &Signed,
    text: String,
    comment: Option<String>,
    action: &str,
    refused: Vec<String>,
) -> Response {
    let view = match state.app.scoring_rules(s.p()).await {
        Ok(v) => v,
        Err(e) => return app_error(s, e),
    };
    let version = view.version;
    let weights = weights_of(s.lang, &view.rules);
    let history = rules_history(state, s).await;
    let page = |errors: Vec<String>, preview: Option<PreviewView>| {
        let mut r = render(RulesPage {
            c: s.chrome("rules"),
            version,
            text: text.clone(),
            comment: comment.clone().unwrap_or_default(),
            errors: errors.clone(),
            preview,
            job: None,
            history: history.clone(),
            can_edit: true,
            weights: weights.clone(),
        });
        if !errors.is_empty() {
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        }
        r
    };
    if !refused.is_empty() {
        return page(refused, None);
    }
    let rules = match compile_rules(s.lang, &text) {
        Ok(r) => r,
        Err(errors) => return page(errors, None),
    };
    if action == "save" {
        let comment = comment.as_deref().map(str::trim).filter(|c| !c.is_empty());
        return match state.app.update_scoring_rules(s.p(), rules.doc.clone(), comment).await {
            Ok(change) => Redirect::to(&format!("/rules?job={}", change.rescore_job)).into_response(),
            Err(AppError::Invalid(e)) => page(vec![field_errors_text(s.lang, &e.errors)], None),
            Err(e) => app_error(s, e),
        };
    }
    match preview_of(state, s, rules).await {
        Ok(p) => page(Vec::new(), Some(p)),
        Err(e) => app_error(s, e),
    }
}

/// A rule set's JSON checked and compiled, or its mistakes in the reader's language.
pub(super) fn compile_rules(
    lang: Lang,
    text: &str,
) -> Result<leadgate_core::scoring::ScoringRules, Vec<String>> {
    match leadgate_core::scoring::ScoringRules::from_json(text) {
        Ok(r) => Ok(r),
        Err(leadgate_core::scoring::RulesError::Syntax { line, column, message }) => Err(vec![match lang {
            Lang::En => format!("line {line}, column {column}: {message}"),
            lang => lang
                .texts()
                .err_json
                .replace("{path}", "JSON")
                .replace("{line}", &line.to_string())
                .replace("{column}", &column.to_string()),
        }]),
        Err(leadgate_core::scoring::RulesError::Invalid(e)) => Err(vec![field_errors_text(lang, &e.errors)]),
    }
}

/// What a rule set would change on the real leads, in words.
pub(super) async fn preview_of(
    state: &AppState,
    s: &Signed,
    rules: leadgate_core::scoring::ScoringRules,
) -> Result<PreviewView, AppError> {
    let t = s.lang.texts();
    let p = state.app.preview_rules(s.p(), rules).await?;
    let n = |x: u64| s.lang.number(x as f64, 0);
    let basis = if p.estimated { t.preview_estimated } else { t.preview_exact }
        .replace("{n}", &n(if p.estimated { p.scored } else { p.contacts }));
    let lines = [
        (p.become_mql, t.would_become_mql),
        (p.leave_mql, t.would_leave_mql),
        (p.other_stage_changes, t.would_change_stage),
        (p.become_hot, t.would_become_hot),
        (p.become_warm, t.would_become_warm),
        (p.drop_to_cold, t.would_drop_to_cold),
        (p.grade_changes, t.would_change_grade),
    ]
    .iter()
    .map(|(count, what)| format!("{}{} {what}", if p.estimated { "≈ " } else { "" }, n(*count)))
    .collect();
    Ok(PreviewView { basis, lines })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_job_says_how_far_it_is_and_how_long_is_left_in_each_language() {
        let start: jiff::Timestamp = "2026-12-06T10:00:00Z".parse().unwrap();
        let job = leadgate_store::jobs::Job {
            id: leadgate_core::ids::JobId(uuid::Uuid::nil()),
            kind: "rescore".into(),
            payload: serde_json::json!({}),
            state: leadgate_store::jobs::JobState::Running,
            run_at: start,
            attempts: 1,
            max_attempts: 3,
            progress_done: 25_000,
            progress_total: Some(100_000),
            result: None,
            last_error: None,
            created_by: None,
            created_at: start,
            updated_at: start,
            finished_at: None,
            checkpoint: None,
        };
        // A quarter in 30 s: 90 s left.
        let now = start + jiff::SignedDuration::from_secs(30);
        assert_eq!(
            job_progress(Lang::En, &job, now),
            (Some(25), "25,000 of 100,000 · about 1 min 30 s left".into())
        );
        let (_, fr) = job_progress(Lang::Fr, &job, now);
        assert!(fr.contains("sur") && fr.ends_with("il reste environ 1 min 30 s"), "{fr}");
        let unknown = leadgate_store::jobs::Job { progress_total: None, progress_done: 0, ..job };
        assert_eq!(job_progress(Lang::En, &unknown, now), (None, String::new()));
    }
}

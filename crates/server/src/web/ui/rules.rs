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
}

pub(super) fn job_notice(
    j: &leadgate_store::jobs::Job,
    running_text: String,
    done_text: &str,
    failed_text: &str,
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
    JobNotice { text, running, failed }
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
            job_notice(&j, running, t.rescored, t.rescore_failed)
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
    })
}

#[derive(Deserialize)]
pub(super) struct RulesForm {
    #[serde(rename = "_csrf")]
    pub(super) csrf: String,
    pub(super) rules: String,
    pub(super) comment: Option<String>,
    pub(super) action: String,
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
    let version = match state.app.scoring_rules(s.p()).await {
        Ok(v) => v.version,
        Err(e) => return app_error(&s, e),
    };
    let page = |errors: Vec<String>, preview: Option<PreviewView>| {
        let mut r = render(RulesPage {
            c: s.chrome("rules"),
            version,
            text: f.rules.clone(),
            comment: f.comment.clone().unwrap_or_default(),
            errors: errors.clone(),
            preview,
            job: None,
        });
        if !errors.is_empty() {
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        }
        r
    };
    let rules = match leadgate_core::scoring::ScoringRules::from_json(&f.rules) {
        Ok(r) => r,
        Err(leadgate_core::scoring::RulesError::Syntax { line, column, message }) => {
            let text = match s.lang {
                Lang::En => format!("line {line}, column {column}: {message}"),
                lang => lang
                    .texts()
                    .err_json
                    .replace("{path}", "JSON")
                    .replace("{line}", &line.to_string())
                    .replace("{column}", &column.to_string()),
            };
            return page(vec![text], None);
        }
        Err(leadgate_core::scoring::RulesError::Invalid(e)) => {
            return page(vec![field_errors_text(s.lang, &e.errors)], None);
        }
    };
    if f.action == "save" {
        let comment = f.comment.as_deref().map(str::trim).filter(|c| !c.is_empty());
        return match state.app.update_scoring_rules(s.p(), rules.doc.clone(), comment).await {
            Ok(change) => Redirect::to(&format!("/rules?job={}", change.rescore_job)).into_response(),
            Err(AppError::Invalid(e)) => page(vec![field_errors_text(s.lang, &e.errors)], None),
            Err(e) => app_error(&s, e),
        };
    }
    match state.app.preview_rules(s.p(), rules).await {
        Ok(p) => {
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
            page(Vec::new(), Some(PreviewView { basis, lines }))
        }
        Err(e) => app_error(&s, e),
    }
}

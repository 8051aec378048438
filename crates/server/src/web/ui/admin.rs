//! Administration: users, the sales agreement and reps, webhooks.

use super::*;

pub(super) struct UserLine {
    pub id: String,
    pub email: String,
    pub name: String,
    pub roles: Vec<Choice>,
    pub disabled: bool,
}

#[derive(Template)]
#[template(path = "ui/admin_users.html")]
pub(super) struct AdminUsersPage {
    pub(super) c: Chrome,
    pub(super) users: Vec<UserLine>,
    pub(super) new_roles: Vec<Choice>,
    pub(super) error: Option<String>,
}

pub(super) fn role_choices(t: &Texts, current: Option<&str>) -> Vec<Choice> {
    choices(&[("marketing", t.role_marketing), ("sales", t.role_sales), ("admin", t.role_admin)], current)
}

pub(super) async fn admin_users_page(
    state: &AppState,
    s: &Signed,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let t = s.lang.texts();
    let users = match state.app.list_users(s.p()).await {
        Ok(u) => u,
        Err(e) => return app_error(s, e),
    };
    let mut c = s.chrome("admin");
    c.notice = notice;
    let mut r = render(AdminUsersPage {
        c,
        users: users
            .into_iter()
            .map(|u| UserLine {
                id: u.id.to_string(),
                email: u.email,
                name: u.name.unwrap_or_default(),
                roles: role_choices(t, Some(u.role.as_str())),
                disabled: u.disabled_at.is_some(),
            })
            .collect(),
        new_roles: role_choices(t, Some("marketing")),
        error: error.clone(),
    });
    if error.is_some() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

pub(super) async fn admin_users(
    State(state): State<AppState>,
    s: Signed,
    Query(n): Query<NoticeQuery>,
) -> Response {
    let notice = n.done.map(|_| s.lang.texts().done.to_string());
    admin_users_page(&state, &s, notice, None).await
}

/// An error in the user's language: English pages keep the server's detailed sentence; other
/// languages get the field and a translated reason (the detail is written in English only).
pub(super) fn problem_text(lang: Lang, e: &AppError) -> String {
    let t = lang.texts();
    match (lang, e) {
        (Lang::En, AppError::Invalid(v)) => field_errors_text(lang, &v.errors),
        (Lang::En, other) => other.to_string(),
        (_, AppError::Invalid(v)) => field_errors_text(lang, &v.errors),
        (_, AppError::Conflict { field, .. }) => t.err_conflict.replace("{field}", field),
        (_, AppError::IllegalTransition(_) | AppError::StateConflict(_)) => t.err_state.into(),
        (_, AppError::Forbidden { .. }) => t.not_allowed.into(),
        (_, AppError::NotFound { .. }) => t.not_found.into(),
        _ => t.error_title.into(),
    }
}

pub(super) fn field_errors_text(lang: Lang, errors: &[leadgate_core::validation::FieldError]) -> String {
    let t = lang.texts();
    errors
        .iter()
        .map(|x| {
            if lang == Lang::En {
                return format!("{}: {}", x.field, x.message);
            }
            match x.field.as_str() {
                "password" => t.err_password_short.into(),
                "url" if x.message.contains("private") => t.err_internal_url.into(),
                "email" => t.err_email.into(),
                f if f.starts_with("event_types") => t.err_event_types.into(),
                f => {
                    // A field the forms show is named by its label there.
                    let f = field_label(t, f).unwrap_or(f);
                    match super::super::i18n::message_fr(&x.message) {
                        Some(words) => format!("{f}{} {words}", t.colon),
                        // A message no pattern reads keeps its precise English detail.
                        None => t.err_field.replace("{field}", f).replace("{detail}", &x.message),
                    }
                }
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The label a form gives a field the checks name by its key (a rep profile's, the agreement's
/// terms'), for readers of another language than the keys'.
fn field_label(t: &Texts, key: &str) -> Option<&'static str> {
    Some(match key {
        "team" => t.rep_team,
        "capacity" => t.rep_capacity,
        "countries" => t.rep_countries,
        "sectors" => t.rep_sectors,
        "min_employees" => t.rep_min_employees,
        "max_employees" => t.rep_max_employees,
        "working_hours.time_zone" => t.time_zone,
        "working_hours.start" => t.rep_start,
        "working_hours.end" => t.rep_end,
        "first_touch.hot_minutes" => t.budget_hot,
        "first_touch.warm_minutes" => t.budget_warm,
        "first_touch.cold_minutes" => t.budget_cold,
        "reminder_minutes" => t.reminder_before,
        "recycle_days" => t.recycle_days_label,
        "follow_up_days" => t.follow_up_days_label,
        "comment" => t.comment,
        _ => return None,
    })
}

#[derive(Deserialize)]
pub(super) struct NewUserForm {
    #[serde(rename = "_csrf")]
    pub(super) csrf: String,
    pub(super) email: String,
    pub(super) name: Option<String>,
    pub(super) role: String,
    pub(super) password: Option<String>,
}

pub(super) async fn admin_add_user(
    State(state): State<AppState>,
    s: Signed,
    Form(f): Form<NewUserForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let Some(role) = leadgate_core::access::Role::parse(&f.role) else {
        return admin_users_page(&state, &s, None, Some("role: pick admin, marketing or sales".into())).await;
    };
    let new = leadgate_app::auth::NewUser {
        email: &f.email,
        name: f.name.as_deref(),
        role,
        password: f.password.as_deref(),
    };
    match state.app.create_user(s.p(), new).await {
        Ok(_) => Redirect::to("/admin/users?done=1").into_response(),
        Err(AppError::Forbidden { .. }) => s.error(StatusCode::FORBIDDEN, s.lang.texts().not_allowed),
        Err(e) => admin_users_page(&state, &s, None, Some(problem_text(s.lang, &e))).await,
    }
}

#[derive(Deserialize)]
pub(super) struct UserActionForm {
    #[serde(rename = "_csrf")]
    pub(super) csrf: String,
    pub(super) action: String,
    pub(super) role: Option<String>,
    pub(super) password: Option<String>,
}

pub(super) async fn admin_update_user(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<UserActionForm>,
) -> Response {
    let id: UserId = match s.accept(&f.csrf, &id) {
        Ok(id) => id,
        Err(refused) => return *refused,
    };
    let result = match f.action.as_str() {
        "role" => match f.role.as_deref().and_then(leadgate_core::access::Role::parse) {
            Some(role) => state.app.update_user(s.p(), id, Some(role), None).await.map(|_| ()),
            None => Err(AppError::invalid("role", "pick admin, marketing or sales")),
        },
        "disable" => state.app.update_user(s.p(), id, None, Some(true)).await.map(|_| ()),
        "enable" => state.app.update_user(s.p(), id, None, Some(false)).await.map(|_| ()),
        "password" => state.app.set_password(s.p(), id, f.password.as_deref().unwrap_or_default()).await,
        _ => Err(AppError::invalid("action", "unknown action")),
    };
    match result {
        Ok(()) => Redirect::to("/admin/users?done=1").into_response(),
        Err(AppError::Forbidden { .. }) => s.error(StatusCode::FORBIDDEN, s.lang.texts().not_allowed),
        Err(e) => admin_users_page(&state, &s, None, Some(problem_text(s.lang, &e))).await,
    }
}

pub(super) struct RepLine {
    pub id: String,
    pub name: String,
    /// The profile as JSON, for the advanced view.
    pub profile: String,
    pub is_rep: bool,
    pub team: String,
    pub countries: String,
    pub sectors: String,
    pub min_employees: String,
    pub max_employees: String,
    pub capacity: String,
    pub available: bool,
    pub managers: Vec<Choice>,
    pub time_zone: String,
    /// (value, label, works that day).
    pub days: Vec<(&'static str, &'static str, bool)>,
    pub start: String,
    pub end: String,
}

#[derive(Template)]
#[template(path = "ui/admin_handoff.html")]
pub(super) struct AdminHandoffPage {
    pub(super) c: Chrome,
    pub(super) version: i64,
    pub(super) text: String,
    pub(super) errors: Vec<String>,
    pub(super) reps: Vec<RepLine>,
    /// Which leads reps read: the choices, and whether they see the unassigned queue.
    pub(super) scopes: Vec<Choice>,
    pub(super) unassigned: bool,
    /// Time zone names offered for working hours.
    pub(super) zones: Vec<String>,
    /// Every version of the agreement, newest first, each restorable in one click.
    pub(super) history: Vec<super::rules::VersionLine>,
    /// The agreement's terms as form fields (routing rules stay in the JSON).
    pub(super) terms: AgreementTerms,
    /// The JSON is shown open when it comes back with its mistakes.
    pub(super) json_open: bool,
    /// Marketing reads the agreement; only who may change it sees Save and Restore.
    pub(super) can_edit: bool,
    /// The routing rules as form lines, the last one blank to add a rule.
    pub(super) routes: Vec<super::routing::RouteLine>,
    /// The teams reps belong to, offered for team rules.
    pub(super) teams: Vec<String>,
}

/// The agreement's terms in its form.
pub(super) struct AgreementTerms {
    pub hot_minutes: String,
    pub warm_minutes: String,
    pub cold_minutes: String,
    pub reminder_minutes: String,
    pub breach: Vec<Choice>,
    pub recycle_days: String,
    pub follow_up_days: String,
}

fn agreement_terms(t: &Texts, a: &leadgate_core::handoff::Agreement) -> AgreementTerms {
    use leadgate_core::handoff::BreachAction;
    AgreementTerms {
        hot_minutes: a.first_touch.hot_minutes.to_string(),
        warm_minutes: a.first_touch.warm_minutes.to_string(),
        cold_minutes: a.first_touch.cold_minutes.to_string(),
        reminder_minutes: a.reminder_minutes.to_string(),
        breach: [
            (BreachAction::Flag, "flag", t.breach_flag),
            (BreachAction::NotifyManager, "notify_manager", t.breach_notify_manager),
            (BreachAction::Reassign, "reassign", t.breach_reassign),
        ]
        .into_iter()
        .map(|(b, value, label)| Choice {
            value: value.into(),
            label: label.into(),
            selected: a.on_breach == b,
        })
        .collect(),
        recycle_days: a.recycle_days.to_string(),
        follow_up_days: a.follow_up_days.to_string(),
    }
}

/// The agreement page; `routing` shows routing rules as typed (sent back with their mistakes)
/// instead of those in force.
pub(super) async fn admin_handoff_page(
    state: &AppState,
    s: &Signed,
    text: Option<String>,
    errors: Vec<String>,
    notice: Option<String>,
    routing: Option<Vec<leadgate_core::handoff::RoutingRule>>,
) -> Response {
    let view = match state.app.agreement(s.p()).await {
        Ok(v) => v,
        Err(e) => return app_error(s, e),
    };
    let reps = state.app.reps(s.p()).await.unwrap_or_default();
    let users = state.app.list_users(s.p()).await.unwrap_or_default();
    let t = s.lang.texts();
    let day_names = [t.monday, t.tuesday, t.wednesday, t.thursday, t.friday, t.saturday, t.sunday];
    let lines = users
        .iter()
        .filter(|u| u.role == leadgate_core::access::Role::Sales && u.disabled_at.is_none())
        .map(|u| {
            let rep = reps.iter().find(|r| r.user_id == u.id);
            let profile = rep.map(|r| r.profile.clone()).unwrap_or_else(|| {
                serde_json::from_str(r#"{"team": "inside"}"#).expect("the default rep profile reads")
            });
            let opt = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
            let mut managers = vec![Choice {
                value: String::new(),
                label: t.nobody.into(),
                selected: profile.manager_id.is_none(),
            }];
            managers.extend(users.iter().filter(|m| m.id != u.id && m.disabled_at.is_none()).map(|m| {
                Choice {
                    value: m.id.to_string(),
                    label: m.name.clone().unwrap_or_else(|| m.email.clone()),
                    selected: profile.manager_id == Some(m.id),
                }
            }));
            let hours = &profile.working_hours;
            RepLine {
                id: u.id.to_string(),
                name: u.name.clone().unwrap_or_else(|| u.email.clone()),
                profile: serde_json::to_string_pretty(&profile).unwrap_or_default(),
                is_rep: rep.is_some(),
                team: profile.team.clone().unwrap_or_default(),
                countries: profile.countries.join(", "),
                sectors: profile.sectors.join(", "),
                min_employees: opt(profile.min_employees),
                max_employees: opt(profile.max_employees),
                capacity: profile.capacity.to_string(),
                available: profile.available,
                managers,
                time_zone: hours.time_zone.clone(),
                days: leadgate_core::handoff::Day::ALL
                    .iter()
                    .zip(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])
                    .zip(day_names)
                    .map(|((d, value), label)| (value, label, hours.days.contains(d)))
                    .collect(),
                start: hours.start.clone(),
                end: hours.end.clone(),
            }
        })
        .collect();
    let visibility = state.app.lead_visibility(s.p()).await.unwrap_or_default();
    let scopes = [
        (leadgate_core::access::Scope::Own, "own", t.reps_see_own),
        (leadgate_core::access::Scope::Team, "team", t.reps_see_team),
        (leadgate_core::access::Scope::All, "all", t.reps_see_all),
    ]
    .into_iter()
    .map(|(scope, value, label)| Choice {
        value: value.into(),
        label: label.into(),
        selected: visibility.reps_see == scope,
    })
    .collect();
    let names: std::collections::HashMap<UserId, String> =
        users.iter().map(|u| (u.id, u.name.clone().unwrap_or_else(|| u.email.clone()))).collect();
    let versions = state.app.agreement_history(s.p()).await.unwrap_or_default();
    let newest = versions.first().map(|v| v.version);
    let history = versions
        .into_iter()
        .map(|v| super::rules::VersionLine {
            version: v.version,
            when: s.datetime(v.created_at),
            who: v.created_by.and_then(|u| names.get(&u).cloned()).unwrap_or_else(|| "Leadgate".into()),
            why: v.comment.unwrap_or_default(),
            current: Some(v.version) == newest,
        })
        .collect();
    let rep_choices: Vec<super::routing::RepChoice> = reps
        .iter()
        .filter_map(|r| {
            let u = users.iter().find(|u| u.id == r.user_id && u.disabled_at.is_none())?;
            Some(super::routing::RepChoice {
                id: u.id,
                name: u.name.clone().unwrap_or_else(|| u.email.clone()),
            })
        })
        .collect();
    let mut teams: Vec<String> = reps.iter().filter_map(|r| r.profile.team.clone()).collect();
    teams.sort();
    teams.dedup();
    let routes =
        super::routing::route_lines(t, routing.as_deref().unwrap_or(&view.agreement.routing), &rep_choices);
    let mut c = s.chrome("admin");
    c.notice = notice;
    let failed = !errors.is_empty();
    let json_open = text.is_some();
    let mut r = render(AdminHandoffPage {
        scopes,
        unassigned: visibility.unassigned,
        c,
        version: view.version,
        text: text.unwrap_or_else(|| serde_json::to_string_pretty(&view.agreement).unwrap_or_default()),
        errors,
        reps: lines,
        zones: jiff::tz::db().available().map(|z| z.as_str().to_string()).collect(),
        history,
        terms: agreement_terms(s.lang.texts(), &view.agreement),
        json_open,
        can_edit: s.p().user.role.allows(leadgate_core::access::Permission::ManageHandoff),
        routes,
        teams,
    });
    if failed {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

pub(super) async fn admin_handoff(
    State(state): State<AppState>,
    s: Signed,
    Query(n): Query<NoticeQuery>,
) -> Response {
    let notice = n.done.map(|_| s.lang.texts().done.to_string());
    admin_handoff_page(&state, &s, None, Vec::new(), notice, None).await
}

/// Parses JSON into `T`, naming the key path or the line at fault.
pub(super) fn parse_json<T: serde::de::DeserializeOwned>(lang: Lang, text: &str) -> Result<T, Vec<String>> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        vec![match lang {
            Lang::En => format!("{path} (line {}, column {}): {inner}", inner.line(), inner.column()),
            other => other
                .texts()
                .err_json
                .replace("{path}", &path)
                .replace("{line}", &inner.line().to_string())
                .replace("{column}", &inner.column().to_string()),
        }]
    })
}

#[derive(Deserialize)]
pub(super) struct AgreementForm {
    #[serde(rename = "_csrf")]
    pub(super) csrf: String,
    #[serde(default)]
    pub(super) agreement: String,
    /// Why this change.
    pub(super) comment: Option<String>,
    /// `restore` with `version`: make an earlier version the agreement again; `terms`: the
    /// fields below, the routing rules kept as they are.
    pub(super) action: Option<String>,
    pub(super) version: Option<i64>,
    pub(super) hot_minutes: Option<String>,
    pub(super) warm_minutes: Option<String>,
    pub(super) cold_minutes: Option<String>,
    pub(super) reminder_minutes: Option<String>,
    pub(super) on_breach: Option<String>,
    pub(super) recycle_days: Option<String>,
    pub(super) follow_up_days: Option<String>,
}

/// The agreement in force with the terms the form sets; a field that is not a whole number is
/// named in the reader's language.
async fn agreement_from_terms(
    state: &AppState,
    s: &Signed,
    f: &AgreementForm,
) -> Result<leadgate_core::handoff::Agreement, Response> {
    use leadgate_core::handoff::BreachAction;
    let t = s.lang.texts();
    let mut agreement = match state.app.agreement(s.p()).await {
        Ok(v) => v.agreement,
        Err(e) => return Err(app_error(s, e)),
    };
    let mut bad = Vec::new();
    let mut number = |raw: &Option<String>, label: &str, into: &mut u32| match raw
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .parse::<u32>()
    {
        Ok(n) => *into = n,
        Err(_) => bad.push(format!("{label}{} {}", t.colon, t.not_a_number)),
    };
    number(&f.hot_minutes, t.budget_hot, &mut agreement.first_touch.hot_minutes);
    number(&f.warm_minutes, t.budget_warm, &mut agreement.first_touch.warm_minutes);
    number(&f.cold_minutes, t.budget_cold, &mut agreement.first_touch.cold_minutes);
    number(&f.reminder_minutes, t.reminder_before, &mut agreement.reminder_minutes);
    number(&f.recycle_days, t.recycle_days_label, &mut agreement.recycle_days);
    number(&f.follow_up_days, t.follow_up_days_label, &mut agreement.follow_up_days);
    agreement.on_breach = match f.on_breach.as_deref() {
        Some("notify_manager") => BreachAction::NotifyManager,
        Some("reassign") => BreachAction::Reassign,
        _ => BreachAction::Flag,
    };
    if bad.is_empty() {
        Ok(agreement)
    } else {
        Err(admin_handoff_page(state, s, None, bad, None, None).await)
    }
}

pub(super) async fn admin_save_agreement(
    State(state): State<AppState>,
    s: Signed,
    Form(f): Form<AgreementForm>,
) -> Response {
    if let Some(r) =
        s.refuse_forged(&f.csrf).or_else(|| s.refuse_role(leadgate_core::access::Permission::ManageHandoff))
    {
        return r;
    }
    if f.action.as_deref() == Some("restore") {
        let Some(version) = f.version else {
            return s.error(StatusCode::UNPROCESSABLE_ENTITY, s.lang.texts().not_found);
        };
        return match state.app.restore_agreement(s.p(), version).await {
            Ok(_) => Redirect::to("/admin/handoff?done=1").into_response(),
            Err(e) => app_error(&s, e),
        };
    }
    let agreement = if f.action.as_deref() == Some("terms") {
        match agreement_from_terms(&state, &s, &f).await {
            Ok(a) => a,
            Err(r) => return r,
        }
    } else {
        match parse_json::<leadgate_core::handoff::Agreement>(s.lang, &f.agreement) {
            Ok(a) => a,
            Err(errors) => {
                return admin_handoff_page(&state, &s, Some(f.agreement), errors, None, None).await;
            }
        }
    };
    let comment = f.comment.as_deref().map(str::trim).filter(|c| !c.is_empty());
    match state.app.put_agreement_with(s.p(), agreement, comment).await {
        Ok(_) => Redirect::to("/admin/handoff?done=1").into_response(),
        Err(AppError::Forbidden { .. }) => s.error(StatusCode::FORBIDDEN, s.lang.texts().not_allowed),
        Err(e) => {
            admin_handoff_page(&state, &s, Some(f.agreement), vec![problem_text(s.lang, &e)], None, None)
                .await
        }
    }
}

/// The routing rules from their form; the rest of the agreement stays as it is.
pub(super) async fn admin_save_routing(
    State(state): State<AppState>,
    s: Signed,
    body: axum::body::Bytes,
) -> Response {
    let form = match s.posted(&body, leadgate_core::access::Permission::ManageHandoff) {
        Ok(form) => form,
        Err(refused) => return *refused,
    };
    let mut agreement = match state.app.agreement(s.p()).await {
        Ok(v) => v.agreement,
        Err(e) => return app_error(&s, e),
    };
    let (routing, bad) = super::routing::rules_from_form(s.lang.texts(), &form);
    if !bad.is_empty() {
        return admin_handoff_page(&state, &s, None, bad, None, Some(routing)).await;
    }
    agreement.routing = routing.clone();
    let comment = Some(form.value("comment")).filter(|c| !c.is_empty());
    match state.app.put_agreement_with(s.p(), agreement, comment.as_deref()).await {
        Ok(_) => Redirect::to("/admin/handoff?done=1").into_response(),
        Err(AppError::Forbidden { .. }) => s.error(StatusCode::FORBIDDEN, s.lang.texts().not_allowed),
        Err(AppError::Invalid(v)) => {
            let errors = super::routing::errors_at_rules(s.lang, &routing, &v.errors);
            admin_handoff_page(&state, &s, None, errors, None, Some(routing)).await
        }
        Err(e) => {
            let text = problem_text(s.lang, &e);
            admin_handoff_page(&state, &s, None, vec![text], None, Some(routing)).await
        }
    }
}

#[derive(Deserialize)]
pub(super) struct VisibilityForm {
    #[serde(rename = "_csrf")]
    pub(super) csrf: String,
    pub(super) reps_see: String,
    /// Present when ticked.
    pub(super) unassigned: Option<String>,
}

/// Which leads sales reps read.
pub(super) async fn admin_save_visibility(
    State(state): State<AppState>,
    s: Signed,
    Form(f): Form<VisibilityForm>,
) -> Response {
    use leadgate_core::access::{Scope, Visibility};
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let reps_see = match f.reps_see.as_str() {
        "own" => Scope::Own,
        "team" => Scope::Team,
        "all" => Scope::All,
        _ => {
            return admin_handoff_page(&state, &s, None, vec![s.lang.texts().not_found.into()], None, None)
                .await;
        }
    };
    let v = Visibility { reps_see, unassigned: f.unassigned.is_some() };
    match state.app.set_lead_visibility(s.p(), v).await {
        Ok(_) => Redirect::to("/admin/handoff?done=1").into_response(),
        Err(e) => app_error(&s, e),
    }
}

/// A rep profile from its form: the fields, or the JSON of the advanced view when sent.
fn rep_profile_from_form(
    lang: Lang,
    form: &Posted,
) -> Result<leadgate_core::handoff::RepProfile, Vec<String>> {
    use leadgate_core::handoff::{Day, RepProfile, WorkingHours};
    let t = lang.texts();
    let value = |name: &str| form.value(name);
    if form.iter().any(|(k, _)| k == "profile") {
        return parse_json::<RepProfile>(lang, &value("profile"));
    }
    let list = |name: &str| -> Vec<String> {
        value(name)
            .split([',', ';', '\n'])
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(String::from)
            .collect()
    };
    let mut bad = Vec::new();
    let mut number = |name: &str, label: &str| -> Option<i64> {
        let v = value(name);
        if v.is_empty() {
            return None;
        }
        v.parse::<i64>().map_err(|_| bad.push(format!("{label}{} {}", t.colon, t.not_a_number))).ok()
    };
    let min_employees = number("min_employees", t.rep_min_employees);
    let max_employees = number("max_employees", t.rep_max_employees);
    let capacity = number("capacity", t.rep_capacity).unwrap_or(50);
    let manager = value("manager");
    let manager_id = if manager.is_empty() {
        None
    } else {
        match manager.parse::<UserId>() {
            Ok(id) => Some(id),
            Err(_) => {
                bad.push(format!("{}{} {}", t.rep_manager, t.colon, t.not_found));
                None
            }
        }
    };
    let names = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
    let days: Vec<Day> = Day::ALL
        .into_iter()
        .zip(names)
        .filter(|(_, n)| form.iter().any(|(k, v)| k == "day" && v == n))
        .map(|(d, _)| d)
        .collect();
    if !bad.is_empty() {
        return Err(bad);
    }
    Ok(RepProfile {
        countries: list("countries"),
        sectors: list("sectors"),
        min_employees,
        max_employees,
        team: Some(value("team")).filter(|x| !x.is_empty()),
        manager_id,
        working_hours: WorkingHours {
            time_zone: Some(value("time_zone")).filter(|z| !z.is_empty()).unwrap_or_else(|| "UTC".into()),
            days,
            start: value("start"),
            end: value("end"),
        },
        capacity: u32::try_from(capacity.max(0)).unwrap_or(u32::MAX),
        available: !value("available").is_empty(),
    })
}

pub(super) async fn admin_save_rep(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let (form, id): (Posted, UserId) =
        match s.posted_about(&body, &id, leadgate_core::access::Permission::ManageHandoff) {
            Ok(posted) => posted,
            Err(refused) => return *refused,
        };
    let profile = match rep_profile_from_form(s.lang, &form) {
        Ok(p) => p,
        Err(errors) => return admin_handoff_page(&state, &s, None, errors, None, None).await,
    };
    match state.app.put_rep(s.p(), id, profile).await {
        Ok(_) => Redirect::to("/admin/handoff?done=1").into_response(),
        Err(AppError::Forbidden { .. }) => s.error(StatusCode::FORBIDDEN, s.lang.texts().not_allowed),
        Err(e) => admin_handoff_page(&state, &s, None, vec![problem_text(s.lang, &e)], None, None).await,
    }
}

pub(super) struct DeliveryLine {
    pub id: String,
    pub when: String,
    pub event: String,
    pub state: String,
    pub attempts: i64,
    pub latency: String,
}

pub(super) struct HookLine {
    pub id: String,
    pub url: String,
    pub types: String,
    pub deliveries: Vec<DeliveryLine>,
}

#[derive(Template)]
#[template(path = "ui/admin_webhooks.html")]
pub(super) struct AdminWebhooksPage {
    pub(super) c: Chrome,
    pub(super) event_types: Vec<&'static str>,
    pub(super) hooks: Vec<HookLine>,
    pub(super) new_secret: Option<String>,
    pub(super) error: Option<String>,
}

pub(super) async fn admin_webhooks_page(
    state: &AppState,
    s: &Signed,
    new_secret: Option<String>,
    error: Option<String>,
) -> Response {
    let hooks = match state.app.webhooks(s.p()).await {
        Ok(h) => h,
        Err(e) => return app_error(s, e),
    };
    let mut lines = Vec::with_capacity(hooks.len());
    for w in hooks {
        let deliveries = state.app.webhook_deliveries(s.p(), w.id, 20).await.unwrap_or_default();
        lines.push(HookLine {
            id: w.id.to_string(),
            url: w.url,
            types: w.event_types.join(", "),
            deliveries: deliveries
                .into_iter()
                .map(|d| DeliveryLine {
                    id: d.id.to_string(),
                    when: s.datetime(d.created_at),
                    event: d.event_type,
                    state: match (d.last_status, d.last_error) {
                        (Some(code), _) => format!("{} ({code})", d.state),
                        (None, Some(e)) => format!("{}: {e}", d.state),
                        _ => d.state,
                    },
                    attempts: d.attempts,
                    latency: d.last_latency_ms.map_or("—".into(), |ms| format!("{ms} ms")),
                })
                .collect(),
        });
    }
    let failed = error.is_some();
    let mut r = render(AdminWebhooksPage {
        c: s.chrome("admin"),
        event_types: leadgate_app::webhooks::EVENT_TYPES.to_vec(),
        hooks: lines,
        new_secret,
        error,
    });
    if failed {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

pub(super) async fn admin_webhooks(State(state): State<AppState>, s: Signed) -> Response {
    admin_webhooks_page(&state, &s, None, None).await
}

pub(super) async fn admin_add_webhook(
    State(state): State<AppState>,
    s: Signed,
    body: axum::body::Bytes,
) -> Response {
    let (mut csrf, mut url, mut types) = (String::new(), String::new(), Vec::new());
    for (k, v) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "_csrf" => csrf = v.into_owned(),
            "url" => url = v.into_owned(),
            "event_types" => types.push(v.into_owned()),
            _ => {}
        }
    }
    if let Some(r) = s.refuse_forged(&csrf) {
        return r;
    }
    let new = leadgate_app::webhooks::NewWebhook { url, event_types: types, description: None, active: true };
    match state.app.create_webhook(s.p(), new).await {
        // The secret is shown on this answer only: not in a redirect URL, not stored in clear elsewhere.
        Ok(w) => admin_webhooks_page(&state, &s, w.secret, None).await,
        Err(AppError::Forbidden { .. }) => s.error(StatusCode::FORBIDDEN, s.lang.texts().not_allowed),
        Err(e) => admin_webhooks_page(&state, &s, None, Some(problem_text(s.lang, &e))).await,
    }
}

pub(super) async fn admin_delete_webhook(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let id: leadgate_core::ids::WebhookId = match s.accept(&f.csrf, &id) {
        Ok(id) => id,
        Err(refused) => return *refused,
    };
    match state.app.delete_webhook(s.p(), id).await {
        Ok(()) => Redirect::to("/admin/webhooks").into_response(),
        Err(e) => app_error(&s, e),
    }
}

pub(super) async fn admin_redeliver(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let id: leadgate_core::ids::DeliveryId = match s.accept(&f.csrf, &id) {
        Ok(id) => id,
        Err(refused) => return *refused,
    };
    match state.app.redeliver(s.p(), id).await {
        Ok(_) => Redirect::to("/admin/webhooks").into_response(),
        Err(e) => app_error(&s, e),
    }
}

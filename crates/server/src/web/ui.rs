//! The web UI for marketing and sales operations: sign-in, the lead inbox, the contact page (the
//! exact score, the prediction and why, qualification, hand-off, timeline, consent), the rep's
//! queue and tasks, and the account page. Server-rendered HTML (askama) with no script and no
//! asset from elsewhere: it works in any browser, keyboard first.
//!
//! Sessions: an HttpOnly, SameSite=Lax cookie (Secure behind TLS) holding a random token; every
//! form carries the session's CSRF token, and sign-in checks that the form came from this site.

use std::fmt::Write as _;

use askama::Template;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use leadgate_app::handoff::{NewTouch, SlaStatus, TaskKind, TouchOutcome};
use leadgate_app::lifecycle::RejectReason;
use leadgate_app::web::WebPrincipal;
use leadgate_app::{AppError, Principal};
use leadgate_core::ids::{ContactId, TaskId, UserId};
use leadgate_core::lifecycle::{Actor, LifecycleStage};
use leadgate_core::qualification::{Answer, ChecklistItem, Criterion};
use leadgate_core::scoring::{Cap, Temperature};
use leadgate_store::web::InboxFilter;
use serde::Deserialize;

use super::i18n::{Lang, Texts};
use crate::AppState;

const COOKIE: &str = "lg_session";
const PAGE: u32 = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/leads") }))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/leads", get(leads))
        .route("/leads.csv", get(leads_csv))
        .route("/leads/bulk", post(leads_bulk))
        .route("/leads/views", post(save_view))
        .route("/leads/views/{id}/delete", post(delete_view))
        .route("/queue", get(queue))
        .route("/tasks", get(tasks))
        .route("/tasks/{id}/done", post(task_done))
        .route("/dashboard", get(dashboard))
        .route(
            "/import",
            get(import_page).post(import_upload).layer(axum::extract::DefaultBodyLimit::max(
                leadgate_app::import::MAX_UPLOAD_BYTES + 64 * 1024,
            )),
        )
        .route("/import/{upload}", get(import_preview).post(import_submit))
        .route("/import/jobs/{id}/rejects.csv", get(import_rejects_csv))
        .route("/admin/users", get(admin_users).post(admin_add_user))
        .route("/admin/users/{id}", post(admin_update_user))
        .route("/admin/handoff", get(admin_handoff).post(admin_save_agreement))
        .route("/admin/reps/{id}", post(admin_save_rep))
        .route("/admin/webhooks", get(admin_webhooks).post(admin_add_webhook))
        .route("/admin/webhooks/{id}/delete", post(admin_delete_webhook))
        .route("/admin/deliveries/{id}/redeliver", post(admin_redeliver))
        .route("/rules", get(rules_page).post(rules_submit))
        .route("/model", get(model))
        .route("/model/train", post(model_train))
        .route("/account", get(account))
        .route("/account/password", post(change_password))
        .route("/account/language", post(change_language))
        .route("/contacts/{id}", get(contact))
        .route("/contacts/{id}/checklist", post(contact_checklist))
        .route("/contacts/{id}/touch", post(contact_touch))
        .route("/contacts/{id}/accept", post(contact_accept))
        .route("/contacts/{id}/reject", post(contact_reject))
        .route("/contacts/{id}/move", post(contact_move))
}

// ----- sessions -----

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
}

fn behind_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

fn browser_lang(headers: &HeaderMap) -> Lang {
    Lang::from_accept_language(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()))
}

/// The signed-in user of a page, in their language.
pub struct Signed {
    pub who: WebPrincipal,
    pub lang: Lang,
}

impl Signed {
    fn p(&self) -> &Principal {
        &self.who.principal
    }

    fn chrome(&self, nav: &'static str) -> Chrome {
        Chrome {
            t: self.lang.texts(),
            lang: self.lang.code(),
            user: self
                .who
                .principal
                .user
                .name
                .clone()
                .unwrap_or_else(|| self.who.principal.user.email.clone()),
            csrf: self.who.csrf.clone(),
            nav,
            is_sales: self.who.principal.user.role == leadgate_core::access::Role::Sales,
            is_admin: self.who.principal.user.role == leadgate_core::access::Role::Admin,
            notice: None,
        }
    }

    /// The refusal of a form whose CSRF token is not this session's (`None`: the form is ours).
    fn refuse_forged(&self, token: &str) -> Option<Response> {
        // Compared in constant time: the token is a secret.
        if token.len() == self.who.csrf.len()
            && token.bytes().zip(self.who.csrf.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
        {
            None
        } else {
            Some(error_page(self.lang, StatusCode::FORBIDDEN, self.lang.texts().form_expired))
        }
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let next = parts.uri.path_and_query().map_or("/leads".to_string(), |p| p.as_str().to_string());
        let to_login = |expired: bool| {
            let mut url = format!("/login?next={}", urlencode(&next));
            if expired {
                url.push_str("&expired=1");
            }
            Redirect::to(&url).into_response()
        };
        let Some(token) = cookie_value(&parts.headers, COOKIE) else {
            return Err(to_login(false));
        };
        match state.app.web_session(token).await {
            Ok(who) => {
                let lang = who
                    .language
                    .as_deref()
                    .and_then(Lang::parse)
                    .unwrap_or_else(|| browser_lang(&parts.headers));
                Ok(Signed { who, lang })
            }
            Err(AppError::Unauthenticated(_)) => Err(to_login(true)),
            Err(e) => {
                Err(error_page(browser_lang(&parts.headers), StatusCode::SERVICE_UNAVAILABLE, &e.to_string()))
            }
        }
    }
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Only local paths: a `next` pointing elsewhere would make sign-in an open redirect.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/leads".to_string(),
    }
}

// ----- shared page parts -----

/// What every signed-in page shows around its content.
pub struct Chrome {
    pub t: &'static Texts,
    pub lang: &'static str,
    pub user: String,
    pub csrf: String,
    pub nav: &'static str,
    pub is_sales: bool,
    pub is_admin: bool,
    pub notice: Option<String>,
}

fn render(page: impl Template) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "ui/error.html")]
struct ErrorPage {
    t: &'static Texts,
    lang: &'static str,
    message: String,
}

fn error_page(lang: Lang, status: StatusCode, message: &str) -> Response {
    let mut r = render(ErrorPage { t: lang.texts(), lang: lang.code(), message: message.to_string() });
    *r.status_mut() = status;
    r
}

/// An application error as a page, in the user's words.
fn app_error(s: &Signed, e: AppError) -> Response {
    let t = s.lang.texts();
    match e {
        AppError::Forbidden { .. } => error_page(s.lang, StatusCode::FORBIDDEN, t.not_allowed),
        AppError::NotFound { .. } => error_page(s.lang, StatusCode::NOT_FOUND, t.not_found),
        AppError::Invalid(_) => {
            error_page(s.lang, StatusCode::UNPROCESSABLE_ENTITY, &problem_text(s.lang, &e))
        }
        AppError::IllegalTransition(_) | AppError::StateConflict(_) | AppError::Conflict { .. } => {
            error_page(s.lang, StatusCode::CONFLICT, &problem_text(s.lang, &e))
        }
        other => {
            tracing::error!(error = %other, "web UI request failed");
            error_page(s.lang, StatusCode::INTERNAL_SERVER_ERROR, t.error_title)
        }
    }
}

fn stage_label(t: &Texts, s: LifecycleStage) -> &'static str {
    match s {
        LifecycleStage::Visitor => t.stage_visitor,
        LifecycleStage::Lead => t.stage_lead,
        LifecycleStage::Mql => t.stage_mql,
        LifecycleStage::Sql => t.stage_sql,
        LifecycleStage::Opportunity => t.stage_opportunity,
        LifecycleStage::Customer => t.stage_customer,
        LifecycleStage::Nurturing => t.stage_nurturing,
        LifecycleStage::Disqualified => t.stage_disqualified,
        LifecycleStage::Intermediary => t.stage_intermediary,
    }
}

fn temperature_label(t: &Texts, code: &str) -> &'static str {
    match code {
        "hot" => t.hot,
        "warm" => t.warm,
        "cold" => t.cold,
        _ => "—",
    }
}

fn sla_label(t: &Texts, s: SlaStatus) -> &'static str {
    match s {
        SlaStatus::Unassigned => t.sla_unassigned,
        SlaStatus::OnTrack => t.sla_on_track,
        SlaStatus::Warning => t.sla_warning,
        SlaStatus::Breached => t.sla_breached,
        SlaStatus::Met => t.sla_met,
        SlaStatus::Missed => t.sla_missed,
    }
}

/// An option of a `<select>`.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn choices(options: &[(&str, &str)], current: Option<&str>) -> Vec<Choice> {
    options
        .iter()
        .map(|(v, l)| Choice { value: v.to_string(), label: l.to_string(), selected: current == Some(*v) })
        .collect()
}

async fn user_names(state: &AppState, p: &Principal) -> std::collections::HashMap<UserId, String> {
    state
        .app
        .user_directory(p)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|u| (u.id, u.name.unwrap_or(u.email)))
        .collect()
}

// ----- sign-in -----

#[derive(Template)]
#[template(path = "ui/login.html")]
struct LoginPage {
    t: &'static Texts,
    lang: &'static str,
    error: Option<&'static str>,
    next: String,
    email: String,
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
}

async fn login_page(headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let lang = browser_lang(&headers);
    let t = lang.texts();
    render(LoginPage {
        t,
        lang: lang.code(),
        error: q.expired.is_some().then_some(t.session_expired),
        next: safe_next(q.next.as_deref()),
        email: String::new(),
    })
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

/// Whether a form post came from a page of this server (no cross-site sign-in).
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin =
        headers.get(header::ORIGIN).or_else(|| headers.get(header::REFERER)).and_then(|v| v.to_str().ok());
    match (host, origin) {
        (Some(host), Some(origin)) => {
            let rest = origin.split("://").nth(1).unwrap_or("");
            rest.split('/').next() == Some(host)
        }
        // Browsers send Origin on every POST; its absence means a non-browser client, which
        // cannot ride a victim's cookies.
        (_, None) => true,
        (None, Some(_)) => false,
    }
}

async fn login(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<LoginForm>) -> Response {
    let lang = browser_lang(&headers);
    let t = lang.texts();
    let next = safe_next(form.next.as_deref());
    if !same_origin(&headers) {
        return error_page(lang, StatusCode::FORBIDDEN, t.form_expired);
    }
    match state.app.sign_in(&form.email, &form.password).await {
        Ok(token) => {
            let secure = if behind_tls(&headers) { "; Secure" } else { "" };
            let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=604800{secure}");
            let mut r = Redirect::to(&next).into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Err(AppError::Unauthenticated(_)) => {
            let mut r = render(LoginPage {
                t,
                lang: lang.code(),
                error: Some(t.wrong_credentials),
                next,
                email: form.email,
            });
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r
        }
        Err(e) => error_page(lang, StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(rename = "_csrf")]
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    s: Signed,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    if let Some(token) = cookie_value(&headers, COOKIE) {
        let _ = state.app.sign_out(token).await;
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("lg_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    r
}

// ----- the inbox -----

/// One line of the inbox, ready to show.
pub struct LeadLine {
    pub id: String,
    pub name: String,
    pub email: String,
    pub company: String,
    pub stage: &'static str,
    pub temperature: &'static str,
    pub temperature_code: String,
    pub grade: String,
    pub engagement: String,
    pub probability: String,
    pub owner: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "ui/leads.html")]
struct LeadsPage {
    c: Chrome,
    stages: Vec<Choice>,
    temperatures: Vec<Choice>,
    grades: Vec<Choice>,
    source: String,
    q: String,
    owners: Vec<Choice>,
    lines: Vec<LeadLine>,
    previous: Option<String>,
    next: Option<String>,
    export_url: String,
    here: String,
    reps: Vec<Choice>,
    bulk_message: Option<String>,
    views: Vec<ViewLink>,
    query: String,
}

pub struct ViewLink {
    pub id: String,
    pub name: String,
    pub query: String,
}

#[derive(Deserialize, Default)]
struct LeadsQuery {
    stage: Option<String>,
    temperature: Option<String>,
    grade: Option<String>,
    source: Option<String>,
    owner: Option<String>,
    q: Option<String>,
    page: Option<u32>,
    /// What the last bulk action did (set by its redirect).
    done: Option<String>,
}

fn nonempty(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(String::from)
}

/// The inbox filter a query asks for; values the page does not offer are ignored.
fn inbox_filter(q: &LeadsQuery) -> InboxFilter {
    InboxFilter {
        stage: nonempty(&q.stage).filter(|v| LifecycleStage::parse(v).is_some()),
        temperature: nonempty(&q.temperature).filter(|v| matches!(v.as_str(), "hot" | "warm" | "cold")),
        grade: nonempty(&q.grade).filter(|v| matches!(v.as_str(), "A" | "B" | "C" | "D")),
        source: nonempty(&q.source),
        owner: nonempty(&q.owner).and_then(|o| o.parse::<UserId>().ok()),
        text: nonempty(&q.q),
        open_only: true,
        ..Default::default()
    }
}

/// The query string of a filter (without the page).
fn filter_query(f: &InboxFilter) -> String {
    let mut u = String::new();
    for (k, v) in [
        ("stage", &f.stage),
        ("temperature", &f.temperature),
        ("grade", &f.grade),
        ("source", &f.source),
        ("q", &f.text),
    ] {
        if let Some(v) = v {
            let _ = write!(u, "{k}={}&", urlencode(v));
        }
    }
    if let Some(o) = f.owner {
        let _ = write!(u, "owner={o}&");
    }
    u
}

async fn leads(State(state): State<AppState>, s: Signed, Query(q): Query<LeadsQuery>) -> Response {
    let t = s.lang.texts();
    let filter = inbox_filter(&q);
    let (stage, temperature, grade, owner) =
        (filter.stage.clone(), filter.temperature.clone(), filter.grade.clone(), filter.owner);
    let page = q.page.unwrap_or(0).min(10_000);
    let rows = match state.app.inbox(s.p(), &filter, PAGE + 1, page * PAGE).await {
        Ok(r) => r,
        Err(e) => return app_error(&s, e),
    };
    let names = user_names(&state, s.p()).await;
    let has_next = rows.len() > PAGE as usize;
    let lines = rows
        .into_iter()
        .take(PAGE as usize)
        .map(|r| {
            let name = match (&r.first_name, &r.last_name) {
                (None, None) => {
                    r.email.clone().or_else(|| r.external_id.clone()).unwrap_or_else(|| r.id.to_string())
                }
                (f, l) => format!("{} {}", f.as_deref().unwrap_or(""), l.as_deref().unwrap_or(""))
                    .trim()
                    .to_string(),
            };
            LeadLine {
                id: r.id.to_string(),
                name,
                email: r.email.unwrap_or_default(),
                company: r.company.unwrap_or_default(),
                stage: LifecycleStage::parse(&r.stage).map_or("—", |st| stage_label(t, st)),
                temperature: temperature_label(t, r.temperature.as_deref().unwrap_or("")),
                temperature_code: r.temperature.unwrap_or_default(),
                grade: r.grade.unwrap_or_else(|| "—".into()),
                engagement: r.engagement.map_or("—".into(), |e| s.lang.number(e as f64 / 100.0, 1)),
                probability: r.probability.map_or("—".into(), |p| s.lang.percent(p)),
                owner: r.owner.map_or(t.nobody.to_string(), |o| {
                    names.get(&o).cloned().unwrap_or_else(|| o.to_string())
                }),
                created: s.lang.datetime(r.created_at),
            }
        })
        .collect();
    let base = format!("/leads?{}", filter_query(&filter));
    let all_stages: Vec<(String, &str)> = [
        LifecycleStage::Lead,
        LifecycleStage::Mql,
        LifecycleStage::Sql,
        LifecycleStage::Opportunity,
        LifecycleStage::Customer,
        LifecycleStage::Nurturing,
        LifecycleStage::Disqualified,
        LifecycleStage::Intermediary,
        LifecycleStage::Visitor,
    ]
    .iter()
    .map(|st| (st.as_str().to_string(), stage_label(t, *st)))
    .collect();
    let stage_opts: Vec<(&str, &str)> = all_stages.iter().map(|(v, l)| (v.as_str(), *l)).collect();
    let mut owner_list: Vec<(String, String)> =
        names.iter().map(|(id, n)| (id.to_string(), n.clone())).collect();
    owner_list.sort_by(|a, b| a.1.cmp(&b.1));
    let owner_opts: Vec<(&str, &str)> = owner_list.iter().map(|(v, l)| (v.as_str(), l.as_str())).collect();
    let owner_code = owner.map(|o| o.to_string());
    render(LeadsPage {
        c: s.chrome("leads"),
        stages: choices(&stage_opts, stage.as_deref()),
        temperatures: choices(&[("hot", t.hot), ("warm", t.warm), ("cold", t.cold)], temperature.as_deref()),
        grades: choices(&[("A", "A"), ("B", "B"), ("C", "C"), ("D", "D")], grade.as_deref()),
        source: nonempty(&q.source).unwrap_or_default(),
        q: nonempty(&q.q).unwrap_or_default(),
        owners: choices(&owner_opts, owner_code.as_deref()),
        lines,
        previous: (page > 0).then(|| format!("{base}page={}", page - 1)),
        next: has_next.then(|| format!("{base}page={}", page + 1)),
        export_url: format!("/leads.csv?{}", filter_query(&filter)),
        here: format!("{base}page={page}"),
        reps: rep_choices(&state, s.p()).await,
        bulk_message: q.done.clone(),
        views: state
            .app
            .saved_views(s.p())
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|v| ViewLink { id: v.id.to_string(), name: v.name, query: v.query })
            .collect(),
        query: filter_query(&filter),
    })
}

#[derive(Deserialize)]
struct ViewForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
    query: String,
}

async fn save_view(State(state): State<AppState>, s: Signed, Form(f): Form<ViewForm>) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    // Stored as the filters' own query string, rebuilt from a parsed filter so only known
    // filters are kept.
    let parsed: LeadsQuery = serde_urlencoded_query(&f.query);
    let query = filter_query(&inbox_filter(&parsed));
    match state.app.save_view(s.p(), &f.name, &query).await {
        Ok(()) => Redirect::to(&format!("/leads?{query}")).into_response(),
        Err(e) => app_error(&s, e),
    }
}

/// The inbox filters from a query string (unknown keys ignored).
fn serde_urlencoded_query(q: &str) -> LeadsQuery {
    let mut out = LeadsQuery::default();
    for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
        let v = Some(v.into_owned());
        match k.as_ref() {
            "stage" => out.stage = v,
            "temperature" => out.temperature = v,
            "grade" => out.grade = v,
            "source" => out.source = v,
            "owner" => out.owner = v,
            "q" => out.q = v,
            _ => {}
        }
    }
    out
}

async fn delete_view(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return error_page(s.lang, StatusCode::NOT_FOUND, s.lang.texts().not_found);
    };
    match state.app.delete_view(s.p(), id).await {
        Ok(()) => Redirect::to("/leads").into_response(),
        Err(e) => app_error(&s, e),
    }
}

async fn rep_choices(state: &AppState, p: &Principal) -> Vec<Choice> {
    let mut reps: Vec<(String, String)> = state
        .app
        .reps(p)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|r| (r.user_id.to_string(), r.name))
        .collect();
    reps.sort_by(|a, b| a.1.cmp(&b.1));
    reps.into_iter().map(|(value, label)| Choice { value, label, selected: false }).collect()
}

/// A CSV file to download (`name` is ours, never the user's).
fn csv_download(name: &'static str, body: String) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    let mut r =
        ([(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"))], body).into_response();
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

/// One CSV cell: quoted when needed, and a leading `= + - @` neutralised so a spreadsheet never
/// runs a contact's data as a formula.
fn csv_cell(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@']) { format!("'{v}") } else { v.to_string() };
    if v.contains([',', '"', '\n', '\r']) { format!("\"{}\"", v.replace('"', "\"\"")) } else { v }
}

async fn leads_csv(State(state): State<AppState>, s: Signed, Query(q): Query<LeadsQuery>) -> Response {
    let rows = match state.app.inbox_export(s.p(), &inbox_filter(&q), 100_000).await {
        Ok(r) => r,
        Err(e) => return app_error(&s, e),
    };
    let names = user_names(&state, s.p()).await;
    let mut out = String::from(
        "id,email,first_name,last_name,company,stage,temperature,fit_grade,engagement,probability,owner,source,created_at\r\n",
    );
    for r in rows {
        let cells = [
            r.id.to_string(),
            r.email.unwrap_or_default(),
            r.first_name.unwrap_or_default(),
            r.last_name.unwrap_or_default(),
            r.company.unwrap_or_default(),
            r.stage,
            r.temperature.unwrap_or_default(),
            r.grade.unwrap_or_default(),
            r.engagement.map(|e| format!("{:.2}", e as f64 / 100.0)).unwrap_or_default(),
            r.probability.map(|p| format!("{p:.4}")).unwrap_or_default(),
            r.owner.and_then(|o| names.get(&o).cloned()).unwrap_or_default(),
            r.source.unwrap_or_default(),
            r.created_at.to_string(),
        ];
        out.push_str(&cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    csv_download("leads.csv", out)
}

/// A bulk action on the checked rows of the inbox: assign to a rep, or disqualify with a reason.
async fn leads_bulk(State(state): State<AppState>, s: Signed, body: axum::body::Bytes) -> Response {
    let t = s.lang.texts();
    let mut csrf = String::new();
    let (mut ids, mut action, mut rep, mut reason, mut back) =
        (Vec::new(), String::new(), String::new(), String::new(), String::new());
    for (k, v) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "_csrf" => csrf = v.into_owned(),
            "ids" => ids.extend(v.parse::<ContactId>().ok()),
            "action" => action = v.into_owned(),
            "rep" => rep = v.into_owned(),
            "reason" => reason = v.into_owned(),
            "back" => back = v.into_owned(),
            _ => {}
        }
    }
    if let Some(r) = s.refuse_forged(&csrf) {
        return r;
    }
    let back = safe_next(Some(back.as_str()).filter(|b| b.starts_with("/leads")));
    let with_message = |message: &str| {
        let sep = if back.contains('?') { "&" } else { "?" };
        Redirect::to(&format!("{back}{sep}done={}", urlencode(message))).into_response()
    };
    if ids.is_empty() {
        return with_message(t.nothing_selected);
    }
    let mut refused: Vec<String> = Vec::new();
    let mut done = 0;
    for id in &ids {
        let result = match action.as_str() {
            "assign" => match rep.parse::<UserId>() {
                Ok(r) => state.app.assign_to(s.p(), *id, r).await.map(|_| ()),
                Err(_) => Err(AppError::invalid("rep", "pick a rep")),
            },
            "disqualify" => state
                .app
                .move_contact(s.p(), *id, LifecycleStage::Disqualified, Some(reason.as_str()))
                .await
                .map(|_| ()),
            _ => Err(AppError::invalid("action", "pick an action")),
        };
        match result {
            Ok(()) => done += 1,
            Err(AppError::Forbidden { .. }) => {
                return error_page(s.lang, StatusCode::FORBIDDEN, t.not_allowed);
            }
            Err(e) => refused.push(problem_text(s.lang, &e)),
        }
    }
    refused.dedup();
    let message = if refused.is_empty() {
        t.bulk_done.replace("{n}", &done.to_string())
    } else {
        let head =
            t.bulk_partly.replace("{n}", &done.to_string()).replace("{m}", &(ids.len() - done).to_string());
        format!("{head} {}", refused.join("; "))
    };
    with_message(&message)
}

// ----- the contact page -----

pub struct Row2 {
    pub a: String,
    pub b: String,
}

pub struct FitLine {
    pub label: String,
    pub evidence: String,
    pub points: String,
}

pub struct EngagementLine {
    pub label: String,
    pub event: String,
    pub when: String,
    pub before: String,
    pub decay: String,
    pub cap: String,
    pub points: String,
}

pub struct HistoryLine {
    pub from: &'static str,
    pub to: &'static str,
    pub when: String,
    pub who: String,
    pub why: String,
}

pub struct CheckLine {
    pub code: &'static str,
    pub label: &'static str,
    pub answers: Vec<Choice>,
    pub note: String,
    pub set: String,
}

pub struct FactorLine {
    pub label: String,
    pub effect: String,
    pub up: bool,
}

pub struct EventLine {
    pub kind: String,
    pub when: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "ui/contact.html")]
struct ContactPage {
    c: Chrome,
    id: String,
    name: String,
    identity: Vec<Row2>,
    stage: &'static str,
    profile: Vec<Row2>,
    fit_total: String,
    grade: String,
    fit_lines: Vec<FitLine>,
    engagement_total: String,
    half_life: String,
    engagement_lines: Vec<EngagementLine>,
    temperature: &'static str,
    temperature_code: String,
    temperature_reason: String,
    knockouts: Vec<String>,
    probability: Option<String>,
    model_version: String,
    base_value: String,
    factors: Vec<FactorLine>,
    checklist: Vec<CheckLine>,
    assignment: Vec<Row2>,
    history: Vec<HistoryLine>,
    events: Vec<EventLine>,
    consents: Vec<Row2>,
    can_decide: bool,
    reasons: Vec<Choice>,
}

async fn contact(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Query(n): Query<NoticeQuery>,
) -> Response {
    let t = s.lang.texts();
    let Ok(id) = id.parse::<ContactId>() else {
        return error_page(s.lang, StatusCode::NOT_FOUND, t.not_found);
    };
    let app = &state.app;
    let p = s.p();
    let detail = match app.contact_detail(p, id).await {
        Ok(d) => d,
        Err(e) => return app_error(&s, e),
    };
    let (explanation, lifecycle, timeline, consents) = match (
        app.explain(p, id).await,
        app.lifecycle(p, id).await,
        app.timeline(p, id, 50, None).await,
        app.consents(p, id).await,
    ) {
        (Ok(a), Ok(b), Ok(c), Ok(d)) => (a, b, c, d),
        (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => return app_error(&s, e),
    };
    let prediction = app.contact_prediction(p, id).await.ok();
    let names = user_names(&state, p).await;
    let c = &detail.contact;
    let company = match c.company_id {
        Some(cid) => app.get_company(p, cid).await.ok().map(|co| co.name),
        None => None,
    };
    let dash = || "—".to_string();
    let identity = vec![
        Row2 { a: t.email.into(), b: c.email.as_ref().map_or_else(dash, |e| e.to_string()) },
        Row2 { a: t.phone.into(), b: c.phone.clone().unwrap_or_else(dash) },
        Row2 { a: t.job_title.into(), b: c.job_title.clone().unwrap_or_else(dash) },
        Row2 { a: t.col_company.into(), b: company.unwrap_or_else(dash) },
        Row2 { a: t.country.into(), b: c.country.clone().unwrap_or_else(dash) },
        Row2 { a: t.filter_source.into(), b: c.source.clone().unwrap_or_else(dash) },
        Row2 { a: t.col_created.into(), b: s.lang.datetime(c.created_at) },
    ];
    let yn = |b: bool| if b { t.yes } else { t.no }.to_string();
    let sp = &explanation.stage_profile;
    let interest = match sp.interest_shown {
        leadgate_core::qualification::Interest::Weak => t.interest_weak,
        leadgate_core::qualification::Interest::Real => t.interest_real,
        leadgate_core::qualification::Interest::High => t.interest_high,
    };
    let profile = vec![
        Row2 { a: t.has_bought.into(), b: yn(sp.has_bought) },
        Row2 { a: t.needs_known.into(), b: yn(sp.needs_known) },
        Row2 { a: t.interest_shown.into(), b: interest.into() },
        Row2 { a: t.process_started.into(), b: yn(sp.conversion_process_started) },
    ];
    let sc = &explanation.scorecard;
    // Points are exact hundredths; written the user's way (0,25 in French).
    let pts = |p: leadgate_core::scoring::Points| s.lang.number(p.as_f64(), 2);
    let evidence = |ev: &[leadgate_core::scoring::condition::Evidence]| {
        ev.iter().map(|e| format!("{} = {}", e.field, e.value)).collect::<Vec<_>>().join(", ")
    };
    let fit_lines = sc
        .fit
        .contributions
        .iter()
        .map(|f| FitLine { label: f.label.clone(), evidence: evidence(&f.evidence), points: pts(f.points) })
        .collect();
    let engagement_lines = sc
        .engagement
        .contributions
        .iter()
        .map(|e| EngagementLine {
            label: e.label.clone(),
            event: super::i18n::event_kind(t, e.kind.as_str()),
            when: s.lang.datetime(e.occurred_at),
            before: pts(e.points_before_decay),
            decay: format!("× {}", s.lang.number(e.decay_factor, 3)),
            cap: match e.cap_applied {
                Some(Cap::Daily) => t.cap_daily.into(),
                Some(Cap::Lifetime) => t.cap_lifetime.into(),
                None => String::new(),
            },
            points: pts(e.points),
        })
        .collect();
    let temperature_code = match sc.temperature.level {
        Temperature::Hot => "hot",
        Temperature::Warm => "warm",
        Temperature::Cold => "cold",
    };
    let (probability, model_version, base_value, factors) = match &prediction {
        Some(pv) => (
            Some(s.lang.percent(pv.probability)),
            pv.model_version.to_string(),
            s.lang.number(pv.base_value, 2),
            pv.factors
                .iter()
                .filter(|f| f.contribution.abs() >= 0.01)
                .take(12)
                .map(|f| FactorLine {
                    label: match f.label.strip_suffix(" is missing") {
                        Some(field) => format!("{field}{}", t.is_missing),
                        None => f.label.clone(),
                    },
                    effect: format!(
                        "{}{}",
                        if f.contribution > 0.0 { "+" } else { "" },
                        s.lang.number(f.contribution, 2)
                    ),
                    up: f.contribution > 0.0,
                })
                .collect(),
        ),
        None => (None, String::new(), String::new(), Vec::new()),
    };
    let answers = |a: Answer| {
        let code = match a {
            Answer::Unknown => "unknown",
            Answer::Yes => "yes",
            Answer::No => "no",
        };
        choices(&[("unknown", t.unknown), ("yes", t.yes), ("no", t.no)], Some(code))
    };
    let check = |code: &'static str, label: &'static str, item: &ChecklistItem| CheckLine {
        code,
        label,
        answers: answers(item.answer),
        note: item.note.clone().unwrap_or_default(),
        set: match (item.set_by, item.set_at) {
            (Some(u), Some(at)) => format!(
                "{}, {}",
                names.get(&u).cloned().unwrap_or_else(|| u.to_string()),
                s.lang.datetime(at)
            ),
            _ => String::new(),
        },
    };
    let cl = &lifecycle.checklist;
    let checklist = vec![
        check("need", t.need, &cl.need),
        check("budget", t.budget, &cl.budget),
        check("authority", t.authority, &cl.authority),
        check("timing", t.timing, &cl.timing),
    ];
    let assignment = match &detail.assignment {
        Some(a) => vec![
            Row2 {
                a: t.rep.into(),
                b: a.rep_id.map_or(t.nobody.to_string(), |r| {
                    names.get(&r).cloned().unwrap_or_else(|| r.to_string())
                }),
            },
            Row2 {
                a: t.why.into(),
                b: assignment_words(s.lang, a.rule.as_deref(), a.rep_id.is_some(), &a.why),
            },
            Row2 { a: t.due.into(), b: a.due_at.map_or_else(dash, |d| s.lang.datetime(d)) },
            Row2 { a: "SLA".into(), b: sla_label(t, a.sla).into() },
        ],
        None => Vec::new(),
    };
    let history = lifecycle
        .history
        .iter()
        .rev()
        .map(|h| HistoryLine {
            from: stage_label(t, h.from),
            to: stage_label(t, h.to),
            when: s.lang.datetime(h.at),
            who: match &h.actor {
                Actor::User { user_id } => names.get(user_id).cloned().unwrap_or_else(|| user_id.to_string()),
                Actor::Rule { rule, rules_version } => format!("{rule} (v{rules_version})"),
                Actor::Import => t.by_import.into(),
            },
            why: transition_words(s.lang, &h.actor, &h.reason),
        })
        .collect();
    let events = timeline
        .items
        .iter()
        .map(|e| EventLine {
            kind: super::i18n::event_kind(t, e.kind.as_str()),
            when: s.lang.datetime(e.occurred_at),
            detail: e
                .properties
                .iter()
                .take(3)
                .map(|(k, v)| {
                    format!("{k}: {}", v.as_str().map(String::from).unwrap_or_else(|| v.to_string()))
                })
                .chain(e.source.iter().map(|src| format!("{}: {src}", t.filter_source.to_lowercase())))
                .collect::<Vec<_>>()
                .join(" · "),
        })
        .collect();
    let consents = consents
        .iter()
        .map(|r| Row2 {
            a: format!(
                "{} — {}",
                serde_json::to_value(r.purpose)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                if r.granted { t.granted } else { t.refused }
            ),
            b: format!("{} · {} · {}", s.lang.datetime(r.at), r.text, r.ip.clone().unwrap_or_default()),
        })
        .collect();
    let reasons = choices(
        &[
            ("not_a_fit", t.reason_not_a_fit),
            ("no_budget", t.reason_no_budget),
            ("no_authority", t.reason_no_authority),
            ("bad_data", t.reason_bad_data),
            ("duplicate", t.reason_duplicate),
            ("unreachable", t.reason_unreachable),
            ("other", t.reason_other),
        ],
        None,
    );
    let mut chrome = s.chrome("leads");
    chrome.notice = n.done.is_some().then(|| t.done.to_string());
    render(ContactPage {
        c: chrome,
        id: id.to_string(),
        name: c.display_name(),
        identity,
        stage: stage_label(t, c.lifecycle_stage),
        profile,
        fit_total: pts(sc.fit.points),
        grade: sc.fit.grade.as_str().to_string(),
        fit_lines,
        engagement_total: pts(sc.engagement.score),
        half_life: s.lang.number(sc.engagement.half_life_days, 0),
        engagement_lines,
        temperature: temperature_label(t, temperature_code),
        temperature_code: temperature_code.into(),
        temperature_reason: temperature_words(s.lang, &sc.temperature.cause),
        knockouts: sc.knockouts.iter().map(|k| format!("{}: {}", k.rule, k.reason)).collect(),
        probability,
        model_version,
        base_value,
        factors,
        checklist,
        assignment,
        history,
        events,
        consents,
        can_decide: matches!(c.lifecycle_stage, LifecycleStage::Mql | LifecycleStage::Sql),
        reasons,
    })
}

/// Why a stage changed, in the user's language. Rules' reasons are rebuilt from the rule that
/// moved the contact; people's reasons are their own words, except the ones the product writes.
fn transition_words(lang: Lang, actor: &Actor, reason: &str) -> String {
    let t = lang.texts();
    if lang == Lang::En {
        return reason.to_string();
    }
    match actor {
        Actor::Rule { rule, .. } => match rule.as_str() {
            "mql-threshold" => t.rule_mql.into(),
            "checklist-authority" => t.rule_authority.into(),
            "fit-floor" => t.rule_fit_floor.into(),
            "requalified" => t.rule_requalified.into(),
            "sales-accepted" => t.rule_sales_accepted.into(),
            r if r.starts_with("knockout:") => {
                format!("{} : {}", t.rule_knockout, reason.trim_start_matches("knock-out: "))
            }
            _ => reason.to_string(),
        },
        _ if reason == "moved by hand" => t.moved_by_hand.into(),
        _ => match reason.strip_prefix("rejected by sales: ") {
            Some(rest) => {
                let (code, note) =
                    rest.split_once(" (").map_or((rest, None), |(c, n)| (c, Some(n.trim_end_matches(')'))));
                let words = match code {
                    "not a fit" => t.reason_not_a_fit,
                    "no budget" => t.reason_no_budget,
                    "no authority" => t.reason_no_authority,
                    "bad data" => t.reason_bad_data,
                    "duplicate" => t.reason_duplicate,
                    "unreachable" => t.reason_unreachable,
                    _ => t.reason_other,
                };
                match note {
                    Some(n) => format!("{} : {words} ({n})", t.rejected_by_sales),
                    None => format!("{} : {words}", t.rejected_by_sales),
                }
            }
            None => reason.to_string(),
        },
    }
}

/// Why a lead went to its rep, in the user's language (the English sentence names every
/// refusal; other languages name the rule).
fn assignment_words(lang: Lang, rule: Option<&str>, assigned: bool, why: &str) -> String {
    let t = lang.texts();
    match (lang, rule, assigned) {
        (Lang::En, ..) => why.to_string(),
        (_, Some("by hand"), _) => t.routed_by_hand.into(),
        (_, Some(rule), true) => format!("{} « {rule} »", t.routed_by_rule),
        _ => t.no_eligible_rep.into(),
    }
}

/// A task title the product wrote, in the user's language (people's own titles stay theirs).
fn task_words(lang: Lang, title: &str) -> String {
    let t = lang.texts();
    if lang == Lang::En {
        title.to_string()
    } else if title == "First contact with this new lead" {
        t.task_first_contact.into()
    } else if title.starts_with("Follow up: no reply") {
        t.task_follow_up.into()
    } else if title.ends_with("missed the first-touch deadline on this lead") {
        t.task_manager.into()
    } else {
        title.to_string()
    }
}

/// Why a contact has its temperature, in the user's language.
fn temperature_words(lang: Lang, cause: &leadgate_core::scoring::TemperatureCause) -> String {
    use leadgate_core::scoring::TemperatureCause as C;
    let t = lang.texts();
    let days = |d: f64| lang.number(d, 0);
    let points = |p: &leadgate_core::scoring::Points| lang.number(p.as_f64(), 2);
    let day = |on: &str| on.parse::<jiff::civil::Date>().map_or(on.to_string(), |d| lang.date(d));
    match cause {
        C::Intent { event_kind, on, within_days } => t
            .why_intent
            .replace("{kind}", &super::i18n::event_kind(t, event_kind).to_lowercase())
            .replace("{on}", &day(on))
            .replace("{days}", &days(*within_days)),
        C::PricingVisits { visits, within_days } => {
            t.why_pricing.replace("{visits}", &visits.to_string()).replace("{days}", &days(*within_days))
        }
        C::HotEngagement { engagement, threshold } => {
            t.why_hot.replace("{e}", &points(engagement)).replace("{x}", &points(threshold))
        }
        C::WarmEngagement { engagement, threshold } => {
            t.why_warm.replace("{e}", &points(engagement)).replace("{x}", &points(threshold))
        }
        C::RecentActivity { days: d, label, on } => {
            t.why_recent.replace("{days}", &days(*d)).replace("{label}", label).replace("{on}", &day(on))
        }
        C::Cold { engagement, threshold } => {
            t.why_cold.replace("{e}", &points(engagement)).replace("{x}", &points(threshold))
        }
    }
}

#[derive(Deserialize)]
struct NoticeQuery {
    done: Option<String>,
}

fn back_to(id: ContactId) -> Response {
    Redirect::to(&format!("/contacts/{id}?done=1")).into_response()
}

#[derive(Deserialize)]
struct ChecklistForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    criterion: String,
    answer: String,
    note: Option<String>,
}

async fn contact_checklist(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<ChecklistForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let Ok(id) = id.parse::<ContactId>() else {
        return error_page(s.lang, StatusCode::NOT_FOUND, s.lang.texts().not_found);
    };
    let criterion = match f.criterion.as_str() {
        "need" => Criterion::Need,
        "budget" => Criterion::Budget,
        "authority" => Criterion::Authority,
        "timing" => Criterion::Timing,
        _ => {
            return app_error(
                &s,
                AppError::invalid("criterion", "must be need, budget, authority or timing"),
            );
        }
    };
    let answer = match f.answer.as_str() {
        "yes" => Answer::Yes,
        "no" => Answer::No,
        _ => Answer::Unknown,
    };
    let note = f.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    match state.app.set_checklist(s.p(), id, criterion, answer, note).await {
        Ok(_) => back_to(id),
        Err(e) => app_error(&s, e),
    }
}

#[derive(Deserialize)]
struct TouchForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    kind: String,
    outcome: String,
    note: Option<String>,
}

async fn contact_touch(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<TouchForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let Ok(id) = id.parse::<ContactId>() else {
        return error_page(s.lang, StatusCode::NOT_FOUND, s.lang.texts().not_found);
    };
    let kind = match f.kind.as_str() {
        "email" => TaskKind::Email,
        "meeting" => TaskKind::Meeting,
        _ => TaskKind::Call,
    };
    let outcome = if f.outcome == "no_reply" { TouchOutcome::NoReply } else { TouchOutcome::Reached };
    let touch = NewTouch { kind, outcome, note: f.note.filter(|n| !n.trim().is_empty()) };
    match state.app.log_touch(s.p(), id, touch).await {
        Ok(_) => back_to(id),
        Err(e) => app_error(&s, e),
    }
}

async fn contact_accept(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let Ok(id) = id.parse::<ContactId>() else {
        return error_page(s.lang, StatusCode::NOT_FOUND, s.lang.texts().not_found);
    };
    match state.app.accept_lead(s.p(), id).await {
        Ok(_) => back_to(id),
        Err(e) => app_error(&s, e),
    }
}

#[derive(Deserialize)]
struct RejectForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    reason: String,
    note: Option<String>,
}

async fn contact_reject(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<RejectForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let Ok(id) = id.parse::<ContactId>() else {
        return error_page(s.lang, StatusCode::NOT_FOUND, s.lang.texts().not_found);
    };
    let Ok(reason) = serde_json::from_value::<RejectReason>(serde_json::Value::String(f.reason.clone()))
    else {
        return app_error(&s, AppError::invalid("reason", "pick a reason from the list"));
    };
    match state.app.reject_lead(s.p(), id, reason, f.note.as_deref().filter(|n| !n.trim().is_empty())).await {
        Ok(_) => back_to(id),
        Err(e) => app_error(&s, e),
    }
}

#[derive(Deserialize)]
struct MoveForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    to: String,
    reason: Option<String>,
}

async fn contact_move(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<MoveForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let Ok(id) = id.parse::<ContactId>() else {
        return error_page(s.lang, StatusCode::NOT_FOUND, s.lang.texts().not_found);
    };
    let Some(to) = LifecycleStage::parse(&f.to) else {
        return app_error(&s, AppError::invalid("to", "is not a lifecycle stage"));
    };
    match state.app.move_contact(s.p(), id, to, f.reason.as_deref()).await {
        Ok(_) => back_to(id),
        Err(e) => app_error(&s, e),
    }
}

// ----- queue and tasks -----

pub struct QueueLine {
    pub contact: String,
    pub name: String,
    pub due: String,
    pub left: String,
    pub sla: &'static str,
    pub late: bool,
    pub why: String,
}

#[derive(Template)]
#[template(path = "ui/queue.html")]
struct QueuePage {
    c: Chrome,
    lines: Vec<QueueLine>,
}

fn duration_words(lang: Lang, secs: i64) -> String {
    let (h, m) = (secs.abs() / 3600, (secs.abs() % 3600) / 60);
    let s = if h > 0 { format!("{h} h {m:02}") } else { format!("{m} min") };
    if secs < 0 {
        match lang {
            Lang::En => format!("{s} late"),
            Lang::Fr => format!("{s} de retard"),
        }
    } else {
        s
    }
}

async fn queue(State(state): State<AppState>, s: Signed) -> Response {
    let t = s.lang.texts();
    let items = match state.app.lead_queue(s.p(), None, false).await {
        Ok(i) => i,
        Err(e) => return app_error(&s, e),
    };
    let mut lines = Vec::with_capacity(items.len());
    for a in items {
        let name =
            state.app.get_contact(s.p(), a.contact_id).await.map(|c| c.display_name()).unwrap_or_default();
        lines.push(QueueLine {
            contact: a.contact_id.to_string(),
            name,
            due: a.due_at.map_or("—".into(), |d| s.lang.datetime(d)),
            left: a.seconds_left.map_or("—".into(), |x| duration_words(s.lang, x)),
            late: a.seconds_left.is_some_and(|x| x < 0),
            sla: sla_label(t, a.sla),
            why: assignment_words(s.lang, a.rule.as_deref(), a.rep_id.is_some(), &a.why),
        });
    }
    render(QueuePage { c: s.chrome("queue"), lines })
}

pub struct TaskLine {
    pub id: String,
    pub contact: String,
    pub kind: &'static str,
    pub title: String,
    pub due: String,
    pub overdue: bool,
}

#[derive(Template)]
#[template(path = "ui/tasks.html")]
struct TasksPage {
    c: Chrome,
    lines: Vec<TaskLine>,
}

async fn tasks(State(state): State<AppState>, s: Signed) -> Response {
    let t = s.lang.texts();
    let items = match state.app.tasks(s.p(), None, false).await {
        Ok(i) => i,
        Err(e) => return app_error(&s, e),
    };
    let lines = items
        .into_iter()
        .map(|x| TaskLine {
            id: x.id.to_string(),
            contact: x.contact_id.to_string(),
            kind: match x.kind {
                TaskKind::Call => t.kind_call,
                TaskKind::Email => t.kind_email,
                TaskKind::Meeting => t.kind_meeting,
            },
            title: task_words(s.lang, &x.title),
            due: s.lang.datetime(x.due_at),
            overdue: x.overdue,
        })
        .collect();
    render(TasksPage { c: s.chrome("tasks"), lines })
}

async fn task_done(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let Ok(id) = id.parse::<TaskId>() else {
        return error_page(s.lang, StatusCode::NOT_FOUND, s.lang.texts().not_found);
    };
    match state.app.complete_task(s.p(), id).await {
        Ok(_) => Redirect::to("/tasks").into_response(),
        Err(e) => app_error(&s, e),
    }
}

// ----- dashboard -----

/// Escapes text for SVG (XML).
fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Horizontal bars, one per (label, value), drawn on the server: no script, no CDN.
fn bars_svg(title: &str, bars: &[(String, f64, String, &str)]) -> String {
    let max = bars.iter().map(|b| b.1).fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    let (row, label_w, width) = (28.0, 150.0, 560.0);
    let height = row * bars.len() as f64 + 8.0;
    let mut svg = format!(
        r#"<svg role="img" aria-label="{}" viewBox="0 0 {width} {height}" width="100%" style="max-width:{width}px">"#,
        xml(title)
    );
    for (i, (label, value, shown, color)) in bars.iter().enumerate() {
        let y = 4.0 + i as f64 * row;
        let w = ((width - label_w - 70.0) * value / max).max(1.0);
        let _ = write!(
            svg,
            r##"<text x="0" y="{ty}" font-size="13" fill="#1d2330">{l}</text><rect x="{label_w}" y="{y}" width="{w:.1}" height="{h}" fill="{color}" rx="3"/><text x="{vx:.1}" y="{ty}" font-size="13" fill="#1d2330">{v}</text>"##,
            ty = y + 16.0,
            l = xml(label),
            h = row - 8.0,
            vx = label_w + w + 6.0,
            v = xml(shown),
        );
    }
    svg.push_str("</svg>");
    svg
}

pub struct SourceLine {
    pub source: String,
    pub created: String,
    pub mql: String,
    pub sql: String,
    pub customer: String,
    pub rate: String,
}

pub struct Row3 {
    pub a: String,
    pub b: String,
    pub c: String,
}

#[derive(Template)]
#[template(path = "ui/dashboard.html")]
struct DashboardPage {
    c: Chrome,
    from: String,
    to: String,
    funnel_svg: String,
    steps: Vec<Row3>,
    temperature_svg: String,
    temperatures: Vec<Row2>,
    sources: Vec<SourceLine>,
    sla: Vec<Row2>,
}

#[derive(Deserialize)]
struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

fn parse_day(s: Option<&str>) -> Option<jiff::civil::Date> {
    s.and_then(|d| d.trim().parse::<jiff::civil::Date>().ok())
}

async fn dashboard(State(state): State<AppState>, s: Signed, Query(q): Query<PeriodQuery>) -> Response {
    let t = s.lang.texts();
    let today = state.app.now().to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    let to = parse_day(q.to.as_deref()).unwrap_or_else(|| today.tomorrow().unwrap_or(today));
    let from = parse_day(q.from.as_deref())
        .unwrap_or_else(|| to.checked_sub(jiff::Span::new().days(30)).unwrap_or(to));
    let at = |d: jiff::civil::Date| {
        d.to_datetime(jiff::civil::Time::midnight())
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
    };
    let (Ok(from_t), Ok(to_t)) = (at(from), at(to)) else {
        return app_error(&s, AppError::invalid("from", "is not a date"));
    };
    let (funnel, temps) = match state.app.dashboard(s.p(), from_t, to_t).await {
        Ok(x) => x,
        Err(e) => return app_error(&s, e),
    };
    let total = funnel
        .iter()
        .fold((0, 0, 0, 0), |acc, r| (acc.0 + r.created, acc.1 + r.mql, acc.2 + r.sql, acc.3 + r.customer));
    let rate = |n: i64, d: i64| if d > 0 { s.lang.percent(n as f64 / d as f64) } else { "—".into() };
    let num = |n: i64| s.lang.number(n as f64, 0);
    let steps = vec![
        Row3 { a: t.funnel_leads.into(), b: num(total.0), c: String::new() },
        Row3 { a: t.funnel_mql.into(), b: num(total.1), c: rate(total.1, total.0) },
        Row3 { a: t.funnel_sql.into(), b: num(total.2), c: rate(total.2, total.1) },
        Row3 { a: t.funnel_customer.into(), b: num(total.3), c: rate(total.3, total.2) },
    ];
    let funnel_svg = bars_svg(
        t.dashboard_title,
        &[
            (t.funnel_leads.to_string(), total.0 as f64, num(total.0), "#1f4fd1"),
            (t.funnel_mql.to_string(), total.1 as f64, num(total.1), "#3b6fe0"),
            (t.funnel_sql.to_string(), total.2 as f64, num(total.2), "#5b8af0"),
            (t.funnel_customer.to_string(), total.3 as f64, num(total.3), "#166534"),
        ],
    );
    let count =
        |code: Option<&str>| temps.iter().filter(|(k, _)| k.as_deref() == code).map(|(_, n)| *n).sum::<i64>();
    let temp_bars: Vec<(String, f64, String, &str)> = [
        (t.hot, count(Some("hot")), "#b3261e"),
        (t.warm, count(Some("warm")), "#9a5b00"),
        (t.cold, count(Some("cold")), "#1e5a8a"),
        (t.not_scored, count(None), "#6b7280"),
    ]
    .into_iter()
    .map(|(l, n, color)| (l.to_string(), n as f64, num(n), color))
    .collect();
    let temperatures =
        temp_bars.iter().map(|(l, _, shown, _)| Row2 { a: l.clone(), b: shown.clone() }).collect();
    let temperature_svg = bars_svg(t.open_by_temperature, &temp_bars);
    let mut sources: Vec<SourceLine> = funnel
        .iter()
        .map(|r| SourceLine {
            source: r.source.clone().unwrap_or_else(|| t.no_source.into()),
            created: num(r.created),
            mql: num(r.mql),
            sql: num(r.sql),
            customer: num(r.customer),
            rate: rate(r.customer, r.created),
        })
        .collect();
    sources.sort_by(|a, b| a.source.cmp(&b.source));
    let sla = match state.app.handoff_metrics(s.p(), from_t, to_t).await {
        Ok(m) => {
            let minutes = |x: f64| duration_words(s.lang, (x * 60.0).round() as i64);
            let mut rows = vec![
                Row2 { a: t.assigned_leads.into(), b: num(m.assigned as i64) },
                Row2 { a: t.waiting_leads.into(), b: num(m.unassigned as i64) },
                Row2 {
                    a: t.sla_compliance.into(),
                    b: m.compliance.map_or("—".into(), |c| s.lang.percent(c)),
                },
            ];
            for (temperature, median) in &m.median_minutes_to_first_touch_by_temperature {
                rows.push(Row2 {
                    a: format!(
                        "{} ({})",
                        t.median_first_touch,
                        temperature_label(t, temperature).to_lowercase()
                    ),
                    b: minutes(*median),
                });
            }
            let reason = |code: &str| match code {
                "not_a_fit" => t.reason_not_a_fit.to_string(),
                "no_budget" => t.reason_no_budget.to_string(),
                "no_authority" => t.reason_no_authority.to_string(),
                "bad_data" => t.reason_bad_data.to_string(),
                "duplicate" => t.reason_duplicate.to_string(),
                "unreachable" => t.reason_unreachable.to_string(),
                "other" => t.reason_other.to_string(),
                other => other.to_string(),
            };
            let rejections = m
                .rejections
                .iter()
                .map(|(k, v)| format!("{}: {v}", reason(k)))
                .collect::<Vec<_>>()
                .join(", ");
            rows.push(Row2 {
                a: t.rejections.into(),
                b: if rejections.is_empty() { t.none.into() } else { rejections },
            });
            rows
        }
        Err(e) => return app_error(&s, e),
    };
    render(DashboardPage {
        c: s.chrome("dashboard"),
        from: from.to_string(),
        to: to.to_string(),
        funnel_svg,
        steps,
        temperature_svg,
        temperatures,
        sources,
        sla,
    })
}

// ----- the scoring rules editor -----

pub struct PreviewView {
    pub basis: String,
    pub lines: Vec<String>,
}

#[derive(Template)]
#[template(path = "ui/rules.html")]
struct RulesPage {
    c: Chrome,
    version: i64,
    text: String,
    comment: String,
    errors: Vec<String>,
    preview: Option<PreviewView>,
    job: Option<JobNotice>,
}

fn job_notice(
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

async fn rules_page(State(state): State<AppState>, s: Signed, Query(q): Query<ModelQuery>) -> Response {
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
    render(RulesPage {
        c: s.chrome("rules"),
        version: view.version,
        text: serde_json::to_string_pretty(&view.rules).unwrap_or_default(),
        comment: String::new(),
        errors: Vec::new(),
        preview: None,
        job,
    })
}

#[derive(Deserialize)]
struct RulesForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    rules: String,
    comment: Option<String>,
    action: String,
}

async fn rules_submit(State(state): State<AppState>, s: Signed, Form(f): Form<RulesForm>) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
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

// ----- the model page -----

pub struct ActiveModel {
    pub version: i64,
    pub family: &'static str,
    pub metrics: Vec<Row2>,
    pub trained: String,
    pub calibration_svg: String,
    pub influence_svg: String,
    pub gains_svg: String,
    pub fields_used: Vec<String>,
    pub fields_excluded: Vec<String>,
}

pub struct VersionLine {
    pub version: i64,
    pub family: &'static str,
    pub auc: String,
    pub log_loss: String,
    pub when: String,
    pub active: bool,
}

pub struct JobNotice {
    pub text: String,
    pub running: bool,
    pub failed: bool,
}

#[derive(Template)]
#[template(path = "ui/model.html")]
struct ModelPage {
    c: Chrome,
    job: Option<JobNotice>,
    active: Option<ActiveModel>,
    versions: Vec<VersionLine>,
}

/// Predicted against observed conversion per probability bin; the diagonal is perfect calibration.
fn calibration_svg(t: &Texts, bins: &[(f64, f64, usize)]) -> String {
    let (size, pad) = (300.0, 36.0);
    let scale = |v: f64| pad + v * (size - 2.0 * pad);
    let mut svg = format!(
        r##"<svg role="img" aria-label="{}" viewBox="0 0 {size} {size}" width="100%" style="max-width:{size}px"><rect x="{pad}" y="{pad}" width="{w}" height="{w}" fill="none" stroke="#d1d5db"/><line x1="{pad}" y1="{b}" x2="{b}" y2="{pad}" stroke="#9ca3af" stroke-dasharray="4 3"/>"##,
        xml(t.calibration_title),
        w = size - 2.0 * pad,
        b = size - pad,
    );
    let mut path = String::new();
    for (i, (predicted, observed, _)) in bins.iter().enumerate() {
        let (x, y) = (scale(*predicted), size - scale(*observed));
        let _ = write!(path, "{}{x:.1},{y:.1} ", if i == 0 { "M" } else { "L" });
        let _ = write!(svg, r##"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="#1f4fd1"/>"##);
    }
    let _ = write!(
        svg,
        r##"<path d="{path}" fill="none" stroke="#1f4fd1" stroke-width="2"/><text x="{pad}" y="{ly}" font-size="12" fill="#1d2330">{p} →</text><text x="8" y="{pad}" font-size="12" fill="#1d2330" transform="rotate(-90 8 {pad})" text-anchor="end">{o} →</text></svg>"##,
        ly = size - 10.0,
        p = xml(t.predicted),
        o = xml(t.observed),
    );
    svg
}

/// Cumulative share of conversions against cumulative share of leads, calling the most likely
/// first (probability bins of the held-out part, highest first); the diagonal is calling at random.
fn gains_svg(t: &Texts, bins: &[(f64, f64, usize)]) -> String {
    let mut sorted: Vec<(f64, f64, usize)> = bins.to_vec();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let leads: f64 = sorted.iter().map(|b| b.2 as f64).sum();
    let conversions: f64 = sorted.iter().map(|b| b.1 * b.2 as f64).sum();
    let (size, pad) = (300.0, 36.0);
    let scale = |v: f64| pad + v * (size - 2.0 * pad);
    let mut svg = format!(
        r##"<svg role="img" aria-label="{}" viewBox="0 0 {size} {size}" width="100%" style="max-width:{size}px"><rect x="{pad}" y="{pad}" width="{w}" height="{w}" fill="none" stroke="#d1d5db"/><line x1="{pad}" y1="{b}" x2="{b}" y2="{pad}" stroke="#9ca3af" stroke-dasharray="4 3"/>"##,
        xml(t.gains_title),
        w = size - 2.0 * pad,
        b = size - pad,
    );
    if leads > 0.0 && conversions > 0.0 {
        let (mut x, mut y) = (0.0, 0.0);
        let mut path = format!("M{:.1},{:.1} ", scale(0.0), size - scale(0.0));
        for (_, rate, count) in &sorted {
            x += *count as f64 / leads;
            y += rate * *count as f64 / conversions;
            let _ = write!(path, "L{:.1},{:.1} ", scale(x), size - scale(y));
        }
        let _ = write!(svg, r##"<path d="{path}" fill="none" stroke="#166534" stroke-width="2"/>"##);
    }
    let _ = write!(
        svg,
        r##"<text x="{pad}" y="{ly}" font-size="12" fill="#1d2330">{l} →</text><text x="8" y="{pad}" font-size="12" fill="#1d2330" transform="rotate(-90 8 {pad})" text-anchor="end">{c} →</text></svg>"##,
        ly = size - 10.0,
        l = xml(t.leads_called),
        c = xml(t.conversions_found),
    );
    svg
}

#[derive(Deserialize)]
struct ModelQuery {
    job: Option<String>,
}

async fn model(State(state): State<AppState>, s: Signed, Query(q): Query<ModelQuery>) -> Response {
    let t = s.lang.texts();
    let views = match state.app.models(s.p()).await {
        Ok(v) => v,
        Err(e) => return app_error(&s, e),
    };
    let family = |f: &str| if f == "gbdt" { t.family_gbdt } else { t.family_linear };
    let job = match q.job.as_deref().and_then(|j| j.parse::<leadgate_core::ids::JobId>().ok()) {
        Some(id) => state
            .app
            .job(s.p(), id)
            .await
            .ok()
            .map(|j| job_notice(&j, t.training.to_string(), t.training_done, t.training_failed)),
        None => None,
    };
    let influence = state.app.model_influence(s.p(), 200).await.ok().flatten().unwrap_or_default();
    let influence_bars: Vec<(String, f64, String, &str)> = influence
        .iter()
        .take(10)
        .map(|(field, v)| {
            // The label column is narrow: long field names end with an ellipsis.
            let label = if field.chars().count() > 19 {
                format!("{}…", field.chars().take(18).collect::<String>())
            } else {
                field.clone()
            };
            (label, *v, s.lang.number(*v, 2), "#1f4fd1")
        })
        .collect();
    let influence_svg = bars_svg(t.influence_title, &influence_bars);
    let active = views.iter().find(|v| v.active).map(|m| {
        let report: Option<leadgate_model::TrainingReport> = serde_json::from_value(m.report.clone()).ok();
        let chosen = report.as_ref().and_then(|r| r.chosen().cloned());
        let mut metrics = Vec::new();
        if let Some(c) = &chosen {
            metrics = vec![
                Row2 { a: t.auc.into(), b: s.lang.number(c.test.auc, 3) },
                Row2 { a: t.log_loss.into(), b: s.lang.number(c.test.log_loss, 3) },
                Row2 { a: t.brier.into(), b: s.lang.number(c.test.brier, 3) },
                Row2 { a: t.lift.into(), b: format!("× {}", s.lang.number(c.test.top_decile_lift, 1)) },
                Row2 { a: t.base_rate.into(), b: s.lang.percent(c.test.base_rate) },
            ];
        }
        let bins: Vec<(f64, f64, usize)> = chosen
            .as_ref()
            .map(|c| {
                c.test
                    .calibration
                    .iter()
                    .filter_map(|b| Some((b.mean_predicted?, b.observed_rate?, b.count)))
                    .collect()
            })
            .unwrap_or_default();
        ActiveModel {
            version: m.version,
            family: family(&m.family),
            metrics,
            trained: format!(
                "{} {} {} · {}",
                t.trained_on,
                s.lang.number((m.outcomes.converted + m.outcomes.not_converted) as f64, 0),
                t.contacts_word,
                s.lang.datetime(m.trained_at)
            ),
            calibration_svg: calibration_svg(t, &bins),
            influence_svg: influence_svg.clone(),
            gains_svg: gains_svg(t, &bins),
            fields_used: report.as_ref().map(|r| r.fields_used.clone()).unwrap_or_default(),
            fields_excluded: report.as_ref().map(|r| r.fields_excluded.clone()).unwrap_or_default(),
        }
    });
    let versions = views
        .iter()
        .map(|v| VersionLine {
            version: v.version,
            family: family(&v.family),
            auc: v.quality.as_ref().map_or("—".into(), |q| s.lang.number(q.roc_auc, 3)),
            log_loss: v.quality.as_ref().map_or("—".into(), |q| s.lang.number(q.log_loss, 3)),
            when: s.lang.datetime(v.trained_at),
            active: v.active,
        })
        .collect();
    render(ModelPage { c: s.chrome("model"), job, active, versions })
}

async fn model_train(State(state): State<AppState>, s: Signed, Form(f): Form<CsrfForm>) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    // The same settings as the latest model (what "retrain" means to a marketer).
    let request = match state.app.models(s.p()).await {
        Ok(v) => v.into_iter().next().map(|m| m.request).unwrap_or_default(),
        Err(e) => return app_error(&s, e),
    };
    match state.app.start_training(s.p(), &request).await {
        Ok(job) => Redirect::to(&format!("/model?job={}", job.id)).into_response(),
        Err(e) => app_error(&s, e),
    }
}

// ----- the import wizard -----

pub struct ImportPreviewView {
    pub upload_id: String,
    pub entity: String,
    pub preset: String,
    pub missing: String,
    pub map: String,
    pub outcome_column: String,
    pub outcome_positive: String,
    pub summary: String,
    pub columns: Vec<Row3>,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

#[derive(Template)]
#[template(path = "ui/import.html")]
struct ImportPage {
    c: Chrome,
    error: Option<String>,
    preview: Option<ImportPreviewView>,
    job: Option<JobNotice>,
    progress: Option<u32>,
    rejects_url: Option<String>,
}

async fn import_page(State(state): State<AppState>, s: Signed, Query(q): Query<ModelQuery>) -> Response {
    let t = s.lang.texts();
    let (mut job, mut progress, mut rejects_url) = (None, None, None);
    if let Some(id) = q.job.as_deref().and_then(|j| j.parse::<leadgate_core::ids::JobId>().ok()) {
        match state.app.job(s.p(), id).await {
            Ok(j) => {
                let n = |x: i64| s.lang.number(x as f64, 0);
                let running = t
                    .importing
                    .replace("{done}", &n(j.progress_done))
                    .replace("{total}", &j.progress_total.map_or("…".into(), n));
                let result =
                    |k: &str| j.result.as_ref().and_then(|r| r.get(k)).and_then(|v| v.as_i64()).unwrap_or(0);
                let done = t
                    .imported
                    .replace("{created}", &n(result("created")))
                    .replace("{updated}", &n(result("updated")))
                    .replace("{unchanged}", &n(result("unchanged")))
                    .replace("{rejected}", &n(result("rejected")));
                let notice = job_notice(&j, running, &done, t.import_failed);
                progress = j
                    .progress_total
                    .filter(|t| *t > 0)
                    .map(|t| ((j.progress_done * 100) / t).clamp(0, 100) as u32);
                if !notice.running && result("rejected") > 0 {
                    rejects_url = Some(format!("/import/jobs/{id}/rejects.csv"));
                }
                job = Some(notice);
            }
            Err(e) => return app_error(&s, e),
        }
    }
    render(ImportPage { c: s.chrome("import"), error: None, preview: None, job, progress, rejects_url })
}

async fn import_upload(
    State(state): State<AppState>,
    s: Signed,
    mut multipart: axum::extract::Multipart,
) -> Response {
    let (mut csrf, mut entity, mut preset, mut file) =
        (String::new(), String::from("contacts"), String::new(), None);
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return error_page(s.lang, StatusCode::BAD_REQUEST, &e.body_text()),
        };
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(String::from);
        let Ok(bytes) = field.bytes().await else {
            return error_page(s.lang, StatusCode::PAYLOAD_TOO_LARGE, s.lang.texts().file);
        };
        match name.as_str() {
            "_csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
            "entity" => entity = String::from_utf8_lossy(&bytes).into_owned(),
            "preset" => preset = String::from_utf8_lossy(&bytes).into_owned(),
            "file" => file = Some((file_name.unwrap_or_else(|| "upload.csv".into()), bytes.to_vec())),
            _ => {}
        }
    }
    if let Some(r) = s.refuse_forged(&csrf) {
        return r;
    }
    let Some((name, content)) = file else {
        return app_error(&s, AppError::invalid("file", "choose a CSV file"));
    };
    match state.app.upload(s.p(), &name, content).await {
        Ok(up) => Redirect::to(&format!(
            "/import/{}?entity={}&preset={}",
            up.id,
            urlencode(&entity),
            urlencode(&preset)
        ))
        .into_response(),
        Err(e) => render(ImportPage {
            c: s.chrome("import"),
            error: Some(problem_text(s.lang, &e)),
            preview: None,
            job: None,
            progress: None,
            rejects_url: None,
        }),
    }
}

#[derive(Deserialize, Default)]
struct ImportQuery {
    entity: Option<String>,
    preset: Option<String>,
    missing: Option<String>,
    map: Option<String>,
    outcome_column: Option<String>,
    outcome_positive: Option<String>,
}

fn import_request(
    upload: uuid::Uuid,
    q: &ImportQuery,
) -> Result<leadgate_app::import::ImportRequest, AppError> {
    let mut map = std::collections::BTreeMap::new();
    for (i, line) in q.map.as_deref().unwrap_or_default().lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((field, column)) = line.split_once('=') else {
            return Err(AppError::invalid(
                format!("map line {}", i + 1),
                "write field=Column, e.g. email=Courriel",
            ));
        };
        map.insert(field.trim().to_string(), column.trim().to_string());
    }
    let outcome = match (nonempty(&q.outcome_column), nonempty(&q.outcome_positive)) {
        (Some(column), Some(positive)) => Some(leadgate_app::import::OutcomeColumn { column, positive }),
        (None, None) => None,
        _ => return Err(AppError::invalid("outcome", "give both the column and its value when converted")),
    };
    Ok(leadgate_app::import::ImportRequest {
        upload_id: upload,
        entity: nonempty(&q.entity).unwrap_or_else(|| "contacts".into()),
        map,
        preset: nonempty(&q.preset),
        types: Default::default(),
        missing: q
            .missing
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(String::from)
            .collect(),
        outcome,
    })
}

async fn import_preview(
    State(state): State<AppState>,
    s: Signed,
    Path(upload): Path<String>,
    Query(q): Query<ImportQuery>,
) -> Response {
    let t = s.lang.texts();
    let Ok(upload) = upload.parse::<uuid::Uuid>() else {
        return error_page(s.lang, StatusCode::NOT_FOUND, t.not_found);
    };
    let page = |error: Option<String>, preview: Option<ImportPreviewView>| {
        render(ImportPage {
            c: s.chrome("import"),
            error,
            preview,
            job: None,
            progress: None,
            rejects_url: None,
        })
    };
    let request = match import_request(upload, &q) {
        Ok(r) => r,
        Err(e) => return page(Some(problem_text(s.lang, &e)), None),
    };
    let base = ImportPreviewView {
        upload_id: upload.to_string(),
        entity: request.entity.clone(),
        preset: request.preset.clone().unwrap_or_default(),
        missing: request.missing.join(", "),
        map: q.map.clone().unwrap_or_default(),
        outcome_column: q.outcome_column.clone().unwrap_or_default(),
        outcome_positive: q.outcome_positive.clone().unwrap_or_default(),
        summary: String::new(),
        columns: Vec::new(),
        headers: Vec::new(),
        rows: Vec::new(),
    };
    match state.app.preview_import(s.p(), &request).await {
        Ok(p) => {
            let columns: Vec<Row3> = p
                .columns
                .iter()
                .map(|c| {
                    let target = c["target"].as_str().unwrap_or_default();
                    let b = if target == "custom" {
                        format!(
                            "custom.{} ({})",
                            c["key"].as_str().unwrap_or_default(),
                            c["field_type"].as_str().unwrap_or_default()
                        )
                    } else {
                        target.to_string()
                    };
                    Row3 {
                        a: c["header"].as_str().unwrap_or_default().to_string(),
                        b,
                        c: c["chosen_by"].as_str().unwrap_or_default().to_string(),
                    }
                })
                .collect();
            let headers = columns.iter().map(|c| c.a.clone()).collect();
            let summary =
                t.rows_in_file.replace("{n}", &s.lang.number(p.rows as f64, 0)).replace("{d}", &p.delimiter);
            page(None, Some(ImportPreviewView { summary, columns, headers, rows: p.sample, ..base }))
        }
        Err(e) => page(Some(problem_text(s.lang, &e)), Some(base)),
    }
}

#[derive(Deserialize)]
struct ImportForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    action: String,
    #[serde(flatten)]
    query: ImportQueryForm,
}

#[derive(Deserialize)]
struct ImportQueryForm {
    entity: Option<String>,
    preset: Option<String>,
    missing: Option<String>,
    map: Option<String>,
    outcome_column: Option<String>,
    outcome_positive: Option<String>,
}

async fn import_submit(
    State(state): State<AppState>,
    s: Signed,
    Path(upload): Path<String>,
    Form(f): Form<ImportForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let Ok(upload) = upload.parse::<uuid::Uuid>() else {
        return error_page(s.lang, StatusCode::NOT_FOUND, s.lang.texts().not_found);
    };
    let q = ImportQuery {
        entity: f.query.entity,
        preset: f.query.preset,
        missing: f.query.missing,
        map: f.query.map,
        outcome_column: f.query.outcome_column,
        outcome_positive: f.query.outcome_positive,
    };
    // A refused run falls through to the preview, which shows why beside the mapping.
    if f.action == "run"
        && let Ok(request) = import_request(upload, &q)
    {
        match state.app.start_import(s.p(), request).await {
            Ok(job) => return Redirect::to(&format!("/import?job={}", job.id)).into_response(),
            Err(AppError::Forbidden { .. }) => {
                return error_page(s.lang, StatusCode::FORBIDDEN, s.lang.texts().not_allowed);
            }
            Err(_) => {}
        }
    }
    let mut url = format!("/import/{upload}?");
    for (k, v) in [
        ("entity", &q.entity),
        ("preset", &q.preset),
        ("missing", &q.missing),
        ("map", &q.map),
        ("outcome_column", &q.outcome_column),
        ("outcome_positive", &q.outcome_positive),
    ] {
        if let Some(v) = v {
            let _ = write!(url, "{k}={}&", urlencode(v));
        }
    }
    Redirect::to(&url).into_response()
}

async fn import_rejects_csv(State(state): State<AppState>, s: Signed, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<leadgate_core::ids::JobId>() else {
        return error_page(s.lang, StatusCode::NOT_FOUND, s.lang.texts().not_found);
    };
    let rejects = match state.app.import_rejects(s.p(), id).await {
        Ok(r) => r,
        Err(e) => return app_error(&s, e),
    };
    let mut out = String::from("line,column,value,reason\r\n");
    for r in rejects {
        let cells = [r.line.to_string(), r.column, r.value, r.reason];
        out.push_str(&cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    csv_download("rejects.csv", out)
}

// ----- administration -----

pub struct UserLine {
    pub id: String,
    pub email: String,
    pub name: String,
    pub roles: Vec<Choice>,
    pub disabled: bool,
}

#[derive(Template)]
#[template(path = "ui/admin_users.html")]
struct AdminUsersPage {
    c: Chrome,
    users: Vec<UserLine>,
    new_roles: Vec<Choice>,
    error: Option<String>,
}

fn role_choices(t: &Texts, current: Option<&str>) -> Vec<Choice> {
    choices(&[("marketing", t.role_marketing), ("sales", t.role_sales), ("admin", t.role_admin)], current)
}

async fn admin_users_page(
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

async fn admin_users(State(state): State<AppState>, s: Signed, Query(n): Query<NoticeQuery>) -> Response {
    let notice = n.done.map(|_| s.lang.texts().done.to_string());
    admin_users_page(&state, &s, notice, None).await
}

/// An error in the user's language: English pages keep the server's detailed sentence; other
/// languages get the field and a translated reason (the detail is written in English only).
fn problem_text(lang: Lang, e: &AppError) -> String {
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

fn field_errors_text(lang: Lang, errors: &[leadgate_core::validation::FieldError]) -> String {
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
                f => t.err_field.replace("{field}", f),
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[derive(Deserialize)]
struct NewUserForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    email: String,
    name: Option<String>,
    role: String,
    password: Option<String>,
}

async fn admin_add_user(State(state): State<AppState>, s: Signed, Form(f): Form<NewUserForm>) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let Some(role) = leadgate_core::access::Role::parse(&f.role) else {
        return admin_users_page(&state, &s, None, Some("role: pick admin, marketing or sales".into())).await;
    };
    let user = match state.app.create_user(s.p(), &f.email, f.name.as_deref(), role).await {
        Ok(u) => u,
        Err(AppError::Forbidden { .. }) => {
            return error_page(s.lang, StatusCode::FORBIDDEN, s.lang.texts().not_allowed);
        }
        Err(e) => return admin_users_page(&state, &s, None, Some(problem_text(s.lang, &e))).await,
    };
    if let Some(pw) = f.password.as_deref().filter(|p| !p.is_empty())
        && let Err(e) = state.app.set_password(s.p(), user.id, pw).await
    {
        return admin_users_page(&state, &s, None, Some(problem_text(s.lang, &e))).await;
    }
    Redirect::to("/admin/users?done=1").into_response()
}

#[derive(Deserialize)]
struct UserActionForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    action: String,
    role: Option<String>,
    password: Option<String>,
}

async fn admin_update_user(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<UserActionForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let Ok(id) = id.parse::<UserId>() else {
        return error_page(s.lang, StatusCode::NOT_FOUND, s.lang.texts().not_found);
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
        Err(AppError::Forbidden { .. }) => {
            error_page(s.lang, StatusCode::FORBIDDEN, s.lang.texts().not_allowed)
        }
        Err(e) => admin_users_page(&state, &s, None, Some(problem_text(s.lang, &e))).await,
    }
}

pub struct RepLine {
    pub id: String,
    pub name: String,
    pub profile: String,
    pub is_rep: bool,
}

#[derive(Template)]
#[template(path = "ui/admin_handoff.html")]
struct AdminHandoffPage {
    c: Chrome,
    version: i64,
    text: String,
    errors: Vec<String>,
    reps: Vec<RepLine>,
}

async fn admin_handoff_page(
    state: &AppState,
    s: &Signed,
    text: Option<String>,
    errors: Vec<String>,
    notice: Option<String>,
) -> Response {
    let view = match state.app.agreement(s.p()).await {
        Ok(v) => v,
        Err(e) => return app_error(s, e),
    };
    let reps = state.app.reps(s.p()).await.unwrap_or_default();
    let users = state.app.list_users(s.p()).await.unwrap_or_default();
    let lines = users
        .into_iter()
        .filter(|u| u.role == leadgate_core::access::Role::Sales && u.disabled_at.is_none())
        .map(|u| {
            let rep = reps.iter().find(|r| r.user_id == u.id);
            RepLine {
                id: u.id.to_string(),
                name: u.name.clone().unwrap_or_else(|| u.email.clone()),
                profile: match rep {
                    Some(r) => serde_json::to_string_pretty(&r.profile).unwrap_or_default(),
                    None => "{\n  \"team\": \"inside\",\n  \"countries\": [],\n  \"capacity\": 50\n}".into(),
                },
                is_rep: rep.is_some(),
            }
        })
        .collect();
    let mut c = s.chrome("admin");
    c.notice = notice;
    let failed = !errors.is_empty();
    let mut r = render(AdminHandoffPage {
        c,
        version: view.version,
        text: text.unwrap_or_else(|| serde_json::to_string_pretty(&view.agreement).unwrap_or_default()),
        errors,
        reps: lines,
    });
    if failed {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

async fn admin_handoff(State(state): State<AppState>, s: Signed, Query(n): Query<NoticeQuery>) -> Response {
    let notice = n.done.map(|_| s.lang.texts().done.to_string());
    admin_handoff_page(&state, &s, None, Vec::new(), notice).await
}

/// Parses JSON into `T`, naming the key path or the line at fault.
fn parse_json<T: serde::de::DeserializeOwned>(lang: Lang, text: &str) -> Result<T, Vec<String>> {
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
struct AgreementForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    agreement: String,
}

async fn admin_save_agreement(
    State(state): State<AppState>,
    s: Signed,
    Form(f): Form<AgreementForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let agreement = match parse_json::<leadgate_core::handoff::Agreement>(s.lang, &f.agreement) {
        Ok(a) => a,
        Err(errors) => return admin_handoff_page(&state, &s, Some(f.agreement), errors, None).await,
    };
    match state.app.put_agreement(s.p(), agreement).await {
        Ok(_) => Redirect::to("/admin/handoff?done=1").into_response(),
        Err(AppError::Forbidden { .. }) => {
            error_page(s.lang, StatusCode::FORBIDDEN, s.lang.texts().not_allowed)
        }
        Err(e) => {
            admin_handoff_page(&state, &s, Some(f.agreement), vec![problem_text(s.lang, &e)], None).await
        }
    }
}

#[derive(Deserialize)]
struct RepForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    profile: String,
}

async fn admin_save_rep(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<RepForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let Ok(id) = id.parse::<UserId>() else {
        return error_page(s.lang, StatusCode::NOT_FOUND, s.lang.texts().not_found);
    };
    let profile = match parse_json::<leadgate_core::handoff::RepProfile>(s.lang, &f.profile) {
        Ok(p) => p,
        Err(errors) => return admin_handoff_page(&state, &s, None, errors, None).await,
    };
    match state.app.put_rep(s.p(), id, profile).await {
        Ok(_) => Redirect::to("/admin/handoff?done=1").into_response(),
        Err(AppError::Forbidden { .. }) => {
            error_page(s.lang, StatusCode::FORBIDDEN, s.lang.texts().not_allowed)
        }
        Err(e) => admin_handoff_page(&state, &s, None, vec![problem_text(s.lang, &e)], None).await,
    }
}

pub struct DeliveryLine {
    pub id: String,
    pub when: String,
    pub event: String,
    pub state: String,
    pub attempts: i64,
    pub latency: String,
}

pub struct HookLine {
    pub id: String,
    pub url: String,
    pub types: String,
    pub deliveries: Vec<DeliveryLine>,
}

#[derive(Template)]
#[template(path = "ui/admin_webhooks.html")]
struct AdminWebhooksPage {
    c: Chrome,
    event_types: Vec<&'static str>,
    hooks: Vec<HookLine>,
    new_secret: Option<String>,
    error: Option<String>,
}

async fn admin_webhooks_page(
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
                    when: s.lang.datetime(d.created_at),
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

async fn admin_webhooks(State(state): State<AppState>, s: Signed) -> Response {
    admin_webhooks_page(&state, &s, None, None).await
}

async fn admin_add_webhook(State(state): State<AppState>, s: Signed, body: axum::body::Bytes) -> Response {
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
        Err(AppError::Forbidden { .. }) => {
            error_page(s.lang, StatusCode::FORBIDDEN, s.lang.texts().not_allowed)
        }
        Err(e) => admin_webhooks_page(&state, &s, None, Some(problem_text(s.lang, &e))).await,
    }
}

async fn admin_delete_webhook(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let Ok(id) = id.parse::<leadgate_core::ids::WebhookId>() else {
        return error_page(s.lang, StatusCode::NOT_FOUND, s.lang.texts().not_found);
    };
    match state.app.delete_webhook(s.p(), id).await {
        Ok(()) => Redirect::to("/admin/webhooks").into_response(),
        Err(e) => app_error(&s, e),
    }
}

async fn admin_redeliver(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let Ok(id) = id.parse::<leadgate_core::ids::DeliveryId>() else {
        return error_page(s.lang, StatusCode::NOT_FOUND, s.lang.texts().not_found);
    };
    match state.app.redeliver(s.p(), id).await {
        Ok(_) => Redirect::to("/admin/webhooks").into_response(),
        Err(e) => app_error(&s, e),
    }
}

// ----- account -----

#[derive(Template)]
#[template(path = "ui/account.html")]
struct AccountPage {
    c: Chrome,
    email: String,
    languages: Vec<Choice>,
    error: Option<String>,
}

async fn account(s: Signed, Query(n): Query<NoticeQuery>) -> Response {
    let t = s.lang.texts();
    let mut c = s.chrome("account");
    c.notice =
        n.done.map(|d| if d == "password" { t.password_changed.to_string() } else { t.done.to_string() });
    render(AccountPage {
        c,
        email: s.who.principal.user.email.clone(),
        languages: choices(
            &[("", t.language_browser), ("en", "English"), ("fr", "Français")],
            Some(s.who.language.as_deref().unwrap_or("")),
        ),
        error: None,
    })
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    password: String,
    repeat: String,
}

async fn change_password(
    State(state): State<AppState>,
    s: Signed,
    headers: HeaderMap,
    Form(f): Form<PasswordForm>,
) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let t = s.lang.texts();
    let page_with = |error: String| {
        let mut r = render(AccountPage {
            c: s.chrome("account"),
            email: s.who.principal.user.email.clone(),
            languages: choices(
                &[("", t.language_browser), ("en", "English"), ("fr", "Français")],
                Some(s.who.language.as_deref().unwrap_or("")),
            ),
            error: Some(error),
        });
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        r
    };
    if f.password != f.repeat {
        return page_with(t.passwords_differ.into());
    }
    match state.app.set_password(s.p(), s.p().user.id, &f.password).await {
        Ok(()) => {
            // Changing the password signed every session out, this one included: sign in again
            // quietly so the user stays where they are.
            match state.app.sign_in(&s.p().user.email, &f.password).await {
                Ok(token) => {
                    let secure = if behind_tls(&headers) { "; Secure" } else { "" };
                    let cookie =
                        format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=604800{secure}");
                    let mut r = Redirect::to("/account?done=password").into_response();
                    if let Ok(v) = HeaderValue::from_str(&cookie) {
                        r.headers_mut().insert(header::SET_COOKIE, v);
                    }
                    r
                }
                Err(_) => Redirect::to("/login").into_response(),
            }
        }
        Err(AppError::Invalid(e)) => page_with(field_errors_text(s.lang, &e.errors)),
        Err(e) => app_error(&s, e),
    }
}

#[derive(Deserialize)]
struct LanguageForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    language: String,
}

async fn change_language(State(state): State<AppState>, s: Signed, Form(f): Form<LanguageForm>) -> Response {
    if let Some(r) = s.refuse_forged(&f.csrf) {
        return r;
    }
    let lang = Some(f.language.as_str()).filter(|l| !l.is_empty());
    match state.app.set_language(s.p(), lang).await {
        Ok(()) => Redirect::to("/account?done=1").into_response(),
        Err(e) => app_error(&s, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_only_returns_to_local_pages() {
        assert_eq!(safe_next(Some("/contacts/1")), "/contacts/1");
        assert_eq!(safe_next(Some("//evil.example/x")), "/leads");
        assert_eq!(safe_next(Some("https://evil.example")), "/leads");
        assert_eq!(safe_next(Some("/\\evil.example")), "/leads");
        assert_eq!(safe_next(None), "/leads");
    }

    #[test]
    fn reasons_the_product_writes_are_translated_and_peoples_own_words_kept() {
        let user = Actor::User { user_id: UserId(uuid::Uuid::nil()) };
        let rule = |r: &str| Actor::Rule { rule: r.into(), rules_version: 3 };
        assert_eq!(transition_words(Lang::Fr, &user, "moved by hand"), "déplacé à la main");
        assert_eq!(
            transition_words(Lang::Fr, &user, "rejected by sales: no budget (next year)"),
            "rejeté par les ventes : Pas de budget (next year)"
        );
        assert_eq!(transition_words(Lang::Fr, &user, "étudiant, pas acheteur"), "étudiant, pas acheteur");
        assert!(
            transition_words(Lang::Fr, &rule("mql-threshold"), "fit grade B …")
                .starts_with("seuils du marketing")
        );
        assert_eq!(transition_words(Lang::En, &rule("mql-threshold"), "fit grade B …"), "fit grade B …");
        assert_eq!(
            task_words(Lang::Fr, "First contact with this new lead"),
            "Premier contact avec ce nouveau lead"
        );
        assert_eq!(task_words(Lang::Fr, "Appeler Ada"), "Appeler Ada");
        assert_eq!(
            assignment_words(Lang::Fr, Some("inside"), true, "rule `inside`: …"),
            "règle d'attribution « inside »"
        );
        assert_eq!(
            assignment_words(Lang::Fr, None, false, "no routing rules are set up"),
            "aucun commercial disponible"
        );
    }

    #[test]
    fn errors_on_french_pages_are_in_french() {
        let invalid = AppError::Invalid(leadgate_core::validation::ValidationErrors::single(
            "password",
            "is too short: use at least 10 characters",
        ));
        assert_eq!(problem_text(Lang::Fr, &invalid), "mot de passe : au moins 10 caractères");
        assert_eq!(problem_text(Lang::En, &invalid), "password: is too short: use at least 10 characters");
        let state = AppError::StateConflict("only MQL can be accepted".into());
        assert!(problem_text(Lang::Fr, &state).starts_with("Cette action"));
        let other = AppError::Invalid(leadgate_core::validation::ValidationErrors::single(
            "routing[0].name",
            "is required",
        ));
        assert_eq!(problem_text(Lang::Fr, &other), "routing[0].name : valeur refusée");
    }

    #[test]
    fn forms_from_other_sites_are_recognised() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("leadgate.example:8080"));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://leadgate.example:8080"));
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&h));
    }
}

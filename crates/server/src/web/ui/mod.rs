//! The web UI for marketing and sales operations, one module per page family (`leads`,
//! `contact`, `work` for a rep's queue and tasks, `pipeline` (board and deals), `dashboard`, `reports`, `rules`, `model`, `import`,
//! `admin`, `account`, `login`); this module holds the routes, the signed-in user, the page
//! chrome and the helpers they share. Server-rendered HTML (askama) with no script and no asset
//! from elsewhere: it works in any browser, keyboard first.
//!
//! Sessions: an HttpOnly, SameSite=Lax cookie (Secure behind TLS) holding a random token; every
//! form carries the session's CSRF token, and sign-in checks that the form came from this site.

use std::fmt::Write as _;

use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use leadgate_app::handoff::{NewTouch, SlaStatus, TaskKind, TouchOutcome};
use leadgate_app::lifecycle::RejectReason;
use leadgate_app::web::WebPrincipal;
use leadgate_app::{AppError, Principal};
use leadgate_core::ids::{ContactId, TaskId, UserId};
use leadgate_core::lifecycle::{Actor, LifecycleStage};
use leadgate_core::qualification::{Answer, ChecklistItem, Criterion};
use leadgate_core::scoring::{Cap, Temperature};
use leadgate_store::web::{InboxFilter, InboxSort};
use serde::Deserialize;

use super::i18n::{Lang, Texts};
use crate::AppState;

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
        .route("/reports", get(reports))
        .route("/reports.csv", get(reports_csv))
        .route("/pipeline", get(pipeline))
        .route("/pipeline/settings", get(pipeline_settings).post(pipeline_save_settings))
        .route("/forms", get(forms).post(forms_new))
        .route("/forms/{id}", get(form_page).post(form_save))
        .route("/fields", post(fields_new))
        .route("/fields/{entity}/{key}/delete", post(fields_delete))
        .route("/companies", get(companies))
        .route("/companies/{id}", get(company_page))
        .route("/deals/{id}", get(deal_page))
        .route("/deals/{id}/move", post(deal_move))
        .route("/deals/{id}/edit", post(deal_edit))
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
        .route("/admin/routing", post(admin_save_routing))
        .route("/admin/visibility", post(admin_save_visibility))
        .route("/admin/webhooks", get(admin_webhooks).post(admin_add_webhook))
        .route("/admin/webhooks/{id}/delete", post(admin_delete_webhook))
        .route("/admin/deliveries/{id}/redeliver", post(admin_redeliver))
        .route("/rules", get(rules_page).post(rules_submit))
        .route("/rules/weights", post(rules_weights))
        .route("/rules/edit", get(rule_editor::rule_edit_page).post(rule_editor::rule_edit_submit))
        .route("/model", get(model))
        .route("/jobs/{id}/progress", get(job_progress_json))
        .route("/model/train", post(model_train))
        .route("/model/deals/train", post(model_train_deals))
        .route("/account", get(account))
        .route("/account/password", post(change_password))
        .route("/account/language", post(change_language))
        .route("/account/time-zone", post(change_time_zone))
        .route("/contacts/new", get(new_contact).post(create_contact))
        .route("/contacts/{id}", get(contact))
        .route("/contacts/{id}/checklist", post(contact_checklist))
        .route("/contacts/{id}/touch", post(contact_touch))
        .route("/contacts/{id}/notes", post(contact_note))
        .route("/contacts/{id}/accept", post(contact_accept))
        .route("/contacts/{id}/reject", post(contact_reject))
        .route("/contacts/{id}/move", post(contact_move))
        .route("/contacts/{id}/deals", post(contact_new_deal))
        .route("/contacts/{id}/buying-role", post(contact_buying_role))
        .route("/contacts/{id}/export.zip", get(contact_export))
        .route("/contacts/{id}/erase", post(contact_erase))
        .route("/contacts/{id}/object", post(contact_object))
        .route("/nurture", get(nurture))
        .route("/nurture/settings", post(nurture_save_settings))
        .route("/nurture/sequences", post(nurture_new_sequence))
        .route("/nurture/sequences/{id}", get(nurture_sequence).post(nurture_save_sequence))
        .route("/nurture/templates", post(nurture_new_template))
        .route("/nurture/templates/{id}", get(nurture_template).post(nurture_save_template))
        .route("/nurture/templates/{id}/test", post(nurture_test_template))
        .route("/contacts/{id}/enrol", post(contact_enrol))
        .route("/privacy", get(privacy))
        .route("/privacy/erase", post(privacy_erase))
        .route("/privacy/purge", post(privacy_purge))
        .route("/privacy/audit", get(audit))
        .route("/privacy/audit.csv", get(audit_csv))
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

/// The session cookie holding `token` (seven days), `Secure` when the server is reached over TLS.
fn session_cookie(state: &AppState, headers: &HeaderMap, token: &str) -> Option<HeaderValue> {
    let secure = if state.web.secure_cookie(headers) { "; Secure" } else { "" };
    let name = state.web.cookie_name();
    HeaderValue::from_str(&format!("{name}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=604800{secure}"))
        .ok()
}

/// The header that removes the session cookie.
fn cleared_cookie(state: &AppState) -> HeaderValue {
    let secure = if state.web.cookie_name().starts_with("__Host-") { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}",
        state.web.cookie_name()
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("lg_session=; Path=/; Max-Age=0"))
}

/// The session token the browser sent.
fn session_token<'a>(state: &AppState, headers: &'a HeaderMap) -> Option<&'a str> {
    cookie_value(headers, state.web.cookie_name())
}

fn browser_lang(headers: &HeaderMap) -> Lang {
    Lang::from_accept_language(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()))
}

/// The signed-in user of a page, in their language.
pub struct Signed {
    pub who: WebPrincipal,
    pub lang: Lang,
    /// The reader's time zone: theirs, else their browser's (the `lg_tz` cookie the pages set),
    /// else UTC.
    pub zone: jiff::tz::TimeZone,
}

/// The zone a browser reported in the `lg_tz` cookie, if it is one.
fn browser_zone(headers: &HeaderMap) -> Option<jiff::tz::TimeZone> {
    let name = cookie_value(headers, "lg_tz")?;
    let name = url::form_urlencoded::parse(format!("z={name}").as_bytes()).next()?.1.into_owned();
    jiff::tz::TimeZone::get(&name).ok()
}

impl Signed {
    /// An instant in the reader's language and time zone, the zone named.
    fn datetime(&self, t: jiff::Timestamp) -> String {
        self.lang.datetime_in(t, &self.zone)
    }

    fn p(&self) -> &Principal {
        &self.who.principal
    }

    fn chrome(&self, nav: &'static str) -> Chrome {
        use leadgate_core::access::Permission;
        let role = self.who.principal.user.role;
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
            is_sales: role == leadgate_core::access::Role::Sales,
            is_admin: role == leadgate_core::access::Role::Admin,
            can_privacy: role.allows(Permission::ManagePersonalData),
            can_import: role.allows(Permission::Import),
            can_rules: role.allows(Permission::ManageScoring),
            can_model: role.allows(Permission::ManageModels),
            can_nurture: role.allows(Permission::ManageNurture),
            notice: None,
        }
    }

    /// What every posted form of a page about one record checks first: the session's CSRF token,
    /// then the record's id from the path. The id, or the page refusing the request (boxed: a
    /// response is large and the happy path should not carry it).
    fn accept<T: std::str::FromStr>(&self, csrf: &str, raw_id: &str) -> Result<T, Box<Response>> {
        if let Some(r) = self.refuse_forged(csrf) {
            return Err(Box::new(r));
        }
        raw_id
            .parse::<T>()
            .map_err(|_| Box::new(self.error(StatusCode::NOT_FOUND, self.lang.texts().not_found)))
    }

    /// An error as a page of the UI: the navigation, the message in the user's language, and a
    /// way back.
    fn error(&self, status: StatusCode, message: &str) -> Response {
        let mut r = render(ProblemPage { c: self.chrome(""), message: message.to_string() });
        *r.status_mut() = status;
        r
    }

    /// A posted form read as its fields, once its CSRF token holds and the user's role may do
    /// `permission`; else the refusal to answer.
    fn posted(
        &self,
        body: &[u8],
        permission: leadgate_core::access::Permission,
    ) -> Result<Posted, Box<Response>> {
        let form = Posted::read(body);
        match self.refuse_forged(form.csrf()).or_else(|| self.refuse_role(permission)) {
            Some(refused) => Err(Box::new(refused)),
            None => Ok(form),
        }
    }

    /// [`Signed::posted`] for a form about one record: also the record's id from the path.
    fn posted_about<T: std::str::FromStr>(
        &self,
        body: &[u8],
        raw_id: &str,
        permission: leadgate_core::access::Permission,
    ) -> Result<(Posted, T), Box<Response>> {
        let form = Posted::read(body);
        let id = self.accept(form.csrf(), raw_id)?;
        match self.refuse_role(permission) {
            Some(refused) => Err(Box::new(refused)),
            None => Ok((form, id)),
        }
    }

    /// The refusal of an action the user's role does not allow (`None`: allowed), before the
    /// form is even read: a role that may not save learns nothing from the form's errors.
    fn refuse_role(&self, permission: leadgate_core::access::Permission) -> Option<Response> {
        (!self.p().user.role.allows(permission))
            .then(|| self.error(StatusCode::FORBIDDEN, self.lang.texts().not_allowed))
    }

    /// The refusal of a form whose CSRF token is not this session's (`None`: the form is ours).
    fn refuse_forged(&self, token: &str) -> Option<Response> {
        // Compared in constant time: the token is a secret.
        if token.len() == self.who.csrf.len()
            && token.bytes().zip(self.who.csrf.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
        {
            None
        } else {
            Some(self.error(StatusCode::FORBIDDEN, self.lang.texts().form_expired))
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
        let Some(token) = session_token(state, &parts.headers) else {
            return Err(to_login(false));
        };
        match state.app.web_session(token).await {
            Ok(mut who) => {
                who.principal.address = crate::client::address_of(parts);
                let lang = who
                    .language
                    .as_deref()
                    .and_then(Lang::parse)
                    .unwrap_or_else(|| browser_lang(&parts.headers));
                let zone = who
                    .time_zone
                    .as_deref()
                    .and_then(|z| jiff::tz::TimeZone::get(z).ok())
                    .or_else(|| browser_zone(&parts.headers))
                    .unwrap_or(jiff::tz::TimeZone::UTC);
                Ok(Signed { who, lang, zone })
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
    /// Whether the user handles personal data (exports, erasures, retention): admins, marketing.
    pub can_privacy: bool,
    /// Whether the user may act on the import, rules and model pages (the navigation shows
    /// them only then: a page whose every action is refused is not a menu entry).
    pub can_import: bool,
    pub can_rules: bool,
    pub can_model: bool,
    pub can_nurture: bool,
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

#[derive(Template)]
#[template(path = "ui/problem.html")]
struct ProblemPage {
    c: Chrome,
    message: String,
}

/// An error for a visitor who is not signed in (or whose session cannot be read): a page in
/// their browser's language with a way to sign in.
fn error_page(lang: Lang, status: StatusCode, message: &str) -> Response {
    let mut r = render(ErrorPage { t: lang.texts(), lang: lang.code(), message: message.to_string() });
    *r.status_mut() = status;
    r
}

/// An application error as a page, in the user's words.
/// A posted form read as its list of fields: for forms with repeated names (checkboxes) or
/// numbered lines, which a struct of fields cannot describe.
pub(super) struct Posted(Vec<(String, String)>);

impl Posted {
    fn read(body: &[u8]) -> Posted {
        Posted(serde_urlencoded::from_bytes(body).unwrap_or_default())
    }

    /// A field's value, trimmed; empty when the form did not send it.
    fn value(&self, name: &str) -> String {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_string()).unwrap_or_default()
    }

    /// Whether the form sent the field at all (an empty value is still sent).
    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// The form's CSRF token.
    fn csrf(&self) -> &str {
        self.0.iter().find(|(k, _)| k == "_csrf").map_or("", |(_, v)| v.as_str())
    }
}

impl std::ops::Deref for Posted {
    type Target = [(String, String)];
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// A form shown again with its problems: 422, so scripts and tests see the refusal.
fn refused(mut page: Response) -> Response {
    *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    page
}

fn app_error(s: &Signed, e: AppError) -> Response {
    let t = s.lang.texts();
    match e {
        AppError::Forbidden { .. } => s.error(StatusCode::FORBIDDEN, t.not_allowed),
        AppError::NotFound { .. } => s.error(StatusCode::NOT_FOUND, t.not_found),
        AppError::Invalid(_) => s.error(StatusCode::UNPROCESSABLE_ENTITY, &problem_text(s.lang, &e)),
        AppError::IllegalTransition(_) | AppError::StateConflict(_) | AppError::Conflict { .. } => {
            s.error(StatusCode::CONFLICT, &problem_text(s.lang, &e))
        }
        AppError::Unavailable(_) | AppError::Contention(_) => {
            s.error(StatusCode::SERVICE_UNAVAILABLE, t.err_unavailable)
        }
        AppError::DiskFull(_) => s.error(StatusCode::INSUFFICIENT_STORAGE, t.err_disk_full),
        other => {
            tracing::error!(error = %other, "web UI request failed");
            s.error(StatusCode::INTERNAL_SERVER_ERROR, t.error_title)
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
        LifecycleStage::Churned => t.stage_churned,
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
        SlaStatus::NoDeadline => t.sla_no_deadline,
        SlaStatus::OnTrack => t.sla_on_track,
        SlaStatus::Warning => t.sla_warning,
        SlaStatus::Breached => t.sla_breached,
        SlaStatus::Met => t.sla_met,
        SlaStatus::Missed => t.sla_missed,
    }
}

/// An option of a `<select>`.
#[derive(Clone)]
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

// The pages. Their items are `pub(super)`, gathered here so the routes and the pages share them.
mod account;
mod admin;
mod capture;
mod companies;
mod contact;
mod dashboard;
mod extract;
mod import;
mod leads;
mod login;
mod model;
mod new_contact;
mod nurture;
mod pipeline;
mod privacy;
mod reports;
mod routing;
mod rule_editor;
mod rules;
mod work;

use account::*;
use admin::*;
use capture::*;
use companies::*;
use contact::*;
use dashboard::*;
pub(crate) use extract::page_error;
use extract::{Form, Query};
use import::*;
use leads::*;
use login::*;
use model::*;
use new_contact::*;
use nurture::*;
use pipeline::*;
use privacy::*;
use reports::*;
use rules::*;
use work::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_task_titles_read_in_french() {
        let title = "Reach the decision maker: an intermediary of theirs made a quote request";
        assert_eq!(task_words(Lang::En, title), title);
        let fr = task_words(Lang::Fr, title);
        assert!(fr.starts_with("Joindre le décideur") && fr.ends_with("demande de devis"), "{fr}");
    }

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
        assert_eq!(problem_text(Lang::Fr, &other), "routing[0].name\u{a0}: est obligatoire");
        let range = AppError::Invalid(leadgate_core::validation::ValidationErrors::single(
            "fit.rules[2].when.value",
            "is not a valid regular expression: unclosed group",
        ));
        assert_eq!(
            problem_text(Lang::Fr, &range),
            "fit.rules[2].when.value\u{a0}: n'est pas une expression régulière valide : unclosed group"
        );
        let profile = AppError::Invalid(leadgate_core::validation::ValidationErrors::single(
            "max_employees",
            "must be at least min_employees",
        ));
        assert_eq!(
            problem_text(Lang::Fr, &profile),
            "Plus grande entreprise (salariés)\u{a0}: doit valoir au moins min_employees",
            "a rep profile's field by its label in the form"
        );
        let unread =
            AppError::Invalid(leadgate_core::validation::ValidationErrors::single("x", "wants a fish"));
        assert_eq!(problem_text(Lang::Fr, &unread), "x : valeur refusée (wants a fish)", "the detail stays");
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

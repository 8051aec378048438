//! Personal data: a person's export, erasure (one contact, or a list of e-mails), the
//! retention rule's dry run and purge, and the audit log.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use leadgate_app::privacy::{AuditView, ErasureReceipt, RetentionReport};
use leadgate_core::ids::ContactId;
use leadgate_store::privacy::AuditFilter;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ListPage, paging};
use crate::AppState;
use crate::extract::{Auth, Json, Query, path_id};
use crate::problem::ApiError;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export_contact))
        .routes(routes!(erase_contact))
        .routes(routes!(object))
        .routes(routes!(preferences_link))
        .routes(routes!(erase_emails))
        .routes(routes!(retention_due))
        .routes(routes!(purge))
        .routes(routes!(audit_log))
}

#[derive(Debug, Default, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum ExportFormat {
    /// `person.json` and a CSV per list, in a zip.
    #[default]
    Zip,
    /// The JSON document alone.
    Json,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ExportParams {
    /// `zip` (default) or `json`.
    format: Option<ExportFormat>,
}

/// Everything Leadgate holds about one person (GDPR articles 15 and 20): the contact, its
/// company, score and its explanation, prediction, lifecycle history, checklist, buying role,
/// assignments, tasks, consents with their proof, deals and events. The export is recorded in
/// the audit log.
#[utoipa::path(
    get, path = "/api/v1/contacts/{id}/export", tag = "personal data",
    params(("id" = String, Path, format = Uuid, description = "The contact's id"), ExportParams),
    responses((status = 200, description = "The person's data: a zip (`person.json` and CSV files) or the JSON document",
        body = Object, content(("application/json"), ("application/zip"))))
)]
async fn export_contact(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    Query(q): Query<ExportParams>,
) -> Result<Response, ApiError> {
    let id: ContactId = path_id(&id)?;
    Ok(match q.format.unwrap_or_default() {
        ExportFormat::Json => axum::Json(state.app.export_person(&principal, id).await?).into_response(),
        ExportFormat::Zip => {
            zip_download(state.app.export_person_zip(&principal, id).await?, &format!("contact-{id}.zip"))
        }
    })
}

/// A zip file as a download.
pub(crate) fn zip_download(body: Vec<u8>, name: &str) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// Erase a person (GDPR article 17): the contact and everything that holds their data go, and
/// their e-mail stays only as a keyed hash on the suppression list, so no later import, form or
/// API call records them again. Webhook subscribers get `contact.erased` with the id only.
#[utoipa::path(
    post, path = "/api/v1/contacts/{id}/erasure", tag = "personal data",
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    responses((status = 200, description = "What was erased", body = ErasureReceipt))
)]
async fn erase_contact(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<ErasureReceipt>, ApiError> {
    let id: ContactId = path_id(&id)?;
    Ok(axum::Json(state.app.erase_contact(&principal, id).await?))
}

/// Record the person's objection to direct marketing (GDPR article 21), which is absolute: they
/// become do-not-email and do-not-call, their score and prediction are deleted and no longer
/// computed, and the contact shows `objected_at`.
#[utoipa::path(
    post, path = "/api/v1/contacts/{id}/objection", tag = "personal data",
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    responses((status = 200, description = "The contact, objected", body = leadgate_core::contact::Contact))
)]
async fn object(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<leadgate_core::contact::Contact>, ApiError> {
    let id: ContactId = path_id(&id)?;
    Ok(axum::Json(state.app.record_objection(&principal, id).await?))
}

/// A link to the person's preferences page.
#[derive(Debug, serde::Serialize, ToSchema)]
struct PreferencesLink {
    /// The page's path on this server (`/p/{token}`): the person withdraws a purpose or objects
    /// there in one click, without an account.
    path: String,
}

/// The link to give a person to their preferences page (each consent purpose withdrawn in one
/// click, an objection to all direct marketing).
#[utoipa::path(
    get, path = "/api/v1/contacts/{id}/preferences-link", tag = "personal data",
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    responses((status = 200, description = "The link", body = PreferencesLink))
)]
async fn preferences_link(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<PreferencesLink>, ApiError> {
    let id: ContactId = path_id(&id)?;
    let token = state.app.preferences_token(&principal, id).await?;
    Ok(axum::Json(PreferencesLink { path: format!("/p/{token}") }))
}

/// E-mail addresses to erase.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EraseEmails {
    /// One address per item (at most 100,000).
    #[schema(max_items = 100000)]
    emails: Vec<String>,
}

/// Erase everyone whose e-mail is listed, and suppress every listed e-mail, found or not: the
/// receipt says how many were found and erased, and how many were already absent.
#[utoipa::path(
    post, path = "/api/v1/erasures", tag = "personal data",
    request_body = EraseEmails,
    responses((status = 200, description = "What was erased", body = ErasureReceipt))
)]
async fn erase_emails(
    State(state): State<AppState>,
    Auth(principal): Auth,
    body: Json<EraseEmails>,
) -> Result<axum::Json<ErasureReceipt>, ApiError> {
    if body.value.emails.len() > 100_000 {
        return Err(ApiError::invalid("emails", "at most 100,000 addresses per request: split the list"));
    }
    // One per line, as the command line's file: an item holding a line break is refused whole.
    let mut list = String::new();
    for (i, e) in body.value.emails.iter().enumerate() {
        if e.contains(['\n', '\r']) {
            return Err(ApiError::invalid(format!("emails[{i}]"), "is not an e-mail address"));
        }
        list.push_str(e);
        list.push('\n');
    }
    Ok(axum::Json(state.app.erase_emails(&principal, &list).await?))
}

/// Who is due under the retention rule (no contact coming from the person for the retention
/// period): a dry run, nothing changes.
#[utoipa::path(
    get, path = "/api/v1/retention", tag = "personal data",
    responses((status = 200, description = "Who is due", body = RetentionReport))
)]
async fn retention_due(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<axum::Json<RetentionReport>, ApiError> {
    Ok(axum::Json(state.app.retention_due(&principal).await?))
}

/// Erase everyone due under the retention rule now (the daily job does it too).
#[utoipa::path(
    post, path = "/api/v1/retention/purge", tag = "personal data",
    responses((status = 200, description = "Who was erased", body = RetentionReport))
)]
async fn purge(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<axum::Json<RetentionReport>, ApiError> {
    Ok(axum::Json(state.app.purge(&principal).await?))
}

#[derive(Debug, Default, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum LogFormat {
    #[default]
    Json,
    Csv,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AuditParams {
    /// An action (`contact.erased`) or a family of them (`user`).
    action: Option<String>,
    /// The actor's e-mail.
    actor: Option<String>,
    #[param(value_type = Option<String>, format = DateTime)]
    since: Option<Timestamp>,
    #[param(value_type = Option<String>, format = DateTime)]
    until: Option<Timestamp>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// `json` (default) or `csv` (every matching entry, up to 100,000).
    format: Option<LogFormat>,
}

/// The audit log of sensitive actions, newest first (admins): sign-ins, users and roles, API
/// keys, exports, erasures, purges, consents recorded by staff, rules and agreement changes,
/// model activations, webhooks.
#[utoipa::path(
    get, path = "/api/v1/audit-log", tag = "personal data",
    params(AuditParams),
    responses((status = 200, description = "A page of entries", body = ListPage<AuditView>, content(("application/json"), ("text/csv"))))
)]
async fn audit_log(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<AuditParams>,
) -> Result<Response, ApiError> {
    let (limit, cursor) = paging(q.limit, q.cursor.as_deref())?;
    let filter = AuditFilter { action: q.action, actor: q.actor, since: q.since, until: q.until };
    Ok(match q.format.unwrap_or_default() {
        LogFormat::Json => {
            let page: ListPage<AuditView> =
                state.app.audit_log(&principal, &filter, limit, cursor).await?.into();
            axum::Json(page).into_response()
        }
        LogFormat::Csv => {
            super::csv_download(state.app.audit_csv(&principal, &filter, 100_000).await?, "audit-log.csv")
        }
    })
}

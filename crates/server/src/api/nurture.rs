//! Nurture: e-mail templates, sequences, enrolments, message states, the sending rules, and
//! bounces received by mail.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use leadgate_app::nurture::{
    BounceReceipt, ContactNurture, EnrolReceipt, NurtureSettings, SequenceDraft, SequenceView, TemplateDraft,
};
use leadgate_core::ids::{ContactId, EnrolmentId, SequenceId, TemplateId};
use leadgate_core::nurture::MessageState;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Auth, Json, Query, path_id};
use crate::problem::ApiError;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(list_templates, create_template))
        .routes(routes!(get_template, update_template))
        .routes(routes!(preview_template))
        .routes(routes!(test_send))
        .routes(routes!(list_sequences, create_sequence))
        .routes(routes!(get_sequence, update_sequence))
        .routes(routes!(enrol))
        .routes(routes!(remove_enrolment))
        .routes(routes!(contact_nurture))
        .routes(routes!(messages))
        .routes(routes!(receive_bounce, unmatched_bounces))
}

/// The sending rules: window (days and hours, in the contact's `time_zone` field or the
/// workspace's), frequency cap across sequences, tracking switch, default sender.
#[utoipa::path(get, path = "/api/v1/nurture/settings", tag = "nurture",
    responses((status = 200, description = "The settings", body = NurtureSettings)))]
async fn get_settings(
    State(state): State<AppState>,
    Auth(p): Auth,
) -> Result<axum::Json<NurtureSettings>, ApiError> {
    Ok(axum::Json(state.app.nurture_settings(&p).await?))
}

/// Replace the sending rules.
#[utoipa::path(put, path = "/api/v1/nurture/settings", tag = "nurture", request_body = NurtureSettings,
    responses((status = 200, description = "The settings", body = NurtureSettings)))]
async fn put_settings(
    State(state): State<AppState>,
    Auth(p): Auth,
    body: Json<NurtureSettings>,
) -> Result<axum::Json<NurtureSettings>, ApiError> {
    Ok(axum::Json(state.app.put_nurture_settings(&p, body.value).await?))
}

/// Every e-mail template.
#[utoipa::path(get, path = "/api/v1/email-templates", tag = "nurture",
    responses((status = 200, description = "The templates", body = Vec<Object>)))]
async fn list_templates(State(state): State<AppState>, Auth(p): Auth) -> Result<Response, ApiError> {
    Ok(axum::Json(state.app.templates(&p).await?).into_response())
}

/// Create a template. Subject, HTML and text are minijinja templates over the contact's fields
/// (`{{ first_name | default("Bonjour") }}`, `{{ company }}`, custom fields by key); values are
/// HTML-escaped. Scripts, frames and event handlers are refused. The text part is derived from
/// the HTML when absent.
#[utoipa::path(post, path = "/api/v1/email-templates", tag = "nurture", request_body = TemplateDraft,
    responses((status = 201, description = "The template", body = Object)))]
async fn create_template(
    State(state): State<AppState>,
    Auth(p): Auth,
    body: Json<TemplateDraft>,
) -> Result<Response, ApiError> {
    Ok((StatusCode::CREATED, axum::Json(state.app.create_template(&p, body.value).await?)).into_response())
}

#[utoipa::path(get, path = "/api/v1/email-templates/{id}", tag = "nurture",
    params(("id" = String, Path, format = Uuid, description = "The template's id")),
    responses((status = 200, description = "The template", body = Object)))]
async fn get_template(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: TemplateId = path_id(&id)?;
    Ok(axum::Json(state.app.template(&p, id).await?).into_response())
}

/// Replace a template (messages already sent keep what they said).
#[utoipa::path(put, path = "/api/v1/email-templates/{id}", tag = "nurture", request_body = TemplateDraft,
    params(("id" = String, Path, format = Uuid, description = "The template's id")),
    responses((status = 200, description = "The template", body = Object)))]
async fn update_template(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: Json<TemplateDraft>,
) -> Result<Response, ApiError> {
    let id: TemplateId = path_id(&id)?;
    Ok(axum::Json(state.app.update_template(&p, id, body.value).await?).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PreviewRequest {
    /// The contact whose fields fill the template.
    #[schema(value_type = String, format = Uuid)]
    contact: ContactId,
}

/// The template rendered for a real contact: subject, HTML and text (nothing is sent).
#[utoipa::path(post, path = "/api/v1/email-templates/{id}/preview", tag = "nurture", request_body = PreviewRequest,
    params(("id" = String, Path, format = Uuid, description = "The template's id")),
    responses((status = 200, description = "The rendered parts", body = Object)))]
async fn preview_template(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: Json<PreviewRequest>,
) -> Result<Response, ApiError> {
    let id: TemplateId = path_id(&id)?;
    Ok(axum::Json(state.app.preview_template(&p, id, body.value.contact).await?).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TestSend {
    /// Where to send it.
    to: String,
    /// The contact whose fields fill it (empty fields when absent).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    contact: Option<ContactId>,
}

#[derive(Debug, serde::Serialize, ToSchema)]
struct TestSent {
    /// The SMTP server's answer.
    reply: String,
}

/// Send the template once to an address, subject prefixed `[TEST]` (not recorded as a message).
#[utoipa::path(post, path = "/api/v1/email-templates/{id}/test", tag = "nurture", request_body = TestSend,
    params(("id" = String, Path, format = Uuid, description = "The template's id")),
    responses((status = 200, description = "Accepted by the SMTP server", body = TestSent)))]
async fn test_send(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: Json<TestSend>,
) -> Result<axum::Json<TestSent>, ApiError> {
    let id: TemplateId = path_id(&id)?;
    let reply = state.app.test_send(&p, id, &body.value.to, body.value.contact).await?;
    Ok(axum::Json(TestSent { reply }))
}

/// Every sequence.
#[utoipa::path(get, path = "/api/v1/sequences", tag = "nurture",
    responses((status = 200, description = "The sequences", body = Vec<Object>)))]
async fn list_sequences(State(state): State<AppState>, Auth(p): Auth) -> Result<Response, ApiError> {
    Ok(axum::Json(state.app.sequences(&p).await?).into_response())
}

/// Create a sequence: ordered steps (`send`, `wait`, `wait_for`, `branch`, `set_field`,
/// `notify_owner`, `end`), each with a stable `key`; an optional consent `purpose` checked at
/// send time, an optional `trigger` (`rejected_by_sales`, `form_submitted`, `entered_stage`,
/// `cold_for`) and whether contacts may be enrolled again.
#[utoipa::path(post, path = "/api/v1/sequences", tag = "nurture", request_body = SequenceDraft,
    responses((status = 201, description = "The sequence", body = SequenceView)))]
async fn create_sequence(
    State(state): State<AppState>,
    Auth(p): Auth,
    body: Json<SequenceDraft>,
) -> Result<Response, ApiError> {
    Ok((StatusCode::CREATED, axum::Json(state.app.create_sequence(&p, body.value).await?)).into_response())
}

/// A sequence with its figures per step (sent, bounced, human opens, clicks…) and its
/// enrolments by state and exit reason.
#[utoipa::path(get, path = "/api/v1/sequences/{id}", tag = "nurture",
    params(("id" = String, Path, format = Uuid, description = "The sequence's id"), SequenceQuery),
    responses((status = 200, description = "The sequence", body = SequenceView)))]
async fn get_sequence(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Query(q): Query<SequenceQuery>,
) -> Result<axum::Json<SequenceView>, ApiError> {
    let id: SequenceId = path_id(&id)?;
    Ok(axum::Json(state.app.sequence(&p, id, q.conversion_days).await?))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SequenceQuery {
    /// A message converted when its person became MQL or went further within this many days
    /// of its sending (1–365, default 30).
    conversion_days: Option<u32>,
}

/// Replace a sequence (`state: archived` ends every enrolment; `paused` holds them).
#[utoipa::path(put, path = "/api/v1/sequences/{id}", tag = "nurture", request_body = SequenceDraft,
    params(("id" = String, Path, format = Uuid, description = "The sequence's id")),
    responses((status = 200, description = "The sequence", body = SequenceView)))]
async fn update_sequence(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: Json<SequenceDraft>,
) -> Result<axum::Json<SequenceView>, ApiError> {
    let id: SequenceId = path_id(&id)?;
    Ok(axum::Json(state.app.update_sequence(&p, id, body.value).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EnrolRequest {
    /// Up to 10,000 contact ids.
    #[schema(value_type = Vec<String>)]
    contacts: Vec<ContactId>,
}

/// Enrol contacts. Those who cannot receive the sequence's messages (no consent for its purpose,
/// do-not-email, unsubscribed, bounced, already with sales) are refused and counted by reason.
#[utoipa::path(post, path = "/api/v1/sequences/{id}/enrolments", tag = "nurture", request_body = EnrolRequest,
    params(("id" = String, Path, format = Uuid, description = "The sequence's id")),
    responses((status = 200, description = "What was done", body = EnrolReceipt)))]
async fn enrol(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    body: Json<EnrolRequest>,
) -> Result<axum::Json<EnrolReceipt>, ApiError> {
    let id: SequenceId = path_id(&id)?;
    Ok(axum::Json(state.app.enrol(&p, id, &body.value.contacts).await?))
}

/// Take a contact out of a sequence (exit reason `removed`).
#[utoipa::path(delete, path = "/api/v1/enrolments/{id}", tag = "nurture",
    params(("id" = String, Path, format = Uuid, description = "The enrolment's id")),
    responses((status = 200, description = "The enrolment, ended", body = Object)))]
async fn remove_enrolment(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: EnrolmentId = path_id(&id)?;
    Ok(axum::Json(state.app.remove_enrolment(&p, id).await?).into_response())
}

/// A contact's enrolments (with exit reasons) and every message with its state.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/nurture", tag = "nurture",
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    responses((status = 200, description = "Enrolments and messages", body = ContactNurture)))]
async fn contact_nurture(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<ContactNurture>, ApiError> {
    let id: ContactId = path_id(&id)?;
    Ok(axum::Json(state.app.contact_nurture(&p, id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct MessageFilter {
    /// `ambiguous` (default: sent or not, the mail server's log says), `reserved`, `sending`,
    /// `sent`, `failed`, `bounced`, `skipped`.
    state: Option<MessageState>,
}

/// Messages in a state, newest first (at most 1,000). Ambiguous messages are never resent:
/// check the mail server's log for them.
#[utoipa::path(get, path = "/api/v1/email-messages", tag = "nurture", params(MessageFilter),
    responses((status = 200, description = "The messages", body = Vec<Object>)))]
async fn messages(
    State(state): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<MessageFilter>,
) -> Result<Response, ApiError> {
    let wanted = q.state.unwrap_or(MessageState::Ambiguous);
    Ok(axum::Json(state.app.messages_in_state(&p, wanted).await?).into_response())
}

/// Hand in a bounce (a delivery status notification or a non-standard failure message, raw as
/// received) or a mail sent to the `List-Unsubscribe` mailto address. Matched to its message by
/// the return path or the returned headers: a hard bounce makes the contact do-not-email and
/// ends its sequences; soft bounces count (hard after 3 in a row). What matches nothing is kept
/// for review.
#[utoipa::path(post, path = "/api/v1/bounces", tag = "nurture",
    request_body(content = String, content_type = "text/plain", description = "The raw message (any content type: `message/rfc822`, `text/plain`…)"),
    responses((status = 200, description = "What the message was", body = BounceReceipt)))]
async fn receive_bounce(
    State(state): State<AppState>,
    Auth(p): Auth,
    body: Bytes,
) -> Result<axum::Json<BounceReceipt>, ApiError> {
    p.require(leadgate_core::access::Permission::ManageNurture)?;
    if body.is_empty() {
        return Err(leadgate_app::AppError::invalid(
            "body",
            "send the raw bounce message as the request body",
        )
        .into());
    }
    Ok(axum::Json(state.app.receive_bounce(&body).await?))
}

#[derive(Debug, serde::Serialize, ToSchema)]
struct UnmatchedBounce {
    #[schema(value_type = String, format = Uuid)]
    id: uuid::Uuid,
    #[schema(value_type = String, format = DateTime)]
    received_at: jiff::Timestamp,
    raw: String,
}

/// Bounce messages that matched none of ours, newest first, for review.
#[utoipa::path(get, path = "/api/v1/bounces", tag = "nurture",
    responses((status = 200, description = "Unmatched bounces", body = Vec<UnmatchedBounce>)))]
async fn unmatched_bounces(
    State(state): State<AppState>,
    Auth(p): Auth,
) -> Result<axum::Json<Vec<UnmatchedBounce>>, ApiError> {
    let list = state.app.unmatched_bounces(&p).await?;
    Ok(axum::Json(
        list.into_iter().map(|(id, received_at, raw)| UnmatchedBounce { id, received_at, raw }).collect(),
    ))
}

//! `/api/v1/contacts`: create, read, update, delete, list, timeline.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use leadgate_core::contact::{Contact, ContactDraft, ContactPatch};
use leadgate_core::event::Event;
use leadgate_core::filter::ContactFilter;
use leadgate_core::ids::{CompanyId, ContactId};
use leadgate_core::lifecycle::LifecycleStage;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ListPage, created, paging};
use crate::AppState;
use crate::extract::{Auth, IdempotencyKey, Json, Query, path_id};
use crate::problem::ApiError;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_contact, list_contacts))
        .routes(routes!(get_contact, update_contact, delete_contact))
        .routes(routes!(contact_timeline))
        .routes(routes!(contact_notes, add_note))
}

/// A contact's free notes, newest first.
#[utoipa::path(
    get, path = "/api/v1/contacts/{id}/notes", tag = "contacts",
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    responses((status = 200, description = "The notes", body = Vec<leadgate_app::contacts::Note>))
)]
async fn contact_notes(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<leadgate_app::contacts::Note>>, ApiError> {
    let id: ContactId = path_id(&id)?;
    Ok(axum::Json(state.app.notes(&principal, id).await?))
}

/// A note to add.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewNote {
    /// Plain text, up to 10,000 characters.
    body: String,
}

/// Add a free note to a contact (anyone who may edit the lead).
#[utoipa::path(
    post, path = "/api/v1/contacts/{id}/notes", tag = "contacts",
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    request_body = NewNote,
    responses((status = 201, description = "The note", body = leadgate_app::contacts::Note))
)]
async fn add_note(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    body: Json<NewNote>,
) -> Result<Response, ApiError> {
    let id: ContactId = path_id(&id)?;
    let note = state.app.add_note(&principal, id, &body.value.body).await?;
    Ok((StatusCode::CREATED, axum::Json(note)).into_response())
}

/// Create a contact.
///
/// The e-mail (if any) must be unused in the workspace, case-insensitively. Custom field values
/// are checked against the declared fields.
#[utoipa::path(
    post, path = "/api/v1/contacts", tag = "contacts",
    request_body = ContactDraft,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key and body return the first answer")),
    responses((status = 201, description = "The contact was created", body = Contact))
)]
async fn create_contact(
    State(state): State<AppState>,
    Auth(principal): Auth,
    idem: IdempotencyKey,
    body: Json<ContactDraft>,
) -> Result<Response, ApiError> {
    let idem = idem.with(&body.fingerprint)?;
    let recorded = state.app.create_contact(&principal, body.value, idem.as_ref()).await?;
    let location = format!("/api/v1/contacts/{}", recorded.value.id);
    Ok(created(recorded, Some(location)))
}

/// Filters of the contact list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContactListQuery {
    /// Exact e-mail, case-insensitive.
    email: Option<String>,
    company_id: Option<CompanyId>,
    /// Exact first-touch source.
    source: Option<String>,
    lifecycle_stage: Option<LifecycleStage>,
    #[param(value_type = Option<String>, format = DateTime)]
    created_after: Option<Timestamp>,
    #[param(value_type = Option<String>, format = DateTime)]
    created_before: Option<Timestamp>,
    #[param(value_type = Option<String>, format = DateTime)]
    updated_after: Option<Timestamp>,
    #[param(value_type = Option<String>, format = DateTime)]
    updated_before: Option<Timestamp>,
    /// Free text searched in names and e-mail.
    q: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List contacts.
///
/// In creation order, filtered by every criterion given.
#[utoipa::path(
    get, path = "/api/v1/contacts", tag = "contacts",
    params(ContactListQuery),
    responses((status = 200, description = "A page of contacts", body = ListPage<Contact>))
)]
async fn list_contacts(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<ContactListQuery>,
) -> Result<axum::Json<ListPage<Contact>>, ApiError> {
    let (limit, cursor) = paging(q.limit, q.cursor.as_deref())?;
    let filter = ContactFilter {
        email: q.email,
        company_id: q.company_id,
        source: q.source,
        lifecycle_stage: q.lifecycle_stage,
        created_after: q.created_after,
        created_before: q.created_before,
        updated_after: q.updated_after,
        updated_before: q.updated_before,
        text: q.q.filter(|t| !t.trim().is_empty()),
        ..Default::default()
    };
    let page = state.app.list_contacts(&principal, &filter, limit, cursor).await?;
    Ok(axum::Json(page.into()))
}

/// Get a contact.
#[utoipa::path(
    get, path = "/api/v1/contacts/{id}", tag = "contacts",
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    responses((status = 200, description = "The contact, with its current hand-over to sales", body = leadgate_app::handoff::ContactDetail))
)]
async fn get_contact(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<leadgate_app::handoff::ContactDetail>, ApiError> {
    let id: ContactId = path_id(&id)?;
    Ok(axum::Json(state.app.contact_detail(&principal, id).await?))
}

/// Update a contact (merge-patch).
///
/// Fields absent from the body are kept, `null` clears a field. The lifecycle stage is not
/// edited here: it changes through transitions.
#[utoipa::path(
    patch, path = "/api/v1/contacts/{id}", tag = "contacts",
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    request_body = ContactPatch,
    responses((status = 200, description = "The updated contact", body = Contact))
)]
async fn update_contact(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    body: Json<ContactPatch>,
) -> Result<axum::Json<Contact>, ApiError> {
    let id: ContactId = path_id(&id)?;
    Ok(axum::Json(state.app.update_contact(&principal, id, body.value).await?))
}

/// Delete a contact and its timeline.
#[utoipa::path(
    delete, path = "/api/v1/contacts/{id}", tag = "contacts",
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    responses((status = 204, description = "Deleted"))
)]
async fn delete_contact(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: ContactId = path_id(&id)?;
    state.app.delete_contact(&principal, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A contact's timeline, newest first.
#[utoipa::path(
    get, path = "/api/v1/contacts/{id}/timeline", tag = "contacts",
    params(("id" = String, Path, format = Uuid, description = "The contact's id"), PageQuery),
    responses((status = 200, description = "A page of events, newest first", body = ListPage<Event>))
)]
async fn contact_timeline(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<ListPage<Event>>, ApiError> {
    let id: ContactId = path_id(&id)?;
    let (limit, cursor) = paging(q.limit, q.cursor.as_deref())?;
    Ok(axum::Json(state.app.timeline(&principal, id, limit, cursor).await?.into()))
}

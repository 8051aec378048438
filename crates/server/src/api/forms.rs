//! `/api/v1/forms`, consents and tracking links: define web forms (served at `/f/{slug}` and
//! embeddable), read and record consent with its proof, sign links that identify a visitor.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use leadgate_app::capture::{ConsentInput, FormView};
use leadgate_core::form::{ConsentRecord, ConsentRequest, FormDefinition};
use leadgate_core::ids::ContactId;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Auth, Json};
use crate::problem::ApiError;
use crate::web::client_info;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_form, list_forms))
        .routes(routes!(get_form, update_form, delete_form))
        .routes(routes!(list_consents, record_consent))
        .routes(routes!(list_consent_requests))
        .routes(routes!(tracking_token))
}

fn form_id(raw: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(raw.trim())
        .map_err(|_| ApiError::invalid("id", format!("`{raw}` is not a form id (a UUID)")))
}

/// Create a form.
///
/// It is served at `/f/{slug}` and can be embedded with the returned snippet. One field must
/// map to `email`; each consent checkbox keeps its exact wording and version as proof.
#[utoipa::path(
    post, path = "/api/v1/forms", tag = "forms",
    request_body = FormDefinition,
    responses((status = 201, description = "Created", body = FormView))
)]
async fn create_form(
    State(state): State<AppState>,
    Auth(principal): Auth,
    body: Json<FormDefinition>,
) -> Result<Response, ApiError> {
    let view = state.app.create_form(&principal, body.value).await?;
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

/// List forms, with their submission and spam counts.
#[utoipa::path(get, path = "/api/v1/forms", tag = "forms", responses((status = 200, description = "Forms", body = Vec<FormView>)))]
async fn list_forms(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<axum::Json<Vec<FormView>>, ApiError> {
    Ok(axum::Json(state.app.forms(&principal).await?))
}

/// Get a form.
#[utoipa::path(
    get, path = "/api/v1/forms/{id}", tag = "forms",
    params(("id" = String, Path, format = Uuid, description = "The form's id")),
    responses((status = 200, description = "The form", body = FormView))
)]
async fn get_form(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<FormView>, ApiError> {
    Ok(axum::Json(state.app.form(&principal, form_id(&id)?).await?))
}

/// Replace a form's definition.
#[utoipa::path(
    put, path = "/api/v1/forms/{id}", tag = "forms",
    params(("id" = String, Path, format = Uuid, description = "The form's id")),
    request_body = FormDefinition,
    responses((status = 200, description = "The form", body = FormView))
)]
async fn update_form(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    body: Json<FormDefinition>,
) -> Result<axum::Json<FormView>, ApiError> {
    Ok(axum::Json(state.app.update_form(&principal, form_id(&id)?, body.value).await?))
}

/// Delete a form. Contacts and consents it collected stay.
#[utoipa::path(
    delete, path = "/api/v1/forms/{id}", tag = "forms",
    params(("id" = String, Path, format = Uuid, description = "The form's id")),
    responses((status = 204, description = "Deleted"))
)]
async fn delete_form(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state.app.delete_form(&principal, form_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A contact's consent history, oldest first (the latest per purpose is the current state).
#[utoipa::path(
    get, path = "/api/v1/contacts/{id}/consents", tag = "forms",
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    responses((status = 200, description = "Consent records with their proof", body = Vec<ConsentRecord>))
)]
async fn list_consents(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<ConsentRecord>>, ApiError> {
    let id: ContactId = crate::extract::path_id(&id)?;
    Ok(axum::Json(state.app.consents(&principal, id).await?))
}

/// A contact's consent changes asked for anonymously (a form naming its e-mail): they do not
/// change its consent until the person confirms them.
#[utoipa::path(
    get, path = "/api/v1/contacts/{id}/consent-requests", tag = "forms",
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    responses((status = 200, description = "Consent requests, oldest first", body = Vec<ConsentRequest>))
)]
async fn list_consent_requests(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<ConsentRequest>>, ApiError> {
    let id: ContactId = crate::extract::path_id(&id)?;
    Ok(axum::Json(state.app.consent_requests(&principal, id).await?))
}

/// Record a consent given or withdrawn (one call withdraws it at once).
#[utoipa::path(
    post, path = "/api/v1/contacts/{id}/consents", tag = "forms",
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    request_body = ConsentInput,
    responses((status = 201, description = "Recorded", body = ConsentRecord))
)]
async fn record_consent(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let id: ContactId = crate::extract::path_id(&id)?;
    let (_, client) = client_info(request.extensions(), request.headers());
    let body =
        <Json<ConsentInput> as axum::extract::FromRequest<AppState>>::from_request(request, &state).await?;
    let record = state.app.record_consent(&principal, id, body.value, &client).await?;
    Ok((StatusCode::CREATED, axum::Json(record)).into_response())
}

/// A signed token for links to this contact.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackingToken {
    /// Add `?lg_cid=<token>` to a link in an e-mail to this contact: the website tracker then
    /// merges the visitor's page views into the contact's timeline.
    pub token: String,
}

/// A tracking token for links to a contact.
#[utoipa::path(
    get, path = "/api/v1/contacts/{id}/tracking-token", tag = "forms",
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    responses((status = 200, description = "The token", body = TrackingToken))
)]
async fn tracking_token(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<TrackingToken>, ApiError> {
    let id: ContactId = crate::extract::path_id(&id)?;
    state.app.get_contact(&principal, id).await?;
    Ok(axum::Json(TrackingToken { token: state.app.tracking_token(&principal, id).await? }))
}

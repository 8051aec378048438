//! `/api/v1/custom-fields`: declare, list and remove custom fields.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use leadgate_core::custom_field::{CustomFieldDefinition, FieldEntity};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Auth, Json, Query};
use crate::problem::ApiError;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(declare_field, list_fields)).routes(routes!(delete_field))
}

/// Declare a custom field.
///
/// Its values are then accepted under `custom.<key>` on contacts or companies, checked against
/// the type.
#[utoipa::path(
    post, path = "/api/v1/custom-fields", tag = "custom fields",
    request_body = CustomFieldDefinition,
    responses((status = 201, description = "The field was declared", body = CustomFieldDefinition))
)]
async fn declare_field(
    State(state): State<AppState>,
    Auth(principal): Auth,
    body: Json<CustomFieldDefinition>,
) -> Result<Response, ApiError> {
    let def = state.app.declare_custom_field(&principal, body.value).await?;
    Ok((StatusCode::CREATED, axum::Json(def)).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FieldListQuery {
    /// Only the fields of this entity.
    entity: Option<FieldEntity>,
}

/// List custom fields.
#[utoipa::path(
    get, path = "/api/v1/custom-fields", tag = "custom fields",
    params(FieldListQuery),
    responses((status = 200, description = "The declared fields", body = Vec<CustomFieldDefinition>))
)]
async fn list_fields(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<FieldListQuery>,
) -> Result<axum::Json<Vec<CustomFieldDefinition>>, ApiError> {
    Ok(axum::Json(state.app.custom_fields(&principal, q.entity).await?))
}

/// Remove a custom field.
///
/// Values already stored stay in the records but are no longer accepted in writes.
#[utoipa::path(
    delete, path = "/api/v1/custom-fields/{entity}/{key}", tag = "custom fields",
    params(
        ("entity" = FieldEntity, Path, description = "contact or company"),
        ("key" = String, Path, description = "The field's key")
    ),
    responses((status = 204, description = "Removed"))
)]
async fn delete_field(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((entity, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let entity = FieldEntity::parse(&entity)
        .ok_or_else(|| ApiError::invalid("entity", "must be `contact` or `company`"))?;
    state.app.delete_custom_field(&principal, entity, &key).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

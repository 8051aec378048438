//! `/api/v1/companies`: create, read, update, delete, list.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use leadgate_core::company::{Company, CompanyDraft, CompanyPatch};
use leadgate_core::filter::CompanyFilter;
use leadgate_core::ids::CompanyId;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ListPage, created, paging};
use crate::AppState;
use crate::extract::{Auth, IdempotencyKey, Json, Query, path_id};
use crate::problem::ApiError;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_company, list_companies)).routes(routes!(
        get_company,
        update_company,
        delete_company
    ))
}

/// Create a company.
#[utoipa::path(
    post, path = "/api/v1/companies", tag = "companies",
    request_body = CompanyDraft,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key and body return the first answer")),
    responses((status = 201, description = "The company was created", body = Company))
)]
async fn create_company(
    State(state): State<AppState>,
    Auth(principal): Auth,
    idem: IdempotencyKey,
    body: Json<CompanyDraft>,
) -> Result<Response, ApiError> {
    let idem = idem.with(&body.fingerprint)?;
    let recorded = state.app.create_company(&principal, body.value, idem.as_ref()).await?;
    let location = format!("/api/v1/companies/{}", recorded.value.id);
    Ok(created(recorded, Some(location)))
}

/// Filters of the company list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CompanyListQuery {
    /// Exact web domain.
    domain: Option<String>,
    /// Sector, case-insensitive.
    sector: Option<String>,
    /// Country, case-insensitive.
    country: Option<String>,
    #[param(value_type = Option<String>, format = DateTime)]
    created_after: Option<Timestamp>,
    #[param(value_type = Option<String>, format = DateTime)]
    created_before: Option<Timestamp>,
    #[param(value_type = Option<String>, format = DateTime)]
    updated_after: Option<Timestamp>,
    #[param(value_type = Option<String>, format = DateTime)]
    updated_before: Option<Timestamp>,
    /// Free text searched in the name and domain.
    q: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List companies.
#[utoipa::path(
    get, path = "/api/v1/companies", tag = "companies",
    params(CompanyListQuery),
    responses((status = 200, description = "A page of companies", body = ListPage<Company>))
)]
async fn list_companies(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<CompanyListQuery>,
) -> Result<axum::Json<ListPage<Company>>, ApiError> {
    let (limit, cursor) = paging(q.limit, q.cursor.as_deref())?;
    let filter = CompanyFilter {
        domain: q.domain,
        sector: q.sector,
        country: q.country,
        created_after: q.created_after,
        created_before: q.created_before,
        updated_after: q.updated_after,
        updated_before: q.updated_before,
        text: q.q.filter(|t| !t.trim().is_empty()),
    };
    Ok(axum::Json(state.app.list_companies(&principal, &filter, limit, cursor).await?.into()))
}

/// Get a company.
#[utoipa::path(
    get, path = "/api/v1/companies/{id}", tag = "companies",
    params(("id" = String, Path, format = Uuid, description = "The company's id")),
    responses((status = 200, description = "The company", body = Company))
)]
async fn get_company(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<Company>, ApiError> {
    let id: CompanyId = path_id(&id)?;
    Ok(axum::Json(state.app.get_company(&principal, id).await?))
}

/// Update a company (merge-patch).
#[utoipa::path(
    patch, path = "/api/v1/companies/{id}", tag = "companies",
    params(("id" = String, Path, format = Uuid, description = "The company's id")),
    request_body = CompanyPatch,
    responses((status = 200, description = "The updated company", body = Company))
)]
async fn update_company(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    body: Json<CompanyPatch>,
) -> Result<axum::Json<Company>, ApiError> {
    let id: CompanyId = path_id(&id)?;
    Ok(axum::Json(state.app.update_company(&principal, id, body.value).await?))
}

/// Delete a company. Its contacts are kept, without a company.
#[utoipa::path(
    delete, path = "/api/v1/companies/{id}", tag = "companies",
    params(("id" = String, Path, format = Uuid, description = "The company's id")),
    responses((status = 204, description = "Deleted"))
)]
async fn delete_company(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: CompanyId = path_id(&id)?;
    state.app.delete_company(&principal, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

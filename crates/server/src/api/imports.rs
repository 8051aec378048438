//! `/api/v1/uploads`, `/api/v1/imports`: CSV imports as background jobs (upload the file,
//! preview the mapping, start, follow, download the rejects).

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use leadgate_app::import::{ImportPreview, ImportRequest, ImportSummary, MAX_UPLOAD_BYTES, Upload};
use leadgate_core::ids::JobId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::scoring::JobView;
use crate::AppState;
use crate::extract::{Auth, Json, Query, path_id};
use crate::problem::ApiError;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
        .routes(routes!(preview_import))
        .routes(routes!(start_import))
        .routes(routes!(import_status))
        .routes(routes!(import_rejects))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name, shown in reports.
    name: Option<String>,
}

/// Upload a CSV file to import.
///
/// The body is the file itself (`Content-Type: text/csv`), up to 64 MiB; larger files are
/// imported with `leadgate import` on the server. Then preview and start the import with the
/// returned id.
#[utoipa::path(
    post, path = "/api/v1/uploads", tag = "imports",
    params(UploadQuery),
    request_body(content = String, content_type = "text/csv", description = "The CSV file"),
    responses((status = 201, description = "Stored", body = Upload))
)]
async fn upload(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<UploadQuery>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "File too large",
                format!(
                    "files are limited to {} MiB here; use `leadgate import` for larger ones",
                    MAX_UPLOAD_BYTES >> 20
                ),
            )
        } else {
            ApiError::bad_request(e.body_text())
        }
    })?;
    let name = q.name.unwrap_or_else(|| "upload.csv".into());
    let up = state.app.upload(&principal, &name, body.to_vec()).await?;
    Ok((StatusCode::CREATED, axum::Json(up)).into_response())
}

/// What an import would do: the columns detected and where they go, and the first rows.
#[utoipa::path(
    post, path = "/api/v1/imports/preview", tag = "imports",
    request_body = ImportRequest,
    responses((status = 200, description = "The mapping and a sample", body = ImportPreview))
)]
async fn preview_import(
    State(state): State<AppState>,
    Auth(principal): Auth,
    body: Json<ImportRequest>,
) -> Result<axum::Json<ImportPreview>, ApiError> {
    Ok(axum::Json(state.app.preview_import(&principal, &body.value).await?))
}

/// An import and how far it got.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportStatus {
    #[serde(flatten)]
    pub job: JobView,
    /// Counts so far (created, updated, unchanged, rejected…).
    pub summary: Option<ImportSummary>,
    /// Where to download the rows refused, as CSV.
    pub rejects_url: String,
}

/// Start an import of an uploaded file, as a background job.
#[utoipa::path(
    post, path = "/api/v1/imports", tag = "imports",
    request_body = ImportRequest,
    responses((status = 202, description = "The import job", body = ImportStatus))
)]
async fn start_import(
    State(state): State<AppState>,
    Auth(principal): Auth,
    body: Json<ImportRequest>,
) -> Result<Response, ApiError> {
    let job = state.app.start_import(&principal, body.value).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(status_of(job))).into_response())
}

fn status_of(j: leadgate_store::jobs::Job) -> ImportStatus {
    let summary = j
        .result
        .clone()
        .or_else(|| {
            j.checkpoint
                .as_deref()
                .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
                .and_then(|v| v.get("summary").cloned())
        })
        .and_then(|v| serde_json::from_value(v).ok());
    ImportStatus { rejects_url: format!("/api/v1/imports/{}/rejects", j.id), summary, job: JobView::from(j) }
}

/// An import's progress and summary.
#[utoipa::path(
    get, path = "/api/v1/imports/{id}", tag = "imports",
    params(("id" = String, Path, format = Uuid, description = "The import job's id")),
    responses((status = 200, description = "Progress and counts", body = ImportStatus))
)]
async fn import_status(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<ImportStatus>, ApiError> {
    let id: JobId = path_id(&id)?;
    let job = state.app.import_job(&principal, id).await?;
    Ok(axum::Json(status_of(job)))
}

/// The rows an import refused, as CSV (line, column, value, reason).
#[utoipa::path(
    get, path = "/api/v1/imports/{id}/rejects", tag = "imports",
    params(("id" = String, Path, format = Uuid, description = "The import job's id")),
    responses((status = 200, description = "The rejects report", body = String, content_type = "text/csv"))
)]
async fn import_rejects(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: JobId = path_id(&id)?;
    let rejects = state.app.import_rejects(&principal, id).await?;
    let body = leadgate_app::export::rejects_csv(&rejects)?;
    Ok(super::csv_download(body, "rejects.csv"))
}

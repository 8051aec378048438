//! `/api/v1/models` and `/api/v1/contacts/{id}/prediction`: conversion models trained on the
//! workspace's history (as background jobs), their reports, the active version, and one lead's
//! probability with the factors behind it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use leadgate_app::prediction::{ModelView, PredictionView, TrainRequest};
use leadgate_core::ids::ContactId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::scoring::JobView;
use crate::AppState;
use crate::extract::{Auth, Json, path_id};
use crate::problem::ApiError;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(train))
        .routes(routes!(list_models))
        .routes(routes!(get_model))
        .routes(routes!(activate))
        .routes(routes!(contact_prediction))
}

/// Train a conversion model, as a background job.
///
/// Trains on every contact whose outcome is known (customers, imported outcomes, won or lost
/// deals, disqualified leads, and leads that did not convert within `horizon_days`); open leads
/// are only predicted. Follow the job at `/api/v1/jobs/{id}`; its result names the new version.
/// With too few outcomes the job fails saying how many more are needed.
#[utoipa::path(
    post, path = "/api/v1/models/train", tag = "prediction",
    request_body = TrainRequest,
    responses((status = 202, description = "The training job", body = JobView))
)]
async fn train(
    State(state): State<AppState>,
    Auth(principal): Auth,
    body: Json<TrainRequest>,
) -> Result<Response, ApiError> {
    let job = state.app.start_training(&principal, &body.value).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(JobView::from(job))).into_response())
}

/// Every model version, newest first, with its held-out quality.
#[utoipa::path(
    get, path = "/api/v1/models", tag = "prediction",
    responses((status = 200, description = "The versions", body = Vec<ModelView>))
)]
async fn list_models(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<axum::Json<Vec<ModelView>>, ApiError> {
    Ok(axum::Json(state.app.models(&principal).await?))
}

fn version(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| ApiError::invalid("version", "must be a model version number (1, 2, …)"))
}

/// One model version and its full report.
#[utoipa::path(
    get, path = "/api/v1/models/{version}", tag = "prediction",
    params(("version" = i64, Path, description = "The model version")),
    responses((status = 200, description = "The version and its report", body = ModelView))
)]
async fn get_model(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(v): Path<String>,
) -> Result<axum::Json<ModelView>, ApiError> {
    Ok(axum::Json(state.app.model(&principal, version(&v)?).await?))
}

/// Make a model version the active one; every contact is predicted again with it.
#[utoipa::path(
    post, path = "/api/v1/models/{version}/activate", tag = "prediction",
    params(("version" = i64, Path, description = "The model version")),
    responses((status = 200, description = "The version, now active", body = ModelView))
)]
async fn activate(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(v): Path<String>,
) -> Result<axum::Json<ModelView>, ApiError> {
    Ok(axum::Json(state.app.activate_model(&principal, version(&v)?).await?))
}

/// A contact's probability of converting, from the active model, and why.
///
/// Computed from the contact's current data; `factors` lists every field the model used with
/// its contribution in log-odds (exact: coefficient × value for the linear model, TreeSHAP for
/// trees), so that `base_value + Σ contribution = raw_score`. 409 when no model is active yet.
#[utoipa::path(
    get, path = "/api/v1/contacts/{id}/prediction", tag = "prediction",
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    responses(
        (status = 200, description = "The prediction and its factors", body = PredictionView),
        (status = 409, description = "No model is active yet: train one first", content_type = "application/problem+json", body = crate::problem::Problem)
    )
)]
async fn contact_prediction(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<PredictionView>, ApiError> {
    let id: ContactId = path_id(&id)?;
    Ok(axum::Json(state.app.contact_prediction(&principal, id).await?))
}

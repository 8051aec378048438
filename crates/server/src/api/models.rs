//! `/api/v1/models` and `/api/v1/contacts/{id}/prediction`, `/api/v1/deal-models` and
//! `/api/v1/deals/{id}/prediction`: conversion and deal win models trained on the
//! workspace's history (as background jobs), their reports, the active version, and one lead's
//! probability with the factors behind it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use leadgate_app::deal_model::{DealModelView, DealPrediction, DealTrainRequest};
use leadgate_app::prediction::{ModelView, PredictionView, TrainRequest};
use leadgate_core::ids::{ContactId, DealId};
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
        .routes(routes!(train_deals, list_deal_models))
        .routes(routes!(activate_deal_model))
        .routes(routes!(deal_prediction))
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
        (status = 409, description = "No model is active yet (train one first), or the person objected to direct marketing and is no longer predicted", content_type = "application/problem+json", body = crate::problem::Problem)
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

/// Train a deal win model on every closed deal (won against lost), as a background job.
///
/// It reads each deal's product, rep, source and company (sector, country, size, revenue), not
/// its value. When cross-validation shows no signal (AUC not clear of 0.5, or no better than the
/// base rate), the model is stored with a verdict saying so and is not activated.
#[utoipa::path(
    post, path = "/api/v1/deal-models", tag = "prediction",
    request_body = DealTrainRequest,
    responses((status = 202, description = "The training job", body = JobView))
)]
async fn train_deals(
    State(state): State<AppState>,
    Auth(principal): Auth,
    body: Json<DealTrainRequest>,
) -> Result<Response, ApiError> {
    let job = state.app.start_deal_training(&principal, &body.value).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(JobView::from(job))).into_response())
}

/// Every deal model, newest first, with its verdict.
#[utoipa::path(
    get, path = "/api/v1/deal-models", tag = "prediction",
    responses((status = 200, description = "The versions", body = Vec<DealModelView>))
)]
async fn list_deal_models(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<axum::Json<Vec<DealModelView>>, ApiError> {
    Ok(axum::Json(state.app.deal_models(&principal).await?))
}

/// Make a deal model the active one; refused (409) for a model that found no signal.
#[utoipa::path(
    post, path = "/api/v1/deal-models/{version}/activate", tag = "prediction",
    params(("version" = i64, Path, description = "The deal model version")),
    responses((status = 200, description = "The version, now active", body = DealModelView))
)]
async fn activate_deal_model(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(v): Path<String>,
) -> Result<axum::Json<DealModelView>, ApiError> {
    Ok(axum::Json(state.app.activate_deal_model(&principal, version(&v)?).await?))
}

/// An open deal's probability of being won under the active deal model, and why. 409 when no
/// deal model is active (none trained, or none found signal) or the deal is closed.
#[utoipa::path(
    get, path = "/api/v1/deals/{id}/prediction", tag = "prediction",
    params(("id" = String, Path, format = Uuid, description = "The deal's id")),
    responses(
        (status = 200, description = "The probability and its factors", body = DealPrediction),
        (status = 409, description = "No deal model is active, or the deal is closed", content_type = "application/problem+json", body = crate::problem::Problem)
    )
)]
async fn deal_prediction(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<DealPrediction>, ApiError> {
    let id: DealId = path_id(&id)?;
    match state.app.deal_prediction(&principal, id).await? {
        Some(p) => Ok(axum::Json(p)),
        None => Err(leadgate_app::AppError::StateConflict(
            "no win probability: the deal is closed, or no deal model is active (train one with POST /api/v1/deal-models; \
             a model without signal is never activated)"
                .into(),
        )
        .into()),
    }
}

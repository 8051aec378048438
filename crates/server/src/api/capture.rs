//! `/api/v1/requests`: what arrives by hand (a trade-fair sheet, a phone call, an e-mail asking
//! for information or a quote) becomes a contact and an event, like the web channels.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use leadgate_app::requests::{ManualRequest, ManualRequestReceipt};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Auth, Json};
use crate::problem::ApiError;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(record_request))
}

/// Record a request received by hand.
///
/// The contact is found (external id, then e-mail) and completed, or created; the event says
/// what was asked, with the channel as its source, and rescores the contact.
#[utoipa::path(
    post, path = "/api/v1/requests", tag = "events",
    request_body = ManualRequest,
    responses((status = 201, description = "Recorded", body = ManualRequestReceipt))
)]
async fn record_request(
    State(state): State<AppState>,
    Auth(principal): Auth,
    body: Json<ManualRequest>,
) -> Result<Response, ApiError> {
    let receipt = state.app.record_manual_request(&principal, body.value).await?;
    Ok((StatusCode::CREATED, axum::Json(receipt)).into_response())
}

//! `/api/v1/events`: record one event or a batch.

use axum::extract::State;
use axum::response::Response;
use leadgate_app::events::{BatchReceipt, EventReceipt};
use leadgate_core::event::EventDraft;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::created;
use crate::AppState;
use crate::extract::{Auth, IdempotencyKey, Json};
use crate::problem::ApiError;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(record_event)).routes(routes!(record_events))
}

/// A batch of events.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBatch {
    /// 1 to 1000 events, recorded all together or not at all.
    #[schema(min_items = 1, max_items = 1000)]
    pub events: Vec<EventDraft>,
}

/// Record one event.
///
/// Name the contact by `contact_id`, or by `email` (an unknown e-mail creates a lead). Send a
/// client-chosen `id` or an `Idempotency-Key` to make retries safe.
#[utoipa::path(
    post, path = "/api/v1/events", tag = "events",
    request_body = EventDraft,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key and body return the first answer")),
    responses((status = 201, description = "The event was recorded (or was already, see `duplicate`)", body = EventReceipt))
)]
async fn record_event(
    State(state): State<AppState>,
    Auth(principal): Auth,
    idem: IdempotencyKey,
    body: Json<EventDraft>,
) -> Result<Response, ApiError> {
    let idem = idem.with(&body.fingerprint)?;
    let recorded = state.app.record_event(&principal, body.value, idem.as_ref()).await?;
    Ok(created(recorded, None))
}

/// Record a batch of events.
///
/// Up to 1000 events in one transaction: either all are recorded, or none is and the answer lists
/// every invalid event as `events[i].field`.
#[utoipa::path(
    post, path = "/api/v1/events/batch", tag = "events",
    request_body = EventBatch,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key and body return the first answer")),
    responses((status = 201, description = "The events were recorded", body = BatchReceipt))
)]
async fn record_events(
    State(state): State<AppState>,
    Auth(principal): Auth,
    idem: IdempotencyKey,
    body: Json<EventBatch>,
) -> Result<Response, ApiError> {
    let idem = idem.with(&body.fingerprint)?;
    let recorded = state.app.record_events(&principal, body.value.events, idem.as_ref()).await?;
    Ok(created(recorded, None))
}

//! Hand-off to sales: reps, the marketing–sales agreement, routing, lead queues, touches, tasks,
//! the agreement's figures, and webhooks with their delivery log.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use leadgate_app::handoff::{
    AgreementView, AssignmentView, HandoffMetrics, NewTask, NewTouch, RepView, SlaOverview, TaskView,
    TouchReceipt,
};
use leadgate_app::webhooks::{DeliveryView, NewWebhook, WebhookPatch, WebhookView};
use leadgate_core::handoff::{Agreement, RepProfile};
use leadgate_core::ids::{ContactId, DeliveryId, TaskId, UserId, WebhookId};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Auth, Json, Query, path_id};
use crate::problem::ApiError;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_reps))
        .routes(routes!(put_rep, delete_rep))
        .routes(routes!(get_agreement, put_agreement))
        .routes(routes!(route_contact))
        .routes(routes!(contact_assignments))
        .routes(routes!(lead_queue))
        .routes(routes!(log_touch))
        .routes(routes!(list_tasks, create_task))
        .routes(routes!(complete_task))
        .routes(routes!(metrics))
        .routes(routes!(sla_overview))
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(rotate_secret))
        .routes(routes!(deliveries))
        .routes(routes!(redeliver))
}

/// Sales reps with their territory, hours, capacity and current load.
#[utoipa::path(get, path = "/api/v1/reps", tag = "hand-off",
    responses((status = 200, description = "The reps", body = Vec<RepView>)))]
async fn list_reps(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<axum::Json<Vec<RepView>>, ApiError> {
    Ok(axum::Json(state.app.reps(&principal).await?))
}

/// Make a sales user a rep, or change their profile (admins).
#[utoipa::path(put, path = "/api/v1/reps/{user_id}", tag = "hand-off",
    params(("user_id" = String, Path, format = Uuid, description = "A user with the sales role")),
    request_body = RepProfile,
    responses(
        (status = 200, description = "The rep", body = RepView),
        (status = 409, description = "The user is not in sales", content_type = "application/problem+json", body = crate::problem::Problem)
    ))]
async fn put_rep(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    body: Json<RepProfile>,
) -> Result<axum::Json<RepView>, ApiError> {
    let id: UserId = path_id(&id)?;
    Ok(axum::Json(state.app.put_rep(&principal, id, body.value).await?))
}

/// Stop routing leads to a rep (their open leads stay theirs).
#[utoipa::path(delete, path = "/api/v1/reps/{user_id}", tag = "hand-off",
    params(("user_id" = String, Path, format = Uuid, description = "The rep's user id")),
    responses((status = 204, description = "No longer a rep")))]
async fn delete_rep(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: UserId = path_id(&id)?;
    state.app.delete_rep(&principal, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The marketing–sales agreement in force: routing rules, first-touch deadlines (working
/// minutes by temperature and grade), reminder, breach action, recycling and follow-ups.
#[utoipa::path(get, path = "/api/v1/agreement", tag = "hand-off",
    responses((status = 200, description = "The agreement and its version (0: built-in default)", body = AgreementView)))]
async fn get_agreement(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<axum::Json<AgreementView>, ApiError> {
    Ok(axum::Json(state.app.agreement(&principal).await?))
}

/// Save a new version of the agreement (admins). Applies to leads routed from now on.
#[utoipa::path(put, path = "/api/v1/agreement", tag = "hand-off",
    request_body = Agreement,
    responses((status = 200, description = "The new version", body = AgreementView)))]
async fn put_agreement(
    State(state): State<AppState>,
    Auth(principal): Auth,
    body: Json<Agreement>,
) -> Result<axum::Json<AgreementView>, ApiError> {
    Ok(axum::Json(state.app.put_agreement(&principal, body.value).await?))
}

/// Route a lead now: its open assignment (if any) is closed and a rep chosen under the
/// agreement, skipping the previous one. Only MQL and SQL leads are routed.
#[utoipa::path(post, path = "/api/v1/contacts/{id}/route", tag = "hand-off",
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    responses(
        (status = 200, description = "The new assignment (maybe to the unassigned queue, with why)", body = AssignmentView),
        (status = 409, description = "The contact is not an MQL or SQL", content_type = "application/problem+json", body = crate::problem::Problem)
    ))]
async fn route_contact(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<AssignmentView>, ApiError> {
    let id: ContactId = path_id(&id)?;
    Ok(axum::Json(state.app.route_contact(&principal, id).await?))
}

/// Every assignment of a contact, oldest first: who had it, which rule chose them and why,
/// deadlines, first touch, outcome.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/assignments", tag = "hand-off",
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    responses((status = 200, description = "The assignments", body = Vec<AssignmentView>)))]
async fn contact_assignments(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<AssignmentView>>, ApiError> {
    let id: ContactId = path_id(&id)?;
    Ok(axum::Json(state.app.assignments(&principal, id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// Whose queue (default: yours).
    rep_id: Option<UserId>,
    /// `true`: the leads no rep could take.
    unassigned: Option<bool>,
}

/// A rep's open leads, soonest deadline first, with the time left; or the unassigned queue.
#[utoipa::path(get, path = "/api/v1/queue", tag = "hand-off", params(QueueQuery),
    responses((status = 200, description = "Open assignments", body = Vec<AssignmentView>)))]
async fn lead_queue(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<QueueQuery>,
) -> Result<axum::Json<Vec<AssignmentView>>, ApiError> {
    Ok(axum::Json(state.app.lead_queue(&principal, q.rep_id, q.unassigned.unwrap_or(false)).await?))
}

/// Log a call, e-mail or meeting with a lead. The first one stops the SLA clock; an
/// unanswered one creates a follow-up task.
#[utoipa::path(post, path = "/api/v1/contacts/{id}/touches", tag = "hand-off",
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    request_body = NewTouch,
    responses((status = 201, description = "Logged", body = TouchReceipt)))]
async fn log_touch(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    body: Json<NewTouch>,
) -> Result<Response, ApiError> {
    let id: ContactId = path_id(&id)?;
    let receipt = state.app.log_touch(&principal, id, body.value).await?;
    Ok((StatusCode::CREATED, axum::Json(receipt)).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    /// Whose tasks (default: yours).
    assignee_id: Option<UserId>,
    /// Include done tasks.
    include_done: Option<bool>,
}

/// Follow-up tasks, due first (overdue ones flagged).
#[utoipa::path(get, path = "/api/v1/tasks", tag = "hand-off", params(TaskQuery),
    responses((status = 200, description = "Tasks", body = Vec<TaskView>)))]
async fn list_tasks(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<TaskQuery>,
) -> Result<axum::Json<Vec<TaskView>>, ApiError> {
    Ok(axum::Json(state.app.tasks(&principal, q.assignee_id, q.include_done.unwrap_or(false)).await?))
}

/// Create a follow-up task by hand.
#[utoipa::path(post, path = "/api/v1/tasks", tag = "hand-off", request_body = NewTask,
    responses((status = 201, description = "The task", body = TaskView)))]
async fn create_task(
    State(state): State<AppState>,
    Auth(principal): Auth,
    body: Json<NewTask>,
) -> Result<Response, ApiError> {
    let task = state.app.create_task(&principal, body.value).await?;
    Ok((StatusCode::CREATED, axum::Json(task)).into_response())
}

/// Mark a task done.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/done", tag = "hand-off",
    params(("id" = String, Path, format = Uuid, description = "The task's id")),
    responses(
        (status = 200, description = "The task, done", body = TaskView),
        (status = 409, description = "Already done", content_type = "application/problem+json", body = crate::problem::Problem)
    ))]
async fn complete_task(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<TaskView>, ApiError> {
    let id: TaskId = path_id(&id)?;
    Ok(axum::Json(state.app.complete_task(&principal, id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// Start of the period (default: 30 days ago).
    #[param(value_type = Option<String>, format = DateTime)]
    from: Option<Timestamp>,
    /// End of the period, excluded (default: now).
    #[param(value_type = Option<String>, format = DateTime)]
    to: Option<Timestamp>,
}

/// The agreement's figures for leads assigned in a period: SLA compliance, median time to first
/// touch per rep and per temperature, rejection reasons, and where recycled leads stand now.
#[utoipa::path(get, path = "/api/v1/handoff/metrics", tag = "hand-off", params(PeriodQuery),
    responses((status = 200, description = "The figures", body = HandoffMetrics)))]
async fn metrics(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<PeriodQuery>,
) -> Result<axum::Json<HandoffMetrics>, ApiError> {
    let to = q.to.unwrap_or_else(|| state.app.now());
    let from = match q.from {
        Some(from) => from,
        None => to
            .checked_sub(jiff::SignedDuration::from_hours(30 * 24))
            .map_err(|_| ApiError::invalid("to", "is too early; give a date after 1970"))?,
    };
    Ok(axum::Json(state.app.handoff_metrics(&principal, from, to).await?))
}

/// Every open, untouched lead against its first-touch deadline right now: on track, warning
/// (reminder passed), breached, unassigned; in total and per rep.
#[utoipa::path(get, path = "/api/v1/handoff/sla", tag = "hand-off",
    responses((status = 200, description = "Counts by SLA state", body = SlaOverview)))]
async fn sla_overview(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<axum::Json<SlaOverview>, ApiError> {
    Ok(axum::Json(state.app.sla_overview(&principal).await?))
}

/// Webhook subscriptions (admins).
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses((status = 200, description = "Subscriptions", body = Vec<WebhookView>)))]
async fn list_webhooks(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<axum::Json<Vec<WebhookView>>, ApiError> {
    Ok(axum::Json(state.app.webhooks(&principal).await?))
}

/// Subscribe a URL to event types. The answer carries the signing secret, once.
///
/// Each message is POSTed as JSON with `Leadgate-Event`, `Leadgate-Delivery` and
/// `Leadgate-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">` headers; failed deliveries are
/// retried with exponential backoff for 24 hours. Internal addresses are refused.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = NewWebhook,
    responses((status = 201, description = "The subscription and its secret", body = WebhookView)))]
async fn create_webhook(
    State(state): State<AppState>,
    Auth(principal): Auth,
    body: Json<NewWebhook>,
) -> Result<Response, ApiError> {
    let w = state.app.create_webhook(&principal, body.value).await?;
    Ok((StatusCode::CREATED, axum::Json(w)).into_response())
}

/// One subscription.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, format = Uuid, description = "The subscription's id")),
    responses((status = 200, description = "The subscription", body = WebhookView)))]
async fn get_webhook(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<WebhookView>, ApiError> {
    let id: WebhookId = path_id(&id)?;
    Ok(axum::Json(state.app.webhook(&principal, id).await?))
}

/// Change a subscription's URL, event types, description or active flag.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, format = Uuid, description = "The subscription's id")),
    request_body = WebhookPatch,
    responses((status = 200, description = "The subscription", body = WebhookView)))]
async fn update_webhook(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    body: Json<WebhookPatch>,
) -> Result<axum::Json<WebhookView>, ApiError> {
    let id: WebhookId = path_id(&id)?;
    Ok(axum::Json(state.app.update_webhook(&principal, id, body.value).await?))
}

/// Delete a subscription and its delivery log.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, format = Uuid, description = "The subscription's id")),
    responses((status = 204, description = "Deleted")))]
async fn delete_webhook(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: WebhookId = path_id(&id)?;
    state.app.delete_webhook(&principal, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RotateQuery {
    /// Stop signing with the previous secret at once (default: keep it until the next rotation).
    drop_previous: Option<bool>,
}

/// A new signing secret (shown once). Messages are signed with the new and the previous secret
/// until the next rotation, so the receiver can switch without losing any.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks",
    params(("id" = String, Path, format = Uuid, description = "The subscription's id"), RotateQuery),
    responses((status = 200, description = "The subscription and its new secret", body = WebhookView)))]
async fn rotate_secret(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    Query(q): Query<RotateQuery>,
) -> Result<axum::Json<WebhookView>, ApiError> {
    let id: WebhookId = path_id(&id)?;
    Ok(axum::Json(state.app.rotate_webhook_secret(&principal, id, q.drop_previous.unwrap_or(false)).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// How many, newest first (1 to 500, default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// The delivery log: each message with its state, attempts, status codes and latencies.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path, format = Uuid, description = "The subscription's id"), DeliveryQuery),
    responses((status = 200, description = "Deliveries, newest first", body = Vec<DeliveryView>)))]
async fn deliveries(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    Query(q): Query<DeliveryQuery>,
) -> Result<axum::Json<Vec<DeliveryView>>, ApiError> {
    let id: WebhookId = path_id(&id)?;
    Ok(axum::Json(state.app.webhook_deliveries(&principal, id, q.limit.unwrap_or(50)).await?))
}

/// Send a message again, as a new delivery.
#[utoipa::path(post, path = "/api/v1/webhook-deliveries/{id}/redeliver", tag = "webhooks",
    params(("id" = String, Path, format = Uuid, description = "The delivery's id")),
    responses((status = 202, description = "Queued", body = DeliveryView)))]
async fn redeliver(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: DeliveryId = path_id(&id)?;
    let d = state.app.redeliver(&principal, id).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(d)).into_response())
}

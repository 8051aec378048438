//! Scoring, qualification and lifecycle endpoints: the explanation of a score, the rules, a
//! contact's stage and history, moves, sales' accept/reject, and the checklist.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use leadgate_app::lifecycle::{LifecycleView, RejectReason};
use leadgate_app::scoring::{Explanation, RulesChange, RulesView};
use leadgate_core::ids::{ContactId, JobId};
use leadgate_core::lifecycle::LifecycleStage;
use leadgate_core::qualification::{Answer, Criterion};
use leadgate_core::scoring::RulesDoc;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Auth, Json, Query, path_id};
use crate::problem::ApiError;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(contact_score))
        .routes(routes!(contact_lifecycle, move_contact))
        .routes(routes!(accept_lead))
        .routes(routes!(reject_lead))
        .routes(routes!(set_checklist))
        .routes(routes!(get_rules, put_rules))
        .routes(routes!(get_job))
}

/// Why a contact scores as it does.
///
/// Fit (every rule that held, with the field values), engagement (every scored event with its
/// points before decay, the cap applied, the decay factor and what counts), temperature with its
/// reason, knock-outs, stage and the §2 table — computed now with the active rules. Each total is
/// exactly the sum of the contributions listed.
#[utoipa::path(
    get, path = "/api/v1/contacts/{id}/score", tag = "scoring",
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    responses(
        (status = 200, description = "The score and its exact explanation", body = Explanation),
        (status = 409, description = "The person objected to direct marketing: they are no longer scored", content_type = "application/problem+json", body = crate::problem::Problem)
    )
)]
async fn contact_score(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<Explanation>, ApiError> {
    let id: ContactId = path_id(&id)?;
    Ok(axum::Json(state.app.explain(&principal, id).await?))
}

/// A contact's stage, the moves possible from it, the checklist and the full history.
#[utoipa::path(
    get, path = "/api/v1/contacts/{id}/lifecycle", tag = "scoring",
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    responses((status = 200, description = "Stage and history", body = LifecycleView))
)]
async fn contact_lifecycle(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<LifecycleView>, ApiError> {
    let id: ContactId = path_id(&id)?;
    Ok(axum::Json(state.app.lifecycle(&principal, id).await?))
}

/// A stage change requested by a person.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    pub to: LifecycleStage,
    /// Required for disqualified, nurturing and intermediary.
    pub reason: Option<String>,
}

/// Move a contact to another stage.
///
/// Only legal moves are made; any other is refused with 409 and `allowed_moves`. SQL is never
/// set by hand: it follows sales' acceptance and a complete checklist.
#[utoipa::path(
    post, path = "/api/v1/contacts/{id}/lifecycle", tag = "scoring",
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    request_body = MoveRequest,
    responses((status = 200, description = "The new stage and history", body = LifecycleView))
)]
async fn move_contact(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    body: Json<MoveRequest>,
) -> Result<axum::Json<LifecycleView>, ApiError> {
    let id: ContactId = path_id(&id)?;
    let m = body.value;
    Ok(axum::Json(state.app.move_contact(&principal, id, m.to, m.reason.as_deref()).await?))
}

/// Sales accepts an MQL.
///
/// It becomes an SQL (a prospect) as soon as need, budget, authority and timing are all yes.
#[utoipa::path(
    post, path = "/api/v1/contacts/{id}/accept", tag = "scoring",
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    responses((status = 200, description = "Accepted", body = LifecycleView))
)]
async fn accept_lead(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<LifecycleView>, ApiError> {
    let id: ContactId = path_id(&id)?;
    Ok(axum::Json(state.app.accept_lead(&principal, id).await?))
}

/// Why sales rejects a lead.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    pub reason: RejectReason,
    /// Required when the reason is `other`.
    pub note: Option<String>,
}

/// Sales rejects a lead.
///
/// It goes back to nurturing (or becomes an intermediary for `no_authority`) and is not
/// re-qualified for 30 days.
#[utoipa::path(
    post, path = "/api/v1/contacts/{id}/reject", tag = "scoring",
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    request_body = RejectRequest,
    responses((status = 200, description = "Rejected", body = LifecycleView))
)]
async fn reject_lead(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    body: Json<RejectRequest>,
) -> Result<axum::Json<LifecycleView>, ApiError> {
    let id: ContactId = path_id(&id)?;
    let r = body.value;
    Ok(axum::Json(state.app.reject_lead(&principal, id, r.reason, r.note.as_deref()).await?))
}

/// One checklist answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecklistAnswer {
    pub answer: Answer,
    pub note: Option<String>,
}

/// Answer one qualification criterion (need, budget, authority, timing).
///
/// Authority `no` makes the contact an intermediary; a complete checklist on an accepted MQL
/// makes it an SQL.
#[utoipa::path(
    put, path = "/api/v1/contacts/{id}/checklist/{criterion}", tag = "scoring",
    params(
        ("id" = String, Path, format = Uuid, description = "The contact's id"),
        ("criterion" = String, Path, description = "need, budget, authority or timing")
    ),
    request_body = ChecklistAnswer,
    responses((status = 200, description = "The checklist and stage after the change", body = LifecycleView))
)]
async fn set_checklist(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((id, criterion)): Path<(String, String)>,
    body: Json<ChecklistAnswer>,
) -> Result<axum::Json<LifecycleView>, ApiError> {
    let id: ContactId = path_id(&id)?;
    let criterion = Criterion::parse(&criterion)
        .ok_or_else(|| ApiError::invalid("criterion", "must be need, budget, authority or timing"))?;
    let a = body.value;
    Ok(axum::Json(state.app.set_checklist(&principal, id, criterion, a.answer, a.note.as_deref()).await?))
}

/// The active scoring rules.
#[utoipa::path(
    get, path = "/api/v1/scoring/rules", tag = "scoring",
    responses((status = 200, description = "The active rules and their version", body = RulesView))
)]
async fn get_rules(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<axum::Json<RulesView>, ApiError> {
    Ok(axum::Json(state.app.scoring_rules(&principal).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RulesQuery {
    /// Why the rules changed, kept with the version.
    comment: Option<String>,
}

/// Replace the scoring rules.
///
/// The document is checked (errors name the key at fault) and stored as a new version; a job
/// then rescores every contact with it (follow it at `/api/v1/jobs/{rescore_job}`).
#[utoipa::path(
    put, path = "/api/v1/scoring/rules", tag = "scoring",
    params(RulesQuery),
    request_body = RulesDoc,
    responses((status = 202, description = "Stored; rescoring started", body = RulesChange))
)]
async fn put_rules(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<RulesQuery>,
    body: Json<RulesDoc>,
) -> Result<Response, ApiError> {
    let change = state.app.update_scoring_rules(&principal, body.value, q.comment.as_deref()).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(change)).into_response())
}

/// A background job and its progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    pub id: JobId,
    pub kind: String,
    /// queued, running, succeeded, failed or cancelled.
    pub state: String,
    pub attempts: i64,
    pub progress_done: i64,
    pub progress_total: Option<i64>,
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    pub last_error: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<jiff::Timestamp>,
}

/// A background job (import, rescore, training…) and its progress.
#[utoipa::path(
    get, path = "/api/v1/jobs/{id}", tag = "jobs",
    params(("id" = String, Path, format = Uuid, description = "The job's id")),
    responses((status = 200, description = "The job", body = JobView))
)]
async fn get_job(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<JobView>, ApiError> {
    let id: JobId = path_id(&id)?;
    Ok(axum::Json(JobView::from(state.app.job(&principal, id).await?)))
}

impl From<leadgate_store::jobs::Job> for JobView {
    fn from(j: leadgate_store::jobs::Job) -> Self {
        JobView {
            id: j.id,
            kind: j.kind,
            state: j.state.as_str().to_string(),
            attempts: j.attempts,
            progress_done: j.progress_done,
            progress_total: j.progress_total,
            result: j.result,
            last_error: j.last_error,
            created_at: j.created_at,
            finished_at: j.finished_at,
        }
    }
}

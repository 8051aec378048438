//! `/api/v1/deals`, `/api/v1/pipeline`: deals through the pipeline's stages (create, edit,
//! move, close, delete), the board, a contact's deals, and the pipeline's settings.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use leadgate_app::pipeline::{
    Board, BuyingGroupMemberView, BuyingRoleChange, BuyingRoleView, ContactDeal, DealDetail, DealQuery,
    DealView,
};
use leadgate_core::ids::{CompanyId, ContactId, DealId, UserId};
use leadgate_core::pipeline::{DealDraft, DealMove, DealPatch, DealStage, PipelineSettings};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Auth, Json, Query, path_id};
use crate::problem::ApiError;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_deals, create_deal))
        .routes(routes!(get_deal, update_deal, delete_deal))
        .routes(routes!(move_deal))
        .routes(routes!(board))
        .routes(routes!(contact_deals))
        .routes(routes!(get_buying_role, put_buying_role))
        .routes(routes!(buying_group))
        .routes(routes!(get_settings, put_settings))
}

/// Which deals to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DealsQuery {
    stage: Option<DealStage>,
    /// Only open deals (not won or lost).
    open: Option<bool>,
    owner_id: Option<UserId>,
    company_id: Option<CompanyId>,
    contact_id: Option<ContactId>,
    product: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

impl DealsQuery {
    fn query(&self) -> DealQuery {
        DealQuery {
            stage: self.stage,
            open: self.open.unwrap_or(false),
            owner_id: self.owner_id,
            company_id: self.company_id,
            contact_id: self.contact_id,
            product: self.product.clone(),
            ..Default::default()
        }
    }
}

/// Deals you may read, newest first.
#[utoipa::path(
    get, path = "/api/v1/deals", tag = "pipeline",
    params(DealsQuery),
    responses((status = 200, description = "A page of deals", body = super::ListPage<DealView>))
)]
async fn list_deals(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<DealsQuery>,
) -> Result<axum::Json<super::ListPage<DealView>>, ApiError> {
    let (limit, cursor) = super::paging(q.limit, q.cursor.as_deref())?;
    Ok(axum::Json(state.app.list_deals(&principal, &q.query(), limit, cursor).await?.into()))
}

/// Create a deal. Its owner defaults to you (a rep) or to the rep its first contact is
/// assigned to; its company, source and campaign to its first contact's. An SQL taking part
/// becomes an opportunity.
#[utoipa::path(
    post, path = "/api/v1/deals", tag = "pipeline",
    request_body = DealDraft,
    responses((status = 201, description = "Created", body = DealDetail))
)]
async fn create_deal(
    State(state): State<AppState>,
    Auth(principal): Auth,
    body: Json<DealDraft>,
) -> Result<Response, ApiError> {
    let detail = state.app.create_deal(&principal, body.value).await?;
    Ok((StatusCode::CREATED, axum::Json(detail)).into_response())
}

/// A deal, its contacts and its history of stages.
#[utoipa::path(
    get, path = "/api/v1/deals/{id}", tag = "pipeline",
    params(("id" = String, Path, format = Uuid, description = "The deal's id")),
    responses((status = 200, description = "The deal", body = DealDetail))
)]
async fn get_deal(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<DealDetail>, ApiError> {
    let id: DealId = path_id(&id)?;
    Ok(axum::Json(state.app.deal(&principal, id).await?))
}

/// Change a deal's fields or contacts; absent fields stay, `null` clears. Move it to change
/// its stage.
#[utoipa::path(
    patch, path = "/api/v1/deals/{id}", tag = "pipeline",
    params(("id" = String, Path, format = Uuid, description = "The deal's id")),
    request_body = DealPatch,
    responses((status = 200, description = "The deal", body = DealDetail))
)]
async fn update_deal(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    body: Json<DealPatch>,
) -> Result<axum::Json<DealDetail>, ApiError> {
    let id: DealId = path_id(&id)?;
    Ok(axum::Json(state.app.update_deal(&principal, id, body.value).await?))
}

/// Delete a deal and its history (its contacts keep their stages).
#[utoipa::path(
    delete, path = "/api/v1/deals/{id}", tag = "pipeline",
    params(("id" = String, Path, format = Uuid, description = "The deal's id")),
    responses((status = 204, description = "Deleted"))
)]
async fn delete_deal(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: DealId = path_id(&id)?;
    state.app.delete_deal(&principal, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Move a deal to another stage (back as well as forward; each move is recorded). Losing needs
/// one of the pipeline's `lost_reasons`. Winning makes its buyers customers; losing with
/// `nurture` sends its opportunities back to nurturing.
#[utoipa::path(
    post, path = "/api/v1/deals/{id}/moves", tag = "pipeline",
    params(("id" = String, Path, format = Uuid, description = "The deal's id")),
    request_body = DealMove,
    responses((status = 200, description = "The deal after the move", body = DealDetail))
)]
async fn move_deal(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    body: Json<DealMove>,
) -> Result<axum::Json<DealDetail>, ApiError> {
    let id: DealId = path_id(&id)?;
    Ok(axum::Json(state.app.move_deal(&principal, id, body.value).await?))
}

/// Which deals the board shows.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BoardQuery {
    owner_id: Option<UserId>,
    product: Option<String>,
}

/// The board: per stage, its deals' count, value and weighted value, and its newest deals.
#[utoipa::path(
    get, path = "/api/v1/pipeline/board", tag = "pipeline",
    params(BoardQuery),
    responses((status = 200, description = "The board", body = Board))
)]
async fn board(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<BoardQuery>,
) -> Result<axum::Json<Board>, ApiError> {
    let query = DealQuery { owner_id: q.owner_id, product: q.product, ..Default::default() };
    Ok(axum::Json(state.app.board(&principal, &query).await?))
}

/// A contact's deals, with its role in each.
#[utoipa::path(
    get, path = "/api/v1/contacts/{id}/deals", tag = "pipeline",
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    responses((status = 200, description = "Its deals", body = Vec<ContactDeal>))
)]
async fn contact_deals(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<ContactDeal>>, ApiError> {
    let id: ContactId = path_id(&id)?;
    Ok(axum::Json(state.app.deals_of_contact(&principal, id).await?))
}

/// The pipeline's settings: each open stage's win probability, the lost reasons, when a deal
/// rots, the currency.
#[utoipa::path(
    get, path = "/api/v1/settings/pipeline", tag = "pipeline",
    responses((status = 200, description = "The settings", body = PipelineSettings))
)]
async fn get_settings(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<axum::Json<PipelineSettings>, ApiError> {
    Ok(axum::Json(state.app.pipeline_settings(&principal).await?))
}

/// Change the pipeline's settings (admins).
#[utoipa::path(
    put, path = "/api/v1/settings/pipeline", tag = "pipeline",
    request_body = PipelineSettings,
    responses((status = 200, description = "The new settings", body = PipelineSettings))
)]
async fn put_settings(
    State(state): State<AppState>,
    Auth(principal): Auth,
    body: Json<PipelineSettings>,
) -> Result<axum::Json<PipelineSettings>, ApiError> {
    Ok(axum::Json(state.app.set_pipeline_settings(&principal, body.value).await?))
}

/// A contact's role in its account's purchase, the decision maker it leads to, and the contacts
/// that lead to it.
#[utoipa::path(
    get, path = "/api/v1/contacts/{id}/buying-role", tag = "pipeline",
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    responses((status = 200, description = "Its role", body = BuyingRoleView))
)]
async fn get_buying_role(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<BuyingRoleView>, ApiError> {
    let id: ContactId = path_id(&id)?;
    Ok(axum::Json(state.app.buying_role(&principal, id).await?))
}

/// Set a contact's role in the purchase (decision maker, intermediary, user, other) and, for an
/// intermediary, its decision maker (a contact of the same company). When an intermediary then
/// asks for a quote, a demo, sales or information, the decision maker's rep gets a task to
/// reach the decision maker (a decision maker nobody holds is routed first).
#[utoipa::path(
    put, path = "/api/v1/contacts/{id}/buying-role", tag = "pipeline",
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    request_body = BuyingRoleChange,
    responses((status = 200, description = "Its role", body = BuyingRoleView))
)]
async fn put_buying_role(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    body: Json<BuyingRoleChange>,
) -> Result<axum::Json<BuyingRoleView>, ApiError> {
    let id: ContactId = path_id(&id)?;
    Ok(axum::Json(state.app.set_buying_role(&principal, id, body.value).await?))
}

/// A company's buying group: its contacts with their role in the purchase, decision makers
/// first, and who holds each lead.
#[utoipa::path(
    get, path = "/api/v1/companies/{id}/buying-group", tag = "pipeline",
    params(("id" = String, Path, format = Uuid, description = "The company's id")),
    responses((status = 200, description = "Its contacts and their roles", body = Vec<BuyingGroupMemberView>))
)]
async fn buying_group(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<BuyingGroupMemberView>>, ApiError> {
    let id: CompanyId = path_id(&id)?;
    Ok(axum::Json(state.app.buying_group(&principal, id).await?))
}

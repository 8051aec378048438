//! `/api/v1/users`, `/api/v1/api-keys`, `/api/v1/me`: users, roles and API keys.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use leadgate_app::auth::{NewApiKey, NewUser};
use leadgate_app::web::PasswordChange;
use leadgate_core::access::{Role, Visibility};
use leadgate_core::ids::{ApiKeyId, UserId};
use leadgate_core::user::{ApiKey, User};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Auth, Json, path_id};
use crate::problem::ApiError;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(create_user, list_users))
        .routes(routes!(create_api_key, list_api_keys))
        .routes(routes!(revoke_api_key))
        .routes(routes!(set_password))
        .routes(routes!(update_user))
        .routes(routes!(get_lead_visibility, put_lead_visibility))
}

/// Which leads sales reps read: their own, their team's or every contact, and whether they see
/// (and may take) the unassigned queue. Admins and marketing read every lead.
#[utoipa::path(
    get, path = "/api/v1/settings/lead-visibility", tag = "users",
    responses((status = 200, description = "The workspace's setting", body = Visibility))
)]
async fn get_lead_visibility(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<axum::Json<Visibility>, ApiError> {
    Ok(axum::Json(state.app.lead_visibility(&principal).await?))
}

/// Change which leads sales reps read (admins).
#[utoipa::path(
    put, path = "/api/v1/settings/lead-visibility", tag = "users",
    request_body = Visibility,
    responses((status = 200, description = "The new setting", body = Visibility))
)]
async fn put_lead_visibility(
    State(state): State<AppState>,
    Auth(principal): Auth,
    body: Json<Visibility>,
) -> Result<axum::Json<Visibility>, ApiError> {
    Ok(axum::Json(state.app.set_lead_visibility(&principal, body.value).await?))
}

/// The caller.
#[utoipa::path(
    get, path = "/api/v1/me", tag = "users",
    responses((status = 200, description = "The user owning the API key used", body = User))
)]
async fn me(Auth(principal): Auth) -> axum::Json<User> {
    axum::Json(principal.user)
}

/// A user to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserDraft {
    #[schema(format = Email)]
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
    /// A password for the web UI (at least 10 characters); without one the user gets it later.
    #[serde(default)]
    pub password: Option<String>,
}

/// Create a user (admins).
#[utoipa::path(
    post, path = "/api/v1/users", tag = "users",
    request_body = UserDraft,
    responses((status = 201, description = "The user was created", body = User))
)]
async fn create_user(
    State(state): State<AppState>,
    Auth(principal): Auth,
    body: Json<UserDraft>,
) -> Result<Response, ApiError> {
    let d = body.value;
    let new =
        NewUser { email: &d.email, name: d.name.as_deref(), role: d.role, password: d.password.as_deref() };
    let user = state.app.create_user(&principal, new).await?;
    Ok((StatusCode::CREATED, axum::Json(user)).into_response())
}

/// List users (admins).
#[utoipa::path(
    get, path = "/api/v1/users", tag = "users",
    responses((status = 200, description = "Every user", body = Vec<User>))
)]
async fn list_users(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<axum::Json<Vec<User>>, ApiError> {
    Ok(axum::Json(state.app.list_users(&principal).await?))
}

/// An API key to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyDraft {
    /// What the key is for, e.g. `crm-sync`.
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: String,
    /// The user who will own the key (admins only); oneself by default.
    pub user_id: Option<UserId>,
}

/// Create an API key.
///
/// The answer carries the key in clear, once.
#[utoipa::path(
    post, path = "/api/v1/api-keys", tag = "users",
    request_body = ApiKeyDraft,
    responses((status = 201, description = "The key was created; `key` is shown only now", body = NewApiKey))
)]
async fn create_api_key(
    State(state): State<AppState>,
    Auth(principal): Auth,
    body: Json<ApiKeyDraft>,
) -> Result<Response, ApiError> {
    let d = body.value;
    let key = state.app.create_api_key(&principal, d.user_id, &d.name).await?;
    Ok((StatusCode::CREATED, axum::Json(key)).into_response())
}

/// List API keys: one's own, or everyone's for admins.
#[utoipa::path(
    get, path = "/api/v1/api-keys", tag = "users",
    responses((status = 200, description = "Keys, by prefix (never the secret)", body = Vec<ApiKey>))
)]
async fn list_api_keys(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<axum::Json<Vec<ApiKey>>, ApiError> {
    Ok(axum::Json(state.app.list_api_keys(&principal).await?))
}

/// Revoke an API key.
///
/// Takes effect on the next request made with it.
#[utoipa::path(
    delete, path = "/api/v1/api-keys/{id}", tag = "users",
    params(("id" = String, Path, format = Uuid, description = "The key's id")),
    responses((status = 200, description = "The revoked key", body = ApiKey))
)]
async fn revoke_api_key(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<axum::Json<ApiKey>, ApiError> {
    let id: ApiKeyId = path_id(&id)?;
    Ok(axum::Json(state.app.revoke_api_key(&principal, id).await?))
}

/// A new password for the web UI.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordRequest {
    /// At least 10 characters, not easy to guess (no common password, pattern, or the user's
    /// own name or e-mail).
    pub password: String,
    /// Your current password: required to change your own once you have one, so that a stolen
    /// key or session cannot lock you out.
    #[serde(default)]
    pub current_password: Option<String>,
    /// Also revoke the user's API keys (the key making this request excepted). Default false.
    #[serde(default)]
    pub revoke_api_keys: bool,
}

/// Set a user's web UI password: your own (giving the current one), or anyone's as an admin.
/// Their web sessions are signed out; with `revoke_api_keys` their API keys are revoked too.
#[utoipa::path(
    put, path = "/api/v1/users/{id}/password", tag = "users",
    params(("id" = String, Path, format = Uuid, description = "The user's id")),
    request_body = PasswordRequest,
    responses((status = 204, description = "Password set"))
)]
async fn set_password(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    body: Json<PasswordRequest>,
) -> Result<Response, ApiError> {
    let id: UserId = path_id(&id)?;
    let b = &body.value;
    let change = PasswordChange {
        password: &b.password,
        current: b.current_password.as_deref(),
        revoke_api_keys: b.revoke_api_keys,
    };
    state.app.change_password(&principal, id, change).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Changes to a user; absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub role: Option<Role>,
    /// True disables the user (their keys and sessions stop working); false re-enables.
    pub disabled: Option<bool>,
}

/// Change a user's role, or disable / re-enable them (admins). The last enabled admin cannot be
/// demoted or disabled (409).
#[utoipa::path(
    patch, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = String, Path, format = Uuid, description = "The user's id")),
    request_body = UserPatch,
    responses(
        (status = 200, description = "The user", body = User),
        (status = 409, description = "It would leave no enabled admin, or disable yourself", content_type = "application/problem+json", body = crate::problem::Problem)
    )
)]
async fn update_user(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    body: Json<UserPatch>,
) -> Result<axum::Json<User>, ApiError> {
    let id: UserId = path_id(&id)?;
    Ok(axum::Json(state.app.update_user(&principal, id, body.value.role, body.value.disabled).await?))
}

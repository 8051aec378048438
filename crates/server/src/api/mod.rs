//! REST API v1: routes, their OpenAPI description, and what every endpoint shares (list pages,
//! created responses, the standard problem responses).

pub mod analytics;
pub mod capture;
pub mod companies;
pub mod contacts;
pub mod events;
pub mod fields;
pub mod forms;
pub mod handoff;
pub mod imports;
pub mod models;
pub mod nurture;
pub mod pipeline;
pub mod privacy;
pub mod scoring;
pub mod users;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use leadgate_app::Recorded;
use leadgate_core::filter::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use leadgate_store::cursor::Cursor;
use serde::Serialize;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr};
use utoipa::{OpenApi as _, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::problem::{ApiError, PROBLEM_JSON, Problem};

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListPage<T: ToSchema> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> From<leadgate_store::cursor::Page<T>> for ListPage<T> {
    fn from(p: leadgate_store::cursor::Page<T>) -> Self {
        ListPage { items: p.items, next_cursor: p.next_cursor }
    }
}

/// Checks `limit` and decodes `cursor`.
pub(crate) fn paging(limit: Option<u32>, cursor: Option<&str>) -> Result<(u32, Option<Cursor>), ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&limit) {
        return Err(ApiError::invalid("limit", format!("must be between 1 and {MAX_PAGE_SIZE}")));
    }
    let cursor = cursor.filter(|c| !c.is_empty()).map(Cursor::decode).transpose()?;
    Ok((limit, cursor))
}

/// `201 Created` with the new resource, its `Location`, and `Idempotent-Replayed: true` when the
/// answer replays an earlier identical request.
pub(crate) fn created<T: Serialize>(recorded: Recorded<T>, location: Option<String>) -> Response {
    let mut response = (StatusCode::CREATED, axum::Json(recorded.value)).into_response();
    if let Some(loc) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, loc);
    }
    if recorded.replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

/// A CSV file to download as `name`.
pub(crate) fn csv_download(body: Vec<u8>, name: &str) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Leadgate API",
        description = "Capture, score, qualify and hand off B2B leads. Authenticate with `Authorization: Bearer <API key>`. \
            Errors are `application/problem+json` (RFC 9457) naming the field at fault. Lists are paged with \
            `limit` and an opaque `cursor`. Writes accept an `Idempotency-Key` header: a retry with the same key \
            and body returns the first answer and changes nothing.",
        license(name = "AGPL-3.0-or-later")
    ),
    tags(
        (name = "contacts", description = "People: leads, prospects, customers"),
        (name = "companies", description = "Accounts the contacts belong to"),
        (name = "events", description = "What contacts did: the timeline scoring reads"),
        (name = "custom fields", description = "The workspace's own fields on contacts and companies"),
        (name = "scoring", description = "Scores and their explanations, rules, lifecycle, qualification"),
        (name = "prediction", description = "Conversion models trained on your history, and each lead's probability"),
        (name = "hand-off", description = "Reps, routing, the marketing–sales agreement (SLA), queues, touches and tasks"),
        (name = "webhooks", description = "Signed notifications of what happens, with retries and a delivery log"),
        (name = "jobs", description = "Background jobs and their progress"),
        (name = "imports", description = "CSV imports of contacts, companies and deals; imported deals"),
        (name = "forms", description = "Web forms, consent records, tracking links"),
        (name = "pipeline", description = "Deals through the stages, the board, the pipeline's settings"),
        (name = "analytics", description = "The funnel, deal outcomes, time in stage, forecast and churn (JSON or CSV)"),
        (name = "nurture", description = "E-mail templates and sequences, enrolments, message states, bounces"),
        (name = "personal data", description = "A person's export and erasure, the suppression list, the retention rule, the audit log"),
        (name = "users", description = "Users, roles and API keys"),
        (name = "operations", description = "Health and metrics")
    )
)]
struct ApiDoc;

/// Every `/api/v1` route with its OpenAPI description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(contacts::routes())
        .merge(companies::routes())
        .merge(events::routes())
        .merge(fields::routes())
        .merge(users::routes())
        .merge(scoring::routes())
        .merge(imports::routes())
        .merge(capture::routes())
        .merge(forms::routes())
        .merge(models::routes())
        .merge(handoff::routes())
        .merge(pipeline::routes())
        .merge(analytics::routes())
        .merge(privacy::routes())
        .merge(nurture::routes())
}

/// Completes the generated description with what every operation shares, so it is declared once
/// instead of on each handler: the bearer-key security scheme, and the problem responses any
/// request can get (bad input, missing key, missing right, oversized body, unavailable database,
/// server fault).
pub fn finish_openapi(mut doc: OpenApi) -> OpenApi {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "api_key",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("An API key created at first start or with POST /api/v1/api-keys"))
                .build(),
        ),
    );
    components.schemas.insert("Problem".to_string(), <Problem as utoipa::PartialSchema>::schema());
    components
        .schemas
        .entry("FieldError".to_string())
        .or_insert_with(<leadgate_core::validation::FieldError as utoipa::PartialSchema>::schema);
    for (status, description) in [
        ("400", "The request is malformed (broken JSON, bad header)."),
        ("401", "No valid API key was sent."),
        ("403", "The caller's role does not allow this."),
        ("404", "The resource or route does not exist."),
        ("405", "The method is not allowed on this route."),
        ("409", "The request conflicts with stored data (e.g. an e-mail already used)."),
        ("413", "The body is too large."),
        ("415", "The body is not JSON."),
        ("422", "Some fields are invalid; `errors` lists them."),
        (
            "429",
            "Too many requests for this API key (or, without a valid key, from this address); retry after the `Retry-After` delay. Every answer's `RateLimit` and `RateLimit-Policy` fields say how many are left.",
        ),
        ("500", "A server fault; `request_id` finds it in the logs."),
        (
            "503",
            "The database is unavailable (or busy with concurrent changes of the same records); retry after the `Retry-After` delay.",
        ),
        ("507", "The disk holding the database is full: nothing can be saved until an operator frees space."),
    ] {
        let response = ResponseBuilder::new()
            .description(description)
            .content(
                PROBLEM_JSON,
                ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
            )
            .build();
        components.responses.insert(format!("Problem{status}"), RefOr::T(response));
    }
    let security = vec![SecurityRequirement::new("api_key", Vec::<String>::new())];
    for (path, item) in doc.paths.paths.iter_mut() {
        let authenticated = path.starts_with("/api/v1/");
        if authenticated && let Some(post) = item.post.as_mut() {
            add_idempotency_key(post);
        }
        let ops = [
            (&mut item.get, false),
            (&mut item.post, true),
            (&mut item.put, true),
            (&mut item.patch, true),
            (&mut item.delete, true),
        ];
        for (op, changes_state) in ops {
            let Some(op) = op else { continue };
            add_problems(op, authenticated, changes_state);
            if authenticated && op.security.is_none() {
                op.security = Some(security.clone());
            }
        }
    }
    doc
}

/// Documents the `Idempotency-Key` header every `POST` honours (see `crate::idempotency`).
fn add_idempotency_key(op: &mut Operation) {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    let parameters = op.parameters.get_or_insert_with(Vec::new);
    if parameters.iter().any(|p| matches!(p, RefOr::T(p) if p.name == "Idempotency-Key")) {
        return;
    }
    let schema = utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .min_length(Some(1))
        .max_length(Some(255));
    parameters.push(
        ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(utoipa::openapi::Required::False)
            .description(Some(
                "Makes retries safe: the same key and body return the first answer, and change nothing",
            ))
            .schema(Some(schema))
            .build()
            .into(),
    );
}

/// Documents the problems any operation may answer. Every change of state may conflict with the
/// stored state (409: e.g. accepting a lead that is no longer an MQL), whether or not it has a body.
fn add_problems(op: &mut Operation, authenticated: bool, changes_state: bool) {
    let has_body = op.request_body.is_some();
    let mut statuses = vec!["400", "404", "405", "422", "500", "503"];
    if authenticated {
        statuses.extend(["401", "403", "429"]);
    }
    if changes_state {
        statuses.extend(["409", "507"]);
    }
    if has_body {
        statuses.extend(["413", "415"]);
    }
    for status in statuses {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::Ref(Ref::new(format!("#/components/responses/Problem{status}"))));
    }
}

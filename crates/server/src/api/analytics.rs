//! `/api/v1/analytics`: the funnel, deal outcomes, time in stage, the forecast and churn, as
//! JSON or (`format=csv`) as a table for spreadsheets. Definitions: docs/analytics.md.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use leadgate_app::analytics::{CsvTable, ReportQuery};
use leadgate_core::analytics::{DealsBy, FunnelBy, FunnelMode};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Auth, Query};
use crate::problem::ApiError;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(funnel))
        .routes(routes!(deals))
        .routes(routes!(stages))
        .routes(routes!(forecast))
        .routes(routes!(churn))
        .routes(routes!(sla))
}

/// The answer's format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    #[default]
    Json,
    /// A CSV table, the total last.
    Csv,
}

/// The period of a report and its format.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeriodParams {
    /// First day (default: a year before `to`).
    #[param(value_type = Option<String>, format = Date)]
    from: Option<Date>,
    /// Last day, included (default: today).
    #[param(value_type = Option<String>, format = Date)]
    to: Option<Date>,
    format: Option<Format>,
}

impl PeriodParams {
    fn query(&self) -> ReportQuery {
        ReportQuery { from: self.from, to: self.to }
    }
}

/// The funnel's parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FunnelParams {
    #[param(value_type = Option<String>, format = Date)]
    from: Option<Date>,
    #[param(value_type = Option<String>, format = Date)]
    to: Option<Date>,
    format: Option<Format>,
    /// `cohort` (default): contacts created in the period, followed to today. `activity`: each
    /// step counted in the period it was first reached.
    mode: Option<FunnelMode>,
    /// total (default), source, campaign, country, sector, rep, product.
    by: Option<FunnelBy>,
}

/// The deal report's parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DealParams {
    #[param(value_type = Option<String>, format = Date)]
    from: Option<Date>,
    #[param(value_type = Option<String>, format = Date)]
    to: Option<Date>,
    format: Option<Format>,
    /// total (default), owner, product, sector, source, month.
    by: Option<DealsBy>,
}

/// The SLA report's parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SlaParams {
    #[param(value_type = Option<String>, format = Date)]
    from: Option<Date>,
    #[param(value_type = Option<String>, format = Date)]
    to: Option<Date>,
    format: Option<Format>,
    /// rep (default) or week.
    by: Option<leadgate_app::analytics::SlaBy>,
}

/// JSON, or the report's CSV table as a download named `name`.
fn answer<T: Serialize + CsvTable>(
    report: T,
    format: Option<Format>,
    name: &str,
) -> Result<Response, ApiError> {
    Ok(match format.unwrap_or_default() {
        Format::Json => axum::Json(report).into_response(),
        Format::Csv => super::csv_download(report.csv()?, name),
    })
}

/// The funnel lead → MQL → SQL → opportunity → customer, with the rate of each step, by
/// source, campaign, country, sector or rep.
#[utoipa::path(
    get, path = "/api/v1/analytics/funnel", tag = "analytics",
    params(FunnelParams),
    responses((status = 200, description = "The funnel", body = leadgate_app::analytics::Funnel, content(("application/json"), ("text/csv"))))
)]
async fn funnel(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<FunnelParams>,
) -> Result<Response, ApiError> {
    let query = ReportQuery { from: q.from, to: q.to };
    let report =
        state.app.funnel(&principal, query, q.mode.unwrap_or_default(), q.by.unwrap_or_default()).await?;
    answer(report, q.format, "funnel.csv")
}

/// Deals won and lost in the period (by close date): win rate, won value, sales cycle in days
/// (median and upper quartile), by owner, product, sector, source or month.
#[utoipa::path(
    get, path = "/api/v1/analytics/deals", tag = "analytics",
    params(DealParams),
    responses((status = 200, description = "Deal outcomes", body = leadgate_app::analytics::DealReport, content(("application/json"), ("text/csv"))))
)]
async fn deals(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<DealParams>,
) -> Result<Response, ApiError> {
    let query = ReportQuery { from: q.from, to: q.to };
    let report = state.app.deal_report(&principal, query, q.by.unwrap_or_default()).await?;
    answer(report, q.format, "deals.csv")
}

/// Days deals spent in each open stage, for stays that ended in the period.
#[utoipa::path(
    get, path = "/api/v1/analytics/stages", tag = "analytics",
    params(PeriodParams),
    responses((status = 200, description = "Time in stage", body = leadgate_app::analytics::Report<leadgate_core::analytics::StageTime>, content(("application/json"), ("text/csv"))))
)]
async fn stages(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<PeriodParams>,
) -> Result<Response, ApiError> {
    answer(state.app.stage_report(&principal, q.query()).await?, q.format, "stages.csv")
}

/// Open deals by expected close month (value weighted by their stage's probability) beside
/// the deals won; by default this month and the next two.
#[utoipa::path(
    get, path = "/api/v1/analytics/forecast", tag = "analytics",
    params(PeriodParams),
    responses((status = 200, description = "The forecast", body = leadgate_app::analytics::Report<leadgate_core::analytics::ForecastLine>, content(("application/json"), ("text/csv"))))
)]
async fn forecast(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<PeriodParams>,
) -> Result<Response, ApiError> {
    answer(state.app.forecast(&principal, q.query()).await?, q.format, "forecast.csv")
}

/// Customers at the start of each month and how many churned in it.
#[utoipa::path(
    get, path = "/api/v1/analytics/churn", tag = "analytics",
    params(PeriodParams),
    responses((status = 200, description = "Churn per month", body = leadgate_app::analytics::Report<leadgate_core::analytics::ChurnLine>, content(("application/json"), ("text/csv"))))
)]
async fn churn(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<PeriodParams>,
) -> Result<Response, ApiError> {
    answer(state.app.churn(&principal, q.query()).await?, q.format, "churn.csv")
}

/// First-touch deadlines of the leads handed over in the period, met and missed, per rep or
/// per ISO week, with the median time to first touch.
#[utoipa::path(
    get, path = "/api/v1/analytics/sla", tag = "analytics",
    params(SlaParams),
    responses((status = 200, description = "SLA compliance", body = leadgate_app::analytics::SlaReport, content(("application/json"), ("text/csv"))))
)]
async fn sla(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<SlaParams>,
) -> Result<Response, ApiError> {
    let query = ReportQuery { from: q.from, to: q.to };
    answer(state.app.sla_report(&principal, query, q.by.unwrap_or_default()).await?, q.format, "sla.csv")
}

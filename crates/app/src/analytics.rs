//! The reports a sales director runs the team on (DESIGN §9; definitions in
//! docs/analytics.md): the funnel by source, campaign, country, sector, rep or product, in
//! cohort or activity mode; deal outcomes (win rate, value, sales cycle) by owner, product,
//! sector, source or month; time spent in each stage; the forecast; churn; first-touch SLA per
//! rep or week. Team figures: every role reads them
//! (they name no lead), like the dashboard.

use jiff::civil::Date;
use leadgate_core::access::Permission;
use leadgate_core::analytics::{
    ChurnLine, DealLine, DealsBy, ForecastLine, FunnelBy, FunnelLine, FunnelMode, Period, SlaLine, StageTime,
    churn_lines, deal_lines, forecast_lines, funnel_lines, sla_lines, stage_times,
};
use serde::Serialize;

use crate::{App, AppError, Principal};

/// The period a report covers and how it was asked.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReportQuery {
    pub from: Option<Date>,
    pub to: Option<Date>,
}

/// A funnel: its lines and their total.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Funnel {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub from: Date,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub to: Date,
    pub mode: FunnelMode,
    pub by: FunnelBy,
    /// Anonymous browsers the tracker first saw in the period (the step before lead; they
    /// have no source or rep, so only the total has them).
    pub visitors: i64,
    /// Leads / visitors.
    pub visitor_rate: Option<f64>,
    pub lines: Vec<FunnelLine>,
    pub total: FunnelLine,
}

/// Deal outcomes: lines per group and their total.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DealReport {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub from: Date,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub to: Date,
    pub by: DealsBy,
    pub lines: Vec<DealLine>,
    pub total: DealLine,
}

/// What the SLA report is broken down by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SlaBy {
    /// The rep the lead was handed to.
    #[default]
    Rep,
    /// The ISO week it was handed over in.
    Week,
}

/// First-touch deadlines met and missed, with their total.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaReport {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub from: Date,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub to: Date,
    pub by: SlaBy,
    pub lines: Vec<SlaLine>,
    pub total: SlaLine,
}

/// A report of lines over a period (stages, forecast, churn).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report<L> {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub from: Date,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub to: Date,
    pub lines: Vec<L>,
}

impl App {
    fn period(&self, principal: &Principal, q: ReportQuery) -> Result<Period, AppError> {
        principal.require(Permission::ReadContacts)?;
        let today = jiff::tz::Offset::UTC.to_datetime(self.now()).date();
        Ok(Period::new(q.from, q.to, today)?)
    }

    /// The funnel of the period.
    pub async fn funnel(
        &self,
        principal: &Principal,
        q: ReportQuery,
        mode: FunnelMode,
        by: FunnelBy,
    ) -> Result<Funnel, AppError> {
        let period = self.period(principal, q)?;
        let (from, to) = period.instants();
        let mut s = self.store.read().await?;
        let raw = s.funnel_counts(mode, by, from, to).await?;
        let visitors = s.visitors_first_seen(from, to).await?;
        let (lines, mut total) = funnel_lines(raw, by);
        if by == FunnelBy::Product {
            // A contact may be under several products: the total counts it once.
            total = funnel_lines(s.funnel_counts(mode, FunnelBy::Total, from, to).await?, FunnelBy::Total).1;
        }
        let visitor_rate = leadgate_core::analytics::rate(total.counts.leads, visitors);
        Ok(Funnel { from: period.from, to: period.to, mode, by, visitors, visitor_rate, lines, total })
    }

    /// Deals won or lost in the period.
    pub async fn deal_report(
        &self,
        principal: &Principal,
        q: ReportQuery,
        by: DealsBy,
    ) -> Result<DealReport, AppError> {
        let period = self.period(principal, q)?;
        let deals = self.store.read().await?.closed_deals(by, period.from, period.to).await?;
        let (mut lines, total) = deal_lines(&deals, by == DealsBy::Product);
        if by == DealsBy::Month {
            lines.sort_by(|a, b| a.group.cmp(&b.group));
        }
        Ok(DealReport { from: period.from, to: period.to, by, lines, total })
    }

    /// How long deals stayed in each stage, for stays that ended in the period.
    pub async fn stage_report(
        &self,
        principal: &Principal,
        q: ReportQuery,
    ) -> Result<Report<StageTime>, AppError> {
        let period = self.period(principal, q)?;
        let (from, to) = period.instants();
        let mut s = self.store.read().await?;
        let stays = s.stage_stays(from, to).await?;
        // The pipeline's stages in order, then any it no longer has that deals stayed in.
        let mut stages = self.settings_in(&mut s).await?.open_stages();
        let mut gone: Vec<_> =
            stays.iter().map(|st| st.0).filter(|st| !st.is_closed() && !stages.contains(st)).collect();
        gone.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        gone.dedup();
        stages.extend(gone);
        Ok(Report { from: period.from, to: period.to, lines: stage_times(&stays, &stages, from, to) })
    }

    /// Open deals by expected close month, weighted by stage, beside the deals won.
    pub async fn forecast(
        &self,
        principal: &Principal,
        q: ReportQuery,
    ) -> Result<Report<ForecastLine>, AppError> {
        let asked = self.period(principal, q)?;
        // A forecast looks ahead: by default, this month and the next two.
        let period = if q.from.is_none() && q.to.is_none() {
            let first = asked.to.first_of_month();
            let last = first
                .checked_add(jiff::Span::new().months(3))
                .ok()
                .and_then(|d| d.yesterday().ok())
                .unwrap_or(asked.to);
            Period { from: first, to: last }
        } else {
            asked
        };
        let mut s = self.store.read().await?;
        let settings = self.settings_in(&mut s).await?;
        let open = s.open_deals_for_forecast(period.from, period.to).await?;
        let won = s.closed_deals(DealsBy::Month, period.from, period.to).await?;
        Ok(Report {
            from: period.from,
            to: period.to,
            lines: forecast_lines(&open, &won, &settings, &period),
        })
    }

    /// First-touch deadlines of the leads handed over in the period, per rep or per week.
    pub async fn sla_report(
        &self,
        principal: &Principal,
        q: ReportQuery,
        by: SlaBy,
    ) -> Result<SlaReport, AppError> {
        let period = self.period(principal, q)?;
        let (from, to) = period.instants();
        let rows = self.store.read().await?.handovers(from, to).await?;
        let (lines, total) = sla_lines(&rows, by == SlaBy::Week, self.now());
        Ok(SlaReport { from: period.from, to: period.to, by, lines, total })
    }

    /// Customers at the start of each month of the period and how many left in it.
    pub async fn churn(&self, principal: &Principal, q: ReportQuery) -> Result<Report<ChurnLine>, AppError> {
        let period = self.period(principal, q)?;
        let histories = self.store.read().await?.customer_histories().await?;
        Ok(Report { from: period.from, to: period.to, lines: churn_lines(&histories, &period) })
    }
}

/// A report as a CSV table for spreadsheets: a header, one row per line (the total last, named
/// `total`), numbers with a dot and no grouping, rates as fractions, missing values empty.
pub trait CsvTable {
    fn csv(&self) -> Result<Vec<u8>, AppError>;
}

fn cell(x: Option<f64>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

fn table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> Result<Vec<u8>, AppError> {
    let mut out = crate::export::CsvExport::new(Vec::new());
    out.row(header.iter().copied())?;
    for row in rows {
        out.row(row.iter().map(String::as_str))?;
    }
    out.finish()
}

impl CsvTable for Funnel {
    fn csv(&self) -> Result<Vec<u8>, AppError> {
        let row = |group: String, l: &FunnelLine| {
            let c = &l.counts;
            vec![
                group,
                c.leads.to_string(),
                c.mql.to_string(),
                c.sql.to_string(),
                c.opportunity.to_string(),
                c.customer.to_string(),
                cell(l.mql_rate),
                cell(l.sql_rate),
                cell(l.opportunity_rate),
                cell(l.customer_rate),
                cell(l.conversion_rate),
            ]
        };
        table(
            &[
                "group",
                "leads",
                "mql",
                "sql",
                "opportunity",
                "customer",
                "mql_rate",
                "sql_rate",
                "opportunity_rate",
                "customer_rate",
                "conversion_rate",
            ],
            self.lines
                .iter()
                .map(|l| row(l.group.clone().unwrap_or_default(), l))
                .chain([row("total".into(), &self.total)]),
        )
    }
}

impl CsvTable for DealReport {
    fn csv(&self) -> Result<Vec<u8>, AppError> {
        let row = |group: String, l: &DealLine| {
            vec![
                group,
                l.won.to_string(),
                l.lost.to_string(),
                cell(l.win_rate),
                l.won_value.to_string(),
                cell(l.average_won_value),
                cell(l.median_days_to_win),
                cell(l.p75_days_to_win),
                cell(l.median_days_to_lose),
            ]
        };
        table(
            &[
                "group",
                "won",
                "lost",
                "win_rate",
                "won_value",
                "average_won_value",
                "median_days_to_win",
                "p75_days_to_win",
                "median_days_to_lose",
            ],
            self.lines
                .iter()
                .map(|l| row(l.group.clone().unwrap_or_default(), l))
                .chain([row("total".into(), &self.total)]),
        )
    }
}

impl CsvTable for SlaReport {
    fn csv(&self) -> Result<Vec<u8>, AppError> {
        let row = |group: String, l: &SlaLine| {
            vec![
                group,
                l.handed.to_string(),
                l.met.to_string(),
                l.missed.to_string(),
                l.running.to_string(),
                cell(l.compliance),
                cell(l.median_minutes_to_first_touch),
            ]
        };
        table(
            &["group", "handed", "met", "missed", "running", "compliance", "median_minutes_to_first_touch"],
            self.lines
                .iter()
                .map(|l| row(l.group.clone().unwrap_or_default(), l))
                .chain([row("total".into(), &self.total)]),
        )
    }
}

impl CsvTable for Report<StageTime> {
    fn csv(&self) -> Result<Vec<u8>, AppError> {
        table(
            &["stage", "deals", "median_days", "p75_days", "average_days"],
            self.lines.iter().map(|l| {
                vec![
                    l.stage.as_str().to_string(),
                    l.deals.to_string(),
                    cell(l.median_days),
                    cell(l.p75_days),
                    cell(l.average_days),
                ]
            }),
        )
    }
}

impl CsvTable for Report<ForecastLine> {
    fn csv(&self) -> Result<Vec<u8>, AppError> {
        table(
            &["month", "open_deals", "pipeline_value", "weighted_value", "won_deals", "won_value"],
            self.lines.iter().map(|l| {
                vec![
                    l.month.clone().unwrap_or_default(),
                    l.open_deals.to_string(),
                    l.pipeline_value.to_string(),
                    l.weighted_value.to_string(),
                    l.won_deals.to_string(),
                    l.won_value.to_string(),
                ]
            }),
        )
    }
}

impl CsvTable for Report<ChurnLine> {
    fn csv(&self) -> Result<Vec<u8>, AppError> {
        table(
            &["month", "customers_at_start", "churned", "churn_rate"],
            self.lines.iter().map(|l| {
                vec![
                    l.month.clone(),
                    l.customers_at_start.to_string(),
                    l.churned.to_string(),
                    cell(l.churn_rate),
                ]
            }),
        )
    }
}

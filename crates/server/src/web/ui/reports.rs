//! The reports page: every analytics report (funnel, deals, time in stage, forecast, churn,
//! SLA) as a chart and a table for a period and a breakdown, in the user's language, each
//! downloadable as the API's CSV table.

use leadgate_app::analytics::{CsvTable, ReportQuery, SlaBy};
use leadgate_core::analytics::{DealsBy, FunnelBy, FunnelMode};

use super::*;

/// One report of the page: its name, the breakdowns it offers.
struct Kind {
    code: &'static str,
    label: fn(&Texts) -> &'static str,
    breakdowns: &'static [&'static str],
}

const KINDS: &[Kind] = &[
    Kind {
        code: "funnel",
        label: |t| t.report_funnel,
        breakdowns: &["total", "source", "campaign", "country", "sector", "rep", "product"],
    },
    Kind {
        code: "deals",
        label: |t| t.report_deals,
        breakdowns: &["total", "owner", "product", "sector", "source", "month"],
    },
    Kind { code: "stages", label: |t| t.report_stages, breakdowns: &[] },
    Kind { code: "forecast", label: |t| t.report_forecast, breakdowns: &[] },
    Kind { code: "churn", label: |t| t.report_churn, breakdowns: &[] },
    Kind { code: "sla", label: |t| t.report_sla, breakdowns: &["rep", "week"] },
];

fn breakdown_label(t: &Texts, code: &str) -> &'static str {
    match code {
        "total" => t.by_total,
        "source" => t.filter_source,
        "campaign" => t.by_campaign,
        "country" => t.country,
        "sector" => t.by_sector,
        "rep" | "owner" => t.rep,
        "product" => t.deal_product,
        "month" => t.by_month,
        "week" => t.by_week,
        _ => "",
    }
}

#[derive(Deserialize, Default)]
pub(super) struct ReportParams {
    report: Option<String>,
    by: Option<String>,
    mode: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// A report as the page shows it: column headers, rows (the first cell names the line), the
/// bars of its main figure, and its CSV.
struct Shown {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    bars: Vec<(String, f64, String, &'static str)>,
    csv: Vec<u8>,
    note: Option<&'static str>,
    /// The period the report covers (the defaults applied).
    period: (jiff::civil::Date, jiff::civil::Date),
}

#[derive(Template)]
#[template(path = "ui/reports.html")]
pub(super) struct ReportsPage {
    c: Chrome,
    reports: Vec<Choice>,
    breakdowns: Vec<Choice>,
    activity: bool,
    is_funnel: bool,
    from: String,
    to: String,
    title: String,
    note: Option<&'static str>,
    chart: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    csv_link: String,
}

fn parse<T: serde::de::DeserializeOwned + Default>(code: Option<&str>) -> T {
    code.and_then(|c| serde_json::from_value(serde_json::Value::String(c.to_string())).ok())
        .unwrap_or_default()
}

async fn build(state: &AppState, s: &Signed, q: &ReportParams) -> Result<(&'static Kind, Shown), AppError> {
    let t = s.lang.texts();
    let kind = KINDS.iter().find(|k| Some(k.code) == q.report.as_deref()).unwrap_or(&KINDS[0]);
    let query = ReportQuery {
        from: dashboard::parse_day(q.from.as_deref()),
        to: dashboard::parse_day(q.to.as_deref()),
    };
    let num = |n: i64| s.lang.number(n as f64, 0);
    let pct = |r: Option<f64>| r.map_or_else(|| "—".to_string(), |r| s.lang.percent(r));
    let dec = |x: Option<f64>| x.map_or_else(|| "—".to_string(), |x| s.lang.number(x, 1));
    let money = |x: f64| s.lang.number(x, 0);
    let name = |g: &Option<String>| g.clone().unwrap_or_else(|| t.no_value.to_string());
    let app = &state.app;
    let p = s.p();
    let shown = match kind.code {
        "funnel" => {
            let mode =
                if q.mode.as_deref() == Some("activity") { FunnelMode::Activity } else { FunnelMode::Cohort };
            let f = app.funnel(p, query, mode, parse::<FunnelBy>(q.by.as_deref())).await?;
            let c = &f.total.counts;
            let mut rows: Vec<Vec<String>> = f
                .lines
                .iter()
                .map(|l| {
                    let k = &l.counts;
                    vec![
                        name(&l.group),
                        num(k.leads),
                        num(k.mql),
                        num(k.sql),
                        num(k.opportunity),
                        num(k.customer),
                        pct(l.conversion_rate),
                    ]
                })
                .collect();
            rows.push(vec![
                t.total.to_string(),
                num(c.leads),
                num(c.mql),
                num(c.sql),
                num(c.opportunity),
                num(c.customer),
                pct(f.total.conversion_rate),
            ]);
            Shown {
                headers: [
                    t.by_group,
                    t.funnel_leads,
                    t.funnel_mql,
                    t.funnel_sql,
                    t.funnel_opportunity,
                    t.funnel_customer,
                    t.conversion,
                ]
                .map(String::from)
                .to_vec(),
                rows,
                bars: dashboard::funnel_bars(s.lang, c, Some(f.visitors)),
                note: Some(if mode == FunnelMode::Activity { t.funnel_activity } else { t.funnel_cohort }),
                period: (f.from, f.to),
                csv: f.csv()?,
            }
        }
        "deals" => {
            let r = app.deal_report(p, query, parse::<DealsBy>(q.by.as_deref())).await?;
            let row = |g: String, l: &leadgate_core::analytics::DealLine| {
                vec![
                    g,
                    num(l.won),
                    num(l.lost),
                    pct(l.win_rate),
                    money(l.won_value),
                    dec(l.median_days_to_win),
                    dec(l.p75_days_to_win),
                    dec(l.median_days_to_lose),
                ]
            };
            let mut rows: Vec<Vec<String>> = r.lines.iter().map(|l| row(name(&l.group), l)).collect();
            rows.push(row(t.total.to_string(), &r.total));
            Shown {
                headers: [
                    t.by_group,
                    t.deal_won,
                    t.deal_lost,
                    t.win_rate,
                    t.won_value,
                    t.median_days_to_win,
                    t.p75_days_to_win,
                    t.median_days_to_lose,
                ]
                .map(String::from)
                .to_vec(),
                bars: r
                    .lines
                    .iter()
                    .take(12)
                    .map(|l| (name(&l.group), l.win_rate.unwrap_or(0.0), pct(l.win_rate), "#1f4fd1"))
                    .collect(),
                rows,
                note: Some(t.deals_note),
                period: (r.from, r.to),
                csv: r.csv()?,
            }
        }
        "stages" => {
            let r = app.stage_report(p, query).await?;
            let stages = pipeline::stage_names(state, s).await;
            Shown {
                headers: [t.col_stage, t.deals_title, t.median_days, t.p75_days, t.average_days]
                    .map(String::from)
                    .to_vec(),
                rows: r
                    .lines
                    .iter()
                    .map(|l| {
                        vec![
                            pipeline::deal_stage_label(t, &stages, l.stage),
                            num(l.deals),
                            dec(l.median_days),
                            dec(l.p75_days),
                            dec(l.average_days),
                        ]
                    })
                    .collect(),
                bars: r
                    .lines
                    .iter()
                    .map(|l| {
                        (
                            pipeline::deal_stage_label(t, &stages, l.stage),
                            l.median_days.unwrap_or(0.0),
                            dec(l.median_days),
                            "#1f4fd1",
                        )
                    })
                    .collect(),
                note: Some(t.stages_note),
                period: (r.from, r.to),
                csv: r.csv()?,
            }
        }
        "forecast" => {
            let r = app.forecast(p, query).await?;
            let month = |m: &Option<String>| m.clone().unwrap_or_else(|| t.no_date.to_string());
            Shown {
                headers: [
                    t.by_month,
                    t.open_deals,
                    t.pipeline_value,
                    t.deal_weighted,
                    t.deal_won,
                    t.won_value,
                ]
                .map(String::from)
                .to_vec(),
                rows: r
                    .lines
                    .iter()
                    .map(|l| {
                        vec![
                            month(&l.month),
                            num(l.open_deals),
                            money(l.pipeline_value),
                            money(l.weighted_value),
                            num(l.won_deals),
                            money(l.won_value),
                        ]
                    })
                    .collect(),
                bars: r
                    .lines
                    .iter()
                    .map(|l| (month(&l.month), l.weighted_value, money(l.weighted_value), "#1f4fd1"))
                    .collect(),
                note: Some(t.forecast_note),
                period: (r.from, r.to),
                csv: r.csv()?,
            }
        }
        "churn" => {
            let r = app.churn(p, query).await?;
            Shown {
                headers: [t.by_month, t.customers_at_start, t.churned, t.churn_rate]
                    .map(String::from)
                    .to_vec(),
                rows: r
                    .lines
                    .iter()
                    .map(|l| {
                        vec![l.month.clone(), num(l.customers_at_start), num(l.churned), pct(l.churn_rate)]
                    })
                    .collect(),
                bars: r
                    .lines
                    .iter()
                    .map(|l| (l.month.clone(), l.churn_rate.unwrap_or(0.0), pct(l.churn_rate), "#b3261e"))
                    .collect(),
                note: Some(t.churn_note),
                period: (r.from, r.to),
                csv: r.csv()?,
            }
        }
        _ => {
            let r = app.sla_report(p, query, parse::<SlaBy>(q.by.as_deref())).await?;
            let row = |g: String, l: &leadgate_core::analytics::SlaLine| {
                vec![
                    g,
                    num(l.handed),
                    num(l.met),
                    num(l.missed),
                    num(l.running),
                    pct(l.compliance),
                    l.median_minutes_to_first_touch.map_or_else(
                        || "—".into(),
                        |m| work::duration_words(s.lang, (m * 60.0).round() as i64),
                    ),
                ]
            };
            let unassigned = |g: &Option<String>| g.clone().unwrap_or_else(|| t.sla_unassigned.to_string());
            let mut rows: Vec<Vec<String>> = r.lines.iter().map(|l| row(unassigned(&l.group), l)).collect();
            rows.push(row(t.total.to_string(), &r.total));
            Shown {
                headers: [
                    t.by_group,
                    t.handed,
                    t.sla_met,
                    t.sla_missed,
                    t.running,
                    t.sla_compliance,
                    t.median_first_touch,
                ]
                .map(String::from)
                .to_vec(),
                bars: r
                    .lines
                    .iter()
                    .map(|l| {
                        (unassigned(&l.group), l.compliance.unwrap_or(0.0), pct(l.compliance), "#166534")
                    })
                    .collect(),
                rows,
                note: None,
                period: (r.from, r.to),
                csv: r.csv()?,
            }
        }
    };
    Ok((kind, shown))
}

fn query_string(q: &ReportParams, kind: &Kind) -> String {
    let mut parts = vec![format!("report={}", kind.code)];
    for (key, value) in [("by", &q.by), ("mode", &q.mode), ("from", &q.from), ("to", &q.to)] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            parts.push(format!("{key}={}", urlencode(v)));
        }
    }
    parts.join("&")
}

pub(super) async fn reports(
    State(state): State<AppState>,
    s: Signed,
    Query(q): Query<ReportParams>,
) -> Response {
    let t = s.lang.texts();
    let (kind, shown) = match build(&state, &s, &q).await {
        Ok(x) => x,
        Err(e) => return app_error(&s, e),
    };
    let title = (kind.label)(t).to_string();
    let chart = if shown.bars.is_empty() { String::new() } else { dashboard::bars_svg(&title, &shown.bars) };
    render(ReportsPage {
        c: s.chrome("reports"),
        reports: KINDS
            .iter()
            .map(|k| Choice {
                value: k.code.into(),
                label: (k.label)(t).into(),
                selected: k.code == kind.code,
            })
            .collect(),
        breakdowns: kind
            .breakdowns
            .iter()
            .map(|b| Choice {
                value: (*b).into(),
                label: breakdown_label(t, b).into(),
                selected: q.by.as_deref() == Some(*b),
            })
            .collect(),
        activity: q.mode.as_deref() == Some("activity"),
        is_funnel: kind.code == "funnel",
        from: shown.period.0.to_string(),
        to: shown.period.1.to_string(),
        title,
        note: shown.note,
        chart,
        headers: shown.headers,
        rows: shown.rows,
        csv_link: format!("/reports.csv?{}", query_string(&q, kind)),
    })
}

/// `GET /reports.csv`: the report on the page, as the API's CSV table.
pub(super) async fn reports_csv(
    State(state): State<AppState>,
    s: Signed,
    Query(q): Query<ReportParams>,
) -> Response {
    match build(&state, &s, &q).await {
        Ok((kind, shown)) => csv_download(s.lang, &format!("{}.csv", kind.code), shown.csv),
        Err(e) => app_error(&s, e),
    }
}

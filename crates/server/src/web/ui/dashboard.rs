//! The dashboard: funnel, temperatures now and over time, the sales agreement's figures and
//! its compliance per week and per rep.

use leadgate_app::analytics::{ReportQuery, SlaBy};
use leadgate_core::analytics::{FunnelBy, FunnelMode, Period};

use super::*;

/// Escapes text for SVG (XML).
pub(super) fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Horizontal bars, one per (label, value), drawn on the server: no script, no CDN.
pub(super) fn bars_svg(title: &str, bars: &[(String, f64, String, &str)]) -> String {
    let max = bars.iter().map(|b| b.1).fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    let (row, label_w, width) = (28.0, 150.0, 560.0);
    let height = row * bars.len() as f64 + 8.0;
    let mut svg = format!(
        r#"<svg role="img" aria-label="{}" viewBox="0 0 {width} {height}" width="100%" style="max-width:{width}px">"#,
        xml(title)
    );
    for (i, (label, value, shown, color)) in bars.iter().enumerate() {
        let y = 4.0 + i as f64 * row;
        let w = ((width - label_w - 70.0) * value / max).max(1.0);
        let _ = write!(
            svg,
            r##"<text x="0" y="{ty}" font-size="13" fill="#1d2330">{l}</text><rect x="{label_w}" y="{y}" width="{w:.1}" height="{h}" fill="{color}" rx="3"/><text x="{vx:.1}" y="{ty}" font-size="13" fill="#1d2330">{v}</text>"##,
            ty = y + 16.0,
            l = xml(label),
            h = row - 8.0,
            vx = label_w + w + 6.0,
            v = xml(shown),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One column per day, its values stacked (bottom first), with the largest total on the y axis
/// and the first and last days under it: how open leads' temperatures moved.
pub(super) fn stacked_columns_svg(lang: Lang, title: &str, days: &[(String, Vec<(f64, &str)>)]) -> String {
    let (width, height, left, bottom) = (560.0, 200.0, 56.0, 22.0);
    let max = days.iter().map(|(_, v)| v.iter().map(|x| x.0).sum::<f64>()).fold(0.0, f64::max);
    let scale = if max > 0.0 { (height - bottom - 8.0) / max } else { 0.0 };
    let step = (width - left) / days.len().max(1) as f64;
    let mut svg = format!(
        r#"<svg role="img" aria-label="{}" viewBox="0 0 {width} {height}" width="100%" style="max-width:{width}px">"#,
        xml(title)
    );
    let base = height - bottom;
    let _ = write!(
        svg,
        r##"<line x1="{left}" y1="8" x2="{left}" y2="{base}" stroke="#6b7280"/><line x1="{left}" y1="{base}" x2="{width}" y2="{base}" stroke="#6b7280"/><text x="{lx}" y="18" font-size="12" text-anchor="end" fill="#1d2330">{m}</text><text x="{lx}" y="{base}" font-size="12" text-anchor="end" fill="#1d2330">0</text>"##,
        lx = left - 4.0,
        m = lang.number(max, 0),
    );
    for (i, (_, values)) in days.iter().enumerate() {
        let x = left + i as f64 * step + step * 0.15;
        let mut y = base;
        for (value, color) in values {
            let h = value * scale;
            y -= h;
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{color}"/>"#,
                w = step * 0.7
            );
        }
    }
    if let (Some(first), Some(last)) = (days.first(), days.last()) {
        let _ = write!(
            svg,
            r##"<text x="{left}" y="{ty}" font-size="12" fill="#1d2330">{a}</text><text x="{width}" y="{ty}" font-size="12" text-anchor="end" fill="#1d2330">{b}</text>"##,
            ty = height - 4.0,
            a = xml(&first.0),
            b = xml(&last.0),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The first-touch compliance of each week or rep of the period, as bars.
async fn sla_bars(
    state: &AppState,
    s: &Signed,
    period: ReportQuery,
    by: SlaBy,
) -> Result<Vec<(String, f64, String, &'static str)>, AppError> {
    let t = s.lang.texts();
    let report = state.app.sla_report(s.p(), period, by).await?;
    Ok(report
        .lines
        .iter()
        .map(|l| {
            let group = l.group.clone().unwrap_or_else(|| t.sla_unassigned.to_string());
            let shown = l.compliance.map_or_else(|| "—".into(), |c| s.lang.percent(c));
            (group, l.compliance.unwrap_or(0.0), shown, "#166534")
        })
        .collect())
}

pub(super) struct SourceLine {
    pub source: String,
    pub created: String,
    pub mql: String,
    pub sql: String,
    pub opportunity: String,
    pub customer: String,
    pub rate: String,
}

pub(super) struct Row3 {
    pub a: String,
    pub b: String,
    pub c: String,
}

#[derive(Template)]
#[template(path = "ui/dashboard.html")]
pub(super) struct DashboardPage {
    pub(super) c: Chrome,
    pub(super) from: String,
    pub(super) to: String,
    pub(super) activity: bool,
    pub(super) csv_link: String,
    pub(super) funnel_svg: String,
    pub(super) steps: Vec<Row3>,
    pub(super) temperature_svg: String,
    pub(super) temperatures: Vec<Row2>,
    pub(super) sources: Vec<SourceLine>,
    pub(super) sla: Vec<Row2>,
    /// Compliance with the first-touch deadline per week, then per rep, of the period.
    pub(super) sla_weeks_svg: String,
    pub(super) sla_reps_svg: String,
    /// Open leads by temperature on each recorded day of the period (none before the first).
    pub(super) history_svg: Option<String>,
    pub(super) history: Vec<Row3>,
}

#[derive(Deserialize)]
pub(super) struct PeriodQuery {
    pub(super) from: Option<String>,
    pub(super) to: Option<String>,
    /// `activity`, else the cohort.
    pub(super) mode: Option<String>,
}

impl PeriodQuery {
    /// The report's period: the days asked (unreadable ones fall back to the default), by
    /// default the last 30 days.
    fn report(&self, today: jiff::civil::Date) -> ReportQuery {
        let to = parse_day(self.to.as_deref()).unwrap_or(today);
        let from = parse_day(self.from.as_deref())
            .unwrap_or_else(|| to.checked_sub(jiff::Span::new().days(29)).unwrap_or(to));
        ReportQuery { from: Some(from), to: Some(to) }
    }

    fn mode(&self) -> FunnelMode {
        if self.mode.as_deref() == Some("activity") { FunnelMode::Activity } else { FunnelMode::Cohort }
    }
}

/// The bars of a funnel's steps (visitors first when given), for [`bars_svg`].
pub(super) fn funnel_bars(
    lang: Lang,
    c: &leadgate_core::analytics::FunnelCounts,
    visitors: Option<i64>,
) -> Vec<(String, f64, String, &'static str)> {
    let t = lang.texts();
    let bar = |label: &str, n: i64, color| (label.to_string(), n as f64, lang.number(n as f64, 0), color);
    visitors
        .map(|v| bar(t.funnel_visitors, v, "#6b7280"))
        .into_iter()
        .chain([
            bar(t.funnel_leads, c.leads, "#1f4fd1"),
            bar(t.funnel_mql, c.mql, "#3b6fe0"),
            bar(t.funnel_sql, c.sql, "#5b8af0"),
            bar(t.funnel_opportunity, c.opportunity, "#7a9ef2"),
            bar(t.funnel_customer, c.customer, "#166534"),
        ])
        .collect()
}

pub(super) fn parse_day(s: Option<&str>) -> Option<jiff::civil::Date> {
    s.and_then(|d| d.trim().parse::<jiff::civil::Date>().ok())
}

pub(super) async fn dashboard(
    State(state): State<AppState>,
    s: Signed,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let t = s.lang.texts();
    let today = jiff::tz::Offset::UTC.to_datetime(state.app.now()).date();
    let mode = q.mode();
    let funnel = match state.app.funnel(s.p(), q.report(today), mode, FunnelBy::Source).await {
        Ok(f) => f,
        Err(e) => return app_error(&s, e),
    };
    let temps = match state.app.temperature_counts(s.p()).await {
        Ok(x) => x,
        Err(e) => return app_error(&s, e),
    };
    let (from, to) = (funnel.from, funnel.to);
    let (from_t, to_t) = Period { from, to }.instants();
    let rate = |r: Option<f64>| r.map_or_else(|| "—".into(), |r| s.lang.percent(r));
    let num = |n: i64| s.lang.number(n as f64, 0);
    let total = &funnel.total;
    let c = &total.counts;
    let steps = vec![
        Row3 { a: t.funnel_leads.into(), b: num(c.leads), c: String::new() },
        Row3 { a: t.funnel_mql.into(), b: num(c.mql), c: rate(total.mql_rate) },
        Row3 { a: t.funnel_sql.into(), b: num(c.sql), c: rate(total.sql_rate) },
        Row3 { a: t.funnel_opportunity.into(), b: num(c.opportunity), c: rate(total.opportunity_rate) },
        Row3 { a: t.funnel_customer.into(), b: num(c.customer), c: rate(total.customer_rate) },
    ];
    let funnel_svg = bars_svg(t.dashboard_title, &funnel_bars(s.lang, c, None));
    let sources: Vec<SourceLine> = funnel
        .lines
        .iter()
        .map(|r| SourceLine {
            source: r.group.clone().unwrap_or_else(|| t.no_source.into()),
            created: num(r.counts.leads),
            mql: num(r.counts.mql),
            sql: num(r.counts.sql),
            opportunity: num(r.counts.opportunity),
            customer: num(r.counts.customer),
            rate: rate(r.conversion_rate),
        })
        .collect();
    // The reports page serves the same table as CSV.
    let csv_link = format!(
        "/reports.csv?report=funnel&by=source&from={from}&to={to}&mode={}",
        if mode == FunnelMode::Activity { "activity" } else { "cohort" }
    );
    let count =
        |code: Option<&str>| temps.iter().filter(|(k, _)| k.as_deref() == code).map(|(_, n)| *n).sum::<i64>();
    let temp_bars: Vec<(String, f64, String, &str)> = [
        (t.hot, count(Some("hot")), "#b3261e"),
        (t.warm, count(Some("warm")), "#9a5b00"),
        (t.cold, count(Some("cold")), "#1e5a8a"),
        (t.not_scored, count(None), "#6b7280"),
    ]
    .into_iter()
    .map(|(l, n, color)| (l.to_string(), n as f64, num(n), color))
    .collect();
    let temperatures =
        temp_bars.iter().map(|(l, _, shown, _)| Row2 { a: l.clone(), b: shown.clone() }).collect();
    let temperature_svg = bars_svg(t.open_by_temperature, &temp_bars);
    let sla = match state.app.handoff_metrics(s.p(), from_t, to_t).await {
        Ok(m) => {
            let minutes = |x: f64| duration_words(s.lang, (x * 60.0).round() as i64);
            let mut rows = vec![
                Row2 { a: t.assigned_leads.into(), b: num(m.assigned as i64) },
                Row2 { a: t.waiting_leads.into(), b: num(m.unassigned as i64) },
                Row2 {
                    a: t.sla_compliance.into(),
                    b: m.compliance.map_or("—".into(), |c| s.lang.percent(c)),
                },
            ];
            for (temperature, median) in &m.median_minutes_to_first_touch_by_temperature {
                rows.push(Row2 {
                    a: format!(
                        "{} ({})",
                        t.median_first_touch,
                        temperature_label(t, temperature).to_lowercase()
                    ),
                    b: minutes(*median),
                });
            }
            let reason = |code: &str| match code {
                "not_a_fit" => t.reason_not_a_fit.to_string(),
                "no_budget" => t.reason_no_budget.to_string(),
                "no_authority" => t.reason_no_authority.to_string(),
                "bad_data" => t.reason_bad_data.to_string(),
                "duplicate" => t.reason_duplicate.to_string(),
                "unreachable" => t.reason_unreachable.to_string(),
                "other" => t.reason_other.to_string(),
                other => other.to_string(),
            };
            let rejections = m
                .rejections
                .iter()
                .map(|(k, v)| format!("{}: {v}", reason(k)))
                .collect::<Vec<_>>()
                .join(", ");
            rows.push(Row2 {
                a: t.rejections.into(),
                b: if rejections.is_empty() { t.none.into() } else { rejections },
            });
            rows
        }
        Err(e) => return app_error(&s, e),
    };
    // The agreement kept over time and per rep (the reports page has the tables and the CSV).
    let (weeks, reps) = match (
        sla_bars(&state, &s, q.report(today), SlaBy::Week).await,
        sla_bars(&state, &s, q.report(today), SlaBy::Rep).await,
    ) {
        (Ok(w), Ok(r)) => (w, r),
        (Err(e), _) | (_, Err(e)) => return app_error(&s, e),
    };
    let no_data = |bars: Vec<(String, f64, String, &'static str)>| {
        if bars.is_empty() { vec![(t.none.to_string(), 0.0, "—".to_string(), "#6b7280")] } else { bars }
    };
    let sla_weeks_svg = bars_svg(t.sla_by_week, &no_data(weeks));
    let sla_reps_svg = bars_svg(t.sla_by_rep, &no_data(reps));
    let mut days = match state.app.temperature_history(s.p(), from, to).await {
        Ok(d) => d,
        Err(e) => return app_error(&s, e),
    };
    // Today's column is today's counts as of now (the record is at most an hour old).
    if to >= today && from <= today {
        let today = leadgate_store::web::TemperatureDay {
            day: today.to_string(),
            hot: count(Some("hot")),
            warm: count(Some("warm")),
            cold: count(Some("cold")),
            unscored: count(None),
        };
        days.retain(|d| d.day != today.day);
        days.push(today);
    }
    let history_svg = (!days.is_empty()).then(|| {
        let columns: Vec<(String, Vec<(f64, &str)>)> = days
            .iter()
            .map(|d| {
                let day =
                    d.day.parse::<jiff::civil::Date>().map_or_else(|_| d.day.clone(), |x| s.lang.date(x));
                (day, vec![(d.cold as f64, "#1e5a8a"), (d.warm as f64, "#9a5b00"), (d.hot as f64, "#b3261e")])
            })
            .collect();
        stacked_columns_svg(s.lang, t.temperatures_over_time, &columns)
    });
    let history = days
        .iter()
        .rev()
        .map(|d| Row3 {
            a: d.day.parse::<jiff::civil::Date>().map_or_else(|_| d.day.clone(), |x| s.lang.date(x)),
            b: format!("{} / {} / {}", num(d.hot), num(d.warm), num(d.cold)),
            c: num(d.unscored),
        })
        .collect();
    render(DashboardPage {
        c: s.chrome("dashboard"),
        from: from.to_string(),
        to: to.to_string(),
        activity: mode == FunnelMode::Activity,
        csv_link,
        funnel_svg,
        steps,
        temperature_svg,
        temperatures,
        sources,
        sla,
        sla_weeks_svg,
        sla_reps_svg,
        history_svg,
        history,
    })
}

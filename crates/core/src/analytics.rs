//! The figures a sales director runs the team on (DESIGN §9), as pure definitions: what a
//! period is, how the funnel counts (docs/analytics.md), how values are grouped (a source
//! spelled `Google` or `google` is one source), and the statistics reported (rates, medians and
//! upper quartiles the way a spreadsheet computes them). Storage gathers the rows; these
//! functions say what they mean.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::validation::ValidationErrors;

/// A period of whole days, both ends included, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Date,
    pub to: Date,
}

/// The longest period a report covers (ten years): beyond it, a typo.
pub const MAX_PERIOD_DAYS: i64 = 3_660;

impl Period {
    /// The period from `from` to `to` (both included); by default the twelve months up to
    /// `today`.
    pub fn new(from: Option<Date>, to: Option<Date>, today: Date) -> Result<Period, ValidationErrors> {
        let to = to.unwrap_or(today);
        let from = from.unwrap_or_else(|| {
            to.checked_sub(jiff::Span::new().years(1)).map_or(to, |d| d.tomorrow().unwrap_or(d))
        });
        let mut errors = ValidationErrors::default();
        if from > to {
            errors.add("from", "must be on or before `to`");
        } else if (to - from).get_days() as i64 > MAX_PERIOD_DAYS {
            errors.add("from", format!("a report covers at most {MAX_PERIOD_DAYS} days"));
        }
        for (field, d) in [("from", from), ("to", to)] {
            if !(1970..=2100).contains(&d.year()) {
                errors.add(field, "must be a date between the years 1970 and 2100");
            }
        }
        errors.into_result(Period { from, to })
    }

    /// The period's instants: from the first day's midnight to the midnight after the last.
    pub fn instants(&self) -> (Timestamp, Timestamp) {
        let start = |d: Date| {
            jiff::tz::Offset::UTC
                .to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
                .unwrap_or(Timestamp::UNIX_EPOCH)
        };
        (start(self.from), start(self.to.tomorrow().unwrap_or(self.to)))
    }
}

/// How a funnel counts (docs/analytics.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FunnelMode {
    /// The contacts created in the period, followed to today: how far each got.
    #[default]
    Cohort,
    /// What happened in the period: contacts created, and contacts that first reached each step,
    /// whenever they were created.
    Activity,
}

/// What a funnel is broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FunnelBy {
    /// One line for everything.
    #[default]
    Total,
    Source,
    Campaign,
    Country,
    /// The company's sector.
    Sector,
    /// The rep of the contact's latest hand-over.
    Rep,
    /// The product of the contact's deals (a contact in deals for two products counts in both).
    Product,
}

/// What deal figures are broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DealsBy {
    #[default]
    Total,
    /// The rep in charge.
    Owner,
    Product,
    /// The company's sector.
    Sector,
    Source,
    /// The month it closed.
    Month,
}

/// `part / whole`, or nothing when the whole is empty.
pub fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The `q`-quantile (0 to 1) of `values`, interpolated between the nearest ranks the way
/// spreadsheets' MEDIAN and PERCENTILE (PERCENTILE.INC) do: the median of an even count is the
/// mean of the two middle values.
///
/// ```
/// use leadgate_core::analytics::quantile;
/// assert_eq!(quantile(&mut [4.0, 1.0, 3.0, 2.0], 0.5), Some(2.5));
/// assert_eq!(quantile(&mut [1.0, 2.0, 3.0, 4.0, 5.0], 0.75), Some(4.0));
/// assert_eq!(quantile(&mut [10.0, 20.0], 0.75), Some(17.5));
/// assert_eq!(quantile(&mut [], 0.5), None);
/// ```
pub fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (values.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(values[lo] + (values[hi] - values[lo]) * (pos - lo as f64))
}

/// The key a product is grouped by: its name without case, spaces, dashes or dots, so that
/// `GTX Pro`, `GTXPro` and `gtx-pro` are one product.
pub fn product_key(name: &str) -> String {
    crate::text::fold(name).chars().filter(|c| c.is_alphanumeric()).collect()
}

/// The key a source (or campaign, country, sector) is grouped by: trimmed, without case or
/// accents, inner spaces collapsed, so `Google`, ` google ` and `GOOGLE` are one source.
pub fn label_key(name: &str) -> String {
    crate::text::fold(name).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether an assignment met its first-touch deadline: `Some(true)` if touched (or accepted or
/// rejected) by `due`, `Some(false)` once `due` passed without, `None` while still running.
pub fn deadline_met(
    due: Timestamp,
    touched: Option<Timestamp>,
    closed: Option<Timestamp>,
    now: Timestamp,
) -> Option<bool> {
    let done = match (touched, closed) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    match done {
        Some(at) => Some(at <= due),
        None if now > due => Some(false),
        None => None,
    }
}

/// The spellings of one grouped value, each with its weight (leads, deals).
#[derive(Default)]
struct Spellings(Vec<(String, i64)>);

impl Spellings {
    fn spelled(&mut self, value: &str, weight: i64) {
        let value = value.trim();
        match self.0.iter_mut().find(|(s, _)| s == value) {
            Some(s) => s.1 += weight,
            None => self.0.push((value.to_string(), weight)),
        }
    }

    /// The spelling with the most weight (the first in alphabetical order on a tie).
    fn name(mut self) -> Option<String> {
        self.0.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        self.0.into_iter().next().map(|s| s.0)
    }
}

/// Members gathered by grouping key (none: no value).
type Groups<T> = std::collections::HashMap<Option<String>, (Spellings, T)>;

/// How many contacts got to each step of the funnel (docs/analytics.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FunnelCounts {
    pub leads: i64,
    pub mql: i64,
    pub sql: i64,
    pub opportunity: i64,
    pub customer: i64,
}

impl FunnelCounts {
    fn add(&mut self, o: &FunnelCounts) {
        self.leads += o.leads;
        self.mql += o.mql;
        self.sql += o.sql;
        self.opportunity += o.opportunity;
        self.customer += o.customer;
    }
}

/// One line of a funnel: a source (or campaign, rep…) and its counts and step rates.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FunnelLine {
    /// The value grouped by as most of its contacts spell it; none for contacts without one (or
    /// the total line).
    pub group: Option<String>,
    #[serde(flatten)]
    pub counts: FunnelCounts,
    /// MQL / leads.
    pub mql_rate: Option<f64>,
    /// SQL / MQL.
    pub sql_rate: Option<f64>,
    /// Opportunities / SQL.
    pub opportunity_rate: Option<f64>,
    /// Customers / opportunities.
    pub customer_rate: Option<f64>,
    /// Customers / leads: the whole funnel.
    pub conversion_rate: Option<f64>,
}

impl FunnelLine {
    fn new(group: Option<String>, c: FunnelCounts) -> FunnelLine {
        FunnelLine {
            group,
            mql_rate: rate(c.mql, c.leads),
            sql_rate: rate(c.sql, c.mql),
            opportunity_rate: rate(c.opportunity, c.sql),
            customer_rate: rate(c.customer, c.opportunity),
            conversion_rate: rate(c.customer, c.leads),
            counts: c,
        }
    }
}

/// The lines of a funnel from counts per raw value: values spelled alike (`Google`, `google `)
/// are one line named by the spelling with the most leads; most leads first, contacts without a
/// value last. Also returns the total line.
pub fn funnel_lines(raw: Vec<(Option<String>, FunnelCounts)>, by: FunnelBy) -> (Vec<FunnelLine>, FunnelLine) {
    let key = |v: &str| if by == FunnelBy::Product { product_key(v) } else { label_key(v) };
    let mut total = FunnelCounts::default();
    // key → (spellings with their leads, counts)
    let mut groups: Groups<FunnelCounts> = Groups::new();
    for (value, counts) in raw {
        total.add(&counts);
        let value = value.filter(|v| !key(v).is_empty());
        let entry = groups.entry(value.as_deref().map(key)).or_default();
        if let Some(v) = value {
            entry.0.spelled(&v, counts.leads);
        }
        entry.1.add(&counts);
    }
    let mut lines: Vec<FunnelLine> =
        groups.into_values().map(|(spellings, counts)| FunnelLine::new(spellings.name(), counts)).collect();
    lines.sort_by(|a, b| {
        (a.group.is_none(), -a.counts.leads, &a.group).cmp(&(b.group.is_none(), -b.counts.leads, &b.group))
    });
    (lines, FunnelLine::new(None, total))
}

/// Closed deals alike for the deal reports — same outcome, same group, same number of days
/// from start (the engage date, else the day the deal was created) to close — counted
/// together, so storage hands over a few thousand buckets instead of every deal.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedDeals {
    pub won: bool,
    /// The value they are grouped by (owner, product, sector, source, or the month they closed).
    pub group: Option<String>,
    pub days: i64,
    pub deals: i64,
    /// The sum of their values.
    pub value: f64,
}

/// Deal outcomes of one group: counts, win rate, value and sales cycle.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DealLine {
    pub group: Option<String>,
    pub won: i64,
    pub lost: i64,
    /// Won / (won + lost).
    pub win_rate: Option<f64>,
    /// The total value of the won deals.
    pub won_value: f64,
    /// The mean value of a won deal.
    pub average_won_value: Option<f64>,
    /// Days from start to signature of won deals: median and upper quartile.
    pub median_days_to_win: Option<f64>,
    pub p75_days_to_win: Option<f64>,
    /// Days from start to loss of lost deals (median).
    pub median_days_to_lose: Option<f64>,
}

/// Deal lines per group (`product`: grouped by [`product_key`], else by [`label_key`]), most
/// won value first, deals without a value for the group last; and the total line.
pub fn deal_lines(deals: &[ClosedDeals], product: bool) -> (Vec<DealLine>, DealLine) {
    let key = |g: &str| if product { product_key(g) } else { label_key(g) };
    let mut groups: Groups<Vec<&ClosedDeals>> = Groups::new();
    for d in deals {
        let group = d.group.as_deref().filter(|g| !key(g).is_empty());
        let entry = groups.entry(group.map(key)).or_default();
        if let Some(g) = group {
            entry.0.spelled(g, d.deals);
        }
        entry.1.push(d);
    }
    let line = |group: Option<String>, deals: &[&ClosedDeals]| {
        let days = |won: bool| -> Vec<f64> {
            deals
                .iter()
                .filter(|d| d.won == won)
                .flat_map(|d| std::iter::repeat_n(d.days.max(0) as f64, d.deals.max(0) as usize))
                .collect()
        };
        let (mut to_win, mut to_lose) = (days(true), days(false));
        let won = to_win.len() as i64;
        let lost = to_lose.len() as i64;
        let won_value: f64 = deals.iter().filter(|d| d.won).map(|d| d.value).sum();
        DealLine {
            group,
            won,
            lost,
            win_rate: rate(won, won + lost),
            won_value,
            average_won_value: (won > 0).then(|| won_value / won as f64),
            median_days_to_win: quantile(&mut to_win, 0.5),
            p75_days_to_win: quantile(&mut to_win, 0.75),
            median_days_to_lose: quantile(&mut to_lose, 0.5),
        }
    };
    let mut lines: Vec<DealLine> =
        groups.into_values().map(|(spellings, members)| line(spellings.name(), &members)).collect();
    lines.sort_by(|a, b| {
        (a.group.is_none(), -a.won_value, &a.group)
            .partial_cmp(&(b.group.is_none(), -b.won_value, &b.group))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let all: Vec<&ClosedDeals> = deals.iter().collect();
    (lines, line(None, &all))
}

/// The month a day falls in, as `2026-03`.
pub fn month_of(d: Date) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

/// The first day of each month the period touches.
pub fn months(period: &Period) -> Vec<Date> {
    let mut out = Vec::new();
    let mut m = period.from.first_of_month();
    while m <= period.to {
        out.push(m);
        match m.checked_add(jiff::Span::new().months(1)) {
            Ok(next) => m = next,
            Err(_) => break,
        }
    }
    out
}

/// How long deals stayed in one stage before leaving it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageTime {
    pub stage: crate::pipeline::DealStage,
    /// Deals that left this stage in the period.
    pub deals: i64,
    pub median_days: Option<f64>,
    pub p75_days: Option<f64>,
    pub average_days: Option<f64>,
}

/// A deal's stay in one stage: the stage, when it entered, when it left.
pub type Stay = (crate::pipeline::DealStage, Timestamp, Timestamp);

/// Time in each of the pipeline's open stages (`stages`, in order), from the stays that ended in
/// `[from, to)`. A stay runs from the
/// deal entering a stage to its next change, forwards or back; one still running is no stay yet
/// (storage records each change's start of stay, `deal_stage_changes.from_since`).
pub fn stage_times(
    stays: &[Stay],
    stages: &[crate::pipeline::DealStage],
    from: Timestamp,
    to: Timestamp,
) -> Vec<StageTime> {
    use crate::pipeline::DealStage;
    let mut by_stage: std::collections::HashMap<DealStage, Vec<f64>> = std::collections::HashMap::new();
    for &(stage, entered, left) in stays {
        if left < from || left >= to {
            continue;
        }
        let days = (left.as_second() - entered.as_second()).max(0) as f64 / 86_400.0;
        by_stage.entry(stage).or_default().push(days);
    }
    stages
        .iter()
        .map(|&stage| {
            let mut days = by_stage.remove(&stage).unwrap_or_default();
            let n = days.len() as i64;
            StageTime {
                stage,
                deals: n,
                average_days: (n > 0).then(|| days.iter().sum::<f64>() / n as f64),
                median_days: quantile(&mut days, 0.5),
                p75_days: quantile(&mut days, 0.75),
            }
        })
        .collect()
}

/// Customers at the start of a month and how many of them left during it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChurnLine {
    /// `2026-03`.
    pub month: String,
    pub customers_at_start: i64,
    /// Customers marked churned during the month.
    pub churned: i64,
    /// Churned / customers at start.
    pub churn_rate: Option<f64>,
}

/// Monthly churn from each customer's history: the moves into `customer` (true) and
/// `churned` (false), in time order.
pub fn churn_lines(histories: &[Vec<(Timestamp, bool)>], period: &Period) -> Vec<ChurnLine> {
    let start = |d: Date| Period { from: d, to: d }.instants().0;
    months(period)
        .into_iter()
        .map(|m| {
            let (a, b) = (start(m), start(m.checked_add(jiff::Span::new().months(1)).unwrap_or(m)));
            let mut at_start = 0;
            let mut churned = 0;
            for h in histories {
                let customer_at_start =
                    h.iter().take_while(|(at, _)| *at < a).last().is_some_and(|(_, c)| *c);
                if customer_at_start {
                    at_start += 1;
                }
                if h.iter().any(|(at, c)| !*c && *at >= a && *at < b) {
                    churned += 1;
                }
            }
            ChurnLine {
                month: month_of(m),
                customers_at_start: at_start,
                churned,
                churn_rate: rate(churned, at_start),
            }
        })
        .collect()
}

/// An open deal as the forecast reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenDeal {
    pub stage: crate::pipeline::DealStage,
    pub value: Option<f64>,
    pub expected_close_on: Option<Date>,
}

/// What is expected to close in a month, beside what did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForecastLine {
    /// `2026-03`; none for open deals without an expected close date.
    pub month: Option<String>,
    /// Open deals expected to close in the month.
    pub open_deals: i64,
    /// Their total value.
    pub pipeline_value: f64,
    /// Their value times their stage's win probability.
    pub weighted_value: f64,
    /// Deals won in the month, and their value.
    pub won_deals: i64,
    pub won_value: f64,
}

/// The forecast per month of the period: open deals by expected close month (weighted by the
/// probability of their stage), beside the deals won (`won`: closed deals grouped by the month
/// they closed, `2026-03`); open deals without a date last.
pub fn forecast_lines(
    open: &[OpenDeal],
    won: &[ClosedDeals],
    settings: &crate::pipeline::PipelineSettings,
    period: &Period,
) -> Vec<ForecastLine> {
    let empty = |month: Option<String>| ForecastLine {
        month,
        open_deals: 0,
        pipeline_value: 0.0,
        weighted_value: 0.0,
        won_deals: 0,
        won_value: 0.0,
    };
    let mut lines: Vec<ForecastLine> = months(period).into_iter().map(|m| empty(Some(month_of(m)))).collect();
    let mut undated = empty(None);
    for d in open {
        let line = match d.expected_close_on {
            Some(on) => match lines.iter_mut().find(|l| l.month.as_deref() == Some(month_of(on).as_str())) {
                Some(l) => l,
                None => continue,
            },
            None => &mut undated,
        };
        let value = d.value.unwrap_or(0.0);
        line.open_deals += 1;
        line.pipeline_value += value;
        line.weighted_value += value * f64::from(settings.probability(d.stage)) / 100.0;
    }
    for d in won.iter().filter(|d| d.won) {
        if let Some(l) = lines.iter_mut().find(|l| l.month.is_some() && l.month == d.group) {
            l.won_deals += d.deals;
            l.won_value += d.value;
        }
    }
    if undated.open_deals > 0 {
        lines.push(undated);
    }
    lines
}

/// A lead handed to a rep, as the SLA report reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Handover {
    /// The rep's name (none: waited in the unassigned queue).
    pub rep: Option<String>,
    pub assigned_at: Timestamp,
    /// The first-touch deadline (none: the agreement set none).
    pub due: Option<Timestamp>,
    pub touched: Option<Timestamp>,
    /// When the rep accepted or rejected it.
    pub decided: Option<Timestamp>,
}

/// First-touch deadlines met and missed, per rep or per week.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaLine {
    /// The rep, or the week (`2026-W49`, ISO weeks) the leads were handed over in.
    pub group: Option<String>,
    /// Leads handed over with a deadline.
    pub handed: i64,
    pub met: i64,
    pub missed: i64,
    /// Deadlines still running.
    pub running: i64,
    /// Met / (met + missed).
    pub compliance: Option<f64>,
    /// Minutes from hand-over to first touch, median, of the touched leads.
    pub median_minutes_to_first_touch: Option<f64>,
}

/// The ISO week of an instant (UTC), as `2026-W49`.
pub fn week_of(t: Timestamp) -> String {
    let w = jiff::tz::Offset::UTC.to_datetime(t).date().iso_week_date();
    format!("{:04}-W{:02}", w.year(), w.week())
}

/// SLA lines per rep (`by_week` false, most leads first) or per week (in order), and the total.
pub fn sla_lines(handovers: &[Handover], by_week: bool, now: Timestamp) -> (Vec<SlaLine>, SlaLine) {
    let line = |group: Option<String>, rows: &[&Handover]| {
        let (mut met, mut missed, mut running, mut handed) = (0, 0, 0, 0);
        let mut minutes = Vec::new();
        for h in rows {
            if let Some(t) = h.touched {
                minutes.push((t.as_second() - h.assigned_at.as_second()).max(0) as f64 / 60.0);
            }
            let Some(due) = h.due else { continue };
            handed += 1;
            match deadline_met(due, h.touched, h.decided, now) {
                Some(true) => met += 1,
                Some(false) => missed += 1,
                None => running += 1,
            }
        }
        SlaLine {
            group,
            handed,
            met,
            missed,
            running,
            compliance: rate(met, met + missed),
            median_minutes_to_first_touch: quantile(&mut minutes, 0.5),
        }
    };
    let mut groups: std::collections::BTreeMap<Option<String>, Vec<&Handover>> =
        std::collections::BTreeMap::new();
    for h in handovers {
        let key = if by_week { Some(week_of(h.assigned_at)) } else { h.rep.clone() };
        groups.entry(key).or_default().push(h);
    }
    let mut lines: Vec<SlaLine> = groups.into_iter().map(|(g, rows)| line(g, &rows)).collect();
    if !by_week {
        lines.sort_by(|a, b| {
            (a.group.is_none(), -a.handed, &a.group).cmp(&(b.group.is_none(), -b.handed, &b.group))
        });
    }
    let all: Vec<&Handover> = handovers.iter().collect();
    (lines, line(None, &all))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stays a deal's changes (in time order) make: each change paired with the next.
    fn stays_of(changes: &[(crate::ids::DealId, crate::pipeline::DealStage, Timestamp)]) -> Vec<Stay> {
        changes.windows(2).filter(|p| p[0].0 == p[1].0).map(|p| (p[0].1, p[0].2, p[1].2)).collect()
    }

    #[test]
    fn a_period_is_whole_days_both_included_and_bounded() {
        let today = jiff::civil::date(2026, 12, 6);
        let p = Period::new(None, None, today).unwrap();
        assert_eq!((p.from, p.to), (jiff::civil::date(2025, 12, 7), today), "twelve months up to today");
        let (a, b) =
            Period::new(Some(jiff::civil::date(2026, 1, 1)), Some(jiff::civil::date(2026, 1, 31)), today)
                .unwrap()
                .instants();
        assert_eq!(
            (a.to_string(), b.to_string()),
            ("2026-01-01T00:00:00Z".into(), "2026-02-01T00:00:00Z".into())
        );
        assert!(
            Period::new(Some(jiff::civil::date(2026, 2, 1)), Some(jiff::civil::date(2026, 1, 1)), today)
                .is_err()
        );
        assert!(Period::new(Some(jiff::civil::date(1900, 1, 1)), None, today).is_err());
    }

    #[test]
    fn products_and_sources_are_grouped_whatever_their_spelling() {
        assert_eq!(product_key("GTX Pro"), product_key("GTXPro"));
        assert_eq!(product_key("gtx-pro"), "gtxpro");
        assert_ne!(product_key("GTX Plus Pro"), product_key("GTX Pro"));
        assert_eq!(label_key(" Google "), label_key("google"));
        assert_eq!(label_key("Référencement  naturel"), "referencement naturel");
    }

    #[test]
    fn a_deadline_is_met_by_the_first_of_a_touch_and_a_decision() {
        let t = |m: i64| Timestamp::UNIX_EPOCH + jiff::SignedDuration::from_mins(m);
        assert_eq!(deadline_met(t(60), Some(t(30)), None, t(100)), Some(true));
        assert_eq!(deadline_met(t(60), Some(t(90)), Some(t(50)), t(100)), Some(true), "accepted in time");
        assert_eq!(deadline_met(t(60), Some(t(90)), None, t(100)), Some(false));
        assert_eq!(deadline_met(t(60), None, None, t(100)), Some(false));
        assert_eq!(deadline_met(t(60), None, None, t(40)), None);
        assert_eq!(rate(1, 4), Some(0.25));
        assert_eq!(rate(0, 0), None);
    }

    #[test]
    fn funnel_lines_merge_spellings_and_give_step_rates() {
        let c =
            |leads, mql, sql, opportunity, customer| FunnelCounts { leads, mql, sql, opportunity, customer };
        let (lines, total) = funnel_lines(
            vec![
                (Some("Google".into()), c(8, 4, 2, 1, 1)),
                (Some(" google".into()), c(2, 0, 0, 0, 0)),
                (None, c(5, 1, 0, 0, 0)),
                (Some("".into()), c(1, 0, 0, 0, 0)),
                (Some("Salon".into()), c(3, 3, 3, 3, 2)),
            ],
            FunnelBy::Source,
        );
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[0].group.as_deref(), Some("Google"));
        assert_eq!(lines[0].counts, c(10, 4, 2, 1, 1));
        assert_eq!(lines[0].mql_rate, Some(0.4));
        assert_eq!(lines[0].sql_rate, Some(0.5));
        assert_eq!(lines[1].group.as_deref(), Some("Salon"));
        assert_eq!(lines[2].group, None, "no value last, blank included");
        assert_eq!(lines[2].counts.leads, 6);
        assert_eq!(total.counts, c(19, 8, 5, 4, 3));
        assert_eq!(total.conversion_rate, Some(3.0 / 19.0));
    }

    #[test]
    fn deal_lines_give_win_rate_value_and_cycle_per_group() {
        let d = |won, value, days, group: &str| ClosedDeals {
            won,
            group: Some(group.into()),
            days,
            deals: 1,
            value,
        };
        let deals = [
            d(true, 100.0, 10, "GTX Pro"),
            d(true, 300.0, 30, "GTXPro"),
            d(false, 0.0, 4, "GTX Pro"),
            d(true, 50.0, 1, "MG Special"),
        ];
        let (lines, total) = deal_lines(&deals, true);
        assert_eq!(lines.len(), 2);
        let gtx = &lines[0];
        assert_eq!((gtx.won, gtx.lost, gtx.won_value), (2, 1, 400.0));
        assert_eq!(gtx.win_rate, Some(2.0 / 3.0));
        assert_eq!(gtx.median_days_to_win, Some(20.0));
        assert_eq!(gtx.p75_days_to_win, Some(25.0));
        assert_eq!(gtx.median_days_to_lose, Some(4.0));
        assert_eq!(gtx.average_won_value, Some(200.0));
        assert_eq!((total.won, total.lost, total.won_value), (3, 1, 450.0));
    }

    #[test]
    fn time_in_stage_counts_stays_that_ended_in_the_period() {
        use crate::pipeline::DealStage;
        let (awareness, qualification, won) =
            (DealStage::AWARENESS, DealStage::QUALIFICATION, DealStage::WON);
        let day = |d: i64| Timestamp::UNIX_EPOCH + jiff::SignedDuration::from_hours(24 * d);
        let (a, b) =
            (crate::ids::DealId(uuid::Uuid::from_u128(1)), crate::ids::DealId(uuid::Uuid::from_u128(2)));
        let changes = [
            (a, awareness, day(0)),
            (a, qualification, day(2)),
            (a, awareness, day(3)),
            (a, won, day(13)),
            (b, awareness, day(100)),
        ];
        let times = stage_times(&stays_of(&changes), &DealStage::REFERENCE, day(0), day(50));
        let a_stays = times.iter().find(|t| t.stage == awareness).unwrap();
        assert_eq!(a_stays.deals, 2, "two stays, b's still running");
        assert_eq!(a_stays.median_days, Some(6.0));
        let q = times.iter().find(|t| t.stage == qualification).unwrap();
        assert_eq!((q.deals, q.average_days), (1, Some(1.0)));
    }

    #[test]
    fn churn_counts_customers_at_the_start_of_each_month() {
        let at = |m: i8, d: i8| {
            Period { from: jiff::civil::date(2026, m, d), to: jiff::civil::date(2026, m, d) }.instants().0
        };
        let histories = vec![
            vec![(at(1, 10), true), (at(3, 5), false)],
            vec![(at(1, 1), true)],
            vec![(at(2, 20), true), (at(3, 1), false), (at(4, 2), true)],
        ];
        let period = Period { from: jiff::civil::date(2026, 2, 14), to: jiff::civil::date(2026, 4, 30) };
        let lines = churn_lines(&histories, &period);
        let months: Vec<_> =
            lines.iter().map(|l| (l.month.as_str(), l.customers_at_start, l.churned)).collect();
        assert_eq!(months, vec![("2026-02", 2, 0), ("2026-03", 3, 2), ("2026-04", 1, 0)]);
        assert_eq!(lines[1].churn_rate, Some(2.0 / 3.0));
    }

    #[test]
    fn the_forecast_weighs_open_deals_by_their_stage() {
        use crate::pipeline::{DealStage, PipelineSettings};
        let settings = PipelineSettings::default();
        let period = Period { from: jiff::civil::date(2026, 3, 1), to: jiff::civil::date(2026, 4, 30) };
        let open = [
            OpenDeal {
                stage: DealStage::NEGOTIATION,
                value: Some(1000.0),
                expected_close_on: Some(jiff::civil::date(2026, 3, 20)),
            },
            OpenDeal {
                stage: DealStage::AWARENESS,
                value: Some(500.0),
                expected_close_on: Some(jiff::civil::date(2026, 4, 2)),
            },
            OpenDeal { stage: DealStage::AWARENESS, value: None, expected_close_on: None },
        ];
        let won =
            [ClosedDeals { won: true, group: Some("2026-03".into()), days: 61, deals: 1, value: 700.0 }];
        let lines = forecast_lines(&open, &won, &settings, &period);
        assert_eq!(lines.len(), 3);
        let p = |s| f64::from(settings.probability(s)) / 100.0;
        assert_eq!(lines[0].month.as_deref(), Some("2026-03"));
        assert_eq!(lines[0].weighted_value, 1000.0 * p(DealStage::NEGOTIATION));
        assert_eq!((lines[0].won_deals, lines[0].won_value), (1, 700.0));
        assert_eq!(lines[1].weighted_value, 500.0 * p(DealStage::AWARENESS));
        assert_eq!((lines[2].month.clone(), lines[2].open_deals), (None, 1));
    }

    #[test]
    fn sla_lines_count_deadlines_per_rep_and_per_week() {
        let t = |h: i64| {
            "2026-11-30T00:00:00Z".parse::<Timestamp>().unwrap() + jiff::SignedDuration::from_hours(h)
        };
        let h = |rep: &str, at: i64, due: i64, touched: Option<i64>| Handover {
            rep: Some(rep.into()),
            assigned_at: t(at),
            due: Some(t(due)),
            touched: touched.map(t),
            decided: None,
        };
        let rows = [
            h("Ada", 0, 2, Some(1)),
            h("Ada", 0, 2, None),
            h("Bob", 200, 202, Some(203)),
            h("Bob", 300, 400, None),
        ];
        let (reps, total) = sla_lines(&rows, false, t(350));
        assert_eq!(reps.len(), 2);
        let ada = &reps[0];
        assert_eq!((ada.handed, ada.met, ada.missed, ada.compliance), (2, 1, 1, Some(0.5)));
        assert_eq!(ada.median_minutes_to_first_touch, Some(60.0));
        assert_eq!((total.met, total.missed, total.running), (1, 2, 1));
        let (weeks, _) = sla_lines(&rows, true, t(350));
        let names: Vec<_> = weeks.iter().map(|w| w.group.clone().unwrap()).collect();
        assert_eq!(names, vec!["2026-W49", "2026-W50"]);
    }
}

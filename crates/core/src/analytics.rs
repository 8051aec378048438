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

#[cfg(test)]
mod tests {
    use super::*;

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
}

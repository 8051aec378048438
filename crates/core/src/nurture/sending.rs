//! When a marketing e-mail may go: the send window (days and hours in the contact's time zone,
//! else the workspace's), the per-contact frequency cap across every sequence, and calendar
//! arithmetic for waits counted in days or working days.

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use crate::validation::ValidationErrors;

/// The days and hours (local time) marketing e-mail may be sent. Default: Monday to Friday,
/// 9:00 to 18:00 — people read work e-mail in working hours, and a message sent at 3 a.m. sinks
/// under the morning's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SendWindow {
    /// ISO weekday numbers: 1 = Monday … 7 = Sunday.
    pub days: Vec<u8>,
    /// First hour (0–23) a message may go.
    pub from_hour: u8,
    /// The hour (1–24) sending stops.
    pub to_hour: u8,
}

impl Default for SendWindow {
    fn default() -> Self {
        SendWindow { days: vec![1, 2, 3, 4, 5], from_hour: 9, to_hour: 18 }
    }
}

impl SendWindow {
    /// Any day, any hour.
    pub fn always() -> SendWindow {
        SendWindow { days: (1..=7).collect(), from_hour: 0, to_hour: 24 }
    }

    pub fn validate(&self, field: &str, errors: &mut ValidationErrors) {
        if self.days.is_empty() {
            errors.add(format!("{field}.days"), "choose at least one day (1 = Monday … 7 = Sunday)");
        }
        if let Some(d) = self.days.iter().find(|d| !(1..=7).contains(*d)) {
            errors.add(format!("{field}.days"), format!("{d} is not a day: use 1 (Monday) to 7 (Sunday)"));
        }
        if self.from_hour > 23 {
            errors.add(format!("{field}.from_hour"), "must be an hour from 0 to 23");
        }
        if self.to_hour == 0 || self.to_hour > 24 || self.to_hour <= self.from_hour {
            errors.add(format!("{field}.to_hour"), "must be an hour after from_hour, at most 24");
        }
    }

    fn open_on(&self, day: Weekday) -> bool {
        self.days.contains(&(day.to_monday_one_offset() as u8))
    }

    /// The first instant at or after `now` inside the window, in `tz`. A valid window opens
    /// within a week; an invalid one (no day) answers `now`, never loops.
    pub fn next_open(&self, now: Timestamp, tz: &TimeZone) -> Timestamp {
        let local = now.to_zoned_datetime(tz.clone());
        for offset in 0..8i64 {
            let Ok(date) = local.date().checked_add(offset.days()) else { break };
            if !self.open_on(date.weekday()) {
                continue;
            }
            let opens = at_hour(date, self.from_hour, tz);
            let closes = at_hour(date, self.to_hour, tz);
            if now < closes {
                return opens.max(now);
            }
        }
        now
    }
}

/// `hour` o'clock (24 = the next midnight) on `date` in `tz`; in a daylight-saving gap, the first
/// instant after it.
fn at_hour(date: Date, hour: u8, tz: &TimeZone) -> Timestamp {
    let (date, hour) = if hour >= 24 { (date.tomorrow().unwrap_or(date), 0) } else { (date, hour) };
    let local = date.at(hour as i8, 0, 0, 0);
    local
        .to_zoned_datetime(tz.clone())
        .or_else(|_| local.to_zoned_datetime(TimeZone::UTC))
        .map(|z| z.timestamp())
        .unwrap_or_default()
}

/// At most `max` marketing e-mails to one person per `hours`, across every sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FrequencyCap {
    pub max: u32,
    pub hours: u32,
}

impl Default for FrequencyCap {
    /// One a day.
    fn default() -> Self {
        FrequencyCap { max: 1, hours: 24 }
    }
}

impl FrequencyCap {
    pub fn validate(&self, field: &str, errors: &mut ValidationErrors) {
        if self.max == 0 {
            errors.add(format!("{field}.max"), "must be at least 1 (to stop e-mail, pause the sequences)");
        }
        if self.hours == 0 || self.hours > 24 * 31 {
            errors.add(format!("{field}.hours"), "must be from 1 to 744 hours (31 days)");
        }
    }

    /// When the next message may go to a person who was sent messages at `recent` (any order):
    /// `now` if fewer than `max` went in the last `hours`, else when the oldest of those leaves
    /// the period.
    pub fn opens_at(&self, recent: &[Timestamp], now: Timestamp) -> Timestamp {
        let period = SignedDuration::from_hours(self.hours as i64);
        let mut within: Vec<Timestamp> =
            recent.iter().copied().filter(|t| now.duration_since(*t) < period).collect();
        if within.len() < self.max as usize {
            return now;
        }
        within.sort();
        // The (len - max + 1)-th oldest must leave the period for one slot to free up.
        within[within.len() - self.max as usize] + period
    }
}

/// How fast the workspace's marketing e-mail may leave, per rolling minute: in all, and to any one
/// recipient domain (mailbox providers throttle, then defer or junk, senders that burst: a few
/// hundred a minute to one provider is a common safe pace for a new sending domain). `None`: no
/// limit. Counted across every server, through the messages claimed in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RateLimits {
    #[serde(default)]
    pub per_minute: Option<u32>,
    #[serde(default)]
    pub per_domain_per_minute: Option<u32>,
}

/// The rolling window rate limits count over.
pub const RATE_WINDOW: SignedDuration = SignedDuration::from_secs(60);

impl RateLimits {
    pub fn validate(&self, field: &str, errors: &mut ValidationErrors) {
        for (name, v) in
            [("per_minute", self.per_minute), ("per_domain_per_minute", self.per_domain_per_minute)]
        {
            if v == Some(0) {
                errors.add(
                    format!("{field}.{name}"),
                    "must be at least 1 (leave it empty for no limit; to stop e-mail, pause the sequences)",
                );
            }
        }
    }

    pub fn any(&self) -> bool {
        self.per_minute.is_some() || self.per_domain_per_minute.is_some()
    }

    /// Which of `candidates` (in the order they are due, each with its recipient's domain) may
    /// be sent now, given how many were sent in the last minute in all (`used`) and per domain
    /// (`used_by_domain`). Those refused because their domain is at its limit are `held`: the
    /// caller postpones them, so a busy domain does not hold back the others behind it.
    pub fn admit<'a, K: Copy>(
        &self,
        used: u64,
        used_by_domain: &std::collections::HashMap<String, u64>,
        candidates: impl IntoIterator<Item = (K, Option<&'a str>)>,
    ) -> Admission<K> {
        let mut left = self.per_minute.map_or(u64::MAX, |m| (m as u64).saturating_sub(used));
        let mut taken: std::collections::HashMap<&str, u64> = std::collections::HashMap::new();
        let mut out = Admission { admitted: Vec::new(), held: Vec::new() };
        for (key, domain) in candidates {
            if left == 0 {
                break;
            }
            if let (Some(limit), Some(domain)) = (self.per_domain_per_minute, domain) {
                let t = taken.entry(domain).or_default();
                if used_by_domain.get(domain).copied().unwrap_or(0) + *t >= limit as u64 {
                    out.held.push(key);
                    continue;
                }
                *t += 1;
            }
            left -= 1;
            out.admitted.push(key);
        }
        out
    }
}

/// What [`RateLimits::admit`] lets through now, and what waits for its domain's next minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission<K> {
    pub admitted: Vec<K>,
    pub held: Vec<K>,
}

/// `start` plus `days` days (calendar days, or working days skipping Saturday and Sunday) at the
/// same local time in `tz`.
pub fn add_days(start: Timestamp, days: u32, working_days: bool, tz: &TimeZone) -> Timestamp {
    let zoned = start.to_zoned_datetime(tz.clone());
    if !working_days {
        return zoned.checked_add((days as i64).days()).map(|z| z.timestamp()).unwrap_or(start);
    }
    let mut z = zoned;
    let mut left = days;
    while left > 0 {
        let Ok(next) = z.checked_add(1.day()) else { return z.timestamp() };
        z = next;
        if !matches!(z.weekday(), Weekday::Saturday | Weekday::Sunday) {
            left -= 1;
        }
    }
    z.timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_admit_up_to_the_global_budget_in_due_order() {
        let limits = RateLimits { per_minute: Some(5), per_domain_per_minute: None };
        let c: Vec<(u32, Option<&str>)> = (0..10).map(|i| (i, Some("a.com"))).collect();
        assert_eq!(limits.admit(0, &Default::default(), c.clone()).admitted, vec![0, 1, 2, 3, 4]);
        assert_eq!(limits.admit(3, &Default::default(), c.clone()).admitted, vec![0, 1]);
        let none = limits.admit(7, &Default::default(), c);
        assert!(
            none.admitted.is_empty() && none.held.is_empty(),
            "the global budget holds nothing back for later"
        );
    }

    #[test]
    fn a_domain_at_its_limit_does_not_hold_back_the_others() {
        let limits = RateLimits { per_minute: Some(100), per_domain_per_minute: Some(2) };
        let used = std::collections::HashMap::from([("b.com".to_string(), 1)]);
        let c = [
            (0, Some("a.com")),
            (1, Some("a.com")),
            (2, Some("a.com")),
            (3, Some("b.com")),
            (4, Some("b.com")),
            (5, Some("c.com")),
            (6, None),
        ];
        assert_eq!(limits.admit(0, &used, c), Admission { admitted: vec![0, 1, 3, 5, 6], held: vec![2, 4] });
        assert_eq!(RateLimits::default().admit(1000, &used, c).admitted.len(), 7);
    }

    #[test]
    fn a_zero_rate_limit_is_refused_with_what_to_do() {
        let mut errors = ValidationErrors::default();
        RateLimits { per_minute: Some(0), per_domain_per_minute: Some(0) }.validate("rate", &mut errors);
        let text = format!("{errors:?}");
        assert!(text.contains("rate.per_minute") && text.contains("rate.per_domain_per_minute"), "{text}");
    }

    fn paris() -> TimeZone {
        TimeZone::get("Europe/Paris").unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn inside_the_window_a_message_goes_now() {
        // Tuesday 2026-11-24, 11:00 in Paris.
        let now = at("2026-11-24T10:00:00Z");
        assert_eq!(SendWindow::default().next_open(now, &paris()), now);
    }

    #[test]
    fn after_hours_it_waits_for_the_next_morning_in_the_contacts_zone() {
        // Tuesday 19:30 in Paris → Wednesday 9:00 Paris = 08:00 UTC.
        let now = at("2026-11-24T18:30:00Z");
        assert_eq!(SendWindow::default().next_open(now, &paris()), at("2026-11-25T08:00:00Z"));
        // The same instant in New York is 13:30: inside the window there.
        let ny = TimeZone::get("America/New_York").unwrap();
        assert_eq!(SendWindow::default().next_open(now, &ny), now);
    }

    #[test]
    fn on_friday_evening_it_waits_for_monday() {
        // Friday 2026-11-27 20:00 Paris → Monday 30th 9:00 Paris.
        let now = at("2026-11-27T19:00:00Z");
        assert_eq!(SendWindow::default().next_open(now, &paris()), at("2026-11-30T08:00:00Z"));
    }

    #[test]
    fn a_window_to_midnight_and_an_always_window() {
        let w = SendWindow { days: vec![6], from_hour: 20, to_hour: 24 };
        // Saturday 28th 23:30 Paris is inside.
        let now = at("2026-11-28T22:30:00Z");
        assert_eq!(w.next_open(now, &paris()), now);
        assert_eq!(SendWindow::always().next_open(now, &paris()), now);
    }

    #[test]
    fn window_validation_names_the_field() {
        let mut e = ValidationErrors::default();
        SendWindow { days: vec![0, 8], from_hour: 18, to_hour: 9 }.validate("window", &mut e);
        let fields: Vec<_> = e.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["window.days", "window.to_hour"]);
        let mut ok = ValidationErrors::default();
        SendWindow::default().validate("window", &mut ok);
        assert!(ok.is_empty());
    }

    #[test]
    fn the_frequency_cap_waits_for_the_oldest_send_to_leave_the_period() {
        let cap = FrequencyCap::default();
        let now = at("2026-11-24T10:00:00Z");
        assert_eq!(cap.opens_at(&[], now), now);
        assert_eq!(cap.opens_at(&[at("2026-11-23T09:00:00Z")], now), now);
        assert_eq!(cap.opens_at(&[at("2026-11-24T08:00:00Z")], now), at("2026-11-25T08:00:00Z"));
        let two = FrequencyCap { max: 2, hours: 24 };
        let sent = [at("2026-11-24T08:00:00Z"), at("2026-11-23T12:00:00Z")];
        assert_eq!(two.opens_at(&sent, now), at("2026-11-24T12:00:00Z"));
        assert_eq!(two.opens_at(&sent[..1], now), now);
    }

    #[test]
    fn working_days_skip_the_weekend_and_keep_the_local_time() {
        let tz = paris();
        // Friday 27th 10:00 UTC + 1 working day = Monday 30th.
        assert_eq!(add_days(at("2026-11-27T10:00:00Z"), 1, true, &tz), at("2026-11-30T10:00:00Z"));
        assert_eq!(add_days(at("2026-11-27T10:00:00Z"), 1, false, &tz), at("2026-11-28T10:00:00Z"));
        assert_eq!(add_days(at("2026-11-24T10:00:00Z"), 5, true, &tz), at("2026-12-01T10:00:00Z"));
        // Across the end of summer time the local hour stays: 10:00 Paris on both sides.
        assert_eq!(add_days(at("2026-10-24T08:00:00Z"), 2, false, &tz), at("2026-10-26T09:00:00Z"));
    }
}

//! Working hours: when a rep works, in the rep's own time zone. SLA deadlines count working time
//! only, so a hot lead that arrives on Friday evening is due on Monday morning, not at midnight.

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ZonedDateTime};
use serde::{Deserialize, Serialize};

use crate::validation::ValidationErrors;

/// A rep's week as configured: the same hours on each working day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WorkingHours {
    /// IANA time zone name, e.g. `Europe/Paris`.
    pub time_zone: String,
    /// Working days, e.g. `["monday", "tuesday", "wednesday", "thursday", "friday"]`.
    pub days: Vec<Day>,
    /// Start of the working day, `HH:MM` local time.
    pub start: String,
    /// End of the working day, `HH:MM` local time, after the start.
    pub end: String,
}

impl Default for WorkingHours {
    fn default() -> Self {
        WorkingHours {
            time_zone: "UTC".into(),
            days: vec![Day::Monday, Day::Tuesday, Day::Wednesday, Day::Thursday, Day::Friday],
            start: "09:00".into(),
            end: "17:00".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Day {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Day {
    /// Monday to Sunday.
    pub const ALL: [Day; 7] =
        [Day::Monday, Day::Tuesday, Day::Wednesday, Day::Thursday, Day::Friday, Day::Saturday, Day::Sunday];

    fn weekday(self) -> Weekday {
        match self {
            Day::Monday => Weekday::Monday,
            Day::Tuesday => Weekday::Tuesday,
            Day::Wednesday => Weekday::Wednesday,
            Day::Thursday => Weekday::Thursday,
            Day::Friday => Weekday::Friday,
            Day::Saturday => Weekday::Saturday,
            Day::Sunday => Weekday::Sunday,
        }
    }
}

/// Validated working hours, ready to count with.
#[derive(Debug, Clone)]
pub struct Schedule {
    tz: TimeZone,
    /// Indexed by days from Monday.
    days: [bool; 7],
    start: Time,
    end: Time,
}

fn parse_time(s: &str) -> Option<Time> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (i8, i8) = (h.parse().ok()?, m.parse().ok()?);
    Time::new(h, m, 0, 0).ok()
}

impl WorkingHours {
    /// Checks the configuration, naming each field at fault.
    pub fn schedule(&self) -> Result<Schedule, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let tz = TimeZone::get(self.time_zone.trim()).ok();
        if tz.is_none() {
            errors.add(
                "time_zone",
                format!(
                    "`{}` is not a known time zone; use an IANA name such as Europe/Paris",
                    self.time_zone
                ),
            );
        }
        if self.days.is_empty() {
            errors.add("days", "needs at least one working day, e.g. [\"monday\", …, \"friday\"]");
        }
        let start = parse_time(&self.start);
        let end = parse_time(&self.end);
        if start.is_none() {
            errors.add("start", format!("`{}` is not a time; write HH:MM, e.g. 09:00", self.start));
        }
        if end.is_none() {
            errors.add("end", format!("`{}` is not a time; write HH:MM, e.g. 17:30", self.end));
        }
        if let (Some(s), Some(e)) = (start, end) {
            if s >= e {
                errors.add("end", "must be after the start of the working day");
            } else if e.duration_since(s) < SignedDuration::from_mins(MIN_WORKING_DAY_MINUTES as i64) {
                errors.add(
                    "end",
                    format!("the working day must last at least {MIN_WORKING_DAY_MINUTES} minutes"),
                );
            }
        }
        errors.into_result(())?;
        let mut days = [false; 7];
        for d in &self.days {
            days[d.weekday().to_monday_zero_offset() as usize] = true;
        }
        Ok(Schedule {
            tz: tz.unwrap_or(TimeZone::UTC),
            days,
            start: start.unwrap_or_default(),
            end: end.unwrap_or_default(),
        })
    }
}

/// The shortest working day a schedule accepts.
pub const MIN_WORKING_DAY_MINUTES: u32 = 30;
/// Calendar days the working-time walk may take: the most working days a budget can ask for
/// (on the shortest working day), on a one-day week.
const MAX_WALK_DAYS: usize = 7 * (super::MAX_BUDGET_MINUTES / MIN_WORKING_DAY_MINUTES) as usize + 7;

impl Schedule {
    fn at(&self, date: Date, time: Time) -> Option<ZonedDateTime> {
        date.to_datetime(time).to_zoned_datetime(self.tz.clone()).ok()
    }

    /// The instant when `working` working time has passed since `from`. A zero budget gives the
    /// first working instant at or after `from`. Never panics: a time beyond what the calendar
    /// holds is the last instant it holds.
    pub fn add_working_time(&self, from: Timestamp, working: SignedDuration) -> Timestamp {
        let mut remaining = working.max(SignedDuration::ZERO);
        let mut date = from.to_zoned_datetime(self.tz.clone()).date();
        // A schedule has at least one working day a week of at least MIN_WORKING_DAY_MINUTES, so
        // this many days end the loop for any budget an agreement accepts (MAX_BUDGET_MINUTES).
        for _ in 0..MAX_WALK_DAYS {
            if self.days[date.weekday().to_monday_zero_offset() as usize]
                && let (Some(start), Some(end)) = (self.at(date, self.start), self.at(date, self.end))
            {
                let begin = start.timestamp().max(from);
                let end = end.timestamp();
                if begin < end {
                    let available = end.duration_since(begin);
                    if remaining <= available {
                        return begin + remaining;
                    }
                    remaining -= available;
                }
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
        // Only a budget stored before today's bounds gets here: as late as time goes, no panic.
        from.checked_add(remaining).unwrap_or(Timestamp::MAX)
    }

    /// The length of one working day.
    pub fn working_day(&self) -> SignedDuration {
        self.end.duration_since(self.start)
    }

    /// Whether `at` falls inside working hours.
    pub fn is_working(&self, at: Timestamp) -> bool {
        let local = at.to_zoned_datetime(self.tz.clone());
        self.days[local.weekday().to_monday_zero_offset() as usize]
            && local.time() >= self.start
            && local.time() < self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paris() -> Schedule {
        WorkingHours { time_zone: "Europe/Paris".into(), ..WorkingHours::default() }.schedule().unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn an_hour_inside_the_day_is_an_hour() {
        // Tuesday 10:00 in Paris (UTC+1 in November).
        let due = paris().add_working_time(ts("2026-11-24T09:00:00Z"), SignedDuration::from_hours(1));
        assert_eq!(due, ts("2026-11-24T10:00:00Z"));
    }

    #[test]
    fn friday_evening_leads_are_due_on_monday() {
        // Friday 16:30 Paris: 30 minutes left that day, 30 more on Monday from 09:00.
        let due = paris().add_working_time(ts("2026-11-27T15:30:00Z"), SignedDuration::from_hours(1));
        assert_eq!(due, ts("2026-11-30T08:30:00Z"));
        // Saturday: nothing counts until Monday 09:00 Paris.
        let due = paris().add_working_time(ts("2026-11-28T12:00:00Z"), SignedDuration::from_mins(15));
        assert_eq!(due, ts("2026-11-30T08:15:00Z"));
    }

    #[test]
    fn a_working_day_spans_nights() {
        // Wednesday 15:00 Paris + 8 working hours = Thursday 15:00 Paris.
        let due = paris().add_working_time(ts("2026-11-25T14:00:00Z"), SignedDuration::from_hours(8));
        assert_eq!(due, ts("2026-11-26T14:00:00Z"));
    }

    #[test]
    fn daylight_saving_changes_follow_local_time() {
        // Friday 27 March 2026 16:00 Paris (UTC+1); the clocks move to UTC+2 on Sunday 29th.
        // Two working hours: one on Friday, one on Monday from 09:00 local = 07:00 UTC.
        let due = paris().add_working_time(ts("2026-03-27T15:00:00Z"), SignedDuration::from_hours(2));
        assert_eq!(due, ts("2026-03-30T08:00:00Z"));
    }

    #[test]
    fn bad_configuration_names_each_field() {
        let bad = WorkingHours {
            time_zone: "Mars/Olympus".into(),
            days: vec![],
            start: "9h".into(),
            end: "08:00".into(),
        };
        let errors = bad.schedule().unwrap_err();
        let fields: Vec<&str> = errors.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["time_zone", "days", "start"]);
        let reversed = WorkingHours { start: "18:00".into(), end: "09:00".into(), ..WorkingHours::default() };
        assert_eq!(reversed.schedule().unwrap_err().errors[0].field, "end");
    }

    #[test]
    fn working_instants_are_recognised() {
        let s = paris();
        assert!(s.is_working(ts("2026-11-24T09:00:00Z")));
        assert!(!s.is_working(ts("2026-11-24T17:00:00Z")));
        assert!(!s.is_working(ts("2026-11-28T10:00:00Z")));
    }
}

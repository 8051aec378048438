//! The engagement ledger: the part of scoring that depends on a contact's history, kept per
//! contact so that a new event is scored without reading the whole timeline again.
//!
//! Engagement is computed by walking events in time order: each event is matched to a rule and
//! awarded points after the rule's caps, which depend only on *earlier* events. The ledger is the
//! state of that walk — what each relevant event was awarded, and how much of each cap is used —
//! so events that arrive after the last one walked extend it exactly as a walk from the start
//! would. Anything else (an event older than the last one walked, a new rules version) means a
//! walk from the start. [`crate::scoring::score`] walks with the same code, so the stored score
//! and the explanation cannot disagree; a property test checks it.

use std::collections::BTreeMap;

use jiff::Timestamp;
use uuid::Uuid;

use crate::event::{Event, EventKind};
use crate::scoring::rules::{PRICING_URL_PROPERTY, ScoringRules};
use crate::scoring::{Cap, Points};

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// One event that matters to engagement or temperature.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// When it happened (µs since the epoch).
    pub at: i64,
    /// The engagement rule that scored it (index in the rules), if any.
    pub rule: Option<u16>,
    /// Points awarded after caps, before decay (hundredths).
    pub points: i64,
    /// When the event is an intent signal: the index of its kind in the rules' intent kinds.
    pub intent: Option<u8>,
    /// A visit of a pricing page.
    pub pricing: bool,
}

/// The state of the engagement walk for one contact, under one rules version.
///
/// Stored as a compact binary record ([`Ledger::to_bytes`]): it is read and written for every
/// contact an event touches, and for a contact with a hundred recent events JSON made that the
/// largest cost of ingest.
#[derive(Debug, Clone, PartialEq)]
pub struct Ledger {
    pub rules_version: i64,
    /// The last event walked, as (occurred_at µs, id): later events extend the ledger.
    pub last: Option<(i64, Uuid)>,
    /// Points used of each rule's lifetime cap (absolute hundredths), by rule index.
    pub lifetime_used: BTreeMap<u16, i64>,
    /// Points used of each rule's daily cap on the latest day it scored: (day, hundredths).
    pub day_used: BTreeMap<u16, (i64, i64)>,
    pub entries: Vec<Entry>,
}

/// Format version of [`Ledger::to_bytes`].
const FORMAT: u8 = 1;

impl Ledger {
    /// Encodes the ledger: a format byte, then little-endian fixed-width fields (15 bytes per
    /// entry).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(64 + self.entries.len() * 15);
        b.push(FORMAT);
        b.extend_from_slice(&self.rules_version.to_le_bytes());
        match self.last {
            Some((at, id)) => {
                b.push(1);
                b.extend_from_slice(&at.to_le_bytes());
                b.extend_from_slice(id.as_bytes());
            }
            None => b.push(0),
        }
        b.extend_from_slice(&(self.lifetime_used.len() as u16).to_le_bytes());
        for (rule, used) in &self.lifetime_used {
            b.extend_from_slice(&rule.to_le_bytes());
            b.extend_from_slice(&used.to_le_bytes());
        }
        b.extend_from_slice(&(self.day_used.len() as u16).to_le_bytes());
        for (rule, (day, used)) in &self.day_used {
            b.extend_from_slice(&rule.to_le_bytes());
            b.extend_from_slice(&day.to_le_bytes());
            b.extend_from_slice(&used.to_le_bytes());
        }
        b.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for e in &self.entries {
            b.extend_from_slice(&e.at.to_le_bytes());
            b.extend_from_slice(&e.rule.unwrap_or(u16::MAX).to_le_bytes());
            b.extend_from_slice(&(e.points.clamp(i32::MIN as i64, i32::MAX as i64) as i32).to_le_bytes());
            let flags = u8::from(e.pricing) | e.intent.map_or(0, |i| (i.min(126) + 1) << 1);
            b.push(flags);
        }
        b
    }

    /// Decodes [`Ledger::to_bytes`]; `None` for anything else (the caller then rebuilds the
    /// ledger from the timeline, so a damaged record costs time, never a wrong score).
    pub fn from_bytes(bytes: &[u8]) -> Option<Ledger> {
        let mut r = Reader(bytes);
        if r.u8()? != FORMAT {
            return None;
        }
        let rules_version = r.i64()?;
        let last = match r.u8()? {
            0 => None,
            1 => Some((r.i64()?, Uuid::from_slice(r.take(16)?).ok()?)),
            _ => return None,
        };
        let mut lifetime_used = BTreeMap::new();
        for _ in 0..r.u16()? {
            lifetime_used.insert(r.u16()?, r.i64()?);
        }
        let mut day_used = BTreeMap::new();
        for _ in 0..r.u16()? {
            day_used.insert(r.u16()?, (r.i64()?, r.i64()?));
        }
        let n = r.u32()? as usize;
        if n > bytes.len() / 15 + 1 {
            return None;
        }
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let at = r.i64()?;
            let rule = r.u16()?;
            let points = i64::from(i32::from_le_bytes(r.take(4)?.try_into().ok()?));
            let flags = r.u8()?;
            entries.push(Entry {
                at,
                rule: (rule != u16::MAX).then_some(rule),
                points,
                intent: (flags >> 1).checked_sub(1),
                pricing: flags & 1 == 1,
            });
        }
        r.0.is_empty().then_some(Ledger { rules_version, last, lifetime_used, day_used, entries })
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2)?.try_into().ok().map(u16::from_le_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)?.try_into().ok().map(u32::from_le_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.take(8)?.try_into().ok().map(i64::from_le_bytes)
    }
}

/// What the walk decided for one event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Award {
    pub rule: Option<usize>,
    /// Points after caps, before decay.
    pub points: Points,
    pub cap: Option<Cap>,
}

/// Why a ledger cannot be extended: score from the whole timeline instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stale {
    /// Scored by another rules version.
    RulesChanged,
    /// An event arrived that is older than the last one walked.
    OutOfOrder,
}

impl Ledger {
    pub fn new(rules_version: i64) -> Ledger {
        Ledger {
            rules_version,
            last: None,
            lifetime_used: BTreeMap::new(),
            day_used: BTreeMap::new(),
            entries: Vec::new(),
        }
    }

    /// Walks all of a contact's events (any order) from the start.
    pub fn from_events(rules: &ScoringRules, rules_version: i64, events: &[Event]) -> Ledger {
        let mut ledger = Ledger::new(rules_version);
        let mut ordered: Vec<&Event> = events.iter().collect();
        ordered.sort_by_key(|e| (e.occurred_at, e.id));
        for e in ordered {
            ledger.walk(rules, e);
        }
        ledger
    }

    /// Walks events that came after those already walked. On [`Stale`], nothing is changed.
    pub fn extend(
        &mut self,
        rules: &ScoringRules,
        rules_version: i64,
        events: &[Event],
    ) -> Result<(), Stale> {
        if self.rules_version != rules_version {
            return Err(Stale::RulesChanged);
        }
        let mut ordered: Vec<&Event> = events.iter().collect();
        ordered.sort_by_key(|e| (e.occurred_at, e.id));
        if let (Some(last), Some(first)) = (self.last, ordered.first())
            && (first.occurred_at.as_microsecond(), first.id.as_uuid()) <= last
        {
            return Err(Stale::OutOfOrder);
        }
        for e in ordered {
            self.walk(rules, e);
        }
        Ok(())
    }

    /// Scores one event (the next in time order) and records what matters of it.
    pub fn walk(&mut self, rules: &ScoringRules, event: &Event) -> Award {
        let at = event.occurred_at.as_microsecond();
        self.last = Some((at, event.id.as_uuid()));
        let matched = rules.engagement.iter().enumerate().find(|(_, r)| {
            r.kind.as_ref().is_none_or(|k| *k == event.kind)
                && r.when.as_ref().is_none_or(|c| c.eval(&event, &mut Vec::new()))
        });
        let mut award = Award { rule: None, points: Points::ZERO, cap: None };
        if let Some((index, rule)) = matched {
            let key = index as u16;
            let day = at.div_euclid(MICROS_PER_DAY);
            let mut allowed = rule.points.abs();
            if let Some(cap) = rule.daily_cap {
                let used = match self.day_used.get(&key) {
                    Some((d, used)) if *d == day => Points::from_hundredths(*used),
                    _ => Points::ZERO,
                };
                let room = (cap - used).max(Points::ZERO);
                if allowed > room {
                    allowed = room;
                    award.cap = Some(Cap::Daily);
                }
            }
            if let Some(cap) = rule.lifetime_cap {
                let used = Points::from_hundredths(self.lifetime_used.get(&key).copied().unwrap_or(0));
                let room = (cap - used).max(Points::ZERO);
                if allowed > room {
                    allowed = room;
                    award.cap = Some(Cap::Lifetime);
                }
            }
            // Only capped rules need their usage remembered.
            if rule.daily_cap.is_some() {
                let entry = self.day_used.entry(key).or_insert((day, 0));
                if entry.0 != day {
                    *entry = (day, 0);
                }
                entry.1 += allowed.hundredths();
            }
            if rule.lifetime_cap.is_some() {
                *self.lifetime_used.entry(key).or_insert(0) += allowed.hundredths();
            }
            award.rule = Some(index);
            award.points = if rule.points < Points::ZERO { -allowed } else { allowed };
        }
        let intent = rules.intent_kinds.iter().position(|k| *k == event.kind).map(|i| i.min(126) as u8);
        let pricing = is_pricing_visit(rules, event);
        if award.rule.is_some() || intent.is_some() || pricing {
            self.entries.push(Entry {
                at,
                rule: award.rule.map(|i| i as u16),
                points: award.points.hundredths(),
                intent,
                pricing,
            });
        }
        award
    }

    /// The engagement score at `now`: each entry's points decayed and rounded, summed.
    pub fn engagement(&self, rules: &ScoringRules, now: Timestamp) -> Points {
        self.entries.iter().map(|e| Points::from_hundredths(e.points).scaled(decay(rules, e.at, now))).sum()
    }

    /// Drops entries that can no longer count: their decayed points round to zero at `now` (and
    /// so at any later instant), and they are older than every temperature window. Keeps the
    /// ledger small for contacts with years of history.
    pub fn prune(&mut self, rules: &ScoringRules, now: Timestamp) {
        let horizon_days = rules.temperature_horizon_days();
        let now_us = now.as_microsecond();
        self.entries.retain(|e| {
            let age_days = (now_us - e.at).max(0) as f64 / MICROS_PER_DAY as f64;
            age_days <= horizon_days
                || !Points::from_hundredths(e.points).scaled(decay(rules, e.at, now)).is_zero()
        });
    }
}

/// `0.5 ^ (age / half-life)`, age clamped at zero (events dated after `now` count as now).
pub fn decay(rules: &ScoringRules, at_us: i64, now: Timestamp) -> f64 {
    let age_days = (now.as_microsecond() - at_us).max(0) as f64 / MICROS_PER_DAY as f64;
    (-age_days / rules.half_life_days).exp2()
}

fn is_pricing_visit(rules: &ScoringRules, event: &Event) -> bool {
    let Some(needle) = &rules.pricing_needle else { return false };
    event.kind == EventKind::PageView
        && event
            .properties
            .get(PRICING_URL_PROPERTY)
            .and_then(|u| u.as_str())
            .is_some_and(|u| u.to_lowercase().contains(needle.as_str()))
}

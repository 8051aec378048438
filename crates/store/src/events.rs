//! The event timeline in storage. Events are append-only: they are inserted (idempotently, by id)
//! and read, never updated, because scores and predictions are recomputed from them and history
//! is never rewritten.

use std::collections::{BTreeSet, HashMap, HashSet};

use leadgate_core::event::{Event, EventKind};
use leadgate_core::ids::{ContactId, EventId};
use leadgate_core::scoring::rules::EventNeeds;

use crate::cursor::{Cursor, Page};
use crate::driver::{Arg, Columns, Gather, Session, args};
use crate::error::StoreError;
use crate::scoring::ContactSet;

const COLUMNS: &str = "id, contact_id, kind, occurred_at, received_at, source, campaign, properties";
/// Columns bound per event in a multi-row insert.
const COLUMNS_PER_ROW: usize = 8;
/// Rows per INSERT statement: 8 × 500 = 4,000 parameters, far under both databases' limits, and
/// few enough statements that a 1,000-event batch costs two round trips.
const ROWS_PER_STATEMENT: usize = 500;

fn from_row(row: &impl Columns) -> Result<Event, StoreError> {
    from_row_keeping(row, None)
}

/// An event with only the given property keys (all for `None`).
fn from_row_keeping(row: &impl Columns, keys: Option<&BTreeSet<String>>) -> Result<Event, StoreError> {
    Ok(Event {
        id: EventId(row.get(0)?),
        contact_id: ContactId(row.get(1)?),
        kind: row.text(2)?.parse::<EventKind>().map_err(|e| StoreError::Corrupt(e.to_string()))?,
        occurred_at: row.ts(3)?,
        received_at: row.ts(4)?,
        source: row.get(5)?,
        campaign: row.get(6)?,
        properties: row.json_object_keeping(7, keys)?,
    })
}

/// The columns to read for events with these needs: NULL or `{}` in place of what is not.
fn columns_for(needs: &EventNeeds) -> String {
    let or_null =
        |needed: bool, column: &str| if needed { column.to_string() } else { "CAST(NULL AS TEXT)".into() };
    let properties =
        if needs.properties.as_ref().is_some_and(BTreeSet::is_empty) { "'{}'" } else { "properties" };
    format!(
        "id, contact_id, kind, occurred_at, received_at, {}, {}, {properties}",
        or_null(needs.source, "source"),
        or_null(needs.campaign, "campaign")
    )
}

/// Events gathered into timelines where the query runs, as they are read (timelines are the
/// longest results the product reads), with only the property keys asked for.
struct Timelines {
    read: HashMap<ContactId, Vec<Event>>,
    keys: Option<BTreeSet<String>>,
}

impl Gather for Timelines {
    fn gather(&mut self, row: &impl Columns) -> Result<(), StoreError> {
        let event = from_row_keeping(row, self.keys.as_ref())?;
        self.read.entry(event.contact_id).or_default().push(event);
        Ok(())
    }
}

impl Session {
    /// Inserts events whose id is not stored yet and returns the ids that were new. An id already
    /// present is left untouched: that is what makes a retried request harmless.
    pub async fn insert_events(&mut self, events: &[Event]) -> Result<HashSet<EventId>, StoreError> {
        let mut inserted = HashSet::with_capacity(events.len());
        for chunk in events.chunks(ROWS_PER_STATEMENT) {
            let mut sql = String::from(
                "INSERT INTO events (id, contact_id, kind, occurred_at, received_at, source, campaign, properties) VALUES ",
            );
            let mut values = Vec::with_capacity(chunk.len() * COLUMNS_PER_ROW);
            for (i, e) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                sql.push_str(&Session::placeholders(i * COLUMNS_PER_ROW + 1, COLUMNS_PER_ROW));
                sql.push(')');
                values.extend([
                    Arg::from(e.id),
                    Arg::from(e.contact_id),
                    Arg::from(e.kind.as_str()),
                    Arg::from(e.occurred_at),
                    Arg::from(e.received_at),
                    Arg::from(e.source.as_deref()),
                    Arg::from(e.campaign.as_deref()),
                    Arg::from(serde_json::to_string(&e.properties).unwrap_or_else(|_| "{}".into())),
                ]);
            }
            // Any conflict is the id's: on SQLite the key (contact, time, id) contains it.
            sql.push_str(" ON CONFLICT DO NOTHING RETURNING id");
            for row in self.fetch_all(&sql, values).await? {
                inserted.insert(EventId(row.get(0)?));
            }
        }
        Ok(inserted)
    }

    /// The stored events among `ids`.
    pub async fn get_events(&mut self, ids: &[EventId]) -> Result<Vec<Event>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(900) {
            let sql = format!(
                "SELECT {COLUMNS} FROM events WHERE id IN ({})",
                Session::placeholders(1, chunk.len())
            );
            let rows = self.fetch_all(&sql, chunk.iter().map(|&id| Arg::from(id)).collect()).await?;
            for row in &rows {
                out.push(from_row(row)?);
            }
        }
        Ok(out)
    }

    /// A contact's timeline, newest first, `limit` events at a time.
    pub async fn timeline(
        &mut self,
        contact: ContactId,
        limit: u32,
        before: Option<Cursor>,
    ) -> Result<Page<Event>, StoreError> {
        let (sql, values) = match before {
            None => (
                format!(
                    "SELECT {COLUMNS} FROM events WHERE contact_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT {}",
                    limit + 1
                ),
                args![contact],
            ),
            Some(c) => (
                format!(
                    "SELECT {COLUMNS} FROM events WHERE contact_id = $1 AND (occurred_at, id) < ($2, $3) \
                     ORDER BY occurred_at DESC, id DESC LIMIT {}",
                    limit + 1
                ),
                args![contact, c.key, c.id],
            ),
        };
        let rows = self.fetch_all(&sql, values).await?;
        let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(items, limit, |e| Cursor {
            key: e.occurred_at.as_microsecond(),
            id: e.id.as_uuid(),
        }))
    }

    /// Every event of a contact, oldest first (what scoring reads).
    pub async fn events_of_contact(&mut self, contact: ContactId) -> Result<Vec<Event>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM events WHERE contact_id = $1 ORDER BY occurred_at, id");
        let rows = self.fetch_all(&sql, args![contact]).await?;
        rows.iter().map(from_row).collect()
    }

    /// The events of many contacts, each list oldest first.
    pub async fn events_of_contacts(
        &mut self,
        contacts: &[ContactId],
    ) -> Result<HashMap<ContactId, Vec<Event>>, StoreError> {
        self.timelines(ContactSet::Ids(contacts), &EventNeeds::everything()).await
    }

    /// The timelines of a set of contacts, each oldest first, with only what `needs` asks of
    /// each event (source, campaign and properties not asked for are left empty); a contact
    /// without events has no entry. For a span, one statement reads the timeline index in order.
    pub async fn timelines(
        &mut self,
        set: ContactSet<'_>,
        needs: &EventNeeds,
    ) -> Result<HashMap<ContactId, Vec<Event>>, StoreError> {
        // No ORDER BY: each timeline is put in order below, a few events at a time. Asking the
        // database to sort a span's hundred thousand rows made PostgreSQL sort them on disk
        // (beyond `work_mem`) and plan parallel workers for it, several times slower.
        let select = format!("SELECT {} FROM events", columns_for(needs));
        let gather = Timelines { read: HashMap::new(), keys: needs.properties.clone() };
        let Timelines { read: mut out, .. } = self.gathered_for(&select, "contact_id", set, gather).await?;
        for timeline in out.values_mut() {
            // Stable and linear on a sorted list: SQLite reads its clustered timelines in order.
            timeline.sort_by_key(|e| (e.occurred_at, e.id));
        }
        Ok(out)
    }

    pub async fn count_events(&mut self) -> Result<i64, StoreError> {
        self.fetch_one("SELECT COUNT(*) FROM events", vec![]).await?.get(0)
    }
}

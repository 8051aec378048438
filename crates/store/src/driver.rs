//! The only place that knows there are two databases. Queries everywhere else are written once, in
//! the SQL both dialects share (`$1` placeholders, `ON CONFLICT`, `RETURNING`, row values), and
//! run through a [`Session`]; this module binds [`Arg`]s and reads [`Row`]s for whichever
//! connection the session holds. Where the SQL itself differs (a few statements, the migrations),
//! callers branch on [`Dialect`].
//!
//! SQLite runs through rusqlite (see `sqlite.rs`), PostgreSQL through sqlx. Why not sqlx's `Any`
//! driver: it erases types we rely on (UUIDs, typed NULLs). Why not two full implementations of
//! the store: they would be the same queries twice, and drift.

use std::borrow::Cow;
use std::collections::BTreeSet;

use jiff::Timestamp;
use rusqlite::types::{Value as SqliteValue, ValueRef as SqliteValueRef};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, Postgres, Row as _, Transaction};
use uuid::Uuid;

use crate::error::StoreError;
use crate::sqlite::{Outcome, SqliteConn};

/// The SQL dialect of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A value bound to a query parameter. NULLs are typed, because PostgreSQL refuses a text NULL
/// in a BIGINT column.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    I64(Option<i64>),
    F64(Option<f64>),
    Bool(Option<bool>),
    Text(Option<String>),
    Uuid(Option<Uuid>),
    Bytes(Option<Vec<u8>>),
}

macro_rules! arg_from {
    ($t:ty, $variant:ident, $conv:expr) => {
        impl From<$t> for Arg {
            fn from(v: $t) -> Arg {
                Arg::$variant(Some($conv(v)))
            }
        }
        impl From<Option<$t>> for Arg {
            fn from(v: Option<$t>) -> Arg {
                Arg::$variant(v.map($conv))
            }
        }
    };
}

arg_from!(i64, I64, |v| v);
arg_from!(f64, F64, |v| v);
arg_from!(bool, Bool, |v| v);
arg_from!(String, Text, |v| v);
arg_from!(&str, Text, |v: &str| v.to_string());
arg_from!(&String, Text, |v: &String| v.clone());
arg_from!(Uuid, Uuid, |v| v);
arg_from!(Vec<u8>, Bytes, |v| v);
// Instants are stored as microseconds since the Unix epoch in a BIGINT on both databases: exact,
// sortable, and the same bits whichever backend wrote them.
arg_from!(Timestamp, I64, |v: Timestamp| v.as_microsecond());

macro_rules! arg_from_id {
    ($($t:ty),*) => {$(
        arg_from!($t, Uuid, |v: $t| v.as_uuid());
    )*};
}
arg_from_id!(
    leadgate_core::ids::ContactId,
    leadgate_core::ids::CompanyId,
    leadgate_core::ids::EventId,
    leadgate_core::ids::UserId,
    leadgate_core::ids::ApiKeyId,
    leadgate_core::ids::JobId,
    leadgate_core::ids::AssignmentId,
    leadgate_core::ids::TaskId,
    leadgate_core::ids::WebhookId,
    leadgate_core::ids::DeliveryId,
    leadgate_core::ids::DealId,
    leadgate_core::ids::TemplateId,
    leadgate_core::ids::SequenceId,
    leadgate_core::ids::EnrolmentId,
    leadgate_core::ids::MessageId
);

/// Builds a `Vec<Arg>` from values of mixed types: `args![id, name, 42_i64]`.
macro_rules! args {
    ($($v:expr),* $(,)?) => { vec![$($crate::driver::Arg::from($v)),*] };
}
pub(crate) use args;

/// Rewrites `$n` placeholders to anonymous `?` and orders (or repeats) the arguments to match.
///
/// Why: SQLite finds the name of a numbered parameter by a linear scan, and sqlx asks for the
/// name of every parameter, so binding `$n` costs O(n²) in the number of parameters: a 500-row
/// insert (4,000 parameters) ran 7x slower than with `?` (measured: 26k vs 186k rows/s).
/// Anonymous parameters are bound by position in constant time. Quoted text is left untouched.
pub(crate) fn positional(sql: &str, args: Vec<Arg>) -> (String, Vec<Arg>) {
    let mut order: Vec<usize> = Vec::with_capacity(args.len());
    let out = replace_placeholders(sql, args.len(), |n, out| {
        out.push('?');
        order.push(n);
    });
    // Move each argument into its last use and clone it for earlier ones.
    let mut remaining = vec![0usize; args.len()];
    for &n in &order {
        remaining[n] += 1;
    }
    let mut slots: Vec<Option<Arg>> = args.into_iter().map(Some).collect();
    let ordered = order
        .into_iter()
        .map(|n| {
            remaining[n] -= 1;
            if remaining[n] == 0 { slots[n].take() } else { slots[n].clone() }.unwrap_or(Arg::I64(None))
        })
        .collect();
    (out, ordered)
}

/// `sql` with each `$n` placeholder (outside quotes, `n` from 1 to `count`) replaced by what
/// `replace` writes for argument `n - 1`.
fn replace_placeholders(sql: &str, count: usize, mut replace: impl FnMut(usize, &mut String)) -> String {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<u8> = None;
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'\'' || b == b'"' => quote = Some(b),
            None if b == b'$' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                let start = i + 1;
                let mut end = start;
                while end < bytes.len() && bytes[end].is_ascii_digit() {
                    end += 1;
                }
                if let Ok(n) = sql[start..end].parse::<usize>()
                    && (1..=count).contains(&n)
                {
                    out.push_str(&sql[copied..i]);
                    replace(n - 1, &mut out);
                    copied = end;
                }
                i = end;
                continue;
            }
            None => {}
        }
        i += 1;
    }
    out.push_str(&sql[copied..]);
    out
}

fn pg_query(sql: &str, args: Vec<Arg>) -> Query<'static, Postgres, PgArguments> {
    bind_pg(sqlx::query(AssertSqlSafe(sql.to_string())), args)
}

fn bind_pg<'q>(mut q: Query<'q, Postgres, PgArguments>, args: Vec<Arg>) -> Query<'q, Postgres, PgArguments> {
    for a in args {
        q = match a {
            Arg::I64(v) => q.bind(v),
            Arg::F64(v) => q.bind(v),
            Arg::Bool(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
            Arg::Uuid(v) => q.bind(v),
            Arg::Bytes(v) => q.bind(v),
        };
    }
    q
}

/// A type that can be read from a column of either database.
pub trait Column: Sized {
    fn from_pg(row: &PgRow, idx: usize) -> Result<Self, sqlx::Error>;
    /// `None` when the stored value does not have this type.
    fn from_sqlite(value: SqliteValueRef<'_>) -> Option<Self>;
    /// From a field of PostgreSQL's binary `COPY` format (its binary send format, `None` for
    /// NULL); `None` when the bytes cannot be a value of this type.
    fn from_pg_binary(field: Option<&[u8]>) -> Option<Self>;
}

macro_rules! column {
    ($t:ty, $pattern:pat => $conv:expr, $binary:expr) => {
        impl Column for $t {
            fn from_pg(row: &PgRow, idx: usize) -> Result<Self, sqlx::Error> {
                row.try_get::<$t, _>(idx)
            }
            fn from_sqlite(value: SqliteValueRef<'_>) -> Option<Self> {
                match value {
                    $pattern => $conv,
                    _ => None,
                }
            }
            fn from_pg_binary(field: Option<&[u8]>) -> Option<Self> {
                field.and_then($binary)
            }
        }
    };
}

column!(i64, SqliteValueRef::Integer(v) => Some(v), |b: &[u8]| b.try_into().ok().map(i64::from_be_bytes));
column!(bool, SqliteValueRef::Integer(v) => Some(v != 0), |b: &[u8]| match b {
    [v] => Some(*v != 0),
    _ => None,
});
// We only ever write UTF-8; a stray invalid byte (a hand-edited file) is replaced, not fatal.
column!(String, SqliteValueRef::Text(v) => Some(String::from_utf8_lossy(v).into_owned()), |b: &[u8]| {
    std::str::from_utf8(b).ok().map(str::to_string)
});
column!(Vec<u8>, SqliteValueRef::Blob(v) => Some(v.to_vec()), |b: &[u8]| Some(b.to_vec()));
column!(Uuid, SqliteValueRef::Blob(v) => Uuid::from_slice(v).ok(), |b: &[u8]| Uuid::from_slice(b).ok());

impl Column for f64 {
    fn from_pg(row: &PgRow, idx: usize) -> Result<Self, sqlx::Error> {
        row.try_get::<f64, _>(idx)
    }
    fn from_sqlite(value: SqliteValueRef<'_>) -> Option<Self> {
        match value {
            SqliteValueRef::Real(v) => Some(v),
            // SQLite stores a REAL that has no fraction as an integer in some paths.
            SqliteValueRef::Integer(v) => Some(v as f64),
            _ => None,
        }
    }
    fn from_pg_binary(field: Option<&[u8]>) -> Option<Self> {
        field?.try_into().ok().map(f64::from_be_bytes)
    }
}

impl<T: Column> Column for Option<T>
where
    Option<T>: for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    fn from_pg(row: &PgRow, idx: usize) -> Result<Self, sqlx::Error> {
        row.try_get::<Option<T>, _>(idx)
    }
    fn from_sqlite(value: SqliteValueRef<'_>) -> Option<Self> {
        match value {
            SqliteValueRef::Null => Some(None),
            v => T::from_sqlite(v).map(Some),
        }
    }
    fn from_pg_binary(field: Option<&[u8]>) -> Option<Self> {
        match field {
            None => Some(None),
            bytes => T::from_pg_binary(bytes).map(Some),
        }
    }
}

/// Reading typed columns from a result row: a [`Row`] of either database, or (in
/// [`Session::fetch_gathered`]) a SQLite row still in the statement, read without copying.
pub trait Columns {
    /// Reads column `idx`. A type mismatch means the schema and the code disagree: a bug,
    /// reported as [`StoreError::Corrupt`] rather than a panic.
    fn get<T: Column>(&self, idx: usize) -> Result<T, StoreError>;

    fn ts(&self, idx: usize) -> Result<Timestamp, StoreError> {
        micros_to_ts(self.get::<i64>(idx)?)
    }

    fn opt_ts(&self, idx: usize) -> Result<Option<Timestamp>, StoreError> {
        self.get::<Option<i64>>(idx)?.map(micros_to_ts).transpose()
    }

    /// A text column, borrowed from the row where the driver allows: no copy for a value that
    /// is parsed at once (an event's kind, a JSON object).
    fn text(&self, idx: usize) -> Result<Cow<'_, str>, StoreError>;

    /// A JSON object stored as text.
    fn json_object(&self, idx: usize) -> Result<serde_json::Map<String, serde_json::Value>, StoreError> {
        parse_json_object(idx, &self.text(idx)?)
    }

    /// A JSON object stored as text, with only the given keys (all of them for `None`): the
    /// others are skipped as they are parsed, never allocated.
    fn json_object_keeping(
        &self,
        idx: usize,
        keys: Option<&BTreeSet<String>>,
    ) -> Result<serde_json::Map<String, serde_json::Value>, StoreError> {
        let Some(keys) = keys else { return self.json_object(idx) };
        let text = self.text(idx)?;
        let mut de = serde_json::Deserializer::from_str(&text);
        let map = serde::de::DeserializeSeed::deserialize(Keeping(keys), &mut de)
            .and_then(|map| de.end().map(|()| map))
            .map_err(|e| StoreError::Corrupt(format!("column {idx} is not a JSON object: {e}")))?;
        Ok(map)
    }
}

fn parse_json_object(
    idx: usize,
    text: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("column {idx} is not a JSON object: {e}")))
}

/// Reads a JSON object keeping only some keys (see [`Columns::json_object_keeping`]).
struct Keeping<'k>(&'k BTreeSet<String>);

impl<'de> serde::de::DeserializeSeed<'de> for Keeping<'_> {
    type Value = serde_json::Map<String, serde_json::Value>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Keeping<'_> {
    type Value = serde_json::Map<String, serde_json::Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key_seed(Key)? {
            if self.0.contains(key.as_ref()) {
                out.insert(key.into_owned(), map.next_value()?);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(out)
    }
}

/// An object key, borrowed from the text when it has no escapes.
struct Key;

impl<'de> serde::de::DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
}

fn unexpected_column(idx: usize) -> StoreError {
    StoreError::Corrupt(format!("column {idx} has an unexpected type or is missing"))
}

/// Result rows gathered as they are read, for [`Session::fetch_gathered`]: each row is decoded
/// and put where it belongs at once, never held as a raw row nor in a list in between (a
/// rescore chunk's hundred thousand events grew such a list by copying, into fresh pages). A
/// trait rather than a closure, so one gatherer serves both kinds of rows.
pub trait Gather: Send + 'static {
    fn gather(&mut self, row: &impl Columns) -> Result<(), StoreError>;
}

/// A SQLite row read in place: text and blobs are borrowed from the statement.
pub(crate) struct SqliteRowRef<'a, 'stmt>(pub(crate) &'a rusqlite::Row<'stmt>);

impl Columns for SqliteRowRef<'_, '_> {
    fn get<T: Column>(&self, idx: usize) -> Result<T, StoreError> {
        self.0.get_ref(idx).ok().and_then(T::from_sqlite).ok_or_else(|| unexpected_column(idx))
    }

    fn text(&self, idx: usize) -> Result<Cow<'_, str>, StoreError> {
        match self.0.get_ref(idx) {
            Ok(SqliteValueRef::Text(bytes)) => Ok(String::from_utf8_lossy(bytes)),
            _ => Err(unexpected_column(idx)),
        }
    }
}

/// One result row of either database.
pub struct Row(RowInner);

enum RowInner {
    Sqlite(Vec<SqliteValue>),
    Postgres(PgRow),
}

impl Row {
    /// Reads column `idx`. A type mismatch means the schema and the code disagree: a bug, reported
    /// as [`StoreError::Corrupt`] rather than a panic.
    pub fn get<T: Column>(&self, idx: usize) -> Result<T, StoreError> {
        Columns::get(self, idx)
    }

    pub fn ts(&self, idx: usize) -> Result<Timestamp, StoreError> {
        Columns::ts(self, idx)
    }

    pub fn opt_ts(&self, idx: usize) -> Result<Option<Timestamp>, StoreError> {
        Columns::opt_ts(self, idx)
    }

    /// A JSON object stored as text.
    pub fn json_object(&self, idx: usize) -> Result<serde_json::Map<String, serde_json::Value>, StoreError> {
        Columns::json_object(self, idx)
    }
}

impl Columns for Row {
    fn get<T: Column>(&self, idx: usize) -> Result<T, StoreError> {
        match &self.0 {
            RowInner::Sqlite(values) => values
                .get(idx)
                .map(SqliteValueRef::from)
                .and_then(T::from_sqlite)
                .ok_or_else(|| unexpected_column(idx)),
            RowInner::Postgres(r) => {
                T::from_pg(r, idx).map_err(|e| StoreError::Corrupt(format!("column {idx}: {e}")))
            }
        }
    }

    fn text(&self, idx: usize) -> Result<Cow<'_, str>, StoreError> {
        match &self.0 {
            RowInner::Sqlite(values) => match values.get(idx) {
                Some(SqliteValue::Text(t)) => Ok(Cow::Borrowed(t)),
                _ => Err(unexpected_column(idx)),
            },
            RowInner::Postgres(r) => r
                .try_get::<&str, _>(idx)
                .map(Cow::Borrowed)
                .map_err(|e| StoreError::Corrupt(format!("column {idx}: {e}"))),
        }
    }
}

/// Values bound by one multi-row statement ([`Session::insert_rows`]): far under SQLite's 32,766
/// and PostgreSQL's 65,535, and large enough that a statement carries a few hundred rows.
pub const MAX_BOUND_VALUES: usize = 4_000;

/// Rows per statement of [`Session::insert_rows`] on PostgreSQL: the arrays of a rescore chunk
/// in one statement, and a bound on the size of one message.
const ROWS_PER_ARRAY_STATEMENT: usize = 10_000;

/// The values of one column of [`Session::insert_rows`], bound as one PostgreSQL array.
enum ArgArray {
    I64(Vec<Option<i64>>),
    F64(Vec<Option<f64>>),
    Bool(Vec<Option<bool>>),
    Text(Vec<Option<String>>),
    Uuid(Vec<Option<Uuid>>),
    Bytes(Vec<Option<Vec<u8>>>),
}

impl ArgArray {
    /// An empty array of the type of `value` (a typed NULL gives its type too).
    fn of(value: &Arg) -> ArgArray {
        match value {
            Arg::I64(_) => ArgArray::I64(Vec::new()),
            Arg::F64(_) => ArgArray::F64(Vec::new()),
            Arg::Bool(_) => ArgArray::Bool(Vec::new()),
            Arg::Text(_) => ArgArray::Text(Vec::new()),
            Arg::Uuid(_) => ArgArray::Uuid(Vec::new()),
            Arg::Bytes(_) => ArgArray::Bytes(Vec::new()),
        }
    }

    /// Appends a value of the array's type; `Err` for a value of another type.
    fn push(&mut self, value: Arg) -> Result<(), ()> {
        match (self, value) {
            (ArgArray::I64(a), Arg::I64(v)) => a.push(v),
            (ArgArray::F64(a), Arg::F64(v)) => a.push(v),
            (ArgArray::Bool(a), Arg::Bool(v)) => a.push(v),
            (ArgArray::Text(a), Arg::Text(v)) => a.push(v),
            (ArgArray::Uuid(a), Arg::Uuid(v)) => a.push(v),
            (ArgArray::Bytes(a), Arg::Bytes(v)) => a.push(v),
            _ => return Err(()),
        }
        Ok(())
    }

    fn pg_type(&self) -> &'static str {
        match self {
            ArgArray::I64(_) => "int8",
            ArgArray::F64(_) => "float8",
            ArgArray::Bool(_) => "bool",
            ArgArray::Text(_) => "text",
            ArgArray::Uuid(_) => "uuid",
            ArgArray::Bytes(_) => "bytea",
        }
    }

    fn bind<'q>(self, q: Query<'q, Postgres, PgArguments>) -> Query<'q, Postgres, PgArguments> {
        match self {
            ArgArray::I64(a) => q.bind(a),
            ArgArray::F64(a) => q.bind(a),
            ArgArray::Bool(a) => q.bind(a),
            ArgArray::Text(a) => q.bind(a),
            ArgArray::Uuid(a) => q.bind(a),
            ArgArray::Bytes(a) => q.bind(a),
        }
    }
}

/// Savepoint names are written into SQL, so only plain identifiers are accepted.
fn savepoint_name(name: &str) -> Result<&str, StoreError> {
    if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(name)
    } else {
        Err(StoreError::Corrupt(format!("`{name}` is not a plain savepoint name")))
    }
}

pub(crate) fn micros_to_ts(us: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(us).map_err(|e| StoreError::Corrupt(format!("timestamp {us}: {e}")))
}

pub(crate) enum Conn {
    Sqlite(SqliteConn),
    PostgresTx(Transaction<'static, Postgres>),
    PostgresPlain(PoolConnection<Postgres>),
}

/// A connection to the store, in a transaction or not. Every storage operation is a method on a
/// session (see the other modules), so the application layer composes several of them into one
/// transaction: "record the events, rescore, record the transition" commits or fails as a whole.
pub struct Session {
    pub(crate) conn: Conn,
    /// Where a full disk is noted for `/healthz`.
    pub(crate) health: std::sync::Arc<DiskHealth>,
    /// Whether a statement of this session changed rows (its commit then proves the disk takes
    /// writes again).
    pub(crate) wrote: bool,
}

/// Whether the disk holding the database was last found full: set by any statement that hit
/// it, cleared by the next commit that wrote rows. Shared by the sessions of one store.
#[derive(Debug, Default)]
pub struct DiskHealth {
    full: std::sync::Mutex<Option<(jiff::Timestamp, String)>>,
}

impl DiskHealth {
    /// Since when, and the database's words, if the disk is full.
    pub fn full_since(&self) -> Option<(jiff::Timestamp, String)> {
        self.full.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn note<T>(&self, r: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(StoreError::DiskFull(message)) = &r {
            let mut full = self.full.lock().unwrap_or_else(|p| p.into_inner());
            if full.is_none() {
                *full = Some((jiff::Timestamp::now(), message.clone()));
            }
        }
        r
    }

    fn clear(&self) {
        *self.full.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

impl Session {
    pub fn dialect(&self) -> Dialect {
        match self.conn {
            Conn::Sqlite(_) => Dialect::Sqlite,
            Conn::PostgresTx(_) | Conn::PostgresPlain(_) => Dialect::Postgres,
        }
    }

    /// Runs a statement, returning the number of rows it changed.
    pub async fn execute(&mut self, sql: &str, args: Vec<Arg>) -> Result<u64, StoreError> {
        refuse_nul(&args)?;
        let outcome = self.execute_unnoted(sql, args).await;
        let affected = self.health.note(outcome)?;
        self.wrote |= affected > 0;
        Ok(affected)
    }

    async fn execute_unnoted(&mut self, sql: &str, args: Vec<Arg>) -> Result<u64, StoreError> {
        Ok(match &mut self.conn {
            Conn::Sqlite(c) => {
                let (sql, args) = positional(sql, args);
                match c.run(sql, args, false).await? {
                    Outcome::Changed(n) => n,
                    Outcome::Rows(r) => r.len() as u64,
                }
            }
            Conn::PostgresTx(c) => pg_query(sql, args).execute(&mut **c).await?.rows_affected(),
            Conn::PostgresPlain(c) => pg_query(sql, args).execute(&mut **c).await?.rows_affected(),
        })
    }

    /// Runs a query and returns every row.
    pub async fn fetch_all(&mut self, sql: &str, args: Vec<Arg>) -> Result<Vec<Row>, StoreError> {
        refuse_nul(&args)?;
        let outcome = self.fetch_all_unnoted(sql, args).await;
        let rows = self.health.note(outcome)?;
        // An `UPDATE … RETURNING` reads rows it wrote.
        self.wrote |= !rows.is_empty();
        Ok(rows)
    }

    async fn fetch_all_unnoted(&mut self, sql: &str, args: Vec<Arg>) -> Result<Vec<Row>, StoreError> {
        let rows = match &mut self.conn {
            Conn::Sqlite(c) => {
                let (sql, args) = positional(sql, args);
                match c.run(sql, args, true).await? {
                    Outcome::Rows(rows) => rows.into_iter().map(|r| Row(RowInner::Sqlite(r))).collect(),
                    Outcome::Changed(_) => Vec::new(),
                }
            }
            Conn::PostgresTx(c) => wrap_pg(pg_query(sql, args).fetch_all(&mut **c).await?),
            Conn::PostgresPlain(c) => wrap_pg(pg_query(sql, args).fetch_all(&mut **c).await?),
        };
        Ok(rows)
    }

    /// Runs a query and hands each row to `into` as it is read. On SQLite the rows are decoded
    /// where the statement runs, reading text and blobs in place: a long result (a chunk's
    /// timelines) is not first copied into owned values. With `bulk` (a long read: a rescore
    /// chunk's contacts or events), PostgreSQL runs the query as a binary COPY when its
    /// parameters allow it (`copy_statement`), its fields read in place; short reads keep
    /// prepared statements, whose plans are kept where a COPY is planned each time. `sql` must
    /// not hold `$` outside placeholders and quotes.
    pub async fn fetch_gathered<G: Gather>(
        &mut self,
        sql: &str,
        args: Vec<Arg>,
        into: G,
        bulk: bool,
    ) -> Result<G, StoreError> {
        refuse_nul(&args)?;
        let copy = if bulk { copy_statement(sql, &args) } else { None };
        match &mut self.conn {
            Conn::Sqlite(c) => {
                let (sql, args) = positional(sql, args);
                c.run_gathered(sql, args, into).await
            }
            // Gathered as the rows arrive, each dropped at once: a chunk's hundred thousand events
            // are never held twice, as raw rows and as values.
            Conn::PostgresTx(c) => match copy {
                Some(copy) => gather_pg_copy(c.copy_out_raw(&copy).await?, into).await,
                None => gather_pg_stream(pg_query(sql, args).fetch(&mut **c), into).await,
            },
            Conn::PostgresPlain(c) => match copy {
                Some(copy) => gather_pg_copy(c.copy_out_raw(&copy).await?, into).await,
                None => gather_pg_stream(pg_query(sql, args).fetch(&mut **c), into).await,
            },
        }
    }

    /// Runs a query expected to return at most one row.
    pub async fn fetch_optional(&mut self, sql: &str, args: Vec<Arg>) -> Result<Option<Row>, StoreError> {
        Ok(self.fetch_all(sql, args).await?.into_iter().next())
    }

    /// Runs a query that must return exactly one row.
    pub async fn fetch_one(&mut self, sql: &str, args: Vec<Arg>) -> Result<Row, StoreError> {
        self.fetch_optional(sql, args)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("expected one row from: {}", first_line(sql))))
    }

    /// Runs several statements separated by `;`, without parameters (migrations).
    pub(crate) async fn execute_script(&mut self, sql: &str) -> Result<(), StoreError> {
        let sql = AssertSqlSafe(sql.to_string());
        match &mut self.conn {
            Conn::Sqlite(c) => c.batch(sql.0).await?,
            Conn::PostgresTx(c) => {
                sqlx::raw_sql(sql).execute(&mut **c).await?;
            }
            Conn::PostgresPlain(c) => {
                sqlx::raw_sql(sql).execute(&mut **c).await?;
            }
        }
        Ok(())
    }

    /// Marks a point inside the transaction that [`Session::rollback_to_savepoint`] returns to,
    /// undoing only what came after (one request's share of a shared transaction).
    pub async fn savepoint(&mut self, name: &str) -> Result<(), StoreError> {
        self.execute_script(&format!("SAVEPOINT {}", savepoint_name(name)?)).await
    }

    /// Keeps what was done since the savepoint (the savepoint itself is forgotten).
    pub async fn release_savepoint(&mut self, name: &str) -> Result<(), StoreError> {
        self.execute_script(&format!("RELEASE SAVEPOINT {}", savepoint_name(name)?)).await
    }

    /// Undoes what was done since the savepoint, then forgets it; the transaction goes on.
    pub async fn rollback_to_savepoint(&mut self, name: &str) -> Result<(), StoreError> {
        let name = savepoint_name(name)?;
        self.execute_script(&format!("ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}")).await
    }

    /// Commits the transaction (a no-op outside one). Until this returns `Ok`, nothing the
    /// session wrote is visible or durable; after it, everything is.
    pub async fn commit(self) -> Result<(), StoreError> {
        let (health, wrote) = (self.health.clone(), self.wrote);
        let committed: Result<(), StoreError> = async {
            match self.conn {
                Conn::Sqlite(mut c) => {
                    if c.in_tx {
                        c.commit().await?;
                    }
                }
                Conn::PostgresTx(tx) => tx.commit().await?,
                Conn::PostgresPlain(_) => {}
            }
            Ok(())
        }
        .await;
        health.note(committed)?;
        if wrote {
            health.clear();
        }
        Ok(())
    }

    /// Runs `sql` once per 500 of `keys`, its `{keys}` replaced by their placeholders after the
    /// `lead` arguments (`… AND id IN ({keys})`). Returns the rows changed in all.
    pub async fn execute_for_keys<K: Copy + Into<Arg>>(
        &mut self,
        sql: &str,
        lead: Vec<Arg>,
        keys: &[K],
    ) -> Result<u64, StoreError> {
        let mut n = 0;
        for chunk in keys.chunks(500) {
            let statement = sql.replace("{keys}", &Session::placeholders(lead.len() + 1, chunk.len()));
            let mut all = lead.clone();
            all.extend(chunk.iter().map(|k| (*k).into()));
            n += self.execute(&statement, all).await?;
        }
        Ok(n)
    }

    /// `$n`-style placeholders for `count` values starting at `$first`, comma-separated:
    /// `placeholders(3, 2)` → `$3, $4`. For `IN (…)` lists and multi-row inserts.
    pub fn placeholders(first: usize, count: usize) -> String {
        let mut s = String::with_capacity(count * 5);
        for i in 0..count {
            if i > 0 {
                s.push_str(", ");
            }
            s.push('$');
            s.push_str(&(first + i).to_string());
        }
        s
    }

    /// Inserts `rows` (each `columns` values, every row the same types) in a few statements:
    /// on SQLite multi-row `INSERT … VALUES (…), (…)` of at most [`MAX_BOUND_VALUES`] values,
    /// on PostgreSQL `INSERT … SELECT * FROM unnest(…)` of one array per column. One round trip
    /// per few hundred (SQLite) or ten thousand (PostgreSQL) rows instead of one per row.
    /// `head` is `INSERT INTO t (a, b, …)`; `tail` follows the values (e.g. `ON CONFLICT … DO
    /// NOTHING`). Returns the number of rows changed.
    pub async fn insert_rows(
        &mut self,
        head: &str,
        columns: usize,
        rows: Vec<Vec<Arg>>,
        tail: &str,
    ) -> Result<u64, StoreError> {
        if self.dialect() == Dialect::Postgres {
            return self.insert_rows_as_arrays(head, columns, rows, tail).await;
        }
        let per_statement = (MAX_BOUND_VALUES / columns.max(1)).max(1);
        let mut changed = 0;
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let mut sql = String::with_capacity(head.len() + tail.len() + per_statement * columns * 6);
            sql.push_str(head);
            sql.push_str(" VALUES ");
            let mut values = Vec::with_capacity(per_statement * columns);
            for (i, row) in rows.by_ref().take(per_statement).enumerate() {
                debug_assert_eq!(row.len(), columns, "every row binds one value per column");
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                sql.push_str(&Session::placeholders(i * columns + 1, columns));
                sql.push(')');
                values.extend(row);
            }
            sql.push(' ');
            sql.push_str(tail);
            changed += self.execute(&sql, values).await?;
        }
        Ok(changed)
    }

    /// [`Session::insert_rows`] on PostgreSQL: one array per column, rows made by `unnest`, so
    /// a statement binds a handful of values whatever its number of rows. Measured on a rescore's
    /// upsert of ten thousand scores: see BENCHMARKS.md, "Full rescore".
    async fn insert_rows_as_arrays(
        &mut self,
        head: &str,
        columns: usize,
        rows: Vec<Vec<Arg>>,
        tail: &str,
    ) -> Result<u64, StoreError> {
        for row in &rows {
            refuse_nul(row)?;
        }
        let mut changed = 0;
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let mut arrays: Vec<ArgArray> = Vec::with_capacity(columns);
            for row in rows.by_ref().take(ROWS_PER_ARRAY_STATEMENT) {
                if row.len() != columns {
                    return Err(StoreError::Corrupt(format!(
                        "{head}: a row binds {} values for {columns} columns",
                        row.len()
                    )));
                }
                if arrays.is_empty() {
                    arrays = row.iter().map(ArgArray::of).collect();
                }
                for (array, value) in arrays.iter_mut().zip(row) {
                    array
                        .push(value)
                        .map_err(|()| StoreError::Corrupt(format!("{head}: a column mixes types")))?;
                }
            }
            let unnest: Vec<String> =
                arrays.iter().enumerate().map(|(i, a)| format!("${}::{}[]", i + 1, a.pg_type())).collect();
            let sql = AssertSqlSafe(format!("{head} SELECT * FROM unnest({}) {tail}", unnest.join(", ")));
            let mut q = sqlx::query(sql);
            for array in arrays {
                q = array.bind(q);
            }
            changed += match &mut self.conn {
                Conn::PostgresTx(c) => q.execute(&mut **c).await?.rows_affected(),
                Conn::PostgresPlain(c) => q.execute(&mut **c).await?.rows_affected(),
                Conn::Sqlite(_) => unreachable!("arrays are bound on PostgreSQL only"),
            };
        }
        Ok(changed)
    }

    /// The case-insensitive `LIKE` of the dialect (SQLite's `LIKE` already ignores ASCII case).
    pub fn ilike(&self) -> &'static str {
        match self.dialect() {
            Dialect::Sqlite => "LIKE",
            Dialect::Postgres => "ILIKE",
        }
    }
}

/// Refuses, on both databases, text PostgreSQL cannot store (NUL): otherwise SQLite would keep
/// what PostgreSQL refuses, and the two would behave differently. Validation refuses such text
/// first with the field at fault; this is the backstop for any string it missed. (JSON written
/// by serde_json escapes NUL, so JSON columns never hold a raw one.)
fn refuse_nul(args: &[Arg]) -> Result<(), StoreError> {
    if args.iter().any(|a| matches!(a, Arg::Text(Some(s)) if s.contains('\0'))) {
        Err(StoreError::InvalidText)
    } else {
        Ok(())
    }
}

async fn gather_pg_stream<G: Gather>(
    mut rows: futures_util::stream::BoxStream<'_, Result<PgRow, sqlx::Error>>,
    mut out: G,
) -> Result<G, StoreError> {
    use futures_util::TryStreamExt;
    while let Some(row) = rows.try_next().await? {
        out.gather(&Row(RowInner::Postgres(row)))?;
    }
    Ok(out)
}

/// `sql` as a binary `COPY (…) TO STDOUT`, its parameters written in as literals; `None` when a
/// value is not a number, a UUID or a boolean (text is never spliced into SQL).
///
/// Why COPY: a rescore reads ten million events, and sqlx's handling of each result row (a row
/// object, its column offsets, a type check per column read) cost more than decoding the values.
/// COPY's rows are plain length-prefixed fields, read in place. Measured in BENCHMARKS.md,
/// "Full rescore". COPY takes no bound parameters, hence the literals.
fn copy_statement(sql: &str, args: &[Arg]) -> Option<String> {
    let literal = |arg: &Arg| match arg {
        Arg::I64(Some(v)) => Some(v.to_string()),
        Arg::Bool(Some(v)) => Some(v.to_string()),
        Arg::Uuid(Some(v)) => Some(format!("'{v}'::uuid")),
        _ => None,
    };
    let literals = args.iter().map(literal).collect::<Option<Vec<String>>>()?;
    let query = replace_placeholders(sql, literals.len(), |n, out| out.push_str(&literals[n]));
    Some(format!("COPY ({query}) TO STDOUT (FORMAT binary)"))
}

/// Reads the data of a binary `COPY … TO STDOUT` into `out`. The data arrives in messages that
/// need not align with rows; a row split across two is put together in `pending`.
async fn gather_pg_copy<G: Gather>(
    mut data: impl futures_util::Stream<Item = Result<impl AsRef<[u8]>, sqlx::Error>> + Unpin,
    mut out: G,
) -> Result<G, StoreError> {
    use futures_util::TryStreamExt;
    let mut reader = CopyReader::default();
    let mut failed = None;
    while let Some(chunk) = data.try_next().await? {
        // After an error the stream is still read to its end: the connection is usable only once
        // the server has finished sending.
        if failed.is_none() {
            failed = reader.feed(chunk.as_ref(), &mut out).err();
        }
    }
    match failed {
        Some(e) => Err(e),
        None if reader.finished() => Ok(out),
        None => Err(StoreError::Corrupt("the COPY data ended in the middle of a row".into())),
    }
}

/// The state of reading PostgreSQL's binary COPY format: an 11-byte signature, flags and a
/// header extension, then rows (a field count, then each field as a length, -1 for NULL, and
/// its bytes), then a count of -1.
#[derive(Default)]
struct CopyReader {
    pending: Vec<u8>,
    header_read: bool,
    trailer_read: bool,
    /// Each field of the row being read, as a range of the buffer (reused from row to row).
    fields: Vec<Option<(usize, usize)>>,
}

const COPY_SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

impl CopyReader {
    fn feed<G: Gather>(&mut self, chunk: &[u8], out: &mut G) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            let used = self.read_rows(chunk, out)?;
            self.pending.extend_from_slice(&chunk[used..]);
        } else {
            let mut pending = std::mem::take(&mut self.pending);
            pending.extend_from_slice(chunk);
            let used = self.read_rows(&pending, out)?;
            pending.drain(..used);
            self.pending = pending;
        }
        Ok(())
    }

    fn finished(&self) -> bool {
        self.trailer_read && self.pending.is_empty()
    }

    /// Reads the whole rows at the start of `buf`; returns how many bytes they took.
    fn read_rows<G: Gather>(&mut self, buf: &[u8], out: &mut G) -> Result<usize, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("binary COPY data: {what}"));
        let mut at = 0;
        if !self.header_read {
            let Some(extension) = buf.get(15..19) else { return Ok(0) };
            if &buf[..11] != COPY_SIGNATURE {
                return Err(corrupt("no signature"));
            }
            let extension = u32::from_be_bytes(extension.try_into().unwrap_or_default()) as usize;
            if buf.len() < 19 + extension {
                return Ok(0);
            }
            self.header_read = true;
            at = 19 + extension;
        }
        loop {
            if self.trailer_read {
                return if at == buf.len() { Ok(at) } else { Err(corrupt("data after the end")) };
            }
            let Some(count) = buf.get(at..at + 2) else { return Ok(at) };
            let count = i16::from_be_bytes([count[0], count[1]]);
            if count == -1 {
                self.trailer_read = true;
                at += 2;
                continue;
            }
            let mut end = at + 2;
            self.fields.clear();
            for _ in 0..count.max(0) {
                let Some(len) = buf.get(end..end + 4) else { return Ok(at) };
                let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
                end += 4;
                if len < 0 {
                    self.fields.push(None);
                    continue;
                }
                let len = len as usize;
                if buf.len() < end + len {
                    return Ok(at);
                }
                self.fields.push(Some((end, end + len)));
                end += len;
            }
            out.gather(&CopyRow { buf, fields: &self.fields })?;
            at = end;
        }
    }
}

/// One row of binary COPY data, its fields borrowed from the received bytes.
struct CopyRow<'a> {
    buf: &'a [u8],
    fields: &'a [Option<(usize, usize)>],
}

impl CopyRow<'_> {
    fn field(&self, idx: usize) -> Result<Option<&[u8]>, StoreError> {
        let field = self.fields.get(idx).ok_or_else(|| unexpected_column(idx))?;
        Ok(field.map(|(from, to)| &self.buf[from..to]))
    }
}

impl Columns for CopyRow<'_> {
    fn get<T: Column>(&self, idx: usize) -> Result<T, StoreError> {
        T::from_pg_binary(self.field(idx)?).ok_or_else(|| unexpected_column(idx))
    }

    fn text(&self, idx: usize) -> Result<Cow<'_, str>, StoreError> {
        let bytes = self.field(idx)?.ok_or_else(|| unexpected_column(idx))?;
        std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|_| unexpected_column(idx))
    }
}

fn wrap_pg(rows: Vec<PgRow>) -> Vec<Row> {
    rows.into_iter().map(|r| Row(RowInner::Postgres(r))).collect()
}

fn first_line(sql: &str) -> &str {
    sql.trim().lines().next().unwrap_or_default()
}

/// Escapes `%`, `_` and `\` so user text is matched literally inside `LIKE '%…%' ESCAPE '\'`.
pub fn like_pattern(text: &str) -> String {
    let mut s = String::with_capacity(text.len() + 2);
    s.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('%');
    s
}

/// A `WHERE` clause under construction: conditions joined by `AND`, each with its value bound to
/// the next `$n`. `?` in a condition stands for that placeholder.
#[derive(Default)]
pub struct Where {
    conditions: Vec<String>,
    values: Vec<Arg>,
}

impl Where {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, condition: &str, value: impl Into<Arg>) -> &mut Self {
        self.values.push(value.into());
        self.conditions.push(condition.replace('?', &format!("${}", self.values.len())));
        self
    }

    /// Adds a condition with several values: `{}` in `condition` becomes their placeholders
    /// (`rep_id IN ({})`).
    pub fn add_list(&mut self, condition: &str, values: impl IntoIterator<Item = Arg>) -> &mut Self {
        let first = self.values.len() + 1;
        self.values.extend(values);
        let n = self.values.len() + 1 - first;
        self.conditions.push(condition.replace("{}", &Session::placeholders(first, n)));
        self
    }

    /// Adds a condition without a value.
    pub fn add_plain(&mut self, condition: &str) -> &mut Self {
        self.conditions.push(condition.to_string());
        self
    }

    /// The clause (`WHERE a = $1 AND …`, or nothing) and its values.
    pub fn finish(self) -> (String, Vec<Arg>) {
        let clause = if self.conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.conditions.join(" AND "))
        };
        (clause, self.values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Binary COPY data as PostgreSQL writes it.
    fn copy_data(rows: &[Vec<Option<&[u8]>>]) -> Vec<u8> {
        let mut b = COPY_SIGNATURE.to_vec();
        b.extend_from_slice(&0_u32.to_be_bytes());
        b.extend_from_slice(&3_u32.to_be_bytes());
        b.extend_from_slice(b"ext");
        for row in rows {
            b.extend_from_slice(&(row.len() as i16).to_be_bytes());
            for field in row {
                match field {
                    Some(bytes) => {
                        b.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
                        b.extend_from_slice(bytes);
                    }
                    None => b.extend_from_slice(&(-1_i32).to_be_bytes()),
                }
            }
        }
        b.extend_from_slice(&(-1_i16).to_be_bytes());
        b
    }

    #[derive(Default)]
    struct Read(Vec<(Uuid, i64, Option<String>, String)>);

    impl Gather for Read {
        fn gather(&mut self, row: &impl Columns) -> Result<(), StoreError> {
            self.0.push((row.get(0)?, row.get(1)?, row.get(2)?, row.text(3)?.into_owned()));
            Ok(())
        }
    }

    fn read_in_chunks(data: &[u8], cuts: &[usize]) -> Result<(bool, Read), StoreError> {
        let mut reader = CopyReader::default();
        let mut out = Read::default();
        let mut from = 0;
        for &cut in cuts.iter().chain([&data.len()]) {
            reader.feed(&data[from..cut], &mut out)?;
            from = cut;
        }
        Ok((reader.finished(), out))
    }

    #[test]
    fn binary_copy_rows_are_read_wherever_the_messages_split_them() {
        let (a, b) = (Uuid::from_u128(7), Uuid::from_u128(u128::MAX - 3));
        let data = copy_data(&[
            vec![Some(a.as_bytes()), Some(&42_i64.to_be_bytes()), Some(b"web"), Some("{\"é\":1}".as_bytes())],
            vec![Some(b.as_bytes()), Some(&(-1_i64).to_be_bytes()), None, Some(b"")],
        ]);
        let expected =
            vec![(a, 42, Some("web".to_string()), "{\"é\":1}".to_string()), (b, -1, None, String::new())];
        for cut in 0..=data.len() {
            let (finished, read) = read_in_chunks(&data, &[cut]).unwrap();
            assert!(finished, "cut at {cut}");
            assert_eq!(read.0, expected, "cut at {cut}");
        }
        let every_byte: Vec<usize> = (1..data.len()).collect();
        assert_eq!(read_in_chunks(&data, &every_byte).unwrap().1.0, expected);
    }

    #[test]
    fn damaged_binary_copy_data_is_an_error_never_a_panic() {
        let id = Uuid::from_u128(1);
        let data = copy_data(&[vec![Some(id.as_bytes()), Some(&5_i64.to_be_bytes()), None, Some(b"{}")]]);
        // Cut short: every row read so far is kept, but the read is not finished.
        for cut in 0..data.len() {
            let (finished, _) = read_in_chunks(&data[..cut], &[]).unwrap();
            assert!(!finished, "{cut} bytes of {}", data.len());
        }
        let mut bad = data.clone();
        bad[0] = b'X';
        assert!(matches!(read_in_chunks(&bad, &[]), Err(StoreError::Corrupt(_))));
        // A 4-byte integer where an 8-byte one is expected, text that is not UTF-8.
        let short = copy_data(&[vec![Some(id.as_bytes()), Some(&5_i32.to_be_bytes()), None, Some(b"{}")]]);
        assert!(matches!(read_in_chunks(&short, &[]), Err(StoreError::Corrupt(_))));
        let latin1 = copy_data(&[vec![Some(id.as_bytes()), Some(&5_i64.to_be_bytes()), None, Some(b"\xe9")]]);
        assert!(matches!(read_in_chunks(&latin1, &[]), Err(StoreError::Corrupt(_))));
        let mut trailing = data;
        trailing.push(0);
        assert!(matches!(read_in_chunks(&trailing, &[]), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn a_copy_statement_writes_in_only_numbers_uuids_and_booleans() {
        let id = Uuid::from_u128(255);
        let args: Vec<Arg> =
            (1..=10).map(|i: i64| Arg::from(i)).chain([Arg::from(id), Arg::from(true)]).collect();
        let sql =
            copy_statement("SELECT '$1' FROM t WHERE a = $1 AND b = $10 AND c = $11 AND d = $12", &args);
        assert_eq!(
            sql.as_deref(),
            Some(
                "COPY (SELECT '$1' FROM t WHERE a = 1 AND b = 10 AND c = '00000000-0000-0000-0000-0000000000ff'::uuid \
                 AND d = true) TO STDOUT (FORMAT binary)"
            )
        );
        assert_eq!(copy_statement("SELECT $1", &[Arg::from("it's")]), None, "text is bound, never spliced");
        assert_eq!(copy_statement("SELECT $1", &[Arg::Uuid(None)]), None);
    }

    #[test]
    fn numbered_placeholders_become_positional_with_repeats_and_quotes_kept() {
        let (sql, args) = positional(
            "SELECT '$1', \"$2\" FROM t WHERE a = $2 AND b = $1 AND c = $2 AND d = '$3''s' LIMIT $10",
            vec![Arg::from(1_i64), Arg::from("two"), Arg::from(3_i64)],
        );
        assert_eq!(
            sql,
            "SELECT '$1', \"$2\" FROM t WHERE a = ? AND b = ? AND c = ? AND d = '$3''s' LIMIT $10"
        );
        assert_eq!(args, vec![Arg::from("two"), Arg::from(1_i64), Arg::from("two")]);
    }
}

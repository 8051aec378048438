//! Storage errors, classified by what the caller can do about them: a conflict is the client's
//! (an e-mail already taken), unavailability is the operator's (the database is down), anything
//! else is a bug to log.

/// What went wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was violated; `field` names the input field at fault when known.
    #[error("{field} is already used by another record")]
    Conflict { field: &'static str },
    /// A referenced record does not exist (a foreign key failed).
    #[error("a referenced record does not exist")]
    MissingReference,
    /// Text the database cannot store (PostgreSQL refuses NUL characters). Input validation
    /// should have refused it first; this keeps a missed case a client error, not a crash.
    #[error("a text value contains a character the database cannot store (NUL)")]
    InvalidText,
    /// The database cannot be reached or is overloaded; retrying later may succeed.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The database aborted the transaction to break a deadlock or a serialization conflict
    /// with another one (PostgreSQL 40P01, 40001): running it again is the same request.
    #[error("the database aborted the transaction to let a concurrent one finish: {0}")]
    Contention(String),
    /// The disk holding the database is full (SQLITE_FULL, PostgreSQL 53100): nothing can be
    /// written until an operator frees space; reads still work.
    #[error("the disk holding the database is full: {0}")]
    DiskFull(String),
    /// Stored data does not have the shape the code expects: a bug or a hand-edited database.
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// The database schema is newer than this binary.
    #[error(
        "the database was migrated by a newer Leadgate (schema version {found}, this binary knows up to {known}); upgrade this binary"
    )]
    SchemaTooNew { found: i64, known: i64 },
    /// Opening or creating the database failed (bad path, permissions, bad URL).
    #[error("cannot open the database: {0}")]
    Open(String),
    /// Any other PostgreSQL error.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// Any other SQLite error.
    #[error("database error: {0}")]
    Sqlite(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict { field: unique_field(db.constraint(), db.message()) }
            }
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::MissingReference,
            // 22021: character_not_in_repertoire (a NUL in text), 22P05: untranslatable_character.
            sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("22021" | "22P05")) => {
                StoreError::InvalidText
            }
            sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("40P01" | "40001")) => {
                StoreError::Contention(db.message().to_string())
            }
            sqlx::Error::Database(db) if db.code().as_deref() == Some("53100") => {
                StoreError::DiskFull(db.message().to_string())
            }
            // Insufficient resources or the server shutting down: try again later.
            sqlx::Error::Database(db)
                if matches!(db.code().as_deref(), Some("53200" | "53300" | "57P01" | "57P03")) =>
            {
                StoreError::Unavailable(db.message().to_string())
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(e.to_string())
            }
            _ => StoreError::Database(e),
        }
    }
}

/// Maps a violated unique index to the input field a user would fix. PostgreSQL reports the
/// constraint name; SQLite reports `table.column`.
pub(crate) fn unique_field(constraint: Option<&str>, message: &str) -> &'static str {
    const KNOWN: [(&str, &str, &str); 7] = [
        ("ux_forms_slug", "forms.slug", "slug"),
        ("ux_contacts_email", "contacts.email_key", "email"),
        ("ux_contacts_external_id", "contacts.external_id", "external_id"),
        ("ux_companies_external_id", "companies.external_id", "external_id"),
        ("ux_users_email", "users.email_key", "email"),
        ("custom_fields_pkey", "custom_fields.entity, custom_fields.key", "key"),
        ("events_pkey", "events.id", "id"),
    ];
    KNOWN
        .iter()
        .find(|(pg, sqlite, _)| constraint == Some(*pg) || message.contains(sqlite))
        .map(|(_, _, field)| *field)
        .unwrap_or("value")
}

impl StoreError {
    /// Whether the error is the client's doing (and thus not worth an error-level log line).
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }
}

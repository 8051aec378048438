//! Field-level validation errors. Every check in the core reports *which* field is at fault and
//! what the user should do, so the HTTP layer can answer a 422 that points at the field and the CLI
//! can print a line a marketer understands.

use std::fmt;

use serde::Serialize;

/// One problem with one input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// Path of the field in the input, e.g. `email` or `custom.budget` or `events[3].kind`.
    pub field: String,
    /// What is wrong and what to do about it.
    pub message: String,
}

/// All the problems found in one input, so the user can fix them at once rather than one by one.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors {
    pub errors: Vec<FieldError>,
}

impl ValidationErrors {
    /// Checks stored free text: `min..=max` characters once trimmed, and plain (no NUL or
    /// other control character, which PostgreSQL refuses and SQLite would keep: both databases
    /// must behave alike). Every stored string goes through this or [`clean_text`].
    pub fn check_text(&mut self, field: impl Into<String>, value: &str, min: usize, max: usize) {
        let n = value.trim().chars().count();
        if n < min {
            self.add(
                field,
                if min == 1 { "is required".to_string() } else { format!("needs at least {min} characters") },
            );
        } else if n > max {
            self.add(field, format!("is longer than {max} characters; shorten it"));
        } else if !is_plain_text(value) {
            self.add(field, "must be plain text (no control characters)");
        }
    }

    /// Checks a list of short texts: at most `max_items`, each checked by [`Self::check_text`].
    pub fn check_texts(&mut self, field: &str, values: &[String], max_items: usize, max_chars: usize) {
        if values.len() > max_items {
            self.add(field, format!("has {} entries; at most {max_items} are accepted", values.len()));
            return;
        }
        for (i, v) in values.iter().enumerate() {
            self.check_text(format!("{field}[{i}]"), v, 1, max_chars);
        }
    }

    /// Checks a number is within `range`.
    pub fn check_range<T: PartialOrd + std::fmt::Display + Copy>(
        &mut self,
        field: impl Into<String>,
        value: T,
        range: std::ops::RangeInclusive<T>,
    ) {
        if !range.contains(&value) {
            self.add(field, format!("must be between {} and {}", range.start(), range.end()));
        }
    }

    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError { field: field.into(), message: message.into() });
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Adds the errors of a nested input under a prefix (`events[3]` + `kind` → `events[3].kind`).
    pub fn extend_prefixed(&mut self, prefix: &str, other: ValidationErrors) {
        for e in other.errors {
            let field = if e.field.is_empty() { prefix.to_string() } else { format!("{prefix}.{}", e.field) };
            self.errors.push(FieldError { field, message: e.message });
        }
    }

    /// `Ok(value)` when no error was recorded, the errors otherwise.
    pub fn into_result<T>(self, value: T) -> Result<T, ValidationErrors> {
        if self.is_empty() { Ok(value) } else { Err(self) }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", e.field, e.message)?;
        }
        Ok(())
    }
}

/// Trims a free-text input and turns blank into `None`; refuses control characters and text over
/// `max_chars`, because such values are always a client mistake (a pasted binary, a runaway field).
pub fn clean_text(
    errors: &mut ValidationErrors,
    field: &str,
    value: Option<&str>,
    max_chars: usize,
) -> Option<String> {
    let trimmed = value?.trim();
    if trimmed.is_empty() {
        return None;
    }
    if trimmed.chars().count() > max_chars {
        errors.add(field, format!("is longer than {max_chars} characters; shorten it"));
        return None;
    }
    if !is_plain_text(trimmed) {
        errors.add(field, "contains control characters (line breaks, NUL…); remove them");
        return None;
    }
    Some(trimmed.to_string())
}

/// Whether `text` is plain text a person could have typed: no control characters (NUL, escape
/// codes, line breaks) that would corrupt a label, a CSV export or a database that refuses NUL.
/// Text that echoes what a client or a fault produced, for a diagnostic (a job's error, a rejects
/// report): control characters written as `\u{0}`, so the message keeps what was wrong and
/// either database stores it.
///
/// ```
/// use leadgate_core::validation::printable;
/// assert_eq!(printable("a\u{0}b"), "a\\u{0}b");
/// assert_eq!(printable("plain"), "plain");
/// ```
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if is_plain_text(text) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| if c.is_control() && c != '\t' { c.escape_unicode().to_string() } else { c.to_string() })
            .collect(),
    )
}

pub fn is_plain_text(text: &str) -> bool {
    !text.chars().any(|c| c.is_control() && c != '\t')
}

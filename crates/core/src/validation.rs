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
pub fn is_plain_text(text: &str) -> bool {
    !text.chars().any(|c| c.is_control() && c != '\t')
}

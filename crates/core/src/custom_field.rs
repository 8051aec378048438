//! Custom fields: the workspace's own attributes on contacts and companies (a budget, a product
//! line, an x-education "Specialization"). Each is declared once with a type; values are checked
//! against that declaration on every write, so a report or a scoring rule never meets a number
//! where it expected a date.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::validation::{ValidationErrors, is_plain_text};

/// Which kind of record a custom field belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FieldEntity {
    Contact,
    Company,
}

impl FieldEntity {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldEntity::Contact => "contact",
            FieldEntity::Company => "company",
        }
    }

    pub fn parse(s: &str) -> Option<FieldEntity> {
        match s {
            "contact" => Some(FieldEntity::Contact),
            "company" => Some(FieldEntity::Company),
            _ => None,
        }
    }
}

/// The type a custom field's values must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Free text, up to [`MAX_TEXT_CHARS`] characters.
    Text,
    /// A finite number (integer or decimal).
    Number,
    /// `true` or `false`.
    Boolean,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// One of a declared list of values.
    Choice,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Number => "number",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::Choice => "choice",
        }
    }

    pub fn parse(s: &str) -> Option<FieldType> {
        Some(match s {
            "text" => FieldType::Text,
            "number" => FieldType::Number,
            "boolean" => FieldType::Boolean,
            "date" => FieldType::Date,
            "choice" => FieldType::Choice,
            _ => return None,
        })
    }
}

/// The longest text value a custom field accepts: long enough for a note, short enough that a
/// mis-mapped column (a whole e-mail body) is caught.
pub const MAX_TEXT_CHARS: usize = 4_000;
/// How many choices a `choice` field may declare.
pub const MAX_CHOICES: usize = 500;

/// The declaration of one custom field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CustomFieldDefinition {
    pub entity: FieldEntity,
    /// Machine name used in the API (`custom.budget`): lower-case letters, digits and `_`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z][a-z0-9_]{0,63}$"))]
    pub key: String,
    /// Name shown to users.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200, pattern = "\\S"))]
    pub label: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// The allowed values of a `choice` field; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
}

impl CustomFieldDefinition {
    /// Checks a declaration: key syntax, a label, and choices only (and always) for `choice`.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if !valid_key(&self.key) {
            errors.add(
                "key",
                "must start with a lower-case letter and contain only a-z, 0-9 and _ (at most 64 characters), e.g. `annual_budget`",
            );
        }
        if self.label.trim().is_empty() || self.label.chars().count() > 200 {
            errors.add("label", "must be between 1 and 200 characters");
        } else if !is_plain_text(&self.label) {
            errors.add("label", "contains control characters (line breaks, NUL…); remove them");
        }
        match self.field_type {
            FieldType::Choice => {
                if self.choices.is_empty() {
                    errors.add("choices", "a choice field needs at least one choice");
                }
                if self.choices.len() > MAX_CHOICES {
                    errors.add("choices", format!("at most {MAX_CHOICES} choices"));
                }
                let mut seen = std::collections::HashSet::new();
                for (i, c) in self.choices.iter().enumerate() {
                    if c.trim().is_empty() {
                        errors.add(format!("choices[{i}]"), "a choice cannot be blank");
                    } else if !is_plain_text(c) || c.chars().count() > 200 {
                        errors.add(format!("choices[{i}]"), "must be plain text of at most 200 characters");
                    } else if !seen.insert(c.as_str()) {
                        errors.add(format!("choices[{i}]"), format!("`{c}` is listed twice"));
                    }
                }
            }
            _ => {
                if !self.choices.is_empty() {
                    errors
                        .add("choices", "only choice fields have choices; remove them or use type `choice`");
                }
            }
        }
        errors.into_result(())
    }

    /// Checks one value against the declaration and returns it normalised (a number as a JSON
    /// number, a date as `YYYY-MM-DD`). `null` is always accepted: it clears the field.
    pub fn check_value(&self, value: &Value) -> Result<Value, String> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        match self.field_type {
            FieldType::Text => match value {
                Value::String(s) if s.chars().count() <= MAX_TEXT_CHARS => Ok(Value::String(s.clone())),
                Value::String(_) => Err(format!("is longer than {MAX_TEXT_CHARS} characters")),
                other => Err(format!("must be text, got {}", json_kind(other))),
            },
            FieldType::Number => match value {
                Value::Number(n) if n.as_f64().is_some_and(f64::is_finite) => Ok(value.clone()),
                other => Err(format!("must be a number, got {}", json_kind(other))),
            },
            FieldType::Boolean => match value {
                Value::Bool(_) => Ok(value.clone()),
                other => Err(format!("must be true or false, got {}", json_kind(other))),
            },
            FieldType::Date => match value {
                Value::String(s) => s
                    .trim()
                    .parse::<jiff::civil::Date>()
                    .map(|d| Value::String(d.to_string()))
                    .map_err(|_| format!("must be a date written YYYY-MM-DD, got `{s}`")),
                other => Err(format!("must be a date written YYYY-MM-DD, got {}", json_kind(other))),
            },
            FieldType::Choice => match value {
                Value::String(s) if self.choices.iter().any(|c| c == s) => Ok(value.clone()),
                Value::String(s) => Err(format!(
                    "`{s}` is not one of the choices ({})",
                    self.choices.iter().take(20).cloned().collect::<Vec<_>>().join(", ")
                )),
                other => Err(format!("must be one of the choices, got {}", json_kind(other))),
            },
        }
    }
}

/// Checks every value of a `custom` object against the declared fields of its entity. Unknown
/// keys are refused (with the list of known ones) rather than stored, so a typo never creates a
/// field nobody sees.
pub fn check_custom_values(
    definitions: &[CustomFieldDefinition],
    values: &Map<String, Value>,
) -> Result<Map<String, Value>, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let mut out = Map::new();
    for (key, value) in values {
        match definitions.iter().find(|d| &d.key == key) {
            None => {
                let known: Vec<&str> = definitions.iter().map(|d| d.key.as_str()).collect();
                let hint = if known.is_empty() {
                    "no custom field is declared yet; declare it first with POST /api/v1/custom-fields"
                        .to_string()
                } else {
                    // A workspace may declare hundreds: name the first few.
                    let shown: Vec<&str> = known.iter().copied().take(10).collect();
                    let more = known.len().saturating_sub(shown.len());
                    let more = if more > 0 {
                        format!(" and {more} more (GET /api/v1/custom-fields lists them)")
                    } else {
                        String::new()
                    };
                    format!("declared fields are: {}{more}", shown.join(", "))
                };
                errors.add(format!("custom.{key}"), format!("is not a declared custom field; {hint}"));
            }
            Some(def) => match def.check_value(value) {
                Ok(v) => {
                    out.insert(key.clone(), v);
                }
                Err(msg) => errors.add(format!("custom.{key}"), msg),
            },
        }
    }
    errors.into_result(out)
}

/// Applies checked values onto stored ones: `null` removes the key, anything else replaces it.
pub fn merge_custom_values(stored: &mut Map<String, Value>, checked: Map<String, Value>) {
    for (key, value) in checked {
        if value.is_null() {
            stored.remove(&key);
        } else {
            stored.insert(key, value);
        }
    }
}

/// Fills the custom fields `stored` has no value for, and changes none it has: what an
/// anonymous form submission may do to an existing contact.
pub fn fill_custom_values(stored: &mut Map<String, Value>, checked: Map<String, Value>) {
    for (key, value) in checked {
        if !value.is_null() && stored.get(&key).is_none_or(Value::is_null) {
            stored.insert(key, value);
        }
    }
}

/// The most custom fields one entity (contacts, companies) may have: beyond it a schema is a
/// mistake (a file of 100,000 columns), and every form and error list would drown in it.
pub const MAX_CUSTOM_FIELDS: usize = 200;

/// Whether `key` is a well-formed custom field key.
pub fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some('a'..='z'))
        && key.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(key: &str, t: FieldType, choices: &[&str]) -> CustomFieldDefinition {
        CustomFieldDefinition {
            entity: FieldEntity::Contact,
            key: key.into(),
            label: key.into(),
            field_type: t,
            choices: choices.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn values_are_checked_against_their_type() {
        let defs = vec![
            def("budget", FieldType::Number, &[]),
            def("trial", FieldType::Boolean, &[]),
            def("renewal", FieldType::Date, &[]),
            def("plan", FieldType::Choice, &["basic", "pro"]),
            def("note", FieldType::Text, &[]),
        ];
        let ok =
            json!({"budget": 12000.5, "trial": true, "renewal": "2027-01-31", "plan": "pro", "note": "hi"});
        let checked = check_custom_values(&defs, ok.as_object().unwrap()).unwrap();
        assert_eq!(checked["renewal"], json!("2027-01-31"));

        let bad =
            json!({"budget": "lots", "trial": "yes", "renewal": "31/01/2027", "plan": "gold", "nope": 1});
        let errors = check_custom_values(&defs, bad.as_object().unwrap()).unwrap_err();
        let fields: Vec<&str> = errors.errors.iter().map(|e| e.field.as_str()).collect();
        for f in ["custom.budget", "custom.trial", "custom.renewal", "custom.plan", "custom.nope"] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
        assert!(errors.to_string().contains("declared fields are: budget"));
    }

    #[test]
    fn null_clears_and_merge_removes() {
        let defs = vec![def("budget", FieldType::Number, &[])];
        let mut stored = json!({"budget": 5}).as_object().unwrap().clone();
        let checked = check_custom_values(&defs, json!({"budget": null}).as_object().unwrap()).unwrap();
        merge_custom_values(&mut stored, checked);
        assert!(stored.is_empty());
    }

    #[test]
    fn filling_only_adds_what_is_missing() {
        let mut stored = json!({"budget": 5, "plan": null}).as_object().unwrap().clone();
        let offered =
            json!({"budget": 9, "plan": "pro", "trial": true, "note": null}).as_object().unwrap().clone();
        fill_custom_values(&mut stored, offered);
        assert_eq!(Value::Object(stored), json!({"budget": 5, "plan": "pro", "trial": true}));
    }

    #[test]
    fn declarations_are_validated() {
        assert!(def("annual_budget", FieldType::Number, &[]).validate().is_ok());
        assert!(def("Budget", FieldType::Number, &[]).validate().is_err());
        assert!(def("plan", FieldType::Choice, &[]).validate().is_err());
        assert!(def("plan", FieldType::Choice, &["a", "a"]).validate().is_err());
        assert!(def("n", FieldType::Number, &["a"]).validate().is_err());
    }
}

//! Partial updates with JSON merge-patch meaning (RFC 7396): a field absent from the body is left
//! alone, `null` clears it, a value replaces it. `Option<T>` cannot tell "absent" from `null`, so
//! updates use [`Patch<T>`].

use serde::{Deserialize, Deserializer};

/// One field of a partial update.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Patch<T> {
    /// The field was not in the request: keep the stored value.
    #[default]
    Keep,
    /// The field was `null`: clear the stored value.
    Clear,
    /// The field had a value: store it.
    Set(T),
}

impl<T> Patch<T> {
    /// The new value of a field currently holding `current`.
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Patch::Keep => current,
            Patch::Clear => None,
            Patch::Set(v) => Some(v),
        }
    }

    pub fn is_keep(&self) -> bool {
        matches!(self, Patch::Keep)
    }

    /// Transforms the value, keeping `Keep` and `Clear` as they are.
    pub fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Patch<U>, E> {
        Ok(match self {
            Patch::Keep => Patch::Keep,
            Patch::Clear => Patch::Clear,
            Patch::Set(v) => Patch::Set(f(v)?),
        })
    }
}

// Serde calls `deserialize` only when the field is present (absent fields take `Default`, i.e.
// `Keep`, through `#[serde(default)]`), so here `null` means Clear.
impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(deserializer)? {
            None => Patch::Clear,
            Some(v) => Patch::Set(v),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        name: Patch<String>,
    }

    #[test]
    fn absent_null_and_value_are_told_apart() {
        let absent: Body = serde_json::from_str("{}").unwrap();
        let null: Body = serde_json::from_str(r#"{"name": null}"#).unwrap();
        let set: Body = serde_json::from_str(r#"{"name": "Ada"}"#).unwrap();
        assert_eq!(absent.name.apply(Some("x".into())), Some("x".into()));
        assert_eq!(null.name.apply(Some("x".into())), None);
        assert_eq!(set.name.apply(Some("x".into())), Some("Ada".into()));
    }
}

//! Guessing the type of a column from its values, so that a spreadsheet's extra columns become
//! custom fields a rule or a filter can compare as numbers, dates or yes/no.

use crate::custom_field::FieldType;

/// What the values of one column looked like.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TypeInference {
    pub present: u64,
    pub numbers: u64,
    pub booleans: u64,
    pub dates: u64,
}

impl TypeInference {
    /// Notes one non-missing value.
    pub fn observe(&mut self, value: &str) {
        let v = value.trim();
        if v.is_empty() {
            return;
        }
        self.present += 1;
        if parse_number(v).is_some() {
            self.numbers += 1;
        }
        if parse_boolean(v).is_some() && parse_number(v).is_none() {
            self.booleans += 1;
        }
        if parse_date(v).is_some() {
            self.dates += 1;
        }
    }

    /// The narrowest type every value fits; text when there is doubt or no value at all.
    pub fn field_type(&self) -> FieldType {
        if self.present == 0 {
            FieldType::Text
        } else if self.numbers == self.present {
            FieldType::Number
        } else if self.booleans == self.present {
            FieldType::Boolean
        } else if self.dates == self.present {
            FieldType::Date
        } else {
            FieldType::Text
        }
    }
}

/// A number as spreadsheets write it: `1234`, `-12.5`, `1e3`; a comma decimal (`12,5`) when no
/// dot is present, as French spreadsheets write it.
pub fn parse_number(v: &str) -> Option<f64> {
    let v = v.trim();
    let parsed = v.parse::<f64>().ok().or_else(|| {
        (!v.contains('.') && v.matches(',').count() == 1)
            .then(|| v.replace(',', ".").parse::<f64>().ok())
            .flatten()
    })?;
    parsed.is_finite().then_some(parsed)
}

/// Yes/no as spreadsheets write it, in English and French.
pub fn parse_boolean(v: &str) -> Option<bool> {
    match v.trim().to_lowercase().as_str() {
        "yes" | "y" | "true" | "oui" | "vrai" | "1" => Some(true),
        "no" | "n" | "false" | "non" | "faux" | "0" => Some(false),
        _ => None,
    }
}

/// A calendar date: `2026-11-24`, `24/11/2026` (day first, as in Europe) or an RFC 3339 instant
/// (its date is kept).
pub fn parse_date(v: &str) -> Option<jiff::civil::Date> {
    let v = v.trim();
    if let Ok(d) = v.parse::<jiff::civil::Date>() {
        return Some(d);
    }
    if let Ok(t) = v.parse::<jiff::Timestamp>() {
        return Some(t.to_zoned_datetime(jiff::tz::TimeZone::UTC).date());
    }
    let parts: Vec<&str> = v.split('/').collect();
    if let [d, m, y] = parts[..] {
        let (d, m, y) = (d.parse::<i8>().ok()?, m.parse::<i8>().ok()?, y.parse::<i16>().ok()?);
        return jiff::civil::Date::new(y, m, d).ok();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer(values: &[&str]) -> FieldType {
        let mut t = TypeInference::default();
        for v in values {
            t.observe(v);
        }
        t.field_type()
    }

    #[test]
    fn types_are_inferred_from_all_values() {
        assert_eq!(infer(&["1", "2.5", "", "1e3"]), FieldType::Number);
        assert_eq!(infer(&["0", "1", "1"]), FieldType::Number, "0/1 stays a number");
        assert_eq!(infer(&["Yes", "No", "oui"]), FieldType::Boolean);
        assert_eq!(infer(&["2016-10-20", "24/11/2026"]), FieldType::Date);
        assert_eq!(infer(&["12", "twelve"]), FieldType::Text);
        assert_eq!(infer(&["", " "]), FieldType::Text);
    }

    #[test]
    fn values_parse_as_spreadsheets_write_them() {
        assert_eq!(parse_number("12,5"), Some(12.5));
        assert_eq!(parse_number("1,234.5"), None);
        assert_eq!(parse_number("NaN"), None);
        assert_eq!(parse_boolean(" YES "), Some(true));
        assert_eq!(parse_date("31/02/2026"), None);
        assert_eq!(parse_date("2026-11-24T10:00:00Z").unwrap().to_string(), "2026-11-24");
    }
}

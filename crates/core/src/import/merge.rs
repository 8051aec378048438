//! What importing a row does to a contact stored already. Importing again must not undo what
//! people changed in Leadgate since the last import (a rep corrected a country; the CRM export
//! still has the old one), yet a newer file must update what nobody touched. So each contact
//! keeps a *baseline*: the value the last import wrote into each field. A row's value replaces
//! the stored one when the stored one is empty, equals the row's, is still the baseline (nobody
//! changed it since), or the user chose to overwrite; otherwise the stored value is kept and
//! the field reported. A value the row does not give never erases one (an import only adds).
//!
//! A contact that no import ever wrote (made by a form, the API, a person) has no baseline: a
//! differing value on it counts as changed in Leadgate and is kept, so no edit is lost.

use serde_json::{Map, Value};

use crate::contact::{Contact, NewContact};

/// What the last import wrote into a contact's fields, by field name (`country`,
/// `custom.plan`).
pub type Baseline = Map<String, Value>;

/// The baseline of a contact an import creates: every value it wrote.
pub fn baseline_of(new: &NewContact) -> Baseline {
    let mut b = Baseline::new();
    macro_rules! put {
        ($($f:ident),*) => {$(
            if let Some(v) = &new.$f { b.insert(stringify!($f).into(), serde_json::json!(v)); }
        )*};
    }
    put!(email, first_name, last_name, phone, job_title, company_id, country, city, external_id);
    for (key, value) in &new.custom {
        b.insert(format!("custom.{key}"), value.clone());
    }
    b
}

/// Merges a row into a stored contact under the rule above, updating its baseline. Returns the
/// fields whose value was kept because it changed in Leadgate since the last import. The stage
/// and the first touch are not changed; `do_not_*` flags are only ever raised.
pub fn merge_row(
    stored: &mut Contact,
    baseline: &mut Baseline,
    row: &NewContact,
    custom: Map<String, Value>,
    overwrite: bool,
) -> Vec<String> {
    let mut kept = Vec::new();
    // Whether the row's `new` value for `field` may replace the stored `now`.
    let mut take = |field: String, now: Value, new: Value| -> bool {
        let untouched = now.is_null() || now == new || baseline.get(&field) == Some(&now);
        if untouched || overwrite {
            baseline.insert(field, new);
            true
        } else {
            kept.push(field);
            false
        }
    };
    macro_rules! set {
        ($($f:ident),*) => {$(
            if let Some(v) = &row.$f
                && take(stringify!($f).into(), serde_json::json!(stored.$f), serde_json::json!(v))
            {
                stored.$f = Some(v.clone());
            }
        )*};
    }
    set!(email, first_name, last_name, phone, job_title, company_id, country, city, external_id);
    for (key, value) in custom {
        let now = stored.custom.get(&key).cloned().unwrap_or(Value::Null);
        if take(format!("custom.{key}"), now, value.clone()) {
            if value.is_null() {
                stored.custom.remove(&key);
            } else {
                stored.custom.insert(key, value);
            }
        }
    }
    if stored.source.is_none() {
        stored.source = row.source.clone();
        stored.campaign = row.campaign.clone();
    }
    stored.do_not_email |= row.do_not_email;
    stored.do_not_call |= row.do_not_call;
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::email::Email;
    use crate::ids::ContactId;

    fn row(country: &str, city: Option<&str>) -> NewContact {
        NewContact {
            country: Some(country.into()),
            city: city.map(String::from),
            ..NewContact::lead(Email::parse("ada@acme.example").unwrap())
        }
    }

    fn stored_from(new: &NewContact) -> Contact {
        new.clone().into_contact(ContactId(uuid::Uuid::nil()), "2026-11-24T10:00:00Z".parse().unwrap())
    }

    #[test]
    fn a_value_changed_since_the_last_import_is_kept_unless_overwriting() {
        let first = row("France", Some("Lyon"));
        let mut contact = stored_from(&first);
        let mut baseline = baseline_of(&first);
        // A person corrects the country in Leadgate.
        contact.country = Some("Belgium".into());
        // The same file again: the correction stays, reported; the rest is unchanged.
        let again = row("France", Some("Lyon"));
        let kept = merge_row(&mut contact, &mut baseline, &again, Map::new(), false);
        assert_eq!(kept, ["country"]);
        assert_eq!(contact.country.as_deref(), Some("Belgium"));
        // A newer file updates what nobody touched, still keeps the correction.
        let newer = row("France", Some("Paris"));
        let kept = merge_row(&mut contact, &mut baseline, &newer, Map::new(), false);
        assert_eq!(kept, ["country"]);
        assert_eq!(contact.city.as_deref(), Some("Paris"));
        // Overwriting takes the file's value, which becomes the baseline.
        let kept = merge_row(&mut contact, &mut baseline, &newer, Map::new(), true);
        assert!(kept.is_empty());
        assert_eq!(contact.country.as_deref(), Some("France"));
        assert_eq!(baseline["country"], "France");
    }

    #[test]
    fn without_a_baseline_only_empty_or_equal_values_are_written() {
        let mut contact = stored_from(&row("Belgium", None));
        let mut baseline = Baseline::new();
        let kept = merge_row(&mut contact, &mut baseline, &row("France", Some("Lyon")), Map::new(), false);
        assert_eq!(kept, ["country"]);
        assert_eq!(contact.city.as_deref(), Some("Lyon"), "an empty field is filled");
        assert_eq!(baseline.get("city"), Some(&Value::from("Lyon")));
        assert_eq!(baseline.get("country"), None);
    }

    #[test]
    fn custom_values_follow_the_same_rule() {
        let mut first = row("France", None);
        first.custom.insert("plan".into(), "pro".into());
        let mut contact = stored_from(&first);
        let mut baseline = baseline_of(&first);
        contact.custom.insert("plan".into(), "enterprise".into());
        let custom: Map<String, Value> = [("plan".to_string(), Value::from("basic"))].into_iter().collect();
        assert_eq!(merge_row(&mut contact, &mut baseline, &first, custom.clone(), false), ["custom.plan"]);
        assert_eq!(contact.custom["plan"], "enterprise");
        contact.custom.insert("plan".into(), "pro".into());
        assert!(merge_row(&mut contact, &mut baseline, &first, custom, false).is_empty());
        assert_eq!(contact.custom["plan"], "basic", "unchanged since the import: updated");
    }
}

//! Web forms and consent (DESIGN §6, §10). A form is defined as data: its fields and where each
//! goes on the contact, what a submission means (an event kind, a campaign), and the consent
//! checkboxes, each with the exact wording shown and its version, for the purposes it covers.
//! Reading a submission checks it against the definition and says what to store: the contact,
//! the event's properties, and one consent decision per purpose — granted or refused, never
//! nothing.

use std::collections::HashMap;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::contact::ContactDraft;
use crate::event::EventKind;
use crate::ids::ContactId;
use crate::validation::{ValidationErrors, is_plain_text};

/// What a consent covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Being contacted by sales about our offer.
    CommercialProspecting,
    /// Receiving the newsletter.
    Newsletter,
}

impl Purpose {
    pub const ALL: [Purpose; 2] = [Purpose::CommercialProspecting, Purpose::Newsletter];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::CommercialProspecting => "commercial_prospecting",
            Purpose::Newsletter => "newsletter",
        }
    }

    pub fn parse(s: &str) -> Option<Purpose> {
        Purpose::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One consent decision with its proof. Records are only ever added: the latest per purpose is
/// the current state, the others are its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentRecord {
    pub id: uuid::Uuid,
    pub contact_id: ContactId,
    pub purpose: Purpose,
    pub granted: bool,
    /// The exact text the person saw.
    pub text: String,
    /// The version of that text.
    pub version: String,
    /// Where it was given: `form`, `api`, `import`, `user`.
    pub source: String,
    pub form_id: Option<uuid::Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
}

/// The consent a contact has now for `purpose`: the latest decision recorded (`history` in time
/// order), none if nothing was ever recorded.
pub fn current_consent(history: &[ConsentRecord], purpose: Purpose) -> Option<bool> {
    history.iter().rev().find(|c| c.purpose == purpose).map(|c| c.granted)
}

/// What a consent answer from an anonymous form submission does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentEffect {
    /// Recorded as given: the submission created the contact, so the submitter is the person.
    Record,
    /// Kept as a request until the person confirms it: anyone can type an existing contact's
    /// e-mail, and must not grant or withdraw that person's consent.
    Request,
    /// Nothing to do: the answer is what the contact's consent already is (no consent recorded
    /// counts as refused).
    Nothing,
}

/// The rule for anonymous consent answers (DESIGN §10): a new contact's are recorded; an
/// existing contact's consent changes only with the person's confirmation.
///
/// ```
/// use leadgate_core::form::{ConsentEffect, anonymous_consent_effect};
/// assert_eq!(anonymous_consent_effect(true, None, true), ConsentEffect::Record);
/// assert_eq!(anonymous_consent_effect(false, Some(true), false), ConsentEffect::Request);
/// assert_eq!(anonymous_consent_effect(false, None, true), ConsentEffect::Request);
/// assert_eq!(anonymous_consent_effect(false, None, false), ConsentEffect::Nothing);
/// assert_eq!(anonymous_consent_effect(false, Some(true), true), ConsentEffect::Nothing);
/// ```
pub fn anonymous_consent_effect(new_contact: bool, current: Option<bool>, granted: bool) -> ConsentEffect {
    if new_contact {
        ConsentEffect::Record
    } else if current.unwrap_or(false) == granted {
        ConsentEffect::Nothing
    } else {
        ConsentEffect::Request
    }
}

/// Where a consent request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConsentRequestStatus {
    /// Waiting for the person to confirm.
    Pending,
    /// Confirmed by the person: a consent record was added.
    Confirmed,
    /// Dismissed (not confirmed in time, or by the team).
    Dismissed,
}

impl ConsentRequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentRequestStatus::Pending => "pending",
            ConsentRequestStatus::Confirmed => "confirmed",
            ConsentRequestStatus::Dismissed => "dismissed",
        }
    }

    pub fn parse(s: &str) -> Option<ConsentRequestStatus> {
        [ConsentRequestStatus::Pending, ConsentRequestStatus::Confirmed, ConsentRequestStatus::Dismissed]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// A consent change asked for anonymously, with the proof a record would carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentRequest {
    pub id: uuid::Uuid,
    pub contact_id: ContactId,
    pub purpose: Purpose,
    /// Granting (true) or withdrawing (false).
    pub granted: bool,
    /// The exact text the submitter saw.
    pub text: String,
    pub version: String,
    pub form_id: Option<uuid::Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub requested_at: Timestamp,
    pub status: ConsentRequestStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub resolved_at: Option<Timestamp>,
}

/// The type of a form field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FormFieldType {
    Text,
    Email,
    Tel,
    Textarea,
    Select,
    Checkbox,
}

/// The most fields a form may have.
pub const MAX_FORM_FIELDS: usize = 50;

impl FormFieldType {
    pub const ALL: [FormFieldType; 6] = [
        FormFieldType::Text,
        FormFieldType::Email,
        FormFieldType::Tel,
        FormFieldType::Textarea,
        FormFieldType::Select,
        FormFieldType::Checkbox,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FormFieldType::Text => "text",
            FormFieldType::Email => "email",
            FormFieldType::Tel => "tel",
            FormFieldType::Textarea => "textarea",
            FormFieldType::Select => "select",
            FormFieldType::Checkbox => "checkbox",
        }
    }

    pub fn parse(s: &str) -> Option<FormFieldType> {
        FormFieldType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// A field of a form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FormField {
    /// The name in the submission (`email`, `company`, `message`).
    pub name: String,
    /// The label shown.
    pub label: String,
    #[serde(rename = "type", default = "default_field_type")]
    pub field_type: FormFieldType,
    #[serde(default)]
    pub required: bool,
    /// The options of a `select`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Where the value goes on the contact: `email`, `first_name`, `last_name`, `phone`,
    /// `job_title`, `company`, `country`, `city`, or `custom.<key>`; absent, the value is kept
    /// in the event only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maps_to: Option<String>,
}

fn default_field_type() -> FormFieldType {
    FormFieldType::Text
}

/// A consent checkbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConsentItem {
    pub purpose: Purpose,
    /// The exact wording shown beside the checkbox, kept as proof.
    pub text: String,
    /// The version of the wording (change it when the text changes).
    pub version: String,
}

/// A form as defined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FormDefinition {
    /// In the form's address: `/f/<slug>`.
    pub slug: String,
    /// The title shown.
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub fields: Vec<FormField>,
    /// What a submission records (default `form_submitted`; a quote form may say `quote_request`).
    #[serde(default = "default_kind")]
    pub event_kind: EventKind,
    /// The campaign the contacts and events are attributed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    /// The consent checkboxes, one per purpose.
    #[serde(default)]
    pub consents: Vec<ConsentItem>,
    /// Sites allowed to embed the form and post to it (`https://www.example.com`).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    #[serde(default = "default_submit")]
    pub submit_label: String,
    #[serde(default = "default_thanks")]
    pub success_message: String,
}

fn default_kind() -> EventKind {
    EventKind::FormSubmitted
}

fn default_submit() -> String {
    "Send".into()
}

fn default_thanks() -> String {
    "Thank you! We will get back to you soon.".into()
}

/// The fields a form may map to on the contact.
const CONTACT_TARGETS: [&str; 8] =
    ["email", "first_name", "last_name", "phone", "job_title", "company", "country", "city"];

/// What a valid submission says to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub contact: ContactDraft,
    /// The company's name, if a field maps to it.
    pub company: Option<String>,
    /// Every field's value, for the event.
    pub properties: Map<String, Value>,
    /// One decision per consent checkbox of the form.
    pub consents: Vec<(ConsentItem, bool)>,
}

impl FormDefinition {
    /// Checks a definition: slug, unique field names, known targets, an e-mail field (a form
    /// must be able to recognise the person), consents with wording.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        let slug_ok = !self.slug.is_empty()
            && self.slug.len() <= 64
            && self.slug.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && self.slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !slug_ok {
            e.add("slug", "must be 1 to 64 lower-case letters, digits or `-`, e.g. `contact-us`");
        }
        if self.title.trim().is_empty() || self.title.chars().count() > 200 || !is_plain_text(&self.title) {
            e.add("title", "must be plain text of 1 to 200 characters");
        }
        if self.fields.is_empty() || self.fields.len() > MAX_FORM_FIELDS {
            e.add("fields", "a form has 1 to 50 fields");
        }
        let mut names = std::collections::HashSet::new();
        let mut email_field = false;
        for (i, f) in self.fields.iter().enumerate() {
            let p = format!("fields[{i}]");
            let name_ok = f.name.starts_with(|c: char| c.is_ascii_lowercase())
                && f.name.len() <= 64
                && f.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && !f.name.starts_with("consent_");
            if !name_ok {
                e.add(
                    format!("{p}.name"),
                    "must be lower-case letters, digits and `_`, not starting with `consent_`",
                );
            } else if !names.insert(f.name.as_str()) {
                e.add(format!("{p}.name"), format!("`{}` is used by another field", f.name));
            }
            if f.label.trim().is_empty() || f.label.chars().count() > 200 || !is_plain_text(&f.label) {
                e.add(format!("{p}.label"), "must be plain text of 1 to 200 characters");
            }
            if (f.field_type == FormFieldType::Select) == f.options.is_empty() {
                e.add(format!("{p}.options"), "a select field lists its options; other fields have none");
            }
            if let Some(target) = &f.maps_to {
                let custom = target.strip_prefix("custom.").is_some_and(crate::custom_field::valid_key);
                if !custom && !CONTACT_TARGETS.contains(&target.as_str()) {
                    e.add(
                        format!("{p}.maps_to"),
                        format!("must be one of {} or custom.<key>", CONTACT_TARGETS.join(", ")),
                    );
                }
                if target == "email" {
                    email_field = true;
                    if !f.required {
                        e.add(
                            format!("{p}.required"),
                            "the e-mail field must be required: it is how the person is recognised",
                        );
                    }
                }
            }
        }
        if !email_field {
            e.add("fields", "one field must map to `email` (and be required)");
        }
        let mut purposes = std::collections::HashSet::new();
        for (i, c) in self.consents.iter().enumerate() {
            if c.text.trim().is_empty() || c.text.chars().count() > 2_000 || !is_plain_text(&c.text) {
                e.add(format!("consents[{i}].text"), "must be the exact wording shown, 1 to 2000 characters");
            }
            if c.version.trim().is_empty() || c.version.chars().count() > 50 {
                e.add(format!("consents[{i}].version"), "must be 1 to 50 characters, e.g. `2026-11`");
            }
            if !purposes.insert(c.purpose) {
                e.add(format!("consents[{i}].purpose"), "each purpose has one checkbox");
            }
        }
        for (i, o) in self.allowed_origins.iter().enumerate() {
            let ok = (o.starts_with("https://") || o.starts_with("http://"))
                && !o.trim_end_matches('/').contains(|c: char| c.is_whitespace())
                && o.split('/').count() <= 3;
            if !ok {
                e.add(
                    format!("allowed_origins[{i}]"),
                    "must be an origin such as https://www.example.com (no path)",
                );
            }
        }
        for (field, value, max) in
            [("submit_label", &self.submit_label, 100), ("success_message", &self.success_message, 1000)]
        {
            if value.trim().is_empty() || value.chars().count() > max || !is_plain_text(value) {
                e.add(field, format!("must be plain text of 1 to {max} characters"));
            }
        }
        if self.description.as_ref().is_some_and(|d| d.chars().count() > 2_000 || !is_plain_text(d)) {
            e.add("description", "must be plain text of at most 2000 characters");
        }
        e.into_result(())
    }

    /// Whether `origin` may embed and post to the form.
    pub fn allows_origin(&self, origin: &str) -> bool {
        let origin = origin.trim_end_matches('/');
        self.allowed_origins.iter().any(|o| o.trim_end_matches('/').eq_ignore_ascii_case(origin))
    }

    /// Whether a submission whose request carries `origin` (its `Origin` header) is accepted,
    /// whatever its content type: the form's hosted page on this server (`own_host`, the
    /// request's `Host`), an allowed origin, or no `Origin` at all (not a browser: a browser
    /// sends one with every cross-site POST, and a script outside one can write any). `null`
    /// (a sandboxed frame, a privacy-stripped origin) is refused.
    ///
    /// ```
    /// # use leadgate_core::form::FormDefinition;
    /// # let mut form: FormDefinition = serde_json::from_value(serde_json::json!({
    /// #     "slug": "demo", "title": "Demo", "fields": [{"name": "email", "label": "E-mail", "maps_to": "email"}],
    /// #     "allowed_origins": ["https://www.customer.example"]})).unwrap();
    /// assert!(form.accepts_submission_from(Some("https://www.customer.example"), "leads.example"));
    /// assert!(form.accepts_submission_from(Some("https://leads.example"), "leads.example"));
    /// assert!(form.accepts_submission_from(None, "leads.example"));
    /// assert!(!form.accepts_submission_from(Some("https://evil.example"), "leads.example"));
    /// assert!(!form.accepts_submission_from(Some("null"), "leads.example"));
    /// ```
    pub fn accepts_submission_from(&self, origin: Option<&str>, own_host: &str) -> bool {
        origin.is_none_or(|o| {
            self.allows_origin(o)
                || o.split_once("://")
                    .is_some_and(|(_, host)| !own_host.is_empty() && host.eq_ignore_ascii_case(own_host))
        })
    }

    /// Reads a submission (field name → value). Unticked consent boxes are refusals.
    pub fn read(&self, values: &HashMap<String, String>) -> Result<Submission, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let mut contact = ContactDraft {
            source: Some("web form".into()),
            campaign: self.campaign.clone(),
            ..Default::default()
        };
        let mut custom = Map::new();
        let mut company = None;
        let mut properties = Map::new();
        for f in &self.fields {
            let raw = values.get(&f.name).map(|v| v.trim()).unwrap_or_default();
            let value = match f.field_type {
                FormFieldType::Checkbox => {
                    let on = matches!(raw.to_lowercase().as_str(), "on" | "yes" | "true" | "1");
                    if f.required && !on {
                        e.add(&f.name, format!("{}: please tick this box", f.label));
                    }
                    properties.insert(f.name.clone(), Value::Bool(on));
                    continue;
                }
                _ if raw.is_empty() => {
                    if f.required {
                        e.add(&f.name, format!("{}: this field is required", f.label));
                    }
                    continue;
                }
                _ => raw,
            };
            let max = if f.field_type == FormFieldType::Textarea { 4_000 } else { 500 };
            if value.chars().count() > max {
                e.add(&f.name, format!("{}: at most {max} characters", f.label));
                continue;
            }
            if f.field_type == FormFieldType::Select && !f.options.iter().any(|o| o == value) {
                e.add(&f.name, format!("{}: choose one of the options", f.label));
                continue;
            }
            properties.insert(f.name.clone(), Value::String(value.to_string()));
            match f.maps_to.as_deref() {
                Some("email") => contact.email = Some(value.to_string()),
                Some("first_name") => contact.first_name = Some(value.to_string()),
                Some("last_name") => contact.last_name = Some(value.to_string()),
                Some("phone") => contact.phone = Some(value.to_string()),
                Some("job_title") => contact.job_title = Some(value.to_string()),
                Some("company") => company = Some(value.to_string()),
                Some("country") => contact.country = Some(value.to_string()),
                Some("city") => contact.city = Some(value.to_string()),
                Some(other) => {
                    if let Some(key) = other.strip_prefix("custom.") {
                        custom.insert(key.to_string(), Value::String(value.to_string()));
                    }
                }
                None => {}
            }
        }
        if !custom.is_empty() {
            contact.custom = Some(custom);
        }
        // The contact's own checks, reported on the form's field names.
        if e.is_empty()
            && let Err(errors) = contact.clone().validate()
        {
            for err in errors.errors {
                let field = self.fields.iter().find(|f| f.maps_to.as_deref() == Some(err.field.as_str()));
                match field {
                    Some(f) => e.add(&f.name, format!("{}: {}", f.label, err.message)),
                    None => e.add(err.field, err.message),
                }
            }
        }
        let consents = self
            .consents
            .iter()
            .map(|c| {
                let ticked = values
                    .get(&format!("consent_{}", c.purpose))
                    .is_some_and(|v| matches!(v.trim().to_lowercase().as_str(), "on" | "yes" | "true" | "1"));
                (c.clone(), ticked)
            })
            .collect();
        e.into_result(Submission { contact, company, properties, consents })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> FormDefinition {
        serde_json::from_value(serde_json::json!({
            "slug": "contact-us",
            "title": "Contact us",
            "fields": [
                {"name": "email", "label": "E-mail", "type": "email", "required": true, "maps_to": "email"},
                {"name": "name", "label": "First name", "maps_to": "first_name"},
                {"name": "company", "label": "Company", "maps_to": "company"},
                {"name": "size", "label": "Size", "type": "select", "options": ["1-10", "11-50"]},
                {"name": "message", "label": "Message", "type": "textarea"}
            ],
            "consents": [
                {"purpose": "newsletter", "text": "Send me the newsletter", "version": "2026-11"},
                {"purpose": "commercial_prospecting", "text": "A sales rep may contact me", "version": "2026-11"}
            ],
            "allowed_origins": ["https://www.example.com"]
        }))
        .unwrap()
    }

    fn values(v: &[(&str, &str)]) -> HashMap<String, String> {
        v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn a_submission_says_what_to_store_and_records_refusals_too() {
        let f = form();
        f.validate().unwrap();
        let s = f
            .read(&values(&[
                ("email", "ada@acme.example"),
                ("name", "Ada"),
                ("company", "Acme"),
                ("size", "1-10"),
                ("consent_newsletter", "on"),
            ]))
            .unwrap();
        assert_eq!(s.contact.email.as_deref(), Some("ada@acme.example"));
        assert_eq!(s.contact.source.as_deref(), Some("web form"));
        assert_eq!(s.company.as_deref(), Some("Acme"));
        assert_eq!(s.properties["size"], "1-10");
        let decisions: Vec<(Purpose, bool)> = s.consents.iter().map(|(c, g)| (c.purpose, *g)).collect();
        assert_eq!(decisions, vec![(Purpose::Newsletter, true), (Purpose::CommercialProspecting, false)]);
    }

    #[test]
    fn bad_submissions_name_the_field() {
        let err = form().read(&values(&[("email", "nope"), ("size", "5000")])).unwrap_err();
        let fields: Vec<&str> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["size"]);
        let err = form().read(&values(&[("email", "nope")])).unwrap_err();
        assert_eq!(err.errors[0].field, "email");
        assert!(err.errors[0].message.starts_with("E-mail:"));
        let err = form().read(&values(&[])).unwrap_err();
        assert!(err.errors[0].message.contains("required"));
    }

    #[test]
    fn definitions_are_checked() {
        let mut f = form();
        f.fields[0].maps_to = None;
        f.slug = "Contact Us".into();
        f.consents[1].purpose = Purpose::Newsletter;
        f.allowed_origins = vec!["example.com".into()];
        let err = f.validate().unwrap_err();
        let fields: Vec<&str> = err.errors.iter().map(|e| e.field.as_str()).collect();
        for x in ["slug", "fields", "consents[1].purpose", "allowed_origins[0]"] {
            assert!(fields.contains(&x), "{x} in {fields:?}");
        }
        assert!(form().allows_origin("https://www.example.com/"));
        assert!(!form().allows_origin("https://evil.example"));
    }
}

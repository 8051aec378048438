//! Contacts: the people Leadgate knows. A contact is created from what a capture channel knows
//! (at least one way to recognise the person again: an e-mail, a phone number, an external id or a
//! name), belongs to at most one company, and records where it came from (first touch) and what
//! brought it back last (last touch) for attribution.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::email::Email;
use crate::ids::{CompanyId, ContactId};
use crate::lifecycle::LifecycleStage;
use crate::patch::Patch;
use crate::validation::{ValidationErrors, clean_text};

pub(crate) const NAME_MAX: usize = 200;
pub(crate) const SHORT_MAX: usize = 200;
const PHONE_MAX: usize = 50;

/// A contact as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    pub id: ContactId,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Email))]
    pub email: Option<Email>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub job_title: Option<String>,
    pub company_id: Option<CompanyId>,
    pub country: Option<String>,
    pub city: Option<String>,
    /// The contact's id in another system (a CRM, the import file), unique in the workspace.
    pub external_id: Option<String>,
    pub lifecycle_stage: LifecycleStage,
    /// First-touch source: the channel that first brought this contact (e.g. `Google`, `trade fair`).
    pub source: Option<String>,
    /// First-touch campaign.
    pub campaign: Option<String>,
    /// Source of the most recent touch.
    pub last_touch_source: Option<String>,
    /// Campaign of the most recent touch.
    pub last_touch_campaign: Option<String>,
    /// The person asked not to be e-mailed: nothing that sends e-mail may reach them.
    pub do_not_email: bool,
    /// The person asked not to be called.
    pub do_not_call: bool,
    /// When the person objected to direct marketing (GDPR art. 21): from then on they get no
    /// marketing and are neither scored nor predicted (absent: no objection).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    #[serde(default)]
    pub objected_at: Option<Timestamp>,
    /// Values of the workspace's custom fields, by key.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub custom: Map<String, Value>,
    /// Fit, engagement and temperature as last computed; absent until first scored.
    #[serde(default)]
    pub score: Option<crate::scoring::ScoreSummary>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

impl Contact {
    /// "Ada Lovelace", or the e-mail, or the phone: the best short way to name the contact.
    pub fn display_name(&self) -> String {
        let name = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if !name.is_empty() {
            return name;
        }
        self.email
            .as_ref()
            .map(|e| e.to_string())
            .or_else(|| self.phone.clone())
            .or_else(|| self.external_id.clone())
            .unwrap_or_else(|| self.id.to_string())
    }
}

/// A request to create a contact, as received. [`ContactDraft::validate`] turns it into a
/// [`NewContact`] or says what to fix.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ContactDraft {
    #[cfg_attr(feature = "openapi", schema(format = Email))]
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub job_title: Option<String>,
    pub company_id: Option<CompanyId>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub external_id: Option<String>,
    /// Initial stage: `visitor`, `lead` (the default) or `customer` (history imported from
    /// another tool). Later changes are lifecycle transitions, not edits.
    pub lifecycle_stage: Option<LifecycleStage>,
    pub source: Option<String>,
    pub campaign: Option<String>,
    pub do_not_email: Option<bool>,
    pub do_not_call: Option<bool>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub custom: Option<Map<String, Value>>,
}

/// A validated contact to create. Custom values are checked separately against the declared
/// fields, which live in storage.
#[derive(Debug, Clone, PartialEq)]
pub struct NewContact {
    pub email: Option<Email>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub job_title: Option<String>,
    pub company_id: Option<CompanyId>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub external_id: Option<String>,
    pub lifecycle_stage: LifecycleStage,
    pub source: Option<String>,
    pub campaign: Option<String>,
    pub do_not_email: bool,
    pub do_not_call: bool,
    pub custom: Map<String, Value>,
}

impl NewContact {
    /// A lead known only by its e-mail: what an inbound signal from an unknown person creates.
    pub fn lead(email: Email) -> NewContact {
        NewContact {
            email: Some(email),
            first_name: None,
            last_name: None,
            phone: None,
            job_title: None,
            company_id: None,
            country: None,
            city: None,
            external_id: None,
            lifecycle_stage: LifecycleStage::Lead,
            source: None,
            campaign: None,
            do_not_email: false,
            do_not_call: false,
            custom: Map::new(),
        }
    }

    /// The contact as it is once stored under `id` at `now` (first touch is also last touch, not
    /// scored yet): what scoring needs before the row is written.
    pub fn into_contact(self, id: ContactId, now: Timestamp) -> Contact {
        Contact {
            id,
            email: self.email,
            first_name: self.first_name,
            last_name: self.last_name,
            phone: self.phone,
            job_title: self.job_title,
            company_id: self.company_id,
            country: self.country,
            city: self.city,
            external_id: self.external_id,
            lifecycle_stage: self.lifecycle_stage,
            last_touch_source: self.source.clone(),
            last_touch_campaign: self.campaign.clone(),
            source: self.source,
            campaign: self.campaign,
            do_not_email: self.do_not_email,
            do_not_call: self.do_not_call,
            objected_at: None,
            custom: self.custom,
            score: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// The stages a contact may be created in. Every other stage is reached through a lifecycle
/// transition, so that its history records who or which rule moved it there and why.
pub const INITIAL_STAGES: [LifecycleStage; 3] =
    [LifecycleStage::Visitor, LifecycleStage::Lead, LifecycleStage::Customer];

impl ContactDraft {
    pub fn validate(self) -> Result<NewContact, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let email = parse_email(&mut errors, self.email.as_deref());
        let phone = parse_phone(&mut errors, self.phone.as_deref());
        let stage = self.lifecycle_stage.unwrap_or(LifecycleStage::Lead);
        if !INITIAL_STAGES.contains(&stage) {
            errors.add(
                "lifecycle_stage",
                format!(
                    "a contact cannot be created as `{stage}`; create it as `lead` (or `visitor`, `customer`) and let the lifecycle rules move it"
                ),
            );
        }
        let contact = NewContact {
            email,
            first_name: clean_text(&mut errors, "first_name", self.first_name.as_deref(), NAME_MAX),
            last_name: clean_text(&mut errors, "last_name", self.last_name.as_deref(), NAME_MAX),
            phone,
            job_title: clean_text(&mut errors, "job_title", self.job_title.as_deref(), SHORT_MAX),
            company_id: self.company_id,
            country: clean_text(&mut errors, "country", self.country.as_deref(), SHORT_MAX),
            city: clean_text(&mut errors, "city", self.city.as_deref(), SHORT_MAX),
            external_id: clean_text(&mut errors, "external_id", self.external_id.as_deref(), SHORT_MAX),
            lifecycle_stage: stage,
            source: clean_text(&mut errors, "source", self.source.as_deref(), SHORT_MAX),
            campaign: clean_text(&mut errors, "campaign", self.campaign.as_deref(), SHORT_MAX),
            do_not_email: self.do_not_email.unwrap_or(false),
            do_not_call: self.do_not_call.unwrap_or(false),
            custom: self.custom.unwrap_or_default(),
        };
        if errors.is_empty()
            && contact.email.is_none()
            && contact.phone.is_none()
            && contact.external_id.is_none()
            && contact.first_name.is_none()
            && contact.last_name.is_none()
        {
            errors.add(
                "email",
                "a contact needs at least one way to recognise the person: an e-mail, a phone number, an external id or a name",
            );
        }
        errors.into_result(contact)
    }
}

/// A partial update of a contact (merge-patch: absent keeps, `null` clears).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Email))]
    pub email: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub first_name: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub last_name: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub phone: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub job_title: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub company_id: Patch<CompanyId>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub country: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub city: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub external_id: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub source: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub campaign: Patch<String>,
    pub do_not_email: Option<bool>,
    pub do_not_call: Option<bool>,
    /// Custom values to set; a key set to `null` is removed, keys not mentioned are kept.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub custom: Option<Map<String, Value>>,
}

impl ContactPatch {
    /// Applies the patch onto a copy of `contact`, leaving `custom` to the caller (it needs the
    /// declared fields). Returns the updated contact or every problem found.
    pub fn apply(self, contact: &Contact) -> Result<Contact, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut next = contact.clone();
        let text = |errors: &mut ValidationErrors, field: &str, p: Patch<String>, max: usize| match p {
            Patch::Set(v) => match clean_text(errors, field, Some(&v), max) {
                Some(v) => Patch::Set(v),
                None => Patch::Clear,
            },
            other => other,
        };
        next.email = match self.email {
            Patch::Set(v) => parse_email(&mut errors, Some(&v)),
            Patch::Clear => None,
            Patch::Keep => next.email,
        };
        next.phone = match self.phone {
            Patch::Set(v) => parse_phone(&mut errors, Some(&v)),
            p => p.apply(next.phone),
        };
        next.first_name = text(&mut errors, "first_name", self.first_name, NAME_MAX).apply(next.first_name);
        next.last_name = text(&mut errors, "last_name", self.last_name, NAME_MAX).apply(next.last_name);
        next.job_title = text(&mut errors, "job_title", self.job_title, SHORT_MAX).apply(next.job_title);
        next.country = text(&mut errors, "country", self.country, SHORT_MAX).apply(next.country);
        next.city = text(&mut errors, "city", self.city, SHORT_MAX).apply(next.city);
        next.external_id =
            text(&mut errors, "external_id", self.external_id, SHORT_MAX).apply(next.external_id);
        next.source = text(&mut errors, "source", self.source, SHORT_MAX).apply(next.source);
        next.campaign = text(&mut errors, "campaign", self.campaign, SHORT_MAX).apply(next.campaign);
        next.company_id = self.company_id.apply(next.company_id);
        if let Some(v) = self.do_not_email {
            next.do_not_email = v;
        }
        if let Some(v) = self.do_not_call {
            next.do_not_call = v;
        }
        errors.into_result(next)
    }
}

fn parse_email(errors: &mut ValidationErrors, value: Option<&str>) -> Option<Email> {
    let v = value?;
    if v.trim().is_empty() {
        return None;
    }
    match Email::parse(v) {
        Ok(e) => Some(e),
        Err(e) => {
            errors.add("email", e.to_string());
            None
        }
    }
}

/// Phone numbers are kept as typed (formats vary by country and sales reps dial what they see),
/// but must look like a number: digits with the usual separators, at least 3 digits.
fn parse_phone(errors: &mut ValidationErrors, value: Option<&str>) -> Option<String> {
    let v = clean_text(errors, "phone", value, PHONE_MAX)?;
    let digits = v.chars().filter(char::is_ascii_digit).count();
    let allowed =
        v.chars().all(|c| c.is_ascii_digit() || " +-().,/xX#*".contains(c) || c.is_ascii_alphabetic());
    if digits < 3 || !allowed {
        errors.add("phone", "does not look like a phone number; use digits, spaces and + - ( ) only");
        return None;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_needs_a_way_to_recognise_the_person() {
        let err = ContactDraft::default().validate().unwrap_err();
        assert_eq!(err.errors[0].field, "email");
        let ok =
            ContactDraft { last_name: Some("Lovelace".into()), ..Default::default() }.validate().unwrap();
        assert_eq!(ok.lifecycle_stage, LifecycleStage::Lead);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let draft = ContactDraft {
            email: Some("not-an-address".into()),
            phone: Some("call me".into()),
            first_name: Some("x".repeat(300)),
            lifecycle_stage: Some(LifecycleStage::Sql),
            ..Default::default()
        };
        let err = draft.validate().unwrap_err();
        let mut fields: Vec<&str> = err.errors.iter().map(|e| e.field.as_str()).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["email", "first_name", "lifecycle_stage", "phone"]);
    }

    #[test]
    fn blank_values_are_absent_not_empty_strings() {
        let c = ContactDraft {
            email: Some("a@b.co".into()),
            first_name: Some("   ".into()),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(c.first_name, None);
    }
}

//! The fields rules can read: those of a contact and its company (fit rules, knock-outs), and those
//! of an event (engagement filters).

use std::borrow::Cow;

use crate::company::Company;
use crate::contact::Contact;
use crate::event::Event;
use crate::scoring::condition::{FieldValue, Namespace};

/// A contact and its company, as fit rules and knock-outs see them.
#[derive(Debug, Clone, Copy)]
pub struct Prospect<'a> {
    pub contact: &'a Contact,
    pub company: Option<&'a Company>,
}

/// A field of a contact or of its company.
#[derive(Debug, Clone, PartialEq)]
pub enum ContactField {
    Email,
    EmailDomain,
    FirstName,
    LastName,
    Phone,
    JobTitle,
    Country,
    City,
    Source,
    Campaign,
    LastTouchSource,
    LastTouchCampaign,
    ExternalId,
    DoNotEmail,
    DoNotCall,
    Custom(String),
    CompanyName,
    CompanyDomain,
    CompanySector,
    CompanyEmployees,
    CompanyAnnualRevenue,
    CompanyCountry,
    CompanyCustom(String),
}

/// Contact and company fields.
#[derive(Debug, Clone)]
pub struct ContactFields;

const CONTACT_FIELDS: [(&str, ContactField); 21] = [
    ("email", ContactField::Email),
    ("email_domain", ContactField::EmailDomain),
    ("first_name", ContactField::FirstName),
    ("last_name", ContactField::LastName),
    ("phone", ContactField::Phone),
    ("job_title", ContactField::JobTitle),
    ("country", ContactField::Country),
    ("city", ContactField::City),
    ("source", ContactField::Source),
    ("campaign", ContactField::Campaign),
    ("last_touch_source", ContactField::LastTouchSource),
    ("last_touch_campaign", ContactField::LastTouchCampaign),
    ("external_id", ContactField::ExternalId),
    ("do_not_email", ContactField::DoNotEmail),
    ("do_not_call", ContactField::DoNotCall),
    ("company.name", ContactField::CompanyName),
    ("company.domain", ContactField::CompanyDomain),
    ("company.sector", ContactField::CompanySector),
    ("company.employees", ContactField::CompanyEmployees),
    ("company.annual_revenue", ContactField::CompanyAnnualRevenue),
    ("company.country", ContactField::CompanyCountry),
];

impl Namespace for ContactFields {
    type Field = ContactField;
    type Subject<'s> = Prospect<'s>;

    fn parse(name: &str) -> Option<ContactField> {
        if let Some(key) = name.strip_prefix("company.custom.") {
            return crate::custom_field::valid_key(key).then(|| ContactField::CompanyCustom(key.to_string()));
        }
        if let Some(key) = name.strip_prefix("custom.") {
            return crate::custom_field::valid_key(key).then(|| ContactField::Custom(key.to_string()));
        }
        CONTACT_FIELDS.iter().find(|(n, _)| *n == name).map(|(_, f)| f.clone())
    }

    fn known() -> &'static str {
        "email, email_domain, first_name, last_name, phone, job_title, country, city, source, campaign, \
         last_touch_source, last_touch_campaign, external_id, do_not_email, do_not_call, custom.<key>, \
         company.name, company.domain, company.sector, company.employees, company.annual_revenue, \
         company.country, company.custom.<key>"
    }

    fn value<'s>(field: &ContactField, p: &Self::Subject<'s>) -> FieldValue<'s> {
        let c = p.contact;
        let company = p.company;
        match field {
            ContactField::Email => FieldValue::text(c.email.as_ref().map(|e| e.as_str())),
            ContactField::EmailDomain => {
                c.email.as_ref().map_or(FieldValue::Missing, |e| FieldValue::Text(Cow::Owned(e.domain())))
            }
            ContactField::FirstName => FieldValue::text(c.first_name.as_deref()),
            ContactField::LastName => FieldValue::text(c.last_name.as_deref()),
            ContactField::Phone => FieldValue::text(c.phone.as_deref()),
            ContactField::JobTitle => FieldValue::text(c.job_title.as_deref()),
            ContactField::Country => FieldValue::text(c.country.as_deref()),
            ContactField::City => FieldValue::text(c.city.as_deref()),
            ContactField::Source => FieldValue::text(c.source.as_deref()),
            ContactField::Campaign => FieldValue::text(c.campaign.as_deref()),
            ContactField::LastTouchSource => FieldValue::text(c.last_touch_source.as_deref()),
            ContactField::LastTouchCampaign => FieldValue::text(c.last_touch_campaign.as_deref()),
            ContactField::ExternalId => FieldValue::text(c.external_id.as_deref()),
            ContactField::DoNotEmail => FieldValue::Bool(c.do_not_email),
            ContactField::DoNotCall => FieldValue::Bool(c.do_not_call),
            ContactField::Custom(key) => c.custom.get(key).map_or(FieldValue::Missing, FieldValue::from_json),
            ContactField::CompanyName => FieldValue::text(company.map(|co| co.name.as_str())),
            ContactField::CompanyDomain => FieldValue::text(company.and_then(|co| co.domain.as_deref())),
            ContactField::CompanySector => FieldValue::text(company.and_then(|co| co.sector.as_deref())),
            ContactField::CompanyEmployees => company
                .and_then(|co| co.employees)
                .map_or(FieldValue::Missing, |n| FieldValue::Number(n as f64)),
            ContactField::CompanyAnnualRevenue => {
                company.and_then(|co| co.annual_revenue).map_or(FieldValue::Missing, FieldValue::Number)
            }
            ContactField::CompanyCountry => FieldValue::text(company.and_then(|co| co.country.as_deref())),
            ContactField::CompanyCustom(key) => {
                company.and_then(|co| co.custom.get(key)).map_or(FieldValue::Missing, FieldValue::from_json)
            }
        }
    }
}

/// A field of an event.
#[derive(Debug, Clone, PartialEq)]
pub enum EventField {
    Kind,
    Source,
    Campaign,
    /// A top-level key of the event's properties (`property.url`).
    Property(String),
}

/// Event fields.
#[derive(Debug, Clone)]
pub struct EventFields;

impl Namespace for EventFields {
    type Field = EventField;
    type Subject<'s> = &'s Event;

    fn parse(name: &str) -> Option<EventField> {
        match name {
            "kind" => Some(EventField::Kind),
            "source" => Some(EventField::Source),
            "campaign" => Some(EventField::Campaign),
            _ => name
                .strip_prefix("property.")
                .filter(|k| !k.is_empty() && k.len() <= 100)
                .map(|k| EventField::Property(k.to_string())),
        }
    }

    fn known() -> &'static str {
        "kind, source, campaign, property.<key> (e.g. property.url)"
    }

    fn value<'s>(field: &EventField, e: &Self::Subject<'s>) -> FieldValue<'s> {
        let e: &'s Event = e;
        match field {
            EventField::Kind => FieldValue::Text(Cow::Borrowed(e.kind.as_str())),
            EventField::Source => FieldValue::text(e.source.as_deref()),
            EventField::Campaign => FieldValue::text(e.campaign.as_deref()),
            EventField::Property(key) => {
                e.properties.get(key).map_or(FieldValue::Missing, FieldValue::from_json)
            }
        }
    }
}

//! Deals: what they hold, how a new one and a change are checked, and how a deal moves.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::PipelineSettings;
use crate::ids::{CompanyId, ContactId, DealId, UserId};
use crate::patch::Patch;
use crate::validation::ValidationErrors;

/// The longest stage key.
pub const MAX_STAGE_KEY: usize = 31;

/// A deal's stage: `won`, `lost`, or one of the pipeline's open stages. The open stages are the
/// team's ([`PipelineSettings::stages`]); the reference process's five (DESIGN §9) are the
/// default. A stage is named by a short key (lower-case letters, digits and `_`, starting with a
/// letter) held inline, so a stage is copied like a number and compared like one: the built-in
/// keys below can be matched on.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DealStage {
    len: u8,
    bytes: [u8; MAX_STAGE_KEY],
}

/// Why a text is not a stage key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadStageKey;

impl fmt::Display for BadStageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a stage key is 1 to {MAX_STAGE_KEY} lower-case letters, digits or `_`, starting with a letter (e.g. demo_done)"
        )
    }
}

impl DealStage {
    pub const AWARENESS: DealStage = DealStage::built_in("awareness");
    pub const FIRST_CONTACT: DealStage = DealStage::built_in("first_contact");
    pub const QUALIFICATION: DealStage = DealStage::built_in("qualification");
    /// A tailored proposal was sent.
    pub const PROPOSAL: DealStage = DealStage::built_in("proposal");
    pub const NEGOTIATION: DealStage = DealStage::built_in("negotiation");
    /// Signed.
    pub const WON: DealStage = DealStage::built_in("won");
    pub const LOST: DealStage = DealStage::built_in("lost");

    /// The reference process's open stages, in order: a new pipeline's.
    pub const REFERENCE: [DealStage; 5] = [
        DealStage::AWARENESS,
        DealStage::FIRST_CONTACT,
        DealStage::QUALIFICATION,
        DealStage::PROPOSAL,
        DealStage::NEGOTIATION,
    ];

    /// The stages a deal closes in.
    pub const CLOSED: [DealStage; 2] = [DealStage::WON, DealStage::LOST];

    const fn built_in(key: &str) -> DealStage {
        match DealStage::from_key(key) {
            Ok(s) => s,
            Err(_) => panic!("a built-in stage key is a valid key"),
        }
    }

    const fn from_key(key: &str) -> Result<DealStage, BadStageKey> {
        let k = key.as_bytes();
        if k.is_empty() || k.len() > MAX_STAGE_KEY || !k[0].is_ascii_lowercase() {
            return Err(BadStageKey);
        }
        let mut bytes = [0u8; MAX_STAGE_KEY];
        let mut i = 0;
        while i < k.len() {
            let b = k[i];
            if !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
                return Err(BadStageKey);
            }
            bytes[i] = b;
            i += 1;
        }
        Ok(DealStage { len: k.len() as u8, bytes })
    }

    pub fn as_str(&self) -> &str {
        // Only checked ASCII is ever stored.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }

    /// The stage a key names (whether the pipeline has it is the settings' business).
    pub fn parse(s: &str) -> Option<DealStage> {
        DealStage::from_key(s).ok()
    }

    /// Reads the stage names other CRMs export: a key as it is (`Demo done` is `demo_done`),
    /// and common names of the reference stages (`Prospecting`, `Engaging`, `Closed Won`,
    /// `Signature`…). Whether the pipeline has the stage is checked by the import.
    pub fn from_export(s: &str) -> Option<DealStage> {
        if !s.chars().any(char::is_alphanumeric) {
            return None; // `field_key` would name it `column`
        }
        let k = crate::import::field_key(s);
        Some(match k.as_str() {
            "prospecting" | "prospect" | "lead" | "new" => DealStage::FIRST_CONTACT,
            "engaging" | "engaged" | "discovery" | "qualified" => DealStage::QUALIFICATION,
            "tailored_proposal" | "proposal_price_quote" | "quote" | "devis" => DealStage::PROPOSAL,
            "negociation" => DealStage::NEGOTIATION,
            "closed_won" | "signature" | "signed" | "gagne" => DealStage::WON,
            "closed_lost" | "perdu" => DealStage::LOST,
            _ => return DealStage::parse(&k),
        })
    }

    pub fn is_closed(self) -> bool {
        DealStage::CLOSED.contains(&self)
    }
}

impl fmt::Debug for DealStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for DealStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for DealStage {
    type Err = BadStageKey;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DealStage::from_key(s)
    }
}

impl Serialize for DealStage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for DealStage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for DealStage {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[a-z][a-z0-9_]{0,30}$"))
            .description(Some(
                "`won`, `lost`, or one of the pipeline's open stages (by default awareness, \
                 first_contact, qualification, proposal, negotiation; see the pipeline settings)",
            ))
            .examples(["proposal", "won"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for DealStage {}

/// The part a contact plays in a deal's purchase (the buying group).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ContactRole {
    /// Decides and signs.
    DecisionMaker,
    /// Influences or prepares the decision without buying authority.
    Intermediary,
    /// Will use what is bought.
    User,
    Other,
}

impl ContactRole {
    pub const ALL: [ContactRole; 4] =
        [ContactRole::DecisionMaker, ContactRole::Intermediary, ContactRole::User, ContactRole::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            ContactRole::DecisionMaker => "decision_maker",
            ContactRole::Intermediary => "intermediary",
            ContactRole::User => "user",
            ContactRole::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<ContactRole> {
        ContactRole::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether winning the deal makes this contact a customer: the buyers do; an intermediary
    /// keeps its own stage (it still has no buying authority).
    pub fn buys(self) -> bool {
        !matches!(self, ContactRole::Intermediary)
    }
}

/// A contact taking part in a deal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DealContact {
    pub contact_id: ContactId,
    pub role: ContactRole,
}

/// A deal as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deal {
    pub id: DealId,
    /// Its id in the system it was imported from.
    pub external_id: Option<String>,
    pub name: String,
    pub company_id: Option<CompanyId>,
    pub stage: DealStage,
    /// When it entered its current stage.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub stage_changed_at: Timestamp,
    /// The rep in charge.
    pub owner_id: Option<UserId>,
    /// The rep in charge as the source system named them (imported deals).
    pub owner_name: Option<String>,
    pub product: Option<String>,
    pub value: Option<f64>,
    /// ISO 4217 code of the value.
    pub currency: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub expected_close_on: Option<Date>,
    /// When the conversation started (imported deals: the source's engage date).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub engaged_on: Option<Date>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub closed_on: Option<Date>,
    /// Why it was lost, one of the pipeline's reasons.
    pub lost_reason: Option<String>,
    /// Where the business came from (the first contact's source, unless given).
    pub source: Option<String>,
    pub campaign: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub custom: Map<String, Value>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

impl Deal {
    /// A closed deal's sales cycle in days: from the engage date (else the day it was created,
    /// UTC) to the close date. Kept with the deal so reports group by it without date arithmetic.
    pub fn cycle_days(&self) -> Option<i64> {
        let closed = self.closed_on?;
        let started =
            self.engaged_on.unwrap_or_else(|| jiff::tz::Offset::UTC.to_datetime(self.created_at).date());
        started.until(closed).ok().map(|span| span.get_days() as i64)
    }
}

/// The most contacts one deal may list.
pub const MAX_DEAL_CONTACTS: usize = 50;
/// The largest value a deal may have (a trillion: a typo, not a deal, beyond).
pub const MAX_DEAL_VALUE: f64 = 1e12;

/// A new deal as the API and the UI send it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DealDraft {
    /// What is being sold to whom, e.g. "Acme — 40 licences".
    pub name: String,
    pub company_id: Option<CompanyId>,
    /// The contacts taking part, with their role; the first one's source and campaign become
    /// the deal's unless given.
    #[serde(default)]
    pub contacts: Vec<DealContact>,
    /// Default: first contact, or the pipeline's first stage when it has no first contact.
    pub stage: Option<DealStage>,
    pub value: Option<f64>,
    /// Default: the pipeline's currency.
    pub currency: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub expected_close_on: Option<Date>,
    /// The rep in charge. Default: a rep creating it; otherwise the rep the lead is assigned to.
    pub owner_id: Option<UserId>,
    pub product: Option<String>,
    pub source: Option<String>,
    pub campaign: Option<String>,
}

/// A checked new deal.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDeal {
    pub name: String,
    pub company_id: Option<CompanyId>,
    pub contacts: Vec<DealContact>,
    pub stage: DealStage,
    pub value: Option<f64>,
    pub currency: String,
    pub expected_close_on: Option<Date>,
    pub owner_id: Option<UserId>,
    pub product: Option<String>,
    pub source: Option<String>,
    pub campaign: Option<String>,
}

fn check_value(errors: &mut ValidationErrors, value: Option<f64>) {
    if let Some(v) = value
        && !(v.is_finite() && (0.0..=MAX_DEAL_VALUE).contains(&v))
    {
        errors.add("value", "must be a number from 0 to 1,000,000,000,000");
    }
}

fn check_currency(errors: &mut ValidationErrors, currency: Option<&str>) {
    if let Some(c) = currency
        && !super::settings::valid_currency(c)
    {
        errors.add("currency", "must be a three-letter ISO 4217 code such as EUR or USD");
    }
}

fn check_close_date(errors: &mut ValidationErrors, date: Option<Date>) {
    if let Some(d) = date
        && !(2000..=2100).contains(&d.year())
    {
        errors.add("expected_close_on", "must be a date between the years 2000 and 2100");
    }
}

fn optional_text(
    errors: &mut ValidationErrors,
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Option<String> {
    let v = value.map(str::trim).filter(|v| !v.is_empty())?;
    errors.check_text(field, v, 1, max);
    Some(v.to_string())
}

impl DealDraft {
    /// Checks every field at once; a deal is created open.
    pub fn validate(self, settings: &PipelineSettings) -> Result<NewDeal, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        errors.check_text("name", &self.name, 1, 200);
        let stage = self.stage.unwrap_or_else(|| settings.entry_stage());
        if stage.is_closed() {
            errors.add("stage", "a deal is created open: create it, then move it to won or lost");
        } else if !settings.has(stage) {
            errors.add("stage", unknown_stage(stage, settings));
        }
        check_value(&mut errors, self.value);
        check_currency(&mut errors, self.currency.as_deref());
        check_close_date(&mut errors, self.expected_close_on);
        let product = optional_text(&mut errors, "product", self.product.as_deref(), 200);
        let source = optional_text(&mut errors, "source", self.source.as_deref(), 200);
        let campaign = optional_text(&mut errors, "campaign", self.campaign.as_deref(), 200);
        check_contacts(&mut errors, &self.contacts);
        errors.into_result(NewDeal {
            name: self.name.trim().to_string(),
            company_id: self.company_id,
            contacts: self.contacts,
            stage,
            value: self.value,
            currency: self.currency.unwrap_or_else(|| settings.currency.clone()),
            expected_close_on: self.expected_close_on,
            owner_id: self.owner_id,
            product,
            source,
            campaign,
        })
    }
}

/// Why a deal cannot be in `stage`.
fn unknown_stage(stage: DealStage, settings: &PipelineSettings) -> String {
    format!("`{stage}` is not a stage of the pipeline: one of {}", settings.stage_list())
}

/// A deal's contacts: at most [`MAX_DEAL_CONTACTS`], each once.
pub fn check_contacts(errors: &mut ValidationErrors, contacts: &[DealContact]) {
    if contacts.len() > MAX_DEAL_CONTACTS {
        errors.add("contacts", format!("list at most {MAX_DEAL_CONTACTS} contacts"));
        return;
    }
    let mut seen = std::collections::HashSet::new();
    for (i, c) in contacts.iter().enumerate() {
        if !seen.insert(c.contact_id) {
            errors.add(format!("contacts[{i}].contact_id"), "is listed twice");
        }
    }
}

/// Changes to a deal; absent fields stay, `null` clears. The stage changes by a move.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DealPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<CompanyId>))]
    pub company_id: Patch<CompanyId>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    pub value: Patch<f64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub expected_close_on: Patch<Date>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<UserId>))]
    pub owner_id: Patch<UserId>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub product: Patch<String>,
    /// Replaces the deal's contacts.
    #[serde(default)]
    pub contacts: Option<Vec<DealContact>>,
}

impl DealPatch {
    /// Applies the changes to `deal` (and its `contacts`), checking every field at once.
    pub fn apply(self, deal: &mut Deal, contacts: &mut Vec<DealContact>) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if let Some(name) = &self.name {
            errors.check_text("name", name, 1, 200);
        }
        if let Patch::Set(v) = self.value {
            check_value(&mut errors, Some(v));
        }
        check_currency(&mut errors, self.currency.as_deref());
        if let Patch::Set(d) = self.expected_close_on {
            check_close_date(&mut errors, Some(d));
        }
        if let Patch::Set(p) = &self.product {
            errors.check_text("product", p, 1, 200);
        }
        if let Some(c) = &self.contacts {
            check_contacts(&mut errors, c);
        }
        errors.into_result(())?;
        if let Some(name) = self.name {
            deal.name = name.trim().to_string();
        }
        deal.company_id = self.company_id.apply(deal.company_id);
        deal.value = self.value.apply(deal.value);
        if let Some(c) = self.currency {
            deal.currency = c;
        }
        deal.expected_close_on = self.expected_close_on.apply(deal.expected_close_on);
        deal.owner_id = self.owner_id.apply(deal.owner_id);
        deal.product = self.product.apply(deal.product.take()).map(|p| p.trim().to_string());
        if let Some(c) = self.contacts {
            *contacts = c;
        }
        Ok(())
    }
}

/// A move of a deal to another stage.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DealMove {
    pub to: DealStage,
    /// Required to lose a deal: one of the pipeline's lost reasons.
    pub lost_reason: Option<String>,
    /// Why, in a few words (kept with the change).
    pub note: Option<String>,
    /// On a loss: send its contacts back to nurturing (those at the opportunity stage with no
    /// other open deal). Default false.
    #[serde(default)]
    pub nurture: bool,
}

/// A recorded change of a deal's stage. History is append-only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageChange {
    pub deal_id: DealId,
    /// `None` when the deal was created.
    pub from: Option<DealStage>,
    pub to: DealStage,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// Who moved it (`None`: an import).
    pub user_id: Option<UserId>,
    pub lost_reason: Option<String>,
    pub note: Option<String>,
}

impl DealMove {
    /// Checks the move of a deal now in `from`: to another stage; a loss with one of the
    /// pipeline's reasons (the configured spelling is kept). Returns the reason to record.
    pub fn check(
        &self,
        from: DealStage,
        settings: &PipelineSettings,
    ) -> Result<Option<String>, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if self.to == from {
            errors.add("to", format!("the deal is already in the {from} stage"));
        } else if !settings.has(self.to) {
            errors.add("to", unknown_stage(self.to, settings));
        }
        if let Some(note) = &self.note {
            errors.check_text("note", note, 0, 500);
        }
        let reason = match (self.to, self.lost_reason.as_deref().map(str::trim).filter(|r| !r.is_empty())) {
            (DealStage::LOST, None) => {
                errors.add(
                    "lost_reason",
                    format!("say why it was lost: one of {}", settings.lost_reasons.join(", ")),
                );
                None
            }
            (DealStage::LOST, Some(given)) => match settings.lost_reason(given) {
                Some(r) => Some(r.to_string()),
                None => {
                    errors.add(
                        "lost_reason",
                        format!(
                            "`{given}` is not one of the pipeline's reasons: {}",
                            settings.lost_reasons.join(", ")
                        ),
                    );
                    None
                }
            },
            (_, Some(_)) => {
                errors.add("lost_reason", "only a lost deal has a lost reason");
                None
            }
            (_, None) => None,
        };
        errors.into_result(reason)
    }
}

/// Whether an open deal is rotting: nothing happened to it (no stage change, no activity of its
/// contacts) for the pipeline's rotting days.
pub fn is_rotting(
    deal: &Deal,
    last_activity: Option<Timestamp>,
    settings: &PipelineSettings,
    now: Timestamp,
) -> bool {
    if deal.stage.is_closed() {
        return false;
    }
    let last = last_activity.map_or(deal.stage_changed_at, |a| a.max(deal.stage_changed_at));
    now.duration_since(last) > jiff::SignedDuration::from_hours(24 * i64::from(settings.rotting_days))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exported_stage_names_are_read() {
        assert_eq!(DealStage::from_export("Prospecting"), Some(DealStage::FIRST_CONTACT));
        assert_eq!(DealStage::from_export("Engaging"), Some(DealStage::QUALIFICATION));
        assert_eq!(DealStage::from_export("Won"), Some(DealStage::WON));
        assert_eq!(DealStage::from_export("Closed Lost"), Some(DealStage::LOST));
        assert_eq!(DealStage::from_export("first_contact"), Some(DealStage::FIRST_CONTACT));
        assert_eq!(DealStage::from_export("Demo done"), DealStage::parse("demo_done"));
        assert_eq!(DealStage::from_export("???"), None);
        assert_eq!(DealStage::from_export("2nd call"), DealStage::parse("f_2nd_call"), "as a field key");
    }

    fn settings() -> PipelineSettings {
        PipelineSettings::default()
    }

    #[test]
    fn a_new_deal_is_checked_whole_and_gets_the_defaults() {
        let ok =
            DealDraft { name: " Acme — 40 seats ".into(), value: Some(12_000.0), ..Default::default() }
                .validate(&settings())
                .unwrap();
        assert_eq!(
            (ok.name.as_str(), ok.stage, ok.currency.as_str()),
            ("Acme — 40 seats", DealStage::FIRST_CONTACT, "EUR")
        );
        let c = ContactId(uuid::Uuid::nil());
        let bad = DealDraft {
            name: "".into(),
            stage: Some(DealStage::WON),
            value: Some(-1.0),
            currency: Some("eur".into()),
            expected_close_on: Some(jiff::civil::date(1999, 12, 31)),
            contacts: vec![
                DealContact { contact_id: c, role: ContactRole::DecisionMaker },
                DealContact { contact_id: c, role: ContactRole::User },
            ],
            ..Default::default()
        };
        let e = bad.validate(&settings()).unwrap_err();
        let fields: Vec<&str> = e.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["name", "stage", "value", "currency", "expected_close_on", "contacts[1].contact_id"]
        );
        let demo = DealDraft { name: "x".into(), stage: DealStage::parse("demo"), ..Default::default() };
        let e = demo.validate(&settings()).unwrap_err().to_string();
        assert!(e.contains("`demo` is not a stage of the pipeline: one of awareness,"), "{e}");
        let nan = DealDraft { name: "x".into(), value: Some(f64::NAN), ..Default::default() };
        assert!(nan.validate(&settings()).is_err());
    }

    #[test]
    fn a_loss_needs_one_of_the_pipelines_reasons_and_nothing_else_has_one() {
        let s = settings();
        let lose = |reason: Option<&str>| DealMove {
            to: DealStage::LOST,
            lost_reason: reason.map(String::from),
            note: None,
            nurture: false,
        };
        assert_eq!(
            lose(Some("Competitor")).check(DealStage::PROPOSAL, &s).unwrap(),
            Some("competitor".into())
        );
        assert!(lose(None).check(DealStage::PROPOSAL, &s).unwrap_err().to_string().contains("price"));
        assert!(lose(Some("bad luck")).check(DealStage::PROPOSAL, &s).is_err());
        let win =
            DealMove { to: DealStage::WON, lost_reason: Some("price".into()), note: None, nurture: false };
        assert!(win.check(DealStage::NEGOTIATION, &s).is_err());
        let same = DealMove { to: DealStage::PROPOSAL, lost_reason: None, note: None, nurture: false };
        assert!(same.check(DealStage::PROPOSAL, &s).unwrap_err().to_string().contains("already"));
        // Moving back, and reopening a closed deal, are moves like any other.
        let back = DealMove {
            to: DealStage::QUALIFICATION,
            lost_reason: None,
            note: Some("budget review".into()),
            nurture: false,
        };
        assert_eq!(back.check(DealStage::WON, &s).unwrap(), None);
        let nowhere = DealMove { to: DealStage::parse("demo").unwrap(), ..back };
        assert!(nowhere.check(DealStage::WON, &s).unwrap_err().to_string().contains("not a stage"));
    }

    #[test]
    fn an_open_deal_rots_after_the_pipelines_days_without_anything_happening() {
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let deal = Deal {
            id: DealId(uuid::Uuid::nil()),
            external_id: None,
            name: "x".into(),
            company_id: None,
            stage: DealStage::PROPOSAL,
            stage_changed_at: t0,
            owner_id: None,
            owner_name: None,
            product: None,
            value: None,
            currency: "EUR".into(),
            expected_close_on: None,
            engaged_on: None,
            closed_on: None,
            lost_reason: None,
            source: None,
            campaign: None,
            custom: Map::new(),
            created_at: t0,
            updated_at: t0,
        };
        let s = settings();
        let day = |n: i64| t0 + jiff::SignedDuration::from_hours(24 * n);
        assert!(!is_rotting(&deal, None, &s, day(14)));
        assert!(is_rotting(&deal, None, &s, day(15)));
        assert!(!is_rotting(&deal, Some(day(10)), &s, day(15)), "its contacts were active");
        let won = Deal { stage: DealStage::WON, ..deal.clone() };
        assert!(!is_rotting(&won, None, &s, day(100)));

        // Its cycle: from the engage date, else the creation day, to the close; open: none.
        assert_eq!(deal.cycle_days(), None);
        let closed = Deal { closed_on: Some(jiff::civil::date(2026, 3, 2)), ..deal.clone() };
        assert_eq!(closed.cycle_days(), Some(60));
        let engaged = Deal { engaged_on: Some(jiff::civil::date(2025, 12, 31)), ..closed };
        assert_eq!(engaged.cycle_days(), Some(61));
    }
}

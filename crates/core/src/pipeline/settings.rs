//! How the team runs its pipeline: each stage's win probability (for the weighted forecast),
//! the reasons a deal can be lost, when an untouched deal is flagged as rotting, the currency
//! of values. Kept in the workspace's settings; every field has a default from the reference
//! process, so a new workspace needs no configuration.

use serde::{Deserialize, Serialize};

use super::DealStage;
use crate::validation::{ValidationErrors, is_plain_text};

/// The pipeline's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PipelineSettings {
    /// Win probability of an open deal in each stage, in percent (0–100), in stage order.
    pub probabilities: StageProbabilities,
    /// The reasons a lost deal must give one of.
    pub lost_reasons: Vec<String>,
    /// An open deal with no stage change and no activity for this many days is rotting.
    pub rotting_days: u32,
    /// The currency of deal values when a deal names none (ISO 4217, e.g. EUR).
    pub currency: String,
}

/// Win probabilities per open stage, in percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StageProbabilities {
    pub awareness: u8,
    pub first_contact: u8,
    pub qualification: u8,
    pub proposal: u8,
    pub negotiation: u8,
}

impl Default for PipelineSettings {
    /// Probabilities rising through the reference stages; the usual reasons deals are lost.
    fn default() -> Self {
        PipelineSettings {
            probabilities: StageProbabilities {
                awareness: 5,
                first_contact: 10,
                qualification: 25,
                proposal: 50,
                negotiation: 75,
            },
            lost_reasons: [
                "price",
                "competitor",
                "no budget",
                "no decision",
                "timing",
                "no response",
                "other",
            ]
            .map(String::from)
            .to_vec(),
            rotting_days: 14,
            currency: "EUR".into(),
        }
    }
}

/// The most reasons a pipeline may list.
pub const MAX_LOST_REASONS: usize = 50;

impl PipelineSettings {
    /// The win probability of a deal in `stage`, in percent: won is 100, lost 0.
    pub fn probability(&self, stage: DealStage) -> u8 {
        let p = &self.probabilities;
        match stage {
            DealStage::Awareness => p.awareness,
            DealStage::FirstContact => p.first_contact,
            DealStage::Qualification => p.qualification,
            DealStage::Proposal => p.proposal,
            DealStage::Negotiation => p.negotiation,
            DealStage::Won => 100,
            DealStage::Lost => 0,
        }
    }

    /// The reason among the configured ones that `given` names (case and accents aside).
    pub fn lost_reason(&self, given: &str) -> Option<&str> {
        let key = crate::text::fold(given.trim());
        self.lost_reasons.iter().find(|r| crate::text::fold(r) == key).map(String::as_str)
    }

    /// Checks every field at once.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        for (name, p) in [
            ("awareness", self.probabilities.awareness),
            ("first_contact", self.probabilities.first_contact),
            ("qualification", self.probabilities.qualification),
            ("proposal", self.probabilities.proposal),
            ("negotiation", self.probabilities.negotiation),
        ] {
            if p > 100 {
                errors.add(format!("probabilities.{name}"), "must be a percentage from 0 to 100");
            }
        }
        if self.lost_reasons.is_empty() {
            errors.add("lost_reasons", "list at least one reason (e.g. other)");
        }
        if self.lost_reasons.len() > MAX_LOST_REASONS {
            errors.add("lost_reasons", format!("list at most {MAX_LOST_REASONS} reasons"));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, r) in self.lost_reasons.iter().enumerate() {
            if r.trim().is_empty() || r.chars().count() > 100 || !is_plain_text(r) {
                errors.add(format!("lost_reasons[{i}]"), "must be plain text of 1 to 100 characters");
            } else if !seen.insert(crate::text::fold(r)) {
                errors.add(format!("lost_reasons[{i}]"), format!("`{r}` is listed twice"));
            }
        }
        if !(1..=365).contains(&self.rotting_days) {
            errors.add("rotting_days", "must be 1 to 365 days");
        }
        if !valid_currency(&self.currency) {
            errors.add("currency", "must be a three-letter ISO 4217 code such as EUR or USD");
        }
        errors.into_result(())
    }
}

/// Three capital letters (ISO 4217's shape; the list itself changes too often to ship).
pub fn valid_currency(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_rise_through_the_stages() {
        let s = PipelineSettings::default();
        s.validate().unwrap();
        let open: Vec<u8> = DealStage::OPEN.iter().map(|d| s.probability(*d)).collect();
        assert!(open.windows(2).all(|w| w[0] <= w[1]), "{open:?}");
        assert_eq!((s.probability(DealStage::Won), s.probability(DealStage::Lost)), (100, 0));
        assert_eq!(s.lost_reason("Compétitor"), Some("competitor"));
        assert_eq!(s.lost_reason("bad luck"), None);
        assert_eq!(s.lost_reason(" PRICE "), Some("price"));
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut s = PipelineSettings::default();
        s.probabilities.proposal = 101;
        s.lost_reasons = vec!["price".into(), "Price".into(), "".into()];
        s.rotting_days = 0;
        s.currency = "euro".into();
        let e = s.validate().unwrap_err();
        let fields: Vec<&str> = e.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["probabilities.proposal", "lost_reasons[1]", "lost_reasons[2]", "rotting_days", "currency"]
        );
    }
}

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
    /// The open stages a deal goes through, in order, each with its win probability; won and
    /// lost follow them. A stage can be renamed, added, reordered, or removed once no open deal
    /// is in it.
    pub stages: Vec<StageSetting>,
    /// The reasons a lost deal must give one of.
    pub lost_reasons: Vec<String>,
    /// An open deal with no stage change and no activity for this many days is rotting.
    pub rotting_days: u32,
    /// The currency of deal values when a deal names none (ISO 4217, e.g. EUR).
    pub currency: String,
}

/// One open stage of the pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StageSetting {
    /// What deals and their history record; it never changes once used.
    pub key: DealStage,
    /// The name people see. Default: the reference stage's name in the reader's language, or
    /// the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Win probability of a deal in this stage, in percent (0–100), for the weighted forecast.
    pub probability: u8,
}

impl Default for PipelineSettings {
    /// The reference stages with rising probabilities; the usual reasons deals are lost.
    fn default() -> Self {
        let stage = |key, probability| StageSetting { key, name: None, probability };
        PipelineSettings {
            stages: vec![
                stage(DealStage::AWARENESS, 5),
                stage(DealStage::FIRST_CONTACT, 10),
                stage(DealStage::QUALIFICATION, 25),
                stage(DealStage::PROPOSAL, 50),
                stage(DealStage::NEGOTIATION, 75),
            ],
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

/// Settings as stored before stages were configurable: one probability per reference stage.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredBeforeStages {
    probabilities: std::collections::BTreeMap<String, u8>,
    lost_reasons: Vec<String>,
    rotting_days: u32,
    currency: String,
}

/// The most open stages a pipeline may have.
pub const MAX_STAGES: usize = 20;

/// The most reasons a pipeline may list.
pub const MAX_LOST_REASONS: usize = 50;

impl PipelineSettings {
    /// Reads settings as stored, in the current shape or the one before stages were
    /// configurable (the reference stages, in order, with the probabilities then set).
    pub fn from_stored(text: &str) -> Result<PipelineSettings, serde_json::Error> {
        serde_json::from_str(text).or_else(|current| match serde_json::from_str::<StoredBeforeStages>(text) {
            Ok(old) => Ok(PipelineSettings {
                stages: DealStage::REFERENCE
                    .iter()
                    .zip(PipelineSettings::default().stages)
                    .map(|(key, default)| StageSetting {
                        probability: old
                            .probabilities
                            .get(key.as_str())
                            .copied()
                            .unwrap_or(default.probability),
                        ..default
                    })
                    .collect(),
                lost_reasons: old.lost_reasons,
                rotting_days: old.rotting_days,
                currency: old.currency,
            }),
            Err(_) => Err(current),
        })
    }

    /// The open stage `key` names, if the pipeline has it.
    pub fn stage(&self, key: DealStage) -> Option<&StageSetting> {
        self.stages.iter().find(|s| s.key == key)
    }

    /// The open stages' keys, in order.
    pub fn open_stages(&self) -> Vec<DealStage> {
        self.stages.iter().map(|s| s.key).collect()
    }

    /// Whether a deal may be in `stage`: one of the open stages, won or lost.
    pub fn has(&self, stage: DealStage) -> bool {
        stage.is_closed() || self.stage(stage).is_some()
    }

    /// Where a new deal starts: first contact when the pipeline has it (the reference process
    /// keeps awareness for marketing's early deals), else its first stage.
    pub fn entry_stage(&self) -> DealStage {
        match self.stage(DealStage::FIRST_CONTACT) {
            Some(s) => s.key,
            None => self.stages.first().map_or(DealStage::FIRST_CONTACT, |s| s.key),
        }
    }

    /// The stages a deal may be in, for messages: `awareness, …, won, lost`.
    pub fn stage_list(&self) -> String {
        let mut keys: Vec<&str> = self.stages.iter().map(|s| s.key.as_str()).collect();
        keys.extend(DealStage::CLOSED.iter().map(|s| s.as_str()));
        keys.join(", ")
    }

    /// The win probability of a deal in `stage`, in percent: won is 100, lost 0, a stage the
    /// pipeline no longer has 0.
    pub fn probability(&self, stage: DealStage) -> u8 {
        match stage {
            DealStage::WON => 100,
            DealStage::LOST => 0,
            _ => self.stage(stage).map_or(0, |s| s.probability),
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
        if self.stages.is_empty() {
            errors.add("stages", "list at least one open stage (e.g. qualification)");
        }
        if self.stages.len() > MAX_STAGES {
            errors.add("stages", format!("list at most {MAX_STAGES} open stages"));
        }
        let mut keys = std::collections::HashSet::new();
        for (i, stage) in self.stages.iter().enumerate() {
            if stage.key.is_closed() {
                errors.add(
                    format!("stages[{i}].key"),
                    format!("`{}` closes a deal and always follows the open stages", stage.key),
                );
            } else if !keys.insert(stage.key) {
                errors.add(format!("stages[{i}].key"), format!("`{}` is listed twice", stage.key));
            }
            if let Some(name) = &stage.name
                && (name.trim().is_empty() || name.chars().count() > 60 || !is_plain_text(name))
            {
                errors.add(format!("stages[{i}].name"), "must be plain text of 1 to 60 characters");
            }
            if stage.probability > 100 {
                errors.add(format!("stages[{i}].probability"), "must be a percentage from 0 to 100");
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
        let open: Vec<u8> = DealStage::REFERENCE.iter().map(|d| s.probability(*d)).collect();
        assert!(open.windows(2).all(|w| w[0] <= w[1]), "{open:?}");
        assert_eq!((s.probability(DealStage::WON), s.probability(DealStage::LOST)), (100, 0));
        assert_eq!(s.lost_reason("Compétitor"), Some("competitor"));
        assert_eq!(s.lost_reason("bad luck"), None);
        assert_eq!(s.lost_reason(" PRICE "), Some("price"));
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut s = PipelineSettings::default();
        s.stages[3].probability = 101;
        s.stages[1].key = DealStage::WON;
        s.stages[2].key = DealStage::AWARENESS;
        s.stages[4].name = Some(" ".into());
        s.lost_reasons = vec!["price".into(), "Price".into(), "".into()];
        s.rotting_days = 0;
        s.currency = "euro".into();
        let e = s.validate().unwrap_err();
        let fields: Vec<&str> = e.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "stages[1].key",
                "stages[2].key",
                "stages[3].probability",
                "stages[4].name",
                "lost_reasons[1]",
                "lost_reasons[2]",
                "rotting_days",
                "currency"
            ]
        );
        let none = PipelineSettings { stages: Vec::new(), ..PipelineSettings::default() };
        assert_eq!(none.validate().unwrap_err().errors[0].field, "stages");
    }

    #[test]
    fn settings_stored_before_stages_were_configurable_keep_their_probabilities() {
        let old = r#"{"probabilities":{"awareness":1,"first_contact":2,"qualification":3,"proposal":4,"negotiation":99},
            "lost_reasons":["price"],"rotting_days":7,"currency":"USD"}"#;
        let s = PipelineSettings::from_stored(old).unwrap();
        assert_eq!(s.open_stages(), DealStage::REFERENCE);
        let p: Vec<u8> = s.stages.iter().map(|s| s.probability).collect();
        assert_eq!(p, [1, 2, 3, 4, 99]);
        assert_eq!((s.rotting_days, s.currency.as_str()), (7, "USD"));
        let current = serde_json::to_string(&PipelineSettings::default()).unwrap();
        assert_eq!(PipelineSettings::from_stored(&current).unwrap(), PipelineSettings::default());
        assert!(PipelineSettings::from_stored("{}").is_err());
    }

    #[test]
    fn a_team_pipeline_names_its_own_stages_and_a_new_deal_starts_at_the_first() {
        let demo = DealStage::parse("demo").unwrap();
        let s = PipelineSettings {
            stages: vec![
                StageSetting { key: demo, name: Some("Démo faite".into()), probability: 30 },
                StageSetting { key: DealStage::NEGOTIATION, name: None, probability: 70 },
            ],
            ..PipelineSettings::default()
        };
        s.validate().unwrap();
        assert_eq!(s.entry_stage(), demo);
        assert!(s.has(demo) && s.has(DealStage::WON) && !s.has(DealStage::PROPOSAL));
        assert_eq!((s.probability(demo), s.probability(DealStage::PROPOSAL)), (30, 0));
        assert_eq!(s.stage_list(), "demo, negotiation, won, lost");
        assert_eq!(PipelineSettings::default().entry_stage(), DealStage::FIRST_CONTACT);
    }
}

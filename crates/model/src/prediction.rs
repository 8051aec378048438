//! Using a trained model on a lead: its calibrated probability of converting, and the
//! factors that pushed it up or down, one per field ("Lead Source = Reference: +0.84"),
//! which add up exactly to the model's raw score. Feature-level contributions (a field's
//! one-hot, missing-indicator and value columns) are summed per field; by additivity the sum
//! is the field's exact share.
//!
//! A model is plain data (featurizer + fitted model + calibrator + training report) and
//! round-trips through JSON bit for bit; a file that does not hold together is refused at
//! load time so scoring never panics on it.

use serde::{Deserialize, Serialize};

use crate::calibration::Calibrator;
use crate::dataset::Value;
use crate::family::{Family, FittedModel};
use crate::features::{FeatureSpec, InputError};
use crate::gbdt::ShapScratch;
use crate::train::TrainingReport;

/// A field's share of one prediction, in log-odds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldContribution {
    pub field: String,
    /// The field's value as shown to the user: `Lead Source = Reference`,
    /// `TotalVisits = 5`, `Country is missing`.
    pub label: String,
    /// Positive pushes towards conversion.
    pub value: f64,
}

/// A scored and explained lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Calibrated probability of converting.
    pub probability: f64,
    /// The model's log-odds before calibration.
    pub raw_score: f64,
    /// Log-odds of a lead about which nothing is known (the training average).
    pub base_value: f64,
    /// Per used field, largest effect first; `base_value + Σ value == raw_score`.
    pub contributions: Vec<FieldContribution>,
}

/// A trained conversion model, ready to score leads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ModelParts")]
pub struct TrainedModel {
    spec: FeatureSpec,
    model: FittedModel,
    calibrator: Calibrator,
    report: TrainingReport,
}

/// Deserialised form, checked before it becomes a `TrainedModel`.
#[derive(Deserialize)]
struct ModelParts {
    spec: FeatureSpec,
    model: FittedModel,
    calibrator: Calibrator,
    report: TrainingReport,
}

/// A model file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    #[error("model file is not valid: {0}")]
    Format(#[from] serde_json::Error),
    #[error("model file does not hold together: {0}")]
    Inconsistent(String),
}

impl TryFrom<ModelParts> for TrainedModel {
    type Error = String;

    /// Each part checked itself when deserialised; what is left is that they fit together.
    fn try_from(parts: ModelParts) -> Result<TrainedModel, String> {
        if parts.model.feature_count() != parts.spec.features().len() {
            return Err(format!(
                "the model expects {} features but the featurizer makes {}",
                parts.model.feature_count(),
                parts.spec.features().len()
            ));
        }
        Ok(TrainedModel {
            spec: parts.spec,
            model: parts.model,
            calibrator: parts.calibrator,
            report: parts.report,
        })
    }
}

impl TrainedModel {
    pub(crate) fn new(
        spec: FeatureSpec,
        model: FittedModel,
        calibrator: Calibrator,
        report: TrainingReport,
    ) -> TrainedModel {
        TrainedModel { spec, model, calibrator, report }
    }

    pub fn family(&self) -> Family {
        self.model.family()
    }

    pub fn spec(&self) -> &FeatureSpec {
        &self.spec
    }

    pub fn model(&self) -> &FittedModel {
        &self.model
    }

    pub fn calibrator(&self) -> &Calibrator {
        &self.calibrator
    }

    pub fn report(&self) -> &TrainingReport {
        &self.report
    }

    /// Field names, in the order `predict` expects a lead's values.
    pub fn input_fields(&self) -> &[String] {
        self.spec.input_fields()
    }

    /// Score and explain one lead (values in [`TrainedModel::input_fields`] order).
    pub fn predict(&self, row: &[Value]) -> Result<Prediction, InputError> {
        let encoded = self.spec.encode_row(row)?;
        let mut phi = vec![0.0; encoded.len()];
        let base_value = match &self.model {
            FittedModel::Gbdt(gbdt) => {
                gbdt.contributions_with(&encoded, &mut phi, &mut ShapScratch::default())
            }
            FittedModel::Linear(_) => self.model.contributions(&encoded, &mut phi),
        };
        let raw_score = self.model.raw_score(&encoded);
        let mut contributions: Vec<FieldContribution> = self
            .spec
            .fields()
            .iter()
            .enumerate()
            .map(|(index, field)| FieldContribution {
                field: field.name.clone(),
                label: self.spec.describe(index, &row[field.input_index]),
                value: phi[field.first_feature..field.first_feature + field.feature_count].iter().sum(),
            })
            .collect();
        // Stable: equal effects keep field order.
        contributions.sort_by(|a, b| b.value.abs().total_cmp(&a.value.abs()));
        Ok(Prediction {
            probability: self.calibrator.probability(raw_score),
            raw_score,
            base_value,
            contributions,
        })
    }

    /// Per-feature contributions (aligned with `spec().features()`) and the base value.
    pub fn feature_contributions(&self, row: &[Value]) -> Result<(f64, Vec<f64>), InputError> {
        let encoded = self.spec.encode_row(row)?;
        let mut phi = vec![0.0; encoded.len()];
        let base = self.model.contributions(&encoded, &mut phi);
        Ok((base, phi))
    }

    /// Calibrated probability only, without explanation.
    pub fn predict_probability(&self, row: &[Value]) -> Result<f64, InputError> {
        self.scorer().probability(row)
    }

    /// A scorer that reuses its buffer across leads, for bulk scoring.
    pub fn scorer(&self) -> Scorer<'_> {
        Scorer { model: self, encoded: vec![0.0; self.spec.features().len()] }
    }

    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    pub fn from_json(json: &str) -> Result<TrainedModel, ModelFileError> {
        serde_json::from_str(json).map_err(|error| {
            if error.is_data() {
                ModelFileError::Inconsistent(error.to_string())
            } else {
                ModelFileError::Format(error)
            }
        })
    }
}

/// Bulk scoring without an allocation per lead.
pub struct Scorer<'a> {
    model: &'a TrainedModel,
    encoded: Vec<f64>,
}

impl Scorer<'_> {
    /// Calibrated probability of conversion for one lead.
    pub fn probability(&mut self, row: &[Value]) -> Result<f64, InputError> {
        Ok(self.score(row)?.1)
    }

    /// The raw score (log-odds) and the calibrated probability of one lead.
    pub fn score(&mut self, row: &[Value]) -> Result<(f64, f64), InputError> {
        self.model.spec.encode_row_into(row, &mut self.encoded)?;
        let raw = self.model.model.raw_score(&self.encoded);
        Ok((raw, self.model.calibrator.probability(raw)))
    }
}

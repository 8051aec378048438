//! What the two model families (logistic regression and gradient-boosted trees) share: how
//! a fit can fail, and the one interface the rest of the crate scores and explains through —
//! a raw score in log-odds, and per-feature contributions that add up to it exactly.

use serde::{Deserialize, Serialize};

use crate::dataset::Matrix;
use crate::gbdt::GbdtModel;
use crate::linear::LogisticModel;

/// The kinds of model Leadgate can train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Family {
    /// L2-regularised logistic regression.
    Linear,
    /// Histogram gradient-boosted decision trees.
    Gbdt,
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Family::Linear => "logistic regression",
            Family::Gbdt => "gradient-boosted trees",
        })
    }
}

/// Why a model could not be fitted on a feature matrix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FitError {
    #[error("no contacts to learn from")]
    NoRows,
    #[error("{rows} feature rows but {labels} outcomes; each contact needs both")]
    LengthMismatch { rows: usize, labels: usize },
    #[error(
        "every contact has the same outcome ({}); a model needs converted and \
         non-converted contacts",
        if *.converted { "converted" } else { "not converted" }
    )]
    SingleClass { converted: bool },
}

pub(crate) fn check_fit_input(features: &Matrix, labels: &[bool]) -> Result<(), FitError> {
    if features.rows() != labels.len() {
        return Err(FitError::LengthMismatch { rows: features.rows(), labels: labels.len() });
    }
    let Some(&first) = labels.first() else {
        return Err(FitError::NoRows);
    };
    if labels.iter().all(|&l| l == first) {
        return Err(FitError::SingleClass { converted: first });
    }
    Ok(())
}

/// A fitted model of either family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FittedModel {
    Linear(LogisticModel),
    Gbdt(GbdtModel),
}

impl FittedModel {
    pub fn family(&self) -> Family {
        match self {
            FittedModel::Linear(_) => Family::Linear,
            FittedModel::Gbdt(_) => Family::Gbdt,
        }
    }

    pub fn feature_count(&self) -> usize {
        match self {
            FittedModel::Linear(model) => model.feature_count(),
            FittedModel::Gbdt(model) => model.feature_count(),
        }
    }

    /// Log-odds of conversion for one encoded row.
    pub fn raw_score(&self, row: &[f64]) -> f64 {
        match self {
            FittedModel::Linear(model) => model.raw_score(row),
            FittedModel::Gbdt(model) => model.raw_score(row),
        }
    }

    /// Fills one contribution per feature and returns the base value, such that base value
    /// plus the contributions equals [`FittedModel::raw_score`].
    pub fn contributions(&self, row: &[f64], contributions: &mut [f64]) -> f64 {
        match self {
            FittedModel::Linear(model) => model.contributions(row, contributions),
            FittedModel::Gbdt(model) => model.contributions(row, contributions),
        }
    }
}

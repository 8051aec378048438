//! Whether a trained model learned anything. A model fitted to data without signal still
//! produces probabilities, and people believe them; on Maven CRM's deals (account, product,
//! agent) LightGBM, logistic regression and naive Bayes all score an AUC of about 0.50. A model
//! earns its place only when cross-validation shows it both ranks better than chance and
//! predicts better than the base rate.

use serde::{Deserialize, Serialize};

use crate::train::TrainingReport;

/// The verdict on a trained model, from its cross-validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// True when the model ranks and predicts better than chance.
    pub found: bool,
    /// Cross-validated AUC: the mean over folds, and its lower bound (the mean minus two
    /// standard errors). No signal when the bound does not clear 0.5.
    pub auc_mean: f64,
    pub auc_lower: f64,
    /// Log loss of always answering the base rate, and the model's cross-validated log loss
    /// after calibration. No signal when the model does not improve on it by at least
    /// [`MIN_LOG_LOSS_GAIN`].
    pub base_rate: f64,
    pub base_log_loss: f64,
    pub model_log_loss: f64,
}

/// The least relative improvement over the base rate's log loss that counts as signal (1 %).
pub const MIN_LOG_LOSS_GAIN: f64 = 0.01;

impl TrainingReport {
    /// Whether the chosen model found signal (none when the report has no cross-validation).
    pub fn signal(&self) -> Option<Signal> {
        let cv = &self.chosen()?.cross_validation;
        let rows = self.rows.train_converted + self.rows.train_not_converted;
        if cv.folds < 2 || rows == 0 || cv.fold_aucs.is_empty() {
            return None;
        }
        let base_rate = self.rows.train_converted as f64 / rows as f64;
        let base_log_loss = if base_rate <= 0.0 || base_rate >= 1.0 {
            0.0
        } else {
            -(base_rate * base_rate.ln() + (1.0 - base_rate) * (1.0 - base_rate).ln())
        };
        let standard_error = cv.auc_std / (cv.fold_aucs.len() as f64).sqrt();
        let auc_lower = cv.auc_mean - 2.0 * standard_error;
        let ranks = auc_lower > 0.5;
        let predicts = cv.calibrated_log_loss < base_log_loss * (1.0 - MIN_LOG_LOSS_GAIN);
        Some(Signal {
            found: ranks && predicts,
            auc_mean: cv.auc_mean,
            auc_lower,
            base_rate,
            base_log_loss,
            model_log_loss: cv.calibrated_log_loss,
        })
    }
}

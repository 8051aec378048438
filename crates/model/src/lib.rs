//! Lead-conversion prediction for Leadgate (DESIGN.md §5): learns from a workspace's own
//! history which leads convert, gives each open lead a calibrated probability, and explains
//! it exactly, field by field.
//!
//! A pure library: no I/O, no clock, no unseeded randomness. Training is deterministic for a
//! given seed, and a saved model predicts bit-for-bit what it predicted before saving.
//!
//! ```no_run
//! use leadgate_model::{train, Dataset, TrainOptions};
//! # fn load() -> Dataset { unimplemented!() }
//! let contacts: Dataset = load();
//! let mut options = TrainOptions::default();
//! options.features.excluded_fields = vec!["Tags".into(), "Asymmetrique *".into()];
//! let model = train(&contacts, &options)?;
//! let lead = contacts.row(0);
//! let prediction = model.predict(&lead)?;
//! for factor in &prediction.contributions {
//!     println!("{}: {:+.2}", factor.label, factor.value);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Map of the crate: [`features`] turns raw fields into numbers; [`linear`] and [`gbdt`] are
//! the two model families ([`family`] is what they share); [`calibration`] maps scores to
//! probabilities; [`metrics`] and [`split`] measure quality honestly; [`train`](mod@train)
//! orchestrates; [`prediction`] scores and explains.

pub mod calibration;
pub mod dataset;
pub mod family;
pub mod features;
pub mod gbdt;
pub mod leakage;
pub mod linear;
pub mod metrics;
pub mod prediction;
mod rng;
pub mod signal;
pub mod split;
pub mod train;

pub use calibration::{CalibrationMethod, Calibrator};
pub use dataset::{Column, Dataset, Matrix, Value};
pub use family::{Family, FitError, FittedModel};
pub use features::{
    Feature, FeatureOptions, FeatureRole, FeatureSpec, FieldEncoding, FieldKind, InputError, UnusedField,
    UnusedReason,
};
pub use gbdt::{GbdtModel, GbdtParams};
pub use leakage::{FieldSeparation, LEAK_AUC, field_separation};
pub use linear::{LinearParams, LogisticModel};
pub use metrics::{
    CalibrationBin, Evaluation, base_rate, brier_score, calibration_table, log_loss, roc_auc, top_decile_lift,
};
pub use prediction::{FieldContribution, ModelFileError, Prediction, Scorer, TrainedModel};
pub use signal::{MIN_LOG_LOSS_GAIN, Signal};
pub use split::{Split, stratified_folds, stratified_split};
pub use train::{
    CalibrationChoice, FamilyChoice, FamilyReport, MIN_OUTCOMES_PER_CLASS, RoundsChoice, RowCounts,
    TrainError, TrainOptions, TrainingReport, train,
};

//! The training entry point: from a workspace's contacts and outcomes to a calibrated,
//! explainable model and an honest report of how good it is.
//!
//! Steps: check there is enough history; split contacts (seeded, stratified) into a training
//! part and a held-out test part; fit the featurizer on the training part only; for each
//! candidate family, compute out-of-fold scores by k-fold cross-validation on the training
//! part (these give the cross-validated AUC, the GBDT's number of boosting rounds and the
//! data to fit the calibrator on), pick the calibration method (or none) by cross-validated
//! log loss, fit the final model on the whole training part, and evaluate it on the test
//! part. With `FamilyChoice::Auto` the family with the better cross-validated AUC is kept
//! (log loss breaks ties). Choosing on cross-validation rather than on the test part keeps
//! the test figures an unbiased estimate for the model actually shipped; both families' test
//! figures are in the report all the same.
//!
//! The returned model is exactly the one evaluated (fitted on the training part); it is not
//! refitted on all rows, so the report describes what the user gets.

use serde::{Deserialize, Serialize};

use crate::calibration::{CalibrationMethod, Calibrator, cross_validated_log_loss};
use crate::dataset::{Dataset, Matrix};
use crate::family::{Family, FitError, FittedModel};
use crate::features::{FeatureOptions, FeatureSpec, UnusedField};
use crate::gbdt::{GbdtModel, GbdtParams};
use crate::linear::{LinearParams, LogisticModel, sigmoid};
use crate::metrics::{Evaluation, contact_log_loss, log_loss, roc_auc};
use crate::prediction::TrainedModel;
use crate::rng::derive_seed;
use crate::split::{fold_rows, stratified_folds, stratified_split};

/// Fewest converted, and fewest non-converted, contacts to train on. Below this the held-out
/// test part has under 15 of a class and its AUC swings by ±0.1 from one split to the next:
/// a quality report on that would mislead more than inform.
pub const MIN_OUTCOMES_PER_CLASS: usize = 50;

/// Share of a GBDT fit's rows held out to watch for early stopping, when enabled.
const EARLY_STOPPING_FRACTION: f64 = 0.1;

/// AUC differences below this are ties (far inside fold-to-fold noise); log loss decides.
const AUC_TIE: f64 = 1e-4;

/// Which model family to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FamilyChoice {
    /// Train both, keep the better by cross-validated AUC.
    Auto,
    Linear,
    Gbdt,
}

/// Which calibration method to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CalibrationChoice {
    /// The method with the lowest cross-validated log loss, none at all included (on ties the
    /// simpler one: none, then Platt).
    Auto,
    /// No calibration: the model's own probability.
    Identity,
    Platt,
    Isotonic,
}

/// How many boosting rounds the GBDT keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoundsChoice {
    /// The count, at most `gbdt.num_rounds`, with the lowest cross-validated log loss.
    CrossValidated,
    /// `gbdt.num_rounds`, as LightGBM does.
    Fixed,
}

/// Everything `train` can be told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainOptions {
    /// Seeds the split and the folds; same seed, same data → same model, bit for bit.
    pub seed: u64,
    /// Share of contacts held out for the test report (default 0.3).
    pub test_fraction: f64,
    pub family: FamilyChoice,
    pub calibration: CalibrationChoice,
    pub features: FeatureOptions,
    pub gbdt: GbdtParams,
    /// Ignored when `gbdt.early_stopping_rounds` is set: early stopping then decides.
    pub gbdt_rounds: RoundsChoice,
    pub linear: LinearParams,
    /// Folds of the cross-validation on the training part (default 5).
    pub k_folds: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            seed: 0,
            test_fraction: 0.3,
            family: FamilyChoice::Auto,
            calibration: CalibrationChoice::Auto,
            features: FeatureOptions::default(),
            gbdt: GbdtParams::default(),
            gbdt_rounds: RoundsChoice::CrossValidated,
            linear: LinearParams::default(),
            k_folds: 5,
        }
    }
}

/// Why training did not produce a model, in terms the user can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainError {
    #[error("{}", too_few_outcomes_message(*.positives, *.negatives, *.minimum))]
    TooFewOutcomes { positives: usize, negatives: usize, minimum: usize },
    #[error(
        "field `{field}` has {values} values but there are {labels} outcomes; every field needs one value per contact"
    )]
    ColumnLength { field: String, values: usize, labels: usize },
    #[error("{}", no_usable_feature_message(.dropped, .excluded))]
    NoUsableFeature { dropped: Vec<UnusedField>, excluded: Vec<String> },
    #[error("option `{option}`: {reason}")]
    InvalidOption { option: &'static str, reason: String },
    #[error("fitting the {family} failed: {source}")]
    Fit { family: Family, source: FitError },
}

fn too_few_outcomes_message(positives: usize, negatives: usize, minimum: usize) -> String {
    let short = |have: usize, what: &str| {
        (have < minimum).then(|| format!("{what}: have {have} ({} more needed)", minimum - have))
    };
    match (short(positives, "converted contacts"), short(negatives, "non-converted contacts")) {
        (Some(_), Some(_)) => format!(
            "need at least {minimum} converted and {minimum} non-converted contacts to train; \
             have {positives} converted ({} more needed) and {negatives} non-converted \
             ({} more needed)",
            minimum - positives,
            minimum - negatives
        ),
        (Some(_), None) => format!(
            "need at least {minimum} converted contacts to train; have {positives} ({} more \
             needed)",
            minimum - positives
        ),
        (None, Some(_)) => format!(
            "need at least {minimum} non-converted contacts to train; have {negatives} ({} \
             more needed)",
            minimum - negatives
        ),
        (None, None) => format!("need at least {minimum} contacts of each outcome to train"),
    }
}

fn no_usable_feature_message(dropped: &[UnusedField], excluded: &[String]) -> String {
    let mut message = String::from("no field can be used to predict conversion");
    if !dropped.is_empty() {
        let reasons: Vec<String> = dropped.iter().map(|d| format!("`{}`: {}", d.field, d.reason)).collect();
        message.push_str(&format!("; unusable: {}", reasons.join("; ")));
    }
    if !excluded.is_empty() {
        message.push_str(&format!(
            "; excluded by you: {}",
            excluded.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    message
}

/// Contacts in each part of the split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowCounts {
    pub train: usize,
    pub test: usize,
    pub train_converted: usize,
    pub train_not_converted: usize,
    pub test_converted: usize,
    pub test_not_converted: usize,
}

/// Cross-validation on the training part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossValidation {
    pub folds: usize,
    pub fold_aucs: Vec<f64>,
    pub auc_mean: f64,
    /// Sample standard deviation across folds.
    pub auc_std: f64,
    /// Log loss of out-of-fold scores after cross-fitted calibration with the chosen method.
    pub calibrated_log_loss: f64,
}

/// Cross-validated log loss of one calibration method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationScore {
    pub method: CalibrationMethod,
    pub cross_validated_log_loss: f64,
}

/// How one family did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamilyReport {
    pub family: Family,
    /// Held-out test part, calibrated probabilities (AUC and lift on the raw score).
    pub test: Evaluation,
    /// Test log loss of the uncalibrated probability `sigmoid(raw score)`, to show what
    /// calibration bought.
    pub test_log_loss_uncalibrated: f64,
    pub cross_validation: CrossValidation,
    pub calibration: CalibrationMethod,
    pub calibration_candidates: Vec<CalibrationScore>,
    /// Boosting rounds kept (GBDT only).
    pub trees: Option<usize>,
}

/// What the user sees about a trained model: its quality on held-out contacts, what it
/// used, what it left out and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingReport {
    /// The family of the returned model.
    pub family: Family,
    pub calibration: CalibrationMethod,
    /// Every family trained, the chosen one included.
    pub candidates: Vec<FamilyReport>,
    pub fields_used: Vec<String>,
    pub fields_excluded: Vec<String>,
    pub fields_dropped: Vec<UnusedField>,
    /// Exclusion patterns that matched no field.
    pub unmatched_exclusions: Vec<String>,
    /// Each used field's ROC AUC alone on the training rows, strongest first
    /// ([`crate::leakage`]).
    #[serde(default)]
    pub field_separation: Vec<crate::leakage::FieldSeparation>,
    /// Fields that separate the outcome almost perfectly by themselves (single-field AUC at
    /// least [`crate::leakage::LEAK_AUC`]): most likely filled in after the outcome. Exclude
    /// them unless a new lead has them too.
    #[serde(default)]
    pub suspected_leaks: Vec<String>,
    pub rows: RowCounts,
    pub seed: u64,
    pub test_fraction: f64,
}

impl TrainingReport {
    /// Report of the chosen family.
    pub fn chosen(&self) -> Option<&FamilyReport> {
        self.candidates.iter().find(|c| c.family == self.family)
    }
}

/// Train a conversion model on `dataset` (see the module documentation for the steps).
pub fn train(dataset: &Dataset, options: &TrainOptions) -> Result<TrainedModel, TrainError> {
    check_options(options)?;
    if let Some((field, values, labels)) = dataset.length_mismatch() {
        return Err(TrainError::ColumnLength { field: field.to_owned(), values, labels });
    }
    let labels = &dataset.labels;
    let positives = labels.iter().filter(|&&l| l).count();
    let negatives = labels.len() - positives;
    if positives < MIN_OUTCOMES_PER_CLASS || negatives < MIN_OUTCOMES_PER_CLASS {
        return Err(TrainError::TooFewOutcomes { positives, negatives, minimum: MIN_OUTCOMES_PER_CLASS });
    }

    let split = stratified_split(labels, options.test_fraction, options.seed);
    let train_labels: Vec<bool> = split.train.iter().map(|&i| labels[i]).collect();
    let test_labels: Vec<bool> = split.test.iter().map(|&i| labels[i]).collect();
    let count = |part: &[bool], class: bool| part.iter().filter(|&&l| l == class).count();
    let rows = RowCounts {
        train: split.train.len(),
        test: split.test.len(),
        train_converted: count(&train_labels, true),
        train_not_converted: count(&train_labels, false),
        test_converted: count(&test_labels, true),
        test_not_converted: count(&test_labels, false),
    };
    let smallest_train_class = rows.train_converted.min(rows.train_not_converted);
    if rows.test_converted == 0 || rows.test_not_converted == 0 {
        return Err(TrainError::InvalidOption {
            option: "test_fraction",
            reason: format!(
                "{} leaves the test part without one of the outcomes; use a larger fraction",
                options.test_fraction
            ),
        });
    }
    if smallest_train_class < 2 * options.k_folds {
        return Err(TrainError::InvalidOption {
            option: "test_fraction",
            reason: format!(
                "{} leaves only {smallest_train_class} contacts of one outcome to train on; \
                 use a smaller fraction",
                options.test_fraction
            ),
        });
    }

    let spec = FeatureSpec::fit_rows(dataset, &split.train, &options.features);
    if spec.features().is_empty() {
        return Err(TrainError::NoUsableFeature {
            dropped: spec.unused().to_vec(),
            excluded: spec.excluded().to_vec(),
        });
    }
    // The spec was fitted on this very dataset, so every field it uses is present.
    let encoded = spec.encode(dataset).map_err(|_| TrainError::NoUsableFeature {
        dropped: spec.unused().to_vec(),
        excluded: spec.excluded().to_vec(),
    })?;
    let train_x = encoded.select_rows(&split.train);
    let test_x = encoded.select_rows(&split.test);
    let fold_of = stratified_folds(&train_labels, options.k_folds, derive_seed(options.seed, 1));
    let field_separation = crate::leakage::field_separation(&spec, &train_x, &train_labels, &fold_of);
    let suspected_leaks = field_separation
        .iter()
        .filter(|f| f.auc >= crate::leakage::LEAK_AUC)
        .map(|f| f.field.clone())
        .collect();

    let families: &[Family] = match options.family {
        FamilyChoice::Auto => &[Family::Linear, Family::Gbdt],
        FamilyChoice::Linear => &[Family::Linear],
        FamilyChoice::Gbdt => &[Family::Gbdt],
    };
    let mut outcomes = Vec::with_capacity(families.len());
    for &family in families {
        let parts = Parts {
            train_x: &train_x,
            train_labels: &train_labels,
            test_x: &test_x,
            test_labels: &test_labels,
            fold_of: &fold_of,
        };
        outcomes.push(train_family(family, &parts, options)?);
    }

    // Best cross-validated AUC; within AUC_TIE, lower cross-validated log loss.
    let mut chosen = 0;
    for (index, outcome) in outcomes.iter().enumerate().skip(1) {
        let best = &outcomes[chosen].report.cross_validation;
        let candidate = &outcome.report.cross_validation;
        let better = if (candidate.auc_mean - best.auc_mean).abs() < AUC_TIE {
            candidate.calibrated_log_loss < best.calibrated_log_loss
        } else {
            candidate.auc_mean > best.auc_mean
        };
        if better {
            chosen = index;
        }
    }
    let candidates: Vec<FamilyReport> = outcomes.iter().map(|o| o.report.clone()).collect();
    let winner = outcomes.swap_remove(chosen);
    let report = TrainingReport {
        family: winner.report.family,
        calibration: winner.report.calibration,
        candidates,
        fields_used: spec.fields().iter().map(|f| f.name.clone()).collect(),
        fields_excluded: spec.excluded().to_vec(),
        fields_dropped: spec.unused().to_vec(),
        unmatched_exclusions: spec.unmatched_exclusions().to_vec(),
        field_separation,
        suspected_leaks,
        rows,
        seed: options.seed,
        test_fraction: options.test_fraction,
    };
    Ok(TrainedModel::new(spec, winner.model, winner.calibrator, report))
}

fn check_options(options: &TrainOptions) -> Result<(), TrainError> {
    if !(options.test_fraction > 0.0 && options.test_fraction < 1.0) {
        return Err(TrainError::InvalidOption {
            option: "test_fraction",
            reason: format!("must be between 0 and 1 (exclusive), e.g. 0.3; got {}", options.test_fraction),
        });
    }
    if !(2..=20).contains(&options.k_folds) {
        return Err(TrainError::InvalidOption {
            option: "k_folds",
            reason: format!("must be between 2 and 20; got {}", options.k_folds),
        });
    }
    if options.gbdt.num_rounds == 0 {
        return Err(TrainError::InvalidOption {
            option: "gbdt.num_rounds",
            reason: "must be at least 1".into(),
        });
    }
    if !(options.gbdt.learning_rate > 0.0 && options.gbdt.learning_rate.is_finite()) {
        return Err(TrainError::InvalidOption {
            option: "gbdt.learning_rate",
            reason: format!("must be a positive number; got {}", options.gbdt.learning_rate),
        });
    }
    Ok(())
}

struct Parts<'a> {
    train_x: &'a Matrix,
    train_labels: &'a [bool],
    test_x: &'a Matrix,
    test_labels: &'a [bool],
    fold_of: &'a [usize],
}

struct FamilyOutcome {
    model: FittedModel,
    calibrator: Calibrator,
    report: FamilyReport,
}

fn train_family(
    family: Family,
    parts: &Parts<'_>,
    options: &TrainOptions,
) -> Result<FamilyOutcome, TrainError> {
    let folds = options.k_folds;
    let labels = parts.train_labels;
    let mut fold_models = Vec::with_capacity(folds);
    for fold in 0..folds {
        let (fit_rows, held_rows) = fold_rows(parts.fold_of, fold);
        let fit_x = parts.train_x.select_rows(&fit_rows);
        let fit_labels: Vec<bool> = fit_rows.iter().map(|&i| labels[i]).collect();
        let model =
            fit_family(family, &fit_x, &fit_labels, options, derive_seed(options.seed, 100 + fold as u64))?;
        fold_models.push((model, held_rows));
    }
    // The fold models are grown to `num_rounds` anyway: reading their held-out loss after
    // each round costs no extra fit, and cutting them back makes the out-of-fold scores (AUC,
    // calibration) those of the model actually shipped.
    let rounds = match (family, options.gbdt_rounds, options.gbdt.early_stopping_rounds) {
        (Family::Gbdt, RoundsChoice::CrossValidated, None) => {
            cross_validated_rounds(&fold_models, parts.train_x, labels)
        }
        _ => None,
    };
    let mut out_of_fold = vec![0.0; labels.len()];
    let mut fold_aucs = Vec::with_capacity(folds);
    for (model, held_rows) in &mut fold_models {
        if let (Some(rounds), FittedModel::Gbdt(gbdt)) = (rounds, &mut *model) {
            gbdt.keep_rounds(rounds);
        }
        for &i in held_rows.iter() {
            out_of_fold[i] = model.raw_score(parts.train_x.row(i));
        }
        let held_labels: Vec<bool> = held_rows.iter().map(|&i| labels[i]).collect();
        let held_scores: Vec<f64> = held_rows.iter().map(|&i| out_of_fold[i]).collect();
        // Stratified folds always hold both outcomes once each class has ≥ k contacts.
        fold_aucs.push(roc_auc(&held_labels, &held_scores).unwrap_or(0.5));
    }
    let auc_mean = fold_aucs.iter().sum::<f64>() / folds as f64;
    let auc_std =
        (fold_aucs.iter().map(|a| (a - auc_mean).powi(2)).sum::<f64>() / (folds as f64 - 1.0)).sqrt();

    let methods: &[CalibrationMethod] = match options.calibration {
        CalibrationChoice::Auto => {
            &[CalibrationMethod::Identity, CalibrationMethod::Platt, CalibrationMethod::Isotonic]
        }
        CalibrationChoice::Identity => &[CalibrationMethod::Identity],
        CalibrationChoice::Platt => &[CalibrationMethod::Platt],
        CalibrationChoice::Isotonic => &[CalibrationMethod::Isotonic],
    };
    let calibration_candidates: Vec<CalibrationScore> = methods
        .iter()
        .map(|&method| CalibrationScore {
            method,
            cross_validated_log_loss: cross_validated_log_loss(
                method,
                &out_of_fold,
                labels,
                parts.fold_of,
                folds,
            )
            .unwrap_or(f64::INFINITY),
        })
        .collect();
    // Strictly lower wins, so the simpler method (listed first) keeps ties: a calibrator
    // must earn its place by improving on the model's own probabilities.
    let mut best_calibration = &calibration_candidates[0];
    for candidate in &calibration_candidates[1..] {
        if candidate.cross_validated_log_loss < best_calibration.cross_validated_log_loss {
            best_calibration = candidate;
        }
    }
    let calibration = best_calibration.method;
    let calibrated_log_loss = best_calibration.cross_validated_log_loss;
    let calibrator = Calibrator::fit(calibration, &out_of_fold, labels);

    let final_options = match rounds {
        Some(rounds) => TrainOptions {
            gbdt: GbdtParams { num_rounds: rounds, ..options.gbdt.clone() },
            ..options.clone()
        },
        None => options.clone(),
    };
    let model = fit_family(family, parts.train_x, labels, &final_options, derive_seed(options.seed, 99))?;
    let test_raw: Vec<f64> = (0..parts.test_x.rows()).map(|i| model.raw_score(parts.test_x.row(i))).collect();
    let test_probabilities: Vec<f64> = test_raw.iter().map(|&s| calibrator.probability(s)).collect();
    let uncalibrated: Vec<f64> = test_raw.iter().map(|&s| sigmoid(s)).collect();
    let test = Evaluation::compute(parts.test_labels, &test_raw, &test_probabilities).ok_or(
        TrainError::InvalidOption {
            option: "test_fraction",
            reason: "the test part cannot be evaluated (it lacks one of the outcomes)".into(),
        },
    )?;
    let trees = match &model {
        FittedModel::Gbdt(gbdt) => Some(gbdt.trees().len()),
        FittedModel::Linear(_) => None,
    };
    Ok(FamilyOutcome {
        report: FamilyReport {
            family,
            test,
            test_log_loss_uncalibrated: log_loss(parts.test_labels, &uncalibrated).unwrap_or(f64::NAN),
            cross_validation: CrossValidation { folds, fold_aucs, auc_mean, auc_std, calibrated_log_loss },
            calibration,
            calibration_candidates,
            trees,
        },
        model,
        calibrator,
    })
}

/// The number of boosting rounds whose out-of-fold log loss (of `sigmoid(raw score)`, the
/// objective boosting descends) is lowest, over every count the fold models reached; `None`
/// if no fold model grew a tree. LightGBM's 100 rounds at learning rate 0.1 are a generic
/// default, and past the best count each tree fits noise in the training rows: probabilities
/// become over-confident, which log loss punishes even when the ranking (AUC) holds. The
/// final model sees k/(k-1) times the rows of a fold model, so its own best count is if
/// anything a little higher: the cross-validated count errs towards fewer, smoother trees.
fn cross_validated_rounds(
    fold_models: &[(FittedModel, Vec<usize>)],
    train_x: &Matrix,
    labels: &[bool],
) -> Option<usize> {
    let gbdts: Vec<(&GbdtModel, &[usize])> = fold_models
        .iter()
        .filter_map(|(model, held_rows)| match model {
            FittedModel::Gbdt(gbdt) => Some((gbdt, held_rows.as_slice())),
            FittedModel::Linear(_) => None,
        })
        .collect();
    let most_rounds = gbdts.iter().map(|(gbdt, _)| gbdt.trees().len()).max().filter(|&n| n > 0)?;
    // losses[r]: summed log loss of every held-out contact after r + 1 rounds.
    let mut losses = vec![0.0; most_rounds];
    for (gbdt, held_rows) in gbdts {
        for &i in held_rows {
            let row = train_x.row(i);
            let mut rounds = 0;
            for score in gbdt.raw_scores_by_round(row) {
                losses[rounds] += contact_log_loss(labels[i], sigmoid(score));
                rounds += 1;
            }
            // A fold model that stopped early (no split helped) says the same from then on.
            let rest = contact_log_loss(labels[i], sigmoid(gbdt.raw_score(row)));
            for loss in &mut losses[rounds..] {
                *loss += rest;
            }
        }
    }
    // First minimum: on a tie, fewer trees.
    let mut best = 0;
    for (round, &loss) in losses.iter().enumerate() {
        if loss < losses[best] {
            best = round;
        }
    }
    Some(best + 1)
}

/// Fit one model of `family`; with GBDT early stopping on, a seeded tenth of the rows is
/// held out to watch.
pub(crate) fn fit_family(
    family: Family,
    features: &Matrix,
    labels: &[bool],
    options: &TrainOptions,
    seed: u64,
) -> Result<FittedModel, TrainError> {
    let fitted = match family {
        Family::Linear => LogisticModel::fit(features, labels, &options.linear).map(FittedModel::Linear),
        Family::Gbdt => {
            let watch = options
                .gbdt
                .early_stopping_rounds
                .map(|_| stratified_split(labels, EARLY_STOPPING_FRACTION, seed))
                .filter(|split| {
                    let has_both =
                        |rows: &[usize]| rows.iter().any(|&i| labels[i]) && rows.iter().any(|&i| !labels[i]);
                    has_both(&split.train) && has_both(&split.test)
                });
            match watch {
                Some(split) => {
                    let pick = |rows: &[usize]| -> Vec<bool> { rows.iter().map(|&i| labels[i]).collect() };
                    GbdtModel::fit_with_validation(
                        &features.select_rows(&split.train),
                        &pick(&split.train),
                        &options.gbdt,
                        &features.select_rows(&split.test),
                        &pick(&split.test),
                    )
                }
                None => GbdtModel::fit(features, labels, &options.gbdt),
            }
            .map(FittedModel::Gbdt)
        }
    };
    fitted.map_err(|source| TrainError::Fit { family, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_few_outcomes_says_what_is_missing() {
        assert_eq!(
            too_few_outcomes_message(12, 400, 50),
            "need at least 50 converted contacts to train; have 12 (38 more needed)"
        );
        assert_eq!(
            too_few_outcomes_message(60, 49, 50),
            "need at least 50 non-converted contacts to train; have 49 (1 more needed)"
        );
        assert!(too_few_outcomes_message(0, 0, 50).contains("have 0 converted (50 more needed)"));
    }
}

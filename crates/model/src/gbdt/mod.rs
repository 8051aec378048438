//! Gradient-boosted decision trees for conversion, histogram-based and grown leaf-wise like
//! LightGBM, whose defaults are ours (so users and our benchmark can compare like with like):
//! 100 rounds, learning rate 0.1, 31 leaves, at least 20 contacts and 1e-3 hessian per leaf,
//! no L2, 255 bins. Objective: log loss, starting from the log-odds of the base rate.
//! Single-threaded and deterministic: the same data and settings give the same trees,
//! bit for bit. Missing values have their own bin and each split learns where they go.

mod binning;
mod grow;
mod shap;
mod tree;

use serde::{Deserialize, Serialize};

use crate::dataset::Matrix;
use crate::family::{FitError, check_fit_input};
use crate::linear::sigmoid;
use crate::metrics::log_loss;
use binning::fit_bins;
use grow::{BinnedRows, Grower, GrowthLimits};
pub use shap::ShapScratch;
pub use tree::{DamagedTree, Node, Tree};

/// Boosting settings, named as in LightGBM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GbdtParams {
    pub num_rounds: usize,
    pub learning_rate: f64,
    pub num_leaves: usize,
    /// Deepest split allowed; `None` for no limit (leaf count is the real limit).
    pub max_depth: Option<usize>,
    pub min_data_in_leaf: usize,
    pub min_sum_hessian_in_leaf: f64,
    pub lambda_l2: f64,
    pub min_gain_to_split: f64,
    /// Bins per feature, the missing-value bin included (at most 256).
    pub max_bin: usize,
    pub min_data_in_bin: usize,
    /// Stop when validation log loss has not improved for this many rounds, keeping the
    /// best round's trees. Only used when a validation set is given.
    pub early_stopping_rounds: Option<usize>,
}

impl Default for GbdtParams {
    fn default() -> Self {
        GbdtParams {
            num_rounds: 100,
            learning_rate: 0.1,
            num_leaves: 31,
            max_depth: None,
            min_data_in_leaf: 20,
            min_sum_hessian_in_leaf: 1e-3,
            lambda_l2: 0.0,
            min_gain_to_split: 0.0,
            max_bin: 255,
            min_data_in_bin: 3,
            early_stopping_rounds: None,
        }
    }
}

/// A fitted tree ensemble.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GbdtModel {
    /// Log-odds every contact starts from: the training base rate's.
    init_score: f64,
    trees: Vec<Tree>,
    feature_count: usize,
}

impl GbdtModel {
    /// Fit on all rows of `features` for `params.num_rounds` rounds (or until no split
    /// improves the loss).
    pub fn fit(features: &Matrix, labels: &[bool], params: &GbdtParams) -> Result<GbdtModel, FitError> {
        GbdtModel::fit_inner(features, labels, params, None)
    }

    /// Fit with a validation set watched for early stopping (if
    /// `params.early_stopping_rounds` is set).
    pub fn fit_with_validation(
        features: &Matrix,
        labels: &[bool],
        params: &GbdtParams,
        validation: &Matrix,
        validation_labels: &[bool],
    ) -> Result<GbdtModel, FitError> {
        check_fit_input(validation, validation_labels)?;
        GbdtModel::fit_inner(features, labels, params, Some((validation, validation_labels)))
    }

    fn fit_inner(
        features: &Matrix,
        labels: &[bool],
        params: &GbdtParams,
        validation: Option<(&Matrix, &[bool])>,
    ) -> Result<GbdtModel, FitError> {
        check_fit_input(features, labels)?;
        let data = bin_rows(features, params);
        let n = data.rows;
        let limits = GrowthLimits {
            num_leaves: params.num_leaves.max(2),
            max_depth: params.max_depth,
            min_data_in_leaf: u32::try_from(params.min_data_in_leaf.max(1)).unwrap_or(u32::MAX),
            min_sum_hessian_in_leaf: finite_or(params.min_sum_hessian_in_leaf, 1e-3).max(0.0),
            lambda_l2: finite_or(params.lambda_l2, 0.0).max(0.0),
            min_gain_to_split: finite_or(params.min_gain_to_split, 0.0),
            learning_rate: finite_or(params.learning_rate, 0.1),
        };
        let targets: Vec<f64> = labels.iter().map(|&l| f64::from(u8::from(l))).collect();
        let positives = targets.iter().sum::<f64>();
        let init_score = (positives / (n as f64 - positives)).ln();

        let mut scores = vec![init_score; n];
        let mut gradients = vec![0.0; n];
        let mut hessians = vec![0.0; n];
        let mut grower = Grower::new(&data, limits.num_leaves);
        let mut trees = Vec::with_capacity(params.num_rounds);

        let mut watch = validation.map(|(matrix, labels)| Watch {
            matrix,
            labels,
            scores: vec![init_score; matrix.rows()],
            probabilities: vec![0.0; matrix.rows()],
            best_loss: f64::INFINITY,
            best_rounds: 0,
        });

        for _round in 0..params.num_rounds {
            for i in 0..n {
                let p = sigmoid(scores[i]);
                gradients[i] = p - targets[i];
                hessians[i] = p * (1.0 - p);
            }
            let grown = grower.grow(&data, &gradients, &hessians, &limits);
            if grown.nodes.len() == 1 {
                // No split helps any more: further rounds would add the same nothing.
                break;
            }
            for (node, rows) in &grown.leaf_rows {
                if let Node::Leaf { value, .. } = grown.nodes[*node] {
                    for &row in rows {
                        scores[row as usize] += value;
                    }
                }
            }
            let tree = Tree::new(grown.nodes)
                .expect("a grown tree has children after parents: invariant of Grower::grow");
            if let Some(watch) = watch.as_mut() {
                for (i, score) in watch.scores.iter_mut().enumerate() {
                    *score += tree.predict(watch.matrix.row(i));
                    watch.probabilities[i] = sigmoid(*score);
                }
                let loss = log_loss(watch.labels, &watch.probabilities).unwrap_or(f64::INFINITY);
                trees.push(tree);
                if loss < watch.best_loss {
                    watch.best_loss = loss;
                    watch.best_rounds = trees.len();
                } else if params
                    .early_stopping_rounds
                    .is_some_and(|patience| trees.len() - watch.best_rounds >= patience)
                {
                    break;
                }
            } else {
                trees.push(tree);
            }
        }
        if let Some(watch) = watch
            && params.early_stopping_rounds.is_some()
        {
            trees.truncate(watch.best_rounds);
        }
        Ok(GbdtModel { init_score, trees, feature_count: features.cols() })
    }

    pub fn feature_count(&self) -> usize {
        self.feature_count
    }

    pub fn trees(&self) -> &[Tree] {
        &self.trees
    }

    /// Log-odds of conversion for one encoded row.
    pub fn raw_score(&self, row: &[f64]) -> f64 {
        self.init_score + self.trees.iter().map(|tree| tree.predict(row)).sum::<f64>()
    }

    /// Log-odds for one encoded row after each round, first to last: what the model would
    /// have said had boosting stopped there (one pass over the trees for every count).
    pub fn raw_scores_by_round<'a>(&'a self, row: &'a [f64]) -> impl Iterator<Item = f64> + 'a {
        self.trees.iter().scan(self.init_score, move |score, tree| {
            *score += tree.predict(row);
            Some(*score)
        })
    }

    /// Keep only the first `rounds` trees: the model boosting would have given had it
    /// stopped after `rounds` rounds.
    pub fn keep_rounds(&mut self, rounds: usize) {
        self.trees.truncate(rounds);
    }

    /// Log-odds when nothing is known about the contact: the starting score plus each
    /// tree's cover-weighted mean output.
    pub fn base_value(&self) -> f64 {
        self.init_score + self.trees.iter().map(Tree::expected_value).sum::<f64>()
    }

    /// TreeSHAP contributions of each feature for `row` (written to `contributions`, one per
    /// feature); returns the base value. Base value plus contributions equals
    /// [`GbdtModel::raw_score`] up to float rounding.
    pub fn contributions(&self, row: &[f64], contributions: &mut [f64]) -> f64 {
        self.contributions_with(row, contributions, &mut ShapScratch::default())
    }

    /// As [`GbdtModel::contributions`], reusing path storage across calls.
    pub fn contributions_with(
        &self,
        row: &[f64],
        contributions: &mut [f64],
        scratch: &mut ShapScratch,
    ) -> f64 {
        contributions.fill(0.0);
        for tree in &self.trees {
            shap::add_tree_contributions(tree, row, contributions, scratch);
        }
        self.base_value()
    }
}

struct Watch<'a> {
    matrix: &'a Matrix,
    labels: &'a [bool],
    scores: Vec<f64>,
    probabilities: Vec<f64>,
    best_loss: f64,
    best_rounds: usize,
}

fn finite_or(value: f64, fallback: f64) -> f64 {
    if value.is_finite() { value } else { fallback }
}

fn bin_rows(features: &Matrix, params: &GbdtParams) -> BinnedRows {
    let (rows, cols) = (features.rows(), features.cols());
    let mut column = Vec::with_capacity(rows);
    let mut bins = Vec::with_capacity(cols);
    let mut columns = vec![0u8; rows * cols];
    let mut offsets = Vec::with_capacity(cols + 1);
    offsets.push(0);
    for j in 0..cols {
        column.clear();
        column.extend((0..rows).map(|i| features.get(i, j)));
        let feature_bins = fit_bins(&column, params.max_bin, params.min_data_in_bin);
        for (i, &x) in column.iter().enumerate() {
            columns[j * rows + i] = feature_bins.bin_of(x);
        }
        offsets.push(offsets[j] + feature_bins.total_bins());
        bins.push(feature_bins);
    }
    // Sparse row lists, filled column by column (sequential reads of `columns`); within a
    // row, slots stay in feature order.
    let mut row_start = vec![0usize; rows + 1];
    for (j, feature_bins) in bins.iter().enumerate() {
        for (i, &bin) in columns[j * rows..(j + 1) * rows].iter().enumerate() {
            row_start[i + 1] += usize::from(bin != feature_bins.default_bin);
        }
    }
    for i in 0..rows {
        row_start[i + 1] += row_start[i];
    }
    let mut row_slots = vec![0u32; row_start[rows]];
    let mut cursor = row_start[..rows].to_vec();
    for (j, feature_bins) in bins.iter().enumerate() {
        for (i, &bin) in columns[j * rows..(j + 1) * rows].iter().enumerate() {
            if bin != feature_bins.default_bin {
                row_slots[cursor[i]] = (offsets[j] + usize::from(bin)) as u32;
                cursor[i] += 1;
            }
        }
    }
    BinnedRows { rows, features: bins, offsets, columns, row_start, row_slots }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::roc_auc;
    use crate::rng::SeededRng;

    /// Conversion driven by an interaction and a missing-value pattern no linear model can
    /// express.
    fn synthetic(rows: usize, seed: u64) -> (Matrix, Vec<bool>) {
        let mut rng = SeededRng::new(seed);
        let mut values = Vec::with_capacity(rows * 3);
        let mut labels = Vec::with_capacity(rows);
        for _ in 0..rows {
            let a = rng.below(1000) as f64 / 1000.0;
            let b = rng.below(1000) as f64 / 1000.0;
            let c = if rng.below(4) == 0 { f64::NAN } else { rng.below(3) as f64 };
            let logit = if (a > 0.5) == (b > 0.5) { 1.5 } else { -1.5 } + if c.is_nan() { 1.0 } else { 0.0 };
            let p = sigmoid(logit);
            labels.push((rng.below(1_000_000) as f64) < p * 1_000_000.0);
            values.extend([a, b, c]);
        }
        (Matrix::from_row_major(rows, 3, values).unwrap(), labels)
    }

    #[test]
    fn learns_an_interaction_and_explains_it_exactly() {
        let (train, train_labels) = synthetic(3000, 1);
        let (test, test_labels) = synthetic(2000, 2);
        let model = GbdtModel::fit(&train, &train_labels, &GbdtParams::default()).unwrap();
        let scores: Vec<f64> = (0..test.rows()).map(|i| model.raw_score(test.row(i))).collect();
        let auc = roc_auc(&test_labels, &scores).unwrap();
        // The Bayes-optimal AUC here is about 0.84; a model that missed the interaction
        // would sit near 0.6.
        assert!(auc > 0.78, "auc {auc}");
        let mut phi = vec![0.0; 3];
        for (i, score) in scores.iter().enumerate().take(50) {
            let base = model.contributions(test.row(i), &mut phi);
            let total = base + phi.iter().sum::<f64>();
            assert!((total - score).abs() < 1e-9, "{total} vs {score}");
        }
    }

    #[test]
    fn histogram_shortcuts_agree_with_a_direct_count() {
        // Sparse rows + default-bin recovery + subtraction must give the same first tree as
        // counting every row: checked through the leaf covers summing to the row count and
        // each leaf value matching -G/H of its rows.
        let (train, labels) = synthetic(500, 3);
        let params = GbdtParams { num_rounds: 1, ..GbdtParams::default() };
        let model = GbdtModel::fit(&train, &labels, &params).unwrap();
        let tree = &model.trees()[0];
        let leaves: Vec<(f64, f64)> = tree
            .nodes()
            .iter()
            .filter_map(|n| match n {
                Node::Leaf { value, cover } => Some((*value, *cover)),
                Node::Split { .. } => None,
            })
            .collect();
        assert_eq!(leaves.iter().map(|l| l.1).sum::<f64>(), 500.0);
        let p = sigmoid(model.init_score);
        for (value, _) in &leaves {
            let members: Vec<usize> = (0..500).filter(|&i| tree.predict(train.row(i)) == *value).collect();
            let g: f64 = members.iter().map(|&i| p - f64::from(u8::from(labels[i]))).sum();
            let h = members.len() as f64 * p * (1.0 - p);
            assert!((value - (-g / h * 0.1)).abs() < 1e-9);
        }
    }

    #[test]
    fn early_stopping_keeps_the_best_round() {
        let (train, train_labels) = synthetic(600, 4);
        let (valid, valid_labels) = synthetic(400, 5);
        let params = GbdtParams {
            num_rounds: 300,
            learning_rate: 0.3,
            early_stopping_rounds: Some(10),
            ..GbdtParams::default()
        };
        let model =
            GbdtModel::fit_with_validation(&train, &train_labels, &params, &valid, &valid_labels).unwrap();
        assert!(model.trees().len() < 300, "{}", model.trees().len());
        assert!(!model.trees().is_empty());
    }

    #[test]
    fn refuses_degenerate_input() {
        let m = Matrix::zeros(3, 1);
        assert_eq!(
            GbdtModel::fit(&m, &[true; 3], &GbdtParams::default()),
            Err(FitError::SingleClass { converted: true })
        );
        assert_eq!(
            GbdtModel::fit(&m, &[true], &GbdtParams::default()),
            Err(FitError::LengthMismatch { rows: 3, labels: 1 })
        );
        // No features at all: a constant model, not a crash.
        let empty = Matrix::zeros(4, 0);
        let model = GbdtModel::fit(&empty, &[true, false, false, true], &GbdtParams::default()).unwrap();
        assert_eq!(model.raw_score(&[]), 0.0);
    }
}

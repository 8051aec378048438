//! L2-regularised logistic regression, the model a sales-operations user can read line by
//! line: each feature moves the log-odds by a fixed amount per standard deviation. Fitted by
//! Newton's method with a backtracking line search, which converges in a handful of
//! iterations, deterministically, without a learning rate to tune.
//!
//! Features are standardised inside the model (missing values imputed by the training
//! median, then centred and scaled by the training mean and standard deviation), so the
//! penalty treats all fields alike and a contribution is `coefficient × z`, measured from the
//! average training contact: `base_value + Σ contributions == raw score`.
//!
//! Values are clamped to the range seen in training before standardising. A straight line
//! extrapolated far beyond its data is fiction: a typo of 99,999 visits would otherwise make
//! a lead certain to convert (trees, flat beyond their last threshold, behave the same way).

use serde::{Deserialize, Serialize};

use crate::dataset::Matrix;
use crate::family::{FitError, check_fit_input};

/// Settings of the logistic regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinearParams {
    /// L2 penalty on the standardised coefficients, added to the summed (not averaged) log
    /// loss: 1.0 is scikit-learn's default `C = 1`, so the two are comparable.
    pub l2: f64,
    pub max_iterations: usize,
}

impl Default for LinearParams {
    fn default() -> Self {
        LinearParams { l2: 1.0, max_iterations: 100 }
    }
}

/// A fitted logistic regression. Checked when deserialised (vector lengths agree).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "LogisticParts")]
pub struct LogisticModel {
    /// Log-odds of the average training contact (all z = 0).
    intercept: f64,
    /// Per feature, on the standardised scale; 0 for features constant in training.
    coefficients: Vec<f64>,
    /// Training median, used in place of a missing (non-finite) value.
    imputation: Vec<f64>,
    centers: Vec<f64>,
    /// Training standard deviation; 0 marks a feature constant in training (unused).
    scales: Vec<f64>,
    /// Smallest and largest training value (after imputation): the clamping range.
    lower: Vec<f64>,
    upper: Vec<f64>,
    /// Newton iterations used, for the curious and for tests of convergence.
    iterations: usize,
}

/// Deserialised form of a [`LogisticModel`], before its invariants are checked.
#[derive(Deserialize)]
struct LogisticParts {
    intercept: f64,
    coefficients: Vec<f64>,
    imputation: Vec<f64>,
    centers: Vec<f64>,
    scales: Vec<f64>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    iterations: usize,
}

impl TryFrom<LogisticParts> for LogisticModel {
    type Error = String;

    fn try_from(parts: LogisticParts) -> Result<LogisticModel, String> {
        let p = parts.coefficients.len();
        let lengths = [
            parts.imputation.len(),
            parts.centers.len(),
            parts.scales.len(),
            parts.lower.len(),
            parts.upper.len(),
        ];
        if lengths.iter().any(|&len| len != p) {
            return Err("the logistic regression's vectors differ in length".into());
        }
        Ok(LogisticModel {
            intercept: parts.intercept,
            coefficients: parts.coefficients,
            imputation: parts.imputation,
            centers: parts.centers,
            scales: parts.scales,
            lower: parts.lower,
            upper: parts.upper,
            iterations: parts.iterations,
        })
    }
}

/// Standardised value of feature `j`, or `None` for a feature the model does not use.
#[inline]
fn standardised(model: &LogisticModel, j: usize, x: f64) -> Option<f64> {
    let scale = model.scales[j];
    if scale == 0.0 {
        return None;
    }
    let x = if x.is_finite() {
        // max/min rather than clamp: clamp panics on a reversed range, which only a damaged
        // file could hold.
        x.max(model.lower[j]).min(model.upper[j])
    } else {
        model.imputation[j]
    };
    Some((x - model.centers[j]) / scale)
}

/// `ln(1 + e^eta)` without overflow.
fn softplus(eta: f64) -> f64 {
    if eta > 0.0 { eta + (-eta).exp().ln_1p() } else { eta.exp().ln_1p() }
}

pub(crate) fn sigmoid(eta: f64) -> f64 {
    if eta >= 0.0 {
        1.0 / (1.0 + (-eta).exp())
    } else {
        let e = eta.exp();
        e / (1.0 + e)
    }
}

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_unstable_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 { values[mid] } else { values[mid - 1] / 2.0 + values[mid] / 2.0 }
}

impl LogisticModel {
    /// Fit on `features` (rows = contacts) and their outcomes.
    pub fn fit(features: &Matrix, labels: &[bool], params: &LinearParams) -> Result<LogisticModel, FitError> {
        check_fit_input(features, labels)?;
        let (n, p) = (features.rows(), features.cols());
        let l2 =
            if params.l2.is_finite() && params.l2 >= 0.0 { params.l2 } else { LinearParams::default().l2 };

        let mut imputation = vec![0.0; p];
        let mut centers = vec![0.0; p];
        let mut scales = vec![0.0; p];
        let mut lower = vec![0.0; p];
        let mut upper = vec![0.0; p];
        let mut column = Vec::with_capacity(n);
        for j in 0..p {
            column.clear();
            column.extend((0..n).map(|i| features.get(i, j)).filter(|x| x.is_finite()));
            imputation[j] = median(&mut column);
            // `median` sorted `column`; the imputed value lies within its range.
            lower[j] = column.first().copied().unwrap_or(imputation[j]);
            upper[j] = column.last().copied().unwrap_or(imputation[j]);
            let value = |i: usize| {
                let x = features.get(i, j);
                if x.is_finite() { x } else { imputation[j] }
            };
            let mean = (0..n).map(value).sum::<f64>() / n as f64;
            let variance = (0..n).map(|i| (value(i) - mean).powi(2)).sum::<f64>() / n as f64;
            centers[j] = mean;
            // A feature that does not vary in training cannot be learnt; relative threshold so
            // large-valued fields with float noise count as constant too.
            if variance.sqrt() > 1e-12 * mean.abs().max(1.0) {
                scales[j] = variance.sqrt();
            }
        }

        // Fit on x / scale, *not centred*: one-hot rows stay sparse, which makes each Newton
        // step cost O(rows × nonzeros²) instead of O(rows × features²). With an unpenalised
        // intercept, centring only shifts the intercept, so the optimum is the same.
        let active: Vec<usize> = (0..p).filter(|&j| scales[j] > 0.0).collect();
        let mut row_start = Vec::with_capacity(n + 1);
        let mut entries: Vec<(usize, f64)> = Vec::new();
        row_start.push(0);
        for i in 0..n {
            for (slot, &j) in active.iter().enumerate() {
                let x = features.get(i, j);
                let x = if x.is_finite() { x } else { imputation[j] };
                if x != 0.0 {
                    // System index 0 is the intercept.
                    entries.push((slot + 1, x / scales[j]));
                }
            }
            row_start.push(entries.len());
        }
        let dim = active.len() + 1;
        let y: Vec<f64> = labels.iter().map(|&l| f64::from(u8::from(l))).collect();

        let objective = |w: &[f64], eta: &mut [f64]| -> f64 {
            let mut loss = 0.0;
            for i in 0..n {
                let mut e = w[0];
                for &(k, x) in &entries[row_start[i]..row_start[i + 1]] {
                    e += w[k] * x;
                }
                eta[i] = e;
                loss += softplus(e) - y[i] * e;
            }
            loss + 0.5 * l2 * w[1..].iter().map(|v| v * v).sum::<f64>()
        };

        let mut weights = vec![0.0; dim];
        // Start from the base rate: the intercept-only optimum.
        let positives = y.iter().sum::<f64>();
        weights[0] = (positives / (n as f64 - positives)).ln();
        let mut eta = vec![0.0; n];
        let mut trial_eta = vec![0.0; n];
        let mut current = objective(&weights, &mut eta);
        let mut gradient = vec![0.0; dim];
        let mut hessian = vec![0.0; dim * dim];
        let mut iterations = 0;
        for _ in 0..params.max_iterations {
            iterations += 1;
            gradient.fill(0.0);
            hessian.fill(0.0);
            for i in 0..n {
                let prob = sigmoid(eta[i]);
                let residual = prob - y[i];
                let w = prob * (1.0 - prob);
                let row = &entries[row_start[i]..row_start[i + 1]];
                gradient[0] += residual;
                hessian[0] += w;
                for (a, &(ka, xa)) in row.iter().enumerate() {
                    gradient[ka] += residual * xa;
                    hessian[ka] += w * xa;
                    let wxa = w * xa;
                    let h_row = &mut hessian[ka * dim..(ka + 1) * dim];
                    for &(kb, xb) in &row[a..] {
                        h_row[kb] += wxa * xb;
                    }
                }
            }
            for k in 1..dim {
                gradient[k] += l2 * weights[k];
                hessian[k * dim + k] += l2;
            }
            // Mirror the upper triangle (entries are stored in increasing index order).
            for a in 0..dim {
                for b in (a + 1)..dim {
                    hessian[b * dim + a] = hessian[a * dim + b];
                }
            }
            let Some(step) = solve_symmetric(&mut hessian, dim, &gradient) else {
                break;
            };
            // Newton decrement: predicted decrease of the objective; below 1e-10 nats in
            // total the fit is as good as f64 can tell.
            let decrement: f64 = gradient.iter().zip(&step).map(|(g, s)| g * s).sum();
            if decrement.is_nan() || decrement < 2e-10 {
                break;
            }
            let mut t = 1.0;
            let mut accepted = false;
            let mut trial = vec![0.0; dim];
            for _ in 0..40 {
                for k in 0..dim {
                    trial[k] = weights[k] - t * step[k];
                }
                let value = objective(&trial, &mut trial_eta);
                // Armijo condition with the customary c = 1e-4.
                if value <= current - 1e-4 * t * decrement {
                    weights.copy_from_slice(&trial);
                    std::mem::swap(&mut eta, &mut trial_eta);
                    current = value;
                    accepted = true;
                    break;
                }
                t *= 0.5;
            }
            if !accepted {
                break;
            }
        }

        let mut coefficients = vec![0.0; p];
        let mut intercept = weights[0];
        for (slot, &j) in active.iter().enumerate() {
            coefficients[j] = weights[slot + 1];
            // w·(x/s) = w·(x − c)/s + w·c/s: move the centre into the intercept.
            intercept += weights[slot + 1] * centers[j] / scales[j];
        }
        Ok(LogisticModel { intercept, coefficients, imputation, centers, scales, lower, upper, iterations })
    }

    /// Number of features the model expects.
    pub fn feature_count(&self) -> usize {
        self.coefficients.len()
    }

    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// Coefficients on the standardised scale (log-odds per standard deviation).
    pub fn coefficients(&self) -> &[f64] {
        &self.coefficients
    }

    /// Log-odds of conversion for one encoded row (`feature_count()` values).
    pub fn raw_score(&self, row: &[f64]) -> f64 {
        let mut score = self.intercept;
        for (j, &x) in row.iter().enumerate().take(self.coefficients.len()) {
            if let Some(z) = standardised(self, j, x) {
                score += self.coefficients[j] * z;
            }
        }
        score
    }

    /// Base value (log-odds of the average training contact); fills `contributions` (one
    /// per feature) so that base value plus their sum is [`LogisticModel::raw_score`].
    pub fn contributions(&self, row: &[f64], contributions: &mut [f64]) -> f64 {
        for (j, out) in contributions.iter_mut().enumerate() {
            *out = match (row.get(j), self.coefficients.get(j)) {
                (Some(&x), Some(&c)) => standardised(self, j, x).map_or(0.0, |z| c * z),
                _ => 0.0,
            };
        }
        self.intercept
    }
}

/// Solve `A x = b` for symmetric positive definite `A` (row-major `dim × dim`, overwritten by
/// its Cholesky factor). `None` if `A` is not positive definite.
fn solve_symmetric(a: &mut [f64], dim: usize, b: &[f64]) -> Option<Vec<f64>> {
    for j in 0..dim {
        let mut diagonal = a[j * dim + j];
        for k in 0..j {
            diagonal -= a[j * dim + k] * a[j * dim + k];
        }
        if diagonal.is_nan() || diagonal <= 0.0 {
            return None;
        }
        let pivot = diagonal.sqrt();
        a[j * dim + j] = pivot;
        for i in (j + 1)..dim {
            let mut v = a[i * dim + j];
            for k in 0..j {
                v -= a[i * dim + k] * a[j * dim + k];
            }
            a[i * dim + j] = v / pivot;
        }
    }
    let mut x = b.to_vec();
    for i in 0..dim {
        for k in 0..i {
            x[i] -= a[i * dim + k] * x[k];
        }
        x[i] /= a[i * dim + i];
    }
    for i in (0..dim).rev() {
        for k in (i + 1)..dim {
            x[i] -= a[k * dim + i] * x[k];
        }
        x[i] /= a[i * dim + i];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_known_logistic_relation() {
        // Deterministic grid: P(convert) = sigmoid(-0.5 + 2x), with outcome frequencies
        // matching the probability exactly in each x cell (100 contacts per cell).
        let mut values = Vec::new();
        let mut labels = Vec::new();
        for cell in 0..21 {
            let x = -1.0 + cell as f64 * 0.1;
            let converted = (sigmoid(-0.5 + 2.0 * x) * 100.0).round() as usize;
            for k in 0..100 {
                values.push(x);
                labels.push(k < converted);
            }
        }
        let features = Matrix::from_row_major(labels.len(), 1, values).unwrap();
        let params = LinearParams { l2: 0.0, ..LinearParams::default() };
        let model = LogisticModel::fit(&features, &labels, &params).unwrap();
        assert!(model.iterations() < 15, "{}", model.iterations());
        let at = |x: f64| model.raw_score(&[x]);
        assert!((at(0.0) - -0.5).abs() < 0.02, "{}", at(0.0));
        assert!((at(1.0) - at(0.0) - 2.0).abs() < 0.05, "{}", at(1.0) - at(0.0));
    }

    #[test]
    fn missing_values_take_the_median_and_contributions_add_up() {
        let features = Matrix::from_row_major(
            6,
            2,
            vec![1.0, 0.0, 2.0, 1.0, f64::NAN, 0.0, 4.0, 1.0, 5.0, 1.0, 6.0, 0.0],
        )
        .unwrap();
        let labels = [false, false, true, true, true, false];
        let model = LogisticModel::fit(&features, &labels, &LinearParams::default()).unwrap();
        assert_eq!(model.imputation[0], 4.0);
        assert_eq!(model.raw_score(&[f64::NAN, 0.0]), model.raw_score(&[4.0, 0.0]));
        let mut contributions = [0.0; 2];
        for row in [[1.0, 0.0], [f64::NAN, 1.0], [f64::INFINITY, 1.0], [1e300, 0.0], [-1e300, 1.0]] {
            let base = model.contributions(&row, &mut contributions);
            let total = base + contributions.iter().sum::<f64>();
            let raw = model.raw_score(&row);
            assert!((total - raw).abs() <= 1e-9 * raw.abs().max(1.0), "{total} vs {raw}");
        }
    }

    #[test]
    fn values_beyond_the_training_range_count_as_its_ends() {
        let features = Matrix::from_row_major(4, 1, vec![0.0, 1.0, 2.0, 3.0]).unwrap();
        let labels = [false, true, false, true];
        let model = LogisticModel::fit(&features, &labels, &LinearParams::default()).unwrap();
        assert_eq!(model.raw_score(&[99_999.0]), model.raw_score(&[3.0]));
        assert_eq!(model.raw_score(&[-5.0]), model.raw_score(&[0.0]));
        assert_ne!(model.raw_score(&[3.0]), model.raw_score(&[0.0]));
    }

    #[test]
    fn separable_data_stays_finite_thanks_to_the_penalty() {
        let features = Matrix::from_row_major(4, 1, vec![0.0, 1.0, 2.0, 3.0]).unwrap();
        let labels = [false, false, true, true];
        let model = LogisticModel::fit(&features, &labels, &LinearParams::default()).unwrap();
        assert!(model.coefficients()[0].is_finite() && model.coefficients()[0] > 0.0);
    }

    #[test]
    fn constant_features_get_no_weight() {
        let features = Matrix::from_row_major(4, 2, vec![7.0, 0.0, 7.0, 1.0, 7.0, 2.0, 7.0, 3.0]).unwrap();
        let labels = [false, true, false, true];
        let model = LogisticModel::fit(&features, &labels, &LinearParams::default()).unwrap();
        assert_eq!(model.coefficients()[0], 0.0);
    }
}

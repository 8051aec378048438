//! Turning a model's raw log-odds into a probability the user can take at its word ("of the
//! leads shown 30 %, about 30 % convert"). Boosted trees and penalised regressions are both
//! somewhat miscalibrated out of the box; a calibrator fitted on scores the model did not
//! train on (out-of-fold scores) corrects that. Two methods:
//! - Platt scaling: `p = sigmoid(a·score + b)`, two parameters, smooth, hard to overfit;
//! - isotonic regression: the best non-decreasing step fit (pool-adjacent-violators),
//!   linearly interpolated between steps; more flexible, needs more data.
//!
//! Training picks the one with the lower cross-validated log loss on out-of-fold scores, and
//! neither (the identity, `sigmoid(score)`) when neither beats the model's own probability:
//! a model fitted by minimising log loss, as ours are, is often calibrated already, and then
//! a calibrator only adds the noise of its own fit. All three are monotone, so the
//! calibrated probability ranks leads as the raw score does.

use serde::{Deserialize, Serialize};

use crate::linear::sigmoid;
use crate::metrics::log_loss;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CalibrationMethod {
    /// No calibration: the model's own probability, `sigmoid(score)`.
    Identity,
    Platt,
    Isotonic,
}

/// A fitted map from raw log-odds to probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Calibrator {
    /// `sigmoid(score)`.
    Identity,
    Platt {
        slope: f64,
        intercept: f64,
    },
    /// Knots `(score, probability)`, scores non-decreasing; linear between knots, flat
    /// beyond the ends, clipped to `[floor, 1 - floor]`.
    Isotonic {
        scores: Vec<f64>,
        probabilities: Vec<f64>,
        floor: f64,
    },
}

impl Calibrator {
    /// Fit the given method on raw scores and outcomes. Returns the identity map
    /// (`sigmoid(score)`) when there is nothing to fit on.
    pub fn fit(method: CalibrationMethod, scores: &[f64], labels: &[bool]) -> Calibrator {
        match method {
            CalibrationMethod::Identity => Calibrator::Identity,
            CalibrationMethod::Platt => Calibrator::fit_platt(scores, labels),
            CalibrationMethod::Isotonic => Calibrator::fit_isotonic(scores, labels),
        }
    }

    pub fn method(&self) -> CalibrationMethod {
        match self {
            Calibrator::Identity => CalibrationMethod::Identity,
            Calibrator::Platt { .. } => CalibrationMethod::Platt,
            Calibrator::Isotonic { .. } => CalibrationMethod::Isotonic,
        }
    }

    /// Platt scaling fitted by Newton's method on Platt's smoothed targets
    /// (`(N₊+1)/(N₊+2)` and `1/(N₋+2)`), which keep a perfectly separating score from
    /// driving the slope to infinity.
    pub fn fit_platt(scores: &[f64], labels: &[bool]) -> Calibrator {
        let identity = Calibrator::Platt { slope: 1.0, intercept: 0.0 };
        let pairs: Vec<(f64, bool)> =
            scores.iter().zip(labels).filter(|(s, _)| s.is_finite()).map(|(&s, &l)| (s, l)).collect();
        if pairs.is_empty() {
            return identity;
        }
        let positives = pairs.iter().filter(|p| p.1).count() as f64;
        let negatives = pairs.len() as f64 - positives;
        let high = (positives + 1.0) / (positives + 2.0);
        let low = 1.0 / (negatives + 2.0);
        let target = |l: bool| if l { high } else { low };
        let loss = |a: f64, b: f64| -> f64 {
            pairs
                .iter()
                .map(|&(s, l)| {
                    let eta = a * s + b;
                    let t = target(l);
                    // Cross-entropy via softplus, stable for large |eta|.
                    let softplus = if eta > 0.0 { eta + (-eta).exp().ln_1p() } else { eta.exp().ln_1p() };
                    softplus - t * eta
                })
                .sum()
        };
        let (mut a, mut b) = (1.0, 0.0);
        let mut current = loss(a, b);
        for _ in 0..100 {
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for &(s, l) in &pairs {
                let p = sigmoid(a * s + b);
                let r = p - target(l);
                let w = (p * (1.0 - p)).max(1e-12);
                ga += r * s;
                gb += r;
                haa += w * s * s;
                hab += w * s;
                hbb += w;
            }
            // Tiny ridge: a constant score column makes the 2×2 system singular.
            haa += 1e-9;
            hbb += 1e-9;
            let det = haa * hbb - hab * hab;
            if det.is_nan() || det <= 0.0 {
                break;
            }
            let da = (hbb * ga - hab * gb) / det;
            let db = (haa * gb - hab * ga) / det;
            let decrement = ga * da + gb * db;
            if decrement.is_nan() || decrement <= 1e-12 {
                break;
            }
            let mut t = 1.0;
            let mut moved = false;
            for _ in 0..40 {
                let (na, nb) = (a - t * da, b - t * db);
                let value = loss(na, nb);
                if value <= current - 1e-4 * t * decrement {
                    (a, b, current) = (na, nb, value);
                    moved = true;
                    break;
                }
                t *= 0.5;
            }
            if !moved {
                break;
            }
        }
        Calibrator::Platt { slope: a, intercept: b }
    }

    /// Isotonic regression by pool-adjacent-violators over scores sorted ascending (equal
    /// scores pooled first, so the fit does not depend on row order).
    pub fn fit_isotonic(scores: &[f64], labels: &[bool]) -> Calibrator {
        let mut pairs: Vec<(f64, bool)> =
            scores.iter().zip(labels).filter(|(s, _)| s.is_finite()).map(|(&s, &l)| (s, l)).collect();
        if pairs.is_empty() {
            return Calibrator::Platt { slope: 1.0, intercept: 0.0 };
        }
        pairs.sort_by(|x, y| x.0.total_cmp(&y.0));
        struct Block {
            converted: f64,
            weight: f64,
            low: f64,
            high: f64,
        }
        let mut blocks: Vec<Block> = Vec::new();
        let mut start = 0;
        while start < pairs.len() {
            let score = pairs[start].0;
            let end = start + pairs[start..].iter().take_while(|p| p.0 == score).count();
            let converted = pairs[start..end].iter().filter(|p| p.1).count() as f64;
            blocks.push(Block { converted, weight: (end - start) as f64, low: score, high: score });
            // Merge backwards while the fit would decrease.
            while blocks.len() >= 2 {
                let last = &blocks[blocks.len() - 1];
                let previous = &blocks[blocks.len() - 2];
                if previous.converted / previous.weight >= last.converted / last.weight {
                    let merged = Block {
                        converted: previous.converted + last.converted,
                        weight: previous.weight + last.weight,
                        low: previous.low,
                        high: last.high,
                    };
                    blocks.pop();
                    blocks.pop();
                    blocks.push(merged);
                } else {
                    break;
                }
            }
            start = end;
        }
        let mut knot_scores = Vec::with_capacity(2 * blocks.len());
        let mut knot_probabilities = Vec::with_capacity(2 * blocks.len());
        for block in &blocks {
            let rate = block.converted / block.weight;
            knot_scores.push(block.low);
            knot_probabilities.push(rate);
            if block.high > block.low {
                knot_scores.push(block.high);
                knot_probabilities.push(rate);
            }
        }
        Calibrator::Isotonic {
            scores: knot_scores,
            probabilities: knot_probabilities,
            // From n calibration contacts no probability below 1/(2n) can be claimed; the
            // floor also keeps log loss finite on a contact unlike any seen.
            floor: 0.5 / pairs.len() as f64,
        }
    }

    /// Calibrated probability of conversion for a raw score.
    pub fn probability(&self, raw: f64) -> f64 {
        match self {
            Calibrator::Identity => sigmoid(raw),
            Calibrator::Platt { slope, intercept } => sigmoid(slope * raw + intercept),
            Calibrator::Isotonic { scores, probabilities, floor } => {
                let p = interpolate(scores, probabilities, raw);
                p.clamp(*floor, 1.0 - *floor)
            }
        }
    }
}

fn interpolate(xs: &[f64], ys: &[f64], x: f64) -> f64 {
    // Knot lists of different lengths can only come from a damaged file: use the common
    // prefix rather than index past either.
    let n = xs.len().min(ys.len());
    if n == 0 {
        return 0.5;
    }
    if n == 1 {
        return ys[0];
    }
    let (first, last) = (xs[0], xs[n - 1]);
    // NaN scores (never produced by our models) get the lowest probability.
    if x.is_nan() || x <= first {
        return ys[0];
    }
    if x >= last {
        return ys[n - 1];
    }
    // First knot strictly above x; x lies in [xs[i-1], xs[i]).
    let i = xs[..n].partition_point(|&k| k <= x).clamp(1, n - 1);
    let (x0, x1, y0, y1) = (xs[i - 1], xs[i], ys[i - 1], ys[i]);
    if x1 > x0 { y0 + (y1 - y0) * (x - x0) / (x1 - x0) } else { y1 }
}

/// Log loss of `method` on out-of-fold scores when each fold is calibrated by a calibrator
/// fitted on the other folds: an honest estimate of how each method does on new contacts.
pub fn cross_validated_log_loss(
    method: CalibrationMethod,
    scores: &[f64],
    labels: &[bool],
    fold_of: &[usize],
    folds: usize,
) -> Option<f64> {
    let mut probabilities = vec![0.0; scores.len()];
    for fold in 0..folds {
        let (fit_scores, fit_labels): (Vec<f64>, Vec<bool>) =
            (0..scores.len()).filter(|&i| fold_of[i] != fold).map(|i| (scores[i], labels[i])).unzip();
        let calibrator = Calibrator::fit(method, &fit_scores, &fit_labels);
        for i in (0..scores.len()).filter(|&i| fold_of[i] == fold) {
            probabilities[i] = calibrator.probability(scores[i]);
        }
    }
    log_loss(labels, &probabilities)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platt_recovers_a_known_scale() {
        // Outcomes follow sigmoid(2·score - 1) exactly in each score cell.
        let mut scores = Vec::new();
        let mut labels = Vec::new();
        for cell in 0..21 {
            let s = -2.0 + cell as f64 * 0.2;
            let converted = (sigmoid(2.0 * s - 1.0) * 200.0).round() as usize;
            for k in 0..200 {
                scores.push(s);
                labels.push(k < converted);
            }
        }
        let Calibrator::Platt { slope, intercept } = Calibrator::fit_platt(&scores, &labels) else {
            panic!("Platt fit returned another calibrator");
        };
        assert!((slope - 2.0).abs() < 0.05, "{slope}");
        assert!((intercept + 1.0).abs() < 0.05, "{intercept}");
    }

    #[test]
    fn identity_is_the_model_own_probability() {
        let calibrator = Calibrator::fit(CalibrationMethod::Identity, &[-1.0, 2.0], &[false, true]);
        assert_eq!(calibrator.method(), CalibrationMethod::Identity);
        for raw in [-3.0, 0.0, 0.7, 5.0] {
            assert_eq!(calibrator.probability(raw), sigmoid(raw));
        }
    }

    #[test]
    fn isotonic_is_monotone_and_fits_steps() {
        let scores = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let labels = [false, true, false, true, true, true];
        let calibrator = Calibrator::fit_isotonic(&scores, &labels);
        // PAVA pools (2, 3) into 0.5: [0, .5, .5, 1, 1, 1].
        assert_eq!(calibrator.probability(1.0), 0.5 / 6.0);
        assert_eq!(calibrator.probability(2.5), 0.5);
        assert_eq!(calibrator.probability(3.5), 0.75);
        assert_eq!(calibrator.probability(100.0), 1.0 - 0.5 / 6.0);
        let mut previous = 0.0;
        for k in 0..100 {
            let p = calibrator.probability(k as f64 * 0.07);
            assert!(p >= previous);
            previous = p;
        }
    }

    #[test]
    fn damaged_isotonic_knots_do_not_panic() {
        let damaged =
            Calibrator::Isotonic { scores: vec![0.0, 1.0, 2.0], probabilities: vec![0.2], floor: 0.01 };
        assert_eq!(damaged.probability(0.5), 0.2);
        let unsorted = Calibrator::Isotonic {
            scores: vec![2.0, 0.0, 1.0],
            probabilities: vec![0.1, 0.5, 0.9],
            floor: 0.01,
        };
        for raw in [-1.0, 0.5, 1.5, 3.0, f64::NAN] {
            assert!((0.0..=1.0).contains(&unsorted.probability(raw)));
        }
    }

    #[test]
    fn calibrators_survive_degenerate_input() {
        for method in [CalibrationMethod::Identity, CalibrationMethod::Platt, CalibrationMethod::Isotonic] {
            for (scores, labels) in [
                (vec![], vec![]),
                (vec![f64::NAN], vec![true]),
                (vec![1.0, 1.0, 1.0], vec![true, true, true]),
                (vec![-1e300, 1e300], vec![false, true]),
            ] {
                let calibrator = Calibrator::fit(method, &scores, &labels);
                for raw in [f64::NEG_INFINITY, -3.0, 0.0, 3.0, f64::INFINITY] {
                    let p = calibrator.probability(raw);
                    assert!((0.0..=1.0).contains(&p), "{method:?} {raw} -> {p}");
                }
            }
        }
    }
}

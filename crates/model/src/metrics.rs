//! How good a conversion model is, in the numbers the quality report shows: ranking quality
//! (ROC AUC, lift of the top decile over the base rate) and probability quality (log loss,
//! Brier score, a calibration table). Every function returns `None` instead of a made-up
//! number when the metric is undefined (one class only, no rows, lengths that differ, a NaN).

use serde::{Deserialize, Serialize};

/// Probabilities are clipped to `[LOG_LOSS_EPSILON, 1 - LOG_LOSS_EPSILON]` for log loss,
/// as scikit-learn does, so one confident mistake costs ~34.5 nats instead of infinity.
pub const LOG_LOSS_EPSILON: f64 = 1e-15;

/// Number of equal-width probability bins of the calibration table.
pub const CALIBRATION_BINS: usize = 10;

fn usable(labels: &[bool], values: &[f64]) -> bool {
    !labels.is_empty() && labels.len() == values.len() && values.iter().all(|v| !v.is_nan())
}

/// Share of converted contacts.
pub fn base_rate(labels: &[bool]) -> Option<f64> {
    (!labels.is_empty()).then(|| labels.iter().filter(|&&l| l).count() as f64 / labels.len() as f64)
}

/// Area under the ROC curve: the probability that a random converted contact scores above
/// a random non-converted one, ties counting one half (the Mann–Whitney statistic).
///
/// ```
/// use leadgate_model::roc_auc;
/// assert_eq!(roc_auc(&[false, true], &[0.1, 0.9]), Some(1.0));
/// assert_eq!(roc_auc(&[false, true], &[0.5, 0.5]), Some(0.5));
/// assert_eq!(roc_auc(&[true, true], &[0.1, 0.9]), None);
/// ```
pub fn roc_auc(labels: &[bool], scores: &[f64]) -> Option<f64> {
    if !usable(labels, scores) {
        return None;
    }
    let positives = labels.iter().filter(|&&l| l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Walk groups of equal scores from the lowest up; each positive beats every negative
    // seen in lower groups and ties with the negatives of its own group.
    let mut negatives_below = 0.0f64;
    let mut wins = 0.0f64;
    let mut start = 0;
    while start < order.len() {
        let score = scores[order[start]];
        let mut end = start;
        let (mut group_pos, mut group_neg) = (0.0f64, 0.0f64);
        while end < order.len() && scores[order[end]] == score {
            if labels[order[end]] {
                group_pos += 1.0;
            } else {
                group_neg += 1.0;
            }
            end += 1;
        }
        wins += group_pos * (negatives_below + 0.5 * group_neg);
        negatives_below += group_neg;
        start = end;
    }
    Some(wins / (positives as f64 * negatives as f64))
}

/// Mean negative log-likelihood of the outcomes under the predicted probabilities (nats).
pub fn log_loss(labels: &[bool], probabilities: &[f64]) -> Option<f64> {
    if !usable(labels, probabilities) {
        return None;
    }
    let total: f64 = labels.iter().zip(probabilities).map(|(&label, &p)| contact_log_loss(label, p)).sum();
    Some(total / labels.len() as f64)
}

/// One contact's term of [`log_loss`].
pub(crate) fn contact_log_loss(label: bool, probability: f64) -> f64 {
    let p = probability.clamp(LOG_LOSS_EPSILON, 1.0 - LOG_LOSS_EPSILON);
    if label { -p.ln() } else { -(1.0 - p).ln() }
}

/// Mean squared difference between probability and outcome (0 = perfect, 0.25 = coin flip).
pub fn brier_score(labels: &[bool], probabilities: &[f64]) -> Option<f64> {
    if !usable(labels, probabilities) {
        return None;
    }
    let total: f64 =
        labels.iter().zip(probabilities).map(|(&label, &p)| (p - f64::from(u8::from(label))).powi(2)).sum();
    Some(total / labels.len() as f64)
}

/// One row of the calibration table: contacts whose predicted probability fell in
/// `[lower, upper)` (the last bin includes 1.0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    pub lower: f64,
    pub upper: f64,
    pub count: usize,
    /// Mean predicted probability in the bin; `None` for an empty bin.
    pub mean_predicted: Option<f64>,
    /// Share of the bin's contacts that converted; `None` for an empty bin.
    pub observed_rate: Option<f64>,
}

/// Reliability table over 10 equal-width probability bins (0–10 %, …, 90–100 %).
/// Equal-width rather than equal-frequency because the user reads it as "of the leads we
/// gave 70–80 %, how many converted?", and empty or thin bins are themselves informative.
/// Counts sum to the number of rows. Probabilities outside `[0, 1]` are clamped.
pub fn calibration_table(labels: &[bool], probabilities: &[f64]) -> Option<Vec<CalibrationBin>> {
    if !usable(labels, probabilities) {
        return None;
    }
    let mut counts = [0usize; CALIBRATION_BINS];
    let mut predicted = [0.0f64; CALIBRATION_BINS];
    let mut converted = [0usize; CALIBRATION_BINS];
    for (&label, &p) in labels.iter().zip(probabilities) {
        let p = p.clamp(0.0, 1.0);
        let bin = ((p * CALIBRATION_BINS as f64) as usize).min(CALIBRATION_BINS - 1);
        counts[bin] += 1;
        predicted[bin] += p;
        converted[bin] += usize::from(label);
    }
    Some(
        (0..CALIBRATION_BINS)
            .map(|bin| {
                let count = counts[bin];
                let n = count as f64;
                CalibrationBin {
                    lower: bin as f64 / CALIBRATION_BINS as f64,
                    upper: (bin + 1) as f64 / CALIBRATION_BINS as f64,
                    count,
                    mean_predicted: (count > 0).then(|| predicted[bin] / n),
                    observed_rate: (count > 0).then(|| converted[bin] as f64 / n),
                }
            })
            .collect(),
    )
}

/// Conversion rate among the top-scored 10 % of contacts divided by the base rate: "calling
/// the model's top decile converts N times better than calling at random". The decile is
/// `ceil(rows / 10)` contacts; contacts tied at its boundary count fractionally, so the
/// result does not depend on row order.
pub fn top_decile_lift(labels: &[bool], scores: &[f64]) -> Option<f64> {
    if !usable(labels, scores) {
        return None;
    }
    let base = base_rate(labels)?;
    if base == 0.0 {
        return None;
    }
    let take = labels.len().div_ceil(10);
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut taken = 0usize;
    let mut converted = 0.0f64;
    let mut start = 0;
    while taken < take && start < order.len() {
        let score = scores[order[start]];
        let end = start + order[start..].iter().take_while(|&&i| scores[i] == score).count();
        let group = end - start;
        let group_converted = order[start..end].iter().filter(|&&i| labels[i]).count() as f64;
        let room = take - taken;
        if group <= room {
            converted += group_converted;
            taken += group;
        } else {
            converted += group_converted * room as f64 / group as f64;
            taken += room;
        }
        start = end;
    }
    Some(converted / take as f64 / base)
}

/// All held-out quality figures of one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub rows: usize,
    pub positives: usize,
    pub base_rate: f64,
    pub auc: f64,
    pub log_loss: f64,
    pub brier: f64,
    pub top_decile_lift: f64,
    pub calibration: Vec<CalibrationBin>,
}

impl Evaluation {
    /// Ranking metrics (AUC, lift) use `ranking`, the model's raw score, which orders
    /// contacts as the calibrated probability does except inside isotonic plateaus where the
    /// raw score still tells them apart; probability metrics use `probabilities`.
    /// `None` when either class is absent or the inputs are unusable.
    pub fn compute(labels: &[bool], ranking: &[f64], probabilities: &[f64]) -> Option<Evaluation> {
        Some(Evaluation {
            rows: labels.len(),
            positives: labels.iter().filter(|&&l| l).count(),
            base_rate: base_rate(labels)?,
            auc: roc_auc(labels, ranking)?,
            log_loss: log_loss(labels, probabilities)?,
            brier: brier_score(labels, probabilities)?,
            top_decile_lift: top_decile_lift(labels, ranking)?,
            calibration: calibration_table(labels, probabilities)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_perfect_reversed_and_constant_rankings() {
        let labels = [false, false, true, true, false, true];
        let perfect = [0.1, 0.2, 0.8, 0.9, 0.3, 0.7];
        let reversed: Vec<f64> = perfect.iter().map(|s| -s).collect();
        assert_eq!(roc_auc(&labels, &perfect), Some(1.0));
        assert_eq!(roc_auc(&labels, &reversed), Some(0.0));
        assert_eq!(roc_auc(&labels, &[0.4; 6]), Some(0.5));
    }

    #[test]
    fn auc_counts_ties_as_half() {
        // Pairs (pos, neg): (0.5 vs 0.5) tie, (0.5 vs 0.1) win, (0.9 vs both) two wins.
        let labels = [true, true, false, false];
        let scores = [0.5, 0.9, 0.5, 0.1];
        assert_eq!(roc_auc(&labels, &scores), Some(3.5 / 4.0));
    }

    #[test]
    fn auc_is_undefined_for_bad_input() {
        assert_eq!(roc_auc(&[], &[]), None);
        assert_eq!(roc_auc(&[true, false], &[0.1]), None);
        assert_eq!(roc_auc(&[true, false], &[f64::NAN, 0.1]), None);
        assert_eq!(roc_auc(&[false, false], &[0.1, 0.2]), None);
        // Infinite scores still rank.
        assert_eq!(roc_auc(&[true, false], &[f64::INFINITY, f64::NEG_INFINITY]), Some(1.0));
    }

    #[test]
    fn log_loss_and_brier_of_known_values() {
        let labels = [true, false];
        let p = [0.8, 0.4];
        let expected = -(0.8f64.ln() + 0.6f64.ln()) / 2.0;
        assert!((log_loss(&labels, &p).unwrap() - expected).abs() < 1e-15);
        assert!((brier_score(&labels, &p).unwrap() - (0.04 + 0.16) / 2.0).abs() < 1e-15);
        // A certain mistake is clipped, not infinite.
        assert!(log_loss(&[true], &[0.0]).unwrap().is_finite());
    }

    #[test]
    fn calibration_table_sums_to_rows_and_bins_edges() {
        let labels = [true, false, true, false, true];
        let p = [0.0, 0.05, 0.1, 0.95, 1.0];
        let table = calibration_table(&labels, &p).unwrap();
        assert_eq!(table.len(), 10);
        assert_eq!(table.iter().map(|b| b.count).sum::<usize>(), 5);
        assert_eq!(table[0].count, 2);
        assert_eq!(table[1].count, 1);
        assert_eq!(table[9].count, 2);
        assert_eq!(table[9].observed_rate, Some(0.5));
        assert_eq!(table[5].mean_predicted, None);
    }

    #[test]
    fn lift_of_a_perfect_ranking_is_one_over_base_rate() {
        // 20 rows, 4 converted: top decile = 2 rows, both converted; base rate 0.2.
        let labels: Vec<bool> = (0..20).map(|i| i < 4).collect();
        let scores: Vec<f64> = (0..20).map(|i| -(i as f64)).collect();
        assert!((top_decile_lift(&labels, &scores).unwrap() - 5.0).abs() < 1e-12);
        // All tied: the decile holds the average conversion rate, lift 1.
        assert!((top_decile_lift(&labels, &[0.0; 20]).unwrap() - 1.0).abs() < 1e-12);
    }
}

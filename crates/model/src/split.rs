//! Seeded, stratified ways to hold contacts out: a train/test split for the quality report
//! and k folds for cross-validation and out-of-fold calibration. Stratified because the
//! conversion rate is the one number every metric is relative to; with a few hundred
//! conversions a plain random split can move it by a point or two and blur comparisons.
//! Deterministic given the seed, so the benchmark can hand the exact split to Python.

use crate::rng::SeededRng;

/// Row indices of a train/test split, each list ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

/// Split rows into train and test so each class keeps its proportion: from each class,
/// `round(class size × test_fraction)` rows chosen at random go to test. `test_fraction`
/// is clamped to `[0, 1]` (NaN counts as 0).
///
/// ```
/// let labels = [true, false, false, true, false, false, true, false, false, false];
/// let split = leadgate_model::stratified_split(&labels, 0.3, 42);
/// assert_eq!(split.test.len(), 3);
/// assert_eq!(split.test.iter().filter(|&&i| labels[i]).count(), 1);
/// ```
pub fn stratified_split(labels: &[bool], test_fraction: f64, seed: u64) -> Split {
    let fraction = if test_fraction.is_nan() { 0.0 } else { test_fraction.clamp(0.0, 1.0) };
    let mut rng = SeededRng::new(seed);
    let mut train = Vec::new();
    let mut test = Vec::new();
    for class in [true, false] {
        let mut rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        rng.shuffle(&mut rows);
        let take = ((rows.len() as f64) * fraction).round() as usize;
        test.extend_from_slice(&rows[..take]);
        train.extend_from_slice(&rows[take..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    Split { train, test }
}

/// Assign each row to one of `k` folds (`k` ≥ 1, values below 1 count as 1) so every fold
/// gets its share of each class: rows of a class are shuffled then dealt round-robin.
/// Returns the fold number of each row.
pub fn stratified_folds(labels: &[bool], k: usize, seed: u64) -> Vec<usize> {
    let k = k.max(1);
    let mut rng = SeededRng::new(seed);
    let mut fold_of = vec![0usize; labels.len()];
    // The positive class is dealt first and the negative class continues where it stopped,
    // so fold sizes differ by at most one overall.
    let mut next = 0usize;
    for class in [true, false] {
        let mut rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        rng.shuffle(&mut rows);
        for row in rows {
            fold_of[row] = next % k;
            next += 1;
        }
    }
    fold_of
}

/// The `(train, held_out)` row lists of fold `fold`, each ascending.
pub fn fold_rows(fold_of: &[usize], fold: usize) -> (Vec<usize>, Vec<usize>) {
    (0..fold_of.len()).partition(|&row| fold_of[row] != fold)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(positives: usize, negatives: usize) -> Vec<bool> {
        let mut labels = vec![true; positives];
        labels.extend(vec![false; negatives]);
        labels
    }

    #[test]
    fn split_keeps_class_proportions_and_partitions_rows() {
        let labels = labels(100, 250);
        let split = stratified_split(&labels, 0.3, 9);
        assert_eq!(split.test.iter().filter(|&&i| labels[i]).count(), 30);
        assert_eq!(split.test.iter().filter(|&&i| !labels[i]).count(), 75);
        let mut all: Vec<usize> = split.train.iter().chain(&split.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..350).collect::<Vec<_>>());
    }

    #[test]
    fn split_depends_on_the_seed_only() {
        let labels = labels(40, 60);
        assert_eq!(stratified_split(&labels, 0.3, 1), stratified_split(&labels, 0.3, 1));
        assert_ne!(stratified_split(&labels, 0.3, 1), stratified_split(&labels, 0.3, 2));
    }

    #[test]
    fn odd_fractions_do_not_panic() {
        let labels = labels(3, 4);
        for fraction in [f64::NAN, -1.0, 0.0, 1.0, 7.0, f64::INFINITY] {
            let split = stratified_split(&labels, fraction, 0);
            assert_eq!(split.train.len() + split.test.len(), 7);
        }
        assert_eq!(stratified_split(&[], 0.3, 0).test.len(), 0);
    }

    #[test]
    fn folds_are_balanced_per_class() {
        let labels = labels(53, 97);
        let folds = stratified_folds(&labels, 5, 3);
        for fold in 0..5 {
            let (_, held) = fold_rows(&folds, fold);
            let positives = held.iter().filter(|&&i| labels[i]).count();
            assert!((10..=11).contains(&positives), "fold {fold}: {positives}");
            assert!((29..=31).contains(&held.len()), "fold {fold}: {}", held.len());
        }
        assert_eq!(stratified_folds(&labels, 0, 3), vec![0; 150]);
    }
}

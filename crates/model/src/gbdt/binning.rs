//! Quantile binning, the step that makes histogram boosting fast: each feature's training
//! values are cut into at most `max_bin` ordered bins (one of them for missing values), so a
//! split search scans a few hundred bin totals instead of thousands of sorted values. Cuts
//! follow LightGBM's greedy scheme: every distinct value gets its own bin when there are few
//! enough, otherwise bins of roughly equal counts; a bin holds at least `min_data_in_bin`
//! values so rare outliers do not get thresholds of their own.
//!
//! Non-finite values (NaN, ±inf) are missing to the trees, as they are to the linear model.

/// How one feature's values map to bins.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FeatureBins {
    /// `upper_bounds[b]` is the largest value of value-bin `b`'s range: `x <= upper_bounds[b]`
    /// and `x > upper_bounds[b - 1]` put `x` in bin `b`. The last value bin has no bound.
    pub(crate) upper_bounds: Vec<f64>,
    /// Whether the training rows had missing values (which then get bin `value_bins()`).
    pub(crate) has_missing: bool,
    /// The most common bin, left implicit in the sparse row lists.
    pub(crate) default_bin: u8,
}

impl FeatureBins {
    pub(crate) fn value_bins(&self) -> usize {
        self.upper_bounds.len() + 1
    }

    pub(crate) fn total_bins(&self) -> usize {
        self.value_bins() + usize::from(self.has_missing)
    }

    pub(crate) fn missing_bin(&self) -> u8 {
        self.value_bins() as u8
    }

    /// Threshold for "left if `x <= threshold`" when splitting after value-bin `bin`: the
    /// bin's upper bound, or `f64::MAX` after the last value bin (every finite value left,
    /// missing right). Kept finite so the model serialises to JSON.
    pub(crate) fn threshold(&self, bin: usize) -> f64 {
        self.upper_bounds.get(bin).copied().unwrap_or(f64::MAX)
    }

    pub(crate) fn bin_of(&self, x: f64) -> u8 {
        if !x.is_finite() {
            // Missing values seen only at prediction time have no bin of their own in
            // training; callers route them by the split's default direction.
            return self.missing_bin();
        }
        self.upper_bounds.partition_point(|&bound| bound < x) as u8
    }
}

/// Midpoint between two consecutive distinct values that is strictly below `high` (so `high`
/// stays in the next bin) and at least `low`.
fn cut_between(low: f64, high: f64) -> f64 {
    let mid = low / 2.0 + high / 2.0;
    if mid >= low && mid < high { mid } else { low }
}

/// Bins for one feature from its training values.
pub(crate) fn fit_bins(values: &[f64], max_bin: usize, min_data_in_bin: usize) -> FeatureBins {
    let mut present: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    let has_missing = present.len() < values.len();
    present.sort_unstable_by(f64::total_cmp);
    let mut distinct: Vec<(f64, usize)> = Vec::new();
    for &x in &present {
        match distinct.last_mut() {
            // -0.0 and 0.0 compare equal and are one value.
            Some((value, count)) if *value == x => *count += 1,
            _ => distinct.push((x, 1)),
        }
    }
    // u8 bins, the missing bin included: at most 255 value bins + 1, and at least 2 bins.
    let value_bins =
        max_bin.saturating_sub(usize::from(has_missing)).clamp(2, 255 - usize::from(has_missing));
    let min_data_in_bin = min_data_in_bin.max(1);

    let mut upper_bounds = Vec::new();
    let mut remaining = present.len();
    let mut in_bin = 0usize;
    for (index, &(value, count)) in distinct.iter().enumerate() {
        in_bin += count;
        remaining -= count;
        let Some(&(next, _)) = distinct.get(index + 1) else {
            break;
        };
        let bins_left = value_bins - upper_bounds.len();
        if bins_left <= 1 {
            break;
        }
        // Equal-count target for the bins still to fill; with few distinct values the
        // target is met by every value and each gets its own bin.
        let target = if distinct.len() <= value_bins { 1 } else { (in_bin + remaining).div_ceil(bins_left) };
        if in_bin >= target.max(min_data_in_bin) {
            upper_bounds.push(cut_between(value, next));
            in_bin = 0;
        }
    }
    // A last bin thinner than min_data_in_bin is merged into the one before it. (Whichever
    // way the loop ended, the last bin holds the current run plus all values not yet seen.)
    let last_bin = in_bin + remaining;
    if last_bin < min_data_in_bin && !upper_bounds.is_empty() {
        upper_bounds.pop();
    }

    let mut bins = FeatureBins { upper_bounds, has_missing, default_bin: 0 };
    let mut counts = vec![0usize; bins.total_bins()];
    for &x in values {
        counts[usize::from(bins.bin_of(x))] += 1;
    }
    // First most common bin, for determinism.
    let mut best = 0;
    for (bin, &count) in counts.iter().enumerate() {
        if count > counts[best] {
            best = bin;
        }
    }
    bins.default_bin = best as u8;
    bins
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_distinct_values_get_one_bin_each() {
        let values = [0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 2.0, 2.0, 2.0];
        let bins = fit_bins(&values, 255, 3);
        assert_eq!(bins.upper_bounds, vec![0.5, 1.5]);
        assert_eq!(bins.bin_of(0.0), 0);
        assert_eq!(bins.bin_of(0.5), 0);
        assert_eq!(bins.bin_of(1.0), 1);
        assert_eq!(bins.bin_of(7.0), 2);
        assert!(!bins.has_missing);
    }

    #[test]
    fn rare_values_share_a_bin() {
        // 5 appears once: it joins its neighbour instead of getting its own threshold.
        let values = [1.0, 1.0, 1.0, 5.0, 9.0, 9.0, 9.0];
        let bins = fit_bins(&values, 255, 3);
        assert_eq!(bins.upper_bounds, vec![3.0]);
        // A thin last bin merges backwards.
        let bins = fit_bins(&[1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0], 255, 3);
        assert_eq!(bins.upper_bounds, vec![1.5]);
    }

    #[test]
    fn many_values_get_equal_count_bins_and_missing_its_own() {
        let mut values: Vec<f64> = (0..1000).map(f64::from).collect();
        values.push(f64::NAN);
        let bins = fit_bins(&values, 11, 3);
        assert!(bins.has_missing);
        assert_eq!(bins.value_bins(), 10);
        assert_eq!(bins.bin_of(f64::NAN), 10);
        assert_eq!(bins.bin_of(f64::INFINITY), 10);
        let mut counts = [0usize; 10];
        for x in 0..1000 {
            counts[usize::from(bins.bin_of(f64::from(x)))] += 1;
        }
        assert!(counts.iter().all(|&c| c == 100), "{counts:?}");
    }

    #[test]
    fn degenerate_inputs_give_one_bin() {
        assert_eq!(fit_bins(&[], 255, 3).value_bins(), 1);
        assert_eq!(fit_bins(&[f64::NAN; 4], 255, 3).total_bins(), 2);
        assert_eq!(fit_bins(&[2.0; 4], 255, 3).value_bins(), 1);
        // Adjacent floats: the cut must keep them apart.
        let next = f64::from_bits(1.0f64.to_bits() + 1);
        let bins = fit_bins(&[1.0, 1.0, 1.0, next, next, next], 255, 3);
        assert_eq!(bins.bin_of(1.0), 0);
        assert_eq!(bins.bin_of(next), 1);
    }
}

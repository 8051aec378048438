//! Growing one tree on binned data, leaf-wise as LightGBM does: repeatedly split the leaf
//! whose best split lowers the loss most, until `num_leaves` leaves or no useful split.
//!
//! Where the time goes, and what keeps it small:
//! - Gradient/hessian histograms per leaf. Each row stores only its bins that differ from
//!   the feature's most common bin (one-hot columns are mostly 0, so a lead touches ~20 of
//!   ~150 features); the common bin's totals are recovered as leaf total minus the rest.
//! - The subtraction trick: only the smaller child's histogram is built from rows; the
//!   larger one is the parent's minus it.
//! - Rows of each leaf are kept contiguous in one index array, partitioned in place (stably,
//!   so results never depend on anything but the data).

use super::binning::FeatureBins;
use super::tree::Node;

/// Training rows in binned form.
pub(crate) struct BinnedRows {
    pub(crate) rows: usize,
    pub(crate) features: Vec<FeatureBins>,
    /// Start of each feature's bins in a flat histogram; one extra entry at the end.
    pub(crate) offsets: Vec<usize>,
    /// Column-major bin of every (feature, row), to route rows at a split.
    pub(crate) columns: Vec<u8>,
    /// Per row, the flat histogram slots of its non-default bins (CSR layout).
    pub(crate) row_start: Vec<usize>,
    pub(crate) row_slots: Vec<u32>,
}

impl BinnedRows {
    pub(crate) fn total_bins(&self) -> usize {
        self.offsets.last().copied().unwrap_or(0)
    }
}

/// Gradient statistics of a set of rows.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Stats {
    pub(crate) gradient: f64,
    pub(crate) hessian: f64,
    pub(crate) count: u32,
}

impl Stats {
    #[inline]
    fn add(&mut self, other: Stats) {
        self.gradient += other.gradient;
        self.hessian += other.hessian;
        self.count += other.count;
    }

    #[inline]
    fn minus(self, other: Stats) -> Stats {
        Stats {
            gradient: self.gradient - other.gradient,
            hessian: self.hessian - other.hessian,
            count: self.count.wrapping_sub(other.count),
        }
    }
}

/// Tree-shape settings the learner needs (a subset of `GbdtParams`).
#[derive(Debug, Clone)]
pub(crate) struct GrowthLimits {
    pub(crate) num_leaves: usize,
    pub(crate) max_depth: Option<usize>,
    pub(crate) min_data_in_leaf: u32,
    pub(crate) min_sum_hessian_in_leaf: f64,
    pub(crate) lambda_l2: f64,
    pub(crate) min_gain_to_split: f64,
    pub(crate) learning_rate: f64,
}

#[derive(Debug, Clone, Copy)]
struct SplitChoice {
    gain: f64,
    feature: usize,
    /// Value bins `<= bin` go left.
    bin: usize,
    missing_left: bool,
    left: Stats,
    right: Stats,
}

struct Leaf {
    begin: usize,
    end: usize,
    node: usize,
    depth: usize,
    stats: Stats,
    histogram: usize,
    best: Option<SplitChoice>,
}

/// Buffers reused across trees of one fit.
pub(crate) struct Grower {
    histograms: Vec<Vec<Stats>>,
    order: Vec<u32>,
    scratch: Vec<u32>,
}

/// A grown tree before it is wrapped: nodes, and for each leaf node the rows it holds.
pub(crate) struct GrownTree {
    pub(crate) nodes: Vec<Node>,
    /// `(node index, rows)` for each leaf, rows as training-row indices.
    pub(crate) leaf_rows: Vec<(usize, Vec<u32>)>,
}

/// Loss reduction score of a leaf with these statistics (LightGBM's leaf gain, no L1).
#[inline]
fn leaf_gain(stats: Stats, lambda_l2: f64) -> f64 {
    // The tiny constant keeps an all-zero-hessian side from dividing by zero.
    stats.gradient * stats.gradient / (stats.hessian + lambda_l2 + 1e-15)
}

#[inline]
fn leaf_output(stats: Stats, limits: &GrowthLimits) -> f64 {
    -stats.gradient / (stats.hessian + limits.lambda_l2 + 1e-15) * limits.learning_rate
}

impl Grower {
    pub(crate) fn new(data: &BinnedRows, num_leaves: usize) -> Grower {
        Grower {
            histograms: (0..num_leaves.max(1)).map(|_| vec![Stats::default(); data.total_bins()]).collect(),
            order: Vec::with_capacity(data.rows),
            scratch: Vec::with_capacity(data.rows),
        }
    }

    pub(crate) fn grow(
        &mut self,
        data: &BinnedRows,
        gradients: &[f64],
        hessians: &[f64],
        limits: &GrowthLimits,
    ) -> GrownTree {
        self.order.clear();
        self.order.extend(0..data.rows as u32);
        let mut free_histograms: Vec<usize> = (1..self.histograms.len()).rev().collect();
        let root_stats = self.build_histogram(data, 0, 0, data.rows, gradients, hessians);
        let mut nodes = vec![Node::Leaf { value: 0.0, cover: f64::from(root_stats.count) }];
        let mut leaves = vec![Leaf {
            begin: 0,
            end: data.rows,
            node: 0,
            depth: 0,
            stats: root_stats,
            histogram: 0,
            best: None,
        }];
        leaves[0].best = self.best_split(data, &leaves[0], limits);

        while leaves.len() < limits.num_leaves {
            // Leaf with the largest gain; the first one on equal gains.
            let mut chosen: Option<(usize, f64)> = None;
            for (index, leaf) in leaves.iter().enumerate() {
                if let Some(best) = leaf.best
                    && chosen.is_none_or(|(_, gain)| best.gain > gain)
                {
                    chosen = Some((index, best.gain));
                }
            }
            let Some((index, _)) = chosen else {
                break;
            };
            let Some(split) = leaves[index].best else {
                break;
            };
            // One buffer per leaf and fewer leaves than buffers: one is always free.
            let Some(small_histogram) = free_histograms.pop() else {
                break;
            };
            let parent = &leaves[index];
            let (begin, end, depth, parent_histogram, parent_node) =
                (parent.begin, parent.end, parent.depth, parent.histogram, parent.node);
            let middle = self.partition(data, begin, end, &split);

            let left_node = nodes.len();
            let right_node = left_node + 1;
            let feature_bins = &data.features[split.feature];
            nodes[parent_node] = Node::Split {
                feature: split.feature,
                threshold: feature_bins.threshold(split.bin),
                missing_left: split.missing_left,
                left: left_node,
                right: right_node,
                cover: f64::from(split.left.count + split.right.count),
            };
            nodes.push(Node::Leaf { value: 0.0, cover: f64::from(split.left.count) });
            nodes.push(Node::Leaf { value: 0.0, cover: f64::from(split.right.count) });

            // A split found now is only used if another leaf may still be added, and only
            // in a child big enough to split again; no search, no histogram needed.
            let searchable = |count: u32| {
                leaves.len() + 1 < limits.num_leaves
                    && count >= limits.min_data_in_leaf.max(1).saturating_mul(2)
            };
            let search_left = searchable(split.left.count);
            let search_right = searchable(split.right.count);

            // Build the smaller child from its rows; the larger inherits the parent's
            // buffer minus the smaller.
            let left_smaller = middle - begin <= end - middle;
            let (small_begin, small_end) = if left_smaller { (begin, middle) } else { (middle, end) };
            let small_stats = if search_left || search_right {
                let stats =
                    self.build_histogram(data, small_histogram, small_begin, small_end, gradients, hessians);
                self.subtract_into(parent_histogram, small_histogram);
                stats
            } else if left_smaller {
                split.left
            } else {
                split.right
            };
            let (left_histogram, right_histogram) = if left_smaller {
                (small_histogram, parent_histogram)
            } else {
                (parent_histogram, small_histogram)
            };
            let (left_stats, right_stats) = if left_smaller {
                (small_stats, leaves[index].stats.minus(small_stats))
            } else {
                (leaves[index].stats.minus(small_stats), small_stats)
            };
            let mut left = Leaf {
                begin,
                end: middle,
                node: left_node,
                depth: depth + 1,
                stats: left_stats,
                histogram: left_histogram,
                best: None,
            };
            let mut right = Leaf {
                begin: middle,
                end,
                node: right_node,
                depth: depth + 1,
                stats: right_stats,
                histogram: right_histogram,
                best: None,
            };
            if search_left {
                left.best = self.best_split(data, &left, limits);
            }
            if search_right {
                right.best = self.best_split(data, &right, limits);
            }
            leaves[index] = left;
            leaves.push(right);
        }

        let mut leaf_rows = Vec::with_capacity(leaves.len());
        for leaf in &leaves {
            nodes[leaf.node] =
                Node::Leaf { value: leaf_output(leaf.stats, limits), cover: f64::from(leaf.stats.count) };
            leaf_rows.push((leaf.node, self.order[leaf.begin..leaf.end].to_vec()));
        }
        GrownTree { nodes, leaf_rows }
    }

    /// Histogram of rows `order[begin..end]` into buffer `target`; returns their totals.
    fn build_histogram(
        &mut self,
        data: &BinnedRows,
        target: usize,
        begin: usize,
        end: usize,
        gradients: &[f64],
        hessians: &[f64],
    ) -> Stats {
        let histogram = &mut self.histograms[target];
        histogram.fill(Stats::default());
        let mut total = Stats::default();
        for &row in &self.order[begin..end] {
            let row = row as usize;
            let stats = Stats { gradient: gradients[row], hessian: hessians[row], count: 1 };
            total.add(stats);
            for &slot in &data.row_slots[data.row_start[row]..data.row_start[row + 1]] {
                histogram[slot as usize].add(stats);
            }
        }
        // The default bin of each feature holds whatever the other bins do not.
        for (feature, bins) in data.features.iter().enumerate() {
            let range = data.offsets[feature]..data.offsets[feature + 1];
            let default_slot = data.offsets[feature] + usize::from(bins.default_bin);
            let mut rest = Stats::default();
            for slot in range {
                if slot != default_slot {
                    rest.add(histogram[slot]);
                }
            }
            histogram[default_slot] = total.minus(rest);
        }
        total
    }

    fn subtract_into(&mut self, target: usize, other: usize) {
        let (a, b) = if target < other {
            let (low, high) = self.histograms.split_at_mut(other);
            (&mut low[target], &high[0])
        } else {
            let (low, high) = self.histograms.split_at_mut(target);
            (&mut high[0], &low[other])
        };
        for (x, &y) in a.iter_mut().zip(b.iter()) {
            *x = x.minus(y);
        }
    }

    /// Stable partition of the leaf's rows: left rows first. Returns the boundary.
    /// Branch-free (each row is written to both destinations and one cursor advances):
    /// left/right is a coin flip to the branch predictor, and this loop runs for every row
    /// at every split.
    fn partition(&mut self, data: &BinnedRows, begin: usize, end: usize, split: &SplitChoice) -> usize {
        let bins = &data.features[split.feature];
        // A bin value no row has when the feature had no missing values in training.
        let missing_bin = if bins.has_missing { usize::from(bins.missing_bin()) } else { usize::MAX };
        let column = &data.columns[split.feature * data.rows..(split.feature + 1) * data.rows];
        let threshold = split.bin;
        let missing_left = split.missing_left;
        self.scratch.clear();
        self.scratch.resize(end - begin, 0);
        let mut write = begin;
        let mut spill = 0;
        for read in begin..end {
            let row = self.order[read];
            let bin = usize::from(column[row as usize]);
            let left = if bin == missing_bin { missing_left } else { bin <= threshold };
            // write <= read, so this never overwrites a row not yet read.
            self.order[write] = row;
            self.scratch[spill] = row;
            write += usize::from(left);
            spill += usize::from(!left);
        }
        self.order[write..end].copy_from_slice(&self.scratch[..spill]);
        write
    }

    fn best_split(&self, data: &BinnedRows, leaf: &Leaf, limits: &GrowthLimits) -> Option<SplitChoice> {
        if limits.max_depth.is_some_and(|max| leaf.depth >= max)
            || leaf.stats.count < limits.min_data_in_leaf.max(1).saturating_mul(2)
        {
            return None;
        }
        let histogram = &self.histograms[leaf.histogram];
        let total = leaf.stats;
        let parent_gain = leaf_gain(total, limits.lambda_l2);
        // Gains below this are float noise, not structure (LightGBM's min_gain_to_split
        // is 0 too, and it compares the same way).
        let threshold_gain = limits.min_gain_to_split.max(0.0) + 1e-10;
        let admissible = |side: Stats| {
            side.count >= limits.min_data_in_leaf && side.hessian >= limits.min_sum_hessian_in_leaf
        };
        let mut best: Option<SplitChoice> = None;
        for (feature, bins) in data.features.iter().enumerate() {
            let slots = &histogram[data.offsets[feature]..data.offsets[feature + 1]];
            let value_bins = bins.value_bins();
            let missing = if bins.has_missing { slots[value_bins] } else { Stats::default() };
            let mut consider = |bin: usize, left: Stats, missing_left: bool| {
                let right = total.minus(left);
                if !admissible(left) || !admissible(right) {
                    return;
                }
                let gain =
                    leaf_gain(left, limits.lambda_l2) + leaf_gain(right, limits.lambda_l2) - parent_gain;
                if gain > threshold_gain && best.is_none_or(|b| gain > b.gain) {
                    best = Some(SplitChoice { gain, feature, bin, missing_left, left, right });
                }
            };
            let mut below = Stats::default();
            for (bin, &slot) in slots.iter().enumerate().take(value_bins - 1) {
                below.add(slot);
                if missing.count > 0 {
                    consider(bin, below, false);
                    let mut with_missing = below;
                    with_missing.add(missing);
                    consider(bin, with_missing, true);
                } else {
                    // No training contact lacks the value here: send future missing values
                    // where most contacts went.
                    consider(bin, below, below.count >= total.count - below.count);
                }
            }
            // Present values on one side, missing on the other.
            if missing.count > 0 {
                consider(value_bins - 1, total.minus(missing), false);
            }
        }
        best
    }
}

//! Exact per-feature explanations of a tree's prediction: TreeSHAP, the polynomial-time
//! algorithm of Lundberg, Erion & Lee ("Consistent Individualized Feature Attribution for
//! Tree Ensembles", 2018, Algorithm 2), tree-path-dependent variant. A feature's
//! contribution is its Shapley value when "not knowing" a feature means averaging over the
//! training contacts that went each way at its splits (node covers). By construction the
//! contributions add up to the tree's output minus its cover-weighted mean output, which is
//! what lets the product say *exactly* why a lead scored what it did.
//!
//! The algorithm walks every root-to-leaf path once, keeping for the features met so far the
//! weights of all subset sizes ("extending" the path by one feature, or "unwinding" one back
//! out when a feature repeats); cost O(leaves × depth²) per tree.

use super::tree::{Node, Tree};

/// One feature on the current path: the fraction of training contacts that followed the
/// path at its splits (`zero`: the feature unknown), whether this contact does (`one`: 1 or
/// 0), and the permutation weight of subsets of the matching size.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PathElement {
    feature: usize,
    zero: f64,
    one: f64,
    weight: f64,
}

/// Marks the root's placeholder path element, which stands for no feature.
const NO_FEATURE: usize = usize::MAX;

/// Reusable TreeSHAP path storage, so explaining many leads allocates once.
#[derive(Debug, Default)]
pub struct ShapScratch {
    path: Vec<PathElement>,
    /// `reciprocals[k] = 1 / k`: the weight updates divide by small integers at every step,
    /// and f64 division is what dominated explanation time (a 1 ms budget per lead); one
    /// multiplication by a stored reciprocal costs a fraction of it.
    reciprocals: Vec<f64>,
}

/// Add this tree's contributions for `row` to `phi` (one slot per feature).
pub(crate) fn add_tree_contributions(tree: &Tree, row: &[f64], phi: &mut [f64], scratch: &mut ShapScratch) {
    // One path segment per recursion level, each at most depth + 1 elements long.
    let levels = tree.depth() + 2;
    let needed = levels * levels;
    if scratch.path.len() < needed {
        scratch.path.resize(needed, PathElement::default());
    }
    if scratch.reciprocals.len() < levels + 1 {
        scratch.reciprocals = (0..=levels).map(|k| if k == 0 { 0.0 } else { 1.0 / k as f64 }).collect();
    }
    let mut walk = Walk { tree, row, phi, path: &mut scratch.path, reciprocals: &scratch.reciprocals };
    walk.recurse(0, 0, 0, 0, 1.0, 1.0, NO_FEATURE);
}

struct Walk<'a> {
    tree: &'a Tree,
    row: &'a [f64],
    phi: &'a mut [f64],
    path: &'a mut [PathElement],
    reciprocals: &'a [f64],
}

impl Walk<'_> {
    /// Visit `node`, whose parent's path is the `parent_len` elements at `parent_start`;
    /// this node's path is built at `start`.
    #[allow(clippy::too_many_arguments)]
    fn recurse(
        &mut self,
        node: usize,
        parent_start: usize,
        start: usize,
        parent_len: usize,
        zero: f64,
        one: f64,
        feature: usize,
    ) {
        self.path.copy_within(parent_start..parent_start + parent_len, start);
        let segment = &mut self.path[start..];
        let inverse = self.reciprocals;
        extend(segment, parent_len, zero, one, feature, inverse);
        let last = parent_len;
        let tree = self.tree;
        let current = &tree.nodes()[node];
        match *current {
            Node::Leaf { value, .. } => {
                // For features this lead does not follow (`one == 0`) the unwound sum is
                // `shared / zero` with `shared` the same for all of them: computed once.
                let mut shared_cold_sum = None;
                for i in 1..=last {
                    let element = segment[i];
                    let weight = if element.one != 0.0 {
                        unwound_sum(segment, last, i, inverse)
                    } else {
                        *shared_cold_sum.get_or_insert_with(|| cold_unwound_sum(segment, last, inverse))
                            / element.zero
                    };
                    if let Some(slot) = self.phi.get_mut(element.feature) {
                        *slot += weight * (element.one - element.zero) * value;
                    }
                }
            }
            Node::Split { feature: split_feature, left, right, cover, .. } => {
                let hot = tree.next(current, self.row).unwrap_or(left);
                let cold = if hot == left { right } else { left };
                let hot_zero = tree.nodes()[hot].cover() / cover;
                let cold_zero = tree.nodes()[cold].cover() / cover;
                // A feature already on the path is taken back out and re-entered with the
                // product of its fractions: a feature counts once however often it splits.
                let (mut incoming_zero, mut incoming_one) = (1.0, 1.0);
                let mut len = last + 1;
                if let Some(k) = (1..=last).find(|&k| segment[k].feature == split_feature) {
                    incoming_zero = segment[k].zero;
                    incoming_one = segment[k].one;
                    unwind(segment, last, k, inverse);
                    len -= 1;
                }
                let child_start = start + last + 1;
                self.recurse(
                    hot,
                    start,
                    child_start,
                    len,
                    hot_zero * incoming_zero,
                    incoming_one,
                    split_feature,
                );
                self.recurse(cold, start, child_start, len, cold_zero * incoming_zero, 0.0, split_feature);
            }
        }
    }
}

/// Append a feature with fractions `zero`/`one` to a path of `len` elements, updating the
/// subset-size weights. `inverse[k]` is `1 / k`.
fn extend(path: &mut [PathElement], len: usize, zero: f64, one: f64, feature: usize, inverse: &[f64]) {
    path[len] = PathElement { feature, zero, one, weight: if len == 0 { 1.0 } else { 0.0 } };
    let inverse_size = inverse[len + 1];
    for i in (0..len).rev() {
        path[i + 1].weight += one * path[i].weight * (i + 1) as f64 * inverse_size;
        path[i].weight = zero * path[i].weight * (len - i) as f64 * inverse_size;
    }
}

/// Remove element `index` from a path whose last element is at `last`, undoing its
/// `extend` on the weights.
fn unwind(path: &mut [PathElement], last: usize, index: usize, inverse: &[f64]) {
    let PathElement { one, zero, .. } = path[index];
    let size = (last + 1) as f64;
    let inverse_size = inverse[last + 1];
    let mut next = path[last].weight;
    if one != 0.0 {
        let scale = size / one;
        for i in (0..last).rev() {
            let kept = path[i].weight;
            let factor = scale * inverse[i + 1];
            path[i].weight = next * factor;
            next = kept - next * (factor * zero * (last - i) as f64 * inverse_size);
        }
    } else {
        let scale = size / zero;
        for i in (0..last).rev() {
            path[i].weight *= scale * inverse[last - i];
        }
    }
    for i in index..last {
        path[i].feature = path[i + 1].feature;
        path[i].zero = path[i + 1].zero;
        path[i].one = path[i + 1].one;
    }
}

/// Total weight the path would have without element `index` (one the lead follows,
/// `one != 0`), without modifying it. The loop carries one multiply and one subtract; the
/// per-step factors are computed off that chain, which is what bounds explanation time.
fn unwound_sum(path: &[PathElement], last: usize, index: usize, inverse: &[f64]) -> f64 {
    let PathElement { one, zero, .. } = path[index];
    let scale = (last + 1) as f64 / one;
    let zero_step = zero * inverse[last + 1];
    let mut next = path[last].weight;
    let mut total = 0.0;
    for i in (0..last).rev() {
        let factor = scale * inverse[i + 1];
        total += next * factor;
        next = path[i].weight - next * (factor * zero_step * (last - i) as f64);
    }
    total
}

/// `zero ×` the total weight the path would have without an element the lead does not
/// follow (`one == 0`): the same for every such element, so the caller divides by each
/// element's `zero`.
fn cold_unwound_sum(path: &[PathElement], last: usize, inverse: &[f64]) -> f64 {
    let size = (last + 1) as f64;
    let mut total = 0.0;
    for i in (0..last).rev() {
        total += path[i].weight * inverse[last - i];
    }
    total * size
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected output when only the features in `known` (a bit set) are known: follow the
    /// contact at their splits, average children by cover elsewhere.
    fn conditional_expectation(tree: &Tree, row: &[f64], known: u32, node: usize) -> f64 {
        let current = &tree.nodes()[node];
        match *current {
            Node::Leaf { value, .. } => value,
            Node::Split { feature, left, right, cover, .. } => {
                if known & (1 << feature) != 0 {
                    let next = tree.next(current, row).unwrap();
                    conditional_expectation(tree, row, known, next)
                } else {
                    let l = tree.nodes()[left].cover();
                    let r = tree.nodes()[right].cover();
                    (l * conditional_expectation(tree, row, known, left)
                        + r * conditional_expectation(tree, row, known, right))
                        / cover
                }
            }
        }
    }

    fn factorial(n: usize) -> f64 {
        (1..=n).map(|k| k as f64).product()
    }

    /// Shapley values by enumerating every subset of features.
    fn brute_force(tree: &Tree, row: &[f64], features: usize) -> Vec<f64> {
        let mut phi = vec![0.0; features];
        for (i, slot) in phi.iter_mut().enumerate() {
            for subset in 0u32..(1 << features) {
                if subset & (1 << i) != 0 {
                    continue;
                }
                let size = subset.count_ones() as usize;
                let weight = factorial(size) * factorial(features - size - 1) / factorial(features);
                *slot += weight
                    * (conditional_expectation(tree, row, subset | (1 << i), 0)
                        - conditional_expectation(tree, row, subset, 0));
            }
        }
        phi
    }

    fn split(feature: usize, threshold: f64, left: usize, right: usize, cover: f64) -> Node {
        Node::Split { feature, threshold, missing_left: true, left, right, cover }
    }

    fn leaf(value: f64, cover: f64) -> Node {
        Node::Leaf { value, cover }
    }

    /// Feature 0 splits twice on one path, feature 2 is used only on one side, feature 3
    /// never: the cases where a sloppy implementation goes wrong.
    fn tricky_tree() -> Tree {
        Tree::new(vec![
            split(0, 5.0, 1, 2, 100.0),
            split(1, 0.5, 3, 4, 60.0),
            split(2, 2.0, 5, 6, 40.0),
            split(0, 2.0, 7, 8, 35.0),
            leaf(0.7, 25.0),
            leaf(-0.4, 30.0),
            leaf(1.3, 10.0),
            leaf(-1.1, 20.0),
            split(1, 0.25, 9, 10, 15.0),
            leaf(0.2, 9.0),
            leaf(2.5, 6.0),
        ])
        .unwrap()
    }

    #[test]
    fn matches_brute_force_shapley_values() {
        let tree = tricky_tree();
        let rows = [
            [1.0, 0.0, 0.0, 9.0],
            [3.0, 0.1, 5.0, 0.0],
            [3.0, 0.4, 5.0, 0.0],
            [7.0, 1.0, 1.0, 0.0],
            [7.0, 1.0, 3.0, 0.0],
            [f64::NAN, f64::NAN, f64::NAN, f64::NAN],
        ];
        let mut scratch = ShapScratch::default();
        for row in rows {
            let mut phi = vec![0.0; 4];
            add_tree_contributions(&tree, &row, &mut phi, &mut scratch);
            let expected = brute_force(&tree, &row, 4);
            for (got, want) in phi.iter().zip(&expected) {
                assert!((got - want).abs() < 1e-12, "{row:?}: {phi:?} vs {expected:?}");
            }
            assert_eq!(phi[3], 0.0);
            let total = tree.expected_value() + phi.iter().sum::<f64>();
            assert!((total - tree.predict(&row)).abs() < 1e-12);
        }
    }

    #[test]
    fn a_single_leaf_explains_nothing() {
        let tree = Tree::new(vec![leaf(0.3, 10.0)]).unwrap();
        let mut phi = vec![0.0; 2];
        add_tree_contributions(&tree, &[1.0, 2.0], &mut phi, &mut ShapScratch::default());
        assert_eq!(phi, [0.0, 0.0]);
        assert_eq!(tree.expected_value(), 0.3);
    }
}

//! One decision tree of the ensemble, in the flat form used to predict and to explain: nodes
//! in a vector, each split naming its feature, its threshold in raw feature units, where
//! missing values go, and how many training contacts passed through it (its cover, which
//! TreeSHAP needs). A tree read from JSON is checked before use, so a damaged model file is
//! an error at load time rather than a panic while scoring.

use serde::{Deserialize, Serialize};

/// A node of a tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Node {
    Split {
        feature: usize,
        /// Finite values `<= threshold` go left.
        threshold: f64,
        /// Where missing (non-finite) values go: the direction learnt from training rows
        /// with the value missing, or the side most contacts took if none were.
        missing_left: bool,
        left: usize,
        right: usize,
        /// Training contacts that reached this node.
        cover: f64,
    },
    Leaf {
        /// Log-odds added by this leaf (already multiplied by the learning rate).
        value: f64,
        cover: f64,
    },
}

impl Node {
    pub(crate) fn cover(&self) -> f64 {
        match self {
            Node::Split { cover, .. } | Node::Leaf { cover, .. } => *cover,
        }
    }
}

/// A decision tree. Invariants (checked on deserialisation): node 0 is the root, every
/// child index is greater than its parent's (so walks terminate) and within bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "TreeNodes", into = "TreeNodes")]
pub struct Tree {
    nodes: Vec<Node>,
    /// Longest root-to-leaf path, in splits (sizes the TreeSHAP path buffer).
    depth: usize,
}

/// Serialised form of a tree.
#[derive(Serialize, Deserialize)]
struct TreeNodes {
    nodes: Vec<Node>,
}

/// Why a tree read from a model file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("damaged tree in model file: {0}")]
pub struct DamagedTree(String);

impl TryFrom<TreeNodes> for Tree {
    type Error = DamagedTree;

    fn try_from(raw: TreeNodes) -> Result<Tree, DamagedTree> {
        Tree::new(raw.nodes)
    }
}

impl From<Tree> for TreeNodes {
    fn from(tree: Tree) -> TreeNodes {
        TreeNodes { nodes: tree.nodes }
    }
}

impl Tree {
    pub(crate) fn new(nodes: Vec<Node>) -> Result<Tree, DamagedTree> {
        if nodes.is_empty() {
            return Err(DamagedTree("a tree has no nodes".into()));
        }
        let mut depth_of = vec![0usize; nodes.len()];
        for (index, node) in nodes.iter().enumerate() {
            if let Node::Split { left, right, threshold, .. } = node {
                for &child in [left, right] {
                    if child <= index || child >= nodes.len() {
                        return Err(DamagedTree(format!(
                            "node {index} points to node {child} of {}",
                            nodes.len()
                        )));
                    }
                    depth_of[child] = depth_of[index] + 1;
                }
                if threshold.is_nan() {
                    return Err(DamagedTree(format!("node {index} has no threshold")));
                }
            }
        }
        let depth = depth_of.iter().copied().max().unwrap_or(0);
        Ok(Tree { nodes, depth })
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub(crate) fn depth(&self) -> usize {
        self.depth
    }

    /// Index of the child `row` goes to from split node `index`, for a split node.
    #[inline]
    pub(crate) fn next(&self, node: &Node, row: &[f64]) -> Option<usize> {
        match *node {
            Node::Split { feature, threshold, missing_left, left, right, .. } => {
                let x = row.get(feature).copied().unwrap_or(f64::NAN);
                let go_left = if x.is_finite() { x <= threshold } else { missing_left };
                Some(if go_left { left } else { right })
            }
            Node::Leaf { .. } => None,
        }
    }

    /// The leaf value `row` lands on.
    #[inline]
    pub fn predict(&self, row: &[f64]) -> f64 {
        let mut index = 0;
        loop {
            let node = &self.nodes[index];
            match self.next(node, row) {
                Some(child) => index = child,
                None => {
                    return match node {
                        Node::Leaf { value, .. } => *value,
                        Node::Split { .. } => 0.0,
                    };
                }
            }
        }
    }

    /// Mean leaf value over the training contacts (cover-weighted): the tree's prediction
    /// when nothing is known about the contact, its share of the base value.
    pub fn expected_value(&self) -> f64 {
        let root = self.nodes[0].cover();
        if root <= 0.0 {
            return 0.0;
        }
        self.nodes
            .iter()
            .map(|node| match node {
                Node::Leaf { value, cover } => value * cover,
                Node::Split { .. } => 0.0,
            })
            .sum::<f64>()
            / root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn stump() -> Tree {
        Tree::new(vec![
            Node::Split { feature: 0, threshold: 1.0, missing_left: false, left: 1, right: 2, cover: 10.0 },
            Node::Leaf { value: -1.0, cover: 6.0 },
            Node::Leaf { value: 2.0, cover: 4.0 },
        ])
        .unwrap()
    }

    #[test]
    fn predicts_by_threshold_and_missing_direction() {
        let tree = stump();
        assert_eq!(tree.predict(&[1.0]), -1.0);
        assert_eq!(tree.predict(&[1.5]), 2.0);
        assert_eq!(tree.predict(&[f64::NAN]), 2.0);
        assert_eq!(tree.predict(&[]), 2.0);
        assert!((tree.expected_value() - 0.2).abs() < 1e-15);
    }

    #[test]
    fn damaged_trees_are_refused() {
        let cyclic = r#"{"nodes":[{"Split":{"feature":0,"threshold":1.0,"missing_left":true,
            "left":0,"right":1,"cover":1.0}},{"Leaf":{"value":0.0,"cover":1.0}}]}"#;
        assert!(serde_json::from_str::<Tree>(cyclic).is_err());
        assert!(serde_json::from_str::<Tree>(r#"{"nodes":[]}"#).is_err());
        let tree = stump();
        let json = serde_json::to_string(&tree).unwrap();
        assert_eq!(serde_json::from_str::<Tree>(&json).unwrap(), tree);
    }
}

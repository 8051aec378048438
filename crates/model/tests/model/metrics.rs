//! The quality figures are right: AUC equals the pairwise definition (ties half) on data
//! full of ties, perfect and reversed rankings give 1 and 0, the calibration table accounts
//! for every contact, lift does not depend on row order.

use leadgate_model::{calibration_table, roc_auc, top_decile_lift};
use proptest::prelude::*;

/// AUC by its definition: over all (converted, not converted) pairs, 1 for a win, ½ a tie.
fn pairwise_auc(labels: &[bool], scores: &[f64]) -> f64 {
    let mut wins = 0.0;
    let mut pairs = 0.0;
    for (i, &li) in labels.iter().enumerate() {
        for (j, &lj) in labels.iter().enumerate() {
            if li && !lj {
                pairs += 1.0;
                if scores[i] > scores[j] {
                    wins += 1.0;
                } else if scores[i] == scores[j] {
                    wins += 0.5;
                }
            }
        }
    }
    wins / pairs
}

/// Labels with both classes and coarse scores (few distinct values: many ties).
fn labelled_scores() -> impl Strategy<Value = (Vec<bool>, Vec<f64>)> {
    (2usize..120).prop_flat_map(|n| {
        (
            prop::collection::vec(any::<bool>(), n),
            prop::collection::vec((0u8..8).prop_map(|s| f64::from(s) / 7.0), n),
        )
    })
}

proptest! {
    #[test]
    fn auc_matches_the_pairwise_definition((labels, scores) in labelled_scores()) {
        let both = labels.iter().any(|&l| l) && labels.iter().any(|&l| !l);
        match roc_auc(&labels, &scores) {
            Some(auc) => {
                prop_assert!(both);
                prop_assert!((auc - pairwise_auc(&labels, &scores)).abs() < 1e-12);
                let reversed: Vec<f64> = scores.iter().map(|s| -s).collect();
                let flipped = roc_auc(&labels, &reversed).expect("defined");
                prop_assert!((auc + flipped - 1.0).abs() < 1e-12);
            }
            None => prop_assert!(!both),
        }
    }

    #[test]
    fn calibration_table_accounts_for_every_contact((labels, scores) in labelled_scores()) {
        let table = calibration_table(&labels, &scores).expect("usable input");
        prop_assert_eq!(table.len(), 10);
        prop_assert_eq!(table.iter().map(|b| b.count).sum::<usize>(), labels.len());
        let converted: f64 = table
            .iter()
            .map(|b| b.observed_rate.unwrap_or(0.0) * b.count as f64)
            .sum();
        let expected = labels.iter().filter(|&&l| l).count() as f64;
        prop_assert!((converted - expected).abs() < 1e-9);
        for bin in &table {
            if let Some(mean) = bin.mean_predicted {
                prop_assert!(mean >= bin.lower && mean <= bin.upper);
            }
        }
    }

    #[test]
    fn lift_does_not_depend_on_row_order((labels, scores) in labelled_scores()) {
        let mut rows: Vec<(bool, f64)> = labels.iter().copied().zip(scores.iter().copied()).collect();
        let lift = top_decile_lift(&labels, &scores);
        rows.reverse();
        let (l2, s2): (Vec<bool>, Vec<f64>) = rows.into_iter().unzip();
        let lift2 = top_decile_lift(&l2, &s2);
        match (lift, lift2) {
            (Some(a), Some(b)) => prop_assert!((a - b).abs() < 1e-12),
            (a, b) => prop_assert_eq!(a, b),
        }
    }
}

#[test]
fn perfect_and_reversed_rankings() {
    let labels: Vec<bool> = (0..100).map(|i| i % 3 == 0).collect();
    let perfect: Vec<f64> = labels.iter().map(|&l| if l { 0.9 } else { 0.1 }).collect();
    let reversed: Vec<f64> = perfect.iter().map(|p| 1.0 - p).collect();
    assert_eq!(roc_auc(&labels, &perfect), Some(1.0));
    assert_eq!(roc_auc(&labels, &reversed), Some(0.0));
    assert_eq!(roc_auc(&labels, &vec![0.3; 100]), Some(0.5));
}

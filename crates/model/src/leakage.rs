//! Fields that tell the outcome by themselves. A field that separates converted from other
//! contacts almost perfectly is rarely a buying signal: it is usually filled in *after* the
//! outcome (sales' tags, a lead-quality rating, a status), and a model trained on it looks
//! excellent on history and says nothing about new leads, which do not have it yet. X
//! Education's `Tags` alone reaches a ROC AUC of about 0.92.
//!
//! Each field is measured alone, on the training rows only: its values are put in buckets (a
//! categorical level, yes/no, or a tenth of a numeric range; missing is a bucket), and each row
//! is scored with the converted share of its bucket among the *other* folds' rows (cross-fitted,
//! so a field with one value per contact scores no better than chance). The field's AUC is that
//! score's ROC AUC.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::dataset::Matrix;
use crate::features::{FeatureSpec, FieldEncoding, FieldKind};
use crate::metrics::roc_auc;

/// A field's ROC AUC when it predicts the outcome alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldSeparation {
    pub field: String,
    pub auc: f64,
}

/// From this single-field AUC on, a field is reported as a suspected leak.
pub const LEAK_AUC: f64 = 0.90;

/// Every used field's single-field AUC, strongest first. `x` holds the training rows encoded by
/// `spec`, `labels` their outcomes, `fold_of` their cross-validation fold.
pub fn field_separation(
    spec: &FeatureSpec,
    x: &Matrix,
    labels: &[bool],
    fold_of: &[usize],
) -> Vec<FieldSeparation> {
    let folds = fold_of.iter().max().map_or(1, |m| m + 1);
    let mut out: Vec<FieldSeparation> = spec
        .fields()
        .iter()
        .filter_map(|field| {
            let buckets = buckets_of(field, x);
            let scores = cross_fitted_rates(&buckets, labels, fold_of, folds);
            Some(FieldSeparation { field: field.name.clone(), auc: roc_auc(labels, &scores)? })
        })
        .collect();
    out.sort_by(|a, b| b.auc.total_cmp(&a.auc).then_with(|| a.field.cmp(&b.field)));
    out
}

/// The bucket of each row for one field: its encoded features as they are, except a numeric
/// value, which is replaced by the tenth of the training values it falls in.
fn buckets_of(field: &FieldEncoding, x: &Matrix) -> Vec<Vec<u64>> {
    let range = field.first_feature..field.first_feature + field.feature_count;
    let value = field.value_feature().filter(|_| field.kind == FieldKind::Numeric);
    let cuts: Vec<f64> = match value {
        Some(v) => {
            let mut values: Vec<f64> = (0..x.rows()).map(|r| x.get(r, v)).filter(|x| x.is_finite()).collect();
            values.sort_by(f64::total_cmp);
            let mut cuts: Vec<f64> =
                (1..10).filter_map(|i| values.get(i * values.len() / 10).copied()).collect();
            cuts.dedup();
            cuts
        }
        None => Vec::new(),
    };
    (0..x.rows())
        .map(|r| {
            range
                .clone()
                .map(|c| {
                    let v = x.get(r, c);
                    if Some(c) == value {
                        cuts.iter().filter(|&&cut| cut <= v).count() as u64
                    } else {
                        v.to_bits()
                    }
                })
                .collect()
        })
        .collect()
}

/// Each row's bucket's converted share among the rows of the other folds, smoothed toward the
/// overall share (one row's worth), so a bucket seen only in the row's own fold scores the
/// overall share.
fn cross_fitted_rates(buckets: &[Vec<u64>], labels: &[bool], fold_of: &[usize], folds: usize) -> Vec<f64> {
    let prior = labels.iter().filter(|&&l| l).count() as f64 / labels.len().max(1) as f64;
    // Per bucket, per fold: (rows, converted).
    let mut counts: HashMap<&[u64], Vec<(f64, f64)>> = HashMap::new();
    for ((b, &label), &fold) in buckets.iter().zip(labels).zip(fold_of) {
        let per_fold = counts.entry(b.as_slice()).or_insert_with(|| vec![(0.0, 0.0); folds]);
        per_fold[fold].0 += 1.0;
        per_fold[fold].1 += f64::from(u8::from(label));
    }
    buckets
        .iter()
        .zip(fold_of)
        .map(|(b, &fold)| {
            let per_fold = &counts[b.as_slice()];
            let (n, pos) = per_fold
                .iter()
                .enumerate()
                .filter(|(f, _)| *f != fold)
                .fold((0.0, 0.0), |(n, p), (_, c)| (n + c.0, p + c.1));
            (pos + prior) / (n + 1.0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{Column, Dataset, Value};
    use crate::features::FeatureOptions;
    use crate::split::stratified_folds;

    #[test]
    fn a_field_filled_after_the_outcome_separates_it_and_an_identifier_does_not() {
        let n = 400;
        let labels: Vec<bool> = (0..n).map(|i| i % 3 == 0).collect();
        let status: Vec<Value> = labels
            .iter()
            .enumerate()
            .map(|(i, &l)| Value::Text(if l || i % 50 == 1 { "Closed by sales" } else { "Open" }.into()))
            .collect();
        let noise: Vec<Value> =
            (0..n).map(|i| Value::Text(["a", "b", "c", "d"][(i * 7) % 4].into())).collect();
        let id: Vec<Value> = (0..n).map(|i| Value::Number(1000.0 + i as f64 * 3.0)).collect();
        let dataset = Dataset {
            columns: vec![
                Column { name: "Status".into(), values: status },
                Column { name: "Noise".into(), values: noise },
                Column { name: "Number".into(), values: id },
            ],
            labels: labels.clone(),
        };
        let rows: Vec<usize> = (0..n).collect();
        let spec = FeatureSpec::fit_rows(&dataset, &rows, &FeatureOptions::default());
        let x = spec.encode(&dataset).unwrap();
        let folds = stratified_folds(&labels, 5, 7);
        let found = field_separation(&spec, &x, &labels, &folds);
        assert_eq!(found[0].field, "Status", "{found:?}");
        assert!(found[0].auc >= LEAK_AUC, "{found:?}");
        for other in &found[1..] {
            assert!(other.auc < 0.7, "{found:?}");
        }
    }
}

//! Training and scoring refuse bad input with errors in the user's words, and never panic:
//! too little history, one outcome only, mismatched lengths, nothing usable, odd options,
//! hostile values.

use leadgate_model::{Column, Dataset, FamilyChoice, InputError, TrainError, TrainOptions, Value, train};

use crate::contacts::synthetic_contacts;

fn with_outcomes(converted: usize, not_converted: usize) -> Dataset {
    let rows = converted + not_converted;
    Dataset {
        columns: vec![Column {
            name: "TotalVisits".into(),
            values: (0..rows).map(|i| Value::Number((i % 7) as f64)).collect(),
        }],
        labels: (0..rows).map(|i| i < converted).collect(),
    }
}

#[test]
fn too_few_converted_contacts_says_how_many_more() {
    let error = train(&with_outcomes(12, 200), &TrainOptions::default()).unwrap_err();
    assert_eq!(error, TrainError::TooFewOutcomes { positives: 12, negatives: 200, minimum: 50 });
    assert_eq!(error.to_string(), "need at least 50 converted contacts to train; have 12 (38 more needed)");
}

#[test]
fn too_few_of_both_names_both() {
    let error = train(&with_outcomes(49, 3), &TrainOptions::default()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "need at least 50 converted and 50 non-converted contacts to train; have 49 converted \
         (1 more needed) and 3 non-converted (47 more needed)"
    );
}

#[test]
fn one_outcome_or_no_rows_is_too_few_outcomes() {
    assert_eq!(
        train(&with_outcomes(300, 0), &TrainOptions::default()),
        Err(TrainError::TooFewOutcomes { positives: 300, negatives: 0, minimum: 50 })
    );
    assert!(matches!(
        train(&Dataset::default(), &TrainOptions::default()),
        Err(TrainError::TooFewOutcomes { positives: 0, negatives: 0, .. })
    ));
    // Exactly at the minimum trains.
    assert!(train(&with_outcomes(50, 50), &TrainOptions::default()).is_ok());
}

#[test]
fn a_column_of_the_wrong_length_is_named() {
    let mut dataset = with_outcomes(60, 60);
    dataset.columns.push(Column { name: "Country".into(), values: vec![Value::Missing; 7] });
    let error = train(&dataset, &TrainOptions::default()).unwrap_err();
    assert_eq!(error, TrainError::ColumnLength { field: "Country".into(), values: 7, labels: 120 });
    assert!(error.to_string().contains("field `Country` has 7 values but there are 120 outcomes"));
}

#[test]
fn no_usable_field_explains_why() {
    let rows = 120;
    let dataset = Dataset {
        columns: vec![
            Column { name: "Magazine".into(), values: vec![Value::Text("No".into()); rows] },
            Column {
                name: "Tags".into(),
                values: (0..rows).map(|i| Value::Text(format!("t{}", i % 3))).collect(),
            },
        ],
        labels: (0..rows).map(|i| i % 2 == 0).collect(),
    };
    let mut options = TrainOptions::default();
    options.features.excluded_fields = vec!["Tags".into()];
    let error = train(&dataset, &options).unwrap_err();
    assert!(matches!(error, TrainError::NoUsableFeature { .. }));
    assert_eq!(
        error.to_string(),
        "no field can be used to predict conversion; unusable: `Magazine`: every contact has \
         the same value (No); excluded by you: `Tags`"
    );
}

#[test]
fn out_of_range_options_are_refused() {
    let dataset = with_outcomes(60, 60);
    for fraction in [0.0, 1.0, -0.3, f64::NAN, f64::INFINITY] {
        let options = TrainOptions { test_fraction: fraction, ..TrainOptions::default() };
        assert!(
            matches!(
                train(&dataset, &options),
                Err(TrainError::InvalidOption { option: "test_fraction", .. })
            ),
            "test_fraction {fraction}"
        );
    }
    // 0.95 leaves 3 converted contacts to train on: too few for 5 folds.
    let options = TrainOptions { test_fraction: 0.95, ..TrainOptions::default() };
    assert!(matches!(train(&dataset, &options), Err(TrainError::InvalidOption { .. })));
    for k_folds in [0, 1, 21] {
        let options = TrainOptions { k_folds, ..TrainOptions::default() };
        assert!(matches!(
            train(&dataset, &options),
            Err(TrainError::InvalidOption { option: "k_folds", .. })
        ));
    }
}

#[test]
fn hostile_values_train_and_score_without_panic() {
    let mut dataset = synthetic_contacts(400, 5);
    let hostile = [
        Value::Number(f64::NAN),
        Value::Number(f64::INFINITY),
        Value::Number(f64::NEG_INFINITY),
        Value::Number(-0.0),
        Value::Number(f64::MAX),
        Value::Text(String::new()),
        Value::Text("   ".into()),
        Value::Text("Ελληνικά 日本語 🚀".into()),
        Value::Text("'; DROP TABLE contacts; --".into()),
        Value::Text("x".repeat(10_000)),
        Value::Bool(true),
        Value::Missing,
    ];
    for (i, value) in hostile.iter().enumerate() {
        for column in &mut dataset.columns {
            column.values[i * 7] = value.clone();
        }
    }
    for family in [FamilyChoice::Linear, FamilyChoice::Gbdt] {
        let options = TrainOptions { family, ..TrainOptions::default() };
        let model = train(&dataset, &options).expect("hostile cells are just odd values");
        let width = model.input_fields().len();
        for value in &hostile {
            let row = vec![value.clone(); width];
            let prediction = model.predict(&row).expect("right length");
            assert!((0.0..=1.0).contains(&prediction.probability), "{value:?}");
            assert!(prediction.raw_score.is_finite());
        }
        assert_eq!(model.predict(&[]).unwrap_err(), InputError::RowLength { expected: width, found: 0 });
        assert!(model.predict_probability(&vec![Value::Missing; width + 1]).is_err());
    }
}

//! The explanation promise: for any lead, however odd its values, the base value plus the
//! field contributions equals the model's raw score (log-odds), for both families; field
//! contributions are the exact sums of their features'; contributions come largest first.

use std::sync::OnceLock;

use leadgate_model::{FamilyChoice, TrainOptions, TrainedModel, Value, train};
use proptest::prelude::*;

use crate::contacts::{SOURCES, synthetic_contacts};

fn model(family: FamilyChoice) -> &'static TrainedModel {
    static LINEAR: OnceLock<TrainedModel> = OnceLock::new();
    static GBDT: OnceLock<TrainedModel> = OnceLock::new();
    let cell = match family {
        FamilyChoice::Gbdt => &GBDT,
        _ => &LINEAR,
    };
    cell.get_or_init(|| {
        let mut options = TrainOptions { family, seed: 3, ..TrainOptions::default() };
        options.features.missing_markers = vec!["Select".into()];
        train(&synthetic_contacts(3000, 11), &options).expect("synthetic contacts train")
    })
}

/// Any value a field might hold: known levels, numbers as text, junk, extremes.
fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Missing),
        any::<f64>().prop_map(Value::Number),
        (-5.0..20.0f64).prop_map(Value::Number),
        any::<bool>().prop_map(Value::Bool),
        prop::sample::select(SOURCES.to_vec()).prop_map(|s| Value::Text(s.into())),
        prop::sample::select(vec!["Yes", "No", "Select", "India", "France", "", " 3 ", "7.5"])
            .prop_map(|s| Value::Text(s.into())),
        "\\PC{0,12}".prop_map(Value::Text),
    ]
}

fn check_additivity(model: &TrainedModel, row: &[Value]) -> Result<(), TestCaseError> {
    let prediction = model.predict(row).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let total = prediction.base_value + prediction.contributions.iter().map(|c| c.value).sum::<f64>();
    prop_assert!(
        (total - prediction.raw_score).abs() < 1e-9,
        "base {} + contributions = {total}, raw {}",
        prediction.base_value,
        prediction.raw_score
    );
    prop_assert!((0.0..=1.0).contains(&prediction.probability));
    prop_assert_eq!(prediction.contributions.len(), model.spec().fields().len());
    prop_assert!(prediction.contributions.windows(2).all(|w| w[0].value.abs() >= w[1].value.abs()));

    // Field contributions are the sums of their features' contributions.
    let (base, features) =
        model.feature_contributions(row).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(base, prediction.base_value);
    for field in model.spec().fields() {
        let sum: f64 = features[field.first_feature..field.first_feature + field.feature_count].iter().sum();
        let shown = prediction.contributions.iter().find(|c| c.field == field.name).map(|c| c.value);
        prop_assert_eq!(shown, Some(sum));
    }
    // The fast path agrees with the explained one.
    let fast = model.predict_probability(row).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(fast, prediction.probability);
    Ok(())
}

// 256 cases per run by default; `PROPTEST_CASES=20000` for a deeper search.
proptest! {
    #[test]
    fn gbdt_contributions_add_up_to_the_raw_score(row in prop::collection::vec(any_value(), 6)) {
        check_additivity(model(FamilyChoice::Gbdt), &row)?;
    }

    #[test]
    fn linear_contributions_add_up_to_the_raw_score(row in prop::collection::vec(any_value(), 6)) {
        check_additivity(model(FamilyChoice::Linear), &row)?;
    }
}

#[test]
fn contributions_follow_the_true_effects_on_average() {
    // In the synthetic truth Reference adds 1.5 log-odds and Olark Chat removes 1.0, each
    // visit adds 0.2, opting out of e-mail removes 1.2. A single lead's explanation reflects
    // the fitted model, noise included; averaged over many leads it must show the truth.
    let leads = synthetic_contacts(2000, 77);
    for family in [FamilyChoice::Linear, FamilyChoice::Gbdt] {
        let model = model(family);
        let mut groups: std::collections::HashMap<&str, (f64, usize)> = Default::default();
        for row in 0..leads.rows() {
            let values = leads.row(row);
            let prediction = model.predict(&values).expect("row matches");
            let value_of = |field: &str| {
                prediction.contributions.iter().find(|c| c.field == field).expect("field is used").value
            };
            let mut add = |group: &'static str, value: f64| {
                let entry = groups.entry(group).or_default();
                entry.0 += value;
                entry.1 += 1;
            };
            match &values[0] {
                Value::Text(s) if s == "Reference" => add("reference", value_of("Lead Source")),
                Value::Text(s) if s == "Olark Chat" => add("olark", value_of("Lead Source")),
                _ => {}
            }
            if let Value::Text(v) = &values[1] {
                let visits: f64 = v.parse().expect("generated as a number");
                if visits >= 9.0 {
                    add("many visits", value_of("TotalVisits"));
                } else if visits <= 2.0 {
                    add("few visits", value_of("TotalVisits"));
                }
            }
            if values[2] == Value::Text("Yes".into()) {
                add("opted out", value_of("Do Not Email"));
            }
        }
        let mean = |group: &str| {
            let (sum, count) = groups[group];
            sum / count as f64
        };
        assert!(mean("reference") > 0.8, "{family:?}: {}", mean("reference"));
        assert!(mean("olark") < -0.4, "{family:?}: {}", mean("olark"));
        let visits_gap = mean("many visits") - mean("few visits");
        assert!(visits_gap > 0.8, "{family:?}: {visits_gap}");
        assert!(mean("opted out") < -0.5, "{family:?}: {}", mean("opted out"));
    }
}

#[test]
fn labels_show_the_leads_own_values() {
    let model = model(FamilyChoice::Gbdt);
    let row = vec![
        Value::Text("Reference".into()),
        Value::Text("11".into()),
        Value::Text("No".into()),
        Value::Text("Select".into()),
        Value::Text("anything".into()),
        Value::Bool(true),
    ];
    let prediction = model.predict(&row).expect("row matches");
    let mut labels: Vec<&str> = prediction.contributions.iter().map(|c| c.label.as_str()).collect();
    labels.sort_unstable();
    assert_eq!(
        labels,
        ["Country is missing", "Do Not Email = No", "Lead Source = Reference", "TotalVisits = 11"]
    );
    // Free text and constants are reported as unused, never explained.
    let unused: Vec<&str> = model.report().fields_dropped.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(unused, ["Notes", "Constant"]);
}

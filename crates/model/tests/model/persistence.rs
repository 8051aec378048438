//! A model survives being saved: JSON round trips give bit-identical predictions and
//! explanations, and a damaged file is refused at load time instead of panicking later.

use leadgate_model::{
    FamilyChoice, FeatureSpec, FittedModel, LogisticModel, ModelFileError, TrainOptions, TrainedModel, train,
};

use crate::contacts::synthetic_contacts;
use crate::leads::{leads, trained};
use crate::leads_csv::Setting;

fn assert_round_trip(model: &TrainedModel, rows: &[Vec<leadgate_model::Value>]) {
    let json = model.to_json().expect("serialises");
    let loaded = TrainedModel::from_json(&json).expect("loads what it saved");
    assert_eq!(&loaded, model);
    assert_eq!(loaded.to_json().expect("serialises"), json);
    for row in rows {
        let before = model.predict(row).expect("row matches");
        let after = loaded.predict(row).expect("row matches");
        assert_eq!(before.probability.to_bits(), after.probability.to_bits());
        assert_eq!(before.raw_score.to_bits(), after.raw_score.to_bits());
        assert_eq!(before, after);
    }
}

#[test]
fn synthetic_models_round_trip_exactly() {
    let dataset = synthetic_contacts(600, 9);
    let rows: Vec<_> = (0..dataset.rows()).map(|i| dataset.row(i)).collect();
    for family in [FamilyChoice::Linear, FamilyChoice::Gbdt] {
        let options = TrainOptions { family, ..TrainOptions::default() };
        let model = train(&dataset, &options).expect("trains");
        assert_round_trip(&model, &rows);
    }
}

#[test]
fn leads_model_round_trips_exactly() {
    let Some(model) = trained(Setting::AllColumns) else {
        return;
    };
    let dataset = leads().expect("trained implies loaded");
    let rows: Vec<_> = (0..dataset.rows()).step_by(7).map(|i| dataset.row(i)).collect();
    assert_round_trip(model, &rows);
}

#[test]
fn damaged_files_are_refused() {
    let dataset = synthetic_contacts(300, 2);
    let options = TrainOptions { family: FamilyChoice::Gbdt, ..TrainOptions::default() };
    let json = train(&dataset, &options).expect("trains").to_json().expect("serialises");
    assert!(matches!(TrainedModel::from_json("not json"), Err(ModelFileError::Format(_))));
    assert!(TrainedModel::from_json(&json[..json.len() / 2]).is_err());
    assert!(TrainedModel::from_json("{}").is_err());
    // A tree pointing back at its root would loop forever while scoring.
    let cyclic = json.replacen("\"left\":1,", "\"left\":0,", 1);
    assert_ne!(cyclic, json, "the fixture has a split whose left child is node 1");
    assert!(matches!(TrainedModel::from_json(&cyclic), Err(ModelFileError::Inconsistent(_))));
    // A model expecting more features than the featurizer makes.
    let widened = json.replacen("\"feature_count\":", "\"feature_count\":1", 1);
    assert!(TrainedModel::from_json(&widened).is_err());
}

#[test]
fn parts_read_on_their_own_are_checked_too() {
    let dataset = synthetic_contacts(300, 4);
    let options = TrainOptions { family: FamilyChoice::Linear, ..TrainOptions::default() };
    let model = train(&dataset, &options).expect("trains");
    let spec_json = serde_json::to_string(model.spec()).expect("serialises");
    assert!(serde_json::from_str::<FeatureSpec>(&spec_json).is_ok());
    // A field whose features run past the end of the feature list.
    let damaged_spec = spec_json.replacen("\"feature_count\":", "\"feature_count\":9", 1);
    assert!(serde_json::from_str::<FeatureSpec>(&damaged_spec).is_err());
    let FittedModel::Linear(linear) = model.model() else {
        panic!("a linear model was asked for");
    };
    let linear_json = serde_json::to_string(linear).expect("serialises");
    assert!(serde_json::from_str::<LogisticModel>(&linear_json).is_ok());
    let damaged_linear = linear_json.replacen("\"scales\":[", "\"scales\":[1.0,", 1);
    assert!(serde_json::from_str::<LogisticModel>(&damaged_linear).is_err());
}

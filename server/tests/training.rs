//! Training is deterministic, its artifacts are usable, and the served kernel is linfa's model.

use linfa::prelude::*;
use linfa_logistic::{FittedLogisticRegression, MultiFittedLogisticRegression};
use ndarray::Array2;
use server::train::{self, RECIPES};
use server::{Artifact, Kind, Rows};

use crate::util::{artifact_path, assert_same_bits, fixtures};

#[test]
fn retraining_reproduces_the_committed_artifacts_byte_for_byte() {
    for recipe in &RECIPES {
        let trained = train::train(recipe, &fixtures().join("data")).unwrap();
        let committed = std::fs::read(artifact_path(recipe)).unwrap();
        assert!(
            trained.artifact == committed,
            "{}: retrained artifact differs from {}; run `cargo run -p server --bin train`",
            recipe.name,
            artifact_path(recipe).display()
        );
    }
}

#[test]
fn a_saved_model_loads_and_predicts_identically() {
    for recipe in &RECIPES {
        let data = fixtures().join("data");
        let trained = train::train(recipe, &data).unwrap();
        let loaded = Artifact::from_bytes(&trained.artifact, recipe.name).unwrap();
        assert_eq!(loaded.model(), &trained.model);

        let rows = train::held_out_rows(recipe, &data).unwrap();
        let rows = Rows::from_rows(&rows, trained.model.features()).unwrap();
        let before = trained.model.predict(&rows).unwrap();
        let after = loaded.model().predict(&rows).unwrap();
        for (b, a) in before.iter().zip(&after) {
            assert_eq!(b.class, a.class);
            assert_same_bits(recipe.name, &b.probabilities, &a.probabilities);
        }
    }
}

#[test]
fn held_out_accuracy_meets_the_bar_and_is_recorded() {
    for (name, bar) in [("wine-quality", 0.85), ("iris", 0.90)] {
        let recipe = RECIPES.iter().find(|r| r.name == name).unwrap();
        let artifact = Artifact::load(&artifact_path(recipe)).unwrap();
        let accuracy = artifact.training().held_out_accuracy;
        assert!(
            accuracy >= bar,
            "{name}: held-out accuracy {accuracy} < {bar}"
        );
        assert_eq!(
            artifact.training().held_out_rows,
            artifact.training().rows / 5
        );
    }
}

/// The served kernel sums in feature order while linfa batches through ndarray's `dot`: the
/// labels must agree and the probabilities may differ only in the last bits.
#[test]
fn the_served_kernel_agrees_with_linfa() {
    for recipe in &RECIPES {
        let bytes = std::fs::read(artifact_path(recipe)).unwrap();
        let artifact = Artifact::from_bytes(&bytes, recipe.name).unwrap();
        let document: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let model = artifact.model();

        let rows = train::held_out_rows(recipe, &fixtures().join("data")).unwrap();
        let x =
            Array2::from_shape_vec((rows.len(), model.features().len()), rows.concat()).unwrap();
        let ours = model
            .predict(&Rows::from_rows(&rows, model.features()).unwrap())
            .unwrap();

        let (labels, positive): (Vec<String>, Vec<Vec<f64>>) = match recipe.kind {
            Kind::Binary => {
                let fitted: FittedLogisticRegression<f64, String> =
                    serde_json::from_value(document["model"].clone()).unwrap();
                let p = fitted.predict_probabilities(&x);
                let labels = fitted.predict(&x).to_vec();
                (labels, p.iter().map(|p| vec![1.0 - p, *p]).collect())
            }
            Kind::Multinomial => {
                let fitted: MultiFittedLogisticRegression<f64, String> =
                    serde_json::from_value(document["model"].clone()).unwrap();
                let p = fitted.predict_probabilities(&x);
                let labels = fitted.predict(&x).to_vec();
                (labels, p.rows().into_iter().map(|r| r.to_vec()).collect())
            }
        };
        for (i, ((ours, label), theirs)) in ours.iter().zip(&labels).zip(&positive).enumerate() {
            assert_eq!(
                &model.classes()[ours.class],
                label,
                "{}: row {i}",
                recipe.name
            );
            for (a, b) in ours.probabilities.iter().zip(theirs) {
                assert!(
                    (a - b).abs() < 1e-12,
                    "{}: row {i}: {a} vs {b}",
                    recipe.name
                );
            }
        }
    }
}

//! Training is deterministic, its artifacts are usable, and the served kernel is linfa's model.
//! The reference models are trained as `fixtures/references.json` says.

use linfa::prelude::*;
use linfa_logistic::{FittedLogisticRegression, MultiFittedLogisticRegression};
use ndarray::Array2;
use server::contract::fixtures;
use server::inputs::columns::Scratch;
use server::train;
use server::{Artifact, Kind};

use crate::util::{assert_same_bits, reference_artifacts, reference_runs};

#[test]
fn retraining_reproduces_the_committed_artifacts_byte_for_byte() {
    for run in reference_runs() {
        let trained = train::train(&run.data, &run.options).unwrap();
        let committed = std::fs::read(&run.out).unwrap();
        assert!(
            trained.artifact == committed,
            "{}: retrained artifact differs from {}; run `cargo run -p server --bin train -- --references fixtures/references.json`",
            run.options.name,
            run.out.display()
        );
    }
}

#[test]
fn a_saved_model_loads_and_predicts_identically() {
    for run in reference_runs() {
        let name = &run.options.name;
        let trained = train::train(&run.data, &run.options).unwrap();
        let loaded = Artifact::from_bytes(&trained.artifact, name).unwrap();
        assert_eq!(loaded.model(), &trained.model);

        let rows = train::held_out_instances(&run.data, &run.options).unwrap();
        let rows = fixtures::checked(&trained.model, &rows).unwrap();
        let before = trained.model.predict_batch(&rows).unwrap();
        let after = loaded.model().predict_batch(&rows).unwrap();
        for (b, a) in before.iter().zip(&after) {
            assert_eq!(b.class, a.class);
            assert_same_bits(name, &b.probabilities, &a.probabilities);
        }
    }
}

#[test]
fn held_out_accuracy_meets_the_bar_and_is_recorded() {
    for (run, artifact) in reference_artifacts() {
        let bar = match run.options.name.as_str() {
            "wine-quality" => 0.85,
            _ => 0.90,
        };
        let training = artifact.training().unwrap();
        let accuracy = training.held_out_accuracy;
        assert!(
            accuracy >= bar,
            "{}: held-out accuracy {accuracy} < {bar}",
            run.options.name
        );
        assert_eq!(training.held_out_rows, training.rows / 5);
    }
}

/// The served kernel sums in feature order while linfa batches through ndarray's `dot`: the
/// labels must agree and the probabilities may differ only in the last bits.
#[test]
fn the_served_kernel_agrees_with_linfa() {
    for (run, artifact) in reference_artifacts() {
        let name = &run.options.name;
        let bytes = std::fs::read(&run.out).unwrap();
        let document: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let model = artifact.model();

        let rows = train::held_out_instances(&run.data, &run.options).unwrap();
        let batch = fixtures::checked(model, &rows).unwrap();
        // linfa's model takes the rows as it was fitted on them: standardized, or encoded by
        // the column blocks, if they were.
        let fitted_rows: Vec<Vec<f64>> = match (&batch, model.columns()) {
            (server::inputs::Batch::Rows(rows), _) => rows
                .iter()
                .map(|r| {
                    model
                        .preprocessing()
                        .map_or_else(|| r.to_vec(), |s| s.apply(r))
                })
                .collect(),
            (server::inputs::Batch::Table(table), Some(columns)) => {
                let mut scratch = Scratch::default();
                table
                    .iter()
                    .map(|cells| {
                        let mut out = vec![];
                        columns.encode(cells, &mut out, &mut scratch).unwrap();
                        out
                    })
                    .collect()
            }
            (server::inputs::Batch::Table(_), None) => unreachable!("a table needs blocks"),
        };
        let width = fitted_rows[0].len();
        let x = Array2::from_shape_vec((rows.len(), width), fitted_rows.concat()).unwrap();
        let ours = model.predict_batch(&batch).unwrap();

        let (labels, positive): (Vec<String>, Vec<Vec<f64>>) = match model.kind() {
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
            Kind::OneVsRest => panic!("{name}: train fits no one-vs-rest model"),
        };
        for (i, ((ours, label), theirs)) in ours.iter().zip(&labels).zip(&positive).enumerate() {
            assert_eq!(&model.classes()[ours.class], label, "{name}: row {i}");
            for (a, b) in ours.probabilities.iter().zip(theirs) {
                assert!((a - b).abs() < 1e-12, "{name}: row {i}: {a} vs {b}");
            }
        }
    }
}

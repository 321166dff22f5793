//! Properties of the in-process model over random rows: valid probabilities, and answers that
//! do not depend on the batch a row arrives in.

use proptest::prelude::*;
use server::{Model, Rows};

use crate::util::{assert_same_bits, reference_artifacts};

/// Feature values from ordinary to extreme: the training range, far outside it, signed zeros
/// and subnormals.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => -50.0..50.0f64,
        2 => -1e6..1e6f64,
        1 => Just(0.0),
        1 => Just(-0.0),
        1 => Just(f64::MIN_POSITIVE / 4.0),
        1 => Just(-5e-324),
    ]
}

fn batch(width: usize) -> impl Strategy<Value = Vec<Vec<f64>>> {
    prop::collection::vec(prop::collection::vec(value(), width), 1..40)
}

/// The reference models of numbers only: wine-quality (11 features), then iris (4). (The
/// penguins' categories and gaps have their own properties in `tables.rs`.)
fn models() -> Vec<Model> {
    let mut models: Vec<Model> = reference_artifacts()
        .into_iter()
        .map(|(_, a)| a.model().clone())
        .filter(|m| m.columns().is_none())
        .collect();
    models.sort_by_key(|m| std::cmp::Reverse(m.features().len()));
    models
}

proptest! {
    #[test]
    fn probabilities_are_a_distribution(rows in batch(11), iris in batch(4)) {
        for (model, rows) in models().iter().zip([rows, iris]) {
            let checked = Rows::from_rows(&rows, model.features()).unwrap();
            for p in model.predict(&checked).unwrap() {
                prop_assert!(p.probabilities.iter().all(|p| (0.0..=1.0).contains(p)));
                let sum: f64 = p.probabilities.iter().sum();
                prop_assert!((sum - 1.0).abs() < 1e-12, "sum {}", sum);
                prop_assert!(p.class < model.classes().len());
            }
        }
    }

    #[test]
    fn a_rows_answer_does_not_depend_on_its_batch(
        rows in batch(11),
        iris in batch(4),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
    ) {
        for (model, rows) in models().iter().zip([rows, iris]) {
            let whole = model
                .predict(&Rows::from_rows(&rows, model.features()).unwrap())
                .unwrap();

            // The same rows split into arbitrary consecutive batches, and one at a time.
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(rows.len() + 1)).collect();
            cuts.extend([0, rows.len()]);
            cuts.sort_unstable();
            cuts.dedup();
            let split: Vec<_> = cuts
                .windows(2)
                .flat_map(|w| {
                    model
                        .predict(&Rows::from_rows(&rows[w[0]..w[1]], model.features()).unwrap())
                        .unwrap()
                })
                .collect();
            let single: Vec<_> = rows
                .iter()
                .flat_map(|r| {
                    model
                        .predict(&Rows::from_rows(std::slice::from_ref(r), model.features()).unwrap())
                        .unwrap()
                })
                .collect();

            for (i, w) in whole.iter().enumerate() {
                for other in [&split[i], &single[i]] {
                    prop_assert_eq!(w.class, other.class);
                    assert_same_bits(&format!("row {i}"), &w.probabilities, &other.probabilities);
                }
            }
        }
    }
}

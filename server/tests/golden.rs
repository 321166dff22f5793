//! Golden cases in `fixtures/golden/` reproduce exactly. `UPDATE_GOLDEN=1 cargo test` rewrites
//! them from the committed artifacts; review the diff before committing it.

use server::fixtures::{Case, GoldenFile};
use server::train;

use crate::util::{assert_same_bits, fixtures, reference_artifacts};

/// Held-out rows replayed per model: enough to cover both classes, small enough to read.
const HELD_OUT_CASE_ROWS: usize = 25;

fn expected_file(recipe: &train::Recipe, artifact: &server::Artifact) -> GoldenFile {
    let model = artifact.model();
    let held_out = train::held_out_rows(recipe, &fixtures().join("data")).unwrap();
    let width = model.features().len();
    let extremes = vec![
        vec![0.0; width],
        vec![-0.0; width],
        vec![5e-324; width],
        vec![1e6; width],
        vec![-1e6; width],
        (0..width)
            .map(|i| if i % 2 == 0 { 1e3 } else { -1e3 })
            .collect(),
    ];
    let cases = [
        ("single held-out row", held_out[..1].to_vec()),
        ("held-out rows", held_out[..HELD_OUT_CASE_ROWS].to_vec()),
        ("far outside the training range", extremes),
    ];
    GoldenFile {
        model: artifact.name().to_owned(),
        artifact_sha256: artifact.sha256().to_owned(),
        cases: cases
            .into_iter()
            .map(|(name, rows)| Case::compute(model, name, rows).unwrap())
            .collect(),
    }
}

#[test]
fn golden_cases_reproduce_exactly() {
    for (recipe, artifact) in reference_artifacts() {
        let path = fixtures()
            .join("golden")
            .join(format!("{}.json", recipe.name));
        let computed = expected_file(&recipe, &artifact);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            let mut json = serde_json::to_vec_pretty(&computed).unwrap();
            json.push(b'\n');
            std::fs::write(&path, json).unwrap();
            continue;
        }
        let bytes = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run `UPDATE_GOLDEN=1 cargo test -p server`",
                path.display()
            )
        });
        let golden: GoldenFile = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            golden.artifact_sha256,
            artifact.sha256(),
            "{}",
            path.display()
        );
        assert_eq!(golden.cases.len(), computed.cases.len());
        for (want, got) in golden.cases.iter().zip(&computed.cases) {
            let context = format!("{}: {}", recipe.name, want.name);
            assert_eq!(want.instances.len(), got.instances.len(), "{context}");
            for (w, g) in want.instances.iter().zip(&got.instances) {
                assert_same_bits(&context, w, g);
            }
            for (w, g) in want.predictions.iter().zip(&got.predictions) {
                assert_eq!(w.label, g.label, "{context}");
                assert_eq!(
                    w.probabilities.keys().collect::<Vec<_>>(),
                    g.probabilities.keys().collect::<Vec<_>>()
                );
                let w: Vec<f64> = w.probabilities.values().copied().collect();
                let g: Vec<f64> = g.probabilities.values().copied().collect();
                assert_same_bits(&context, &w, &g);
            }
        }
    }
}

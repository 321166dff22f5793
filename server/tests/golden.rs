//! The golden files in `fixtures/golden/` are exactly what the committed artifacts answer for
//! their rows. `UPDATE_GOLDEN=1 cargo test -p server` rewrites them; review the diff before
//! committing it. The harness replays them over HTTP, in-process and against the container.
//!
//! Trained models replay their held-out rows; imported ones the rows scikit-learn answered
//! (held-out rows first, see `fixtures/sklearn/make_exports.py`).

use server::Artifact;
use server::contract::fixtures::{GoldenFile, SklearnReference};
use server::inputs::Datum;
use server::train;

use crate::util::{IMPORTED, fixtures, reference_artifacts};

/// Held-out rows replayed per model: enough to cover both classes, small enough to read.
const HELD_OUT_CASE_ROWS: usize = 25;

/// Every model with a golden file: its artifact and its held-out rows.
fn models() -> Vec<(Artifact, Vec<Vec<Datum>>)> {
    let mut models: Vec<(Artifact, Vec<Vec<Datum>>)> = reference_artifacts()
        .into_iter()
        .map(|(run, artifact)| {
            (
                artifact,
                train::held_out_instances(&run.data, &run.options).unwrap(),
            )
        })
        .collect();
    for (model, export) in IMPORTED {
        let artifact =
            Artifact::load(&fixtures().join(format!("models/{model}-sklearn.json"))).unwrap();
        let reference: SklearnReference = serde_json::from_slice(
            &std::fs::read(fixtures().join(format!("sklearn/{export}.reference.json"))).unwrap(),
        )
        .unwrap();
        models.push((artifact, reference.rows));
    }
    models
}

fn expected_file(artifact: &Artifact, held_out: &[Vec<Datum>]) -> GoldenFile {
    let model = artifact.model();
    let mut batches = vec![
        ("single held-out row", held_out[..1].to_vec()),
        ("held-out rows", held_out[..HELD_OUT_CASE_ROWS].to_vec()),
        (
            "far outside the training range",
            GoldenFile::far_rows(model),
        ),
    ];
    let gaps = GoldenFile::gap_rows(model, &held_out[0]);
    if !gaps.is_empty() {
        batches.push(("missing values", gaps));
    }
    let expected = batches.len();
    let file = GoldenFile::compute(artifact, batches);
    assert_eq!(
        file.cases.len(),
        expected,
        "{}: a golden batch was refused",
        artifact.name()
    );
    file
}

#[test]
fn golden_files_are_what_the_committed_artifacts_give() {
    for (artifact, held_out) in models() {
        let path = fixtures()
            .join("golden")
            .join(format!("{}.json", artifact.name()));
        let mut computed = serde_json::to_vec_pretty(&expected_file(&artifact, &held_out)).unwrap();
        computed.push(b'\n');
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, computed).unwrap();
            continue;
        }
        let committed = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run `UPDATE_GOLDEN=1 cargo test -p server`",
                path.display()
            )
        });
        assert!(
            committed == computed,
            "{} is stale: run `UPDATE_GOLDEN=1 cargo test -p server` and review the diff",
            path.display()
        );
    }
}

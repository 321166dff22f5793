//! Helpers shared by the test modules.

use std::path::{Path, PathBuf};

use server::Artifact;
use server::train::args::{Run, references};

/// The workspace's `fixtures/` directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// The reference models' committed `train` invocations, paths resolved.
pub fn reference_runs() -> Vec<Run> {
    references(&fixtures().join("references.json")).expect("fixtures/references.json reads")
}

/// The imported reference models: each `models/<model>-sklearn.json` and its export under
/// `fixtures/sklearn/` (`<export>.export.json`, with `<export>.reference.json` beside it).
pub const IMPORTED: [(&str, &str); 4] = [
    ("iris", "iris"),
    ("wine-quality", "wine-quality"),
    ("penguins", "kinds/table-penguins-median-onehot-3"),
    ("tenants", "kinds/table-tenants-categories-binary"),
];

/// Every reference model's committed artifact, loaded, with the run that trains it.
pub fn reference_artifacts() -> Vec<(Run, Artifact)> {
    reference_runs()
        .into_iter()
        .map(|run| {
            let artifact = Artifact::load(&run.out).expect("committed artifact loads");
            (run, artifact)
        })
        .collect()
}

/// Asserts two float sequences are identical bit for bit, naming the first difference.
pub fn assert_same_bits(context: &str, expected: &[f64], got: &[f64]) {
    assert_eq!(expected.len(), got.len(), "{context}: lengths differ");
    for (i, (e, g)) in expected.iter().zip(got).enumerate() {
        assert_eq!(
            e.to_bits(),
            g.to_bits(),
            "{context}: value {i} differs: expected {e:e}, got {g:e}"
        );
    }
}

/// Reads one answer: its status and body.
pub fn read_response(stream: &mut impl std::io::BufRead) -> std::io::Result<(u16, String)> {
    server::contract::answer::read_answer(stream).map(|answer| (answer.status, answer.body))
}

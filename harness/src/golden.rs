//! Golden cases for an artifact that comes without a golden file: rows drawn deterministically
//! from the artifact's inputs (see [`crate::rows`]), and the answers of the artifact itself.
//!
//! An artifact of format 1 records no ranges; its rows are drawn from [0, 1] per feature. The
//! same artifact always gives the same cases, so they can be written out and kept.

use server::Artifact;
use server::contract::fixtures::GoldenFile;

use crate::rows::Schema;

/// Rows in the "within the training ranges" case.
pub const ROWS: usize = 25;

/// The golden cases of `artifact`, computed by the artifact itself.
pub fn generate(artifact: &Artifact) -> GoldenFile {
    let model = artifact.model();
    let schema = Schema::of(artifact);
    let middle = schema.middle();
    let gaps = GoldenFile::gap_rows(model, &middle);
    let mut batches = vec![
        ("the middle of every range", vec![middle]),
        ("rows within the training ranges", schema.within(ROWS, 1)),
        (
            "far outside the training range",
            GoldenFile::far_rows(model),
        ),
    ];
    if !gaps.is_empty() {
        batches.push(("missing values", gaps));
    }
    GoldenFile::compute(artifact, batches)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::ranges;
    use server::inputs::Datum;

    #[test]
    fn the_same_artifact_gives_the_same_cases_within_its_ranges() {
        let artifact = Artifact::embedded().unwrap();
        assert_eq!(generate(&artifact), generate(&artifact));
        let schema = Schema::of(&artifact);
        let rows = schema.within(50, 7);
        for row in &rows {
            for (v, (min, max)) in row.iter().zip(ranges(&artifact)) {
                let v = v.number().unwrap();
                assert!((min..=max).contains(&v), "{v} outside [{min}, {max}]");
            }
        }
        assert_ne!(rows, schema.within(50, 8));
    }

    #[test]
    fn a_model_with_categories_and_gaps_gets_them_in_its_cases() {
        let path = crate::fixtures::repository_root().join("fixtures/models/penguins.json");
        let artifact = Artifact::load(&path).unwrap();
        let file = generate(&artifact);
        assert_eq!(file.cases.len(), 4, "a case was refused: {file:?}");
        let rows: Vec<&Vec<Datum>> = file.cases.iter().flat_map(|c| &c.instances).collect();
        let island: std::collections::BTreeSet<String> =
            rows.iter().map(|r| format!("{:?}", r[0])).collect();
        assert_eq!(island.len(), 3, "every island is drawn: {island:?}");
        assert!(rows.iter().any(|r| r[5] == Datum::Missing));
        assert!(rows.iter().any(|r| r[1] == Datum::Missing));
    }
}

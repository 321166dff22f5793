//! Golden cases for an artifact that comes without a golden file: rows drawn deterministically
//! within the artifact's per-feature training ranges, and the answers of the artifact itself.
//!
//! An artifact of format 1 records no ranges; its rows are drawn from [0, 1] per feature. The
//! same artifact always gives the same cases, so they can be written out and kept.

use server::Artifact;
use server::contract::fixtures::GoldenFile;

/// Rows in the "within the training ranges" case.
pub const ROWS: usize = 25;

/// A small deterministic generator (SplitMix64): the cases must not depend on a crate's RNG.
struct SplitMix(u64);

impl SplitMix {
    fn next_unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Each feature's range: the artifact's, or [0, 1] when it records none.
pub fn ranges(artifact: &Artifact) -> Vec<(f64, f64)> {
    match artifact.feature_ranges() {
        Some(ranges) => ranges.iter().map(|r| (r.min, r.max)).collect(),
        None => vec![(0.0, 1.0); artifact.model().features().len()],
    }
}

/// `n` rows drawn within `artifact`'s ranges, the same for every call with the same seed.
pub fn rows_within_ranges(artifact: &Artifact, n: usize, seed: u64) -> Vec<Vec<f64>> {
    rows_within(&ranges(artifact), n, seed)
}

/// `n` rows drawn within `ranges` (one per feature), the same for every call with the same
/// seed.
pub fn rows_within(ranges: &[(f64, f64)], n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = SplitMix(seed);
    (0..n)
        .map(|_| {
            ranges
                .iter()
                .map(|(min, max)| min + (max - min) * rng.next_unit())
                .collect()
        })
        .collect()
}

/// The golden cases of `artifact`, computed by the artifact itself.
pub fn generate(artifact: &Artifact) -> GoldenFile {
    let model = artifact.model();
    let width = model.features().len();
    let middle: Vec<f64> = ranges(artifact)
        .iter()
        .map(|(min, max)| min + (max - min) / 2.0)
        .collect();
    GoldenFile::compute(
        artifact,
        [
            ("the middle of every range", vec![middle]),
            (
                "rows within the training ranges",
                rows_within_ranges(artifact, ROWS, 1),
            ),
            (
                "far outside the training range",
                GoldenFile::far_rows(width),
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_artifact_gives_the_same_cases_within_its_ranges() {
        let artifact = Artifact::embedded().unwrap();
        assert_eq!(generate(&artifact), generate(&artifact));
        let rows = rows_within_ranges(&artifact, 50, 7);
        for row in &rows {
            for (v, (min, max)) in row.iter().zip(ranges(&artifact)) {
                assert!((min..=max).contains(v), "{v} outside [{min}, {max}]");
            }
        }
        assert_ne!(rows, rows_within_ranges(&artifact, 50, 8));
    }
}

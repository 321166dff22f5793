//! Loading checks the whole document, and each failure has its own error naming the file.

use server::Artifact;
use server::artifact::{ArtifactError, DEFAULT_ARTIFACT, Inconsistency};

use crate::util::{artifact_path, fixtures};

fn wine_document() -> serde_json::Value {
    let path = fixtures().join("models/wine-quality.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn load(document: &serde_json::Value) -> Result<Artifact, ArtifactError> {
    Artifact::from_bytes(&serde_json::to_vec(document).unwrap(), "test.json")
}

#[test]
fn the_embedded_default_is_the_committed_wine_quality_artifact() {
    let recipe = &server::train::WINE_QUALITY;
    assert_eq!(
        DEFAULT_ARTIFACT,
        std::fs::read(artifact_path(recipe)).unwrap()
    );
    let artifact = Artifact::embedded().unwrap();
    assert_eq!(artifact.name(), "wine-quality");
    assert_eq!(artifact.origin(), "embedded default artifact");
    assert_eq!(artifact.sha256().len(), 64);
}

#[test]
fn a_missing_file_is_a_read_error_naming_it() {
    let path = fixtures().join("models/no-such-model.json");
    let err = Artifact::load(&path).unwrap_err();
    assert!(matches!(err, ArtifactError::Read { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn invalid_json_is_a_json_error() {
    let err = Artifact::from_bytes(b"{\"format_version\": 1,", "broken.json").unwrap_err();
    assert!(matches!(err, ArtifactError::Json { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("broken.json: not a valid artifact document"),
        "{err}"
    );
}

#[test]
fn a_missing_field_is_a_json_error_naming_the_field() {
    let mut doc = wine_document();
    doc.as_object_mut().unwrap().remove("training");
    let err = load(&doc).unwrap_err();
    assert!(matches!(err, ArtifactError::Json { .. }), "{err:?}");
    assert!(err.to_string().contains("training"), "{err}");
}

#[test]
fn another_format_version_is_refused_before_anything_else() {
    let mut doc = wine_document();
    doc["format_version"] = 2.into();
    doc["features"] = "not even a list".into();
    let err = load(&doc).unwrap_err();
    assert!(
        matches!(err, ArtifactError::FormatVersion { found: 2, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "test.json: format version 2 is not supported, this build reads version 1"
    );
}

#[test]
fn a_model_of_the_other_kind_is_a_json_error() {
    let mut doc = wine_document();
    doc["kind"] = "multinomial".into();
    assert!(matches!(load(&doc), Err(ArtifactError::Json { .. })));
}

fn inconsistency(doc: &serde_json::Value) -> Inconsistency {
    match load(doc) {
        Err(ArtifactError::Inconsistent { problem, .. }) => problem,
        other => panic!("expected an inconsistency, got {other:?}"),
    }
}

#[test]
fn features_that_disagree_with_the_weights_are_refused() {
    let mut doc = wine_document();
    doc["features"].as_array_mut().unwrap().pop();
    assert_eq!(
        inconsistency(&doc),
        Inconsistency::FeatureCount {
            listed: 10,
            fitted: 11
        }
    );

    let mut doc = wine_document();
    doc["features"][1] = doc["features"][0].clone();
    assert_eq!(
        inconsistency(&doc),
        Inconsistency::DuplicateFeature("fixed_acidity".into())
    );

    let mut doc = wine_document();
    doc["features"] = serde_json::json!([]);
    assert_eq!(inconsistency(&doc), Inconsistency::NoFeatures);
}

#[test]
fn classes_that_disagree_with_the_fitted_model_are_refused() {
    let mut doc = wine_document();
    doc["classes"] = serde_json::json!(["bad", "good"]);
    assert!(matches!(inconsistency(&doc), Inconsistency::Classes { .. }));
}

#[test]
fn a_threshold_outside_the_unit_interval_is_refused() {
    let mut doc = wine_document();
    doc["model"]["threshold"] = 1.5.into();
    assert_eq!(inconsistency(&doc), Inconsistency::Threshold(1.5));
}

#[test]
fn unknown_fields_are_refused() {
    let mut doc = wine_document();
    doc["extra"] = true.into();
    assert!(matches!(load(&doc), Err(ArtifactError::Json { .. })));
}

//! Loading checks the whole document, and each failure has its own error naming the file.

use server::Artifact;
use server::artifact::{ArtifactError, DEFAULT_ARTIFACT, Inconsistency, Origin};
use server::preprocessing::{Preprocessing, Standardize};
use server::{Rows, train};

use crate::util::{assert_same_bits, fixtures};

fn wine_document() -> serde_json::Value {
    let path = fixtures().join("models/wine-quality.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn load(document: &serde_json::Value) -> Result<Artifact, ArtifactError> {
    Artifact::from_bytes(&serde_json::to_vec(document).unwrap(), "test.json")
}

#[test]
fn the_embedded_default_is_the_committed_wine_quality_artifact() {
    assert_eq!(
        DEFAULT_ARTIFACT,
        std::fs::read(fixtures().join("models/wine-quality.json")).unwrap()
    );
    let artifact = Artifact::embedded().unwrap();
    assert_eq!(artifact.name(), "wine-quality");
    assert_eq!(artifact.location(), "embedded default artifact");
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
    doc.as_object_mut().unwrap().remove("features");
    let err = load(&doc).unwrap_err();
    assert!(matches!(err, ArtifactError::Json { .. }), "{err:?}");
    assert!(err.to_string().contains("features"), "{err}");
}

#[test]
fn another_format_version_is_refused_before_anything_else() {
    let mut doc = wine_document();
    doc["format_version"] = 4.into();
    doc["features"] = "not even a list".into();
    let err = load(&doc).unwrap_err();
    assert!(
        matches!(err, ArtifactError::FormatVersion { found: 4, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "test.json: format version 4 is not supported, this build reads versions 1, 2 and 3"
    );
}

/// Format 1 (the artifacts written before preprocessing, ranges, label options and origin)
/// still loads, and predicts exactly as the same model in format 2.
#[test]
fn a_committed_format_1_artifact_still_loads_and_predicts_the_same() {
    let v1 = Artifact::load(&fixtures().join("models/format-1/wine-quality.json")).unwrap();
    let v2 = Artifact::embedded().unwrap();
    assert_eq!((v1.format_version(), v2.format_version()), (1, 2));
    assert_eq!(v1.origin(), None);
    assert_eq!(v1.feature_ranges(), None);
    assert_eq!(
        v1.training().map(|t| &t.data_sha256),
        v2.training().map(|t| &t.data_sha256)
    );
    assert_eq!(v1.model(), v2.model());
    let rows = Rows::from_rows(
        &[[
            7.4, 0.7, 0.0, 1.9, 0.076, 11.0, 34.0, 0.9978, 3.51, 0.56, 9.4,
        ]],
        v1.model().features(),
    )
    .unwrap();
    let (a, b) = (
        v1.model().predict(&rows).unwrap(),
        v2.model().predict(&rows).unwrap(),
    );
    assert_same_bits("format 1 vs 2", &a[0].probabilities, &b[0].probabilities);
}

#[test]
fn format_1_refuses_format_2_fields_and_format_2_requires_them() {
    let mut v1: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fixtures().join("models/format-1/wine-quality.json")).unwrap(),
    )
    .unwrap();
    v1["origin"] = serde_json::json!({"kind": "trained", "trainer": "x"});
    assert_eq!(
        inconsistency(&v1),
        Inconsistency::Unexpected {
            version: 1,
            field: "origin"
        }
    );
    for field in ["origin", "feature_ranges", "labels", "preprocessing"] {
        let mut doc = wine_document();
        doc.as_object_mut().unwrap().remove(field);
        assert_eq!(
            inconsistency(&doc),
            Inconsistency::Missing { version: 2, field },
            "{field}"
        );
    }
    let mut doc = wine_document();
    doc["training"] = serde_json::Value::Null;
    assert_eq!(inconsistency(&doc), Inconsistency::NoTraining);
}

#[test]
fn a_standardization_that_cannot_apply_is_refused() {
    let mut doc = wine_document();
    let (zeros, ones) = ([0.0; 11], [1.0; 10]);
    doc["preprocessing"] = serde_json::json!({"standardize": {"mean": zeros, "scale": ones}});
    assert_eq!(
        inconsistency(&doc),
        Inconsistency::Length {
            what: "preprocessing.standardize.scale",
            expected: 11,
            found: 10
        }
    );
    let mut scale = [1.0; 11];
    scale[3] = 0.0;
    doc["preprocessing"] = serde_json::json!({"standardize": {"mean": zeros, "scale": scale}});
    assert_eq!(
        inconsistency(&doc),
        Inconsistency::Scale {
            feature: "residual_sugar".into(),
            value: 0.0
        }
    );
}

/// A model trained with `--standardize` carries its scaler: it answers raw rows exactly as the
/// unscaled linear model answers the standardized rows.
#[test]
fn a_standardized_model_takes_raw_features() {
    let data = fixtures().join("data/iris.csv");
    let options = train::Options {
        standardize: true,
        class_names: Some(vec![
            "setosa".into(),
            "versicolor".into(),
            "virginica".into(),
        ]),
        ..train::Options::new("iris-standardized", "species")
    };
    let trained = train::train(&data, &options).unwrap();
    let artifact = Artifact::from_bytes(&trained.artifact, "standardized").unwrap();
    let document: serde_json::Value = serde_json::from_slice(&trained.artifact).unwrap();
    let standardize: Standardize =
        serde_json::from_value(document["preprocessing"]["standardize"].clone()).unwrap();
    assert_eq!(
        artifact.model().preprocessing(),
        Some(&Preprocessing::Standardize(standardize))
    );
    assert!(matches!(artifact.origin(), Some(Origin::Trained { .. })));
    let held_out = artifact.training().unwrap().held_out_accuracy;
    assert!(held_out >= 0.9, "held-out accuracy {held_out}");
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

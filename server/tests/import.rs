//! Importing scikit-learn models: the committed exports (made by real scikit-learn, see
//! `fixtures/sklearn/`) import to the committed artifacts, their probabilities equal
//! scikit-learn's own within 1e-12 with the same labels, and each export that cannot be
//! reproduced exactly is refused with one line.

use serde_json::{Value, json};
use server::contract::fixtures::SklearnReference as Reference;
use server::import::{ImportOptions, import};
use server::{Artifact, Rows};

use crate::util::fixtures;

const MODELS: [&str; 2] = ["iris", "wine-quality"];

fn export_bytes(model: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(format!("sklearn/{model}.export.json"))).unwrap()
}

fn options(model: &str) -> ImportOptions {
    ImportOptions {
        name: format!("{model}-sklearn"),
        version: "1.0.0".into(),
    }
}

#[test]
fn the_committed_exports_import_to_the_committed_artifacts() {
    for model in MODELS {
        let imported = import(
            &export_bytes(model),
            &format!("{model}.export.json"),
            &options(model),
        )
        .unwrap();
        let path = fixtures().join(format!("models/{model}-sklearn.json"));
        assert!(
            imported.artifact == std::fs::read(&path).unwrap(),
            "{} is stale: run `cargo run -p server --bin import -- --export fixtures/sklearn/{model}.export.json --name {model}-sklearn --out {}`",
            path.display(),
            path.display()
        );
    }
}

/// The imported models answer as scikit-learn's `predict_proba` and `predict` did, within
/// 1e-12: the kernels differ only in summation order (BLAS against feature order).
#[test]
fn imported_probabilities_equal_scikit_learns_within_1e_12() {
    for model in MODELS {
        let artifact =
            Artifact::load(&fixtures().join(format!("models/{model}-sklearn.json"))).unwrap();
        let reference: Reference = serde_json::from_slice(
            &std::fs::read(fixtures().join(format!("sklearn/{model}.reference.json"))).unwrap(),
        )
        .unwrap();
        let m = artifact.model();
        let rows = Rows::from_rows(&reference.rows, m.features()).unwrap();
        let ours = m.predict(&rows).unwrap();
        let (mut identical, mut values, mut largest) = (0, 0, 0.0f64);
        for (i, (p, (label, proba))) in ours
            .iter()
            .zip(reference.predict.iter().zip(&reference.predict_proba))
            .enumerate()
        {
            assert_eq!(&m.classes()[p.class], label, "{model}: row {i}");
            for (a, b) in p.probabilities.iter().zip(proba) {
                let difference = (a - b).abs();
                assert!(difference <= 1e-12, "{model}: row {i}: {a:e} vs {b:e}");
                largest = largest.max(difference);
                values += 1;
                identical += usize::from(a.to_bits() == b.to_bits());
            }
        }
        eprintln!(
            "{model}: {identical} of {values} probabilities bit-identical to scikit-learn's; largest difference {largest:e}"
        );
    }
}

fn refusal(export: &Value) -> String {
    let bytes = serde_json::to_vec(export).unwrap();
    match import(&bytes, "model.json", &options("m")) {
        Ok(_) => panic!("imported {export}"),
        Err(e) => e.to_string(),
    }
}

fn iris_export() -> Value {
    serde_json::from_slice(&export_bytes("iris")).unwrap()
}

#[test]
fn what_cannot_be_reproduced_is_refused_with_one_line() {
    let wine: Value = serde_json::from_slice(&export_bytes("wine-quality")).unwrap();
    let with = |base: &Value, key: &str, value: Value| {
        let mut export = base.clone();
        export[key] = value;
        export
    };
    let without = |base: &Value, key: &str| {
        let mut export = base.clone();
        export.as_object_mut().unwrap().remove(key);
        export
    };
    let mut nan = iris_export();
    nan["coef"][1][2] = "NaN".into();
    let cases = [
        (
            with(&iris_export(), "probability", "ovr".into()),
            "model.json: one-vs-rest probabilities (multi_class='ovr', or the liblinear solver) cannot be reproduced; refit with the lbfgs solver",
        ),
        (
            with(&wine, "probability", "softmax".into()),
            "model.json: a binary model fitted with the multinomial loss cannot be reproduced; refit it without multi_class='multinomial'",
        ),
        (
            with(
                &wine,
                "steps",
                json!(["PolynomialFeatures", "StandardScaler", "LogisticRegression"]),
            ),
            r#"model.json: the pipeline's steps ["PolynomialFeatures", "StandardScaler", "LogisticRegression"] cannot be reproduced: only LogisticRegression, alone or after StandardScaler"#,
        ),
        (
            without(&iris_export(), "intercept"),
            "model.json: not a scikit-learn export: missing field `intercept` at line 1 column",
        ),
        (
            with(
                &iris_export(),
                "coef",
                json!([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]]),
            ),
            "model.json: coef has 2 values, expected 3",
        ),
        (
            with(&iris_export(), "classes", json!(["a", "b"])),
            "model.json: a binary model fitted with the multinomial loss cannot be reproduced; refit it without multi_class='multinomial'",
        ),
        (
            with(&iris_export(), "classes", json!(["a", "b", "c", "d"])),
            "model.json: coef has 3 values, expected 4",
        ),
        (nan, "model.json: coef[1][2] is NaN, not a finite number"),
        (
            with(&wine, "scaler", Value::Null),
            r#"model.json: a StandardScaler step needs the "scaler" key, and only that step has one"#,
        ),
        (
            with(&iris_export(), "format", "something-else".into()),
            r#"model.json: format "something-else" version 1 is not "ml-inference-app/sklearn-export" version 1"#,
        ),
    ];
    for (export, expected) in cases {
        let message = refusal(&export);
        assert!(
            message.starts_with(expected),
            "{message}\n  expected {expected}"
        );
        assert!(!message.contains('\n'), "{message}");
    }
}

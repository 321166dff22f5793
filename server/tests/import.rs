//! Importing scikit-learn models: the committed exports (made by real scikit-learn, see
//! `fixtures/sklearn/`) import to the committed artifacts, their probabilities equal
//! scikit-learn's own within 1e-12 with the same labels, and each export that cannot be
//! reproduced exactly is refused with one line.

use serde_json::{Value, json};
use server::Artifact;
use server::contract::fixtures::SklearnReference as Reference;
use server::import::{ImportOptions, import};

use crate::util::{IMPORTED, fixtures};

fn export_bytes(export: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(format!("sklearn/{export}.export.json"))).unwrap()
}

fn options(model: &str) -> ImportOptions {
    ImportOptions {
        name: format!("{model}-sklearn"),
        version: "1.0.0".into(),
        class_names: None,
    }
}

#[test]
fn the_committed_exports_import_to_the_committed_artifacts() {
    for (model, export) in IMPORTED {
        let file = export.rsplit('/').next().unwrap();
        let imported = import(
            &export_bytes(export),
            &format!("{file}.export.json"),
            &options(model),
        )
        .unwrap();
        let path = fixtures().join(format!("models/{model}-sklearn.json"));
        assert!(
            imported.artifact == std::fs::read(&path).unwrap(),
            "{} is stale: run `cargo run -p server --bin import -- --export fixtures/sklearn/{export}.export.json --name {model}-sklearn --out {}`",
            path.display(),
            path.display()
        );
    }
}

/// How far `artifact` is from scikit-learn's `predict_proba` on `reference`'s rows, asserting
/// the same labels and at most 1e-12: (largest difference, bit-identical values, values).
fn against_scikit_learn(
    name: &str,
    artifact: &Artifact,
    reference: &Reference,
) -> (f64, usize, usize) {
    let m = artifact.model();
    let rows = server::contract::fixtures::checked(m, &reference.rows).unwrap();
    let ours = m.predict_batch(&rows).unwrap();
    let (mut identical, mut values, mut largest) = (0, 0, 0.0f64);
    for (i, (p, (label, proba))) in ours
        .iter()
        .zip(reference.predict.iter().zip(&reference.predict_proba))
        .enumerate()
    {
        assert_eq!(&m.classes()[p.class], label, "{name}: row {i}");
        for (a, b) in p.probabilities.iter().zip(proba) {
            let difference = (a - b).abs();
            assert!(difference <= 1e-12, "{name}: row {i}: {a:e} vs {b:e}");
            largest = largest.max(difference);
            values += 1;
            identical += usize::from(a.to_bits() == b.to_bits());
        }
    }
    (largest, identical, values)
}

fn reference(path: &std::path::Path) -> Reference {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The imported models answer as scikit-learn's `predict_proba` and `predict` did, within
/// 1e-12: the kernels differ only in summation order (BLAS against feature order).
#[test]
fn imported_probabilities_equal_scikit_learns_within_1e_12() {
    for (model, export) in IMPORTED {
        let artifact =
            Artifact::load(&fixtures().join(format!("models/{model}-sklearn.json"))).unwrap();
        let reference = reference(&fixtures().join(format!("sklearn/{export}.reference.json")));
        let (largest, identical, values) = against_scikit_learn(model, &artifact, &reference);
        eprintln!(
            "{model}: {identical} of {values} probabilities bit-identical to scikit-learn's; largest difference {largest:e}"
        );
    }
}

/// Every kind of model the importer reproduces (`fixtures/sklearn/kinds/`: each estimator,
/// probability mode and scaler, binary and with three classes, fitted by real scikit-learn)
/// imports and answers within 1e-12 of its `predict_proba`, with its labels. The table of
/// kinds is printed: the largest difference and the share of bit-identical values.
#[test]
fn every_kind_of_model_imports_within_1e_12_of_scikit_learn() {
    let dir = fixtures().join("sklearn/kinds");
    let mut kinds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".export.json"))
        .collect();
    kinds.sort();
    assert!(kinds.len() >= 16, "{} kinds", kinds.len());
    let mut table = String::from(
        "| kind | estimator | probabilities | largest difference | bit-identical |\n|---|---|---|---|---|\n",
    );
    for path in kinds {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let name = file.trim_end_matches(".export.json");
        let bytes = std::fs::read(&path).unwrap();
        let imported = import(&bytes, &file, &options(name)).unwrap_or_else(|e| panic!("{e}"));
        let artifact = imported.loaded;
        let reference = reference(&dir.join(format!("{name}.reference.json")));
        let (largest, identical, values) = against_scikit_learn(name, &artifact, &reference);
        let export: Value = serde_json::from_slice(&bytes).unwrap();
        table.push_str(&format!(
            "| {name} | {} | {} | {largest:.1e} | {identical}/{values} ({:.0}%) |\n",
            export["estimator"].as_str().unwrap(),
            artifact.model().kind().as_str(),
            100.0 * identical as f64 / values as f64
        ));
    }
    eprintln!("{table}");
}

/// An export of version 1 (a `steps` list, a `scaler` of `mean` and `scale`) still imports, to
/// the same model as its version 2.
#[test]
fn a_version_1_export_still_imports() {
    let v2: Value = serde_json::from_slice(&export_bytes("wine-quality")).unwrap();
    let mut v1 = v2.clone();
    let object = v1.as_object_mut().unwrap();
    object.remove("estimator");
    object.insert("format_version".into(), json!(1));
    object.insert(
        "steps".into(),
        json!(["StandardScaler", "LogisticRegression"]),
    );
    object.insert(
        "scaler".into(),
        json!({"mean": v2["scaler"]["subtract"], "scale": v2["scaler"]["divide"]}),
    );
    let bytes = |v: &Value| serde_json::to_vec(v).unwrap();
    let (old, new) = (
        import(&bytes(&v1), "w.json", &options("w")).unwrap(),
        import(&bytes(&v2), "w.json", &options("w")).unwrap(),
    );
    assert_eq!(old.loaded.model(), new.loaded.model());
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
    let mut zero = wine.clone();
    zero["scaler"]["divide"][3] = 0.0.into();
    let mut clip = wine.clone();
    clip["scaler"]["clip"] = json!([0.0, 1.0]);
    let cases = [
        (
            with(&iris_export(), "probability", "ovr".into())
                .as_object()
                .map(|o| {
                    let mut o = o.clone();
                    o.insert("classes".into(), json!(["a", "b"]));
                    o.insert("coef".into(), json!([[1.0, 2.0, 3.0, 4.0]]));
                    o.insert("intercept".into(), json!([0.5]));
                    Value::Object(o)
                })
                .unwrap(),
            r#"model.json: one-vs-rest probabilities need three or more classes; two classes are "logistic""#,
        ),
        (
            with(
                &wine,
                "estimator",
                "Pipeline(PolynomialFeatures, LogisticRegression)".into(),
            ),
            r#"model.json: the estimator "Pipeline(PolynomialFeatures, LogisticRegression)" cannot be reproduced: only ["#,
        ),
        (
            with(&wine, "estimator", "LogisticRegression".into()),
            r#"model.json: the estimator "LogisticRegression" does not match its scaler Some("StandardScaler")"#,
        ),
        (
            with(&iris_export(), "estimator", "RandomForestClassifier".into()),
            r#"model.json: the estimator "RandomForestClassifier" cannot be reproduced"#,
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
            "model.json: coef has 3 values, expected 1",
        ),
        (
            with(&iris_export(), "classes", json!(["a", "b", "c", "d"])),
            "model.json: coef has 3 values, expected 4",
        ),
        (
            with(&iris_export(), "classes", json!(["a", null, "c"])),
            "model.json: class null is neither a string, a number nor a boolean",
        ),
        (nan, "model.json: coef[1][2] is NaN, not a finite number"),
        (
            zero,
            r#"model.json: the scaler divides feature "residual_sugar" by 0"#,
        ),
        (clip, r#"model.json: a StandardScaler has no "clip" step"#),
        (
            with(&iris_export(), "format", "something-else".into()),
            r#"model.json: format "something-else" version 2 is not "ml-inference-app/sklearn-export" version 1, 2 or 3"#,
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

/// `--class-names` names a model fitted on codes, in scikit-learn's order; a list of another
/// length is refused.
#[test]
fn class_names_rename_the_classes_in_order() {
    let dir = fixtures().join("sklearn/kinds");
    let bytes = std::fs::read(dir.join("one-vs-rest-classifier-3.export.json")).unwrap();
    let named = |names: &[&str]| ImportOptions {
        class_names: Some(names.iter().map(|n| n.to_string()).collect()),
        ..options("codes")
    };
    let plain = import(&bytes, "codes.json", &options("codes")).unwrap();
    assert_eq!(plain.loaded.model().classes(), ["0", "1", "2"]);
    let renamed = import(
        &bytes,
        "codes.json",
        &named(&["setosa", "versicolor", "virginica"]),
    )
    .unwrap();
    assert_eq!(
        renamed.loaded.model().classes(),
        ["setosa", "versicolor", "virginica"]
    );
    let refused = import(&bytes, "codes.json", &named(&["a", "b"])).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "codes.json: --class-names has 2 values, expected 3"
    );
}

/// A table export naming a step or an estimator the importer does not reproduce is refused
/// with one line.
#[test]
fn an_unsupported_table_step_is_refused_with_one_line() {
    let dir = fixtures().join("sklearn/kinds");
    let table: Value = serde_json::from_slice(
        &std::fs::read(dir.join("table-penguins-median-onehot-3.export.json")).unwrap(),
    )
    .unwrap();
    let mut forest = table.clone();
    forest["estimator"] = json!("Pipeline(ColumnTransformer, RandomForestClassifier)");
    let message = refusal(&forest);
    assert!(
        message.starts_with("model.json: the estimator \"Pipeline(ColumnTransformer, RandomForestClassifier)\" cannot be reproduced"),
        "{message}"
    );
    let mut polynomial = table.clone();
    polynomial["columns"][0]["steps"][0] = json!({"polynomial_features": {"degree": 2}});
    let message = refusal(&polynomial);
    assert!(
        message.contains("unknown variant `polynomial_features`") && !message.contains('\n'),
        "{message}"
    );
}

//! `harness diff` and `harness verify` on the uses the README documents: an artifact against
//! itself, a retrained model, the reference model against its scikit-learn import (classes in
//! another order), a running server against its own artifact (through both protocols), and a
//! statement verified against what it names and what it does not.

use std::path::PathBuf;
use std::time::SystemTime;

use harness::attest::{self, Subjects};
use harness::diff::{self, Options, Spec, Thresholds};
use harness::fixtures::repository_root;
use harness::rows::numbers;
use harness::suite::{self, Options as SuiteOptions, Protocol, Target};
use server::contract::Config;
use server::http::Service;
use server::{Artifact, train};

use crate::util::fixtures;

fn model(name: &str) -> PathBuf {
    repository_root().join(format!("fixtures/models/{name}.json"))
}

fn serve(artifact: &Artifact) -> Service {
    let config = Config {
        host: [127, 0, 0, 1].into(),
        port: 0,
        ..Config::default()
    };
    Service::launch(&config, artifact.clone(), SystemTime::now()).unwrap()
}

#[test]
fn an_artifact_against_itself_is_identical() {
    let side = Spec::Artifact(model("iris"));
    let report = diff::run(&side, &side, &Options::default()).unwrap();
    assert!(report.within(), "{}", report.table());
    assert_eq!(report.label_changes, 0);
    assert_eq!(report.identical, report.values);
    assert!(report.rows > 500, "{} rows", report.rows);
}

#[test]
fn a_model_retrained_with_another_alpha_lists_its_label_changes_and_fails_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let data = repository_root().join("fixtures/data/iris.csv");
    let mut paths = vec![];
    for alpha in [1.0, 50.0] {
        let options = train::Options {
            alpha,
            class_names: Some(vec![
                "setosa".into(),
                "versicolor".into(),
                "virginica".into(),
            ]),
            ..train::Options::new("flowers", "species")
        };
        let trained = train::train(&data, &options).unwrap();
        let path = dir.path().join(format!("flowers-{alpha}.json"));
        std::fs::write(&path, &trained.artifact).unwrap();
        paths.push(path);
    }
    let report = diff::run(
        &Spec::Artifact(paths[0].clone()),
        &Spec::Artifact(paths[1].clone()),
        &Options::default(),
    )
    .unwrap();
    assert!(!report.within());
    assert!(report.label_changes > 0, "{}", report.table());
    assert_eq!(report.first_changes.len(), report.label_changes.min(10));
    let change = &report.first_changes[0];
    assert_ne!(change.from, change.to);
    // Generous thresholds accept the same change.
    let lenient = Options {
        thresholds: Thresholds {
            max_label_changes: report.rows,
            max_delta: 1.0,
        },
        ..Options::default()
    };
    let report = diff::run(
        &Spec::Artifact(paths[0].clone()),
        &Spec::Artifact(paths[1].clone()),
        &lenient,
    )
    .unwrap();
    assert!(report.within());
}

/// The scikit-learn import lists its classes as `["bad", "good"]`, the reference model as
/// `["good", "bad"]`: they are matched by name, and every probability compared is the one of
/// the same class.
#[test]
fn the_reference_model_against_its_scikit_learn_import_maps_classes_by_name() {
    let report = diff::run(
        &Spec::Artifact(model("wine-quality")),
        &Spec::Artifact(model("wine-quality-sklearn")),
        &Options::default(),
    )
    .unwrap();
    eprintln!("{}", report.table());
    let classes: Vec<&str> = report
        .largest_per_class
        .iter()
        .map(|c| c.class.as_str())
        .collect();
    assert_eq!(classes, ["good", "bad"]);
    // Each side's answer for a row is what that artifact gives in-process.
    let sklearn = Artifact::load(&model("wine-quality-sklearn")).unwrap();
    let change = report
        .first_changes
        .first()
        .expect("the two fits differ somewhere");
    let rows =
        server::contract::fixtures::checked(sklearn.model(), std::slice::from_ref(&change.values))
            .unwrap();
    let p = sklearn.model().predict_batch(&rows).unwrap().remove(0);
    assert!(
        change.to.starts_with(&sklearn.model().classes()[p.class]),
        "{}",
        change.to
    );
    assert!(
        change.to.contains(&format!("good {}", p.probabilities[1])),
        "{}",
        change.to
    );
}

#[test]
fn sides_with_different_features_are_refused_in_one_line() {
    let error = diff::run(
        &Spec::Artifact(model("iris")),
        &Spec::Artifact(model("wine-quality")),
        &Options::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("different features"), "{error}");
    assert!(!error.contains('\n'), "{error}");
}

/// A running server answers as its own artifact: through this project's API and through the
/// Open Inference Protocol (whose features and classes are the artifact's).
#[test]
fn a_running_server_against_its_own_artifact_is_identical_through_both_protocols() {
    let artifact = Artifact::load(&model("iris-sklearn")).unwrap();
    let service = serve(&artifact);
    let url = Spec::Url(format!("http://{}", service.addr()));
    let file = Spec::Artifact(model("iris-sklearn"));
    for protocol in [Protocol::Full, Protocol::V2] {
        let options = Options {
            protocol,
            ..Options::default()
        };
        let report = diff::run(&url, &file, &options).unwrap();
        assert!(report.within(), "{protocol:?}: {}", report.table());
        assert_eq!(report.identical, report.values);
    }
}

#[test]
fn your_own_rows_are_read_by_feature_name() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("rows.csv");
    std::fs::write(
        &csv,
        "petal_width,sepal_length,petal_length,sepal_width,notes\n0.2,5.1,1.4,3.5,1\n2.5,6.3,6.0,3.3,2\n",
    )
    .unwrap();
    let features: Vec<String> = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
        .map(String::from)
        .into();
    assert_eq!(
        diff::read_rows(&csv, &features).unwrap(),
        numbers(&[vec![5.1, 3.5, 1.4, 0.2], vec![6.3, 3.3, 6.0, 2.5]])
    );
    let json = dir.path().join("rows.json");
    std::fs::write(&json, r#"{"instances": [[5.1, 3.5, 1.4, 0.2], {"sepal_length": 6.3, "sepal_width": 3.3, "petal_length": 6.0, "petal_width": 2.5}]}"#).unwrap();
    assert_eq!(
        diff::read_rows(&json, &features).unwrap(),
        numbers(&[vec![5.1, 3.5, 1.4, 0.2], vec![6.3, 3.3, 6.0, 2.5]])
    );
}

/// A statement made from a run verifies against the artifacts it checked, and not against
/// another.
#[test]
fn a_statement_verifies_against_what_was_checked_and_nothing_else() {
    let reference = fixtures().reference("iris").unwrap();
    let service = serve(&reference.oracle);
    let run = suite::run(
        fixtures(),
        &Target::Url(format!("http://{}", service.addr())),
        &SuiteOptions::default(),
    )
    .unwrap();
    let subjects = Subjects {
        artifacts: vec![("iris.json".into(), reference.bytes.clone())],
        ..Subjects::default()
    };
    let statement = attest::statement(&run.checks, &subjects);
    assert_eq!(statement.predicate.result, "PASSED");
    assert!(attest::verify(&statement, Some(("iris.json", &reference.bytes)), None).is_ok());
    let other = std::fs::read(model("wine-quality")).unwrap();
    let problems =
        attest::verify(&statement, Some(("wine-quality.json", &other)), None).unwrap_err();
    assert!(problems[0].contains("is not a subject"), "{problems:?}");
}

/// Categories are matched by value, and the rows drawn take both sides' categories: a model
/// trained without one island is asked about it, and refuses it, while the rows both sides
/// know answer; against itself the penguins model is identical, categories and gaps included.
#[test]
fn categories_are_matched_by_value_and_drawn_from_both_sides() {
    let side = Spec::Artifact(model("penguins"));
    let report = diff::run(&side, &side, &Options::default()).unwrap();
    assert!(report.within(), "{}", report.table());
    assert_eq!(report.identical, report.values);

    let dir = tempfile::tempdir().unwrap();
    let csv =
        std::fs::read_to_string(repository_root().join("fixtures/data/penguins.csv")).unwrap();
    let without: String = csv
        .lines()
        .filter(|line| !line.contains(",Torgersen,"))
        .map(|line| format!("{line}\n"))
        .collect();
    let data = dir.path().join("penguins.csv");
    std::fs::write(&data, without).unwrap();
    let options = train::Options {
        features: train::Features::Exclude(vec!["year".into()]),
        impute: Some(train::Statistic::Median),
        standardize: true,
        ..train::Options::new("penguins", "species")
    };
    let trained = train::train(&data, &options).unwrap();
    let path = dir.path().join("penguins-two-islands.json");
    std::fs::write(&path, &trained.artifact).unwrap();

    let report = diff::run(&side, &Spec::Artifact(path), &Options::default()).unwrap();
    let refused: Vec<_> = report
        .first_changes
        .iter()
        .filter(|c| c.to.contains("unknown category \"Torgersen\""))
        .collect();
    assert!(!refused.is_empty(), "{}", report.table());
    assert!(
        refused.iter().all(|c| c.values[0]
            == server::inputs::Datum::Category(server::inputs::Category::Text("Torgersen".into()))),
        "{}",
        report.table()
    );
    assert!(report.rows > report.label_changes, "{}", report.table());
}

/// A side that can only be a path says that it does not exist, in one line; a name that could
/// be an image stays an image.
#[test]
fn a_missing_artifact_is_named_not_pulled() {
    let missing = Spec::parse("models/today.json");
    assert_eq!(missing, Spec::Artifact(PathBuf::from("models/today.json")));
    let error = diff::run(
        &missing,
        &Spec::Artifact(model("iris")),
        &Options::default(),
    )
    .unwrap_err();
    let line = harness::error::chain(&error);
    assert!(
        line.starts_with("models/today.json: ") && line.contains("No such file"),
        "{line}"
    );
    assert!(!line.contains('\n'), "{line}");
    assert_eq!(
        Spec::parse("ml-inference-app:1.0"),
        Spec::Image("ml-inference-app:1.0".into())
    );
    assert_eq!(
        Spec::parse("./today"),
        Spec::Artifact(PathBuf::from("./today"))
    );
}

//! "Your own model", start to finish, as the README walks it: a CSV with string labels and
//! three classes → `train` → an artifact → the service (in-process on a free port, then an
//! image with the artifact baked in) → requests answered with those labels → the harness's
//! suite proving both bit for bit against the artifact.

use std::time::SystemTime;

use harness::checks::Status;
use harness::fixtures::{Fixtures, repository_root};
use harness::rows::{Schema, numbers};
use harness::suite::{self, IMAGE_CHECKS, Options, Target};
use serde_json::json;
use server::contract::Config;
use server::http::Service;
use server::train;

use crate::util::{assert_none_failed, assert_passed};

/// Three species a linear model separates, as a person would write them down.
fn flowers_csv() -> String {
    let mut csv = String::from("sepal length,petal length,petal width,species\n");
    for i in 0..60 {
        let jitter = f64::from(i % 7) * 0.13;
        let (species, base) = match i % 3 {
            0 => ("rosa", 1.0),
            1 => ("tulipa", 3.5),
            _ => ("iris", 6.0),
        };
        csv.push_str(&format!(
            "{:.2},{:.2},{:.2},{species}\n",
            4.0 + base / 3.0 + jitter,
            base + jitter,
            base / 3.0 + jitter / 2.0
        ));
    }
    csv
}

#[test]
fn a_csv_of_ones_own_trains_serves_and_is_proven_in_process_and_in_the_container() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("flowers.csv");
    std::fs::write(&data, flowers_csv()).unwrap();
    let options = train::Options {
        standardize: true,
        ..train::Options::new("flowers", "species")
    };
    let trained = train::train(&data, &options).unwrap();
    let artifact = dir.path().join("flowers.json");
    std::fs::write(&artifact, &trained.artifact).unwrap();
    assert_eq!(trained.model.classes(), ["iris", "rosa", "tulipa"]);

    let fixtures = Fixtures::for_artifact(&repository_root(), &artifact, None).unwrap();
    let oracle = fixtures.default_model().unwrap().oracle.clone();

    // In-process, on a free port.
    let config = Config {
        host: [127, 0, 0, 1].into(),
        port: 0,
        ..Config::default()
    };
    let service = Service::launch(&config, oracle, SystemTime::now()).unwrap();
    let url = format!("http://{}", service.addr());
    let client = harness::client::Client::new(&url);
    let answer = client
        .post_json(
            "/predict",
            &json!({"instances": [[4.4, 1.1, 0.4], {"sepal_length": 6.1, "petal_length": 6.2, "petal_width": 2.1}]}),
        )
        .unwrap();
    let body = answer.json().unwrap();
    assert_eq!(
        (
            answer.status,
            &body["predictions"][0]["label"],
            &body["predictions"][1]["label"]
        ),
        (200, &json!("rosa"), &json!("iris")),
        "{}",
        answer.body
    );
    let answer = client
        .infer(
            "flowers",
            &numbers(&[vec![5.2, 3.6, 1.2]]),
            &Schema::of(&fixtures.default_model().unwrap().oracle),
            Some("mine"),
        )
        .unwrap();
    assert_eq!(
        answer.json().unwrap()["outputs"][0]["data"],
        json!(["tulipa"])
    );

    let run = suite::run(&fixtures, &Target::Url(url), &Options::default()).unwrap();
    assert_none_failed(&run.checks);
    assert_passed(&run.checks, "parity: golden cases (flowers)");
    assert_passed(&run.checks, "parity: random rows (flowers)");
    for name in IMAGE_CHECKS {
        assert!(
            run.checks
                .iter()
                .any(|c| c.name == name && c.status == Status::NotRun)
        );
    }

    // An image with the artifact baked in, checked as the reference image is.
    if std::env::var_os(harness::SKIP_ENV).is_some_and(|v| !v.is_empty() && v != "0") {
        eprintln!(
            "\n*** SKIPPED: the container half of this test, because {} is set. ***\n",
            harness::SKIP_ENV
        );
        return;
    }
    let run = suite::run(&fixtures, &Target::Build, &Options::default())
        .unwrap_or_else(|e| panic!("{}", harness::error::chain(&e)));
    assert_none_failed(&run.checks);
    for prefix in [
        "served artifact",
        "endpoints",
        "limits",
        "parity: golden cases",
        "parity: random rows",
    ] {
        assert_passed(&run.checks, &format!("{prefix} (flowers)"));
    }
    for name in IMAGE_CHECKS {
        assert_passed(&run.checks, name);
    }
}

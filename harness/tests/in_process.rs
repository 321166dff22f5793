//! The in-process target: the service started inside this test process on 127.0.0.1:0, checked
//! by the same suite as a container or `harness check --url`. No Docker needed, so every HTTP
//! check runs here first; the image's own checks are reported not run, never passed.

use std::time::SystemTime;

use harness::checks::Status;
use harness::suite::{self, IMAGE_CHECKS, Options, Protocol, Target};
use server::contract::{Config, Limits};
use server::http::Service;

use crate::util::{assert_every_limit_tried, assert_none_failed, assert_passed, fixtures};

/// Serves `model`'s reference artifact with `limits`, and runs the suite against it.
fn check(model: &str, limits: Limits) -> Vec<harness::checks::Check> {
    let config = Config {
        host: [127, 0, 0, 1].into(),
        port: 0,
        workers: 4,
        limits,
        ..Config::default()
    };
    let artifact = fixtures().reference(model).unwrap().oracle.clone();
    let service = Service::launch(&config, artifact, SystemTime::now()).unwrap();
    let url = format!("http://{}", service.addr());
    let run = suite::run(fixtures(), &Target::Url(url), &Options::default()).unwrap();
    for name in IMAGE_CHECKS {
        let check = run.checks.iter().find(|c| c.name == name).unwrap();
        assert_eq!(check.status, Status::NotRun, "{name}");
    }
    run.checks
}

#[test]
fn every_http_check_passes_for_each_reference_model() {
    for (model, reference) in &fixtures().references {
        let checks = check(model, Limits::default());
        for prefix in [
            "served artifact",
            "endpoints",
            "limits",
            "parity: golden cases",
            "parity: random rows",
        ] {
            assert_passed(&checks, &format!("{prefix} ({model})"));
        }
        // An imported model answers as scikit-learn did, within the stated tolerance.
        if reference.sklearn.is_some() {
            assert_passed(&checks, &format!("parity: scikit-learn ({model})"));
        }
    }
    assert!(
        fixtures().references.values().any(|r| r.sklearn.is_some()),
        "no imported model among the references"
    );
}

#[test]
fn every_models_bad_input_catalogue_is_refused_as_generated() {
    for model in fixtures().references.keys() {
        assert_passed(
            &check(model, Limits::default()),
            &format!("bad input ({model})"),
        );
    }
}

/// A deployment with smaller limits passes: the harness reads them from `/model`, splits its
/// batches to fit, and checks that they are enforced, the header timeout and the connection cap
/// included (they are small enough to try here).
#[test]
fn a_service_with_smaller_limits_passes_every_http_check() {
    let limits = Limits {
        max_body_bytes: 64 * 1024,
        max_batch_rows: 10,
        header_timeout_ms: 500,
        max_connections: 16,
        ..Limits::default()
    };
    let checks = check("wine-quality", limits);
    assert_none_failed(&checks);
    let golden = fixtures().reference("wine-quality").unwrap();
    assert!(
        golden.golden.cases.iter().any(|c| c.instances.len() > 10),
        "no golden batch is larger than the limit, so nothing was split"
    );
    assert_passed(&checks, "parity: golden cases");
    assert_every_limit_tried(&checks);
}

/// `--protocol v2`: this server passes the foreign-server checks at tolerance 0, and an oracle
/// one ulp away fails parity with the count of bit-identical values reported; both with JSON
/// tensors and with binary tensor data (`--binary-data`).
#[test]
fn the_v2_protocol_checks_pass_at_tolerance_zero_and_fail_one_ulp_away() {
    let reference = fixtures().reference("iris-sklearn").unwrap();
    let config = Config {
        host: [127, 0, 0, 1].into(),
        port: 0,
        ..Config::default()
    };
    let service = Service::launch(&config, reference.oracle.clone(), SystemTime::now()).unwrap();
    let url = format!("http://{}", service.addr());
    let v2 = |fixtures: &harness::fixtures::Fixtures, binary: bool| {
        let mut options = Options {
            protocol: Protocol::V2,
            ..Options::default()
        };
        options.foreign.binary = binary;
        suite::run(fixtures, &Target::Url(url.clone()), &options)
            .unwrap()
            .checks
    };
    let exact = harness::fixtures::Fixtures::for_artifact(
        &harness::fixtures::repository_root(),
        &reference.path,
        None,
    )
    .unwrap();
    for binary in [false, true] {
        let checks = v2(&exact, binary);
        assert_eq!(checks.len(), 7);
        assert!(
            checks.iter().all(|c| c.status == Status::Pass),
            "{checks:#?}"
        );
    }

    // One coefficient one ulp up: every other value may still agree, but not all.
    let mut document: serde_json::Value = serde_json::from_slice(&reference.bytes).unwrap();
    let first = document["model"]["params"]["data"][0].as_f64().unwrap();
    document["model"]["params"]["data"][0] = f64::from_bits(first.to_bits() + 1).into();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iris-sklearn.json");
    std::fs::write(&path, serde_json::to_vec(&document).unwrap()).unwrap();
    let off = harness::fixtures::Fixtures::for_artifact(
        &harness::fixtures::repository_root(),
        &path,
        None,
    )
    .unwrap();
    for binary in [false, true] {
        let parity = v2(&off, binary)
            .into_iter()
            .find(|c| c.name.starts_with("parity: V2"))
            .unwrap();
        assert_eq!(parity.status, Status::Fail, "{}", parity.detail);
        assert!(
            parity.detail.contains("of 600 values bit-identical"),
            "{}",
            parity.detail
        );
    }
}

/// An imported artifact checked on its own (`check --artifact`) is compared with scikit-learn's
/// answers found beside its export; without them the comparison is reported not run, saying
/// why, never left out.
#[test]
fn an_imported_artifact_is_compared_with_scikit_learn_or_says_why_not() {
    let root = harness::fixtures::repository_root();
    let with = harness::fixtures::Fixtures::for_artifact(
        &root,
        &root.join("fixtures/models/iris-sklearn.json"),
        None,
    )
    .unwrap();
    assert!(with.default_model().unwrap().sklearn.is_some());

    let dir = tempfile::tempdir().unwrap();
    let export = std::fs::read(root.join("fixtures/sklearn/iris.export.json")).unwrap();
    let options = server::import::ImportOptions {
        name: "mine".into(),
        version: "1.0.0".into(),
        class_names: None,
    };
    let imported = server::import::import(&export, "mine.export.json", &options).unwrap();
    let path = dir.path().join("mine.json");
    std::fs::write(&path, &imported.artifact).unwrap();
    let fixtures = harness::fixtures::Fixtures::for_artifact(&root, &path, None).unwrap();
    let config = Config {
        host: [127, 0, 0, 1].into(),
        port: 0,
        ..Config::default()
    };
    let service = Service::launch(&config, imported.loaded, SystemTime::now()).unwrap();
    let url = format!("http://{}", service.addr());
    let run = suite::run(&fixtures, &Target::Url(url), &Options::default()).unwrap();
    let check = run
        .checks
        .iter()
        .find(|c| c.name == "parity: scikit-learn (mine)")
        .expect("the comparison is listed");
    assert_eq!(check.status, Status::NotRun);
    assert!(
        check.detail.contains("mine.export.json"),
        "{}",
        check.detail
    );
}

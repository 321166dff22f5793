//! The in-process target: the service started inside this test process on 127.0.0.1:0, checked
//! by the same suite as a container or `harness check --url`. No Docker needed, so every HTTP
//! check runs here first; the image's own checks are reported not run, never passed.

use std::time::SystemTime;

use harness::checks::Status;
use harness::suite::{self, IMAGE_CHECKS, Options, Target};
use server::contract::{Config, Limits};
use server::http::Service;

use crate::util::{assert_passed, fixtures};

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
/// batches to fit, and checks that they are enforced.
#[test]
fn a_service_with_smaller_limits_passes_every_http_check() {
    let limits = Limits {
        max_body_bytes: 64 * 1024,
        max_batch_rows: 10,
    };
    let checks = check("wine-quality", limits);
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    let golden = fixtures().reference("wine-quality").unwrap();
    assert!(
        golden.golden.cases.iter().any(|c| c.instances.len() > 10),
        "no golden batch is larger than the limit, so nothing was split"
    );
    assert_passed(&checks, "parity: golden cases");
}

//! The container tests: the image built from this repository's Dockerfile, run with
//! testcontainers, checked by the harness's own checks. One test per concern; each starts the
//! containers it needs, and the image is built once per run.
//!
//! Without a Docker engine every test fails with the same message. Setting
//! `HARNESS_SKIP_CONTAINERS=1` skips them on purpose, and each says so on the terminal.

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use harness::checks::{
    Check, Verdict, bad_input, cold_start, endpoints, image, lifecycle, parity, replicas,
};
use harness::container::{self, Launch, Running};
use harness::docker::Docker;
use harness::image::{BuildOptions, Built};
use harness::{SKIP_ENV, fixtures};
use server::Artifact;

fn root() -> PathBuf {
    harness::image::workspace_root()
}

/// The image under test, built once; `None` when the tests are skipped on purpose.
fn built() -> Option<&'static Built> {
    static BUILT: OnceLock<Result<Built, String>> = OnceLock::new();
    if std::env::var_os(SKIP_ENV).is_some_and(|v| !v.is_empty() && v != "0") {
        // Written past the test harness's capture so that the skip is seen.
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED: container test, because {SKIP_ENV} is set. Nothing about the image was checked. ***\n"
        );
        return None;
    }
    let built = BUILT.get_or_init(|| {
        let docker = Docker::connect().map_err(|e| e.to_string())?;
        harness::image::build(&docker, &root(), &BuildOptions::default()).map_err(|e| e.to_string())
    });
    match built {
        Ok(built) => Some(built),
        Err(e) => panic!("{e}"),
    }
}

fn oracle(model: &str) -> Artifact {
    fixtures::artifact(&root(), model).unwrap()
}

fn start(built: &Built, launch: &Launch) -> Running {
    container::start(&built.reference, launch).unwrap()
}

fn iris_launch() -> Launch {
    Launch::default().with_artifact(
        "iris.json",
        fixtures::artifact_bytes(&root(), "iris").unwrap(),
    )
}

/// Asserts a check passed, and prints its figures past the capture so they are reported.
fn assert_passed(name: &str, verdict: Verdict) {
    let check = Check::from(name, verdict);
    for figure in &check.figures {
        let _ = writeln!(
            std::io::stderr(),
            "{name}: {} = {:.3} {}",
            figure.name,
            figure.value,
            figure.unit
        );
    }
    assert!(check.passed(), "{name}: {}", check.detail);
}

#[test]
fn every_endpoint_answers_as_documented() {
    let Some(built) = built() else { return };
    let wine = start(built, &Launch::default());
    assert_passed(
        "endpoints (wine-quality)",
        endpoints::run(&wine.client, &oracle("wine-quality")),
    );
    let iris = start(built, &iris_launch());
    assert_passed(
        "endpoints (iris via MODEL_PATH)",
        endpoints::run(&iris.client, &oracle("iris")),
    );
}

#[test]
fn bad_input_is_refused_and_the_service_stays_up() {
    let Some(built) = built() else { return };
    let running = start(built, &Launch::default());
    let bad = fixtures::bad_inputs(&root()).unwrap();
    assert_passed(
        "bad input",
        bad_input::run(
            &running.client,
            &oracle("wine-quality"),
            &bad,
            bad_input::default_limits(),
        ),
    );
}

#[test]
fn golden_cases_equal_in_process_predictions_bit_for_bit() {
    let Some(built) = built() else { return };
    for (model, launch) in [("wine-quality", Launch::default()), ("iris", iris_launch())] {
        let running = start(built, &launch);
        let golden = fixtures::golden(&root(), model).unwrap();
        assert_passed(
            &format!("golden ({model})"),
            parity::golden(&running.client, &oracle(model), &golden),
        );
    }
}

#[test]
fn random_rows_equal_in_process_predictions_bit_for_bit() {
    let Some(built) = built() else { return };
    for (model, launch) in [("wine-quality", Launch::default()), ("iris", iris_launch())] {
        let running = start(built, &launch);
        assert_passed(
            &format!("random ({model})"),
            parity::random(&running.client, &oracle(model), 256, 7),
        );
    }
}

#[test]
fn the_image_is_small_non_root_and_has_no_shell() {
    let Some(built) = built() else { return };
    let docker = Docker::connect().unwrap();
    assert_passed("image metadata", image::metadata(&docker, &built.reference));
    assert_passed("image contents", image::contents(&docker, &built.reference));
}

#[test]
fn the_containers_own_healthcheck_reaches_healthy() {
    let Some(built) = built() else { return };
    let running = start(built, &Launch::default());
    let docker = Docker::connect().unwrap();
    assert_passed(
        "container healthcheck",
        image::healthy(&docker, running.container.id(), Duration::from_secs(60)),
    );
}

#[test]
fn cold_start_is_within_a_generous_budget() {
    let Some(built) = built() else { return };
    assert_passed(
        "cold start",
        cold_start::check(&built.reference, 5, Duration::from_secs(10)),
    );
}

#[test]
fn docker_stop_drains_and_a_restarted_container_answers_the_same() {
    let Some(built) = built() else { return };
    assert_passed(
        "lifecycle",
        lifecycle::stop_and_restart(&built.reference, &oracle("wine-quality")),
    );
}

#[test]
fn a_clean_rebuild_gives_the_same_image() {
    let Some(built) = built() else { return };
    let docker = Docker::connect().unwrap();
    assert_passed(
        "reproducible build",
        image::reproducible(&docker, &root(), built),
    );
}

#[test]
fn a_bad_artifact_stops_the_container_with_one_line() {
    let Some(built) = built() else { return };
    let launch = Launch {
        ready_within: Some(Duration::from_secs(5)),
        ..Launch::default().with_artifact("broken.json", b"{\"format_version\": 1,".to_vec())
    };
    let err = container::start(&built.reference, &launch)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "server: /models/broken.json: not a valid artifact document: EOF while parsing"
        ),
        "{err}"
    );
}

#[test]
fn the_image_passes_every_http_check_run_as_the_manifests_run_it() {
    let Some(built) = built() else { return };
    let wine = start(built, &Launch::hardened());
    let oracle_wine = oracle("wine-quality");
    assert_passed(
        "hardened endpoints",
        endpoints::run(&wine.client, &oracle_wine),
    );
    let bad = fixtures::bad_inputs(&root()).unwrap();
    assert_passed(
        "hardened bad input",
        bad_input::run(
            &wine.client,
            &oracle_wine,
            &bad,
            bad_input::default_limits(),
        ),
    );
    assert_passed(
        "hardened random",
        parity::random(&wine.client, &oracle_wine, 64, 11),
    );

    let launch =
        Launch::hardened().with_mounted_artifact(&fixtures::artifact_path(&root(), "iris"));
    let iris = start(built, &launch);
    let golden = fixtures::golden(&root(), "iris").unwrap();
    assert_passed(
        "hardened golden (iris mounted)",
        parity::golden(&iris.client, &oracle("iris"), &golden),
    );
    let docker = Docker::connect().unwrap();
    assert_passed(
        "hardened healthcheck",
        image::healthy(&docker, wine.container.id(), Duration::from_secs(60)),
    );
}

#[test]
fn replicas_answer_identically_and_a_restart_changes_nothing() {
    let Some(built) = built() else { return };
    let golden = fixtures::golden(&root(), "wine-quality").unwrap();
    assert_passed(
        "stateless replicas",
        replicas::stateless(&built.reference, &Launch::hardened(), &golden, 3),
    );
}

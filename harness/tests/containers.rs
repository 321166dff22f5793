//! The container tests: the image built from this repository's Dockerfile, run with
//! testcontainers and checked by the same suite as `harness check`, with the same options. The
//! suite runs once per test binary; each test asserts one concern of its report. One more
//! container, started with small limits, is checked through its URL.
//!
//! Without a Docker engine every test fails with the same message. Setting
//! `HARNESS_SKIP_CONTAINERS=1` skips them on purpose, and each says so on the terminal.

use std::io::Write;
use std::sync::OnceLock;

use harness::SKIP_ENV;
use harness::checks::{Check, Status};
use harness::container::{self, Launch};
use harness::docker::Docker;
use harness::error::chain;
use harness::image::{self, BuildOptions};
use harness::profile::Profile;
use harness::suite::{self, Options, Target};
use server::contract::env::{HEADER_TIMEOUT_MS, MAX_BATCH_ROWS, MAX_CONNECTIONS};
use testcontainers::GenericBuildableImage;
use testcontainers::core::BuildImageOptions;
use testcontainers::runners::SyncBuilder;

use crate::util::{assert_every_limit_tried, assert_none_failed, assert_passed, fixtures};

/// The suite's checks against the image built from this repository; `None` when the tests
/// are skipped on purpose.
fn checks() -> Option<&'static [Check]> {
    static RUN: OnceLock<Result<Vec<Check>, String>> = OnceLock::new();
    if skipped() {
        return None;
    }
    let run = RUN.get_or_init(|| {
        suite::run(fixtures(), &Target::Build, &Options::default())
            .map(|run| run.checks)
            .map_err(|e| chain(&e))
    });
    match run {
        Ok(checks) => Some(checks),
        Err(e) => panic!("{e}"),
    }
}

/// Whether the container tests are skipped on purpose; says so past the capture.
fn skipped() -> bool {
    let skip = std::env::var_os(SKIP_ENV).is_some_and(|v| !v.is_empty() && v != "0");
    if skip {
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED: container test, because {SKIP_ENV} is set. Nothing about the image was checked. ***\n"
        );
    }
    skip
}

/// The limits that take a while or many connections at their defaults, the header timeout
/// (408) and the connection cap (503), hold in a container started with small values, through
/// Docker's published port: every HTTP check passes and none of the limits is left untried.
#[test]
fn a_container_with_small_limits_passes_every_http_check() {
    if skipped() {
        return;
    }
    let docker = Docker::connect().unwrap();
    let root = &fixtures().root;
    let reference = image::build(&docker, root, &BuildOptions::default())
        .unwrap()
        .reference;
    let launch = Launch {
        env: [
            (HEADER_TIMEOUT_MS, "500"),
            (MAX_CONNECTIONS, "16"),
            (MAX_BATCH_ROWS, "10"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .to_vec(),
        ..Launch::default()
    };
    let running = container::start(&reference, &launch).unwrap();
    let url = running.client.base().to_owned();
    let run = suite::run(fixtures(), &Target::Url(url), &Options::default()).unwrap();
    assert_none_failed(&run.checks);
    assert_passed(&run.checks, "limits");
    assert_every_limit_tried(&run.checks);
}

/// Every check of the suite runs against the image built here: none is "not run".
#[test]
fn every_check_of_the_suite_ran() {
    let Some(checks) = checks() else { return };
    let not_run: Vec<&str> = checks
        .iter()
        .filter(|c| c.status == Status::NotRun)
        .map(|c| c.name.as_str())
        .collect();
    assert!(not_run.is_empty(), "not run: {not_run:?}");
}

#[test]
fn each_model_serves_its_reference_artifact() {
    let Some(checks) = checks() else { return };
    assert_passed(checks, "served artifact");
}

#[test]
fn every_endpoint_answers_as_documented() {
    let Some(checks) = checks() else { return };
    assert_passed(checks, "endpoints");
}

#[test]
fn bad_input_is_refused_and_the_service_stays_up() {
    let Some(checks) = checks() else { return };
    assert_passed(checks, "bad input");
}

#[test]
fn the_announced_limits_are_enforced() {
    let Some(checks) = checks() else { return };
    assert_passed(checks, "limits");
}

#[test]
fn golden_cases_equal_in_process_predictions_bit_for_bit() {
    let Some(checks) = checks() else { return };
    assert_passed(checks, "parity: golden cases");
}

#[test]
fn random_rows_equal_in_process_predictions_bit_for_bit() {
    let Some(checks) = checks() else { return };
    assert_passed(checks, "parity: random rows");
}

#[test]
fn the_image_is_small_non_root_and_has_no_shell() {
    let Some(checks) = checks() else { return };
    assert_passed(checks, "image metadata");
    assert_passed(checks, "image contents");
}

/// The README states the image's files and size; the check measures them, so the text is
/// held to the measurement (to the 0.01 MB it is written with) and cannot drift.
#[test]
fn the_readme_states_the_image_as_the_check_measures_it() {
    let Some(checks) = checks() else { return };
    let readme = harness::fixtures::repository_root().join("README.md");
    let readme = std::fs::read_to_string(readme).unwrap();
    let size = checks
        .iter()
        .find(|c| c.name.starts_with("image metadata"))
        .and_then(|c| c.figures.iter().find(|f| f.name == "image size"))
        .expect("no image size measured")
        .value;
    let stated = format!("The image is {size:.2} MB");
    assert!(
        readme.contains(&stated),
        "README.md should say {stated:?}, as measured"
    );
    for file in harness::profile::Profile::default().files {
        assert!(
            readme.contains(&format!("`{file}`")) || readme.contains(&format!("`/{file}`")),
            "README.md does not name {file}, which the image holds"
        );
    }
}

#[test]
fn the_containers_own_healthcheck_reaches_healthy() {
    let Some(checks) = checks() else { return };
    assert_passed(checks, "container healthcheck");
}

#[test]
fn cold_start_is_within_a_generous_budget() {
    let Some(checks) = checks() else { return };
    assert_passed(checks, "cold start");
}

#[test]
fn docker_stop_drains_a_request_in_flight_and_a_restart_answers_the_same() {
    let Some(checks) = checks() else { return };
    assert_passed(checks, "lifecycle");
}

#[test]
fn docker_stop_under_load_answers_every_request_sent_before_it() {
    let Some(checks) = checks() else { return };
    assert_passed(checks, "stop under load");
}

#[test]
fn a_bad_artifact_stops_the_container_with_one_line() {
    let Some(checks) = checks() else { return };
    assert_passed(checks, "bad artifact");
}

#[test]
fn a_clean_rebuild_gives_the_same_image() {
    let Some(checks) = checks() else { return };
    assert_passed(checks, "reproducible build");
}

#[test]
fn replicas_answer_identically_and_a_restart_changes_nothing() {
    let Some(checks) = checks() else { return };
    assert_passed(checks, "stateless replicas");
}

/// The README's "Another image" profile, word for word.
fn readme_profile() -> Profile {
    let readme = std::fs::read_to_string(fixtures().root.join("README.md")).unwrap();
    let section = readme
        .split_once("**Another image**")
        .expect("the README has its \"Another image\" section")
        .1;
    let json = section
        .split_once("```json\n")
        .and_then(|(_, rest)| rest.split_once("\n```"))
        .expect("the section shows a profile")
        .0;
    serde_json::from_str(json).unwrap_or_else(|e| panic!("the README's profile: {e}\n{json}"))
}

/// An image as another team writes it: the same static server under `/app`, another user and
/// port, no HEALTHCHECK, none of this project's labels.
const OTHER_DOCKERFILE: &str = r#"FROM scratch
COPY server /app/server
COPY model.json /app/model.json
ENV PORT=8080 MODEL_PATH=/app/model.json
USER 1000:1000
EXPOSE 8080
LABEL org.opencontainers.image.source="https://example.com/another-team/model"
ENTRYPOINT ["/app/server"]
"#;

/// The README's profile example, against an image built from another Dockerfile: what the
/// profile rules out is reported not run with its reason, and nothing fails.
#[test]
fn an_image_from_another_dockerfile_passes_with_the_readmes_profile() {
    if skipped() {
        return;
    }
    let root = &fixtures().root;
    let binary = image::build_server_binary(root).unwrap();
    let _built = GenericBuildableImage::new("ml-inference-app-other", "readme-profile")
        .with_dockerfile_string(OTHER_DOCKERFILE)
        .with_file(&binary, "server")
        .with_file(root.join(image::DEFAULT_ARTIFACT), "model.json")
        .build_image_with(BuildImageOptions::new())
        .unwrap_or_else(|e| panic!("building the other image: {e}"));
    let options = Options {
        profile: readme_profile(),
        ..Options::default()
    };
    let target = Target::Image("ml-inference-app-other:readme-profile".into());
    let run = suite::run(fixtures(), &target, &options).unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_none_failed(&run.checks);
    for name in [
        "container healthcheck",
        "lifecycle",
        "bad artifact",
        "stop under load",
        "model iris",
    ] {
        let check = run
            .checks
            .iter()
            .find(|c| c.name.starts_with(name))
            .unwrap();
        assert_eq!(check.status, Status::NotRun, "{name}: {}", check.detail);
        assert!(check.detail.contains("profile"), "{name}: {}", check.detail);
    }
    for name in [
        "served artifact",
        "parity: golden cases",
        "image contents",
        "cold start",
    ] {
        assert_passed(&run.checks, name);
    }
}

/// The image against the artifact it bakes in: identical, through the container's own API.
#[test]
fn the_image_against_its_own_artifact_diffs_identical_and_its_statement_verifies() {
    if skipped() {
        return;
    }
    let docker = Docker::connect().unwrap();
    let root = &fixtures().root;
    let reference = image::build(&docker, root, &BuildOptions::default())
        .unwrap()
        .reference;
    let artifact = root.join(image::DEFAULT_ARTIFACT);
    let report = harness::diff::run(
        &harness::diff::Spec::Image(reference.clone()),
        &harness::diff::Spec::Artifact(artifact.clone()),
        &harness::diff::Options::default(),
    )
    .unwrap();
    assert!(report.within(), "{}", report.table());
    assert_eq!(report.identical, report.values);

    // The suite's verdict on this image, bound to it by its ID and to the artifact by its bytes.
    let Some(checks) = checks() else { return };
    let id = docker.image_id(&reference).unwrap();
    let bytes = std::fs::read(&artifact).unwrap();
    let statement = harness::attest::statement(
        checks,
        &harness::attest::Subjects {
            artifacts: vec![("wine-quality.json".into(), bytes.clone())],
            image: Some((reference.clone(), id.clone())),
            ..harness::attest::Subjects::default()
        },
    );
    let verified = harness::attest::verify(
        &statement,
        Some(("wine-quality.json", &bytes)),
        Some((&reference, &id)),
    );
    assert!(verified.is_ok(), "{verified:?}");
}

/// An image that declares one architecture and holds a binary for another is refused by the
/// contents check, whatever the host runs: the entrypoint's ELF header is read from the layers.
#[test]
fn an_image_whose_binary_is_for_another_architecture_is_refused() {
    if skipped() {
        return;
    }
    let docker = Docker::connect().unwrap();
    // Only an x86_64 ELF header: the check reads no further.
    let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
    elf.resize(18, 0);
    elf.extend(0x3e_u16.to_le_bytes());
    let profile = Profile {
        files: vec!["server".into()],
        entrypoint: vec!["/server".into()],
        ..Profile::default()
    };
    let mut context = tar::Builder::new(Vec::new());
    for (name, bytes, mode) in [
        (
            "Dockerfile",
            b"FROM scratch\nCOPY server /server\nENTRYPOINT [\"/server\"]\n".to_vec(),
            0o644,
        ),
        ("server", elf, 0o755),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(mode);
        context
            .append_data(&mut header, name, bytes.as_slice())
            .unwrap();
    }
    let context = context.into_inner().unwrap();
    for (platform, passes) in [("linux/amd64", true), ("linux/arm64", false)] {
        let reference = format!("ml-inference-app-elf:{}", platform.replace('/', "-"));
        docker
            .build_image(&reference, context.clone(), &[], platform, false)
            .unwrap();
        let verdict = harness::checks::image::contents(&docker, &reference, &profile);
        let _ = docker.remove_image(&reference);
        match verdict {
            Ok(passed) => assert!(passes, "{platform}: passed: {}", passed.detail),
            Err(why) => {
                assert!(!passes, "{platform}: {why}");
                assert!(
                    why.contains("\"arm64\"") && why.contains("\"amd64\""),
                    "{why}"
                );
            }
        }
    }
}

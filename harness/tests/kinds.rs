//! Every kind of scikit-learn model the importer reproduces (`fixtures/sklearn/kinds/`), imported
//! and proven as the reference models are: golden cases drawn within its ranges and proptest
//! rows through both APIs bit for bit against the artifact, and scikit-learn's own answers
//! within the stated tolerance; in-process, and in the image with the artifact mounted.

use std::path::PathBuf;
use std::time::SystemTime;

use harness::checks::{Check, parity};
use harness::client::Client;
use harness::container::{self, Launch};
use harness::docker::Docker;
use harness::fixtures::repository_root;
use harness::image::{self, BuildOptions};
use harness::suite::SKLEARN_TOLERANCE;
use server::Artifact;
use server::contract::fixtures::SklearnReference;
use server::contract::{Config, Limits};
use server::http::Service;
use server::import::{ImportOptions, import};

use crate::util::assert_passed;

/// One imported kind: its artifact (written where a container can read it) and scikit-learn's
/// answers.
struct Kind {
    name: String,
    path: PathBuf,
    artifact: Artifact,
    reference: SklearnReference,
}

fn kinds() -> Vec<Kind> {
    let root = repository_root();
    let dir = root.join("fixtures/sklearn/kinds");
    let out = root.join("target/harness/kinds");
    std::fs::create_dir_all(&out).unwrap();
    let mut kinds: Vec<Kind> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|entry| {
            let file = entry.unwrap().file_name().to_string_lossy().into_owned();
            let name = file.strip_suffix(".export.json")?.to_owned();
            let bytes = std::fs::read(dir.join(&file)).unwrap();
            let options = ImportOptions {
                name: name.clone(),
                version: "1.0.0".into(),
                class_names: None,
            };
            let imported = import(&bytes, &file, &options).unwrap_or_else(|e| panic!("{e}"));
            let path = out.join(format!("{name}.json"));
            std::fs::write(&path, &imported.artifact).unwrap();
            let reference = dir.join(format!("{name}.reference.json"));
            let reference = serde_json::from_slice(&std::fs::read(reference).unwrap()).unwrap();
            Some(Kind {
                name,
                path,
                artifact: imported.loaded,
                reference,
            })
        })
        .collect();
    kinds.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(kinds.len() >= 16, "{} kinds", kinds.len());
    kinds
}

/// The golden, random-row and scikit-learn parity checks of `kind` against `client`.
fn parity_checks(client: &Client, kind: &Kind) -> Vec<Check> {
    let max_rows = client.served().unwrap().limits.max_batch_rows;
    let golden = harness::golden::generate(&kind.artifact);
    let name = |check: &str| format!("{check} ({})", kind.name);
    vec![
        Check::from(
            &name("parity: golden cases"),
            parity::golden(client, &kind.artifact, &golden, max_rows),
        ),
        Check::from(
            &name("parity: random rows"),
            parity::random(client, &kind.artifact, 16, 1, max_rows),
        ),
        Check::from(
            &name("parity: scikit-learn"),
            parity::foreign(
                client,
                &kind.artifact,
                &kind.reference,
                SKLEARN_TOLERANCE,
                max_rows,
            ),
        ),
    ]
}

#[test]
fn every_imported_kind_answers_as_its_artifact_and_as_scikit_learn_in_process() {
    for kind in kinds() {
        let config = Config {
            host: [127, 0, 0, 1].into(),
            port: 0,
            limits: Limits::default(),
            ..Config::default()
        };
        let service = Service::launch(&config, kind.artifact.clone(), SystemTime::now()).unwrap();
        let client = Client::new(format!("http://{}", service.addr()));
        let checks = parity_checks(&client, &kind);
        assert_passed(&checks, "parity");
    }
}

#[test]
fn every_imported_kind_answers_as_its_artifact_and_as_scikit_learn_in_the_container() {
    if std::env::var_os(harness::SKIP_ENV).is_some_and(|v| !v.is_empty() && v != "0") {
        eprintln!(
            "\n*** SKIPPED: container test, because {} is set. The kinds were not checked in the image. ***\n",
            harness::SKIP_ENV
        );
        return;
    }
    let docker = Docker::connect().unwrap();
    let reference = image::build(&docker, &repository_root(), &BuildOptions::default())
        .unwrap()
        .reference;
    for kind in kinds() {
        let launch = Launch::default().with_mounted_artifact(&kind.path).unwrap();
        let running = container::start(&reference, &launch)
            .unwrap_or_else(|e| panic!("{}: {}", kind.name, harness::error::chain(&e)));
        let checks = parity_checks(&running.client, &kind);
        assert_passed(&checks, "parity");
    }
}

//! The whole set of checks against one target, in the order a reader would want them. The CLI
//! runs this; the test suite runs the same checks one test each.

use std::path::Path;
use std::time::Duration;

use server::Artifact;

use crate::checks::{self, Check};
use crate::client::Client;
use crate::container::{self, Launch};
use crate::docker::Docker;
use crate::error::HarnessError;
use crate::fixtures;
use crate::image::{self, BuildOptions, Built};

/// What to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Build the image from this repository first.
    Build,
    /// An existing image, by reference.
    Image(String),
    /// A service already running somewhere, by base URL: only the HTTP checks apply.
    Url(String),
}

/// Tunables of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Container starts measured for cold start.
    pub cold_starts: usize,
    /// The p95 cold start above which the check fails: generous, the figure is what matters.
    pub cold_start_budget: Duration,
    /// Random batches per model for parity.
    pub random_cases: u32,
    /// Seed of the random batches.
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            cold_starts: 5,
            cold_start_budget: Duration::from_secs(10),
            random_cases: 128,
            seed: 1,
        }
    }
}

/// The reference model served through `MODEL_PATH` besides the embedded default.
pub const SECOND_MODEL: &str = "iris";

/// Runs every check that applies to `target`. Returns the target's description and the checks.
pub fn run(
    root: &Path,
    target: &Target,
    options: &Options,
) -> Result<(String, Vec<Check>), HarnessError> {
    match target {
        Target::Url(url) => Ok((url.clone(), against_url(root, &Client::new(url), options))),
        Target::Build | Target::Image(_) => {
            let docker = Docker::connect()?;
            let built = match target {
                Target::Image(reference) => {
                    let id = docker
                        .inspect_image(reference)?
                        .and_then(|i| i.id)
                        .ok_or_else(|| HarnessError::Image {
                            image: reference.clone(),
                            cause: "no such image".into(),
                        })?;
                    Built {
                        reference: reference.clone(),
                        id,
                        fresh: false,
                    }
                }
                _ => image::build(&docker, root, &BuildOptions::default())?,
            };
            let checks = against_image(root, &docker, &built, *target == Target::Build, options)?;
            Ok((built.reference, checks))
        }
    }
}

fn http_checks(
    root: &Path,
    client: &Client,
    oracle: &Artifact,
    options: &Options,
    checks: &mut Vec<Check>,
) {
    let name = oracle.name();
    checks.push(Check::from(
        &format!("endpoints ({name})"),
        checks::endpoints::run(client, oracle),
    ));
    match fixtures::bad_inputs(root) {
        Ok(bad) if bad.model == name => checks.push(Check::from(
            &format!("bad input ({name})"),
            checks::bad_input::run(client, oracle, &bad, checks::bad_input::default_limits()),
        )),
        Ok(bad) => checks.push(Check::not_run(
            &format!("bad input ({name})"),
            &format!("the bad inputs are written for {}", bad.model),
        )),
        Err(e) => checks.push(Check::from(
            &format!("bad input ({name})"),
            Err(e.to_string()),
        )),
    }
    let golden = fixtures::golden(root, name).map_err(|e| e.to_string());
    checks.push(Check::from(
        &format!("parity: golden cases ({name})"),
        golden.and_then(|g| checks::parity::golden(client, oracle, &g)),
    ));
    checks.push(Check::from(
        &format!("parity: random rows ({name})"),
        checks::parity::random(client, oracle, options.random_cases, options.seed),
    ));
}

fn against_url(root: &Path, client: &Client, options: &Options) -> Vec<Check> {
    let mut checks = vec![];
    let served = client
        .get("/model")
        .map_err(|e| e.to_string())
        .and_then(|a| {
            a.json()
                .ok_or_else(|| format!("/model answered {}: {}", a.status, a.body))
        });
    let oracle = served.and_then(|model| {
        let name = model["name"].as_str().unwrap_or_default().to_owned();
        let oracle = fixtures::artifact(root, &name)
            .map_err(|e| format!("no reference artifact for the served model {name:?}: {e}"))?;
        if model["artifact_sha256"] == oracle.sha256() {
            Ok(oracle)
        } else {
            Err(format!(
                "the service serves {name} artifact {}, not this repository's {}",
                model["artifact_sha256"],
                oracle.sha256()
            ))
        }
    });
    match oracle {
        Ok(oracle) => http_checks(root, client, &oracle, options, &mut checks),
        Err(why) => checks.push(Check::from(
            "served model is a reference artifact",
            Err(why),
        )),
    }
    for name in [
        "image metadata",
        "image contents",
        "container healthcheck",
        "stateless replicas",
        "cold start",
        "lifecycle",
    ] {
        checks.push(Check::not_run(name, "needs the image, not a URL"));
    }
    checks
}

fn against_image(
    root: &Path,
    docker: &Docker,
    built: &Built,
    built_here: bool,
    options: &Options,
) -> Result<Vec<Check>, HarnessError> {
    let reference = &built.reference;
    let mut checks = vec![];

    // Run as the Kubernetes manifests run it: read-only, no capabilities, non-root.
    let wine = fixtures::artifact(root, "wine-quality")?;
    let running = container::start(reference, &Launch::hardened())?;
    http_checks(root, &running.client, &wine, options, &mut checks);
    checks.push(Check::from(
        "container healthcheck",
        checks::image::healthy(docker, running.container.id(), Duration::from_secs(60)),
    ));
    drop(running);

    let second = fixtures::artifact(root, SECOND_MODEL)?;
    let launch =
        Launch::hardened().with_mounted_artifact(&fixtures::artifact_path(root, SECOND_MODEL));
    let running = container::start(reference, &launch)?;
    http_checks(root, &running.client, &second, options, &mut checks);
    drop(running);

    checks.push(Check::from(
        "stateless replicas",
        fixtures::golden(root, "wine-quality")
            .map_err(|e| e.to_string())
            .and_then(|golden| {
                checks::replicas::stateless(reference, &Launch::hardened(), &golden, 3)
            }),
    ));
    checks.push(Check::from(
        "image metadata",
        checks::image::metadata(docker, reference),
    ));
    checks.push(Check::from(
        "image contents",
        checks::image::contents(docker, reference),
    ));
    checks.push(Check::from(
        "cold start",
        checks::cold_start::check(reference, options.cold_starts, options.cold_start_budget),
    ));
    checks.push(Check::from(
        "lifecycle",
        checks::lifecycle::stop_and_restart(reference, &wine),
    ));
    if built_here {
        checks.push(Check::from(
            "reproducible build",
            checks::image::reproducible(docker, root, built),
        ));
    } else {
        checks.push(Check::not_run(
            "reproducible build",
            "the image was not built by this run",
        ));
    }
    Ok(checks)
}

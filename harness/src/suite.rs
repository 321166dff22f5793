//! The one composition of checks: which checks run against a target, in which order, with which
//! options. The CLI and the test suite both call [`run`]; nothing else puts checks together.

use std::time::Duration;

use server::artifact::Origin;

use crate::checks::{self, Check, Passed};
use crate::classes::ClassOrder;
use crate::client::Client;
use crate::container::{self, Launch};
use crate::docker::Docker;
use crate::error::{HarnessError, chain};
use crate::fixtures::{Fixtures, Reference};
use crate::image::{self, BuildOptions, Built, Platform};
use crate::profile::{Need, Profile};
pub use crate::protocol::Protocol;
use crate::rows::Schema;

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

/// Tunables of a run. The CLI's defaults are these.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub protocol: Protocol,
    /// What the image checks assume about the image.
    pub profile: Profile,
    /// What to ask a V2 or V1 server, and the tolerance it is held to.
    pub foreign: crate::protocol::ProtocolOptions,
    /// Container starts measured for cold start.
    pub cold_starts: usize,
    /// The p95 cold start above which the check fails: generous, the figure is what matters.
    pub cold_start_budget: Duration,
    /// Random batches per model for parity.
    pub random_cases: u32,
    /// Seed of the random batches.
    pub seed: u64,
    /// Replicas started for the statelessness check.
    pub replicas: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            protocol: Protocol::Full,
            profile: Profile::default(),
            foreign: crate::protocol::ProtocolOptions::default(),
            cold_starts: 5,
            cold_start_budget: Duration::from_secs(10),
            random_cases: 128,
            seed: 1,
            replicas: 3,
        }
    }
}

/// A run's outcome: what was checked, and every check in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub target: String,
    /// The image checked, by reference and local image ID; none for a URL.
    pub image: Option<(String, String)>,
    pub checks: Vec<Check>,
    /// The class order a V2 or V1 server's probabilities were read in, and how it was found.
    pub class_order: Option<ClassOrder>,
}

/// How much slower than native a start may be under emulation (QEMU user mode), for the
/// cold-start budget of an image of another architecture than the host's.
pub const EMULATION_FACTOR: u32 = 10;

/// The checks that need the image; reported as not run against a URL.
pub const IMAGE_CHECKS: [&str; 9] = [
    "container healthcheck",
    "stateless replicas",
    "image metadata",
    "image contents",
    "cold start",
    "lifecycle",
    "bad artifact",
    "reproducible build",
    "stop under load",
];

/// Runs every check that applies to `target`.
pub fn run(fixtures: &Fixtures, target: &Target, options: &Options) -> Result<Run, HarnessError> {
    match target {
        Target::Url(url) if options.protocol.foreign() => {
            let (client, oracle) = (Client::new(url), &fixtures.default_model()?.oracle);
            let run = match options.protocol {
                Protocol::V1 => checks::v1::run(&client, oracle, &options.foreign),
                _ => checks::v2::run(&client, oracle, &options.foreign),
            };
            Ok(Run {
                target: url.clone(),
                image: None,
                checks: run.checks,
                class_order: run.class_order,
            })
        }
        Target::Build | Target::Image(_) if options.protocol.foreign() => {
            Err(HarnessError::Usage {
                problem: "--protocol v1 or v2 checks a running server: give --url".into(),
            })
        }
        Target::Url(url) => Ok(Run {
            target: url.clone(),
            image: None,
            checks: against_url(fixtures, &Client::new(url), options),
            class_order: None,
        }),
        Target::Build | Target::Image(_) => {
            let docker = Docker::connect()?;
            let built = match target {
                Target::Image(reference) => {
                    let inspect = docker.inspect_image(reference)?.ok_or_else(|| {
                        HarnessError::NoSuchImage {
                            image: reference.clone(),
                        }
                    })?;
                    Built {
                        reference: reference.clone(),
                        id: inspect.id.unwrap_or_default(),
                        fresh: false,
                        artifact: None,
                        // The image's own architecture: an arm64 image runs emulated here.
                        platform: inspect
                            .architecture
                            .as_deref()
                            .and_then(Platform::of_architecture)
                            .unwrap_or_default(),
                    }
                }
                _ => image::build(
                    &docker,
                    &fixtures.root,
                    &BuildOptions {
                        artifact: fixtures.image_artifact()?,
                        ..BuildOptions::default()
                    },
                )?,
            };
            let checks =
                against_image(fixtures, &docker, &built, *target == Target::Build, options)?;
            // The image checked is the one that ran: its ID now, after any rebuild.
            let id = docker.image_id(&built.reference)?;
            Ok(Run {
                image: Some((built.reference.clone(), id)),
                target: built.reference,
                checks,
                class_order: None,
            })
        }
    }
}

/// The HTTP checks against a service that serves `reference`, within the limits it announces.
fn http_checks(client: &Client, reference: &Reference, options: &Options) -> Vec<Check> {
    let oracle = &reference.oracle;
    let name = oracle.name();
    let named = |check: &str| format!("{check} ({name})");
    let served = match client.served() {
        Ok(served) => served,
        Err(why) => return vec![Check::from(&named("served model"), Err(why))],
    };
    let mut checks = vec![Check::from(
        &named("served artifact"),
        if served.artifact_sha256 == oracle.sha256() {
            Ok(checks::Passed::new(format!(
                "serves {name} artifact {}",
                oracle.sha256()
            )))
        } else {
            Err(format!(
                "serves artifact {}, the oracle is {}",
                served.artifact_sha256,
                oracle.sha256()
            ))
        },
    )];
    checks.push(Check::from(
        &named("endpoints"),
        checks::endpoints::run(client, oracle, &served),
    ));
    checks.push(Check::from(
        &named("bad input"),
        checks::bad_input::run(client, oracle, &crate::bad_inputs::generate(oracle)),
    ));
    checks.push(Check::from(
        &named("limits"),
        checks::limits::run(client, oracle, served.limits),
    ));
    checks.push(Check::from(&named("wire"), checks::wire::run(client)));
    let max_rows = served.limits.max_batch_rows;
    checks.push(Check::from(
        &named("parity: golden cases"),
        checks::parity::golden(client, oracle, &reference.golden, max_rows),
    ));
    checks.push(Check::from(
        &named("parity: random rows"),
        checks::parity::random(client, oracle, options.random_cases, options.seed, max_rows),
    ));
    match (&reference.sklearn, oracle.origin()) {
        (Some(sklearn), _) => checks.push(Check::from(
            &named("parity: scikit-learn"),
            checks::parity::foreign(client, oracle, sklearn, SKLEARN_TOLERANCE, max_rows),
        )),
        (None, Some(Origin::Imported { export_file, .. })) => checks.push(Check::not_run(
            &named("parity: scikit-learn"),
            &format!(
                "no scikit-learn answers for {export_file}: put its .reference.json beside the artifact"
            ),
        )),
        (None, _) => {}
    }
    checks
}

/// How far an imported model's answers may be from scikit-learn's own: the two sum in
/// different orders (feature order against BLAS), so the last bits may differ.
pub const SKLEARN_TOLERANCE: f64 = 1e-12;

fn against_url(fixtures: &Fixtures, client: &Client, options: &Options) -> Vec<Check> {
    let reference = client.served().and_then(|served| {
        fixtures
            .reference(&served.name)
            .map_err(|e| format!("the service serves {:?}: {}", served.name, chain(&e)))
    });
    let mut checks = match reference {
        Ok(reference) => http_checks(client, reference, options),
        Err(why) => vec![Check::from("served model", Err(why))],
    };
    for name in IMAGE_CHECKS {
        checks.push(Check::not_run(name, "needs the image, not a URL"));
    }
    checks
}

fn against_image(
    fixtures: &Fixtures,
    docker: &Docker,
    built: &Built,
    built_here: bool,
    options: &Options,
) -> Result<Vec<Check>, HarnessError> {
    let image = &built.reference;
    let default = fixtures.default_model()?;
    let profile = &options.profile;
    let launch = Launch::of(profile);
    let mut checks = vec![];

    // Run as the Kubernetes manifests run it: read-only, no capabilities, non-root.
    let running = container::start(image, &launch)?;
    checks.extend(http_checks(&running.client, default, options));
    checks.push(unless(
        IMAGE_CHECKS[0],
        profile,
        &[Need::Healthcheck],
        || checks::image::healthy(docker, running.container.id(), Duration::from_secs(60)),
    ));
    drop(running);

    // Every other reference through a read-only mount and the model variable, as Kubernetes
    // mounts a ConfigMap.
    for (name, reference) in &fixtures.references {
        if name == default.oracle.name() {
            continue;
        }
        if let Some(why) = profile.rules_out(&[Need::ModelVariable]) {
            checks.push(Check::not_run(&format!("model {name}"), why));
            continue;
        }
        if let Some(mounted) = launch.clone().with_mounted_artifact(&reference.path) {
            let running = container::start(image, &mounted)?;
            checks.extend(http_checks(&running.client, reference, options));
        }
    }

    checks.push(Check::from(
        IMAGE_CHECKS[1],
        checks::replicas::stateless(
            image,
            &launch,
            &Schema::of(&default.oracle),
            &default.golden,
            options.replicas,
        ),
    ));
    checks.push(Check::from(
        IMAGE_CHECKS[2],
        checks::image::metadata(docker, image, profile, &default.oracle),
    ));
    checks.push(Check::from(
        IMAGE_CHECKS[3],
        checks::image::contents(docker, image, profile),
    ));
    // Under emulation (an arm64 image on an x86_64 host, through QEMU) every start is slower
    // by a factor no native run has: the budget is scaled by a stated factor, and said.
    let emulated = Platform::host() != Some(built.platform);
    let budget = if emulated {
        options.cold_start_budget * EMULATION_FACTOR
    } else {
        options.cold_start_budget
    };
    checks.push(Check::from(
        IMAGE_CHECKS[4],
        checks::cold_start::check(image, profile, options.cold_starts, budget).map(|passed| {
            if emulated {
                Passed {
                    detail: format!(
                        "{} ({} emulated: budget {EMULATION_FACTOR}× {:?})",
                        passed.detail, built.platform, options.cold_start_budget
                    ),
                    ..passed
                }
            } else {
                passed
            }
        }),
    ));
    checks.push(unless(
        IMAGE_CHECKS[5],
        profile,
        checks::lifecycle::STOP_AND_RESTART,
        || checks::lifecycle::stop_and_restart(image, profile, &default.oracle),
    ));
    checks.push(unless(
        IMAGE_CHECKS[6],
        profile,
        checks::lifecycle::BAD_ARTIFACT,
        || checks::lifecycle::bad_artifact_stops(image, profile),
    ));
    checks.push(if built_here {
        Check::from(
            IMAGE_CHECKS[7],
            checks::image::reproducible(docker, &fixtures.root, built),
        )
    } else {
        Check::not_run(IMAGE_CHECKS[7], "the image was not built by this run")
    });
    checks.push(unless(
        IMAGE_CHECKS[8],
        profile,
        checks::lifecycle::STOP_UNDER_LOAD,
        || checks::lifecycle::stop_under_load(image, profile, &default.oracle),
    ));
    Ok(checks)
}

/// Runs `check` unless the profile lacks one of its `needs`, which is reported as not run with
/// the reason: a check that cannot run never fails the pipeline.
fn unless(
    name: &str,
    profile: &Profile,
    needs: &[Need],
    check: impl FnOnce() -> checks::Verdict,
) -> Check {
    match profile.rules_out(needs) {
        Some(why) => Check::not_run(name, why),
        None => Check::from(name, check()),
    }
}

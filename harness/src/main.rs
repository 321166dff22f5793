//! `harness`: the checks, the image build and the benchmarks, from the command line.
//!
//! - `harness check [--artifact FILE [--golden FILE]] [--image REF | --url URL]` — build the
//!   image (or take an existing one, or a running service) and run every check against the
//!   reference models, or against one artifact; a table on stdout, a JSON report, and the
//!   GitHub job summary when `GITHUB_STEP_SUMMARY` is set. Exit 1 when a check fails.
//! - `harness bench [--image REF] [--baseline BIN] [--readme]` — measure cold start,
//!   throughput, latency, size and memory, and the server's CPU per request beside a baseline
//!   binary and nginx; a Markdown table on stdout, a JSON report, the README's table when asked.
//! - `harness image [--artifact FILE] [--tag TAG] [--no-cache]` — build the image
//!   reproducibly, offline.
//! - `harness pin-created REF` — pin a built image's `created` times to the last commit.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

use harness::bench;
use harness::checks::v2::V2Options;
use harness::docker::Docker;
use harness::fixtures::{Fixtures, repository_root};
use harness::image::{self, BuildOptions, Provenance};
use harness::profile::Profile;
use harness::report::Report;
use harness::suite::{self, Options, Protocol, Target};

/// The defaults of `check` and `bench` are the library's.
fn check_defaults() -> Options {
    Options::default()
}

fn bench_defaults() -> bench::Options {
    bench::Options::default()
}

#[derive(Debug, Parser)]
#[command(
    name = "harness",
    version,
    about = "Builds, runs and proves the ml-inference-app image"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Run every check and report.
    Check {
        /// Use this artifact as the oracle (and bake it into the image built), instead of the
        /// repository's reference models.
        #[arg(long, value_name = "FILE")]
        artifact: Option<PathBuf>,
        /// The artifact's golden cases; by default they are drawn within its feature ranges.
        #[arg(long, value_name = "FILE", requires = "artifact")]
        golden: Option<PathBuf>,
        /// Write the golden cases used to this file, to keep them for next time.
        #[arg(long, value_name = "FILE", requires = "artifact")]
        write_golden: Option<PathBuf>,
        /// Check this existing image instead of building one.
        #[arg(long, conflicts_with = "url")]
        image: Option<String>,
        /// A checkout of this project whose Dockerfile builds the image [default: the one the
        /// harness was built from].
        #[arg(long, value_name = "DIR")]
        context: Option<PathBuf>,
        /// What the image checks assume about the image (JSON; see the README); by default this
        /// project's image.
        #[arg(long, value_name = "FILE")]
        profile: Option<PathBuf>,
        /// `full`: this project's contract; `v2`: any Open Inference Protocol server (needs
        /// --url and --artifact).
        #[arg(long, default_value = "full", value_parser = ["full", "v2"])]
        protocol: String,
        /// With --protocol v2: the input tensor's name.
        #[arg(long, default_value_t = check_defaults().v2.input)]
        input_name: String,
        /// With --protocol v2: the output tensor of probabilities, in the artifact's class order.
        #[arg(long, default_value_t = check_defaults().v2.probabilities)]
        probabilities_name: String,
        /// With --protocol v2: the output tensor of labels; `none` when the server has none.
        #[arg(long, default_value = "label")]
        labels_name: String,
        /// With --protocol v2: the largest difference allowed in a probability; 0 is bit for bit.
        #[arg(long, default_value_t = check_defaults().v2.tolerance)]
        tolerance: f64,
        /// With --protocol v2: send rows and ask for outputs as binary tensor data, so parity
        /// compares raw IEEE bytes (the server must offer the binary_tensor_data extension).
        #[arg(long)]
        binary_data: bool,
        /// Check a running service at this base URL (HTTP checks only).
        #[arg(long)]
        url: Option<String>,
        /// Where to write the JSON report; the JUnit XML goes beside it (`.xml`).
        #[arg(long, default_value = "target/harness/check.json")]
        report: PathBuf,
        /// Container starts measured for cold start.
        #[arg(long, default_value_t = check_defaults().cold_starts)]
        cold_starts: usize,
        /// Fail the cold-start check when its p95 exceeds this many milliseconds.
        #[arg(long, default_value_t = check_defaults().cold_start_budget.as_millis() as u64)]
        cold_start_budget_ms: u64,
        /// Random batches per model for the parity check.
        #[arg(long, default_value_t = check_defaults().random_cases)]
        random_cases: u32,
        /// Seed of the random batches.
        #[arg(long, default_value_t = check_defaults().seed)]
        seed: u64,
        /// Replicas started for the statelessness check.
        #[arg(long, default_value_t = check_defaults().replicas)]
        replicas: usize,
    },
    /// Measure the image: figures, not verdicts. Build with --release for meaningful numbers.
    Bench {
        /// Measure this existing image instead of building one.
        #[arg(long)]
        image: Option<String>,
        /// Where to write the JSON report.
        #[arg(long, default_value = "target/harness/bench.json")]
        report: PathBuf,
        /// Replace the README's performance table with this run's.
        #[arg(long)]
        readme: bool,
        /// Container starts measured for cold start.
        #[arg(long, default_value_t = bench_defaults().cold_starts)]
        cold_starts: usize,
        /// Recorded milliseconds per repetition of each load configuration.
        #[arg(long, default_value_t = bench_defaults().duration.as_millis() as u64)]
        duration_ms: u64,
        /// Repetitions of each load configuration.
        #[arg(long, default_value_t = bench_defaults().repetitions)]
        repetitions: usize,
        /// A server binary to compare this one with on loopback, in the same run (e.g. one
        /// built from an earlier commit); nginx joins as the floor when it is installed.
        #[arg(long)]
        baseline: Option<PathBuf>,
        /// What the baseline is, for the report (by default its path).
        #[arg(long, requires = "baseline")]
        baseline_about: Option<String>,
        /// Skip the comparison of server processes on loopback.
        #[arg(long)]
        no_transports: bool,
    },
    /// Build the image from the Dockerfile with the host-built static binary, pulling nothing.
    Image {
        /// The tag; by default a hash of the image's inputs.
        #[arg(long)]
        tag: Option<String>,
        /// The artifact to serve; by default the reference wine-quality model.
        #[arg(long, value_name = "FILE")]
        artifact: Option<PathBuf>,
        /// Rebuild without the builder's cache even when the image exists.
        #[arg(long)]
        no_cache: bool,
    },
    /// Rewrite an image's `created` times to SOURCE_DATE_EPOCH or the last commit's time.
    PinCreated {
        /// The image, as name:tag.
        reference: String,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("harness: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let root = repository_root();
    match cli.command {
        Command::Check {
            artifact,
            golden,
            write_golden,
            image,
            context,
            profile,
            protocol,
            input_name,
            probabilities_name,
            labels_name,
            tolerance,
            binary_data,
            url,
            report,
            cold_starts,
            cold_start_budget_ms,
            random_cases,
            seed,
            replicas,
        } => {
            let target = match (image, url) {
                (Some(image), _) => Target::Image(image),
                (_, Some(url)) => Target::Url(url),
                _ => Target::Build,
            };
            let options = Options {
                profile: match &profile {
                    Some(path) => Profile::load(path)?,
                    None => Profile::default(),
                },
                protocol: if protocol == "v2" {
                    Protocol::V2
                } else {
                    Protocol::Full
                },
                v2: V2Options {
                    input: input_name,
                    probabilities: probabilities_name,
                    labels: (labels_name != "none").then_some(labels_name),
                    tolerance,
                    binary: binary_data,
                    ..V2Options::default()
                },
                cold_starts,
                cold_start_budget: Duration::from_millis(cold_start_budget_ms),
                random_cases,
                seed,
                replicas,
            };
            let context = match context {
                Some(dir) => std::path::absolute(dir)?,
                None => root.clone(),
            };
            let fixtures = match &artifact {
                Some(artifact) => Fixtures::for_artifact(
                    &context,
                    &std::path::absolute(artifact)?,
                    golden.as_deref(),
                )?,
                None => Fixtures::load(&root)?,
            };
            if let Some(path) = write_golden {
                let golden = &fixtures.default_model()?.golden;
                let mut json = serde_json::to_vec_pretty(golden)?;
                json.push(b'\n');
                std::fs::write(&path, json)
                    .with_context(|| format!("writing {}", path.display()))?;
                println!("golden cases: {}", path.display());
            }
            let run = suite::run(&fixtures, &target, &options)?;
            let report_data = Report::new(run.target, run.checks);
            print!("{}", report_data.table());
            // Relative to where the harness runs, as any command-line tool's output path.
            let path = std::path::absolute(report)?;
            report_data
                .publish(&path)
                .with_context(|| format!("writing {}", path.display()))?;
            println!("report: {}", path.display());
            Ok(if report_data.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Bench {
            image,
            report,
            readme,
            cold_starts,
            duration_ms,
            repetitions,
            baseline,
            baseline_about,
            no_transports,
        } => {
            let docker = Docker::connect()?;
            let mut servers = vec![];
            if !no_transports {
                servers.push(bench::transports::Contender {
                    name: "this".into(),
                    program: image::binary::build_server_binary(&root)?,
                    about: "this checkout's server, the static binary the image packs".into(),
                });
                if let Some(baseline) = baseline {
                    let program = std::path::absolute(baseline)?;
                    servers.push(bench::transports::Contender {
                        name: "baseline".into(),
                        about: baseline_about.unwrap_or_else(|| format!("`{}`", program.display())),
                        program,
                    });
                }
            }
            let reference = match image {
                Some(image) => image,
                None => image::build(&docker, &root, &BuildOptions::default())?.reference,
            };
            let options = bench::Options {
                cold_starts,
                duration: Duration::from_millis(duration_ms),
                repetitions,
                servers,
                ..bench::Options::default()
            };
            let fixtures = Fixtures::load(&root)?;
            let measured = bench::run(&fixtures, &docker, &reference, &options)?;
            let markdown = measured.markdown();
            print!("{markdown}");
            // Relative to where the harness runs, as any command-line tool's output path.
            let path = std::path::absolute(report)?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&path, serde_json::to_vec_pretty(&measured)?)?;
            println!("report: {}", path.display());
            harness::report::append_step_summary(&markdown)?;
            if readme {
                bench::update_readme(&root.join("README.md"), &markdown)?;
                println!("README.md: performance table updated");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Image {
            tag,
            artifact,
            no_cache,
        } => {
            let docker = Docker::connect()?;
            let options = BuildOptions {
                tag,
                no_cache,
                artifact: artifact.map(|a| std::path::absolute(&a)).transpose()?,
            };
            let built = image::build(&docker, &root, &options)?;
            println!("{} {}", built.reference, built.id);
            Ok(ExitCode::SUCCESS)
        }
        Command::PinCreated { reference } => {
            let docker = Docker::connect()?;
            let id = image::pin_created(&docker, &reference, Provenance::of(&root).epoch)?;
            println!("{reference} {id}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

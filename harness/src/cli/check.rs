//! `harness check`: every check against one target, a report in every format.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use harness::attest;
use harness::fixtures::{Fixtures, repository_root};
use harness::profile::Profile;
use harness::protocol::ProtocolOptions;
use harness::report::Report;
use harness::suite::{self, Options, Protocol, Target};

fn defaults() -> Options {
    Options::default()
}

/// The arguments as typed.
#[derive(Debug, clap::Args)]
pub struct Args {
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
    /// Check a running service at this base URL (HTTP checks only).
    #[arg(long)]
    url: Option<String>,
    /// A checkout of this project whose Dockerfile builds the image [default: the one the
    /// harness was built from].
    #[arg(long, value_name = "DIR")]
    context: Option<PathBuf>,
    /// What the image checks assume about the image (JSON; see the README); by default this
    /// project's image.
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    #[command(flatten)]
    protocol: super::protocol::ProtocolArgs,
    /// With v2 or v1: the largest difference allowed in a probability; 0 is bit for bit.
    #[arg(long, default_value_t = defaults().foreign.tolerance)]
    tolerance: f64,
    /// With --protocol v2: send rows and ask for outputs as binary tensor data, so parity
    /// compares raw IEEE bytes (the server must offer the binary_tensor_data extension).
    #[arg(long)]
    binary_data: bool,
    /// Where to write the JSON report; the JUnit XML and the in-toto statement go beside it
    /// (`.xml`, `.intoto.json`) [default: target/harness/check-TARGET.json, named after the
    /// image or URL checked and the artifact given, so that checking another target never
    /// replaces a statement].
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Container starts measured for cold start.
    #[arg(long, default_value_t = defaults().cold_starts)]
    cold_starts: usize,
    /// Fail the cold-start check when its p95 exceeds this many milliseconds.
    #[arg(long, default_value_t = defaults().cold_start_budget.as_millis() as u64)]
    cold_start_budget_ms: u64,
    /// Random batches per model for the parity check.
    #[arg(long, default_value_t = defaults().random_cases)]
    random_cases: u32,
    /// Seed of the random batches.
    #[arg(long, default_value_t = defaults().seed)]
    seed: u64,
    /// Replicas started for the statelessness check.
    #[arg(long, default_value_t = defaults().replicas)]
    replicas: usize,
}

/// What to check and how: the arguments once converted.
#[derive(Debug)]
pub struct Plan {
    fixtures: Fixtures,
    target: Target,
    pub options: Options,
    write_golden: Option<PathBuf>,
    report: Option<PathBuf>,
    /// The `--artifact` given, whose name the default report carries.
    artifact: Option<PathBuf>,
}

impl Args {
    /// Converts the arguments: reads the profile and the fixtures, resolves paths against the
    /// working directory as any command-line tool does.
    pub fn plan(self) -> anyhow::Result<Plan> {
        let root = repository_root();
        let target = match (self.image, self.url) {
            (Some(image), _) => Target::Image(image),
            (_, Some(url)) => Target::Url(url),
            _ => Target::Build,
        };
        let context = match self.context {
            Some(dir) => std::path::absolute(dir)?,
            None => root.clone(),
        };
        let fixtures = match &self.artifact {
            Some(artifact) => Fixtures::for_artifact(
                &context,
                &std::path::absolute(artifact)?,
                self.golden.as_deref(),
            )?,
            None => Fixtures::load(&root)?,
        };
        let (protocol, foreign) = self.protocol.options();
        let options = Options {
            profile: match &self.profile {
                Some(path) => Profile::load(path)?,
                None => Profile::default(),
            },
            protocol,
            foreign: ProtocolOptions {
                tolerance: self.tolerance,
                binary: self.binary_data,
                ..foreign
            },
            cold_starts: self.cold_starts,
            cold_start_budget: Duration::from_millis(self.cold_start_budget_ms),
            random_cases: self.random_cases,
            seed: self.seed,
            replicas: self.replicas,
        };
        Ok(Plan {
            fixtures,
            target,
            options,
            write_golden: self.write_golden,
            report: self.report.map(std::path::absolute).transpose()?,
            artifact: self.artifact,
        })
    }
}

/// What the statement binds: every artifact checked, the image, and the golden sets and
/// profile the checks ran with.
fn subjects(plan: &Plan, run: &suite::Run) -> anyhow::Result<attest::Subjects> {
    let mut subjects = attest::Subjects {
        image: run.image.clone(),
        class_order: run.class_order.clone(),
        tolerance: match plan.options.protocol {
            Protocol::V2 | Protocol::V1 => plan.options.foreign.tolerance,
            Protocol::Full => 0.0,
        },
        ..attest::Subjects::default()
    };
    for (name, reference) in &plan.fixtures.references {
        let file = reference.path.file_name().map_or_else(
            || format!("{name}.json"),
            |f| f.to_string_lossy().into_owned(),
        );
        subjects.artifacts.push((file, reference.bytes.clone()));
        let mut golden = serde_json::to_vec_pretty(&reference.golden)?;
        golden.push(b'\n');
        subjects
            .configuration
            .push((format!("golden cases ({name})"), golden));
    }
    subjects
        .configuration
        .push(("profile".into(), serde_json::to_vec(&plan.options.profile)?));

    Ok(subjects)
}

/// `target/harness/check-TARGET.json`: the target as the run names it (an image reference, a
/// URL), and the artifact's file stem when one was given, in characters any file system takes.
pub(crate) fn default_report(target: &str, artifact: Option<&std::path::Path>) -> PathBuf {
    let mut name = target
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .to_owned();
    if let Some(stem) = artifact.and_then(|a| a.file_stem()) {
        name = format!("{name}-{}", stem.to_string_lossy());
    }
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    PathBuf::from(format!(
        "target/harness/check-{}.json",
        name.trim_matches('-')
    ))
}

/// Runs the checks, prints the table and publishes the report; exit 1 when a check failed.
pub fn run(plan: Plan) -> anyhow::Result<ExitCode> {
    if let Some(path) = &plan.write_golden {
        let golden = &plan.fixtures.default_model()?.golden;
        let mut json = serde_json::to_vec_pretty(golden)?;
        json.push(b'\n');
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
        println!("golden cases: {}", path.display());
    }
    let run = suite::run(&plan.fixtures, &plan.target, &plan.options)?;
    let statement = attest::statement(&run.checks, &subjects(&plan, &run)?);
    let path = match &plan.report {
        Some(path) => path.clone(),
        None => std::path::absolute(default_report(&run.target, plan.artifact.as_deref()))?,
    };
    let report = Report::new(run.target, run.checks);
    print!("{}", report.table());
    report
        .publish(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    println!("report: {}", path.display());
    let path = path.with_extension("intoto.json");
    let mut json = serde_json::to_vec_pretty(&statement)?;
    json.push(b'\n');
    std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
    println!(
        "statement: {} ({})",
        path.display(),
        statement.predicate.result
    );
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

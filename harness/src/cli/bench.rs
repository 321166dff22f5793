//! `harness bench`: figures, not verdicts.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use harness::bench::{self, transports::Contender};
use harness::docker::Docker;
use harness::fixtures::{Fixtures, repository_root};
use harness::image::{self, BuildOptions};

/// Where `--doc` writes the whole output, between its markers.
pub const DOC: &str = "docs/performance.md";

fn defaults() -> bench::Options {
    bench::Options::default()
}

/// The arguments as typed.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Measure this existing image instead of building one.
    #[arg(long)]
    image: Option<String>,
    /// Where to write the JSON report.
    #[arg(long, default_value = "target/harness/bench.json")]
    report: PathBuf,
    /// Replace the figures in docs/performance.md with this run's.
    #[arg(long)]
    doc: bool,
    /// Container starts measured for cold start.
    #[arg(long, default_value_t = defaults().cold_starts)]
    cold_starts: usize,
    /// Recorded milliseconds per repetition of each load configuration.
    #[arg(long, default_value_t = defaults().duration.as_millis() as u64)]
    duration_ms: u64,
    /// Repetitions of each load configuration.
    #[arg(long, default_value_t = defaults().repetitions)]
    repetitions: usize,
    /// A server binary to compare this one with on loopback, in the same run (e.g. one built
    /// from an earlier commit); nginx joins as the floor when it is installed.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// What the baseline is, for the report (by default its path).
    #[arg(long, requires = "baseline")]
    baseline_about: Option<String>,
    /// Skip the comparison of server processes on loopback.
    #[arg(long)]
    no_transports: bool,
}

/// What to measure: the arguments once converted.
#[derive(Debug)]
pub struct Plan {
    image: Option<String>,
    report: PathBuf,
    doc: Option<PathBuf>,
    /// This checkout's server is compared with these (a baseline), unless `compare` is off.
    compare: bool,
    baseline: Option<Contender>,
    options: bench::Options,
}

impl Args {
    pub fn plan(self) -> anyhow::Result<Plan> {
        let baseline = match self.baseline {
            Some(path) => {
                let program = std::path::absolute(path)?;
                Some(Contender {
                    name: "baseline".into(),
                    about: self
                        .baseline_about
                        .unwrap_or_else(|| format!("`{}`", program.display())),
                    program,
                })
            }
            None => None,
        };
        Ok(Plan {
            image: self.image,
            report: std::path::absolute(self.report)?,
            doc: self.doc.then(|| repository_root().join(DOC)),
            compare: !self.no_transports,
            baseline,
            options: bench::Options {
                cold_starts: self.cold_starts,
                duration: Duration::from_millis(self.duration_ms),
                repetitions: self.repetitions,
                ..bench::Options::default()
            },
        })
    }
}

/// Measures, prints the Markdown, writes the JSON report (and the document when asked).
pub fn run(plan: Plan) -> anyhow::Result<ExitCode> {
    let root = repository_root();
    let docker = Docker::connect()?;
    let mut options = plan.options;
    if plan.compare {
        options.servers.push(Contender {
            name: "this".into(),
            program: image::binary::build_server_binary(&root)?,
            about: "this checkout's server, the static binary the image packs".into(),
        });
        options.servers.extend(plan.baseline);
    }
    let reference = match plan.image {
        Some(image) => image,
        None => image::build(&docker, &root, &BuildOptions::default())?.reference,
    };
    let measured = bench::run(&Fixtures::load(&root)?, &docker, &reference, &options)?;
    let markdown = measured.markdown();
    print!("{markdown}");
    if let Some(dir) = plan.report.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&plan.report, serde_json::to_vec_pretty(&measured)?)?;
    println!("report: {}", plan.report.display());
    harness::report::append_step_summary(&markdown)?;
    if let Some(doc) = plan.doc {
        bench::update_doc(&doc, &markdown)?;
        println!("{}: figures updated", doc.display());
    }
    Ok(ExitCode::SUCCESS)
}

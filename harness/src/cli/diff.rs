//! `harness diff`: what a new model or server changes in the predictions, before rollout.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use harness::diff::{self, Options, Spec, Thresholds};

fn defaults() -> Options {
    Options::default()
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Today's side: an artifact file, a running server (`http://…`) or an image reference.
    #[arg(long, value_name = "SIDE")]
    from: String,
    /// The candidate: an artifact file, a running server (`http://…`) or an image reference.
    #[arg(long, value_name = "SIDE")]
    to: String,
    #[command(flatten)]
    protocol: super::protocol::ProtocolArgs,
    /// Your own rows too: a CSV whose header names the features, or JSON.
    #[arg(long, value_name = "FILE")]
    rows: Option<PathBuf>,
    /// Rows drawn within the union of both artifacts' training ranges.
    #[arg(long, default_value_t = defaults().random_rows)]
    random_rows: usize,
    /// Seed of the drawn rows.
    #[arg(long, default_value_t = defaults().seed)]
    seed: u64,
    /// Exit 1 when more rows than this change label.
    #[arg(long, default_value_t = 0)]
    max_label_changes: usize,
    /// Exit 1 when a probability moves by more than this.
    #[arg(long, default_value_t = 0.0)]
    max_delta: f64,
    /// Where to write the JSON report; the JUnit XML and the picture go beside it (`.xml`,
    /// `.svg`).
    #[arg(long, default_value = "target/harness/diff.json")]
    report: PathBuf,
}

/// Exit 0 within the thresholds, 1 beyond them.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (protocol, foreign) = args.protocol.options();
    let options = Options {
        protocol,
        foreign,
        rows: args.rows,
        random_rows: args.random_rows,
        seed: args.seed,
        thresholds: Thresholds {
            max_label_changes: args.max_label_changes,
            max_delta: args.max_delta,
        },
    };
    let report = diff::run(&Spec::parse(&args.from), &Spec::parse(&args.to), &options)?;
    print!("{}", report.table());
    let path = std::path::absolute(args.report)?;
    report
        .publish(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    println!("report: {}", path.display());
    println!("picture: {}", path.with_extension("svg").display());
    Ok(if report.within() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

//! `harness`: the checks, the image build and the benchmarks, from the command line.
//!
//! - `harness check [--artifact FILE [--golden FILE]] [--image REF | --url URL]` — build the
//!   image (or take an existing one, or a running service) and run every check against the
//!   reference models, or against one artifact; a table on stdout, a JSON report, and the
//!   GitHub job summary when `GITHUB_STEP_SUMMARY` is set. Exit 1 when a check fails.
//! - `harness bench [--image REF] [--baseline BIN] [--doc]` — measure cold start, throughput,
//!   latency, size and memory, and the server's CPU per request beside a baseline binary and
//!   nginx; a Markdown table on stdout, a JSON report, `docs/performance.md` when asked.
//! - `harness image [--artifact FILE] [--tag TAG] [--no-cache]` — build the image
//!   reproducibly, offline.
//! - `harness pin-created REF` — pin a built image's `created` times to the last commit.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    match cli::run(cli::Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("harness: {e:#}");
            ExitCode::from(2)
        }
    }
}

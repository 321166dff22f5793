//! `harness`: the checks, the image build and the benchmarks, from the command line.
//!
//! - `harness check [--artifact FILE [--golden FILE]] [--image REF | --url URL]` — build the
//!   image (or take an existing one, or a running service) and run every check against the
//!   reference models, or against one artifact; a table on stdout, a JSON report, and the
//!   GitHub job summary when `GITHUB_STEP_SUMMARY` is set, and an in-toto test-result
//!   statement beside the report. Exit 1 when a check fails.
//! - `harness diff --from A --to B` — what changes in the predictions between two artifacts,
//!   servers or images, on the same rows; exit 1 beyond `--max-label-changes` and
//!   `--max-delta` (both 0 by default: identical answers).
//! - `harness verify --attestation FILE [--image REF] [--artifact FILE]` — was this image
//!   proven against this artifact, by the statement `check` wrote beside its report.
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

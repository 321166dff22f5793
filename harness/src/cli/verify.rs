//! `harness verify`: was this exact image proven against this exact artifact?

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use harness::attest::{self, Statement};
use harness::docker::Docker;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The statement `check` wrote (`…/check.intoto.json`).
    #[arg(long, value_name = "FILE")]
    attestation: PathBuf,
    /// An image that must be a subject, by its local image ID.
    #[arg(long)]
    image: Option<String>,
    /// An artifact that must be a subject, by the SHA-256 of its bytes.
    #[arg(long, value_name = "FILE")]
    artifact: Option<PathBuf>,
}

/// Exit 0 when the statement passed and names every subject given, 1 otherwise.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let text = std::fs::read(&args.attestation)
        .with_context(|| format!("reading {}", args.attestation.display()))?;
    let statement: Statement = serde_json::from_slice(&text)
        .with_context(|| format!("{}: not an in-toto statement", args.attestation.display()))?;
    let artifact = match &args.artifact {
        Some(path) => Some((
            path.display().to_string(),
            std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        )),
        None => None,
    };
    let image = match &args.image {
        Some(reference) => Some((reference.clone(), Docker::connect()?.image_id(reference)?)),
        None => None,
    };
    let verdict = attest::verify(
        &statement,
        artifact.as_ref().map(|(n, b)| (n.as_str(), b.as_slice())),
        image.as_ref().map(|(r, id)| (r.as_str(), id.as_str())),
    );
    Ok(match verdict {
        Ok(proven) => {
            println!("verified: {proven}");
            ExitCode::SUCCESS
        }
        Err(problems) => {
            for problem in problems {
                eprintln!("harness verify: {problem}");
            }
            ExitCode::FAILURE
        }
    })
}

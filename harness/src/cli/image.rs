//! `harness image` and `harness pin-created`: the reproducible, offline image build.

use std::path::PathBuf;
use std::process::ExitCode;

use harness::docker::Docker;
use harness::fixtures::repository_root;
use harness::image::{self, BuildOptions, Provenance};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The tag; by default a hash of the image's inputs.
    #[arg(long)]
    tag: Option<String>,
    /// The artifact to serve; by default the reference wine-quality model.
    #[arg(long, value_name = "FILE")]
    artifact: Option<PathBuf>,
    /// Rebuild without the builder's cache even when the image exists.
    #[arg(long)]
    no_cache: bool,
}

#[derive(Debug, clap::Args)]
pub struct PinArgs {
    /// The image, as name:tag.
    reference: String,
}

/// Builds the image, tags it `latest` too (as `docker build -t ml-inference-app` would, so
/// that `docker run ml-inference-app` finds it), and prints its reference and ID.
pub fn build(args: Args) -> anyhow::Result<ExitCode> {
    let options = BuildOptions {
        tag: args.tag,
        no_cache: args.no_cache,
        artifact: args.artifact.map(std::path::absolute).transpose()?,
    };
    let docker = Docker::connect()?;
    let built = image::build(&docker, &repository_root(), &options)?;
    docker.tag(&built.reference, image::IMAGE_NAME, "latest")?;
    println!("tagged {}:latest too", image::IMAGE_NAME);
    println!("{} {}", built.reference, built.id);
    Ok(ExitCode::SUCCESS)
}

/// Pins the image's `created` times and prints its new ID.
pub fn pin(args: PinArgs) -> anyhow::Result<ExitCode> {
    let epoch = Provenance::of(&repository_root()).epoch;
    let id = image::pin_created(&Docker::connect()?, &args.reference, epoch)?;
    println!("{} {id}", args.reference);
    Ok(ExitCode::SUCCESS)
}

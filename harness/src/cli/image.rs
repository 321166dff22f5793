//! `harness image` and `harness pin-created`: the reproducible, offline image build.

use std::path::PathBuf;
use std::process::ExitCode;

use harness::docker::Docker;
use harness::fixtures::repository_root;
use harness::image::{self, BuildOptions, Platform, Provenance};

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
    /// The platform: `linux/amd64` or `linux/arm64` (built across, with the pinned toolchain
    /// where it has the target, else Debian's rustc-web; run under QEMU on an x86_64 host).
    #[arg(long, default_value_t = Platform::Amd64)]
    platform: Platform,
}

#[derive(Debug, clap::Args)]
pub struct PinArgs {
    /// The image, as name:tag.
    reference: String,
}

/// Builds the image, tags it `latest` too when it is for this host (as `docker build -t
/// ml-inference-app` would, so that `docker run ml-inference-app` finds it), and prints its
/// reference, ID and platform.
pub fn build(args: Args) -> anyhow::Result<ExitCode> {
    let options = BuildOptions {
        tag: args.tag,
        no_cache: args.no_cache,
        artifact: args.artifact.map(std::path::absolute).transpose()?,
        platform: args.platform,
    };
    let docker = Docker::connect()?;
    let built = image::build(&docker, &repository_root(), &options)?;
    // `latest` is what `docker run ml-inference-app` runs: the host's own platform only.
    if Platform::host() == Some(built.platform) {
        docker.tag(&built.reference, image::IMAGE_NAME, "latest")?;
        println!("tagged {}:latest too", image::IMAGE_NAME);
    }
    println!("{} {} ({})", built.reference, built.id, built.platform);
    Ok(ExitCode::SUCCESS)
}

/// Pins the image's `created` times and prints its new ID.
pub fn pin(args: PinArgs) -> anyhow::Result<ExitCode> {
    let epoch = Provenance::of(&repository_root()).epoch;
    let id = image::pin_created(&Docker::connect()?, &args.reference, epoch)?;
    println!("{} {id}", args.reference);
    Ok(ExitCode::SUCCESS)
}

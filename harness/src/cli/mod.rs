//! The command line. Each command's arguments, as clap parses them, are turned once into what
//! the library takes (a target and its options, a benchmark's contenders), in that command's
//! file; [`run`] only dispatches.

mod bench;
mod check;
mod diff;
mod image;
mod protocol;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "harness",
    version,
    about = "Builds, runs and proves the ml-inference-app image"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every check and report; the verdict also as an in-toto statement.
    Check(Box<check::Args>),
    /// Compare two artifacts, servers or images on the same rows: what changes, before rollout.
    Diff(Box<diff::Args>),
    /// Check that a statement `check` wrote passed and names this image and artifact.
    Verify(verify::Args),
    /// Measure the image: figures, not verdicts. Build with --release for meaningful numbers.
    Bench(bench::Args),
    /// Build the image from the Dockerfile with the host-built static binary, pulling nothing.
    Image(image::Args),
    /// Rewrite an image's `created` times to SOURCE_DATE_EPOCH or the last commit's time.
    PinCreated(image::PinArgs),
}

/// Runs the command: exit 0 when it succeeded (every check passed, the diff is within its
/// thresholds, the statement verified), 1 when not; an error is the caller's exit 2.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check(args) => check::run(args.plan()?),
        Command::Diff(args) => diff::run(*args),
        Command::Verify(args) => verify::run(args),
        Command::Bench(args) => bench::run(args.plan()?),
        Command::Image(args) => image::build(args),
        Command::PinCreated(args) => image::pin(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("harness").chain(args.iter().copied()))
    }

    #[test]
    fn the_default_report_is_named_after_the_target_and_the_artifact() {
        let name = |target: &str, artifact: Option<&str>| {
            check::default_report(target, artifact.map(std::path::Path::new))
        };
        assert_eq!(
            name("ml-inference-app:3fa2b1", None),
            std::path::Path::new("target/harness/check-ml-inference-app-3fa2b1.json")
        );
        assert_eq!(
            name("http://127.0.0.1:8000", Some("models/flowers.json")),
            std::path::Path::new("target/harness/check-127.0.0.1-8000-flowers.json")
        );
        assert_ne!(name("app:1", None), name("app:2", None));
    }

    #[test]
    fn every_command_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn a_protocol_is_parsed_once_into_its_type() {
        let artifact = harness::fixtures::repository_root().join("fixtures/models/iris.json");
        let artifact = artifact.to_str().unwrap();
        let cli = parse(&[
            "check",
            "--protocol",
            "v2",
            "--url",
            "http://x",
            "--artifact",
            artifact,
        ]);
        let Command::Check(args) = cli.unwrap().command else {
            panic!("not check");
        };
        let plan = args.plan().unwrap();
        assert_eq!(plan.options.protocol, harness::suite::Protocol::V2);
        assert!(parse(&["check", "--protocol", "v3"]).is_err());
        assert!(parse(&["check", "--image", "a", "--url", "b"]).is_err());
    }
}

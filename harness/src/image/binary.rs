//! The static server binary the image packs: built on the host with glibc linked statically,
//! paths remapped so the bytes do not depend on where the repository is.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::HarnessError;

/// Where the Dockerfile expects the host-built static binary, relative to the context.
pub const BINARY_PATH: &str = "target/x86_64-unknown-linux-gnu/release/server";
/// The target of the static build: glibc, linked statically.
const TARGET: &str = "x86_64-unknown-linux-gnu";

/// Builds the static server binary (cargo does nothing when it is fresh) and returns its path.
pub fn build_server_binary(root: &Path) -> Result<PathBuf, HarnessError> {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        return Err(HarnessError::Usage {
            problem: format!(
                "this host ({}, {}) cannot build the static x86_64 Linux binary the offline image needs; build the image through the Dockerfile's builder stage (`docker build .`, which pulls the Rust image from a registry) and check it with --image",
                std::env::consts::OS,
                std::env::consts::ARCH
            ),
        });
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // Paths are remapped so that the binary does not depend on where the repository is.
    let mut rustflags = format!(
        "-C target-feature=+crt-static --remap-path-prefix={}=/src",
        root.display()
    );
    if let Some(home) = cargo_home() {
        rustflags.push_str(&format!(" --remap-path-prefix={}=/cargo", home.display()));
    }
    // A first build takes a minute or more: say so, and on a terminal let cargo show its
    // progress; elsewhere (CI logs, tests) keep its output for the error.
    let terminal = std::io::stderr().is_terminal();
    eprintln!("building the static server binary for {TARGET} (a minute or more the first time)");
    let started = std::time::Instant::now();
    let output = Command::new(cargo)
        .current_dir(root)
        .stderr(if terminal {
            Stdio::inherit()
        } else {
            Stdio::piped()
        })
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            "server",
            "--bin",
            "server",
        ])
        .args(["--target", TARGET])
        .env("RUSTFLAGS", rustflags)
        .output()
        .map_err(HarnessError::CargoSpawn)?;
    if !output.status.success() {
        let stderr = if terminal {
            "cargo's output is above".into()
        } else {
            String::from_utf8_lossy(&output.stderr)
        };
        let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(HarnessError::Cargo {
            stderr_tail: tail.join("\n"),
        });
    }
    eprintln!(
        "built the static server binary in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    // The binary lands in cargo's target directory, wherever `CARGO_TARGET_DIR` puts it;
    // the image build copies it to BINARY_PATH in the context.
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map_or_else(|| root.join("target"), |dir| root.join(dir));
    Ok(target_dir.join(TARGET).join("release/server"))
}

fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
}

//! The static server binary the image packs: built on the host with glibc linked statically,
//! for the image's platform, paths remapped so the bytes do not depend on where the repository
//! is.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::platform::{self, Platform, Toolchain};
use crate::error::HarnessError;

/// Where the Dockerfile expects the host-built x86_64 binary, relative to the context (its
/// `PREBUILT` default).
pub const BINARY_PATH: &str = "target/x86_64-unknown-linux-gnu/release/server";

/// Where the image build puts `platform`'s binary in the context.
pub fn context_path(platform: Platform) -> String {
    format!("target/{}/release/server", platform.rust_target())
}

/// A built binary and the toolchain that built it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binary {
    pub path: PathBuf,
    pub toolchain: Toolchain,
}

/// Builds the static server binary for this host's platform (cargo does nothing when it is
/// fresh) and returns its path.
pub fn build_server_binary(root: &Path) -> Result<PathBuf, HarnessError> {
    let host = Platform::host().filter(|_| cfg!(target_os = "linux"));
    let Some(host) = host else {
        return Err(HarnessError::Usage {
            problem: format!(
                "this host ({}, {}) cannot build the static Linux binary the offline image needs; build the image through the Dockerfile's builder stage (`docker build .`, which pulls the Rust image from a registry) and check it with --image",
                std::env::consts::OS,
                std::env::consts::ARCH
            ),
        });
    };
    build_for(root, host).map(|binary| binary.path)
}

/// Builds the static server binary for `platform`, natively or across.
pub fn build_for(root: &Path, platform: Platform) -> Result<Binary, HarnessError> {
    let toolchain = platform::toolchain(root, platform)?;
    let target = platform.rust_target();
    // Paths are remapped so that the binary does not depend on where the repository is.
    let mut rustflags = format!(
        "-C target-feature=+crt-static --remap-path-prefix={}=/src",
        root.display()
    );
    if let Some(home) = cargo_home() {
        rustflags.push_str(&format!(" --remap-path-prefix={}=/cargo", home.display()));
    }
    let mut command = Command::new(&toolchain.cargo);
    command
        .current_dir(root)
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            "server",
            "--bin",
            "server",
        ])
        .args(["--target", target])
        .env("RUSTFLAGS", rustflags)
        .env("CARGO_TARGET_DIR", &toolchain.target_dir);
    if let Some(rustc) = &toolchain.rustc {
        command.env("RUSTC", rustc);
    }
    if let Some(linker) = &toolchain.linker {
        let variable = format!(
            "CARGO_TARGET_{}_LINKER",
            target.to_uppercase().replace('-', "_")
        );
        command.env(variable, linker);
    }
    // A first build takes a minute or more: say so, and on a terminal let cargo show its
    // progress; elsewhere (CI logs, tests) keep its output for the error.
    let terminal = std::io::stderr().is_terminal();
    eprintln!(
        "building the static server binary for {platform} with {} (a minute or more the first time)",
        toolchain.describe
    );
    let started = std::time::Instant::now();
    let output = command
        .stderr(if terminal {
            Stdio::inherit()
        } else {
            Stdio::piped()
        })
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
    Ok(Binary {
        path: toolchain.target_dir.join(target).join("release/server"),
        toolchain,
    })
}

fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
}

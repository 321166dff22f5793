//! The platforms an image is built for, and the Rust toolchain that builds its static binary
//! for each: the pinned one where it has the target, else Debian's `rustc-web`, which ships
//! the standard library for other architectures as packages.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::HarnessError;

/// An image platform, as OCI names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Platform {
    #[default]
    Amd64,
    Arm64,
}

impl Platform {
    pub const ALL: [Platform; 2] = [Platform::Amd64, Platform::Arm64];

    /// `linux/amd64` or `linux/arm64`.
    pub fn name(self) -> &'static str {
        match self {
            Platform::Amd64 => "linux/amd64",
            Platform::Arm64 => "linux/arm64",
        }
    }

    /// The image config's `architecture`.
    pub fn architecture(self) -> &'static str {
        match self {
            Platform::Amd64 => "amd64",
            Platform::Arm64 => "arm64",
        }
    }

    /// The Rust target of the static glibc binary.
    pub fn rust_target(self) -> &'static str {
        match self {
            Platform::Amd64 => "x86_64-unknown-linux-gnu",
            Platform::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }

    /// The platform of an image config's `architecture`, if it is one of these.
    pub fn of_architecture(architecture: &str) -> Option<Platform> {
        Platform::ALL
            .into_iter()
            .find(|p| p.architecture() == architecture)
    }

    /// The platform this harness runs on, if it is one of these.
    pub fn host() -> Option<Platform> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Platform::Amd64),
            "aarch64" => Some(Platform::Arm64),
            _ => None,
        }
    }

    /// The C compiler that links for this platform from another: Debian's and Ubuntu's
    /// cross gcc.
    fn cross_linker(self) -> &'static str {
        match self {
            Platform::Amd64 => "x86_64-linux-gnu-gcc",
            Platform::Arm64 => "aarch64-linux-gnu-gcc",
        }
    }
}

impl std::str::FromStr for Platform {
    type Err = String;

    fn from_str(text: &str) -> Result<Platform, String> {
        Platform::ALL
            .into_iter()
            .find(|p| p.name() == text || p.architecture() == text)
            .ok_or_else(|| format!("{text}: not linux/amd64 or linux/arm64"))
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How the static binary for a platform is compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toolchain {
    pub cargo: PathBuf,
    /// `RUSTC` for cargo, when it is not cargo's own.
    pub rustc: Option<PathBuf>,
    /// The linker, when the target is not the host's.
    pub linker: Option<String>,
    /// Where cargo builds: another toolchain's artifacts are kept apart from the pinned one's,
    /// so that neither rebuilds the other's.
    pub target_dir: PathBuf,
    /// `rustc -V` and where it comes from, for the image's labels and provenance.
    pub describe: String,
}

/// Debian's `rustc-web` and `cargo-web` install these.
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
const DEBIAN_CARGO: &str = "/usr/bin/cargo";

/// The toolchain that builds for `platform` on this host: the pinned one natively, or across
/// when it has the target's standard library (`rustup target add`); else Debian's, when
/// `libstd-rust-web-dev` for the target is installed. An error says what to install.
pub fn toolchain(root: &Path, platform: Platform) -> Result<Toolchain, HarnessError> {
    let cargo = PathBuf::from(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map_or_else(|| root.join("target"), |dir| root.join(dir));
    let native = Platform::host() == Some(platform);
    let linker = (!native).then(|| platform.cross_linker().to_owned());
    if native || has_target(root, None, platform) {
        let version = rustc_version(root, None).unwrap_or_default();
        return Ok(Toolchain {
            cargo,
            rustc: None,
            linker,
            target_dir,
            describe: format!("{version} (pinned, rust-toolchain.toml)"),
        });
    }
    let debian = Path::new(DEBIAN_RUSTC);
    if debian.is_file() && has_target(root, Some(debian), platform) {
        let version = rustc_version(root, Some(debian)).unwrap_or_default();
        return Ok(Toolchain {
            cargo: PathBuf::from(DEBIAN_CARGO),
            rustc: Some(debian.to_owned()),
            linker,
            target_dir: target_dir.join("debian-rustc"),
            describe: format!("{version} (Debian rustc-web)"),
        });
    }
    Err(HarnessError::Usage {
        problem: format!(
            "no Rust toolchain here builds for {platform} ({}): run `rustup target add {}` \
             with {} installed, or install Debian's rustc-web, cargo-web and \
             libstd-rust-web-dev:{} (after `dpkg --add-architecture {}`)",
            platform.rust_target(),
            platform.rust_target(),
            platform.cross_linker(),
            platform.architecture(),
            platform.architecture()
        ),
    })
}

/// `rustc -V` of `rustc` (the pinned one, through rustup, when none).
fn rustc_version(root: &Path, rustc: Option<&Path>) -> Option<String> {
    let output = Command::new(rustc.unwrap_or(Path::new("rustc")))
        .current_dir(root)
        .arg("-V")
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Whether `rustc` has the standard library of `platform`'s target.
fn has_target(root: &Path, rustc: Option<&Path>, platform: Platform) -> bool {
    Command::new(rustc.unwrap_or(Path::new("rustc")))
        .current_dir(root)
        .args([
            "--print",
            "target-libdir",
            "--target",
            platform.rust_target(),
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .and_then(|dir| std::fs::read_dir(dir).ok())
        .is_some_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("libstd-"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_platform_is_named_as_oci_and_docker_name_it() {
        assert_eq!("linux/arm64".parse::<Platform>(), Ok(Platform::Arm64));
        assert_eq!("amd64".parse::<Platform>(), Ok(Platform::Amd64));
        assert!("linux/s390x".parse::<Platform>().is_err());
        assert_eq!(Platform::of_architecture("arm64"), Some(Platform::Arm64));
        assert_eq!(Platform::Arm64.rust_target(), "aarch64-unknown-linux-gnu");
    }

    #[test]
    fn the_hosts_own_platform_is_built_with_the_pinned_toolchain() {
        let Some(host) = Platform::host() else { return };
        let root = crate::fixtures::repository_root();
        let toolchain = toolchain(&root, host).unwrap();
        assert_eq!((toolchain.rustc, toolchain.linker), (None, None));
        assert!(
            toolchain.describe.contains("pinned"),
            "{}",
            toolchain.describe
        );
    }
}

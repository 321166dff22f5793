//! The image: the static server binary, the repository's Dockerfile built through
//! testcontainers with no image pulled, and timestamps pinned so that the same sources give the
//! same image ID.
//!
//! The build context holds only the Dockerfile, the binary and the default artifact, each with
//! file time 0 (testcontainers writes the context that way), so the layers depend on their bytes
//! alone. The Engine's BuildKit here stamps the build time into the image config, and only
//! BuildKit 0.11 and later honour `SOURCE_DATE_EPOCH`; so after building, [`pin_created`]
//! rewrites the config's `created` times to the last commit's time and loads the result back.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};
use testcontainers::GenericBuildableImage;
use testcontainers::core::BuildImageOptions;
use testcontainers::runners::SyncBuilder;

use crate::docker::Docker;
use crate::error::HarnessError;

/// The repository name of images the harness builds.
pub const IMAGE_NAME: &str = "ml-inference-app";
/// Where the Dockerfile expects the host-built static binary, relative to the context.
pub const BINARY_PATH: &str = "target/x86_64-unknown-linux-gnu/release/server";
/// The default artifact, relative to the repository root.
pub const DEFAULT_ARTIFACT: &str = "fixtures/models/wine-quality.json";
/// The target of the static build: glibc, linked statically.
const TARGET: &str = "x86_64-unknown-linux-gnu";

/// The repository the harness was built from: where the Dockerfile and fixtures are.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// What the image records about its sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// `SOURCE_DATE_EPOCH`, else the last commit's time, else 0.
    pub epoch: i64,
    /// The last commit's hash, else `unknown`.
    pub revision: String,
}

impl Provenance {
    /// Reads `SOURCE_DATE_EPOCH` and git.
    pub fn of(root: &Path) -> Provenance {
        let git = |args: &[&str]| {
            Command::new("git")
                .args(args)
                .current_dir(root)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        };
        let epoch = std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .or_else(|| git(&["log", "-1", "--format=%ct"]))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let revision = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
        Provenance { epoch, revision }
    }

    /// The epoch as RFC 3339, as OCI `created` fields want it.
    pub fn created(&self) -> String {
        rfc3339(self.epoch)
    }
}

/// Builds the static server binary (cargo does nothing when it is fresh) and returns its path.
pub fn build_server_binary(root: &Path) -> Result<PathBuf, HarnessError> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // Paths are remapped so that the binary does not depend on where the repository is.
    let mut rustflags = format!(
        "-C target-feature=+crt-static --remap-path-prefix={}=/src",
        root.display()
    );
    if let Some(home) = cargo_home() {
        rustflags.push_str(&format!(" --remap-path-prefix={}=/cargo", home.display()));
    }
    let output = Command::new(cargo)
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
        .args(["--target", TARGET])
        .env("RUSTFLAGS", rustflags)
        .output()
        .map_err(|e| HarnessError::Cargo(e.to_string()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(HarnessError::Cargo(tail.join("\n")));
    }
    Ok(root.join(BINARY_PATH))
}

fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
}

/// A built image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// `name:tag`.
    pub reference: String,
    /// The image ID, `sha256:…`.
    pub id: String,
    /// False when an image of the same content tag already existed.
    pub fresh: bool,
}

/// How to build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The tag; by default a hash of everything that goes into the image.
    pub tag: Option<String>,
    /// Build again even when the image exists, without the builder's cache.
    pub no_cache: bool,
}

/// Builds the static binary, then the image from the repository's Dockerfile with the
/// prebuilt binary (nothing is pulled), then pins its timestamps.
pub fn build(docker: &Docker, root: &Path, options: &BuildOptions) -> Result<Built, HarnessError> {
    let binary = build_server_binary(root)?;
    let provenance = Provenance::of(root);
    let read = |path: &Path| {
        std::fs::read(path).map_err(|cause| HarnessError::Io {
            path: path.display().to_string(),
            cause,
        })
    };
    let dockerfile = root.join("Dockerfile");
    let artifact = root.join(DEFAULT_ARTIFACT);
    let tag = match &options.tag {
        Some(tag) => tag.clone(),
        None => {
            let mut hash = Sha256::new();
            for part in [read(&dockerfile)?, read(&binary)?, read(&artifact)?] {
                hash.update((part.len() as u64).to_le_bytes());
                hash.update(part);
            }
            hash.update(provenance.epoch.to_le_bytes());
            hash.update(provenance.revision.as_bytes());
            hash.finalize()[..6]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        }
    };
    let reference = format!("{IMAGE_NAME}:{tag}");
    if !options.no_cache
        && let Some(existing) = docker.inspect_image(&reference)?
    {
        return Ok(Built {
            id: existing.id.unwrap_or_default(),
            reference,
            fresh: false,
        });
    }
    let image_error = |cause: &dyn ToString| HarnessError::Image {
        image: reference.clone(),
        cause: cause.to_string(),
    };
    let _image = GenericBuildableImage::new(IMAGE_NAME, &tag)
        .with_dockerfile(&dockerfile)
        .with_file(&binary, BINARY_PATH)
        .with_file(&artifact, DEFAULT_ARTIFACT)
        .build_image_with(
            BuildImageOptions::new()
                .with_no_cache(options.no_cache)
                .with_build_arg("BINARY", "prebuilt")
                .with_build_arg("VERSION", env!("CARGO_PKG_VERSION"))
                .with_build_arg("REVISION", &provenance.revision)
                .with_build_arg("CREATED", provenance.created()),
        )
        .map_err(|e| image_error(&e))?;
    let id = pin_created(docker, &reference, provenance.epoch)?;
    Ok(Built {
        reference,
        id,
        fresh: true,
    })
}

/// Rewrites the `created` times of an image's config (and of its history) to `epoch`, clears
/// the legacy builder's references to intermediate images, loads the result under the same
/// reference, and returns the new image ID.
///
/// The layers are untouched; only the config changes, and with it the ID, which is the hash
/// of the config. Run twice on the same image, it gives the same ID.
pub fn pin_created(docker: &Docker, reference: &str, epoch: i64) -> Result<String, HarnessError> {
    let fail = |cause: &dyn ToString| HarnessError::Image {
        image: reference.to_owned(),
        cause: cause.to_string(),
    };
    let old_id = docker
        .inspect_image(reference)?
        .and_then(|i| i.id)
        .ok_or_else(|| fail(&"no such image"))?;
    let saved = docker.save(reference)?;

    let mut entries: Vec<(tar::Header, Vec<u8>)> = vec![];
    let mut archive = tar::Archive::new(saved.as_slice());
    for entry in archive.entries().map_err(|e| fail(&e))? {
        let mut entry = entry.map_err(|e| fail(&e))?;
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(|e| fail(&e))?;
        entries.push((entry.header().clone(), data));
    }
    let path_of = |h: &tar::Header| {
        h.path()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    };
    let find = |name: &str| entries.iter().position(|(h, _)| path_of(h) == name);

    let manifest_at =
        find("manifest.json").ok_or_else(|| fail(&"no manifest.json in the saved image"))?;
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&entries[manifest_at].1).map_err(|e| fail(&e))?;
    let config_name = manifest[0]["Config"]
        .as_str()
        .ok_or_else(|| fail(&"manifest.json names no config"))?
        .to_owned();
    let config_at = find(&config_name).ok_or_else(|| fail(&format!("no {config_name}")))?;
    let mut config: serde_json::Value =
        serde_json::from_slice(&entries[config_at].1).map_err(|e| fail(&e))?;

    let created = serde_json::Value::String(rfc3339(epoch));
    config["created"] = created.clone();
    if let Some(history) = config["history"].as_array_mut() {
        for step in history {
            step["created"] = created.clone();
        }
    }
    // The legacy builder also records the ID of the intermediate image each step ran on, an ID
    // that itself depends on the build time. It says nothing about the image's contents.
    for section in ["config", "container_config"] {
        if config[section]["Image"].is_string() {
            config[section]["Image"] = "".into();
        }
    }
    let config_bytes = serde_json::to_vec(&config).map_err(|e| fail(&e))?;
    let digest: String = Sha256::digest(&config_bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let new_config_name = format!("{digest}.json");
    manifest[0]["Config"] = new_config_name.clone().into();
    manifest[0]["RepoTags"] = serde_json::json!([reference]);
    let manifest_bytes = serde_json::to_vec(&manifest).map_err(|e| fail(&e))?;

    let mut out = tar::Builder::new(Vec::new());
    for (i, (header, data)) in entries.iter().enumerate() {
        // The OCI index of newer engines would point the loader at the old config.
        let path = path_of(header);
        if i == manifest_at
            || i == config_at
            || ["repositories", "index.json", "oci-layout"].contains(&path.as_str())
        {
            continue;
        }
        out.append(header, data.as_slice()).map_err(|e| fail(&e))?;
    }
    for (name, data) in [
        (new_config_name.as_str(), &config_bytes),
        ("manifest.json", &manifest_bytes),
    ] {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        out.append_data(&mut header, name, data.as_slice())
            .map_err(|e| fail(&e))?;
    }
    let archive = out.into_inner().map_err(|e| fail(&e))?;
    docker.load(archive)?;

    let new_id = format!("sha256:{digest}");
    if new_id != old_id {
        // Now untagged; other tags or containers may still hold it, which is fine.
        let _ = docker.remove_image(&old_id);
    }
    Ok(new_id)
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, UTC).
pub fn rfc3339(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_787_204_541), "2026-08-20T05:42:21Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }
}

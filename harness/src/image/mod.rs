//! The image: the repository's Dockerfile built through testcontainers with the host-built
//! static binary, no image pulled, and timestamps pinned so that the same sources give the same
//! image ID.
//!
//! The build context holds only the Dockerfile, the binary and the default artifact, each with
//! file time 0 (testcontainers writes the context that way), so the layers depend on their bytes
//! alone; [`pin::pin_created`] fixes the config's times.
//!
//! # Layout
//! - [`binary`]: the static server binary; [`provenance`]: the commit and its time;
//!   [`pin`]: rewriting `created`.

pub mod binary;
pub mod pin;
pub mod provenance;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use testcontainers::GenericBuildableImage;
use testcontainers::core::BuildImageOptions;
use testcontainers::runners::SyncBuilder;

use server::Artifact;

use crate::docker::Docker;
use crate::error::HarnessError;

pub use binary::{BINARY_PATH, build_server_binary};
pub use pin::pin_created;
pub use provenance::Provenance;

/// The repository name of images the harness builds.
pub const IMAGE_NAME: &str = "ml-inference-app";
/// The default artifact, relative to the repository root.
pub const DEFAULT_ARTIFACT: &str = "fixtures/models/wine-quality.json";

/// A built image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// `name:tag`.
    pub reference: String,
    /// The image ID, `sha256:…`.
    pub id: String,
    /// False when an image of the same content tag already existed.
    pub fresh: bool,
    /// The artifact baked in, when it is not the default.
    pub artifact: Option<PathBuf>,
}

/// How to build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The tag; by default a hash of everything that goes into the image.
    pub tag: Option<String>,
    /// Build again even when the image exists, without the builder's cache.
    pub no_cache: bool,
    /// The artifact to bake in; by default the reference wine-quality model.
    pub artifact: Option<PathBuf>,
}

/// Builds the static binary, then the image from the repository's Dockerfile with the
/// prebuilt binary (nothing is pulled), then pins its timestamps.
pub fn build(docker: &Docker, root: &Path, options: &BuildOptions) -> Result<Built, HarnessError> {
    let binary = build_server_binary(root)?;
    let provenance = Provenance::of(root);
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| HarnessError::Io {
            path: path.to_owned(),
            source,
        })
    };
    let dockerfile = root.join("Dockerfile");
    let artifact = options
        .artifact
        .clone()
        .unwrap_or_else(|| root.join(DEFAULT_ARTIFACT));
    // The user's artifact goes where the Dockerfile's MODEL argument points: under models/.
    let in_context = match &options.artifact {
        None => DEFAULT_ARTIFACT.to_owned(),
        Some(path) => format!(
            "models/{}",
            path.file_name()
                .map_or_else(|| "model.json".into(), |n| n.to_string_lossy())
        ),
    };
    let artifact_bytes = read(&artifact)?;
    let model = Artifact::from_bytes(&artifact_bytes, &artifact.display().to_string())?;
    let tag = match &options.tag {
        Some(tag) => tag.clone(),
        None => {
            let mut hash = Sha256::new();
            let notices = read(&root.join("THIRD-PARTY-NOTICES.md"))?;
            for part in [read(&dockerfile)?, read(&binary)?, artifact_bytes, notices] {
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
            artifact: options.artifact.clone(),
        });
    }
    let image_error = |source| HarnessError::Build {
        image: reference.clone(),
        source,
    };
    let _image = GenericBuildableImage::new(IMAGE_NAME, &tag)
        .with_dockerfile(&dockerfile)
        .with_file(&binary, BINARY_PATH)
        .with_file(&artifact, &in_context)
        .with_file(root.join("LICENSE-MIT"), "LICENSE-MIT")
        .with_file(root.join("LICENSE-APACHE"), "LICENSE-APACHE")
        .with_file(
            root.join("THIRD-PARTY-NOTICES.md"),
            "THIRD-PARTY-NOTICES.md",
        )
        .with_file(root.join("licenses/glibc.md"), "licenses/glibc.md")
        .build_image_with(
            BuildImageOptions::new()
                .with_no_cache(options.no_cache)
                .with_build_arg("BINARY", "prebuilt")
                .with_build_arg("VERSION", env!("CARGO_PKG_VERSION"))
                .with_build_arg("REVISION", &provenance.revision)
                .with_build_arg("CREATED", provenance.created())
                .with_build_arg("MODEL", &in_context)
                .with_build_arg("MODEL_NAME", model.name())
                .with_build_arg("MODEL_VERSION", model.version())
                .with_build_arg("MODEL_SHA256", model.sha256()),
        )
        .map_err(image_error)?;
    let id = pin_created(docker, &reference, provenance.epoch)?;
    Ok(Built {
        reference,
        id,
        fresh: true,
        artifact: options.artifact.clone(),
    })
}

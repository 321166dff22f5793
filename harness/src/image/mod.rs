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
pub mod platform;
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
pub use platform::Platform;
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
    /// The platform it was built for.
    pub platform: Platform,
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
    /// The platform; by default linux/amd64.
    pub platform: Platform,
}

/// Builds the static binary, then the image from the repository's Dockerfile with the
/// prebuilt binary (nothing is pulled), then pins its timestamps.
pub fn build(docker: &Docker, root: &Path, options: &BuildOptions) -> Result<Built, HarnessError> {
    // One build at a time in a process: tests build the same tag from several threads, and
    // two pins of one tag's `created` times must not interleave.
    static BUILDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = BUILDING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let platform = options.platform;
    let built_binary = binary::build_for(root, platform)?;
    let binary = built_binary.path.clone();
    let toolchain = built_binary.toolchain.describe;
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
            platform,
        });
    }
    let prebuilt = binary::context_path(platform);
    let args: Vec<(&str, String)> = vec![
        ("BINARY", "prebuilt".into()),
        ("PREBUILT", prebuilt.clone()),
        ("TOOLCHAIN", toolchain),
        ("VERSION", env!("CARGO_PKG_VERSION").into()),
        ("REVISION", provenance.revision.clone()),
        ("CREATED", provenance.created()),
        ("MODEL", in_context.clone()),
        ("MODEL_NAME", model.name().into()),
        ("MODEL_VERSION", model.version().into()),
        ("MODEL_SHA256", model.sha256().into()),
    ];
    let files: Vec<(PathBuf, String)> = vec![
        (dockerfile.clone(), "Dockerfile".into()),
        (binary.clone(), prebuilt),
        (artifact.clone(), in_context.clone()),
        (root.join("LICENSE-MIT"), "LICENSE-MIT".into()),
        (root.join("LICENSE-APACHE"), "LICENSE-APACHE".into()),
        (
            root.join("THIRD-PARTY-NOTICES.md"),
            "THIRD-PARTY-NOTICES.md".into(),
        ),
        (root.join("licenses/glibc.md"), "licenses/glibc.md".into()),
    ];
    if Some(platform) == Platform::host() {
        // The host's platform, through testcontainers as every test builds it.
        let mut build = BuildImageOptions::new().with_no_cache(options.no_cache);
        for (name, value) in &args {
            build = build.with_build_arg(*name, value);
        }
        let mut image = GenericBuildableImage::new(IMAGE_NAME, &tag).with_dockerfile(&dockerfile);
        for (from, to) in &files[1..] {
            image = image.with_file(from, to);
        }
        let _image = image
            .build_image_with(build)
            .map_err(|source| HarnessError::Build {
                image: reference.clone(),
                source,
            })?;
    } else {
        // testcontainers' build options have no platform: the same build through bollard.
        let context = context_tar(&files)?;
        docker.build_image(
            &reference,
            context,
            &args,
            platform.name(),
            options.no_cache,
        )?;
    }
    let id = pin_created(docker, &reference, provenance.epoch)?;
    Ok(Built {
        reference,
        id,
        fresh: true,
        artifact: options.artifact.clone(),
        platform,
    })
}

/// The build context as a tar archive: each file at its path, time 0 and its own mode, as
/// testcontainers writes a context, so the layers depend on the bytes alone.
fn context_tar(files: &[(PathBuf, String)]) -> Result<Vec<u8>, HarnessError> {
    let mut archive = tar::Builder::new(Vec::new());
    for (from, to) in files {
        let io = |source| HarnessError::Io {
            path: from.clone(),
            source,
        };
        let bytes = std::fs::read(from).map_err(io)?;
        let mode = {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(from).map_err(io)?.permissions().mode()
        };
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(mode & 0o7777);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        archive
            .append_data(&mut header, to, bytes.as_slice())
            .map_err(io)?;
    }
    archive.into_inner().map_err(|source| HarnessError::Io {
        path: PathBuf::from("build context"),
        source,
    })
}

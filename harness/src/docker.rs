//! The Docker Engine API, for what testcontainers does not expose: image inspection, saving and
//! loading images, and container health. Blocking calls over bollard on a private runtime.

use futures_util::TryStreamExt;
use testcontainers::bollard;
use testcontainers::bollard::query_parameters::{
    BuildImageOptionsBuilder, BuilderVersion, ImportImageOptions, RemoveImageOptions,
    TagImageOptions,
};
use tokio::runtime::Runtime;

use crate::error::HarnessError;

pub use testcontainers::bollard::models::{ContainerInspectResponse, ImageInspect};

/// A connected Docker client.
#[derive(Debug)]
pub struct Docker {
    api: bollard::Docker,
    runtime: Runtime,
}

impl Docker {
    /// Connects to the local engine (`DOCKER_HOST` or the default socket) and checks it answers.
    pub fn connect() -> Result<Docker, HarnessError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(HarnessError::Runtime)?;
        let api = bollard::Docker::connect_with_local_defaults()
            .map_err(HarnessError::DockerUnavailable)?;
        let api = runtime
            .block_on(api.negotiate_version())
            .map_err(HarnessError::DockerUnavailable)?;
        runtime
            .block_on(api.ping())
            .map_err(HarnessError::DockerUnavailable)?;
        Ok(Docker { api, runtime })
    }

    /// The image's metadata, or `None` when there is no such image.
    pub fn inspect_image(&self, name: &str) -> Result<Option<ImageInspect>, HarnessError> {
        match self.runtime.block_on(self.api.inspect_image(name)) {
            Ok(image) => Ok(Some(image)),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(HarnessError::docker(format!("inspect image {name}"), e)),
        }
    }

    /// The image's ID, `sha256:…`; an error when there is no such image.
    pub fn image_id(&self, name: &str) -> Result<String, HarnessError> {
        self.inspect_image(name)?
            .and_then(|i| i.id)
            .ok_or_else(|| HarnessError::NoSuchImage {
                image: name.to_owned(),
            })
    }

    /// The image as `docker save` writes it.
    pub fn save(&self, name: &str) -> Result<Vec<u8>, HarnessError> {
        let chunks: Vec<_> = self
            .runtime
            .block_on(self.api.export_image(name).try_collect())
            .map_err(|e| HarnessError::docker(format!("save {name}"), e))?;
        Ok(chunks.concat())
    }

    /// Loads a `docker save` archive, as `docker load` does.
    pub fn load(&self, archive: Vec<u8>) -> Result<(), HarnessError> {
        let options = ImportImageOptions {
            quiet: true,
            platform: None,
        };
        let stream = self
            .api
            .import_image(options, bollard::body_full(archive.into()), None);
        let progress: Vec<_> = self
            .runtime
            .block_on(stream.try_collect())
            .map_err(|e| HarnessError::docker("load", e))?;
        match progress.iter().find_map(|p| p.error_detail.as_ref()) {
            Some(detail) => Err(HarnessError::Load {
                detail: detail.message.clone().unwrap_or_default(),
            }),
            None => Ok(()),
        }
    }

    /// Builds the context's `Dockerfile` for `platform` (`linux/arm64`, say) with BuildKit, as
    /// testcontainers builds but with the platform its options lack, and tags it `reference`.
    pub fn build_image(
        &self,
        reference: &str,
        context: Vec<u8>,
        args: &[(&str, String)],
        platform: &str,
        no_cache: bool,
    ) -> Result<(), HarnessError> {
        let args: std::collections::HashMap<String, String> = args
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        let session = format!(
            "harness-{}-{}",
            std::process::id(),
            reference.replace(':', "-")
        );
        let options = BuildImageOptionsBuilder::new()
            .dockerfile("Dockerfile")
            .t(reference)
            .rm(true)
            .nocache(no_cache)
            .platform(platform)
            .buildargs(&args)
            .version(BuilderVersion::BuilderBuildKit)
            .session(&session)
            .build();
        let fail = |e| HarnessError::docker(format!("build {reference} for {platform}"), e);
        let progress: Vec<_> = self
            .runtime
            .block_on(
                self.api
                    .build_image(options, None, Some(bollard::body_full(context.into())))
                    .try_collect(),
            )
            .map_err(fail)?;
        match progress.iter().find_map(|p| p.error_detail.as_ref()) {
            Some(detail) => Err(HarnessError::BuildRefused {
                image: reference.to_owned(),
                detail: detail.message.clone().unwrap_or_default(),
            }),
            None => Ok(()),
        }
    }

    /// Tags `image` as `repo:tag` too, as `docker tag` does.
    pub fn tag(&self, image: &str, repo: &str, tag: &str) -> Result<(), HarnessError> {
        let options = TagImageOptions {
            repo: Some(repo.into()),
            tag: Some(tag.into()),
        };
        self.runtime
            .block_on(self.api.tag_image(image, Some(options)))
            .map_err(|e| HarnessError::docker(format!("tag {image} as {repo}:{tag}"), e))
    }

    /// Removes an image by name or ID; a missing image is not an error.
    pub fn remove_image(&self, name: &str) -> Result<(), HarnessError> {
        let options = RemoveImageOptions {
            force: false,
            noprune: false,
            ..Default::default()
        };
        match self
            .runtime
            .block_on(self.api.remove_image(name, Some(options), None))
        {
            Ok(_)
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(e) => Err(HarnessError::docker(format!("remove image {name}"), e)),
        }
    }

    /// The container's state as `docker inspect` reports it.
    pub fn inspect_container(&self, id: &str) -> Result<ContainerInspectResponse, HarnessError> {
        self.runtime
            .block_on(self.api.inspect_container(id, None))
            .map_err(|e| HarnessError::docker(format!("inspect container {id}"), e))
    }
}

//! The image itself: small, non-root, documented metadata, nothing but the binary and the
//! artifact, a HEALTHCHECK that reaches healthy, and reproducible builds.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use server::Artifact;

use crate::checks::{Figure, Passed, Verdict, ensure, why};
use crate::docker::Docker;
use crate::image::{self, BuildOptions, Built};
use crate::profile::Profile;

/// Size, user, ports, entrypoint, healthcheck and labels as the profile says, the model's
/// labels naming `serves`.
pub fn metadata(docker: &Docker, reference: &str, profile: &Profile, serves: &Artifact) -> Verdict {
    let inspect = docker
        .inspect_image(reference)
        .map_err(why)?
        .ok_or("no such image")?;
    let size = inspect.size.unwrap_or(i64::MAX);
    let max = profile.max_bytes;
    ensure!(size < max, "the image is {size} bytes, over {max}");
    let config = inspect.config.ok_or("the image has no config")?;

    let user = config.user.unwrap_or_default();
    let numeric = !user.is_empty() && user.split(':').all(|p| p.parse::<u32>().is_ok());
    ensure!(numeric, "USER {user:?} is not numeric");
    ensure!(!user.split(':').any(|p| p == "0"), "USER {user:?} is root");
    if let Some(want) = &profile.user {
        ensure!(user == *want, "USER {user:?}, the profile says {want:?}");
    }

    let ports: Vec<String> = config
        .exposed_ports
        .unwrap_or_default()
        .into_iter()
        .collect();
    let port = format!("{}/tcp", profile.port);
    ensure!(
        ports == [port.as_str()],
        "exposed ports {ports:?}, expected [{port:?}]"
    );
    let entrypoint = config.entrypoint.unwrap_or_default();
    ensure!(
        entrypoint == profile.entrypoint,
        "entrypoint {entrypoint:?} is not the exec-form {:?}",
        profile.entrypoint
    );
    ensure!(
        config.cmd.unwrap_or_default().is_empty(),
        "the image has a CMD"
    );
    let test = config.healthcheck.and_then(|h| h.test);
    ensure!(
        test == profile.healthcheck,
        "healthcheck {test:?}, expected {:?}",
        profile.healthcheck
    );

    let labels = config.labels.unwrap_or_default();
    let missing: Vec<&String> = profile
        .labels
        .iter()
        .filter(|l| labels.get(*l).is_none_or(String::is_empty))
        .collect();
    ensure!(missing.is_empty(), "labels missing: {missing:?}");
    if let Some(model_labels) = &profile.model_labels {
        let model = [serves.name(), serves.version(), serves.sha256()];
        for (label, want) in model_labels.iter().zip(model) {
            let got = labels.get(label).map(String::as_str);
            ensure!(
                got == Some(want),
                "label {label} is {got:?}, the image serves {want:?}"
            );
        }
    }
    Ok(Passed::new(format!(
        "{size} bytes, USER {user}, EXPOSE {}, exec-form ENTRYPOINT, HEALTHCHECK {}, {} labels{}",
        profile.port,
        if profile.healthcheck.is_some() {
            "as expected"
        } else {
            "none, as expected"
        },
        profile.labels.len(),
        if profile.model_labels.is_some() {
            format!(", model labels for {} {}", serves.name(), serves.version())
        } else {
            String::new()
        }
    ))
    .with(Figure::new("image size", size as f64 / 1e6, "MB")))
}

/// The files in the image's layers (directories aside): exactly the profile's (here the binary
/// and the artifact), so no shell.
pub fn contents(docker: &Docker, reference: &str, profile: &Profile) -> Verdict {
    let saved = docker.save(reference).map_err(why)?;
    // Every entry of the archive, so that layers can be found by the names manifest.json gives
    // (`<id>/layer.tar` from older engines, `blobs/sha256/<digest>` from newer ones).
    let mut entries = std::collections::BTreeMap::new();
    for entry in tar::Archive::new(saved.as_slice()).entries().map_err(why)? {
        let mut entry = entry.map_err(why)?;
        let path = entry.path().map_err(why)?.display().to_string();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(why)?;
        entries.insert(path, data);
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(entries.get("manifest.json").ok_or("no manifest.json")?)
            .map_err(why)?;
    let layers = manifest[0]["Layers"]
        .as_array()
        .ok_or("manifest.json lists no layers")?;
    let mut files = BTreeSet::new();
    for layer in layers {
        let name = layer.as_str().unwrap_or_default();
        let layer = entries
            .get(name)
            .ok_or_else(|| format!("layer {name} is not in the archive"))?;
        for file in tar::Archive::new(layer.as_slice()).entries().map_err(why)? {
            let file = file.map_err(why)?;
            if file.header().entry_type().is_dir() {
                continue;
            }
            // Layers from some builders (dockerTools) name their files `./server`.
            let path = file.path().map_err(why)?.display().to_string();
            files.insert(path.trim_start_matches("./").to_owned());
        }
    }
    let expected: BTreeSet<String> = profile.files.iter().cloned().collect();
    ensure!(
        files == expected,
        "the image holds {files:?}, expected only {expected:?}"
    );
    Ok(Passed::new(format!(
        "the layers hold {expected:?} only: no shell, no package manager"
    )))
}

/// The container's own HEALTHCHECK (the binary probing `/ready`) reaches `healthy`.
pub fn healthy(docker: &Docker, container_id: &str, within: Duration) -> Verdict {
    let started = Instant::now();
    loop {
        let state = docker.inspect_container(container_id).map_err(why)?.state;
        let health = state.and_then(|s| s.health).and_then(|h| h.status);
        let status = health.map(|s| s.to_string()).unwrap_or_default();
        if status == "healthy" {
            return Ok(Passed::new("Docker reports the container healthy")
                .with(Figure::millis("time to healthy", started.elapsed())));
        }
        ensure!(
            status != "unhealthy",
            "Docker reports the container unhealthy"
        );
        ensure!(
            started.elapsed() < within,
            "not healthy within {within:?} (status {status:?})"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A second build of the same sources, without cache and under another tag, gives the same
/// layers, `Created` time and image ID as `built`.
pub fn reproducible(docker: &Docker, root: &Path, built: &Built) -> Verdict {
    let again = image::build(
        docker,
        root,
        &BuildOptions {
            tag: Some("reproducibility-check".into()),
            no_cache: true,
            artifact: built.artifact.clone(),
        },
    )
    .map_err(why)?;
    let first = docker
        .inspect_image(&built.reference)
        .map_err(why)?
        .ok_or("first image gone")?;
    let second = docker
        .inspect_image(&again.reference)
        .map_err(why)?
        .ok_or("second image gone")?;
    let _ = docker.remove_image(&again.reference);
    let layers = |i: &crate::docker::ImageInspect| {
        i.root_fs
            .as_ref()
            .and_then(|r| r.layers.clone())
            .unwrap_or_default()
    };
    ensure!(
        layers(&first) == layers(&second),
        "layers differ: {:?} vs {:?}",
        layers(&first),
        layers(&second)
    );
    ensure!(
        first.created == second.created,
        "Created differs: {:?} vs {:?}",
        first.created,
        second.created
    );
    ensure!(
        first.id == second.id,
        "image IDs differ: {:?} vs {:?}",
        first.id,
        second.id
    );
    Ok(Passed::new(format!(
        "a clean rebuild gives the same {} layers, Created {} and ID {}",
        layers(&first).len(),
        first.created.map(|c| c.to_string()).unwrap_or_default(),
        first.id.unwrap_or_default()
    )))
}

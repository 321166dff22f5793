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
    // The entrypoint's bytes, to read its ELF header.
    let entrypoint = profile
        .entrypoint
        .first()
        .map(|e| e.trim_start_matches('/').to_owned());
    let mut program: Option<Vec<u8>> = None;
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
            let path = path.trim_start_matches("./").to_owned();
            if Some(&path) == entrypoint.as_ref() {
                let mut file = file;
                let mut head = vec![0; 20];
                let read = file.read(&mut head).map_err(why)?;
                head.truncate(read);
                program = Some(head);
            }
            files.insert(path);
        }
    }
    let expected: BTreeSet<String> = profile.files.iter().cloned().collect();
    ensure!(
        files == expected,
        "the image holds {files:?}, expected only {expected:?}"
    );
    // An "arm64" image holding an x86_64 binary would pass every other check on an x86_64
    // host: the entrypoint must be an ELF for the architecture the image declares.
    let architecture = docker
        .inspect_image(reference)
        .map_err(why)?
        .and_then(|i| i.architecture)
        .unwrap_or_default();
    let entrypoint = format!("/{}", entrypoint.unwrap_or_default());
    let machine = match &program {
        Some(head) => {
            elf_machine(head).ok_or_else(|| format!("{entrypoint} is not an ELF executable"))?
        }
        None => return Err(format!("the image holds no entrypoint {entrypoint}")),
    };
    ensure!(
        machine == architecture,
        "the image declares architecture {architecture:?}; its entrypoint {entrypoint} is an ELF for {machine:?}"
    );
    Ok(Passed::new(format!(
        "the layers hold {expected:?} only: no shell, no package manager; {entrypoint} is an ELF \
         for {machine}, as the image declares"
    )))
}

/// The architecture an ELF header is for, as OCI names it (`amd64`, `arm64`, …).
pub fn elf_machine(head: &[u8]) -> Option<String> {
    if head.len() < 20 || &head[..4] != b"\x7fELF" {
        return None;
    }
    // e_machine, after the 16-byte ident and e_type; its byte order is the ident's.
    let bytes = [head[18], head[19]];
    let machine = match head[5] {
        2 => u16::from_be_bytes(bytes),
        _ => u16::from_le_bytes(bytes),
    };
    Some(match machine {
        0x3e => "amd64".into(),
        0xb7 => "arm64".into(),
        0x03 => "386".into(),
        0x28 => "arm".into(),
        0xf3 => "riscv64".into(),
        0x15 => "ppc64le".into(),
        0x16 => "s390x".into(),
        other => format!("ELF machine {other:#x}"),
    })
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
            platform: built.platform,
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

#[cfg(test)]
mod tests {
    use super::elf_machine;

    #[test]
    fn an_elf_header_names_its_architecture_as_oci_does() {
        let header = |machine: u16| {
            let mut head = b"\x7fELF\x02\x01\x01".to_vec();
            head.resize(18, 0);
            head.extend(machine.to_le_bytes());
            head
        };
        assert_eq!(elf_machine(&header(0x3e)).as_deref(), Some("amd64"));
        assert_eq!(elf_machine(&header(0xb7)).as_deref(), Some("arm64"));
        assert_eq!(elf_machine(b"#!/bin/sh\nexec server\n"), None);
        let this = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let host = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        };
        assert_eq!(elf_machine(&this[..20]).as_deref(), Some(host));
    }
}

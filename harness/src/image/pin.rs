//! Pinning an image's `created` times. The Engine's BuildKit here stamps the build time into
//! the image config, and only BuildKit 0.11 and later honour `SOURCE_DATE_EPOCH`; so after a
//! build the config is rewritten to the last commit's time and loaded back.

use std::io::Read;

use sha2::{Digest, Sha256};

use crate::docker::Docker;
use crate::error::HarnessError;
use crate::image::provenance::rfc3339;

/// Rewrites the `created` times of an image's config (and of its history) to `epoch`, clears
/// the legacy builder's references to intermediate images, loads the result under the same
/// reference, and returns the new image ID.
///
/// The layers are untouched; only the config changes, and with it the ID, which is the hash
/// of the config. Run twice on the same image, it gives the same ID.
pub fn pin_created(docker: &Docker, reference: &str, epoch: i64) -> Result<String, HarnessError> {
    let fail = |problem: &dyn ToString| HarnessError::Archive {
        image: reference.to_owned(),
        problem: problem.to_string(),
    };
    let old_id = docker.image_id(reference)?;
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

//! Containers of the image: started through testcontainers, timed from start to the first 200
//! on `/ready`, reached over HTTP on a published port, stopped and restarted.

use std::time::{Duration, Instant};

use serde_json::Value;
use server::contract::lifecycle::EVENT;
use testcontainers::core::{AccessMode, ContainerPort, Mount, WaitFor};
use testcontainers::runners::SyncRunner;
use testcontainers::{Container, GenericImage, ImageExt};

use crate::client::Client;
use crate::error::HarnessError;
use crate::profile::Profile;

/// How to run a container.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// Environment variables for the server.
    pub env: Vec<(String, String)>,
    /// Files to place in the container before it starts: (path inside, bytes).
    pub files: Vec<(String, Vec<u8>)>,
    /// Host files mounted read-only: (host path, path inside). Works with `hardened`.
    pub mounts: Vec<(String, String)>,
    /// Run as the Kubernetes manifests do: read-only root filesystem, every capability
    /// dropped, no new privileges, the image's non-root user.
    pub hardened: bool,
    /// Arguments instead of the image's default (none).
    pub cmd: Option<Vec<String>>,
    /// How long the service may take to answer 200 on `/ready`.
    pub ready_within: Option<Duration>,
    /// Share the host's network and listen on this port, so that no userland proxy stands
    /// between client and server (as in a Kubernetes pod). For measurements.
    pub host_port: Option<u16>,
    /// What the image is and how it is run.
    pub profile: Profile,
}

impl Launch {
    /// How an image of `profile` runs, hardened as the manifests run it when the profile
    /// allows.
    pub fn of(profile: &Profile) -> Launch {
        Launch {
            hardened: profile.hardened,
            profile: profile.clone(),
            ..Launch::default()
        }
    }

    /// This project's image, as the manifests run it.
    pub fn hardened() -> Launch {
        Launch::of(&Profile::default())
    }

    /// Serve another artifact from a host file, mounted read-only as Kubernetes mounts a
    /// ConfigMap, and point the profile's model variable at it. `None` when the image takes
    /// no other artifact.
    pub fn with_mounted_artifact(mut self, host_path: &std::path::Path) -> Option<Launch> {
        let var = self.profile.model_path_env.clone()?;
        let name = host_path
            .file_name()
            .map_or_else(|| "model.json".into(), |n| n.to_string_lossy().into_owned());
        let path = format!("/models/{name}");
        self.env.push((var, path.clone()));
        self.mounts.push((host_path.display().to_string(), path));
        Some(self)
    }

    /// Serve another artifact: copy it in and point the profile's model variable at it.
    /// `None` when the image takes no other artifact.
    pub fn with_artifact(mut self, file_name: &str, bytes: Vec<u8>) -> Option<Launch> {
        let var = self.profile.model_path_env.clone()?;
        let path = format!("/models/{file_name}");
        self.env.push((var, path.clone()));
        self.files.push((path, bytes));
        Some(self)
    }

    fn port(&self) -> ContainerPort {
        ContainerPort::Tcp(self.profile.port)
    }
}

/// A running container of the image and the way to reach it.
#[derive(Debug)]
pub struct Running {
    pub container: Container<GenericImage>,
    pub client: Client,
    /// From asking Docker to start the container to the first 200 on `/ready`.
    pub cold_start: Duration,
}

/// Splits `name:tag`.
fn split_reference(reference: &str) -> (&str, &str) {
    reference.rsplit_once(':').unwrap_or((reference, "latest"))
}

fn request(reference: &str, launch: &Launch) -> testcontainers::ContainerRequest<GenericImage> {
    let (name, tag) = split_reference(reference);
    let mut request: testcontainers::ContainerRequest<GenericImage> = GenericImage::new(name, tag)
        .with_exposed_port(launch.port())
        .with_wait_for(WaitFor::Nothing)
        .into();
    if let Some((var, value)) = &launch.profile.json_logs_env {
        request = request.with_env_var(var, value);
    }
    for (key, value) in &launch.env {
        request = request.with_env_var(key, value);
    }
    for (path, bytes) in &launch.files {
        request = request.with_copy_to(path.as_str(), bytes.clone());
    }
    for (host, inside) in &launch.mounts {
        request = request
            .with_mount(Mount::bind_mount(host, inside).with_access_mode(AccessMode::ReadOnly));
    }
    if launch.hardened {
        request = request
            .with_readonly_rootfs(true)
            .with_cap_drop("ALL")
            .with_security_opt("no-new-privileges");
        if let Some(user) = &launch.profile.user {
            request = request.with_user(user);
        }
    }
    if let Some(cmd) = &launch.cmd {
        request = request.with_cmd(cmd);
    }
    if let Some(port) = launch.host_port {
        request = request.with_network("host");
        if let (Some(host), Some(port_var)) = (&launch.profile.host_env, &launch.profile.port_env) {
            request = request
                .with_env_var(host, "127.0.0.1")
                .with_env_var(port_var, port.to_string());
        }
    }
    request
}

/// Starts a container and waits for it to be ready.
pub fn start(reference: &str, launch: &Launch) -> Result<Running, HarnessError> {
    let fail = |source| HarnessError::Container {
        image: reference.to_owned(),
        source,
    };
    let started = Instant::now();
    let container = request(reference, launch).start().map_err(fail)?;
    let within = launch.ready_within.unwrap_or(Duration::from_secs(30));
    // A container that exits at once has no published port to ask: that, too, is not ready.
    let client = match launch.host_port {
        Some(port) => Ok(Client::new(format!("http://127.0.0.1:{port}"))),
        None => client_for(&container, launch.profile.port).map_err(|e| crate::error::chain(&e)),
    };
    let path = &launch.profile.ready_path;
    let ready = client.and_then(|client| {
        wait_ready_or_exit(&container, &client, path, started, within).map(|()| client)
    });
    let client = match ready {
        Ok(client) => client,
        Err(why) => {
            let text = |bytes: Result<Vec<u8>, _>| {
                bytes
                    .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
                    .unwrap_or_default()
            };
            return Err(HarnessError::NotReady {
                image: reference.to_owned(),
                why,
                exit_code: container.exit_code().ok().flatten(),
                stderr: text(container.stderr_to_vec()),
                stdout: text(container.stdout_to_vec()),
            });
        }
    };
    Ok(Running {
        container,
        client,
        cold_start: started.elapsed(),
    })
}

/// A client for the container's published `port` on the loopback address.
pub fn client_for(
    container: &Container<GenericImage>,
    port: u16,
) -> Result<Client, testcontainers::TestcontainersError> {
    let port = container.get_host_port_ipv4(ContainerPort::Tcp(port))?;
    Ok(Client::new(format!("http://127.0.0.1:{port}")))
}

/// The container's JSON log lines so far whose event is `event`.
pub fn events(container: &Container<GenericImage>, event: &str) -> Vec<Value> {
    let logs = container.stdout_to_vec().unwrap_or_default();
    String::from_utf8_lossy(&logs)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|value| value[EVENT] == event)
        .collect()
}

/// Like [`wait_ready`], but gives up at once when the container has exited.
fn wait_ready_or_exit(
    container: &Container<GenericImage>,
    client: &Client,
    path: &str,
    since: Instant,
    within: Duration,
) -> Result<(), String> {
    let mut last = String::from("no answer yet");
    while since.elapsed() < within {
        match wait_ready(client, path, Instant::now(), Duration::from_millis(100)) {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
        if let Ok(Some(_)) = container.exit_code() {
            return Err("the container exited".into());
        }
    }
    Err(format!("not ready within {within:?}: {last}"))
}

/// Polls the readiness `path` until it answers 200, or `within` has passed since `since`.
pub fn wait_ready(
    client: &Client,
    path: &str,
    since: Instant,
    within: Duration,
) -> Result<(), String> {
    let mut last = String::from("no answer yet");
    while since.elapsed() < within {
        match client.get(path) {
            Ok(answer) if answer.status == 200 => return Ok(()),
            Ok(answer) => last = format!("{path} answered {}", answer.status),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Err(format!("not ready within {within:?}: {last}"))
}

/// The baseline for cold start: the same image started with the profile's bare command
/// (`--version` here), which exits at once. Returns the time from asking Docker to start it
/// until it has exited; `None` when the profile has no such command.
pub fn bare_start(reference: &str, profile: &Profile) -> Result<Option<Duration>, HarnessError> {
    let fail = |source| HarnessError::Container {
        image: reference.to_owned(),
        source,
    };
    let Some(cmd) = profile.bare_command.clone() else {
        return Ok(None);
    };
    let launch = Launch {
        cmd: Some(cmd),
        profile: profile.clone(),
        ..Launch::default()
    };
    let started = Instant::now();
    let container = request(reference, &launch).start().map_err(fail)?;
    loop {
        if container.exit_code().map_err(fail)?.is_some() {
            return Ok(Some(started.elapsed()));
        }
        if started.elapsed() > Duration::from_secs(30) {
            return Err(HarnessError::NotReady {
                image: reference.to_owned(),
                why: "the bare command did not exit within 30 s".into(),
                exit_code: None,
                stderr: String::new(),
                stdout: String::new(),
            });
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

//! The action (`action.yml`) as a runner runs it: each `run:` step with bash, its `env:` filled
//! in as a runner fills in `${{ inputs.* }}` and `${{ github.* }}`, with `RUNNER_TEMP`,
//! `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY` and `GITHUB_PATH`, against a release served on
//! 127.0.0.1. No cargo is on `PATH`: a stand-in records any call instead of building.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use harness::fixtures::repository_root;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The release tag the fake release serves.
const TAG: &str = "v9.9.9";

fn asset() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "harness-linux-arm64",
        _ => "harness-linux-x64",
    }
}

fn action() -> Value {
    let text = std::fs::read_to_string(repository_root().join("action.yml")).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

/// A release server: `/owner/name/releases/download/TAG/ASSET` answers `bytes`.
fn release(bytes: Vec<u8>) -> String {
    let path = format!(
        "/ml-inference-app/ml-inference-app/releases/download/{TAG}/{}",
        asset()
    );
    let server = rouille::Server::new("127.0.0.1:0", move |request| {
        if request.url() == path {
            rouille::Response::from_data("application/octet-stream", bytes.clone())
        } else {
            rouille::Response::empty_404()
        }
    })
    .unwrap();
    let url = format!("http://{}", server.server_addr());
    let _ = server.stoppable();
    url
}

/// One runner: its temp directory, files and `PATH`.
struct Runner {
    dir: tempfile::TempDir,
    /// The action's checkout: its install script and a recorded SHA-256.
    action_path: PathBuf,
    tools: PathBuf,
    inputs: BTreeMap<String, String>,
}

/// What a step did.
struct Step {
    status: i32,
    stdout: String,
}

impl Runner {
    /// A runner whose action checkout records `sha256` for the release's asset, with bash's
    /// usual tools on `PATH`, and stand-ins for cargo and rustup that only record their calls.
    fn new(sha256: &str, releases: &str) -> Runner {
        let dir = tempfile::tempdir().unwrap();
        let action_path = dir.path().join("action");
        let scripts = action_path.join(".github/action");
        std::fs::create_dir_all(&scripts).unwrap();
        std::fs::copy(
            repository_root().join(".github/action/install.sh"),
            scripts.join("install.sh"),
        )
        .unwrap();
        std::fs::write(
            scripts.join("harness.sha256"),
            format!("{sha256}  {TAG}/{}\n", asset()),
        )
        .unwrap();
        let tools = dir.path().join("tools");
        std::fs::create_dir_all(&tools).unwrap();
        for tool in [
            "bash",
            "curl",
            "sha256sum",
            "awk",
            "cut",
            "mkdir",
            "chmod",
            "mv",
            "rm",
            "uname",
            "cat",
            "dirname",
        ] {
            let found = std::env::split_paths(&std::env::var_os("PATH").unwrap())
                .map(|dir| dir.join(tool))
                .find(|p| p.is_file())
                .unwrap_or_else(|| panic!("{tool} is not installed"));
            std::os::unix::fs::symlink(found, tools.join(tool)).unwrap();
        }
        let calls = dir.path().join("calls");
        for stand_in in ["cargo", "rustup"] {
            let script = format!(
                "#!/bin/bash\necho \"{stand_in} $*\" >> '{}'\n",
                calls.display()
            );
            let path = tools.join(stand_in);
            std::fs::write(&path, script).unwrap();
            std::process::Command::new("chmod")
                .arg("+x")
                .arg(&path)
                .status()
                .unwrap();
        }
        let defaults: BTreeMap<String, String> = action()["inputs"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v["default"].as_str().unwrap_or("").to_owned()))
            .collect();
        let mut runner = Runner {
            dir,
            action_path,
            tools,
            inputs: defaults,
        };
        runner.input("releases-url", releases);
        runner
    }

    fn input(&mut self, name: &str, value: &str) -> &mut Runner {
        self.inputs.insert(name.into(), value.into());
        self
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.file(name)).unwrap_or_default()
    }

    /// A `${{ … }}` expression as a runner evaluates those the action uses.
    fn evaluate(&self, expression: &str) -> String {
        let expression = expression.trim();
        if let Some(name) = expression.strip_prefix("inputs.") {
            return self.inputs.get(name).cloned().unwrap_or_default();
        }
        match expression {
            "github.action_path" => self.action_path.display().to_string(),
            "github.action_ref" => TAG.into(),
            "github.action_repository" => "ml-inference-app/ml-inference-app".into(),
            other => panic!("an expression the test runner does not know: {other}"),
        }
    }

    fn fill(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").unwrap() + start;
            out.push_str(&self.evaluate(&rest[start + 3..end]));
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// Runs the action's step named `name` (a `run:` step) as a runner would.
    fn step(&self, name: &str) -> Step {
        let action = action();
        let step = action["runs"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"].as_str().is_some_and(|n| n.starts_with(name)))
            .unwrap_or_else(|| panic!("no step {name}"));
        let script = self.fill(step["run"].as_str().unwrap());
        // Directories earlier steps added through GITHUB_PATH come first, as on a runner.
        let mut path: Vec<PathBuf> = self
            .read("github_path")
            .lines()
            .rev()
            .map(PathBuf::from)
            .collect();
        path.push(self.tools.clone());
        let mut command = Command::new(self.tools.join("bash"));
        command
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &script])
            .current_dir(repository_root())
            .env_clear()
            .env("PATH", std::env::join_paths(path).unwrap())
            .env("HOME", self.dir.path())
            .env("RUNNER_TEMP", self.file("runner_temp"))
            .env("GITHUB_OUTPUT", self.file("github_output"))
            .env("GITHUB_STEP_SUMMARY", self.file("github_step_summary"))
            .env("GITHUB_PATH", self.file("github_path"));
        if let Some(host) = std::env::var_os("DOCKER_HOST") {
            command.env("DOCKER_HOST", host);
        }
        for (key, value) in step["env"].as_object().into_iter().flatten() {
            command.env(key, self.fill(value.as_str().unwrap_or_default()));
        }
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        Step {
            status: output.status.code().unwrap_or(-1),
            stdout,
        }
    }
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn harness_binary() -> Vec<u8> {
    std::fs::read(env!("CARGO_BIN_EXE_harness")).unwrap()
}

#[test]
fn a_recorded_release_installs_without_cargo_and_a_tampered_one_is_refused_in_one_line() {
    let good = harness_binary();
    let runner = Runner::new(&sha256(&good), &release(good.clone()));
    let step = runner.step("Install the harness");
    assert_eq!(step.status, 0, "{}", step.stdout);
    assert!(
        step.stdout.contains("installed from the release"),
        "{}",
        step.stdout
    );
    assert_eq!(runner.read("calls"), "", "cargo or rustup ran");
    let installed = runner.file("runner_temp/harness/bin/harness");
    assert_eq!(std::fs::read(&installed).unwrap(), good);
    assert!(
        runner
            .read("github_path")
            .contains("runner_temp/harness/bin")
    );

    let mut tampered = good.clone();
    tampered[1000] ^= 1;
    let runner = Runner::new(&sha256(&good), &release(tampered));
    let step = runner.step("Install the harness");
    assert_ne!(step.status, 0);
    let lines: Vec<&str> = step.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{}", step.stdout);
    assert!(lines[0].starts_with("::error::") && lines[0].contains("refused"));
    assert!(!runner.file("runner_temp/harness/bin/harness").exists());
}

#[test]
fn a_ref_with_no_recorded_release_builds_from_the_checkout() {
    let runner = Runner::new(&"0".repeat(64), "http://127.0.0.1:9");
    std::fs::write(
        runner.action_path.join(".github/action/harness.sha256"),
        "# no release recorded\n",
    )
    .unwrap();
    let step = runner.step("Install the harness");
    assert_eq!(step.status, 0, "{}", step.stdout);
    assert!(
        step.stdout
            .contains("building it from the action's checkout")
    );
    let calls = runner.read("calls");
    let root = runner.file("runner_temp/harness");
    assert!(
        calls.contains(&format!(
            "cargo install --locked --path {}/harness --root {}",
            runner.action_path.display(),
            root.display()
        )),
        "{calls}"
    );
}

/// The installed binary runs the action's `check` on a local image and its `diff`, writing
/// the outputs and the job summary a workflow reads.
#[test]
fn check_and_diff_run_through_the_action_with_its_outputs_and_summary() {
    if std::env::var_os(harness::SKIP_ENV).is_some_and(|v| !v.is_empty() && v != "0") {
        return;
    }
    let good = harness_binary();
    let mut runner = Runner::new(&sha256(&good), &release(good));
    assert_eq!(runner.step("Install the harness").status, 0);
    let docker = harness::docker::Docker::connect().unwrap();
    let root = repository_root();
    let built = harness::image::build(&docker, &root, &Default::default()).unwrap();

    runner
        .input("command", "check")
        .input("image", &built.reference)
        .input("artifact", "fixtures/models/wine-quality.json");
    let step = runner.step("Run the harness");
    assert_eq!(step.status, 0, "{}", step.stdout);
    let report = runner.file("runner_temp/harness-reports/check.json");
    assert!(
        runner
            .read("github_output")
            .contains(&format!("report={}", report.display()))
    );
    let json: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert!(json["checks"].as_array().is_some_and(|c| c.len() > 10));
    assert!(report.with_extension("intoto.json").is_file());
    assert!(runner.read("github_step_summary").contains("harness check"));

    runner
        .input("command", "diff")
        .input("from", "fixtures/models/wine-quality.json")
        .input("to", "fixtures/models/wine-quality-sklearn.json");
    let step = runner.step("Run the harness");
    // Two fits of one data set: labels change, so the diff fails at its defaults.
    assert_eq!(step.status, 1, "{}", step.stdout);
    let summary = runner.read("github_step_summary");
    assert!(summary.contains("### harness diff"), "{summary}");
    assert!(summary.contains("(diff.svg)"), "{summary}");
    assert!(
        runner
            .file("runner_temp/harness-reports/diff.svg")
            .is_file()
    );
}

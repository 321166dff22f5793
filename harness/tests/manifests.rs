//! The deployment manifests agree with the image and with the server's configuration: port,
//! user, probes, environment and shutdown timing. Offline: no cluster is needed.

use std::path::Path;

use serde_json::Value;
use server::contract::Config;
use server::contract::env::VARIABLES;
use server::contract::lifecycle::DRAIN_GRACE;
use server::contract::routes::ROUTES;

use crate::util::fixtures;

fn root() -> std::path::PathBuf {
    harness::fixtures::repository_root()
}

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// What the Dockerfile's runtime stage declares: (USER, EXPOSE, default VERSION).
fn dockerfile() -> (String, u64, String) {
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let value = |prefix: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("the Dockerfile has no {prefix:?} line"))
            .trim()
            .to_owned()
    };
    (
        value("USER "),
        value("EXPOSE ").parse().unwrap(),
        value("ARG VERSION="),
    )
}

fn env_of(container: &Value) -> Vec<(String, String)> {
    container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Checks one container spec (and its pod's security context) against the image and server.
fn check_container(file: &str, pod: &Value, container: &Value) {
    let (user, port, version) = dockerfile();
    assert_eq!(
        container["image"],
        format!("ml-inference-app:{version}"),
        "{file}: image"
    );

    let container_port = container["ports"][0]["containerPort"].as_u64().unwrap();
    assert_eq!(container_port, port, "{file}: containerPort vs EXPOSE");
    let env = env_of(container);
    for (name, _) in &env {
        assert!(
            VARIABLES.contains(&name.as_str()),
            "{file}: the server does not read {name}"
        );
    }
    let config =
        Config::from_vars(|name| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(
        u64::from(config.port),
        container_port,
        "{file}: PORT vs containerPort"
    );

    let uid_gid = format!(
        "{}:{}",
        pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]
    );
    assert_eq!(
        uid_gid, user,
        "{file}: runAsUser:runAsGroup vs the image's USER"
    );
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{file}");
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
        "{file}"
    );
    let security = &container["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true, "{file}");
    assert_eq!(security["allowPrivilegeEscalation"], false, "{file}");
    assert_eq!(
        security["capabilities"]["drop"],
        serde_json::json!(["ALL"]),
        "{file}"
    );

    for probe in ["readinessProbe", "livenessProbe"] {
        let get = &container[probe]["httpGet"];
        let path = get["path"].as_str().unwrap();
        assert!(
            ROUTES
                .iter()
                .any(|r| r.method == "GET" && r.template == path),
            "{file}: {probe} path {path} is not served"
        );
        let port_ok = get["port"].as_u64() == Some(container_port)
            || get["port"] == container["ports"][0]["name"];
        assert!(port_ok, "{file}: {probe} port {}", get["port"]);
    }
    let ready = container["readinessProbe"]["httpGet"]["path"]
        .as_str()
        .unwrap();
    assert!(
        ready.ends_with("/ready"),
        "{file}: readiness must ask a readiness route"
    );

    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    let pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        grace > DRAIN_GRACE.as_secs() + pre_stop,
        "{file}: terminationGracePeriodSeconds {grace} leaves no room for preStop {pre_stop} s and the server's {DRAIN_GRACE:?} drain"
    );
}

#[test]
fn the_deployment_runs_the_image_as_it_is_built() {
    let file = "deploy/kubernetes/deployment.yaml";
    let deployment = yaml(file);
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    check_container(file, pod, container);
    let mount = &container["volumeMounts"][0];
    assert_eq!(
        (mount["mountPath"].as_str(), mount["readOnly"].as_bool()),
        (Some("/models"), Some(true))
    );
    assert_eq!(
        pod["volumes"][0]["configMap"]["optional"], true,
        "the model ConfigMap must stay optional"
    );
}

#[test]
fn the_service_autoscaler_and_budget_select_the_deployment() {
    let deployment = yaml("deploy/kubernetes/deployment.yaml");
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    assert_eq!(&deployment["spec"]["selector"]["matchLabels"], labels);

    let service = yaml("deploy/kubernetes/service.yaml");
    assert_eq!(&service["spec"]["selector"], labels);
    let port_name = &deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["name"];
    assert_eq!(&service["spec"]["ports"][0]["targetPort"], port_name);

    let hpa = yaml("deploy/kubernetes/hpa.yaml");
    assert_eq!(
        hpa["spec"]["scaleTargetRef"]["name"],
        deployment["metadata"]["name"]
    );
    assert_eq!(hpa["spec"]["scaleTargetRef"]["kind"], "Deployment");
    let pdb = yaml("deploy/kubernetes/pdb.yaml");
    assert_eq!(&pdb["spec"]["selector"]["matchLabels"], labels);
    let min_available = pdb["spec"]["minAvailable"].as_u64().unwrap();
    assert!(
        min_available < hpa["spec"]["minReplicas"].as_u64().unwrap(),
        "the budget must allow a drain"
    );

    let kustomization = yaml("deploy/kubernetes/kustomization.yaml");
    let listed: Vec<&str> = kustomization["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for file in ["deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml"] {
        assert!(
            listed.contains(&file),
            "kustomization.yaml does not list {file}"
        );
        assert!(Path::new(&root().join("deploy/kubernetes").join(file)).exists());
    }
}

#[test]
fn the_kserve_predictor_runs_the_same_container() {
    let file = "deploy/kserve/inferenceservice.yaml";
    let service = yaml(file);
    let predictor = &service["spec"]["predictor"];
    let container = &predictor["containers"][0];
    assert_eq!(container["name"], "kserve-container");
    check_container(file, predictor, container);
    // KServe routes V2 requests by model name: the served model must carry the service's name.
    let served = &fixtures().default_model().unwrap().oracle;
    assert_eq!(service["metadata"]["name"], served.name());
}

/// A plain `docker build .` labels the image with the model it bakes in: the Dockerfile's
/// defaults are the default artifact's name, version and SHA-256.
#[test]
fn the_dockerfiles_model_defaults_describe_the_default_artifact() {
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let arg = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("ARG {name}=")))
            .unwrap_or_else(|| panic!("the Dockerfile has no ARG {name}="))
            .to_owned()
    };
    let default = fixtures().default_model().unwrap();
    assert_eq!(
        root().join(arg("MODEL")),
        default.path,
        "ARG MODEL is not the default artifact"
    );
    assert_eq!(arg("MODEL_NAME"), default.oracle.name());
    assert_eq!(arg("MODEL_VERSION"), default.oracle.version());
    assert_eq!(arg("MODEL_SHA256"), default.oracle.sha256());
}

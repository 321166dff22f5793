//! The route table: every method and path the service answers, written once.
//!
//! Method, path template, API family and endpoint all follow from [`ROUTES`]; resolution
//! matches a path against the templates, so an unknown path is a 404 and a known path with the
//! wrong method is a 405 naming the allowed one. The OpenAPI document is tested against it.

/// Which API a route belongs to: the Open Inference Protocol answers every invalid request with
/// 400, where the seed API distinguishes 413, 415 and 422.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Seed,
    V2,
    /// KServe's V1 protocol: like V2, an invalid request is 400.
    V1,
}

/// What a route does. The versioned and unversioned V2 model routes share an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Health,
    Ready,
    Model,
    Predict,
    Metrics,
    OpenApi,
    V2Server,
    V2Live,
    V2Ready,
    V2Model,
    V2ModelReady,
    V2Infer,
    V1Models,
    V1Model,
    V1Predict,
}

impl Endpoint {
    /// Liveness stays up while the service drains; everything else is refused.
    pub fn is_liveness(self) -> bool {
        matches!(self, Endpoint::Health | Endpoint::V2Live)
    }
}

/// One row of the route table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// The path with `{name}` and `{version}` placeholders; a bounded label for metrics.
    pub template: &'static str,
    pub endpoint: Endpoint,
}

impl Route {
    const fn new(method: &'static str, template: &'static str, endpoint: Endpoint) -> Route {
        Route {
            method,
            template,
            endpoint,
        }
    }

    /// The methods an `Allow` header lists for this route: a GET route answers HEAD too
    /// (RFC 9110 §9.3.2).
    pub fn allow(&self) -> &'static str {
        match self.method {
            "GET" => "GET, HEAD",
            method => method,
        }
    }

    /// Which API's error conventions apply.
    pub fn api(&self) -> Api {
        api_of(self.template)
    }

    /// The concrete path for a model `name` and `version`.
    pub fn path(&self, name: &str, version: &str) -> String {
        self.template
            .replace("{name}", name)
            .replace("{version}", version)
    }
}

/// Every route served.
pub const ROUTES: [Route; 18] = [
    Route::new("GET", "/health", Endpoint::Health),
    Route::new("GET", "/ready", Endpoint::Ready),
    Route::new("GET", "/model", Endpoint::Model),
    Route::new("POST", "/predict", Endpoint::Predict),
    Route::new("GET", "/metrics", Endpoint::Metrics),
    Route::new("GET", "/openapi.json", Endpoint::OpenApi),
    Route::new("GET", "/v2", Endpoint::V2Server),
    Route::new("GET", "/v2/health/live", Endpoint::V2Live),
    Route::new("GET", "/v2/health/ready", Endpoint::V2Ready),
    Route::new("GET", "/v2/models/{name}", Endpoint::V2Model),
    Route::new("GET", "/v2/models/{name}/ready", Endpoint::V2ModelReady),
    Route::new("POST", "/v2/models/{name}/infer", Endpoint::V2Infer),
    Route::new(
        "GET",
        "/v2/models/{name}/versions/{version}",
        Endpoint::V2Model,
    ),
    Route::new(
        "GET",
        "/v2/models/{name}/versions/{version}/ready",
        Endpoint::V2ModelReady,
    ),
    Route::new(
        "POST",
        "/v2/models/{name}/versions/{version}/infer",
        Endpoint::V2Infer,
    ),
    Route::new("GET", "/v1/models", Endpoint::V1Models),
    Route::new("GET", "/v1/models/{name}", Endpoint::V1Model),
    Route::new("POST", "/v1/models/{name}:predict", Endpoint::V1Predict),
];

/// The route whose template is `template`, for clients building paths.
pub fn route(template: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.template == template)
}

/// The seed prediction route.
pub const PREDICT: &str = "/predict";
/// The V2 inference route, unversioned.
pub const V2_INFER: &str = "/v2/models/{name}/infer";

/// The KServe V1 prediction route.
pub const V1_PREDICT: &str = "/v1/models/{name}:predict";

/// A model named in a V1 or V2 path; `version` is absent on the unversioned routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPath {
    pub name: String,
    pub version: Option<String>,
}

/// A request matched against the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub route: &'static Route,
    /// The model a V2 model route names.
    pub model: Option<ModelPath>,
}

/// Why a request matched no route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unrouted {
    /// No template has this path (404).
    NotFound,
    /// The path exists for another method (405).
    MethodNotAllowed { allow: &'static str },
}

/// The API a path belongs to, also for paths that match no route.
pub fn api_of(path: &str) -> Api {
    if path == "/v2" || path.starts_with("/v2/") {
        Api::V2
    } else if path == "/v1" || path.starts_with("/v1/") {
        Api::V1
    } else {
        Api::Seed
    }
}

/// Resolves `method` and `path` (without query string) against [`ROUTES`].
pub fn resolve(method: &str, path: &str) -> Result<Matched, Unrouted> {
    let mut allow = None;
    for route in &ROUTES {
        let Some(model) = match_template(route.template, path) else {
            continue;
        };
        if route.method == method || (method == "HEAD" && route.method == "GET") {
            return Ok(Matched { route, model });
        }
        allow.get_or_insert(route.allow());
    }
    Err(
        allow.map_or(Unrouted::NotFound, |allow| Unrouted::MethodNotAllowed {
            allow,
        }),
    )
}

/// Matches `path` segment by segment; `Some` carries the model a V1 or V2 path names, if any.
/// Placeholders match any non-empty segment; `{name}:verb` a segment ending in `:verb` after
/// a non-empty name, as KServe V1 writes its verbs.
fn match_template(template: &str, path: &str) -> Option<Option<ModelPath>> {
    let mut want = template.split('/');
    let mut have = path.split('/');
    let (mut name, mut version) = (None, None);
    loop {
        match (want.next(), have.next()) {
            (None, None) => break,
            // A name has no ':', which separates a V1 verb from it.
            (Some("{name}"), Some(s)) if !s.is_empty() && !s.contains(':') => {
                name = Some(s.to_owned())
            }
            (Some("{version}"), Some(s)) if !s.is_empty() => version = Some(s.to_owned()),
            (Some(w), Some(s)) if w.starts_with("{name}:") => {
                let verb = &w["{name}".len()..];
                match s.strip_suffix(verb) {
                    Some(model) if !model.is_empty() => name = Some(model.to_owned()),
                    _ => return None,
                }
            }
            (Some(w), Some(h)) if w == h => {}
            _ => return None,
        }
    }
    Some(name.map(|name| ModelPath { name, version }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_route_resolves_to_itself() {
        for route in &ROUTES {
            let matched = resolve(route.method, &route.path("iris", "1.0.0")).unwrap();
            assert_eq!(matched.route, route);
            let versioned = route.template.contains("{version}");
            assert_eq!(
                matched.model.map(|m| m.version.is_some()),
                route.template.contains("{name}").then_some(versioned),
                "{}",
                route.template
            );
        }
    }

    #[test]
    fn a_v1_verb_follows_the_model_name_in_its_segment() {
        let matched = resolve("POST", "/v1/models/iris:predict").unwrap();
        assert_eq!(matched.route.endpoint, Endpoint::V1Predict);
        assert_eq!(matched.model.unwrap().name, "iris");
        assert_eq!(
            resolve("POST", "/v1/models/:predict"),
            Err(Unrouted::NotFound)
        );
        assert_eq!(
            resolve("POST", "/v1/models/iris:explain"),
            Err(Unrouted::NotFound)
        );
        // The verb's route, not the model's, names what OPTIONS may use.
        assert_eq!(
            resolve("OPTIONS", "/v1/models/iris:predict"),
            Err(Unrouted::MethodNotAllowed { allow: "POST" })
        );
        assert_eq!(
            resolve("GET", "/v1/models/iris").unwrap().route.endpoint,
            Endpoint::V1Model
        );
        assert_eq!(api_of("/v1/models/iris:predict"), Api::V1);
    }

    #[test]
    fn the_wrong_method_is_405_naming_the_right_one() {
        assert_eq!(
            resolve("GET", "/predict"),
            Err(Unrouted::MethodNotAllowed { allow: "POST" })
        );
        assert_eq!(
            resolve("DELETE", "/v2/models/iris"),
            Err(Unrouted::MethodNotAllowed { allow: "GET, HEAD" })
        );
        assert_eq!(
            resolve("HEAD", "/predict"),
            Err(Unrouted::MethodNotAllowed { allow: "POST" })
        );
    }

    #[test]
    fn head_is_answered_on_every_get_route() {
        for route in ROUTES.iter().filter(|r| r.method == "GET") {
            let path = route.path("iris", "1");
            let matched = resolve("HEAD", &path).map(|m| m.route);
            assert_eq!(matched, Ok(route), "{path}");
        }
    }

    #[test]
    fn unknown_paths_are_404() {
        for path in [
            "/",
            "",
            "/predict/",
            "/v2/models",
            "/v2/models//infer",
            "/v2/models/iris/versions//ready",
            "/v3",
            "/health/x",
            "health",
        ] {
            assert_eq!(resolve("GET", path), Err(Unrouted::NotFound), "{path:?}");
        }
    }

    #[test]
    fn model_paths_carry_name_and_version() {
        let matched = resolve("POST", "/v2/models/iris/versions/2/infer").unwrap();
        assert_eq!(matched.route.endpoint, Endpoint::V2Infer);
        assert_eq!(
            matched.model,
            Some(ModelPath {
                name: "iris".into(),
                version: Some("2".into())
            })
        );
    }

    #[test]
    fn the_api_family_follows_the_path() {
        assert_eq!(api_of("/v2"), Api::V2);
        assert_eq!(api_of("/v2/anything"), Api::V2);
        assert_eq!(api_of("/v2x"), Api::Seed);
        assert_eq!(route(PREDICT).map(Route::api), Some(Api::Seed));
        assert_eq!(route(V2_INFER).map(Route::api), Some(Api::V2));
    }
}

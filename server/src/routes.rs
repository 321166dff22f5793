//! The route table: which method and path reach which handler.
//!
//! Resolution is a plain match on path segments, so an unknown path is a 404 and a known path
//! with the wrong method is a 405 naming the allowed one. [`ROUTES`] lists every route once; the
//! OpenAPI document is tested against it.

use crate::error::{Api, ApiError};

/// Every route served, as `(method, path template)`.
pub const ROUTES: [(&str, &str); 15] = [
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/model"),
    ("POST", "/predict"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/v2"),
    ("GET", "/v2/health/live"),
    ("GET", "/v2/health/ready"),
    ("GET", "/v2/models/{name}"),
    ("GET", "/v2/models/{name}/ready"),
    ("POST", "/v2/models/{name}/infer"),
    ("GET", "/v2/models/{name}/versions/{version}"),
    ("GET", "/v2/models/{name}/versions/{version}/ready"),
    ("POST", "/v2/models/{name}/versions/{version}/infer"),
];

/// A model named in a V2 path; `version` is absent on the unversioned routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPath {
    pub name: String,
    pub version: Option<String>,
}

/// A resolved route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Health,
    Ready,
    Model,
    Predict,
    Metrics,
    OpenApi,
    V2Server,
    V2Live,
    V2Ready,
    V2Model(ModelPath),
    V2ModelReady(ModelPath),
    V2Infer(ModelPath),
}

impl Route {
    /// The path template, a bounded label for metrics.
    pub fn template(&self) -> &'static str {
        let versioned = |m: &ModelPath| m.version.is_some();
        match self {
            Route::Health => "/health",
            Route::Ready => "/ready",
            Route::Model => "/model",
            Route::Predict => "/predict",
            Route::Metrics => "/metrics",
            Route::OpenApi => "/openapi.json",
            Route::V2Server => "/v2",
            Route::V2Live => "/v2/health/live",
            Route::V2Ready => "/v2/health/ready",
            Route::V2Model(m) if versioned(m) => "/v2/models/{name}/versions/{version}",
            Route::V2Model(_) => "/v2/models/{name}",
            Route::V2ModelReady(m) if versioned(m) => "/v2/models/{name}/versions/{version}/ready",
            Route::V2ModelReady(_) => "/v2/models/{name}/ready",
            Route::V2Infer(m) if versioned(m) => "/v2/models/{name}/versions/{version}/infer",
            Route::V2Infer(_) => "/v2/models/{name}/infer",
        }
    }

    /// Which API's error conventions apply.
    pub fn api(&self) -> Api {
        api_of(self.template())
    }
}

/// The API a path belongs to, for errors raised before a route is known.
pub fn api_of(path: &str) -> Api {
    if path == "/v2" || path.starts_with("/v2/") {
        Api::V2
    } else {
        Api::Seed
    }
}

/// Resolves `method` and `path` (without query string).
pub fn resolve(method: &str, path: &str) -> Result<Route, ApiError> {
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    let model = |name: &str, version: Option<&str>| ModelPath {
        name: name.to_owned(),
        version: version.map(str::to_owned),
    };
    let (allowed, route) = match segments.as_slice() {
        ["health"] => ("GET", Route::Health),
        ["ready"] => ("GET", Route::Ready),
        ["model"] => ("GET", Route::Model),
        ["predict"] => ("POST", Route::Predict),
        ["metrics"] => ("GET", Route::Metrics),
        ["openapi.json"] => ("GET", Route::OpenApi),
        ["v2"] => ("GET", Route::V2Server),
        ["v2", "health", "live"] => ("GET", Route::V2Live),
        ["v2", "health", "ready"] => ("GET", Route::V2Ready),
        ["v2", "models", name] if !name.is_empty() => ("GET", Route::V2Model(model(name, None))),
        ["v2", "models", name, "versions", v] if !name.is_empty() && !v.is_empty() => {
            ("GET", Route::V2Model(model(name, Some(v))))
        }
        ["v2", "models", name, "ready"] if !name.is_empty() => {
            ("GET", Route::V2ModelReady(model(name, None)))
        }
        ["v2", "models", name, "versions", v, "ready"] if !name.is_empty() && !v.is_empty() => {
            ("GET", Route::V2ModelReady(model(name, Some(v))))
        }
        ["v2", "models", name, "infer"] if !name.is_empty() => {
            ("POST", Route::V2Infer(model(name, None)))
        }
        ["v2", "models", name, "versions", v, "infer"] if !name.is_empty() && !v.is_empty() => {
            ("POST", Route::V2Infer(model(name, Some(v))))
        }
        _ => return Err(ApiError::NotFound(format!("no route for {path}"))),
    };
    if method == allowed {
        Ok(route)
    } else {
        Err(ApiError::MethodNotAllowed { allow: allowed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A path for a template, with sample parameters.
    fn sample(template: &str) -> String {
        template
            .replace("{name}", "iris")
            .replace("{version}", "1.0.0")
    }

    #[test]
    fn every_listed_route_resolves_to_its_own_template() {
        for (method, template) in ROUTES {
            let route = resolve(method, &sample(template)).unwrap();
            assert_eq!(route.template(), template);
        }
    }

    #[test]
    fn the_wrong_method_is_405_naming_the_right_one() {
        assert_eq!(
            resolve("GET", "/predict"),
            Err(ApiError::MethodNotAllowed { allow: "POST" })
        );
        assert_eq!(
            resolve("DELETE", "/v2/models/iris"),
            Err(ApiError::MethodNotAllowed { allow: "GET" })
        );
    }

    #[test]
    fn unknown_paths_are_404() {
        for path in [
            "/",
            "/predict/",
            "/v2/models",
            "/v2/models//infer",
            "/v3",
            "/health/x",
        ] {
            assert!(
                matches!(resolve("GET", path), Err(ApiError::NotFound(_))),
                "{path}"
            );
        }
    }

    #[test]
    fn model_paths_carry_name_and_version() {
        assert_eq!(
            resolve("POST", "/v2/models/iris/versions/2/infer"),
            Ok(Route::V2Infer(ModelPath {
                name: "iris".into(),
                version: Some("2".into())
            }))
        );
    }
}

//! The contract: everything a client, the harness or a deployment may rely on. Anything else in
//! this crate may change without notice; this module changes only with the documentation.
//!
//! # Layout
//! - [`routes`]: every method and path, its API family and endpoint; resolution.
//! - [`errors`]: every refusal, its message and its status on each API.
//! - [`limits`]: the request limits and their defaults, announced by `GET /model`.
//! - [`env`]: the environment variables a deployment may set, validated into a `Config`.
//! - [`lifecycle`]: the drain grace, and the log events and metric that show start and stop.
//! - [`v2`]: the Open Inference Protocol tensor names.
//! - [`openapi`]: the OpenAPI document.
//! - [`fixtures`]: the formats of the golden cases and the bad inputs.
//! - [`answer`]: how a client reads an answer off a socket (always `Content-Length` framed).

pub mod answer;
pub mod env;
pub mod errors;
pub mod fixtures;
pub mod lifecycle;
pub mod limits;
pub mod openapi;
pub mod routes;
pub mod v2;

pub use env::{Config, ConfigError, LogFormat};
pub use errors::ApiError;
pub use limits::Limits;
pub use routes::{Api, Endpoint, ROUTES, Route};

//! Logistic-regression inference: the artifact format, the in-process model, training, the
//! contract the service keeps, and (with the `http` feature) the HTTP service itself.
//!
//! # Layout
//! - [`artifact`]: the versioned JSON document a model is saved as, and its checked loading.
//! - [`inputs`]: a model's inputs (numeric or categorical, possibly missing) and the column
//!   blocks that encode them (format 3).
//! - [`model`]: the in-process predictor, the oracle that every API answer must equal bit for bit;
//!   [`preprocessing`]: the per-feature scaling before it (train's and scikit-learn's).
//! - [`rows`]: a batch of feature rows, validated once at the edge.
//! - [`train`]: deterministic training from any CSV; [`import`]: a scikit-learn model from
//!   its JSON export.
//! - [`contract`]: what clients, the harness and deployments may rely on: routes, errors,
//!   limits, environment variables, lifecycle events, fixture formats, the OpenAPI document.
//! - [`api`]: wire types of the seed API and the Open Inference Protocol, decoded into rows.
//! - `http` (feature `http`): the service: listening, the request pipeline, handlers, metrics.
//!
//! The harness links this crate without the `http` feature: it may use the contract and the
//! oracle ([`Artifact`], [`Model`]), and nothing else reaches it.

pub mod api;
pub mod artifact;
pub mod contract;
#[cfg(feature = "http")]
pub mod http;
pub mod import;
pub mod inputs;
pub mod model;
pub mod preprocessing;
pub mod rows;
pub mod train;

pub use artifact::{Artifact, ArtifactError};
pub use model::{Kind, Model, PredictError, Prediction};
pub use rows::{InputError, Rows};

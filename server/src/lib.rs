//! Logistic-regression inference: the artifact format, the in-process model, training, and the
//! HTTP service that serves it.
//!
//! # Layout
//! - [`artifact`]: the versioned JSON document a model is saved as, and its checked loading.
//! - [`model`]: the in-process predictor, the oracle that every API answer must equal bit for bit.
//! - [`rows`]: a batch of feature rows, validated once at the edge.
//! - [`train`]: deterministic training of the reference models from the committed CSVs.
//! - [`fixtures`]: the formats of the golden cases and bad inputs, shared by the tests and the harness.
//! - [`config`]: settings from the environment.
//! - [`api`]: wire types of the seed API and the Open Inference Protocol.
//! - [`routes`]: the route table; [`handlers`]: one function per route;
//!   [`error`]: failures to statuses and bodies; [`app`]: state and the request pipeline.
//! - [`service`]: listening, serving and draining; [`metrics`], [`log`]: observability.
//! - [`healthcheck`]: the probe behind the image's `HEALTHCHECK`.

pub mod api;
pub mod app;
pub mod artifact;
pub mod config;
pub mod error;
pub mod fixtures;
pub mod handlers;
pub mod healthcheck;
pub mod log;
pub mod metrics;
pub mod model;
pub mod routes;
pub mod rows;
pub mod service;
pub mod train;

pub use app::{App, Limits};
pub use artifact::{Artifact, ArtifactError};
pub use config::Config;
pub use model::{Kind, Model, PredictError, Prediction};
pub use rows::{InputError, Rows};
pub use service::Service;

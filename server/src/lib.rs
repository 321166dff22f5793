//! Logistic-regression inference: the artifact format, the in-process model, training, and
//! (in later modules) the HTTP service that serves it.
//!
//! # Layout
//! - [`artifact`]: the versioned JSON document a model is saved as, and its checked loading.
//! - [`model`]: the in-process predictor, the oracle that every API answer must equal bit for bit.
//! - [`rows`]: a batch of feature rows, validated once at the edge.
//! - [`golden`]: the golden-case fixture format, shared by the tests and the harness.
//! - [`train`]: deterministic training of the reference models from the committed CSVs.

pub mod artifact;
pub mod golden;
pub mod model;
pub mod rows;
pub mod train;

pub use artifact::{Artifact, ArtifactError};
pub use model::{Kind, Model, PredictError, Prediction};
pub use rows::{InputError, Rows};

//! Builds the service's image, runs it with testcontainers, and proves it: every endpoint, bad
//! input, cold start, image metadata, lifecycle, and predictions equal to the in-process model's
//! bit for bit. The test suite and the CLI are two thin callers of the same checks.
//!
//! The harness reaches a container over HTTP only. It links the `server` library solely as the
//! oracle: the in-process model and the fixture formats.
//!
//! # Layout
//! - [`profile`]: what the image checks assume about an image, this project's by default.
//! - [`image`]: the static binary, the Dockerfile build through testcontainers, pinned timestamps.
//! - [`container`]: starting containers, timing them to ready, stopping and restarting.
//! - [`client`]: HTTP to the service under test.
//! - [`checks`]: one module per concern, each returning a [`checks::Check`];
//!   [`bad_inputs`]: the bad-input catalogue, generated for any model.
//! - [`suite`]: every check against one target; [`report`]: table, JSON, job summary.
//! - [`bench`]: figures, not verdicts: cold start, throughput, latency, size, memory.
//! - [`docker`]: the Engine API for what testcontainers does not expose.
//! - [`fixtures`], [`golden`], [`stats`]: the references and their golden cases (generated for an
//!   artifact that has none); quantiles.

pub mod bad_inputs;
pub mod bench;
pub mod checks;
pub mod client;
pub mod container;
pub mod docker;
pub mod error;
pub mod fixtures;
pub mod golden;
pub mod image;
pub mod profile;
pub mod report;
pub mod stats;
pub mod suite;

pub use error::{HarnessError, SKIP_ENV};

//! The HTTP service, behind the `http` feature: a one-way stack from the socket down.
//!
//! # Layout
//! - [`service`]: binds, runs the worker pool, drains on shutdown; [`body`]: bodies read once
//!   under the limit.
//! - [`pipeline`]: admit, route, handle, map errors, count, log.
//! - [`handlers`]: one function per endpoint.
//! - [`state`]: the model, limits, metrics and shutdown flag every request may need.
//! - [`metrics`], [`log`]: observability; [`healthcheck`]: the probe behind `HEALTHCHECK`.
//!
//! Imports point one way: service → pipeline → handlers → state → metrics, with [`body`]
//! beneath the first three. Nothing calls back up.

pub mod body;
pub mod handlers;
pub mod healthcheck;
pub mod log;
pub mod metrics;
pub mod pipeline;
pub mod service;
pub mod state;

pub use service::{Service, StartError};
pub use state::State;

//! The HTTP service, behind the `http` feature: a one-way stack from the socket down.
//!
//! # Layout
//! - [`service`]: binds and drains; [`transport`]: connections on one event loop, the
//!   transport limits, a bounded worker pool; [`handoff`]: connections between the loop and
//!   the workers; [`body`]: bodies bounded under the limit.
//! - [`pipeline`]: admit, route, handle, map errors, count, log.
//! - [`handlers`]: one function per endpoint.
//! - [`state`]: the model, limits, metrics and shutdown flag every request may need.
//! - [`metrics`], [`log`]: observability; [`healthcheck`]: the probe behind `HEALTHCHECK`.
//!
//! Imports point one way: service → transport (→ handoff) → pipeline → handlers → state → metrics, with
//! [`body`] beneath them. Nothing calls back up.

pub mod body;
pub mod handlers;
pub mod handoff;
pub mod healthcheck;
pub mod log;
pub mod metrics;
pub mod pipeline;
pub mod service;
pub mod state;
pub mod transport;

pub use service::{Service, StartError};
pub use state::State;

//! The HTTP service, behind the `http` feature: a one-way stack from the socket down.
//!
//! # Layout
//! - [`service`]: binds and drains; [`transport`]: the acceptor and the workers, each an event
//!   loop over its connections, and the transport limits; [`head`]: request heads checked as
//!   RFC 9112 asks; [`wire`]: the message length and answers; [`decode`]: bodies by length or chunked as they arrive; [`budget`]:
//!   the memory bodies hold while they arrive; [`body`]: bodies bounded under the limit.
//! - [`pipeline`]: admit, route, handle, map errors, count, log.
//! - [`handlers`]: one function per endpoint.
//! - [`state`]: the model, limits, metrics and shutdown flag every request may need.
//! - [`metrics`], [`log`]: observability; [`healthcheck`]: the probe behind `HEALTHCHECK`.
//!
//! Imports point one way: service → transport (→ wire) → pipeline → handlers → state → metrics, with
//! [`body`] beneath them. Nothing calls back up.

pub mod body;
pub mod budget;
pub mod decode;
pub mod handlers;
pub mod head;
pub mod healthcheck;
pub mod log;
pub mod metrics;
pub mod pipeline;
pub mod service;
pub mod state;
pub mod transport;
pub mod wire;

pub use service::{Service, StartError};
pub use state::State;

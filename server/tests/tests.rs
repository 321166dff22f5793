//! The server library's integration tests, one binary with a module per concern.

// A failed unwrap is how a test helper reports a broken fixture.
#![allow(clippy::unwrap_used)]

mod artifact;
mod golden;
mod http;
mod import;
mod prediction;
mod readme;
mod socket;
mod tables;
mod train_csv;
mod training;
mod transport;
mod util;
mod wire;

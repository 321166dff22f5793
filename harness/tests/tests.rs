//! The harness's test suite, one binary with a module per concern.

// A failed unwrap is how a test helper reports a broken fixture or a service that would not start.
#![allow(clippy::unwrap_used)]

mod action;
mod containers;
mod diff;
mod foreign;
mod in_process;
mod kinds;
mod manifests;
mod own_model;
mod util;

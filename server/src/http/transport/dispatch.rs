//! Serves a whole request: builds rouille's request, runs the pipeline, decides the
//! connection's fate and encodes the answer.

use std::net::SocketAddr;
use std::panic::{self, AssertUnwindSafe};

use crate::contract::errors::{ApiError, shown_path};
use crate::contract::routes;
use crate::http::pipeline;
use crate::http::state::State;
use crate::http::wire::{self, Head};

/// An encoded answer and whether the connection stays open after it.
#[derive(Debug)]
pub struct Answer {
    pub bytes: Vec<u8>,
    pub keep: bool,
}

/// Runs the pipeline on a whole request and encodes the answer; `None` when no answer can be
/// encoded. An `admitted` request arrived before shutdown and gets its normal answer.
pub fn serve(
    state: &State,
    head: Head,
    body: Result<Vec<u8>, ApiError>,
    admitted: bool,
    peer: SocketAddr,
) -> Option<Answer> {
    let keep = keep_alive(&head, body.is_ok(), state);
    let (minor_version, head_only) = (head.minor_version, head.is_head());
    // `fake_http_from` builds a request from parts already read, which is what this is: the
    // transport has parsed and checked the head and read the body, so rouille's own reading,
    // which it would do for a real connection, has nothing left to do.
    let request =
        rouille::Request::fake_http_from(peer, head.method, head.url, head.headers, Vec::new());
    let response = panic::catch_unwind(AssertUnwindSafe(|| {
        pipeline::handle(state, admitted, &request, body)
    }))
    .unwrap_or_else(|_| {
        pipeline::error_response(
            &ApiError::Internal("the server failed to answer this request"),
            routes::api_of(&shown_path(request.raw_url())),
        )
    });
    let bytes = wire::encode(minor_version, response, keep, head_only).ok()?;
    Some(Answer { bytes, keep })
}

/// Whether the connection stays open after answering `head`: the one place it is decided.
/// Not when the client asked to close, nor once the service is shutting down, nor after a body
/// refused unread or broken, since the next request's start is then unknown.
fn keep_alive(head: &Head, body_read: bool, state: &State) -> bool {
    head.keep_alive() && state.is_ready() && body_read
}

//! The limits the service enforces, with their defaults. `GET /model` announces the values in
//! force, so a client (the harness among them) can stay within them and check them.
//!
//! The first two bound a request's content; the rest bound the transport, and are answered
//! before routing, on every path (so the V2 "400 for everything" rule does not apply to them).

use serde::{Deserialize, Serialize};

/// Every limit. Each is set by an environment variable of the same name in capitals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// `MAX_BODY_BYTES`: a larger request body is refused (413; 400 on V2) without being read.
    pub max_body_bytes: usize,
    /// `MAX_BATCH_ROWS`: a batch of more rows is refused (422; 400 on V1 and V2).
    pub max_batch_rows: usize,
    /// `MAX_HEADER_BYTES`: a larger request head (request line and headers) is refused with 431
    /// and the connection closed.
    pub max_header_bytes: usize,
    /// `MAX_REQUEST_LINE_BYTES`: a longer request line is refused with 414 and the connection
    /// closed.
    pub max_request_line_bytes: usize,
    /// `HEADER_TIMEOUT_MS`: a request head (or body) not received this long after its first
    /// byte is refused with 408 and the connection closed.
    pub header_timeout_ms: u64,
    /// `IDLE_TIMEOUT_MS`: a keep-alive connection with no request this long is closed.
    pub idle_timeout_ms: u64,
    /// `MAX_CONNECTIONS`: a connection beyond this many open ones gets 503 with
    /// `Connection: close`.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body_bytes: 2 * 1024 * 1024,
            max_batch_rows: 1000,
            max_header_bytes: 16 * 1024,
            max_request_line_bytes: 8 * 1024,
            header_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            max_connections: 10_000,
        }
    }
}

//! The limits the service enforces on a request, with their defaults. `GET /model` announces
//! the values in force, so a client (the harness among them) can stay within them.

use serde::{Deserialize, Serialize};

/// Request limits. Each is set by an environment variable of the same name in capitals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// `MAX_BODY_BYTES`: a larger request body is refused (413; 400 on V2) without being read.
    pub max_body_bytes: usize,
    /// `MAX_BATCH_ROWS`: a batch of more rows is refused (413; 400 on V2).
    pub max_batch_rows: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body_bytes: 2 * 1024 * 1024,
            max_batch_rows: 1000,
        }
    }
}

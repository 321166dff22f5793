//! What the process promises about starting and stopping, and the log events that show it.
//!
//! Log lines are JSON objects with `LOG_FORMAT=json`; the event is the `message` field. The
//! events and fields named here are the ones outsiders may parse; any other field may change.

use std::time::Duration;

/// How long a stop signal waits for requests in flight: well inside Docker's 10 s grace period
/// and the manifests' `terminationGracePeriodSeconds`.
pub const DRAIN_GRACE: Duration = Duration::from_secs(8);

/// The field of a JSON log line that holds the event's name.
pub const EVENT: &str = "message";

/// Listening with the model loaded. Fields: [`ADDR`], [`STARTUP_MS`].
pub const LISTENING: &str = "listening";
/// A stop signal arrived: readiness is 503, the listener is closed (new connections are
/// refused) and idle connections are closed. Field: [`IN_FLIGHT`].
pub const STOPPING: &str = "stopping";
/// Drained; the process exits next. Field: [`DRAINED`].
pub const STOPPED: &str = "stopped";
/// One answered request.
pub const REQUEST: &str = "request";

/// The bound address, `ip:port`.
pub const ADDR: &str = "addr";
/// Milliseconds from process start to listening with the model loaded.
pub const STARTUP_MS: &str = "startup_ms";
/// Requests in flight when the stop signal came: those whose first byte has arrived and whose
/// answer is not yet written. They are all served before the process exits.
pub const IN_FLIGHT: &str = "in_flight";
/// Whether every request in flight was answered within [`DRAIN_GRACE`].
pub const DRAINED: &str = "drained";

/// The metric (a gauge on `/metrics`) that counts requests in flight, the scrape included.
pub const IN_FLIGHT_METRIC: &str = "http_requests_in_flight";

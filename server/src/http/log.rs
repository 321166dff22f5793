//! Log output: one line per event on stdout, as text or JSON lines.

use crate::contract::env::LogFormat;

/// Installs the process-wide subscriber. Call once, before anything logs.
pub fn init(format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stdout)
        .with_target(false);
    // A second call (as in tests) leaves the first subscriber in place.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
}

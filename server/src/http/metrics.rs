//! Prometheus metrics, exposed at `/metrics`: requests by route, method and status, requests in
//! flight, latency by route, predicted rows, unknown categories ignored by feature, the served
//! model, and when the process started and how long it took to become ready.
//!
//! The registry encodes OpenMetrics text, which a client gets when its `Accept` asks for it;
//! everyone else gets the Prometheus text format 0.0.4, which every scraper reads: the same
//! samples, with counter and info families named as their samples are, and no `# EOF`.

use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::artifact::Artifact;
use crate::contract::lifecycle::IN_FLIGHT_METRIC;
use crate::inputs::{Batch, Cell};

/// The content type of the OpenMetrics encoding.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The content type of the Prometheus text encoding.
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The content type to answer a client whose `Accept` header is `accept`.
pub fn content_type(accept: Option<&str>) -> &'static str {
    match accept {
        Some(accept) if accept.contains("application/openmetrics-text") => OPENMETRICS,
        _ => PROMETHEUS_TEXT,
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FeatureLabels {
    feature: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    name: String,
    version: String,
    kind: &'static str,
    artifact_sha256: String,
}

/// The service's metrics and their registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    rows: Family<RouteLabels, Counter>,
    /// Per feature (in input order) that ignores unknown categories, how many it has seen.
    unknown: Vec<Option<Counter>>,
    in_flight: Gauge,
    startup: Gauge<f64, AtomicU64>,
}

impl Metrics {
    /// Registers every metric; `started` is when the process began.
    pub fn new(artifact: &Artifact, started: SystemTime) -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        // 25 µs to about 0.4 s: a single-row prediction takes tens of microseconds.
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(25e-6, 2.0, 15))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time from routing a request to having its response, by route template",
            latency.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            IN_FLIGHT_METRIC,
            "Requests received and not yet answered, this scrape included",
            in_flight.clone(),
        );
        let rows = Family::<RouteLabels, Counter>::default();
        registry.register(
            "predictions",
            "Rows predicted, by route template",
            rows.clone(),
        );
        let model = artifact.model();
        // Every feature that ignores unknown categories has its series from the start, at 0:
        // a rise is the first sign that production data has drifted from training.
        let unknown_family = Family::<FeatureLabels, Counter>::default();
        let unknown = model.columns().map_or_else(Vec::new, |columns| {
            columns
                .features()
                .iter()
                .map(|f| {
                    f.accepts_unknown.then(|| {
                        unknown_family
                            .get_or_create(&FeatureLabels {
                                feature: f.name.clone(),
                            })
                            .clone()
                    })
                })
                .collect()
        });
        registry.register(
            "unknown_categories",
            "Categories not seen in training, ignored (encoded as all zeros), by feature",
            unknown_family,
        );
        registry.register(
            "model",
            "The served model",
            Info::new(ModelLabels {
                name: artifact.name().to_owned(),
                version: artifact.version().to_owned(),
                kind: model.kind().as_str(),
                artifact_sha256: artifact.sha256().to_owned(),
            }),
        );
        let start_time = Gauge::<f64, AtomicU64>::default();
        start_time.set(
            started
                .duration_since(UNIX_EPOCH)
                .unwrap_or(Duration::ZERO)
                .as_secs_f64(),
        );
        registry.register(
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch, in seconds",
            start_time,
        );
        let startup = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "startup_duration_seconds",
            "Time from process start to listening with the model loaded",
            startup.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            rows,
            unknown,
            in_flight,
            startup,
        }
    }

    /// A request has arrived.
    pub fn enter(&self) {
        self.in_flight.inc();
    }

    /// A request has been answered (or abandoned).
    pub fn leave(&self) {
        self.in_flight.dec();
    }

    /// Requests received and not yet answered.
    pub fn in_flight(&self) -> usize {
        usize::try_from(self.in_flight.get()).unwrap_or(0)
    }

    /// Records one answered request.
    pub fn observe(&self, route: &'static str, method: &'static str, status: u16, took: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { route })
            .observe(took.as_secs_f64());
    }

    /// Records rows predicted through `route`.
    pub fn predicted(&self, route: &'static str, rows: usize) {
        self.rows
            .get_or_create(&RouteLabels { route })
            .inc_by(rows as u64);
    }

    /// Counts the unknown categories a predicted batch held, per feature.
    pub fn ignored(&self, batch: &Batch) {
        let Batch::Table(table) = batch else {
            return;
        };
        if self.unknown.iter().all(Option::is_none) {
            return;
        }
        for row in table.iter() {
            for (cell, counter) in row.iter().zip(&self.unknown) {
                if let (Cell::Unknown, Some(counter)) = (cell, counter) {
                    counter.inc();
                }
            }
        }
    }

    /// Records how long start-up took.
    pub fn ready(&self, startup: Duration) {
        self.startup.set(startup.as_secs_f64());
    }

    /// The exposition text in the format `content_type` names (see [`content_type`]).
    pub fn encode(&self, content_type: &str) -> String {
        let mut out = String::with_capacity(4096);
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        if content_type == OPENMETRICS {
            out
        } else {
            prometheus_text(&out)
        }
    }
}

/// OpenMetrics text as Prometheus text 0.0.4: a counter's family takes its samples' `_total`
/// name, an info family becomes a gauge named `_info`, and `# UNIT` and `# EOF` go.
fn prometheus_text(openmetrics: &str) -> String {
    let mut renamed: Vec<(String, String)> = vec![];
    for line in openmetrics.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ")
            && let Some((name, kind)) = rest.split_once(' ')
        {
            match kind {
                "counter" => renamed.push((name.to_owned(), format!("{name}_total"))),
                "info" => renamed.push((name.to_owned(), format!("{name}_info"))),
                _ => {}
            }
        }
    }
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let mut line = line.to_owned();
        for prefix in ["# TYPE ", "# HELP "] {
            if let Some(rest) = line.strip_prefix(prefix)
                && let Some((name, tail)) = rest.split_once(' ')
                && let Some((_, new)) = renamed.iter().find(|(old, _)| old == name)
            {
                let tail = if tail == "info" { "gauge" } else { tail };
                line = format!("{prefix}{new} {tail}");
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_names_families_as_their_samples_and_has_no_eof() {
        let openmetrics = "# HELP requests Requests.\n# TYPE requests counter\nrequests_total{a=\"b\"} 3\n\
            # HELP model The model.\n# TYPE model info\nmodel_info{name=\"x\"} 1\n\
            # HELP up Up.\n# TYPE up gauge\n# UNIT up seconds\nup 1\n# EOF\n";
        assert_eq!(
            prometheus_text(openmetrics),
            "# HELP requests_total Requests.\n# TYPE requests_total counter\nrequests_total{a=\"b\"} 3\n\
             # HELP model_info The model.\n# TYPE model_info gauge\nmodel_info{name=\"x\"} 1\n\
             # HELP up Up.\n# TYPE up gauge\nup 1\n"
        );
    }

    #[test]
    fn openmetrics_only_when_asked() {
        assert_eq!(content_type(None), PROMETHEUS_TEXT);
        assert_eq!(content_type(Some("text/plain")), PROMETHEUS_TEXT);
        assert_eq!(
            content_type(Some(
                "application/openmetrics-text; version=1.0.0,text/plain;q=0.5"
            )),
            OPENMETRICS
        );
    }
}

//! Prometheus metrics, exposed at `/metrics` in the OpenMetrics text format that Prometheus
//! scrapes: requests by route, method and status, requests in flight, latency by route,
//! predicted rows, the served model, and when the process started and how long it took to
//! become ready.

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

/// The content type of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

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

    /// Records how long start-up took.
    pub fn ready(&self, startup: Duration) {
        self.startup.set(startup.as_secs_f64());
    }

    /// The exposition text.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(4096);
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

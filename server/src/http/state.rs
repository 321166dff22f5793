//! The shared state every request may need: the model, the limits, the metrics, and whether the
//! service is shutting down. Immutable but for counters; it calls nothing above it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use crate::artifact::Artifact;
use crate::contract::limits::Limits;
use crate::contract::openapi;
use crate::http::metrics::Metrics;

/// Everything a request may need. Shared by all worker threads.
#[derive(Debug)]
pub struct State {
    artifact: Artifact,
    limits: Limits,
    metrics: Arc<Metrics>,
    /// The OpenAPI document for this artifact and these limits, built once.
    openapi: String,
    /// `PREDICT_PROBA`: KServe V1 answers probabilities rather than labels.
    predict_proba: bool,
    stopping: AtomicBool,
}

impl State {
    /// The state for serving `artifact`; `started` is when the process began.
    pub fn new(artifact: Artifact, limits: Limits, started: SystemTime) -> State {
        let metrics = Arc::new(Metrics::new(&artifact, started));
        let openapi = openapi::document(&artifact, limits).to_string();
        State {
            artifact,
            limits,
            metrics,
            openapi,
            predict_proba: false,
            stopping: AtomicBool::new(false),
        }
    }

    /// The same state, answering KServe V1 with probabilities when `predict_proba`.
    pub fn with_predict_proba(mut self, predict_proba: bool) -> State {
        self.predict_proba = predict_proba;
        self
    }

    pub fn predict_proba(&self) -> bool {
        self.predict_proba
    }

    pub fn artifact(&self) -> &Artifact {
        &self.artifact
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The OpenAPI document, as served.
    pub fn openapi(&self) -> &str {
        &self.openapi
    }

    /// Ready while the model is loaded (it is before the state exists) and not shutting down.
    pub fn is_ready(&self) -> bool {
        !self.stopping.load(Ordering::Acquire)
    }

    /// From now on only liveness is answered; everything else gets 503 and a closed
    /// connection, so that in-flight requests can drain.
    pub fn begin_shutdown(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    /// Requests received and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.metrics.in_flight()
    }

    /// Counts a request as in flight until the guard is dropped; shutdown waits for these.
    pub fn enter(&self) -> InFlight {
        self.metrics.enter();
        InFlight {
            metrics: Arc::clone(&self.metrics),
        }
    }

    /// Records how long start-up took, once listening.
    pub fn mark_started(&self, startup: Duration) {
        self.metrics.ready(startup);
    }
}

/// A request in flight; dropping it ends the request, even when the handler panicked.
#[derive(Debug)]
pub struct InFlight {
    metrics: Arc<Metrics>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.metrics.leave();
    }
}

//! What `bench` measured, and its Markdown: readable on a terminal, pasted as-is into
//! `docs/performance.md` between its bench markers.

use std::path::Path;

use serde::Serialize;

use crate::bench::transports::Comparison;
use crate::checks::cold_start::ColdStarts;
use crate::report::Machine;

/// Cold start summary, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColdStartFigures {
    pub starts: usize,
    pub ready_p50: f64,
    pub ready_p95: f64,
    pub ready_min: f64,
    pub ready_max: f64,
    pub bare_p50: f64,
    pub bare_p95: f64,
    /// Ready p50 over bare p50.
    pub ratio_to_bare: f64,
    /// The server's own start-up (process start to listening), from its log line.
    pub server_startup_p50: f64,
    pub samples: ColdStarts,
}

/// In-process prediction time, the floor under any HTTP answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InProcess {
    pub model: String,
    pub rows: usize,
    /// Median time of one `Model::predict` call, in microseconds.
    pub predict_us_p50: f64,
}

/// One load configuration's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadFigures {
    pub model: String,
    /// `/health`, `/predict` or `v2 infer`.
    pub endpoint: String,
    /// Rows per request; 0 for `/health`.
    pub rows: usize,
    pub concurrency: usize,
    /// Median over repetitions, and the lowest and highest.
    pub requests_per_s: f64,
    pub requests_per_s_min: f64,
    pub requests_per_s_max: f64,
    pub rows_per_s: f64,
    /// Latency over all recorded requests of all repetitions, in microseconds.
    pub p50_us: f64,
    pub p99_us: f64,
    pub errors: u64,
    /// CPU used during the runs, in percent of one core.
    pub server_cpu_pct: f64,
    pub generator_cpu_pct: f64,
    /// All cores together, so the rest (Docker's log pipeline, the kernel) shows too.
    pub machine_cpu_pct: f64,
    /// Throughput as a share of `/health` at the same concurrency.
    pub share_of_floor: Option<f64>,
}

/// Memory of the server process, in MiB.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Memory {
    pub model: String,
    pub idle_rss_mib: f64,
    pub peak_rss_mib: f64,
}

/// Everything `bench` measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    pub date: String,
    pub machine: Machine,
    pub image: String,
    pub image_mb: f64,
    /// Repetitions of each load configuration.
    pub repetitions: usize,
    pub cold_start: ColdStartFigures,
    pub in_process: Vec<InProcess>,
    pub load: Vec<LoadFigures>,
    pub memory: Vec<Memory>,
    /// Server processes compared on loopback, when any were given.
    pub transports: Option<Comparison>,
    pub method: String,
}

impl BenchReport {
    /// The tables, in Markdown: readable on a terminal, pasted as-is into `docs/performance.md`.
    pub fn markdown(&self) -> String {
        let c = &self.cold_start;
        let mut out = format!(
            "Measured {} on {} ({} cores, {}), image `{}` ({:.2} MB).\n\n",
            self.date,
            self.machine.kernel,
            self.machine.cores,
            self.machine.cpu,
            self.image,
            self.image_mb
        );
        out.push_str(
            "| cold start ({} starts) | p50 | p95 | min–max |\n|---|---|---|---|\n"
                .replace("{}", &c.starts.to_string())
                .as_str(),
        );
        out.push_str(&format!(
            "| container start → first 200 on `/ready` | {:.0} ms | {:.0} ms | {:.0}–{:.0} ms |\n",
            c.ready_p50, c.ready_p95, c.ready_min, c.ready_max
        ));
        out.push_str(&format!(
            "| bare container start → exit (`server --version`) | {:.0} ms | {:.0} ms | |\n",
            c.bare_p50, c.bare_p95
        ));
        out.push_str(&format!(
            "| server's own start-up (process start → listening) | {:.2} ms | | |\n\n",
            c.server_startup_p50
        ));
        out.push_str(&format!(
            "Ready p50 is {:.2}× the bare container start.\n\n",
            c.ratio_to_bare
        ));
        out.push_str(&format!(
            "CPU is in percent of one core; the machine has {}, so {}% is all of it.\n\n",
            self.machine.cores,
            self.machine.cores * 100
        ));
        out.push_str("| model | endpoint | rows/req | conc | req/s (min–max) | rows/s | p50 µs | p99 µs | vs /health | CPU: server | generator | whole machine |\n");
        out.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for l in &self.load {
            let rows = if l.rows == 0 {
                "–".into()
            } else {
                l.rows.to_string()
            };
            let rows_per_s = if l.rows == 0 {
                "–".into()
            } else {
                format!("{:.0}", l.rows_per_s)
            };
            let share = l
                .share_of_floor
                .map_or("–".into(), |s| format!("{:.0}%", s * 100.0));
            let errors = if l.errors > 0 {
                format!(" ({} errors)", l.errors)
            } else {
                String::new()
            };
            out.push_str(&format!(
                "| {} | {} | {rows} | {} | {:.0} ({:.0}–{:.0}){errors} | {rows_per_s} | {:.0} | {:.0} | {share} | {:.0}% | {:.0}% | {:.0}% |\n",
                l.model, l.endpoint, l.concurrency, l.requests_per_s, l.requests_per_s_min, l.requests_per_s_max,
                l.p50_us, l.p99_us, l.server_cpu_pct, l.generator_cpu_pct, l.machine_cpu_pct
            ));
        }
        out.push_str("\n| model | in-process `Model::predict` p50 |\n|---|---|\n");
        for p in &self.in_process {
            out.push_str(&format!(
                "| {} × {} rows | {:.2} µs |\n",
                p.model, p.rows, p.predict_us_p50
            ));
        }
        out.push_str("\n| model | idle RSS | peak RSS under load |\n|---|---|---|\n");
        for m in &self.memory {
            out.push_str(&format!(
                "| {} | {:.1} MiB | {:.1} MiB |\n",
                m.model, m.idle_rss_mib, m.peak_rss_mib
            ));
        }
        out.push_str(&format!("\n{}\n", self.method));
        if let Some(comparison) = &self.transports {
            out.push_str(&format!(
                "\nServer processes side by side on loopback in the same run ({}): CPU time \
of the server process per request (user + system, from /proc), median of {} repetitions, \
and requests per second. The generator is the harness's own: keep-alive connections, opened \
one after another, multiplexed on one event loop per core; \
nginx (one worker, access log to /dev/null) answers a static 200 to every request: the floor. \
On loopback the kernel's work for both ends of a TCP exchange is charged to the process \
that sends, so these figures include it.\n\n",
                comparison
                    .contenders
                    .iter()
                    .map(|c| format!("{}: {}", c.name, c.about))
                    .collect::<Vec<_>>()
                    .join(", "),
                self.repetitions,
            ));
            out.push_str(&comparison.markdown());
        }
        out
    }
}

/// Replaces the document's text between the bench markers with `markdown`.
pub fn update_doc(doc: &Path, markdown: &str) -> std::io::Result<()> {
    const START: &str = "<!-- bench:start -->";
    const END: &str = "<!-- bench:end -->";
    let text = std::fs::read_to_string(doc)?;
    let (Some(start), Some(end)) = (text.find(START), text.find(END)) else {
        return Err(std::io::Error::other(format!(
            "{} has no {START} … {END} section",
            doc.display()
        )));
    };
    let updated = format!("{}{START}\n{markdown}{}", &text[..start], &text[end..]);
    std::fs::write(doc, updated)
}

//! Configuration from the environment, validated once at start-up: the variables a deployment
//! may set, their defaults, and what each accepts.
//!
//! Variables are read raw and checked into a [`Config`]; a bad value stops start-up with a line
//! naming the variable, the value and what was expected. An empty value counts as unset.

use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

use thiserror::Error;

use crate::contract::limits::Limits;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `key=value` text, for people.
    Text,
    /// One JSON object per line, for log pipelines.
    Json,
}

/// The address to listen on.
pub const HOST: &str = "HOST";
/// The port to listen on.
pub const PORT: &str = "PORT";
/// An artifact file replacing the embedded default.
pub const MODEL_PATH: &str = "MODEL_PATH";
/// The SHA-256 the artifact must have; start-up stops on any other.
pub const MODEL_SHA256: &str = "MODEL_SHA256";
/// Threads handling requests.
pub const WORKERS: &str = "WORKERS";
/// See [`Limits::max_body_bytes`].
pub const MAX_BODY_BYTES: &str = "MAX_BODY_BYTES";
/// See [`Limits::max_batch_rows`].
pub const MAX_BATCH_ROWS: &str = "MAX_BATCH_ROWS";
/// `text` or `json`.
pub const LOG_FORMAT: &str = "LOG_FORMAT";
/// See [`Limits::max_header_bytes`].
pub const MAX_HEADER_BYTES: &str = "MAX_HEADER_BYTES";
/// See [`Limits::max_request_line_bytes`].
pub const MAX_REQUEST_LINE_BYTES: &str = "MAX_REQUEST_LINE_BYTES";
/// See [`Limits::header_timeout_ms`].
pub const HEADER_TIMEOUT_MS: &str = "HEADER_TIMEOUT_MS";
/// See [`Limits::idle_timeout_ms`].
pub const IDLE_TIMEOUT_MS: &str = "IDLE_TIMEOUT_MS";
/// See [`Limits::max_connections`].
pub const MAX_CONNECTIONS: &str = "MAX_CONNECTIONS";
/// `true`: KServe V1 `:predict` answers each row's probabilities instead of its label, as
/// KServe's scikit-learn server does with the same variable.
pub const PREDICT_PROBA: &str = "PREDICT_PROBA";

/// Every environment variable the server reads.
pub const VARIABLES: [&str; 14] = [
    HOST,
    PORT,
    MODEL_PATH,
    MODEL_SHA256,
    WORKERS,
    MAX_BODY_BYTES,
    MAX_BATCH_ROWS,
    MAX_HEADER_BYTES,
    MAX_REQUEST_LINE_BYTES,
    HEADER_TIMEOUT_MS,
    IDLE_TIMEOUT_MS,
    MAX_CONNECTIONS,
    LOG_FORMAT,
    PREDICT_PROBA,
];

/// Each variable with its default and meaning, for `server --help` and the README.
pub const HELP: [(&str, &str, &str); 14] = [
    (HOST, "0.0.0.0", "the address to listen on"),
    (PORT, "8000", "the port to listen on; 0 picks a free one"),
    (
        MODEL_PATH,
        "the embedded wine-quality artifact",
        "an artifact file to serve instead",
    ),
    (
        MODEL_SHA256,
        "unset",
        "start-up stops unless the artifact has this SHA-256",
    ),
    (
        WORKERS,
        "1 per core",
        "workers, each an event loop serving its connections",
    ),
    (
        MAX_BODY_BYTES,
        "2097152",
        "a larger request body is refused (413; 400 on V2) unread",
    ),
    (
        MAX_BATCH_ROWS,
        "1000",
        "a batch of more rows is refused (422; 400 on V1 and V2)",
    ),
    (
        MAX_HEADER_BYTES,
        "16384",
        "a larger request head is refused (431) and the connection closed",
    ),
    (
        MAX_REQUEST_LINE_BYTES,
        "8192",
        "a longer request line is refused (414) and the connection closed",
    ),
    (
        HEADER_TIMEOUT_MS,
        "10000",
        "a request not received this long after its first byte gets 408",
    ),
    (
        IDLE_TIMEOUT_MS,
        "60000",
        "an idle keep-alive connection is closed after this long",
    ),
    (
        MAX_CONNECTIONS,
        "10000",
        "a connection beyond this many open ones gets 503",
    ),
    (LOG_FORMAT, "text", "text or json lines on stdout"),
    (
        PREDICT_PROBA,
        "false",
        "true: KServe V1 :predict answers probability rows, not labels",
    ),
];

/// The service's validated settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `HOST`: the address to listen on.
    pub host: IpAddr,
    /// `PORT`: the port to listen on; 0 picks a free one.
    pub port: u16,
    /// `MODEL_PATH`: an artifact file replacing the embedded default.
    pub model_path: Option<PathBuf>,
    /// `MODEL_SHA256`: the artifact's expected SHA-256, lowercase hex.
    pub model_sha256: Option<String>,
    /// `WORKERS`: workers, each an event loop serving its connections.
    pub workers: usize,
    /// `MAX_BODY_BYTES` and `MAX_BATCH_ROWS`.
    pub limits: Limits,
    /// `LOG_FORMAT`: `text` or `json`.
    pub log_format: LogFormat,
    /// `PREDICT_PROBA`: KServe V1 answers probabilities rather than labels.
    pub predict_proba: bool,
}

/// A variable whose value could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{var}={value:?} is invalid: expected {expected}")]
pub struct ConfigError {
    pub var: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            host: IpAddr::from([0, 0, 0, 0]),
            port: 8000,
            model_path: None,
            model_sha256: None,
            workers: default_workers(),
            limits: Limits::default(),
            log_format: LogFormat::Text,
            predict_proba: false,
        }
    }
}

/// One worker per core (as the process's CPU quota allows): no worker ever waits on a client,
/// so more workers than cores only add wake-ups.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads variables through `var`, so tests need not touch the process environment.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name| var(name).filter(|v| !v.trim().is_empty());
        let mut config = Config::default();
        if let Some(v) = get(HOST) {
            config.host = parse(&v, HOST, "an IP address such as 0.0.0.0 or ::")?;
        }
        if let Some(v) = get(PORT) {
            config.port = parse(&v, PORT, "a port number from 0 to 65535")?;
        }
        config.model_path = get(MODEL_PATH).map(PathBuf::from);
        if let Some(v) = get(MODEL_SHA256) {
            let hex = v.trim().to_ascii_lowercase();
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid(MODEL_SHA256, &v, "a SHA-256 in 64 hex digits"));
            }
            config.model_sha256 = Some(hex);
        }
        if let Some(v) = get(WORKERS) {
            config.workers = positive(&v, WORKERS, "a thread count from 1 to 1024", 1024)?;
        }
        if let Some(v) = get(MAX_BODY_BYTES) {
            config.limits.max_body_bytes =
                positive(&v, MAX_BODY_BYTES, "a byte count of at least 1", usize::MAX)?;
        }
        if let Some(v) = get(MAX_BATCH_ROWS) {
            config.limits.max_batch_rows =
                positive(&v, MAX_BATCH_ROWS, "a row count of at least 1", usize::MAX)?;
        }
        let count = |var: &'static str, field: &mut usize| -> Result<(), ConfigError> {
            if let Some(v) = get(var) {
                *field = positive(&v, var, "a whole number of at least 1", usize::MAX)?;
            }
            Ok(())
        };
        count(MAX_HEADER_BYTES, &mut config.limits.max_header_bytes)?;
        count(
            MAX_REQUEST_LINE_BYTES,
            &mut config.limits.max_request_line_bytes,
        )?;
        count(MAX_CONNECTIONS, &mut config.limits.max_connections)?;
        let millis = |var: &'static str, field: &mut u64| -> Result<(), ConfigError> {
            if let Some(v) = get(var) {
                *field = positive(&v, var, "milliseconds, at least 1", usize::MAX)? as u64;
            }
            Ok(())
        };
        millis(HEADER_TIMEOUT_MS, &mut config.limits.header_timeout_ms)?;
        millis(IDLE_TIMEOUT_MS, &mut config.limits.idle_timeout_ms)?;
        if let Some(v) = get(LOG_FORMAT) {
            config.log_format = match v.trim() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => return Err(invalid(LOG_FORMAT, &v, "text or json")),
            };
        }
        if let Some(v) = get(PREDICT_PROBA) {
            config.predict_proba = match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => return Err(invalid(PREDICT_PROBA, &v, "true or false")),
            };
        }
        Ok(config)
    }
}

fn invalid(var: &'static str, value: &str, expected: &'static str) -> ConfigError {
    ConfigError {
        var,
        value: value.to_owned(),
        expected,
    }
}

fn parse<T: FromStr>(
    value: &str,
    var: &'static str,
    expected: &'static str,
) -> Result<T, ConfigError> {
    value
        .trim()
        .parse()
        .map_err(|_| invalid(var, value, expected))
}

fn positive(
    value: &str,
    var: &'static str,
    expected: &'static str,
    max: usize,
) -> Result<usize, ConfigError> {
    match parse::<usize>(value, var, expected)? {
        n if (1..=max).contains(&n) => Ok(n),
        _ => Err(invalid(var, value, expected)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let c = config(&[]).unwrap();
        assert_eq!(c.port, 8000);
        assert_eq!(c.host.to_string(), "0.0.0.0");
        assert_eq!(c.model_path, None);
        assert!(c.workers >= 1);
        assert_eq!(c.log_format, LogFormat::Text);
    }

    #[test]
    fn reads_every_variable() {
        let c = config(&[
            ("HOST", "127.0.0.1"),
            ("PORT", "9000"),
            ("MODEL_PATH", "/models/iris.json"),
            ("MODEL_SHA256", "AB".repeat(32).as_str()),
            ("WORKERS", "3"),
            ("MAX_BODY_BYTES", "1024"),
            ("MAX_BATCH_ROWS", "10"),
            ("LOG_FORMAT", "json"),
            ("PREDICT_PROBA", "true"),
        ])
        .unwrap();
        assert_eq!(
            c,
            Config {
                host: IpAddr::from([127, 0, 0, 1]),
                port: 9000,
                model_path: Some("/models/iris.json".into()),
                model_sha256: Some("ab".repeat(32)),
                workers: 3,
                limits: Limits {
                    max_body_bytes: 1024,
                    max_batch_rows: 10,
                    ..Limits::default()
                },
                log_format: LogFormat::Json,
                predict_proba: true,
            }
        );
    }

    #[test]
    fn every_listed_variable_is_read() {
        for var in VARIABLES {
            let err = config(&[(var, "\u{1}not a value\u{1}")]);
            // MODEL_PATH takes any path; every other variable refuses this value.
            assert_eq!(err.is_err(), var != "MODEL_PATH", "{var}");
        }
    }

    #[test]
    fn help_describes_every_variable_in_order_with_the_real_defaults() {
        let documented: Vec<&str> = HELP.iter().map(|(name, _, _)| *name).collect();
        assert_eq!(documented, VARIABLES);
        let default = Config::default();
        let shown = |var: &str| HELP.iter().find(|(n, _, _)| *n == var).unwrap().1;
        assert_eq!(shown(HOST), default.host.to_string());
        assert_eq!(shown(PORT), default.port.to_string());
        assert_eq!(
            shown(MAX_BODY_BYTES),
            default.limits.max_body_bytes.to_string()
        );
        assert_eq!(
            shown(MAX_BATCH_ROWS),
            default.limits.max_batch_rows.to_string()
        );
    }

    #[test]
    fn an_empty_value_counts_as_unset() {
        assert_eq!(config(&[("PORT", ""), ("MODEL_PATH", " ")]), config(&[]));
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        for (var, value) in [
            ("HOST", "localhost"),
            ("PORT", "80000"),
            ("PORT", "eighty"),
            ("WORKERS", "0"),
            ("WORKERS", "-2"),
            ("MODEL_SHA256", "abc"),
            ("MAX_BODY_BYTES", "0"),
            ("MAX_BATCH_ROWS", "1.5"),
            ("LOG_FORMAT", "xml"),
        ] {
            let err = config(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, var);
            assert!(
                err.to_string()
                    .starts_with(&format!("{var}={value:?} is invalid")),
                "{err}"
            );
        }
    }
}

//! The Open Inference Protocol names this service uses: its name, its extensions, its tensors.

/// The output tensor holding one class label per row (BYTES, `[N]`).
pub const LABEL: &str = "label";
/// The output tensor holding one probability per row and class (FP64, `[N, C]`).
pub const PROBABILITIES: &str = "probabilities";
/// `label` as MLServer's scikit-learn runtime names it; an answer keeps the name asked for.
pub const PREDICT: &str = "predict";
/// `probabilities` as MLServer's scikit-learn runtime names it.
pub const PREDICT_PROBA: &str = "predict_proba";
/// The input tensor's name in the model metadata; infer accepts any name.
pub const INPUT: &str = "input";

/// The server's name in `GET /v2`.
pub const SERVER_NAME: &str = "ml-inference-app";
/// The protocol extensions `GET /v2` lists: binary tensor data in requests and answers.
pub const EXTENSIONS: &[&str] = &["binary_tensor_data"];
/// The request and answer field that gives the JSON header's length when binary tensor data
/// follows it.
pub const BINARY_HEADER_LENGTH: &str = "Inference-Header-Content-Length";

/// 2^53: every integer up to it is a double; beyond, some are not.
pub const EXACT_INTEGERS: u64 = 1 << 53;
/// The largest magnitude of an INT64 or UINT64 element: 2^53, up to which a double holds every
/// integer, so that the range is checked on the value the client sent.
pub const LARGEST_INT64: f64 = EXACT_INTEGERS as f64;
/// See [`LARGEST_INT64`].
pub const LARGEST_UINT64: f64 = EXACT_INTEGERS as f64;

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

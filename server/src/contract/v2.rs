//! The Open Inference Protocol names this service uses: its tensors and their datatypes.

/// The output tensor holding one class label per row (BYTES, `[N]`).
pub const LABEL: &str = "label";
/// The output tensor holding one probability per row and class (FP64, `[N, C]`).
pub const PROBABILITIES: &str = "probabilities";
/// The input tensor's name in the model metadata; infer accepts any name.
pub const INPUT: &str = "input";

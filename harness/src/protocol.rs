//! Which protocol a server under test speaks, and what to ask one that is not this project's:
//! tensor names, its class order, the tolerance its numbers are held to.

/// Which protocol the target speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Protocol {
    /// This project's whole contract: every API, limits, metrics, the image.
    #[default]
    Full,
    /// Only the Open Inference Protocol, as any V2 server speaks it (see
    /// [`crate::checks::v2`]).
    V2,
    /// Only KServe's V1 `:predict`, as its scikit-learn server speaks it (see
    /// [`crate::checks::v1`]).
    V1,
}

impl Protocol {
    /// True for a protocol any server may speak, whose checks and diff ask only it.
    pub fn foreign(self) -> bool {
        self != Protocol::Full
    }
}

/// What a KServe V1 server answers `:predict` with: decided by how it was started
/// (`PREDICT_PROBA`), so it is told, not guessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum V1Output {
    /// One label per row.
    #[default]
    Labels,
    /// One row of probabilities per row, in the server's class order.
    Probabilities,
}

/// What to ask a server that speaks V2 or V1, and how close its answers must be.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolOptions {
    /// The V2 input tensor's name.
    pub input: String,
    /// The V2 output tensor with one probability per row and class, in the server's order.
    pub probabilities: String,
    /// The V2 output tensor with one label per row, when the server has one.
    pub labels: Option<String>,
    /// The server's class order, when the user gives it; else learnt from its labels, else
    /// the artifact's is assumed (see [`crate::classes`]).
    pub classes: Option<Vec<String>>,
    /// What the V1 `:predict` answers.
    pub v1_output: V1Output,
    /// The model's name in the server's routes; by default the artifact's.
    pub model_name: Option<String>,
    /// The largest absolute difference allowed; 0 means equal to the bit.
    pub tolerance: f64,
    /// Rows drawn within the ranges for parity.
    pub rows: usize,
    /// Send the rows, and ask for the outputs, as binary tensor data (the extension
    /// `tritonclient` uses by default): parity then compares raw IEEE bytes, no float text.
    pub binary: bool,
}

impl Default for ProtocolOptions {
    fn default() -> ProtocolOptions {
        ProtocolOptions {
            input: "input".into(),
            probabilities: "probabilities".into(),
            labels: Some("label".into()),
            classes: None,
            v1_output: V1Output::Labels,
            model_name: None,
            tolerance: 0.0,
            rows: 200,
            binary: false,
        }
    }
}

//! The options of `check` and `diff` that say how a server that is not this project's is
//! asked: one set of flags, so both commands read a server alike.

use harness::protocol::{Protocol, ProtocolOptions, V1Output};

fn defaults() -> ProtocolOptions {
    ProtocolOptions::default()
}

#[derive(Debug, Clone, clap::Args)]
pub struct ProtocolArgs {
    /// `full`: this project's contract; `v2`: any Open Inference Protocol server; `v1`: any
    /// KServe V1 server (`v2` and `v1` need an artifact to answer as).
    #[arg(long, value_enum, default_value_t = Protocol::Full)]
    pub protocol: Protocol,
    /// With v2 or v1: the server's class order, comma-separated (e.g. a scikit-learn
    /// pipeline's `classes_`); by default learnt from the labels it answers, else the
    /// artifact's, and the report says which.
    #[arg(long, value_name = "A,B,…", value_delimiter = ',')]
    pub classes: Option<Vec<String>>,
    /// With v2 or v1: the model's name in the server's routes [default: the artifact's].
    #[arg(long)]
    pub model_name: Option<String>,
    /// With v1: what `:predict` answers, as the server was started (`probabilities` with
    /// KServe's `PREDICT_PROBA=true`).
    #[arg(long, value_enum, default_value_t = V1Output::Labels)]
    pub v1_output: V1Output,
    /// With v2: the input tensor's name.
    #[arg(long, default_value_t = defaults().input)]
    pub input_name: String,
    /// With v2: the output tensor of probabilities, in the server's class order.
    #[arg(long, default_value_t = defaults().probabilities)]
    pub probabilities_name: String,
    /// With v2: the output tensor of labels; `none` when the server has none.
    #[arg(long, default_value = "label")]
    pub labels_name: String,
}

impl ProtocolArgs {
    /// The protocol, and what to ask a server that speaks it.
    pub fn options(self) -> (Protocol, ProtocolOptions) {
        let options = ProtocolOptions {
            input: self.input_name,
            probabilities: self.probabilities_name,
            labels: (self.labels_name != "none").then_some(self.labels_name),
            classes: self.classes,
            v1_output: self.v1_output,
            model_name: self.model_name,
            ..defaults()
        };
        (self.protocol, options)
    }
}

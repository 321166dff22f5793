//! `import`: turns a scikit-learn export (see `server::import`) into an artifact.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use server::import::{ImportOptions, import};

/// Import a scikit-learn logistic model (LogisticRegression with any solver,
/// SGDClassifier(loss="log_loss") or a OneVsRestClassifier of either, alone or after one of
/// StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler, or after a ColumnTransformer of
/// SimpleImputer, OneHotEncoder, OrdinalEncoder and those scalers) from its JSON export into an
/// artifact.
#[derive(Debug, Parser)]
#[command(
    name = "import",
    after_help = "The README's \"Your own model\" shows the Python that writes an export."
)]
struct Args {
    /// The export, as the README's Python writes it.
    #[arg(long, value_name = "FILE")]
    export: PathBuf,
    /// The model's name, as routes and reports use it.
    #[arg(long)]
    name: String,
    /// The model's own version.
    #[arg(long, default_value = "1.0.0")]
    version: String,
    /// Names for the classes, comma-separated, in scikit-learn's order (`classes_`): for a
    /// model fitted on codes, e.g. `--class-names bad,good` for classes 0 and 1.
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    class_names: Option<Vec<String>>,
    /// Where to write the artifact [default: NAME.json].
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("import: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let bytes = std::fs::read(&args.export)
        .map_err(|e| format!("{}: cannot read the export: {e}", args.export.display()))?;
    let file = args.export.file_name().map_or_else(
        || args.export.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let options = ImportOptions {
        name: args.name.clone(),
        version: args.version,
        class_names: args.class_names,
    };
    let imported = import(&bytes, &file, &options).map_err(|e| e.to_string())?;
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("{}.json", args.name)));
    std::fs::write(&out, &imported.artifact).map_err(|e| format!("{}: {e}", out.display()))?;
    println!(
        "{}: wrote {} ({} bytes, sha256 {})",
        args.name,
        out.display(),
        imported.artifact.len(),
        imported.loaded.sha256()
    );
    Ok(())
}

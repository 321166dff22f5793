//! `train`: fits a logistic regression to a CSV and writes its artifact; `train --references
//! FILE` retrains the reference models. `train --help` lists every option.

use std::process::ExitCode;

use clap::Parser;
use server::artifact::sha256_hex;
use server::train::{self, args::Args};

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("train: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    for run in args.runs().map_err(|e| e.to_string())? {
        let trained = train::train(&run.data, &run.options).map_err(|e| e.to_string())?;
        let bytes = trained.artifact;
        std::fs::write(&run.out, &bytes).map_err(|e| format!("{}: {e}", run.out.display()))?;
        println!(
            "{}: wrote {} ({} bytes, sha256 {}; classes {:?})",
            run.options.name,
            run.out.display(),
            bytes.len(),
            sha256_hex(&bytes),
            trained.model.classes()
        );
    }
    Ok(())
}

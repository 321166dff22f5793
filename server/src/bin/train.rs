//! `train [--data DIR] [--out DIR] [MODEL...]`: fits the reference models and writes their
//! artifacts. With no model named, trains all of them.

use std::path::PathBuf;
use std::process::ExitCode;

use server::train::{self, RECIPES};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("train: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut data = PathBuf::from("fixtures/data");
    let mut out = PathBuf::from("fixtures/models");
    let mut names = vec![];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--data" => data = args.next().ok_or("--data needs a directory")?.into(),
            "--out" => out = args.next().ok_or("--out needs a directory")?.into(),
            "-h" | "--help" => {
                println!("usage: train [--data DIR] [--out DIR] [MODEL...]");
                println!("models: {}", RECIPES.map(|r| r.name).join(", "));
                return Ok(());
            }
            name => names.push(name.to_owned()),
        }
    }
    let recipes: Vec<_> = if names.is_empty() {
        RECIPES.to_vec()
    } else {
        names
            .iter()
            .map(|n| {
                RECIPES
                    .iter()
                    .find(|r| r.name == n)
                    .copied()
                    .ok_or_else(|| format!("unknown model {n:?}"))
            })
            .collect::<Result<_, _>>()?
    };
    for recipe in &recipes {
        let bytes = train::train(recipe, &data)
            .map_err(|e| e.to_string())?
            .artifact;
        let path = out.join(format!("{}.json", recipe.name));
        std::fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        println!(
            "{}: wrote {} ({} bytes, sha256 {})",
            recipe.name,
            path.display(),
            bytes.len(),
            server::artifact::sha256_hex(&bytes)
        );
    }
    Ok(())
}

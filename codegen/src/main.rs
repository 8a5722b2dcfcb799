//! `ecrd-codegen [MODEL [OUTPUT]] [--check]`
//!
//! Reads the ECR model (default: `api-models/ecr-2015-09-21.json` of this
//! repository) and writes the generated Rust (default: `src/ecr/generated.rs`).
//! With `--check`, writes nothing and exits with status 1 if the file on disk
//! differs from what the model generates.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Defaults are relative to this crate, not to the working directory.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut check = false;
    let mut paths = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--check" => check = true,
            "-h" | "--help" => {
                println!("usage: ecrd-codegen [MODEL [OUTPUT]] [--check]");
                return ExitCode::SUCCESS;
            }
            _ => paths.push(PathBuf::from(arg)),
        }
    }
    if paths.len() > 2 {
        eprintln!("usage: ecrd-codegen [MODEL [OUTPUT]] [--check]");
        return ExitCode::from(2);
    }
    let model_path = paths
        .first()
        .cloned()
        .unwrap_or_else(|| root.join("api-models/ecr-2015-09-21.json"));
    let out_path = paths
        .get(1)
        .cloned()
        .unwrap_or_else(|| root.join("src/ecr/generated.rs"));

    let model = match std::fs::read_to_string(&model_path) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("cannot read {}: {e}", model_path.display());
            return ExitCode::FAILURE;
        }
    };
    let generated = ecrd_codegen::generate(&model);

    if check {
        let current = std::fs::read_to_string(&out_path).unwrap_or_default();
        if current != generated {
            eprintln!(
                "{} is out of date: run api-models/regenerate",
                out_path.display()
            );
            return ExitCode::FAILURE;
        }
        return ExitCode::SUCCESS;
    }
    if let Err(e) = std::fs::write(&out_path, &generated) {
        eprintln!("cannot write {}: {e}", out_path.display());
        return ExitCode::FAILURE;
    }
    println!(
        "wrote {} ({} lines)",
        out_path.display(),
        generated.lines().count()
    );
    ExitCode::SUCCESS
}

//! `autobill-bench`: the measurement harness behind BENCHMARKS.md (not part of `make test`).
//!
//! - `coldstart -- CMD…`: exec → ready for the first event under a local Lambda runtime API.
//! - `lifecycle`: one customer's whole lifecycle through the functions' binaries against the
//!   local AWS, with its AWS calls counted from the local AWS's request log.
//! - `render`: the sample invoice and act rendered in-process (the side-by-side comparison).

mod coldstart;
mod lifecycle;
mod render;
mod runtime;
mod stats;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "autobill-bench", about = "autobill's measurement harness")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Cold start of one command run as a Lambda function: one JSON line.
    Coldstart {
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// The function's name (AWS_LAMBDA_FUNCTION_NAME).
        #[arg(long)]
        name: String,
        #[arg(long, default_value_t = 256)]
        memory_mb: u32,
        #[arg(required = true, last = true)]
        command: Vec<String>,
    },
    /// The lifecycle against a running local AWS started with `--request-log`: a JSON report.
    Lifecycle {
        /// Where the functions' release binaries are.
        #[arg(long)]
        bin_dir: PathBuf,
        #[arg(long)]
        request_log: PathBuf,
        /// Seller and plans (infra/local/config.toml).
        #[arg(long)]
        config: PathBuf,
        /// The functions' logs and the generated config go here.
        #[arg(long)]
        work_dir: PathBuf,
        #[arg(long, env = "AUTOBILL_TABLE")]
        table: String,
        #[arg(long, env = "AUTOBILL_CLOUDPAYMENTS_API_SECRET")]
        cloudpayments_secret: String,
    },
    /// Median render time and size of the sample invoice and act: JSON lines.
    Render {
        #[arg(long, default_value_t = 200)]
        runs: usize,
        /// Render the invoice once into this file instead (a whole process, for hyperfine).
        #[arg(long)]
        once: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("autobill-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        Command::Coldstart {
            runs,
            name,
            memory_mb,
            command,
        } => {
            println!("{}", coldstart::measure(&command, &name, memory_mb, runs)?);
        }
        Command::Lifecycle {
            bin_dir,
            request_log,
            config,
            work_dir,
            table,
            cloudpayments_secret,
        } => {
            let setup = lifecycle::Setup {
                bin_dir,
                base_config: config,
                request_log,
                logs_dir: work_dir,
                table,
                cloudpayments_secret,
            };
            println!("{}", serde_json::to_string_pretty(&lifecycle::run(&setup)?)?);
        }
        Command::Render { runs, once: Some(path) } => {
            let _ = runs;
            println!("{}", render::once(&path)?);
        }
        Command::Render { runs, once: None } => {
            for line in render::medians(runs)? {
                println!("{line}");
            }
        }
    }
    Ok(())
}

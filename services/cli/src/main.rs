//! `diaba`: land parcels, household addresses and flood exposure for Cần Thơ.
//!
//! Thin on purpose: clap types, tracing set-up, then per subcommand one library call with
//! only what an edge does around it (opening the database, a progress bar, printing the
//! answer). The exception is `import`, whose per-feature report is still assembled here
//! (`import.rs`); it moves into the register with the work on office imports, where every
//! rule of the API must also apply to a file.

mod args;
mod codecs;
mod commands;
mod database;
mod import;
mod progress;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = args::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DIABA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(cli.log.as_str())),
        )
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal: a log file or journald gets plain text
        // (and each request's span is then formatted without escape codes).
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(commands::run(cli.command)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

//! Entry point: parse the command line and hand over to the library.

use std::process::ExitCode;

use clap::Parser;

// The server allocates many small, short-lived values per request (rows, GraphQL values, JSON);
// mimalloc serves them faster than the system allocator and returns memory more readily.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = bridgefund::cli::Cli::parse();
    match bridgefund::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

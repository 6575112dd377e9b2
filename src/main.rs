use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = dvt::cli::Cli::parse();
    ExitCode::from(dvt::run(cli))
}

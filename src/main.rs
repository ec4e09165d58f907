//! The `ako` command line. Errors are reported here, with context; exit codes are a
//! **contract**: 0 success, 2 refused or bad input, 1 any other failure.
#![deny(unsafe_code)]

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}

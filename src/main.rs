#[global_allocator]
static ALLOC: ctx::arena::Arena = ctx::arena::Arena;

fn main() {
    std::process::exit(ctx::cli::main());
}

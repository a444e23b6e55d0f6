use clap::Parser;

fn main() {
    let cli = cadre::cli::Cli::parse();
    match cadre::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {}", cadre::cli::render(&e));
            std::process::exit(e.exit_code());
        }
    }
}

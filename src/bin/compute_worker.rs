//! Entry of the compute Web Worker (see `worker::handler::run`).

fn main() {
    medinsight_web::worker::handler::run();
}

//! Entry of the compute Web Worker (see `compute_worker`).

use gloo_worker::Registrable;
use medinsight_web::worker::handler::ComputeWorker;

fn main() {
    console_error_panic_hook::set_once();
    ComputeWorker::registrar().register();
}

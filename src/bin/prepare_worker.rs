//! Entry of the image-preparation Web Worker (see `prepare_worker`).

use gloo_worker::Registrable;
use medinsight_web::prepare_worker::PrepareWorker;

fn main() {
    console_error_panic_hook::set_once();
    PrepareWorker::registrar().register();
}

//! The compute workers: the [`protocol`] the page and a worker speak, the [`handler`]
//! that runs inside each worker (the image pipeline and the analyses, from
//! `medinsight-core`), and the [`pool`] on the page's side that hands out jobs and waits
//! for their answers.

pub mod handler;
pub mod pool;
pub mod protocol;

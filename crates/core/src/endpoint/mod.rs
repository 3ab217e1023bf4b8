//! Talking to the endpoint: what a request and an answer look like ([`wire`]), how a
//! run's items become requests ([`batching`]), who sends next ([`admission`]), when a failed request is tried again
//! ([`retry`]), how many requests may be in flight ([`concurrency`]), and what the local
//! server says sits behind `/score` ([`info`]).
//!
//! All of it is pure: the browser app and the command line each do their own I/O and
//! share these rules, so the two clients cannot drift apart, nor drift from the
//! emulator, which uses the same [`wire`].

pub mod admission;
pub mod batching;
pub mod concurrency;
pub mod info;
pub mod retry;
pub mod wire;

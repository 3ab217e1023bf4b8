//! The session kept in the browser: IndexedDB records and their reading and writing
//! ([`store`]), and the layer that saves the state as it changes and restores it at
//! start ([`sync`]).

pub mod store;
pub mod sync;

//! The session kept in the browser: IndexedDB records and their reading and writing
//! ([`store`]), the layer that saves the state as it changes and restores it at start
//! ([`sync`]), and small remembered values in `localStorage` ([`local`]).

pub mod local;
pub mod store;
pub mod sync;

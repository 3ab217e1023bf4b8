//! The session kept in the browser: IndexedDB records and their reading and writing
//! ([`store`]), the layer that saves the state as it changes and restores it at start
//! ([`sync`]), prepared PNGs read back when needed ([`pixels`]), and small remembered
//! values in `localStorage` ([`local`]).

pub mod local;
pub mod pixels;
pub mod store;
pub mod sync;

//! Text the model reads: the four-part prompt a label is built from ([`prompt`]) and,
//! with the `clip` feature, CLIP's tokenisation and its 77-token cut ([`clip`]).

#[cfg(feature = "clip")]
pub mod clip;
pub mod prompt;

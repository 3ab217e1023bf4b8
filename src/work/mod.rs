//! What happens over time: images prepared in the workers as they arrive
//! ([`preparation`]), a run sending them to the endpoint ([`run`]), the analyses in
//! their own worker ([`analyses`]), and CLIP token counts built once ([`tokens`]);
//! [`latest`] runs a view's newest request only.

pub mod analyses;
pub mod latest;
pub mod preparation;
pub mod run;
pub mod tokens;

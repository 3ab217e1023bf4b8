//! What the app's views need that is not maths on vectors and has no reason to live in
//! the browser: which rows of a long list are on screen ([`window`]), which images the
//! user has picked ([`selection`]), which ones a gallery filter shows, in which order
//! ([`query`]), and the map's plane — zoom, pan, hover, box and lasso ([`plane`]). All
//! pure, so a 10 000-image session's bookkeeping is tested natively.

pub mod plane;
pub mod progress;
pub mod query;
pub mod selection;
pub mod window;

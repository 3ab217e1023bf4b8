//! Small pieces the panels share or the header shows: a vector's colour strip, the
//! confusion matrix, the theme toggle, the emulator banner, the endpoint status, the
//! heatmaps' colour bar, the virtualised list of the long result lists and the line a
//! view shows while it computes, and the line that offers a new version of the app.

pub mod busy_line;
pub mod colour_bar;
pub mod confusion_matrix;
pub mod embedding_strip;
pub mod emulator_banner;
pub mod endpoint_status;
pub mod theme_toggle;
pub mod update_banner;
pub mod virtual_list;

//! follow's views: the event log and --lifetime lines (`log`), the live table (`table`), as
//! text or JSON lines.

mod log;
mod table;

pub use log::{Format, Printer, View};
pub use table::LiveView;

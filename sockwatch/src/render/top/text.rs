//! top's batch text (`-b`): each frame's header, then its rows in aligned columns, then an
//! empty line.

use std::io::{self, Write};

use super::{header, rows, titles};
use crate::top::{frame::Frame, state::AppState};

pub fn write_frame(out: &mut impl Write, frame: &Frame, state: &AppState) -> io::Result<()> {
    for line in header(frame, state) {
        writeln!(out, "{line}")?;
    }
    writeln!(out)?;
    let titles = titles(state);
    let rows = rows(frame, state.grouping);
    let mut widths: Vec<usize> = titles.iter().map(|t| t.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    write_row(out, &titles, &widths)?;
    for row in &rows {
        write_row(out, row, &widths)?;
    }
    writeln!(out)
}

fn write_row(out: &mut impl Write, cells: &[String], widths: &[usize]) -> io::Result<()> {
    let mut line = String::new();
    for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
        if i + 1 == cells.len() {
            line.push_str(cell);
        } else {
            line.push_str(&format!("{cell:<width$}  "));
        }
    }
    writeln!(out, "{}", line.trim_end())
}

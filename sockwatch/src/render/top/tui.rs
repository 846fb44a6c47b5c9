//! top's screen with ratatui: header, the rows of the current grouping, a status line, and
//! the help when asked. Only drawing: the keys change [`AppState`] in `top::state`.

use ratatui::{
    layout::{Constraint, Layout, Rect},
    style::{Modifier, Style},
    text::Line,
    widgets::{Block, Borders, Clear, Paragraph, Row, Table},
};

use super::{header, rows, titles};
use crate::top::{
    frame::Frame,
    state::{AppState, Column},
};

/// What each key does, for `?`.
pub const HELP: &[&str] = &[
    "<  >    move the sort column",
    "i       invert the sort order",
    "/       type an ss filter (Enter applies, Esc cancels, empty clears)",
    "c p r   rows: connections, processes, remote ends",
    "space   pause / resume",
    "q       quit (also Ctrl-C)",
    "?       this help (any key closes it)",
];

fn width(column: Column) -> Constraint {
    match column {
        Column::Local | Column::Peer => Constraint::Min(22),
        Column::Process => Constraint::Min(18),
        Column::State => Constraint::Length(10),
        _ => Constraint::Length(10),
    }
}

/// Draws one frame (None before the first refresh).
pub fn draw(screen: &mut ratatui::Frame, frame: Option<&Frame>, state: &AppState) {
    let header_lines: Vec<Line> = match frame {
        Some(frame) => header(frame, state).into_iter().map(Line::from).collect(),
        None => vec![Line::from("sockwatch top: waiting for the first refresh")],
    };
    let [top, table, status] = Layout::vertical([
        Constraint::Length(header_lines.len() as u16),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(screen.area());
    screen.render_widget(Paragraph::new(header_lines), top);

    let columns = state.grouping.columns();
    let bold = Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED);
    let cells = frame.map(|f| rows(f, state.grouping)).unwrap_or_default();
    let widget = Table::new(
        cells.into_iter().map(Row::new),
        columns.iter().map(|&c| width(c)),
    )
    .header(Row::new(titles(state)).style(bold));
    screen.render_widget(widget, table);

    let status_text = match (&state.editing, &state.status) {
        (Some(text), _) => format!("filter: {text}_"),
        (None, Some(status)) => status.clone(),
        (None, None) => {
            "q quit  ? help  < > sort  i invert  / filter  c p r group  space pause".into()
        }
    };
    screen.render_widget(Paragraph::new(status_text), status);

    if state.help {
        draw_help(screen, table);
    }
}

fn draw_help(screen: &mut ratatui::Frame, area: Rect) {
    let height = (HELP.len() as u16 + 2).min(area.height);
    let width = (HELP.iter().map(|l| l.len()).max().unwrap_or(0) as u16 + 4).min(area.width);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    screen.render_widget(Clear, popup);
    let text: Vec<Line> = HELP.iter().map(|&l| Line::from(l)).collect();
    screen.render_widget(
        Paragraph::new(text).block(Block::default().borders(Borders::ALL).title(" keys ")),
        popup,
    );
}

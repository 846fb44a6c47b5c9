//! top's app state, apart from drawing: what is grouped, sorted, filtered, paused, and what
//! each key does to it.

use std::cmp::Ordering;

use super::frame::{Connection, Frame, Group, Rates};

/// What the rows are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Grouping {
    #[default]
    Connections,
    Processes,
    Remotes,
}

/// A column rows can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    Local,
    Peer,
    State,
    Process,
    Open,
    Opened,
    Closed,
    Failed,
    Rx,
    Tx,
    Retransmits,
    Srtt,
    Age,
}

impl Column {
    pub fn title(self) -> &'static str {
        match self {
            Column::Local => "LOCAL",
            Column::Peer => "PEER",
            Column::State => "STATE",
            Column::Process => "PROCESS",
            Column::Open => "OPEN",
            Column::Opened => "OPENED/S",
            Column::Closed => "CLOSED/S",
            Column::Failed => "FAILED",
            Column::Rx => "RX/S",
            Column::Tx => "TX/S",
            Column::Retransmits => "RETRANS/S",
            Column::Srtt => "SRTT",
            Column::Age => "AGE",
        }
    }
}

impl Grouping {
    /// The columns of this grouping's rows, in screen order.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Grouping::Connections => &[
                Column::Local,
                Column::Peer,
                Column::State,
                Column::Process,
                Column::Rx,
                Column::Tx,
                Column::Retransmits,
                Column::Srtt,
                Column::Age,
            ],
            Grouping::Processes => &[
                Column::Process,
                Column::Open,
                Column::Opened,
                Column::Closed,
                Column::Failed,
                Column::Rx,
                Column::Tx,
                Column::Retransmits,
            ],
            Grouping::Remotes => &[
                Column::Peer,
                Column::Open,
                Column::Opened,
                Column::Closed,
                Column::Failed,
                Column::Rx,
                Column::Tx,
                Column::Retransmits,
            ],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Grouping::Connections => "connections",
            Grouping::Processes => "processes",
            Grouping::Remotes => "remotes",
        }
    }
}

/// What the keys change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppState {
    pub grouping: Grouping,
    /// Index into `grouping.columns()`.
    pub sort: usize,
    /// Ascending instead of the default descending.
    pub inverted: bool,
    pub paused: bool,
    pub help: bool,
    /// The filter's text as typed (empty: none).
    pub filter_text: String,
    /// Text being typed after `/`, until Enter or Esc.
    pub editing: Option<String>,
    /// The status line: the last filter error, or what a key did.
    pub status: Option<String>,
}

impl AppState {
    pub fn new(grouping: Grouping, filter_text: String) -> AppState {
        let mut state = AppState {
            grouping,
            sort: 0,
            inverted: false,
            paused: false,
            help: false,
            filter_text,
            editing: None,
            status: None,
        };
        state.group(grouping);
        state
    }

    pub fn sort_column(&self) -> Column {
        let columns = self.grouping.columns();
        columns[self.sort.min(columns.len() - 1)]
    }

    /// Switches the grouping; rows sort by bytes received until told otherwise.
    pub fn group(&mut self, grouping: Grouping) {
        self.grouping = grouping;
        self.sort = grouping
            .columns()
            .iter()
            .position(|&c| c == Column::Rx)
            .unwrap_or(0);
    }

    /// Moves the sort column left (`<`) or right (`>`), stopping at the ends.
    pub fn move_sort(&mut self, right: bool) {
        let last = self.grouping.columns().len() - 1;
        self.sort = if right {
            (self.sort + 1).min(last)
        } else {
            self.sort.saturating_sub(1)
        };
    }

    /// Sorts the frame's rows of every grouping by the sort column (descending unless
    /// inverted; ties by the first column, so the order is stable between frames). Every
    /// row's key is unique (a connection's ends and cookie, a group's key): an unstable sort
    /// gives the same order, without a stable sort's buffer of thousands of rows.
    pub fn sort(&self, frame: &mut Frame) {
        let column = self.sort_column();
        let order = |o: Ordering| if self.inverted { o } else { o.reverse() };
        sort_rows(&mut frame.connections, |a, b| {
            order(compare_connections(a, b, column))
                .then_with(|| (a.local, a.peer, a.cookie).cmp(&(b.local, b.peer, b.cookie)))
        });
        frame.processes.sort_unstable_by(|a, b| {
            order(compare_groups(a, b, column)).then_with(|| a.key.cmp(&b.key))
        });
        frame.remotes.sort_unstable_by(|a, b| {
            order(compare_groups(a, b, column)).then_with(|| a.key.cmp(&b.key))
        })
    }
}

/// Sorts `rows` by `compare`, moving each row once or not at all: the indices are sorted,
/// then each cycle of the permutation is followed with swaps. A sort of the rows themselves
/// would move thousands of rows of ~170 bytes at every level of its recursion.
fn sort_rows<T>(rows: &mut [T], compare: impl Fn(&T, &T) -> Ordering) {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_unstable_by(|&a, &b| compare(&rows[a], &rows[b]));
    // Position i takes the row at order[i]; a visited position is marked order[i] = i.
    for start in 0..order.len() {
        let mut at = start;
        loop {
            let from = order[at];
            order[at] = at;
            if from == start || from == at {
                break;
            }
            rows.swap(at, from);
            at = from;
        }
    }
}

fn compare_rates(a: &Rates, b: &Rates, column: Column) -> Option<Ordering> {
    let pick = |r: &Rates| match column {
        Column::Rx => Some(r.rx_bytes),
        Column::Tx => Some(r.tx_bytes),
        Column::Retransmits => Some(r.retransmits),
        _ => None,
    };
    Some(pick(a)?.total_cmp(&pick(b)?))
}

fn compare_options(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        (a, b) => a.is_some().cmp(&b.is_some()),
    }
}

fn compare_connections(a: &Connection, b: &Connection, column: Column) -> Ordering {
    if let Some(o) = compare_rates(&a.rates, &b.rates, column) {
        return o;
    }
    match column {
        Column::Local => a.local.cmp(&b.local),
        Column::Peer => a.peer.cmp(&b.peer),
        Column::State => a.state.kernel().cmp(&b.state.kernel()),
        Column::Process => a.process.cmp(&b.process),
        Column::Srtt => compare_options(a.srtt_ms, b.srtt_ms),
        Column::Age => compare_options(a.age_ms, b.age_ms),
        _ => Ordering::Equal,
    }
}

/// The failures of a group, added up (the FAILED column).
pub fn failures_total(failures: &[(&str, u64)]) -> u64 {
    failures.iter().map(|(_, n)| n).sum()
}

fn compare_groups<K: Ord>(a: &Group<K>, b: &Group<K>, column: Column) -> Ordering {
    if let Some(o) = compare_rates(&a.rates, &b.rates, column) {
        return o;
    }
    match column {
        Column::Process | Column::Peer => a.key.cmp(&b.key),
        Column::Open => a.open.cmp(&b.open),
        Column::Opened => compare_options(a.opened_per_s, b.opened_per_s),
        Column::Closed => compare_options(a.closed_per_s, b.closed_per_s),
        Column::Failed => failures_total(&a.failures).cmp(&failures_total(&b.failures)),
        _ => Ordering::Equal,
    }
}

/// A key, as top's state reads it (the terminal layer translates its events).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Enter,
    Escape,
    Backspace,
    /// Ctrl-C.
    Interrupt,
}

/// What a key asks of the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The state changed: draw again.
    Redraw,
    Quit,
    /// Parse this filter text (empty: no filter) and report with [`AppState::filter_result`].
    Filter(String),
}

impl AppState {
    pub fn key(&mut self, key: Key) -> Outcome {
        if key == Key::Interrupt {
            return Outcome::Quit;
        }
        if let Some(text) = &mut self.editing {
            match key {
                Key::Char(c) if !c.is_control() => text.push(c),
                Key::Backspace => {
                    text.pop();
                }
                Key::Enter => {
                    let text = std::mem::take(text);
                    self.editing = None;
                    return Outcome::Filter(text);
                }
                Key::Escape => self.editing = None,
                _ => {}
            }
            return Outcome::Redraw;
        }
        if self.help {
            self.help = false;
            return Outcome::Redraw;
        }
        self.status = None;
        match key {
            Key::Char('q') => return Outcome::Quit,
            Key::Char('<' | ',') => self.move_sort(false),
            Key::Char('>' | '.') => self.move_sort(true),
            Key::Char('i') => self.inverted = !self.inverted,
            Key::Char('/') => self.editing = Some(self.filter_text.clone()),
            Key::Char('c') => self.group(Grouping::Connections),
            Key::Char('p') => self.group(Grouping::Processes),
            Key::Char('r') => self.group(Grouping::Remotes),
            Key::Char(' ') => self.paused = !self.paused,
            Key::Char('?') => self.help = true,
            _ => {}
        }
        Outcome::Redraw
    }

    /// What came of parsing `text` after `/`: it becomes the filter, or its error goes to
    /// the status line and the old filter stays.
    pub fn filter_result(&mut self, text: String, result: Result<(), String>) {
        match result {
            Ok(()) => {
                self.status = Some(if text.is_empty() {
                    "filter cleared".to_string()
                } else {
                    format!("filter: {text}")
                });
                self.filter_text = text;
            }
            Err(e) => self.status = Some(format!("filter not changed: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        model::{Cookie, SockState},
        top::frame::{Frame, Totals},
    };

    #[test]
    fn rows_sorted_through_their_indices_come_out_as_a_plain_sort_puts_them() {
        // Cycles of every length and fixed points; keys repeat, the index breaks ties (as a
        // frame's unique keys do).
        let mut state = 0x2545_f491u32;
        for len in [0, 1, 2, 3, 7, 100, 1000] {
            let rows: Vec<(u32, usize)> = (0..len)
                .map(|i| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    (state % 50, i)
                })
                .collect();
            let mut expected = rows.clone();
            expected.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
            let mut sorted = rows;
            sort_rows(&mut sorted, |a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
            assert_eq!(sorted, expected, "{len} rows");
        }
    }

    fn connection(port: u16, rx: f64, srtt: Option<f64>) -> Connection {
        Connection {
            cookie: Cookie(u64::from(port)),
            state: SockState::Established,
            local: format!("127.0.0.1:{port}").parse().unwrap(),
            peer: "127.0.0.2:80".parse().unwrap(),
            process: None,
            rates: Rates {
                rx_bytes: rx,
                ..Rates::default()
            },
            srtt_ms: srtt,
            age_ms: None,
        }
    }

    fn frame() -> Frame {
        Frame {
            ts_ns: 0,
            interval_ms: 1000.0,
            degraded: None,
            totals: Totals::default(),
            connections: vec![
                connection(1, 10.0, Some(3.0)),
                connection(2, 30.0, None),
                connection(3, 20.0, Some(1.0)),
            ],
            processes: Vec::new(),
            remotes: Vec::new(),
        }
    }

    fn ports(frame: &Frame) -> Vec<u16> {
        frame.connections.iter().map(|c| c.local.port()).collect()
    }

    #[test]
    fn rows_sort_by_bytes_received_first_and_the_keys_move_and_invert() {
        let mut state = AppState::new(Grouping::Connections, String::new());
        let mut f = frame();
        state.sort(&mut f);
        assert_eq!(ports(&f), [2, 3, 1]);
        assert_eq!(state.key(Key::Char('i')), Outcome::Redraw);
        state.sort(&mut f);
        assert_eq!(ports(&f), [1, 3, 2]);
        // RX, TX, RETRANS, then SRTT: unknown sorts below every known value.
        for _ in 0..3 {
            state.key(Key::Char('>'));
        }
        assert_eq!(state.sort_column(), Column::Srtt);
        state.key(Key::Char('i'));
        state.sort(&mut f);
        assert_eq!(ports(&f), [1, 3, 2]);
        for _ in 0..20 {
            state.key(Key::Char('<'));
        }
        assert_eq!(state.sort_column(), Column::Local);
        state.sort(&mut f);
        assert_eq!(ports(&f), [3, 2, 1]);
    }

    #[test]
    fn grouping_keys_switch_rows_and_reset_the_sort() {
        let mut state = AppState::new(Grouping::Connections, String::new());
        state.key(Key::Char('p'));
        assert_eq!(state.grouping, Grouping::Processes);
        assert_eq!(state.sort_column(), Column::Rx);
        state.key(Key::Char('r'));
        assert_eq!(state.grouping.columns()[0], Column::Peer);
        state.key(Key::Char(' '));
        assert!(state.paused);
        state.key(Key::Char('?'));
        assert!(state.help);
        assert_eq!(
            state.key(Key::Char('q')),
            Outcome::Redraw,
            "a key closes help"
        );
        assert_eq!(state.key(Key::Char('q')), Outcome::Quit);
        assert_eq!(state.key(Key::Interrupt), Outcome::Quit);
    }

    #[test]
    fn a_typed_filter_is_handed_back_and_a_bad_one_keeps_the_old() {
        let mut state = AppState::new(Grouping::Connections, "dport = :22".into());
        state.key(Key::Char('/'));
        assert_eq!(state.editing.as_deref(), Some("dport = :22"));
        for _ in 0..2 {
            state.key(Key::Backspace);
        }
        state.key(Key::Char('4'));
        state.key(Key::Char('4'));
        state.key(Key::Char('3'));
        assert_eq!(
            state.key(Key::Char('q')),
            Outcome::Redraw,
            "q is text while typing"
        );
        state.key(Key::Backspace);
        let Outcome::Filter(text) = state.key(Key::Enter) else {
            panic!("Enter hands the filter back");
        };
        assert_eq!(text, "dport = :443");
        state.filter_result(text.clone(), Err("bad".into()));
        assert_eq!(state.filter_text, "dport = :22");
        assert!(state.status.as_deref().unwrap().contains("bad"));
        state.filter_result(text, Ok(()));
        assert_eq!(state.filter_text, "dport = :443");
        state.key(Key::Char('/'));
        assert_eq!(state.key(Key::Escape), Outcome::Redraw);
        assert_eq!(state.editing, None);
    }
}

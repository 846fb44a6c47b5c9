//! ss's column layout. ss does not print as it goes: it stores every field as a token, sizes
//! each column from the longest token it holds, then prints. This module reproduces that
//! exactly, quirks included:
//!
//! - Columns are as wide as their longest token plus their left delimiter; right-aligned
//!   columns (the addresses) are padded on the left, the others on the right, the last
//!   ("Process", which holds everything after the peer port) too.
//! - On a terminal, the spare width of each screen line is shared out between its columns.
//! - ss keeps its tokens in 1 MiB chunks and prints what it holds whenever a record starts
//!   with five or more chunks filled; widths only grow from batch to batch, as they are never
//!   reset. The chunk filling is replayed byte for byte to print batches where ss does.
//! - The last record's final column is printed without counting towards its column's width.

use std::io::{self, Write};

/// ss's columns, in order. `Ext` holds everything printed after the peer port (process,
/// timer, details, and the indented continuation lines); `Proc` is always empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Col {
    Netid,
    State,
    RecvQ,
    SendQ,
    Addr,
    Serv,
    RAddr,
    RServ,
    Ext,
    Proc,
}

const COLUMNS: usize = 10;

impl Col {
    const ALL: [Col; COLUMNS] = [
        Col::Netid,
        Col::State,
        Col::RecvQ,
        Col::SendQ,
        Col::Addr,
        Col::Serv,
        Col::RAddr,
        Col::RServ,
        Col::Ext,
        Col::Proc,
    ];

    fn header(self) -> &'static [u8] {
        match self {
            Col::Netid => b"Netid",
            Col::State => b"State",
            Col::RecvQ => b"Recv-Q",
            Col::SendQ => b"Send-Q",
            Col::Addr => b"Local Address:",
            Col::Serv | Col::RServ => b"Port",
            Col::RAddr => b"Peer Address:",
            Col::Ext => b"Process",
            Col::Proc => b"",
        }
    }

    /// The spaces printed before the column's text unless it starts the line.
    fn left_spaces(self) -> usize {
        match self {
            Col::State | Col::RecvQ | Col::SendQ | Col::Addr | Col::RAddr => 1,
            _ => 0,
        }
    }

    fn right_aligned(self) -> bool {
        matches!(self, Col::Addr | Col::RAddr)
    }

    /// The column after this one (Proc is the last).
    pub(super) fn next(self) -> Col {
        Col::ALL
            .get(self as usize + 1)
            .copied()
            .unwrap_or(Col::Proc)
    }
}

/// Replays how ss's output buffer fills: tokens of a 2-byte length and the text, aligned to
/// 2 bytes, packed in 1 MiB chunks (less the chunk header); a token that does not fit moves
/// whole to a new chunk.
#[derive(Debug, Default)]
struct ChunkMeter {
    chunks: usize,
    used: usize,
    token_len: usize,
    token_starts_chunk: bool,
}

const CHUNK_ROOM: usize = 1024 * 1024 - 16;
const TOKEN_HEADER: usize = 2;
/// ss prints its buffer when a record starts with this many chunks allocated.
const PRINT_AT_CHUNKS: usize = 5;
/// How much printed text is written at once: exactly a pipe's default capacity, which a
/// write of more would fill and then wait on a second time.
const PRINT_CHUNK: usize = 1 << 16;

impl ChunkMeter {
    fn new_chunk(&mut self) {
        self.chunks += 1;
        self.used = TOKEN_HEADER;
        self.token_starts_chunk = true;
    }

    /// A field's text. ss may write it in several calls; whether the token moves to a new
    /// chunk depends only on the sum, except for a field written with no text at all, which
    /// callers report with `len` 0 only when ss calls its writer for it.
    fn write(&mut self, len: usize) {
        if self.chunks == 0 {
            self.new_chunk();
        }
        let room = CHUNK_ROOM.saturating_sub(self.used);
        if len >= room && !self.token_starts_chunk {
            let partial = self.token_len;
            self.new_chunk();
            self.used += partial;
        }
        self.used += len;
        self.token_len += len;
    }

    /// The field is complete: the next token's length goes after it, 2-byte aligned.
    fn flush(&mut self) {
        if self.chunks == 0 {
            self.new_chunk();
        }
        let pad = self.token_len % 2;
        let room = CHUNK_ROOM.saturating_sub(self.used);
        if room < pad + TOKEN_HEADER {
            self.new_chunk();
        } else {
            self.used += pad + TOKEN_HEADER;
            self.token_starts_chunk = false;
        }
        self.token_len = 0;
    }
}

/// Where the table stands between fields, as ss's `current_field`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Position {
    /// Nothing written since the last print.
    Fresh,
    /// In the middle of a line, at this column.
    At(Col),
}

pub struct Table {
    enabled: [bool; COLUMNS],
    /// Column widths from a terminal's width, or None for compact output (not a terminal).
    screen_width: Option<usize>,
    /// Text of the tokens not yet printed, and where each ends. A batch holds about 5 MiB
    /// (see [`ChunkMeter`]), so u32 offsets do, at half the memory of usize ones.
    text: Vec<u8>,
    ends: Vec<u32>,
    /// Longest token seen per column, over the whole output (ss never resets it).
    max_len: [usize; COLUMNS],
    position: Position,
    meter: ChunkMeter,
    scratch: Vec<u8>,
    /// Lines being printed, kept for the next print.
    printed: Vec<u8>,
}

impl Table {
    pub fn new(netid: bool, state: bool, screen_width: Option<usize>) -> Table {
        let mut enabled = [true; COLUMNS];
        enabled[Col::Netid as usize] = netid;
        enabled[Col::State as usize] = state;
        Table {
            enabled,
            screen_width,
            text: Vec::with_capacity(1 << 16),
            ends: Vec::with_capacity(1 << 12),
            max_len: [0; COLUMNS],
            position: Position::Fresh,
            meter: ChunkMeter::default(),
            scratch: Vec::new(),
            printed: Vec::new(),
        }
    }

    pub fn header(&mut self) {
        for col in &Col::ALL[..Col::Proc as usize] {
            self.field(*col).extend_from_slice(col.header());
        }
        self.close_token(Col::Ext, true);
        self.position = Position::At(Col::Proc);
    }

    /// Starts a record's line; may print the lines buffered so far, as ss does.
    pub fn start_record(&mut self, out: &mut impl Write) -> io::Result<()> {
        let Position::At(mut col) = self.position else {
            return Ok(());
        };
        while col < Col::Proc {
            self.close_token(col, true);
            col = col.next();
        }
        // ss checks its buffer on leaving the last column, and prints before storing the
        // (empty) last token.
        if self.meter.chunks >= PRINT_AT_CHUNKS {
            self.close_token(Col::Proc, false);
            return self.print(out);
        }
        self.close_token(Col::Proc, true);
        self.position = Position::Fresh;
        Ok(())
    }

    /// The text buffer of `col` in the current line: earlier columns not written yet get
    /// empty tokens. Text for a hidden column is discarded.
    pub fn field(&mut self, col: Col) -> &mut Vec<u8> {
        let mut next = match self.position {
            Position::Fresh => Col::Netid,
            Position::At(current) if current == col => return self.buffer(col),
            Position::At(current) => {
                self.close_token(current, true);
                current.next()
            }
        };
        while next < col {
            self.close_token(next, true);
            next = next.next();
        }
        self.position = Position::At(col);
        self.buffer(col)
    }

    fn buffer(&mut self, col: Col) -> &mut Vec<u8> {
        if self.enabled[col as usize] {
            &mut self.text
        } else {
            self.scratch.clear();
            &mut self.scratch
        }
    }

    /// Ends the current token of `col`. Uncounted tokens are printed but, as in ss, neither
    /// measured nor stored in its buffer: the last token of the output, and the empty last
    /// column of a line after which ss prints.
    fn close_token(&mut self, col: Col, counted: bool) {
        if !self.enabled[col as usize] {
            return;
        }
        let start = self.ends.last().map_or(0, |&end| end as usize);
        let len = self.text.len() - start;
        self.ends.push(self.text.len() as u32);
        if !counted {
            return;
        }
        // ss calls its writer for every column but Ext (only when there is text) and Proc.
        let written = match col {
            Col::Ext => len > 0,
            Col::Proc => false,
            _ => true,
        };
        if written {
            self.meter.write(len);
        }
        self.max_len[col as usize] = self.max_len[col as usize].max(len);
        self.meter.flush();
    }

    /// Prints whatever is buffered.
    pub fn finish(&mut self, out: &mut impl Write) -> io::Result<()> {
        if let Position::At(col) = self.position {
            self.close_token(col, false);
        }
        if self.ends.is_empty() {
            return Ok(());
        }
        self.print(out)
    }

    fn print(&mut self, out: &mut impl Write) -> io::Result<()> {
        let widths = self.widths();
        let columns: Vec<Col> = Col::ALL
            .into_iter()
            .filter(|c| self.enabled[*c as usize])
            .collect();
        // Lines are built in one buffer, written every PRINT_CHUNK bytes: a few large
        // writes instead of several small ones a token. Padding and delimiters are
        // spaces, so the run between two tokens goes in at once.
        let mut chunk = std::mem::take(&mut self.printed);
        chunk.clear();
        let mut start = 0;
        for line in self.ends.chunks(columns.len()) {
            let mut spaces = 0;
            for (position, (&col, &end)) in columns.iter().zip(line).enumerate() {
                let end = end as usize;
                let token = &self.text[start..end];
                start = end;
                let width = widths[col as usize];
                let mut printed = 0;
                if position != 0 {
                    printed = col.left_spaces();
                }
                if width > 0 && col.right_aligned() {
                    printed = printed.max(width.saturating_sub(token.len()));
                }
                spaces += printed;
                if !token.is_empty() {
                    chunk.resize(chunk.len() + spaces, b' ');
                    chunk.extend_from_slice(token);
                    spaces = 0;
                }
                printed += token.len();
                if width > 0 && !col.right_aligned() {
                    spaces += width.saturating_sub(printed);
                }
            }
            // Lines end after their last column (Proc), the output's last one without its
            // empty last token.
            chunk.resize(chunk.len() + spaces, b' ');
            chunk.push(b'\n');
            if chunk.len() >= PRINT_CHUNK {
                out.write_all(&chunk[..PRINT_CHUNK])?;
                chunk.drain(..PRINT_CHUNK);
            }
        }
        out.write_all(&chunk)?;
        self.printed = chunk;
        self.text.clear();
        self.ends.clear();
        self.meter = ChunkMeter::default();
        self.position = Position::Fresh;
        Ok(())
    }

    /// ss's render_calc_width.
    fn widths(&self) -> [usize; COLUMNS] {
        let mut widths = [0usize; COLUMNS];
        let screen = self.screen_width.unwrap_or(usize::MAX);
        let mut first = true;
        for col in Col::ALL {
            if !self.enabled[col as usize] {
                continue;
            }
            let max_len = self.max_len[col as usize];
            let width = if !first && max_len > 0 {
                max_len + col.left_spaces()
            } else {
                max_len
            };
            widths[col as usize] = width.min(screen);
            if width > 0 {
                first = false;
            }
        }
        if self.screen_width.is_some() {
            spread_over_screen(&mut widths, screen);
        }
        widths
    }
}

/// Breaks the columns into screen lines as ss does and shares each line's spare width
/// out between its columns, the later ones getting the remainder.
fn spread_over_screen(widths: &mut [usize; COLUMNS], screen: usize) {
    // Line breaks are only imagined: what matters is the spacing they give the columns.
    let mut line_start = 0; // first column index of the current screen line
    let mut len = 0;
    let mut line_cols = 0;
    let mut c = 0;
    while c < COLUMNS {
        if widths[c] == 0 {
            c += 1;
            continue;
        }
        line_cols += 1;
        len += widths[c];
        let last = widths[c + 1..].iter().all(|&w| w == 0);
        if !last && len < screen {
            c += 1;
            continue;
        }
        if len != screen {
            let mut end = c; // last column on this line, inclusive
            if len > screen {
                len -= widths[c];
                line_cols -= 1;
                end = c - 1;
            }
            if let Some(spacing) = (screen - len).checked_div(line_cols) {
                let mut remainder = (screen - len) % line_cols;
                for w in widths[line_start..=end].iter_mut().rev() {
                    if *w == 0 {
                        continue;
                    }
                    *w += spacing;
                    if remainder > 0 {
                        *w += 1;
                        remainder -= 1;
                    }
                }
            }
            c = end;
        }
        line_start = c + 1;
        len = 0;
        line_cols = 0;
        c += 1;
    }
}

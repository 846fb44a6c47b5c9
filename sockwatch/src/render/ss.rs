//! Socket records as iproute2 ss 6.1 prints them, byte for byte: the table with ss's column
//! sizing, and everything -e, -o, -m, -i, -p and -O add.

mod addr;
mod ext;
pub(crate) mod fmt;
pub mod names;
mod table;
mod tcp_info;
#[cfg(test)]
mod tests;

use std::io::{self, Write};

use crate::model::{Netid, SockState, SocketRecord};
use crate::render::ShowOptions;
pub use names::{Names, SystemNames};
use table::{Col, Table};

/// How the table is laid out, from the command line and the terminal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsLayout {
    /// Show the Netid column: ss hides it when only one socket table (tcp, udp, u_str, ...)
    /// is selected.
    pub netid: bool,
    /// Show the State column: ss hides it when the state filter keeps a single state.
    pub state: bool,
    /// Terminal width ([`terminal_width`]); None when stdout is not a terminal, where ss
    /// sizes columns to their contents only.
    pub screen_width: Option<usize>,
    /// How ports of mptcp, sctp and dccp sockets are named: see [`OtherPortNames`].
    pub other_port_names: OtherPortNames,
}

impl Default for SsLayout {
    fn default() -> Self {
        SsLayout {
            netid: true,
            state: true,
            screen_width: None,
            other_port_names: OtherPortNames::Tcp,
        }
    }
}

/// ss names tcp ports from the tcp services, udp ports from the udp ones and raw sockets'
/// "ports" (their IP protocol) from /etc/protocols; mptcp, sctp and dccp sockets inherit
/// whichever of these the last of the tcp, udp and raw tables ss listed before them used:
/// tcp when the tcp table was selected, else udp when udp was, else raw when raw was, else
/// services of any transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OtherPortNames {
    Tcp,
    Udp,
    Protocols,
    AnyTransport,
}

/// The width of the terminal on stdout, None when stdout is not a terminal.
pub fn terminal_width() -> Option<usize> {
    // SAFETY: isatty only inspects the descriptor.
    if unsafe { libc::isatty(libc::STDOUT_FILENO) } != 1 {
        return None;
    }
    // SAFETY: winsize is plain data; TIOCGWINSZ writes one winsize to the pointer.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: see above.
    let status = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) };
    (status != -1 && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

/// Writes `records` (already filtered, in the order ss would list them) as ss does, header
/// included unless `opts.no_header`.
pub fn render_ss<W: Write, N: Names + ?Sized>(
    records: &[SocketRecord],
    opts: &ShowOptions,
    layout: &SsLayout,
    names: &mut N,
    out: &mut W,
) -> io::Result<()> {
    let mut writer = SsWriter::new(opts, layout, names, out);
    for record in records {
        writer.write_record(record)?;
    }
    writer.finish().map(drop)
}

/// [`render_ss`] one record at a time, for records that stream in: each record's text is
/// formatted as it comes, and lines are printed where ss prints them (see the table
/// module), so memory stays bounded however many sockets there are.
pub struct SsWriter<'a, W: Write, N: Names + ?Sized> {
    table: Table,
    printer: Printer<'a, N>,
    out: W,
}

impl<'a, W: Write, N: Names + ?Sized> SsWriter<'a, W, N> {
    /// Starts the table, with its header unless `opts.no_header`.
    pub fn new(opts: &'a ShowOptions, layout: &'a SsLayout, names: &'a mut N, out: W) -> Self {
        let mut table = Table::new(layout.netid, layout.state, layout.screen_width);
        if !opts.no_header {
            table.header();
        }
        SsWriter {
            table,
            printer: Printer {
                opts,
                layout,
                names,
            },
            out,
        }
    }

    /// Adds the next record (already filtered, in ss's order).
    pub fn write_record(&mut self, record: &SocketRecord) -> io::Result<()> {
        self.table.start_record(&mut self.out)?;
        self.printer.record(&mut self.table, record);
        Ok(())
    }

    /// Prints what is buffered now and flushes the output, as ss's -E does after each
    /// socket (column widths keep growing from one print to the next, as in ss).
    pub fn render_now(&mut self) -> io::Result<()> {
        self.table.finish(&mut self.out)?;
        self.out.flush()
    }

    /// Prints what is still buffered and hands the output back.
    pub fn finish(mut self) -> io::Result<W> {
        self.table.finish(&mut self.out)?;
        Ok(self.out)
    }
}

/// ss's Netid for a TIPC socket of `sock_type`.
fn tipc_netid_name(sock_type: u32) -> &'static str {
    match sock_type as i32 {
        libc::SOCK_STREAM => "ti_st",
        libc::SOCK_DGRAM => "ti_dg",
        libc::SOCK_RDM => "ti_rd",
        libc::SOCK_SEQPACKET => "ti_sq",
        _ => "???",
    }
}

/// What every field printer needs.
struct Printer<'a, N: Names + ?Sized> {
    opts: &'a ShowOptions,
    layout: &'a SsLayout,
    names: &'a mut N,
}

impl<N: Names + ?Sized> Printer<'_, N> {
    fn record(&mut self, table: &mut Table, record: &SocketRecord) {
        let netid = match (record.netid, record.tipc) {
            // ss names a TIPC socket by its type.
            (Netid::Tipc, Some(tipc)) => tipc_netid_name(tipc.sock_type),
            (netid, _) => netid.ss_name(),
        };
        table.field(Col::Netid).extend_from_slice(netid.as_bytes());
        let state = if record.netid.is_packet() || record.netid == Netid::Netlink {
            // ss always shows these as unconnected.
            SockState::Close
        } else {
            record.state
        };
        table
            .field(Col::State)
            .extend_from_slice(state.ss_name().as_bytes());
        // ss keeps queue lengths in ints.
        fmt::push_i64_left(table.field(Col::RecvQ), i64::from(record.recv_q as i32), 6);
        fmt::push_i64_left(table.field(Col::SendQ), i64::from(record.send_q as i32), 6);
        self.endpoints(table, record);
        let ext = table.field(Col::Ext);
        self.ext(ext, record);
    }
}

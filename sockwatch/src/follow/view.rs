//! How follow shows what happens: an event log line a transition, a line a finished
//! connection (--lifetime), or JSON lines of either.

use std::{io, io::Write, net::SocketAddr};

use serde::Serialize;

use super::{clock::WallClock, table::Applied};
use crate::event::{Transition, TransitionKind};
use crate::services::{Services, Transport};

/// Which view follow prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// One line a transition.
    Log,
    /// One line a finished connection.
    Lifetime,
    /// The live socket table, redrawn at an interval.
    Table,
}

/// Output format of a view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    JsonLines,
}

pub struct Printer {
    view: View,
    format: Format,
    clock: WallClock,
    numeric: bool,
}

#[derive(Serialize)]
struct JsonEndpoint {
    address: String,
    port: u16,
}

impl From<SocketAddr> for JsonEndpoint {
    fn from(addr: SocketAddr) -> Self {
        JsonEndpoint {
            address: addr.ip().to_string(),
            port: addr.port(),
        }
    }
}

#[derive(Serialize)]
struct JsonTransition<'a> {
    r#type: &'static str,
    time: String,
    ts_ns: u64,
    cookie: u64,
    netns: u32,
    kind: TransitionKind,
    pid: Option<u32>,
    tid: Option<u32>,
    uid: Option<u32>,
    cgroup: Option<u64>,
    comm: Option<&'a str>,
    local: JsonEndpoint,
    remote: JsonEndpoint,
    old_state: &'static str,
    new_state: &'static str,
    ms_in_old_state: Option<f64>,
    lifetime_ms: Option<f64>,
    bytes_acked: Option<u64>,
    bytes_received: Option<u64>,
    total_retrans: Option<u32>,
}

#[derive(Serialize)]
struct JsonLost {
    r#type: &'static str,
    lost: u64,
}

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.3}"))
}

impl Printer {
    pub fn new(view: View, format: Format, clock: WallClock, numeric: bool) -> Printer {
        Printer {
            view,
            format,
            clock,
            numeric,
        }
    }

    /// `addr:port` as ss prints it: IPv6 in brackets, the port as a service name unless -n.
    fn endpoint(&self, addr: &SocketAddr) -> String {
        let port = addr.port();
        let named = (!self.numeric && port != 0)
            .then(|| Services::system().name_of(port, Transport::Tcp))
            .flatten();
        let port = named.map_or_else(|| port.to_string(), str::to_string);
        match addr {
            SocketAddr::V4(a) => format!("{}:{port}", a.ip()),
            SocketAddr::V6(a) => format!("[{}]:{port}", a.ip()),
        }
    }

    pub fn header(&self, out: &mut impl Write) -> io::Result<()> {
        if self.format == Format::JsonLines {
            return Ok(());
        }
        match self.view {
            View::Table => Ok(()),
            View::Log => writeln!(
                out,
                "{:<15} {:>7} {:<16} {:<26} {:<26} {:<11} -> {:<11} {:>9}",
                "TIME", "PID", "COMM", "LOCAL", "REMOTE", "OLD", "NEW", "MS"
            ),
            View::Lifetime => writeln!(
                out,
                "{:<15} {:>7} {:<16} {:<26} {:<26} {:>10} {:>10} {:>7} {:>10}",
                "TIME", "PID", "COMM", "LOCAL", "REMOTE", "TX_BYTES", "RX_BYTES", "RETRANS", "MS"
            ),
        }
    }

    /// Prints one transition if the view shows it; says whether it did.
    pub fn transition(
        &self,
        out: &mut impl Write,
        t: &Transition,
        applied: &Applied,
    ) -> io::Result<bool> {
        let shown = match self.view {
            View::Log => matches!(t.kind, TransitionKind::State | TransitionKind::Destroy),
            View::Lifetime => t.kind == TransitionKind::Destroy,
            View::Table => false,
        };
        if !shown {
            return Ok(false);
        }
        self.write_transition(out, t, applied)?;
        Ok(true)
    }

    fn write_transition(
        &self,
        out: &mut impl Write,
        t: &Transition,
        applied: &Applied,
    ) -> io::Result<()> {
        let owner = applied.owner.as_ref();
        let time = self.clock.format(t.ts_ns);
        if self.format == Format::JsonLines {
            let line = JsonTransition {
                r#type: match t.kind {
                    TransitionKind::State => "transition",
                    TransitionKind::Destroy => "destroy",
                    TransitionKind::Owner => "owner",
                    TransitionKind::Snapshot => "snapshot",
                },
                time,
                ts_ns: t.ts_ns,
                cookie: t.cookie.0,
                netns: t.netns,
                kind: t.kind,
                pid: owner.map(|o| o.pid),
                tid: owner.map(|o| o.tid),
                uid: owner.map(|o| o.uid),
                cgroup: owner.map(|o| o.cgroup),
                comm: owner.map(|o| o.comm.as_str()),
                local: t.local.into(),
                remote: t.remote.into(),
                old_state: t.old.kernel_name(),
                new_state: t.new.kernel_name(),
                ms_in_old_state: applied.ms_in_old_state,
                lifetime_ms: applied.lifetime_ms,
                bytes_acked: t.close.map(|c| c.bytes_acked),
                bytes_received: t.close.map(|c| c.bytes_received),
                total_retrans: t.close.map(|c| c.total_retrans),
            };
            serde_json::to_writer(&mut *out, &line)?;
            return writeln!(out);
        }
        let pid = owner.map_or_else(|| "-".to_string(), |o| o.pid.to_string());
        let comm = owner.map_or("-", |o| o.comm.as_str());
        match self.view {
            View::Table => Ok(()),
            View::Log => writeln!(
                out,
                "{:<15} {:>7} {:<16} {:<26} {:<26} {:<11} -> {:<11} {:>9}",
                time,
                pid,
                comm,
                self.endpoint(&t.local),
                self.endpoint(&t.remote),
                t.old.kernel_name(),
                match t.kind {
                    TransitionKind::Destroy => "DESTROYED",
                    _ => t.new.kernel_name(),
                },
                ms(applied.ms_in_old_state)
            ),
            View::Lifetime => {
                let close = t.close.unwrap_or(crate::event::CloseStats {
                    bytes_acked: 0,
                    bytes_received: 0,
                    total_retrans: 0,
                });
                writeln!(
                    out,
                    "{:<15} {:>7} {:<16} {:<26} {:<26} {:>10} {:>10} {:>7} {:>10}",
                    time,
                    pid,
                    comm,
                    self.endpoint(&t.local),
                    self.endpoint(&t.remote),
                    close.bytes_acked,
                    close.bytes_received,
                    close.total_retrans,
                    ms(applied.lifetime_ms)
                )
            }
        }
    }

    /// Reports events the kernel could not deliver.
    pub fn lost(&self, out: &mut impl Write, lost: u64) -> io::Result<()> {
        match self.format {
            Format::JsonLines => {
                serde_json::to_writer(
                    &mut *out,
                    &JsonLost {
                        r#type: "lost",
                        lost,
                    },
                )?;
                writeln!(out)
            }
            Format::Text => writeln!(out, "LOST {lost} events"),
        }
    }
}

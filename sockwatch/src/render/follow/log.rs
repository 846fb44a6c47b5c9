//! The event log (one line a transition) and `--lifetime` (one line a finished connection)
//! as text columns. Strings from other processes (comms) pass the escaper.

use std::io::{self, Write};

use super::{push_tcp_endpoint, View};
use crate::{
    container::OwnerIdentity,
    escape::push_escaped,
    event::{Transition, TransitionKind},
    follow::{
        clock::{TimeText, WallClock},
        reasons::{errno_name, Story},
        table::Applied,
    },
    render::ss::fmt::push_u64,
};

const TIME_WIDTH: usize = 15;
const PID_WIDTH: usize = 7;
const COMM_WIDTH: usize = 16;
const CONTAINER_WIDTH: usize = 12;
const ADDRESS_WIDTH: usize = 26;
const STATE_WIDTH: usize = 11;

/// Appends what `text` pushes, left-aligned in `width` columns (longer text is kept whole).
pub(super) fn push_left(buf: &mut Vec<u8>, width: usize, text: impl FnOnce(&mut Vec<u8>)) {
    let start = buf.len();
    text(buf);
    let len = buf.len() - start;
    buf.resize(buf.len() + width.saturating_sub(len), b' ');
}

/// Appends what `text` pushes, right-aligned in `width` columns.
pub(super) fn push_right(buf: &mut Vec<u8>, width: usize, text: impl FnOnce(&mut Vec<u8>)) {
    let start = buf.len();
    text(buf);
    let len = buf.len() - start;
    if len < width {
        let pad = width - len;
        buf.resize(buf.len() + pad, b' ');
        buf.copy_within(start..start + len, start + pad);
        buf[start..start + pad].fill(b' ');
    }
}

/// Milliseconds with three decimals, `-` when unknown.
pub(super) fn push_ms(buf: &mut Vec<u8>, value: Option<f64>) {
    let Some(ms) = value else {
        buf.push(b'-');
        return;
    };
    let micros = (ms * 1000.0).round() as u64;
    push_u64(buf, micros / 1000);
    let frac = micros % 1000;
    buf.extend_from_slice(&[
        b'.',
        b'0' + (frac / 100) as u8,
        b'0' + (frac / 10 % 10) as u8,
        b'0' + (frac % 10) as u8,
    ]);
}

fn push_title(buf: &mut Vec<u8>, title: &[u8]) {
    buf.extend_from_slice(title);
}

/// ` reason (ERRNO) detail` on the line that ends a connection; nothing otherwise.
fn push_reason(buf: &mut Vec<u8>, story: &Story) {
    let Some(reason) = story.reason else {
        return;
    };
    buf.push(b' ');
    buf.extend_from_slice(reason.name().as_bytes());
    if let Some(errno) = story.errno {
        buf.extend_from_slice(b" (");
        buf.extend_from_slice(errno_name(errno).as_bytes());
        buf.push(b')');
    }
    if let Some(detail) = &story.detail {
        buf.push(b' ');
        buf.extend_from_slice(detail.as_bytes());
    }
}

pub struct LogText {
    time_text: TimeText,
    numeric: bool,
    line: Vec<u8>,
}

impl LogText {
    pub fn new(clock: WallClock, numeric: bool) -> LogText {
        LogText {
            time_text: TimeText::new(clock),
            numeric,
            line: Vec::with_capacity(256),
        }
    }

    /// The column titles of the log and lifetime views (the table prints its own).
    pub fn header(&mut self, out: &mut impl Write, view: View, container: bool) -> io::Result<()> {
        if view == View::Table {
            return Ok(());
        }
        const LEFT: bool = false;
        const RIGHT: bool = true;
        // (title, width, right-aligned, what follows it)
        let mut columns: Vec<(&[u8], usize, bool, &[u8])> = vec![
            (b"TIME", TIME_WIDTH, LEFT, b" "),
            (b"PID", PID_WIDTH, RIGHT, b" "),
            (b"COMM", COMM_WIDTH, LEFT, b" "),
        ];
        if container {
            columns.push((b"CONTAINER", CONTAINER_WIDTH, LEFT, b" "));
        }
        columns.push((b"LOCAL", ADDRESS_WIDTH, LEFT, b" "));
        columns.push((b"REMOTE", ADDRESS_WIDTH, LEFT, b" "));
        if view == View::Log {
            columns.extend_from_slice(&[
                (b"OLD", STATE_WIDTH, LEFT, b" -> "),
                (b"NEW", STATE_WIDTH, LEFT, b" "),
                (b"MS", 9, RIGHT, b" "),
            ]);
        } else {
            columns.extend_from_slice(&[
                (b"TX_BYTES", 10, RIGHT, b" "),
                (b"RX_BYTES", 10, RIGHT, b" "),
                (b"RETRANS", 7, RIGHT, b" "),
                (b"RTT", 8, RIGHT, b" "),
                (b"CONNECT", 8, RIGHT, b" "),
                (b"MS", 10, RIGHT, b" "),
            ]);
        }
        let line = &mut self.line;
        line.clear();
        for (title, width, right, after) in columns {
            let title = |b: &mut Vec<u8>| b.extend_from_slice(title);
            if right {
                push_right(line, width, title);
            } else {
                push_left(line, width, title);
            }
            line.extend_from_slice(after);
        }
        line.extend_from_slice(b"REASON\n");
        out.write_all(line)
    }

    /// One transition (log) or finished connection (lifetime); a listener's drops in either.
    pub fn event(
        &mut self,
        out: &mut impl Write,
        view: View,
        t: &Transition,
        applied: &Applied,
        story: &Story,
        identity: Option<&OwnerIdentity>,
    ) -> io::Result<()> {
        let numeric = self.numeric;
        let line = &mut self.line;
        line.clear();
        push_left(line, TIME_WIDTH, |b| self.time_text.push(b, t.ts_ns));
        line.push(b' ');
        let owner = applied.owner.as_ref();
        push_right(line, PID_WIDTH, |b| {
            match owner {
                Some(owner) => push_u64(b, owner.pid.into()),
                None => b.push(b'-'),
            }
            // The listener's owner: the socket is not accepted (yet).
            if story.owner_from_listener {
                b.push(b'*');
            }
        });
        line.push(b' ');
        push_left(line, COMM_WIDTH, |b| match owner {
            Some(owner) => push_escaped(b, owner.comm.as_bytes()),
            None => b.push(b'-'),
        });
        line.push(b' ');
        if let Some(identity) = identity {
            // The shortened id, as `docker ps` prints it.
            let id = identity.container_id.as_deref().unwrap_or("-");
            let short = id.get(..CONTAINER_WIDTH).unwrap_or(id);
            push_left(line, CONTAINER_WIDTH, |b| push_escaped(b, short.as_bytes()));
            line.push(b' ');
        }
        push_left(line, ADDRESS_WIDTH, |b| {
            push_tcp_endpoint(b, t.local, numeric)
        });
        line.push(b' ');
        push_left(line, ADDRESS_WIDTH, |b| {
            push_tcp_endpoint(b, t.remote, numeric)
        });
        line.push(b' ');
        if view == View::Lifetime && t.kind == TransitionKind::Destroy {
            let close = t.close.unwrap_or_default();
            for (value, width) in [
                (close.bytes_acked, 10),
                (close.bytes_received, 10),
                (close.total_retrans.into(), 7),
            ] {
                push_right(line, width, |b| push_u64(b, value));
                line.push(b' ');
            }
            let us_as_ms = |us: u64| us as f64 / 1000.0;
            push_right(line, 8, |b| {
                push_ms(b, close.srtt_us.map(|us| us_as_ms(us.into())))
            });
            line.push(b' ');
            push_right(line, 8, |b| push_ms(b, story.connect_us.map(us_as_ms)));
            line.push(b' ');
            push_right(line, 10, |b| push_ms(b, applied.lifetime_ms));
            push_reason(line, story);
        } else {
            push_left(line, STATE_WIDTH, |b| {
                push_title(b, t.old.kernel_name().as_bytes())
            });
            line.extend_from_slice(b" -> ");
            let new = match t.kind {
                TransitionKind::Destroy => "DESTROYED",
                TransitionKind::Retransmit => "RETRANSMIT",
                TransitionKind::ConnectError => "CONNECT_FAILED",
                TransitionKind::Drop => "DROPPED",
                _ => t.new.kernel_name(),
            };
            push_left(line, STATE_WIDTH, |b| push_title(b, new.as_bytes()));
            line.push(b' ');
            let ms = match t.kind {
                TransitionKind::State | TransitionKind::Destroy => applied.ms_in_old_state,
                _ => None,
            };
            push_right(line, 9, |b| push_ms(b, ms));
            push_reason(line, story);
            if let Some(count) = t.total_retrans {
                line.extend_from_slice(b" retrans ");
                push_u64(line, count.into());
            }
            if let Some(dropped) = t.dropped {
                line.push(b' ');
                line.extend_from_slice(dropped.reason.as_bytes());
                line.push(b' ');
                push_u64(line, dropped.count);
            }
        }
        line.push(b'\n');
        out.write_all(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        event::{Comm, Owner},
        model::{Cookie, SockState},
    };

    #[test]
    fn columns_and_millisecond_text() {
        let mut buf = Vec::new();
        push_right(&mut buf, 9, |b| push_ms(b, Some(0.0884)));
        push_right(&mut buf, 3, |b| push_ms(b, None));
        push_right(&mut buf, 10, |b| push_ms(b, Some(93265.3444)));
        assert_eq!(String::from_utf8_lossy(&buf), "    0.088  - 93265.344");
        let mut buf = Vec::new();
        push_left(&mut buf, 4, |b| push_title(b, b"ab"));
        push_right(&mut buf, 4, |b| push_title(b, b"cd"));
        push_left(&mut buf, 3, |b| push_title(b, b"toolong"));
        assert_eq!(String::from_utf8_lossy(&buf), "ab    cdtoolong");
    }

    #[test]
    fn a_hostile_comm_stays_on_its_line() {
        let t = Transition {
            ts_ns: 1_000,
            cookie: Cookie(1),
            local: "10.0.0.1:40000".parse().expect("addr"),
            remote: "10.0.0.2:7000".parse().expect("addr"),
            ..Transition::example(TransitionKind::State, SockState::Close, SockState::SynSent)
        };
        let applied = Applied {
            ms_in_old_state: None,
            lifetime_ms: None,
            owner: Some(Owner {
                pid: 42,
                tid: 42,
                uid: 0,
                cgroup: 0,
                comm: Comm::new(b"\x1b]0;PWNED\n\x07\xff"),
            }),
            matched: true,
        };
        let mut text = LogText::new(WallClock::from_offset(0), true);
        let mut line_with = |identity: Option<&OwnerIdentity>| {
            let mut out = Vec::new();
            text.event(
                &mut out,
                View::Log,
                &t,
                &applied,
                &Story::default(),
                identity,
            )
            .expect("to a Vec");
            String::from_utf8(out).expect("escaped text is UTF-8")
        };
        let line = line_with(None);
        assert_eq!(line.matches('\n').count(), 1, "{line:?}");
        assert!(!line.contains('\x1b') && !line.contains('\x07'), "{line:?}");
        assert!(line.contains(r"\x1b]0;PWNED\n\x07\xff"), "{line:?}");
        assert!(line.contains("10.0.0.1:40000"), "{line:?}");

        // --container: the id's first 12 characters after COMM, `-` outside a container.
        let identity = OwnerIdentity {
            container_id: Some("5e1b0c7d9a2f4e3b8c6d".into()),
            ..OwnerIdentity::default()
        };
        let line = line_with(Some(&identity));
        assert!(line.contains(" 5e1b0c7d9a2f 10.0.0.1:40000"), "{line:?}");
        let line = line_with(Some(&OwnerIdentity::default()));
        assert!(
            line.contains(&format!(" -{} 10.0.0.1:40000", " ".repeat(11))),
            "{line:?}"
        );
    }
}

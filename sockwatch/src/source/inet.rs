//! Decoding inet sock_diag replies: `struct inet_diag_msg` and its attributes
//! (linux/inet_diag.h) into a [`SocketRecord`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::error::DecodeError;
use super::meminfo;
use super::tcp_info;
use super::wire::{attributes, cookie_at, first_u32, first_u64, first_u8, prefix, u32_at};
use crate::model::{
    CongestionInfo, Cookie, Endpoint, Netid, SockState, SocketRecord, TcpExtra, Timer, TimerKind,
};

const INET_DIAG_MSG_LEN: usize = 72;

const INET_DIAG_INFO: u16 = 2;
const INET_DIAG_CONG: u16 = 4;
const INET_DIAG_VEGASINFO: u16 = 3;
const INET_DIAG_DCTCPINFO: u16 = 9;
const INET_DIAG_BBRINFO: u16 = 16;
const INET_DIAG_TOS: u16 = 5;
const INET_DIAG_TCLASS: u16 = 6;
const INET_DIAG_SKMEMINFO: u16 = 7;
const INET_DIAG_SHUTDOWN: u16 = 8;
const INET_DIAG_SKV6ONLY: u16 = 11;
const INET_DIAG_MARK: u16 = 15;
const INET_DIAG_CLASS_ID: u16 = 17;
const INET_DIAG_CGROUP_ID: u16 = 21;
const INET_DIAG_SOCKOPT: u16 = 22;

const AF_INET: u8 = libc::AF_INET as u8;
const AF_INET6: u8 = libc::AF_INET6 as u8;

/// idiag_timer: 0 none, 1 retransmit, 2 keepalive, 3 TIME_WAIT, 4 zero window probe; ss
/// calls anything larger "unknown".
fn timer(kind: u8, expires_ms: u32, retrans: u8) -> Option<Timer> {
    let kind = match kind {
        0 => return None,
        1 => TimerKind::On,
        2 => TimerKind::Keepalive,
        3 => TimerKind::Timewait,
        4 => TimerKind::Persist,
        _ => TimerKind::Unknown,
    };
    Some(Timer {
        kind,
        expires_ms,
        retrans,
    })
}

fn address(family: u8, raw: &[u8; 16]) -> IpAddr {
    if family == AF_INET {
        IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]))
    } else {
        IpAddr::V6(Ipv6Addr::from(*raw))
    }
}

/// Whether `struct tcp_info` is what INET_DIAG_INFO holds for this protocol (MPTCP sends
/// mptcp_info and SCTP sctp_info there, which sockwatch does not decode).
fn info_is_tcp_info(netid: Netid) -> bool {
    matches!(netid, Netid::Tcp | Netid::Dccp)
}

/// Decodes one reply payload (after the netlink header) of an inet dump for `netid`.
///
/// Recv-Q and Send-Q are the kernel's idiag_rqueue and idiag_wqueue as ss prints them: for
/// a listening TCP socket, the accept queue length and its maximum; for UDP, the bytes
/// allocated to the receive and send queues.
pub(super) fn decode(payload: &[u8], netid: Netid) -> Result<SocketRecord, DecodeError> {
    let msg = prefix::<INET_DIAG_MSG_LEN>(payload, "inet_diag_msg")?;
    let family = msg[0];
    if family != AF_INET && family != AF_INET6 {
        return Err(DecodeError::Family(family));
    }
    let mut src = [0; 16];
    src.copy_from_slice(&msg[8..24]);
    let mut dst = [0; 16];
    dst.copy_from_slice(&msg[24..40]);
    let local = Endpoint::Inet {
        addr: address(family, &src),
        port: u16::from_be_bytes([msg[4], msg[5]]),
        scope: u32_at(msg, 40),
    };
    let peer = Endpoint::Inet {
        addr: address(family, &dst),
        port: u16::from_be_bytes([msg[6], msg[7]]),
        scope: 0,
    };
    let mut record = SocketRecord::new(netid, SockState::from_kernel(msg[1]), local, peer);
    record.cookie = Cookie(cookie_at(msg, 44));
    record.timer = timer(msg[2], u32_at(msg, 52), msg[3]);
    record.recv_q = u32_at(msg, 56);
    record.send_q = u32_at(msg, 60);
    record.uid = u32_at(msg, 64);
    record.inode = u32_at(msg, 68).into();

    for attribute in attributes(&payload[INET_DIAG_MSG_LEN..]) {
        let (kind, data) = attribute?;
        match kind {
            INET_DIAG_INFO if info_is_tcp_info(netid) => {
                record.tcp.get_or_insert_with(TcpExtra::default).info =
                    Some(tcp_info::decode(data));
            }
            INET_DIAG_CONG => {
                let name = data.split(|&b| b == 0).next().unwrap_or_default();
                record.tcp.get_or_insert_with(TcpExtra::default).congestion =
                    Some(String::from_utf8_lossy(name).into_owned());
            }
            INET_DIAG_VEGASINFO | INET_DIAG_DCTCPINFO | INET_DIAG_BBRINFO => {
                if let Some(info) = congestion_info(kind, data) {
                    record.tcp.get_or_insert_with(TcpExtra::default).cc_info = Some(info);
                }
            }
            INET_DIAG_SKMEMINFO => record.meminfo = Some(meminfo::decode(data)),
            INET_DIAG_SHUTDOWN => record.shutdown = first_u8(data),
            INET_DIAG_TOS => record.tos = first_u8(data),
            INET_DIAG_TCLASS => record.tclass = first_u8(data),
            INET_DIAG_CLASS_ID => record.class_id = first_u32(data),
            INET_DIAG_SKV6ONLY => record.v6only = first_u8(data).map(|v| v != 0),
            INET_DIAG_MARK => record.mark = first_u32(data),
            INET_DIAG_CGROUP_ID => record.cgroup_id = first_u64(data),
            INET_DIAG_SOCKOPT => {
                record.inet_sockopt = match data {
                    [low, high, ..] => Some(u16::from_le_bytes([*low, *high])),
                    _ => None,
                }
            }
            _ => {}
        }
    }
    Ok(record)
}

/// `union tcp_cc_info` as the attribute that carries it says; None when too short.
fn congestion_info(kind: u16, data: &[u8]) -> Option<CongestionInfo> {
    let word = |i: usize| {
        data.get(i * 4..i * 4 + 4)
            .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    Some(match kind {
        INET_DIAG_VEGASINFO => CongestionInfo::Vegas {
            enabled: word(0)?,
            rttcnt: word(1)?,
            rtt: word(2)?,
            minrtt: word(3)?,
        },
        INET_DIAG_DCTCPINFO => {
            let halves = word(0)?.to_ne_bytes();
            CongestionInfo::Dctcp {
                enabled: u16::from_ne_bytes([halves[0], halves[1]]),
                ce_state: u16::from_ne_bytes([halves[2], halves[3]]),
                alpha: word(1)?,
                ab_ecn: word(2)?,
                ab_tot: word(3)?,
            }
        }
        _ => CongestionInfo::Bbr {
            bw: u64::from(word(1)?) << 32 | u64::from(word(0)?),
            min_rtt: word(2)?,
            pacing_gain: word(3)?,
            cwnd_gain: word(4)?,
        },
    })
}

/// Builders for hand-made inet replies in tests (shared with the dump tests).
#[cfg(test)]
pub(super) mod build {
    /// An inet_diag_msg: family, state, ports, addresses (first 4 bytes used for IPv4).
    pub fn inet_diag_msg(
        family: u8,
        state: u8,
        (sport, dport): (u16, u16),
        (src, dst): ([u8; 16], [u8; 16]),
    ) -> Vec<u8> {
        let mut buf = vec![family, state, 0, 0];
        buf.extend_from_slice(&sport.to_be_bytes());
        buf.extend_from_slice(&dport.to_be_bytes());
        buf.extend_from_slice(&src);
        buf.extend_from_slice(&dst);
        buf.resize(72, 0);
        buf
    }

    pub fn v4(a: [u8; 4]) -> [u8; 16] {
        let mut raw = [0; 16];
        raw[..4].copy_from_slice(&a);
        raw
    }
}

#[cfg(test)]
mod tests {
    use super::build::{inet_diag_msg, v4};
    use super::*;
    use crate::model::SkMemInfo;
    use crate::source::wire::build::attr;

    fn put_u32(buf: &mut [u8], at: usize, value: u32) {
        buf[at..at + 4].copy_from_slice(&value.to_ne_bytes());
    }

    #[test]
    fn decodes_an_ipv4_connection() {
        let mut msg = inet_diag_msg(
            AF_INET,
            1,
            (5555, 40000),
            (v4([127, 0, 0, 1]), v4([10, 1, 2, 3])),
        );
        msg[2] = 2; // keepalive
        msg[3] = 1;
        put_u32(&mut msg, 40, 3); // interface
        put_u32(&mut msg, 44, 0xdead_beef);
        put_u32(&mut msg, 48, 0x1);
        put_u32(&mut msg, 52, 7200); // expires
        put_u32(&mut msg, 56, 10);
        put_u32(&mut msg, 60, 20);
        put_u32(&mut msg, 64, 1000);
        put_u32(&mut msg, 68, 4242);
        attr(&mut msg, INET_DIAG_SHUTDOWN, &[2]);
        attr(&mut msg, INET_DIAG_MARK, &0x10u32.to_ne_bytes());
        attr(&mut msg, INET_DIAG_CGROUP_ID, &77u64.to_ne_bytes());
        attr(&mut msg, INET_DIAG_TOS, &[0x10]);
        attr(&mut msg, INET_DIAG_SOCKOPT, &[0x22, 0x01]);
        attr(&mut msg, 24, &[0, 0]); // unknown to sockwatch: skipped

        let record = decode(&msg, Netid::Tcp).unwrap();
        assert_eq!(record.netid, Netid::Tcp);
        assert_eq!(record.state, SockState::Established);
        assert_eq!(
            record.local,
            Endpoint::Inet {
                addr: "127.0.0.1".parse().unwrap(),
                port: 5555,
                scope: 3
            }
        );
        assert_eq!(
            record.peer,
            Endpoint::Inet {
                addr: "10.1.2.3".parse().unwrap(),
                port: 40000,
                scope: 0
            }
        );
        assert_eq!(record.cookie, Cookie(0x1_dead_beef));
        assert_eq!(
            record.timer,
            Some(Timer {
                kind: TimerKind::Keepalive,
                expires_ms: 7200,
                retrans: 1
            })
        );
        assert_eq!((record.recv_q, record.send_q), (10, 20));
        assert_eq!((record.uid, record.inode), (1000, 4242));
        assert_eq!(record.shutdown, Some(2));
        assert_eq!(record.mark, Some(0x10));
        assert_eq!(record.cgroup_id, Some(77));
        assert_eq!(record.tos, Some(0x10));
        // is_icsk, transparent; bind_address_no_port.
        assert_eq!(record.inet_sockopt, Some(0x0122));
        assert_eq!(record.tcp, None);
        assert_eq!(record.v6only, None);
    }

    #[test]
    fn decodes_an_ipv6_listener_with_extras() {
        let any: [u8; 16] = [0; 16];
        let mapped: Ipv6Addr = "::ffff:192.0.2.1".parse().unwrap();
        let mut msg = inet_diag_msg(AF_INET6, 10, (443, 0), (mapped.octets(), any));
        put_u32(&mut msg, 56, 3); // accept queue
        put_u32(&mut msg, 60, 128); // backlog
        attr(&mut msg, INET_DIAG_SKV6ONLY, &[1]);
        attr(&mut msg, INET_DIAG_TCLASS, &[0xb8]);
        attr(&mut msg, INET_DIAG_CONG, b"cubic\0");
        let mut info = vec![0u8; 8];
        info[0] = 10;
        attr(&mut msg, INET_DIAG_INFO, &info);
        let mut mem = Vec::new();
        for v in 1..=9u32 {
            mem.extend_from_slice(&v.to_ne_bytes());
        }
        attr(&mut msg, INET_DIAG_SKMEMINFO, &mem);

        let record = decode(&msg, Netid::Tcp).unwrap();
        assert_eq!(record.state, SockState::Listen);
        assert_eq!((record.recv_q, record.send_q), (3, 128));
        assert_eq!(
            record.local,
            Endpoint::Inet {
                addr: IpAddr::V6(mapped),
                port: 443,
                scope: 0
            }
        );
        assert_eq!(
            record.peer,
            Endpoint::Inet {
                addr: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                port: 0,
                scope: 0
            }
        );
        assert_eq!(record.v6only, Some(true));
        assert_eq!(record.tclass, Some(0xb8));
        let tcp = record.tcp.unwrap();
        assert_eq!(tcp.congestion.as_deref(), Some("cubic"));
        let info = tcp.info.unwrap();
        assert_eq!((info.len, info.state), (8, 10));
        assert_eq!(
            record.meminfo,
            Some(SkMemInfo {
                rmem_alloc: 1,
                rcvbuf: 2,
                wmem_alloc: 3,
                sndbuf: 4,
                fwd_alloc: 5,
                wmem_queued: 6,
                optmem: 7,
                backlog: 8,
                drops: 9
            })
        );
    }

    #[test]
    fn mptcp_info_is_not_read_as_tcp_info() {
        let mut msg = inet_diag_msg(AF_INET, 10, (1, 0), ([0; 16], [0; 16]));
        attr(&mut msg, INET_DIAG_INFO, &[0; 64]);
        assert_eq!(decode(&msg, Netid::Mptcp).unwrap().tcp, None);
    }

    #[test]
    fn timers_past_persist_are_unknown() {
        let mut msg = inet_diag_msg(AF_INET, 1, (1, 2), ([0; 16], [0; 16]));
        msg[2] = 9;
        let timer = decode(&msg, Netid::Tcp).unwrap().timer.unwrap();
        assert_eq!(timer.kind, TimerKind::Unknown);
        msg[2] = 0;
        assert_eq!(decode(&msg, Netid::Tcp).unwrap().timer, None);
    }

    #[test]
    fn rejects_short_and_foreign_messages() {
        let msg = inet_diag_msg(AF_INET, 1, (1, 2), ([0; 16], [0; 16]));
        assert_eq!(
            decode(&msg[..40], Netid::Tcp).unwrap_err(),
            DecodeError::Short {
                what: "inet_diag_msg",
                len: 40,
                need: 72
            }
        );
        let mut foreign = msg.clone();
        foreign[0] = libc::AF_UNIX as u8;
        assert_eq!(
            decode(&foreign, Netid::Tcp).unwrap_err(),
            DecodeError::Family(1)
        );
        let mut bad_attr = msg;
        bad_attr.extend_from_slice(&[50, 0, 8, 0]);
        assert!(matches!(
            decode(&bad_attr, Netid::Tcp),
            Err(DecodeError::AttributeLength { .. })
        ));
    }

    #[test]
    fn short_attributes_are_absent_values() {
        let mut msg = inet_diag_msg(AF_INET, 1, (1, 2), ([0; 16], [0; 16]));
        attr(&mut msg, INET_DIAG_MARK, &[1]);
        attr(&mut msg, INET_DIAG_SHUTDOWN, &[]);
        let record = decode(&msg, Netid::Tcp).unwrap();
        assert_eq!((record.mark, record.shutdown), (None, None));
    }
}

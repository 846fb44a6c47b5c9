//! The TCP internals ss -i prints from `struct tcp_info` and the congestion control's own
//! report: exactly the fields ss 6.1 knows, in its order, each only when non-zero.

use super::fmt;
use super::names::Names;
use super::Printer;
use crate::model::{CongestionInfo, SockState, TcpExtra, TcpInfo};

// tcpi_options bits (linux/tcp.h).
const TCPI_OPT_TIMESTAMPS: u8 = 1;
const TCPI_OPT_SACK: u8 = 2;
const TCPI_OPT_WSCALE: u8 = 4;
const TCPI_OPT_ECN: u8 = 8;
const TCPI_OPT_ECN_SEEN: u8 = 16;
const TCPI_OPT_SYN_DATA: u8 = 32;

/// ss's size of its congestion algorithm name buffer, less the terminating NUL.
const CONG_NAME_MAX: usize = 15;

impl<N: Names + ?Sized> Printer<'_, N> {
    pub(super) fn tcp_info(
        &mut self,
        buf: &mut Vec<u8>,
        state: SockState,
        info: &TcpInfo,
        tcp: &TcpExtra,
    ) {
        let numeric = self.opts.numeric;
        let label = |buf: &mut Vec<u8>, name: &[u8]| {
            buf.push(b' ');
            buf.extend_from_slice(name);
        };
        let uint = |buf: &mut Vec<u8>, name: &[u8], v: u64| {
            if v != 0 {
                label(buf, name);
                fmt::push_u64(buf, v);
            }
        };
        // Fields ss holds in an int print as signed.
        let int = |buf: &mut Vec<u8>, name: &[u8], v: u32| {
            if v != 0 {
                label(buf, name);
                fmt::push_i64(buf, i64::from(v as i32));
            }
        };
        let millis = |buf: &mut Vec<u8>, name: &[u8], micros: u32| {
            if micros != 0 {
                label(buf, name);
                fmt::push_millis(buf, micros);
            }
        };

        // ss shows the negotiated options only with -o (or -e).
        if self.opts.timers || self.opts.extended {
            let options: [(u8, &[u8]); 5] = [
                (TCPI_OPT_TIMESTAMPS, b" ts"),
                (TCPI_OPT_SACK, b" sack"),
                (TCPI_OPT_ECN, b" ecn"),
                (TCPI_OPT_ECN_SEEN, b" ecnseen"),
                (TCPI_OPT_SYN_DATA, b" fastopen"),
            ];
            for (bit, name) in options {
                if info.options & bit != 0 {
                    buf.extend_from_slice(name);
                }
            }
        }
        if let Some(name) = tcp.congestion.as_deref().filter(|name| !name.is_empty()) {
            let name = name.as_bytes();
            let name = &name[..name.len().min(CONG_NAME_MAX)];
            let name = name.split(|&b| b == 0).next().unwrap_or(name);
            if !name.is_empty() {
                buf.push(b' ');
                buf.extend_from_slice(name);
            }
        }
        if info.options & TCPI_OPT_WSCALE != 0 {
            label(buf, b"wscale:");
            fmt::push_u64(buf, u64::from(info.snd_wscale));
            buf.push(b',');
            fmt::push_u64(buf, u64::from(info.rcv_wscale));
        }
        // 3 s is the initial RTO, not worth showing.
        if info.rto != 3_000_000 {
            millis(buf, b"rto:", info.rto);
        }
        uint(buf, b"backoff:", u64::from(info.backoff));
        if info.rtt != 0 {
            label(buf, b"rtt:");
            fmt::push_millis(buf, info.rtt);
            buf.push(b'/');
            fmt::push_millis(buf, info.rttvar);
        }
        millis(buf, b"ato:", info.ato);
        int(buf, b"mss:", info.snd_mss);
        uint(buf, b"pmtu:", u64::from(info.pmtu));
        int(buf, b"rcvmss:", info.rcv_mss);
        int(buf, b"advmss:", info.advmss);
        uint(buf, b"cwnd:", u64::from(info.snd_cwnd));
        if info.snd_ssthresh < 0xffff {
            int(buf, b"ssthresh:", info.snd_ssthresh);
        }
        uint(buf, b"bytes_sent:", info.bytes_sent);
        uint(buf, b"bytes_retrans:", info.bytes_retrans);
        uint(buf, b"bytes_acked:", info.bytes_acked);
        uint(buf, b"bytes_received:", info.bytes_received);
        uint(buf, b"segs_out:", u64::from(info.segs_out));
        uint(buf, b"segs_in:", u64::from(info.segs_in));
        uint(buf, b"data_segs_out:", u64::from(info.data_segs_out));
        uint(buf, b"data_segs_in:", u64::from(info.data_segs_in));

        match tcp.cc_info {
            Some(CongestionInfo::Dctcp {
                enabled,
                ce_state,
                alpha,
                ab_ecn,
                ab_tot,
            }) => {
                if enabled != 0 {
                    buf.extend_from_slice(b" dctcp:(ce_state:");
                    fmt::push_u64(buf, u64::from(ce_state));
                    buf.extend_from_slice(b",alpha:");
                    fmt::push_u64(buf, u64::from(alpha));
                    buf.extend_from_slice(b",ab_ecn:");
                    fmt::push_u64(buf, u64::from(ab_ecn));
                    buf.extend_from_slice(b",ab_tot:");
                    fmt::push_u64(buf, u64::from(ab_tot));
                    buf.push(b')');
                } else {
                    buf.extend_from_slice(b" dctcp:fallback_mode");
                }
            }
            Some(CongestionInfo::Bbr {
                bw,
                min_rtt,
                pacing_gain,
                cwnd_gain,
            }) => {
                buf.extend_from_slice(b" bbr:(bw:");
                fmt::push_bw(buf, bw as f64 * 8.0, numeric);
                buf.extend_from_slice(b"bps,mrtt:");
                fmt::push_millis(buf, min_rtt);
                if pacing_gain != 0 {
                    buf.extend_from_slice(b",pacing_gain:");
                    fmt::push_g(buf, f64::from(pacing_gain) / 256.0, 6);
                }
                if cwnd_gain != 0 {
                    buf.extend_from_slice(b",cwnd_gain:");
                    fmt::push_g(buf, f64::from(cwnd_gain) / 256.0, 6);
                }
                buf.push(b')');
            }
            Some(CongestionInfo::Vegas { .. }) | None => {}
        }

        // The send rate estimate uses Vegas' own RTT when it has one.
        let mut rtt = f64::from(info.rtt);
        if let Some(CongestionInfo::Vegas {
            enabled,
            rtt: vegas_rtt,
            ..
        }) = tcp.cc_info
        {
            if enabled != 0 && vegas_rtt != 0 && vegas_rtt != 0x7fff_ffff {
                rtt = f64::from(vegas_rtt);
            }
        }
        if rtt > 0.0 && info.snd_mss != 0 && info.snd_cwnd != 0 {
            let send_bps = f64::from(info.snd_cwnd) * f64::from(info.snd_mss) * 8_000_000.0 / rtt;
            label(buf, b"send ");
            fmt::push_bw(buf, send_bps, numeric);
            buf.extend_from_slice(b"bps");
        }
        uint(buf, b"lastsnd:", u64::from(info.last_data_sent));
        uint(buf, b"lastrcv:", u64::from(info.last_data_recv));
        uint(buf, b"lastack:", u64::from(info.last_ack_recv));

        if info.pacing_rate != 0 && info.pacing_rate != u64::MAX {
            label(buf, b"pacing_rate ");
            fmt::push_bw(buf, info.pacing_rate as f64 * 8.0, numeric);
            buf.extend_from_slice(b"bps");
            if info.max_pacing_rate != 0 && info.max_pacing_rate != u64::MAX {
                buf.push(b'/');
                fmt::push_bw(buf, info.max_pacing_rate as f64 * 8.0, numeric);
                buf.extend_from_slice(b"bps");
            }
        }
        if info.delivery_rate != 0 {
            label(buf, b"delivery_rate ");
            fmt::push_bw(buf, info.delivery_rate as f64 * 8.0, numeric);
            buf.extend_from_slice(b"bps");
        }
        uint(buf, b"delivered:", u64::from(info.delivered));
        uint(buf, b"delivered_ce:", u64::from(info.delivered_ce));
        if info.delivery_rate_app_limited {
            buf.extend_from_slice(b" app_limited");
        }
        if info.busy_time != 0 {
            label(buf, b"busy:");
            fmt::push_u64(buf, info.busy_time / 1000);
            buf.extend_from_slice(b"ms");
            let limits: [(&[u8], u64); 2] = [
                (b"rwnd_limited:", info.rwnd_limited),
                (b"sndbuf_limited:", info.sndbuf_limited),
            ];
            for (name, limited) in limits {
                if limited != 0 {
                    label(buf, name);
                    fmt::push_u64(buf, limited / 1000);
                    buf.extend_from_slice(b"ms(");
                    fmt::push_fixed(buf, 100.0 * limited as f64 / info.busy_time as f64, 1);
                    buf.extend_from_slice(b"%)");
                }
            }
        }
        uint(buf, b"unacked:", u64::from(info.unacked));
        if info.retrans != 0 || info.total_retrans != 0 {
            label(buf, b"retrans:");
            fmt::push_u64(buf, u64::from(info.retrans));
            buf.push(b'/');
            fmt::push_u64(buf, u64::from(info.total_retrans));
        }
        uint(buf, b"lost:", u64::from(info.lost));
        if state != SockState::Listen {
            uint(buf, b"sacked:", u64::from(info.sacked));
        }
        uint(buf, b"dsack_dups:", u64::from(info.dsack_dups));
        uint(buf, b"fackets:", u64::from(info.fackets));
        if info.reordering != 3 {
            label(buf, b"reordering:");
            fmt::push_i64(buf, i64::from(info.reordering as i32));
        }
        int(buf, b"reord_seen:", info.reord_seen);
        millis(buf, b"rcv_rtt:", info.rcv_rtt);
        int(buf, b"rcv_space:", info.rcv_space);
        uint(buf, b"rcv_ssthresh:", u64::from(info.rcv_ssthresh));
        uint(buf, b"notsent:", u64::from(info.notsent_bytes));
        if info.min_rtt != u32::MAX {
            millis(buf, b"minrtt:", info.min_rtt);
        }
        uint(buf, b"rcv_ooopack:", u64::from(info.rcv_ooopack));
        uint(buf, b"snd_wnd:", u64::from(info.snd_wnd));
    }
}

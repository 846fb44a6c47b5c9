//! Masks for the parts of ss output that legitimately differ between two runs a moment apart.
//!
//! Each mask replaces exactly the volatile tokens, in both outputs, before they are compared;
//! everything else must match byte for byte. Which masks apply follows from the ss options
//! (`Masks::for_args`), so a listing without -o, -i, -s or netlink sockets is compared as is.
//!
//! | mask       | options           | what is masked, and why                                       |
//! |------------|-------------------|---------------------------------------------------------------|
//! | `timers`   | -o, -e            | the time left in `timer:(name,<T>,count)`: a countdown        |
//! |            |                   | (keepalive, retransmit, persist, TIME-WAIT)                   |
//! | `tcp_info` | -i                | clocks: `lastsnd:`, `lastrcv:`, `lastack:` (ms since the last |
//! |            |                   | event), `busy:` (ms busy so far), `rwnd_limited:` and         |
//! |            |                   | `sndbuf_limited:` (ms limited so far, and their share of busy)|
//! | `summary`  | -s                | `Total:` (counts the observer's own, and freshly closed,      |
//! |            |                   | sockets) and the TCP line's total, closed and orphaned        |
//! |            |                   | numbers, which the kernel keeps machine-wide, not per         |
//! |            |                   | namespace: tests running in parallel change them              |
//! | `netlink`  | no type selected, | whole rows of the sock_diag netlink protocol (`tcpdiag:...`,  |
//! |            | -A/-f netlink/all | `4:...` with -n): the observer's own dump socket (named after |
//! |            |                   | its process and pid) and the kernel end holding its replies   |
//!
//! With `timers` or `tcp_info`, trailing blanks are dropped too: ss pads its last column to the
//! longest entry, so the padding follows the masked values. With `netlink`, runs of blanks are
//! squeezed to one, because the observer's own row can set a column's width.

use std::fmt;

/// Placeholder for a masked countdown.
const TIME: &str = "<T>";
/// Placeholder for a masked number.
const NUMBER: &str = "<N>";

/// tcp_info fields (ss -i) that are clocks: milliseconds since an event, or spent in a state
/// (the `*_limited` ones add their share of the busy time: `rwnd_limited:308ms(100.0%)`).
const TCP_INFO_CLOCKS: [&str; 6] = [
    "lastsnd",
    "lastrcv",
    "lastack",
    "busy",
    "rwnd_limited",
    "sndbuf_limited",
];
/// Placeholder for a masked percentage.
const SHARE: &str = "<P>";

/// Which volatile parts of an ss listing to mask.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Masks {
    pub timers: bool,
    pub tcp_info: bool,
    pub summary: bool,
    pub netlink: bool,
}

impl Masks {
    /// The masks the given ss arguments (options and filter) call for.
    pub fn for_args(args: &[&str]) -> Masks {
        let options = SsOptions::parse(args);
        Masks {
            // -e turns on the timer column too.
            timers: options.has('o', "options") || options.has('e', "extended"),
            tcp_info: options.has('i', "info"),
            summary: options.has('s', "summary"),
            netlink: options.lists_netlink(),
        }
    }

    /// Whether any mask is on.
    pub fn any(&self) -> bool {
        *self != Masks::default()
    }

    /// `output` with the volatile parts replaced by placeholders.
    pub fn apply(&self, output: &str) -> String {
        let mut lines = Vec::new();
        for line in output.lines() {
            if self.netlink && is_sock_diag_row(line) {
                continue;
            }
            let mut line = line.to_string();
            if self.timers {
                line = mask_timers(&line);
            }
            if self.tcp_info {
                for key in TCP_INFO_CLOCKS {
                    line = mask_clock(&line, key);
                }
            }
            if self.summary {
                line = mask_summary(&line);
            }
            if self.timers || self.tcp_info {
                line.truncate(line.trim_end().len());
            }
            if self.netlink {
                line = squeeze_blanks(&line);
            }
            lines.push(line);
        }
        let mut masked = lines.join("\n");
        if output.ends_with('\n') {
            masked.push('\n');
        }
        masked
    }
}

impl fmt::Display for Masks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = [
            (self.timers, "timers"),
            (self.tcp_info, "tcp_info"),
            (self.summary, "summary"),
            (self.netlink, "netlink"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        if names.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&names.join(", "))
        }
    }
}

/// The options part of an ss command line, enough to tell which masks apply.
struct SsOptions {
    short: Vec<char>,
    long: Vec<String>,
    /// Values of -A/--query/--socket and -f/--family.
    selections: Vec<String>,
}

/// ss options that select which sockets to list (any of them turns off "all tables").
const TABLE_OPTIONS: &str = "tudwxSM046";
const TABLE_LONG_OPTIONS: [&str; 13] = [
    "tcp", "udp", "dccp", "raw", "unix", "sctp", "mptcp", "packet", "ipv4", "ipv6", "tipc",
    "vsock", "xdp",
];
/// ss short options that take a value, which may be glued on or be the next argument.
const SHORT_WITH_VALUE: &str = "fADFN";

impl SsOptions {
    fn parse(args: &[&str]) -> SsOptions {
        let mut options = SsOptions {
            short: Vec::new(),
            long: Vec::new(),
            selections: Vec::new(),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            if let Some(long) = arg.strip_prefix("--") {
                let (name, value) = match long.split_once('=') {
                    Some((name, value)) => (name, Some(value.to_string())),
                    None => (long, None),
                };
                if matches!(name, "query" | "socket" | "family") {
                    if let Some(value) = value.or_else(|| args.next().map(|v| v.to_string())) {
                        options.selections.push(value);
                    }
                }
                options.long.push(name.to_string());
            } else if let Some(letters) = arg.strip_prefix('-').filter(|l| !l.is_empty()) {
                for (at, letter) in letters.char_indices() {
                    options.short.push(letter);
                    if SHORT_WITH_VALUE.contains(letter) {
                        let glued = &letters[at + letter.len_utf8()..];
                        let value = if glued.is_empty() {
                            args.next().map(|v| v.to_string())
                        } else {
                            Some(glued.to_string())
                        };
                        if let (Some(value), true) = (value, "fA".contains(letter)) {
                            options.selections.push(value);
                        }
                        break;
                    }
                }
            }
            // Anything else is the filter expression, which never selects tables.
        }
        options
    }

    fn has(&self, short: char, long: &str) -> bool {
        self.short.contains(&short) || self.long.iter().any(|l| l == long)
    }

    /// Whether the listing can contain netlink sockets: none of the table options given (ss
    /// then lists every table), or netlink / all asked for by name.
    fn lists_netlink(&self) -> bool {
        if self.has('s', "summary") && !self.has('a', "all") {
            return false;
        }
        let named = self
            .selections
            .iter()
            .flat_map(|s| s.split(','))
            .any(|s| s == "netlink" || s == "all");
        let any_table = self.short.iter().any(|c| TABLE_OPTIONS.contains(*c))
            || self
                .long
                .iter()
                .any(|l| TABLE_LONG_OPTIONS.contains(&l.as_str()))
            || !self.selections.is_empty();
        named || !any_table
    }
}

/// A netlink row of the sock_diag protocol: its local address reads `tcpdiag:<owner>`, or
/// `4:<port id>` with -n. The local address is the fifth column after a Netid column (`nl`),
/// the fourth in a netlink-only listing, which has none.
fn is_sock_diag_row(line: &str) -> bool {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let local = if fields.first() == Some(&"nl") {
        fields.get(4)
    } else {
        fields.get(3)
    };
    local.is_some_and(|local| {
        local.starts_with("tcpdiag:")
            || local
                .strip_prefix("4:")
                .is_some_and(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()))
    })
}

/// `timer:(name,59sec,0)` -> `timer:(name,<T>,0)`.
fn mask_timers(line: &str) -> String {
    const OPEN: &str = "timer:(";
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find(OPEN) {
        let (before, from) = rest.split_at(at + OPEN.len());
        out.push_str(before);
        // from = "name,time,count)..."
        match from
            .split_once(',')
            .and_then(|(name, tail)| Some((name, tail.split_once(',')?)))
        {
            Some((name, (_time, tail))) => {
                out.push_str(name);
                out.push(',');
                out.push_str(TIME);
                out.push(',');
                rest = tail;
            }
            None => rest = from,
        }
    }
    out.push_str(rest);
    out
}

/// `key:123` -> `key:<N>` and `key:123ms(45.6%)` -> `key:<N>ms(<P>%)`, wherever `key:` starts
/// a token; the unit stays.
fn mask_clock(line: &str, key: &str) -> String {
    let pattern = format!("{key}:");
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find(&pattern) {
        let starts_token = rest[..at]
            .chars()
            .next_back()
            .is_none_or(char::is_whitespace);
        let (before, from) = rest.split_at(at + pattern.len());
        out.push_str(before);
        rest = from;
        let digits = leading(from, |c| c.is_ascii_digit());
        if !starts_token || digits == 0 {
            continue;
        }
        out.push_str(NUMBER);
        rest = &from[digits..];
        if let Some(share) = rest.strip_prefix("ms(") {
            let number = leading(share, |c| c.is_ascii_digit() || c == '.');
            if number > 0 && share[number..].starts_with("%)") {
                out.push_str("ms(");
                out.push_str(SHARE);
                rest = &share[number..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Length in bytes of the prefix of `text` whose characters satisfy `accept`.
fn leading(text: &str, accept: impl Fn(char) -> bool) -> usize {
    text.len() - text.trim_start_matches(accept).len()
}

/// `Total: 45` -> `Total: <N>`; `TCP:   22 (estab 13, closed 3, orphaned 0, timewait 2)` ->
/// `TCP:   <N> (estab 13, closed <N>, orphaned <N>, timewait 2)`.
fn mask_summary(line: &str) -> String {
    if let Some(count) = line.strip_prefix("Total: ") {
        if !count.is_empty() && count.chars().all(|c| c.is_ascii_digit()) {
            return format!("Total: {NUMBER}");
        }
    }
    if let Some(rest) = line.strip_prefix("TCP:") {
        if rest.contains("(estab") {
            let mut masked = String::from("TCP:");
            let blanks = rest.len() - rest.trim_start().len();
            masked.push_str(&rest[..blanks]);
            let rest = &rest[blanks..];
            let after_total = &rest[leading(rest, |c| c.is_ascii_digit())..];
            masked.push_str(NUMBER);
            let mut tail = after_total.to_string();
            for key in ["closed", "orphaned"] {
                tail = mask_number_after_word(&tail, key);
            }
            masked.push_str(&tail);
            return masked;
        }
    }
    line.to_string()
}

/// `key 123` -> `key <N>` (the summary line separates names and numbers with a blank).
fn mask_number_after_word(text: &str, key: &str) -> String {
    let pattern = format!("{key} ");
    let Some(at) = text.find(&pattern) else {
        return text.to_string();
    };
    let (before, from) = text.split_at(at + pattern.len());
    let digits = leading(from, |c| c.is_ascii_digit());
    format!("{before}{NUMBER}{}", &from[digits..])
}

/// Runs of blanks squeezed to one; leading and trailing blanks dropped.
fn squeeze_blanks(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masks(args: &[&str]) -> Masks {
        Masks::for_args(args)
    }

    #[test]
    fn options_choose_masks() {
        assert!(!masks(&["-tan"]).any());
        assert!(!masks(&["-xa"]).any());
        assert_eq!(
            masks(&["-tano"]),
            Masks {
                timers: true,
                ..Masks::default()
            }
        );
        assert!(masks(&["-tanO", "-i"]).tcp_info);
        assert!(masks(&["--info", "-tan"]).tcp_info);
        assert!(masks(&["-s"]).summary);
        assert!(!masks(&["-s"]).netlink);
        // No table chosen: ss lists every table, netlink included.
        assert!(masks(&["-a"]).netlink);
        assert!(masks(&["-an"]).netlink);
        assert!(!masks(&["-ta"]).netlink);
        assert!(masks(&["-a", "-A", "netlink"]).netlink);
        assert!(masks(&["-a", "--query=unix,netlink"]).netlink);
        assert!(masks(&["-a", "-Aall"]).netlink);
        assert!(!masks(&["-a", "-A", "tcp,udp"]).netlink);
        assert!(masks(&["-a", "-f", "netlink"]).netlink);
        assert!(!masks(&["-a", "-f", "inet"]).netlink);
        // Option values and filters are not options: "-D /tmp/oi" has no -o or -i.
        assert!(!masks(&["-tan", "-D", "/tmp/oi"]).any());
        assert!(!masks(&["-tan", "-D/tmp/oi"]).any());
        assert!(!masks(&["-tan", "state", "established", "sport", "=", ":info"]).any());
        // -e shows timers as -o does.
        assert!(masks(&["-tane"]).timers);
        assert!(masks(&["--extended", "-tan"]).timers);
    }

    #[test]
    fn masks_timer_countdowns() {
        let m = masks(&["-tano"]);
        assert_eq!(
            m.apply("TIME-WAIT 0 0 a b timer:(timewait,59sec,0)\n"),
            "TIME-WAIT 0 0 a b timer:(timewait,<T>,0)\n"
        );
        assert_eq!(
            m.apply("x timer:(keepalive,119min,0) timer:(on,8.632ms,3)   "),
            "x timer:(keepalive,<T>,0) timer:(on,<T>,3)"
        );
        // Not a timer token: untouched.
        assert_eq!(m.apply("x timer:(broken"), "x timer:(broken");
    }

    #[test]
    fn masks_tcp_info_clocks_only() {
        let m = masks(&["-tani"]);
        let line = "\t ts sack rto:204 lastsnd:27724 lastrcv:7 lastack:0 busy:28688ms minrtt:0.003 snd_wnd:65536";
        assert_eq!(
            m.apply(line),
            "\t ts sack rto:204 lastsnd:<N> lastrcv:<N> lastack:<N> busy:<N>ms minrtt:0.003 snd_wnd:65536"
        );
        // Only whole tokens: "xbusy:1" is some other field.
        assert_eq!(m.apply("xbusy:1 busy:"), "xbusy:1 busy:");
        assert_eq!(
            m.apply(
                "busy:1316ms rwnd_limited:1316ms(100.0%) sndbuf_limited:2ms(0.2%) notsent:6144"
            ),
            "busy:<N>ms rwnd_limited:<N>ms(<P>%) sndbuf_limited:<N>ms(<P>%) notsent:6144"
        );
    }

    #[test]
    fn trailing_padding_is_dropped_only_with_clock_masks() {
        assert_eq!(masks(&["-tano"]).apply("a   \nb\n"), "a\nb\n");
        assert_eq!(masks(&["-tan"]).apply("a   \nb\n"), "a   \nb\n");
    }

    #[test]
    fn masks_machine_wide_summary_counters() {
        let m = masks(&["-s"]);
        let summary = "Total: 45\nTCP:   22 (estab 13, closed 3, orphaned 0, timewait 2)\n\nTransport Total     IP        IPv6\nRAW\t  2         1         1        \n";
        assert_eq!(
            m.apply(summary),
            "Total: <N>\nTCP:   <N> (estab 13, closed <N>, orphaned <N>, timewait 2)\n\nTransport Total     IP        IPv6\nRAW\t  2         1         1        \n"
        );
    }

    #[test]
    fn drops_the_observers_sock_diag_rows() {
        let m = masks(&["-a"]);
        let listing = "Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port\n\
                       nl    UNCONN 0      0             rtnl:kernel          *\n\
                       nl    UNCONN 4352   0       tcpdiag:ss/20514           *\n\
                       nl    UNCONN 832    0         tcpdiag:kernel           *\n";
        assert_eq!(
            m.apply(listing),
            "Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port\nnl UNCONN 0 0 rtnl:kernel *\n"
        );
        let numeric = "nl    UNCONN 0      0      0:0    *\n\
                       nl    UNCONN 4352   0      4:6151 *\n\
                       nl    UNCONN 832    0      4:0    *\n\
                       u_str ESTAB  0      0      *      4 * 1\n";
        assert_eq!(
            m.apply(numeric),
            "nl UNCONN 0 0 0:0 *\nu_str ESTAB 0 0 * 4 * 1\n"
        );
        // A netlink-only listing has no Netid column.
        let only = "State  Recv-Q Send-Q Local Address:Port\nUNCONN 4352   0      tcpdiag:ss/1 *\n";
        assert_eq!(
            masks(&["-a", "-A", "netlink"]).apply(only),
            "State Recv-Q Send-Q Local Address:Port\n"
        );
    }
}

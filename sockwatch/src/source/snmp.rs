//! The kernel's protocol counters behind `netstat -s`, per network namespace:
//! - /proc/net/snmp and /proc/net/netstat: per section a line of names and a line of values,
//!   both starting with `Section:` (`Tcp: ActiveOpens PassiveOpens ...` / `Tcp: 3 1 ...`);
//! - /proc/net/snmp6 and /proc/net/sctp/snmp: one `Name value` line per counter. snmp6 names
//!   carry their section as a prefix ending in the first `6` (`Ip6InReceives`, `Icmp6InMsgs`,
//!   `Udp6InDatagrams`, `UdpLite6InErrors`); sctp's all belong to `Sctp`.

use std::path::Path;

use super::proc_file::{self, ProcFileError};

/// One counter as the kernel names it. Most counters are unsigned 64-bit, a few signed
/// (`Tcp: MaxConn` is -1); i128 holds both exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counter {
    pub name: String,
    pub value: i128,
}

/// A named group of counters (`Ip`, `TcpExt`, `Icmp6`, ...), in the file's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub counters: Vec<Counter>,
}

/// Every counter file of the current network namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProtocolCounters {
    /// /proc/net/snmp: Ip, Icmp, IcmpMsg, Tcp, Udp, UdpLite.
    pub snmp: Vec<Section>,
    /// /proc/net/netstat: TcpExt, IpExt, MPTcpExt (empty when the file is missing).
    pub netstat: Vec<Section>,
    /// /proc/net/sctp/snmp as one `Sctp` section; None without the sctp module.
    pub sctp: Option<Section>,
    /// /proc/net/snmp6; None when IPv6 is disabled.
    pub snmp6: Option<Vec<Section>>,
}

/// A counter file that could not be read or parsed.
pub type SnmpError = ProcFileError<FormatProblem>;

/// What is wrong with a line of a counter file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormatProblem {
    #[error("no `Section:` prefix")]
    NoSection,
    #[error("the names of section {0} have no line of values after them")]
    MissingValues(String),
    #[error("values for section {found} follow the names of section {expected}")]
    SectionMismatch { expected: String, found: String },
    #[error("section {section} has {names} names but {values} values")]
    CountMismatch {
        section: String,
        names: usize,
        values: usize,
    },
    #[error("{0:?} is not a number")]
    BadValue(String),
    #[error("expected `name value`")]
    NotNameValue,
}

type LineError = proc_file::LineError<FormatProblem>;

impl ProtocolCounters {
    /// Reads the counters of the current network namespace from /proc/net.
    pub fn read() -> Result<ProtocolCounters, SnmpError> {
        ProtocolCounters::read_from(Path::new("/proc/net"))
    }

    /// The sections of /proc/net/netstat alone (TcpExt, IpExt, MPTcpExt; none when the file
    /// is missing): for a reader of a few TcpExt counters that polls them often, without the
    /// kernel formatting every other counter file each time.
    pub fn read_netstat() -> Result<Vec<Section>, SnmpError> {
        Ok(
            proc_file::read_if_present(Path::new("/proc/net/netstat"), parse_paired)?
                .unwrap_or_default(),
        )
    }

    /// Reads `snmp` (required), `netstat`, `sctp/snmp` and `snmp6` (optional) from `dir`.
    pub fn read_from(dir: &Path) -> Result<ProtocolCounters, SnmpError> {
        Ok(ProtocolCounters {
            snmp: proc_file::read(&dir.join("snmp"), parse_paired)?,
            netstat: proc_file::read_if_present(&dir.join("netstat"), parse_paired)?
                .unwrap_or_default(),
            sctp: proc_file::read_if_present(&dir.join("sctp/snmp"), |text| {
                parse_named(text, |_| "Sctp")
            })?
            .and_then(|sections| sections.into_iter().next()),
            snmp6: proc_file::read_if_present(&dir.join("snmp6"), |text| {
                parse_named(text, snmp6_section)
            })?,
        })
    }
}

/// The snmp and netstat layout: a names line and a values line per section. Blank lines
/// between sections are skipped.
pub fn parse_paired(text: &str) -> Result<Vec<Section>, LineError> {
    let mut sections = Vec::new();
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line))
        .filter(|(_, line)| !line.trim().is_empty());
    while let Some((number, names_line)) = lines.next() {
        let (name, names) = split_section(names_line).ok_or((number, FormatProblem::NoSection))?;
        let Some((number, values_line)) = lines.next() else {
            return Err((number, FormatProblem::MissingValues(name.to_string())));
        };
        let (values_name, values) =
            split_section(values_line).ok_or((number, FormatProblem::NoSection))?;
        if values_name != name {
            let problem = FormatProblem::SectionMismatch {
                expected: name.to_string(),
                found: values_name.to_string(),
            };
            return Err((number, problem));
        }
        let names: Vec<&str> = names.split_whitespace().collect();
        let values: Vec<&str> = values.split_whitespace().collect();
        if names.len() != values.len() {
            let problem = FormatProblem::CountMismatch {
                section: name.to_string(),
                names: names.len(),
                values: values.len(),
            };
            return Err((number, problem));
        }
        let counters = names
            .into_iter()
            .zip(values)
            .map(|(counter, value)| {
                Ok(Counter {
                    name: counter.to_string(),
                    value: parse_value(value).map_err(|problem| (number, problem))?,
                })
            })
            .collect::<Result<_, LineError>>()?;
        sections.push(Section {
            name: name.to_string(),
            counters,
        });
    }
    Ok(sections)
}

/// The snmp6 and sctp layout: `Name value` lines, grouped into consecutive runs of the same
/// `section_of(name)`.
pub fn parse_named(
    text: &str,
    section_of: impl Fn(&str) -> &str,
) -> Result<Vec<Section>, LineError> {
    let mut sections: Vec<Section> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let mut words = line.split_whitespace();
        let (name, value) = match (words.next(), words.next(), words.next()) {
            (None, ..) => continue,
            (Some(name), Some(value), None) => (name, value),
            _ => return Err((number, FormatProblem::NotNameValue)),
        };
        let counter = Counter {
            name: name.to_string(),
            value: parse_value(value).map_err(|problem| (number, problem))?,
        };
        let section = section_of(name);
        match sections.last_mut() {
            Some(last) if last.name == section => last.counters.push(counter),
            _ => sections.push(Section {
                name: section.to_string(),
                counters: vec![counter],
            }),
        }
    }
    Ok(sections)
}

/// The section an snmp6 counter belongs to: its name up to and including the first `6`.
pub fn snmp6_section(name: &str) -> &str {
    match name.find('6') {
        Some(six) => &name[..=six],
        None => name,
    }
}

fn split_section(line: &str) -> Option<(&str, &str)> {
    let (name, rest) = line.split_once(':')?;
    (!name.is_empty() && !name.contains(char::is_whitespace)).then_some((name, rest))
}

fn parse_value(text: &str) -> Result<i128, FormatProblem> {
    text.parse()
        .map_err(|_| FormatProblem::BadValue(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(section: &Section) -> Vec<(&str, i128)> {
        section
            .counters
            .iter()
            .map(|c| (c.name.as_str(), c.value))
            .collect()
    }

    #[test]
    fn paired_sections() {
        let text = "Ip: Forwarding DefaultTTL\nIp: 2 64\n\nTcp: RtoAlgorithm MaxConn\nTcp: 1 -1\n";
        let sections = parse_paired(text).expect("valid");
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[0].name, "Ip");
        assert_eq!(
            counters(&sections[0]),
            [("Forwarding", 2), ("DefaultTTL", 64)]
        );
        assert_eq!(
            counters(&sections[1]),
            [("RtoAlgorithm", 1), ("MaxConn", -1)]
        );
        // A u64 counter past i64::MAX stays exact.
        let big = parse_paired("Udp: InDatagrams\nUdp: 18446744073709551615\n").expect("valid");
        assert_eq!(big[0].counters[0].value, i128::from(u64::MAX));
    }

    #[test]
    fn odd_paired_content_is_a_typed_error() {
        assert_eq!(
            parse_paired("Ip: Forwarding\n"),
            Err((1, FormatProblem::MissingValues("Ip".into())))
        );
        assert_eq!(
            parse_paired("Ip: Forwarding\nTcp: 1\n"),
            Err((
                2,
                FormatProblem::SectionMismatch {
                    expected: "Ip".into(),
                    found: "Tcp".into()
                }
            ))
        );
        assert_eq!(
            parse_paired("Ip: A B\nIp: 1\n"),
            Err((
                2,
                FormatProblem::CountMismatch {
                    section: "Ip".into(),
                    names: 2,
                    values: 1
                }
            ))
        );
        assert_eq!(
            parse_paired("Ip: A\nIp: x1\n"),
            Err((2, FormatProblem::BadValue("x1".into())))
        );
        assert_eq!(
            parse_paired("garbage\n"),
            Err((1, FormatProblem::NoSection))
        );
        assert_eq!(parse_paired(""), Ok(vec![]));
    }

    #[test]
    fn named_lines_group_by_prefix() {
        let text = "Ip6InReceives 5\nIcmp6InMsgs 1\nIcmp6InType133 2\nUdpLite6InErrors 0\n";
        let sections = parse_named(text, snmp6_section).expect("valid");
        let names: Vec<&str> = sections.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Ip6", "Icmp6", "UdpLite6"]);
        assert_eq!(
            counters(&sections[1]),
            [("Icmp6InMsgs", 1), ("Icmp6InType133", 2)]
        );
        assert_eq!(
            parse_named("Ip6InReceives\n", snmp6_section),
            Err((1, FormatProblem::NotNameValue))
        );
        assert_eq!(
            parse_named("Ip6InReceives 1 2\n", snmp6_section),
            Err((1, FormatProblem::NotNameValue))
        );
        assert_eq!(
            parse_named("Ip6InReceives ?\n", snmp6_section),
            Err((1, FormatProblem::BadValue("?".into())))
        );
    }

    #[test]
    fn reads_a_directory_and_names_the_bad_file() {
        let dir = std::env::temp_dir().join(format!("sockwatch-snmp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("snmp"), "Tcp: CurrEstab\nTcp: 3\n").expect("write");
        std::fs::write(dir.join("snmp6"), "Ip6InReceives 7\n").expect("write");
        let counters = ProtocolCounters::read_from(&dir).expect("readable");
        assert_eq!(counters.snmp[0].counters[0].value, 3);
        assert!(counters.netstat.is_empty() && counters.sctp.is_none());
        assert_eq!(counters.snmp6.as_ref().map(Vec::len), Some(1));

        std::fs::write(dir.join("netstat"), "TcpExt: A\n").expect("write");
        let err = ProtocolCounters::read_from(&dir).expect_err("truncated netstat");
        assert!(
            err.to_string().ends_with(
                "netstat:1: the names of section TcpExt have no line of values after them"
            ),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).expect("cleanup");
        assert!(matches!(
            ProtocolCounters::read_from(&dir),
            Err(SnmpError::Read { .. })
        ));
    }
}

//! Multicast group memberships as netstat -g reads them: /proc/net/igmp (IPv4: a device line,
//! then one tab-indented line per group) and /proc/net/igmp6 (IPv6: one line per group).

use std::{
    net::{IpAddr, Ipv4Addr},
    path::Path,
};

use super::{
    interfaces::parse_hex_ipv6,
    proc_file::{self, ProcFileError},
};

/// One group a device has joined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub device: String,
    /// How many sockets (and the kernel itself) hold the membership.
    pub users: u32,
    pub group: IpAddr,
}

/// A memberships file that could not be read or parsed.
pub type GroupsError = ProcFileError<GroupLineProblem>;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GroupLineProblem {
    #[error("a group line before any device line")]
    NoDevice,
    #[error("expected `index<TAB>device : ...`")]
    DeviceLine,
    #[error("expected `group users ...` in hex and decimal")]
    GroupLine,
    #[error("expected `index device group users flags timer`")]
    Igmp6Line,
}

type LineError = proc_file::LineError<GroupLineProblem>;

/// IPv4 memberships of the current network namespace (none when the file is missing).
pub fn ipv4_memberships() -> Result<Vec<Membership>, GroupsError> {
    proc_file::read_if_present(Path::new("/proc/net/igmp"), parse_igmp)
        .map(Option::unwrap_or_default)
}

/// IPv6 memberships of the current network namespace (none when IPv6 is disabled).
pub fn ipv6_memberships() -> Result<Vec<Membership>, GroupsError> {
    proc_file::read_if_present(Path::new("/proc/net/igmp6"), parse_igmp6)
        .map(Option::unwrap_or_default)
}

/// /proc/net/igmp: a header, then per device `idx<TAB>name : count querier` followed by
/// `<TAB><TAB><TAB><TAB>group(hex) users timer reporter` lines.
pub fn parse_igmp(text: &str) -> Result<Vec<Membership>, LineError> {
    let mut memberships = Vec::new();
    let mut device: Option<String> = None;
    for (index, line) in text.lines().enumerate().skip(1) {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with('\t') {
            let mut words = line.split_whitespace();
            let (Some(group), Some(users)) = (words.next(), words.next()) else {
                return Err((number, GroupLineProblem::GroupLine));
            };
            let group = u32::from_str_radix(group, 16)
                // The kernel prints the group's bytes as one native-endian number.
                .map(|raw| Ipv4Addr::from(raw.to_ne_bytes()))
                .map_err(|_| (number, GroupLineProblem::GroupLine))?;
            let users = users
                .parse()
                .map_err(|_| (number, GroupLineProblem::GroupLine))?;
            let device = device.clone().ok_or((number, GroupLineProblem::NoDevice))?;
            memberships.push(Membership {
                device,
                users,
                group: IpAddr::V4(group),
            });
        } else {
            let name = line
                .split_once('\t')
                .and_then(|(_, rest)| rest.split_once(':'))
                .map(|(name, _)| name.trim())
                .filter(|name| !name.is_empty())
                .ok_or((number, GroupLineProblem::DeviceLine))?;
            device = Some(name.to_string());
        }
    }
    Ok(memberships)
}

/// /proc/net/igmp6: `index device group(32 hex) users flags timer` per line.
pub fn parse_igmp6(text: &str) -> Result<Vec<Membership>, LineError> {
    let mut memberships = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        let [_index, device, group, users, ..] = words[..] else {
            return Err((number, GroupLineProblem::Igmp6Line));
        };
        let group = parse_hex_ipv6(group).ok_or((number, GroupLineProblem::Igmp6Line))?;
        let users = users
            .parse()
            .map_err(|_| (number, GroupLineProblem::Igmp6Line))?;
        memberships.push(Membership {
            device: device.to_string(),
            users,
            group: IpAddr::V6(group),
        });
    }
    Ok(memberships)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn igmp_groups_follow_their_device() {
        let text = "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n\
1\tlo        :     1      V3\n\
\t\t\t\t010000E0     1 0:00000000\t\t0\n\
3\tswa       :     2      V3\n\
\t\t\t\tFB0000E0     2 0:00000000\t\t0\n\
\t\t\t\t010000E0     1 0:00000000\t\t0\n";
        let groups = parse_igmp(text).expect("valid");
        let seen: Vec<(&str, u32, String)> = groups
            .iter()
            .map(|m| (m.device.as_str(), m.users, m.group.to_string()))
            .collect();
        assert_eq!(
            seen,
            [
                ("lo", 1, "224.0.0.1".to_string()),
                ("swa", 2, "224.0.0.251".to_string()),
                ("swa", 1, "224.0.0.1".to_string()),
            ]
        );
    }

    #[test]
    fn odd_igmp_lines_are_typed_errors() {
        let header = "Idx\tDevice\n";
        assert_eq!(
            parse_igmp(&format!("{header}\t\t\t\t010000E0     1\n")),
            Err((2, GroupLineProblem::NoDevice))
        );
        assert_eq!(
            parse_igmp(&format!("{header}garbage\n")),
            Err((2, GroupLineProblem::DeviceLine))
        );
        assert_eq!(
            parse_igmp(&format!("{header}1\tlo :\n\t\t\t\tZZ 1\n")),
            Err((3, GroupLineProblem::GroupLine))
        );
        assert_eq!(
            parse_igmp(&format!("{header}1\tlo :\n\t\t\t\t010000E0\n")),
            Err((3, GroupLineProblem::GroupLine))
        );
    }

    #[test]
    fn igmp6_lines() {
        let text = "1    lo              ff020000000000000000000000000001     1 0000000C 0\n\
3    swa             ff0200000000000000000001ff12ffbd     2 00000004 0\n";
        let groups = parse_igmp6(text).expect("valid");
        assert_eq!(groups[1].device, "swa");
        assert_eq!(groups[1].users, 2);
        assert_eq!(groups[1].group.to_string(), "ff02::1:ff12:ffbd");
        assert_eq!(
            parse_igmp6("1 lo ff02 1\n"),
            Err((1, GroupLineProblem::Igmp6Line))
        );
        assert_eq!(parse_igmp6("1 lo\n"), Err((1, GroupLineProblem::Igmp6Line)));
    }
}

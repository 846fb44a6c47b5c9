//! IP protocol names from /etc/protocols (protocols(5)), read once.

use std::{collections::HashMap, sync::OnceLock};

/// The names of IP protocol numbers, in the file's order.
#[derive(Debug, Default)]
pub struct Protocols {
    names: HashMap<u16, Vec<String>>,
}

impl Protocols {
    /// Parses `name number [aliases] [# comment]` lines; malformed lines are skipped, as
    /// getprotoent(3) does.
    pub fn parse(text: &str) -> Protocols {
        let mut protocols = Protocols::default();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or_default();
            let mut words = line.split_whitespace();
            if let (Some(name), Some(Ok(number))) = (words.next(), words.next().map(str::parse)) {
                protocols
                    .names
                    .entry(number)
                    .or_default()
                    .push(name.to_string());
            }
        }
        protocols
    }

    /// The system's protocols database (empty when /etc/protocols cannot be read).
    pub fn system() -> &'static Protocols {
        static SYSTEM: OnceLock<Protocols> = OnceLock::new();
        SYSTEM.get_or_init(|| {
            crate::bounded::read_text("/etc/protocols")
                .map(|text| Protocols::parse(&text))
                .unwrap_or_default()
        })
    }

    /// The first entry for a number: what getprotobynumber(3) (and so ss) answers.
    pub fn first_name(&self, number: u16) -> Option<&str> {
        self.names.get(&number)?.first().map(String::as_str)
    }

    /// The last entry for a number: net-tools' netstat builds its list by prepending
    /// every getprotoent(3) entry, so the last one wins there.
    pub fn last_name(&self, number: u16) -> Option<&str> {
        self.names.get(&number)?.last().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_and_last_entries_of_a_number() {
        let protocols =
            Protocols::parse("# c\nip\t0\tIP\nicmp\t1\tICMP\t# x\nicmp-again 1\nbad\nworse x\n");
        assert_eq!(protocols.first_name(0), Some("ip"));
        assert_eq!(protocols.last_name(0), Some("ip"));
        assert_eq!(protocols.first_name(1), Some("icmp"));
        assert_eq!(protocols.last_name(1), Some("icmp-again"));
        assert_eq!(protocols.first_name(2), None);
        assert_eq!(protocols.names.len(), 2);
    }
}

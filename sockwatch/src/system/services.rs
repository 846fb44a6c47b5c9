//! Service names from /etc/services: port to name for printing (ss without -n) and name to
//! port for filters (`dport = :ssh`). Loaded once, on first use.

use std::{collections::HashMap, sync::OnceLock};

/// The transport a service entry belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    Tcp,
    Udp,
    Sctp,
    Dccp,
}

impl Transport {
    fn from_name(name: &str) -> Option<Transport> {
        match name {
            "tcp" => Some(Transport::Tcp),
            "udp" => Some(Transport::Udp),
            "sctp" => Some(Transport::Sctp),
            "dccp" => Some(Transport::Dccp),
            _ => None,
        }
    }
}

/// The parsed contents of a services file.
#[derive(Debug, Default)]
pub struct Services {
    by_port: HashMap<(u16, Transport), String>,
    by_name: HashMap<(String, Transport), u16>,
}

impl Services {
    /// Parses the services(5) format: `name port/proto [aliases...] [# comment]`.
    /// Malformed lines are skipped, as getservent(3) does.
    pub fn parse(text: &str) -> Services {
        let mut services = Services::default();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut words = line.split_whitespace();
            let (Some(name), Some(port_proto)) = (words.next(), words.next()) else {
                continue;
            };
            let Some((port, proto)) = port_proto.split_once('/') else {
                continue;
            };
            let (Ok(port), Some(transport)) = (port.parse::<u16>(), Transport::from_name(proto))
            else {
                continue;
            };
            // The first entry for a port names it, as getservbyport(3) returns the first match.
            services
                .by_port
                .entry((port, transport))
                .or_insert_with(|| name.to_string());
            for alias in std::iter::once(name).chain(words) {
                services
                    .by_name
                    .entry((alias.to_string(), transport))
                    .or_insert(port);
            }
        }
        services
    }

    /// The system's services database (empty when /etc/services cannot be read).
    pub fn system() -> &'static Services {
        static SYSTEM: OnceLock<Services> = OnceLock::new();
        SYSTEM.get_or_init(|| {
            crate::bounded::read_text("/etc/services")
                .map(|text| Services::parse(&text))
                .unwrap_or_default()
        })
    }

    pub fn name_of(&self, port: u16, transport: Transport) -> Option<&str> {
        self.by_port.get(&(port, transport)).map(String::as_str)
    }

    pub fn port_of(&self, name: &str, transport: Transport) -> Option<u16> {
        self.by_name.get(&(name.to_string(), transport)).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# comment line
ssh\t\t22/tcp\t\t\t\t# SSH Remote Login Protocol
domain\t\t53/tcp
domain\t\t53/udp
http\t\t80/tcp\t\twww\t\t# WorldWideWeb HTTP
broken line
bad\t\tx/tcp
";

    #[test]
    fn port_to_name_and_back() {
        let services = Services::parse(SAMPLE);
        assert_eq!(services.name_of(22, Transport::Tcp), Some("ssh"));
        assert_eq!(services.name_of(22, Transport::Udp), None);
        assert_eq!(services.name_of(53, Transport::Udp), Some("domain"));
        assert_eq!(services.port_of("www", Transport::Tcp), Some(80));
        assert_eq!(services.port_of("http", Transport::Tcp), Some(80));
        assert_eq!(services.port_of("bad", Transport::Tcp), None);
    }
}

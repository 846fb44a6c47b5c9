//! serve's configuration: the parsed options to follow's engine settings and serve's own.

use std::time::Duration;

use sockwatch::{
    follow::{FollowConfig, Format, View},
    serve::ServeConfig,
};

use super::follow::{ip_version, tcp_filter};
use crate::cli::args::ServeArgs;

pub struct ServePlan {
    pub follow: FollowConfig,
    pub serve: ServeConfig,
}

/// The token: the first line of the file, which must not be empty.
fn read_token(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read;
    let mut text = String::new();
    // A token file is a line, not a log: read a bounded amount.
    std::fs::File::open(path)
        .and_then(|file| file.take(4096).read_to_string(&mut text))
        .map_err(|e| format!("cannot read the token file {}: {e}", path.display()))?;
    let token = text.lines().next().unwrap_or_default().trim();
    if token.is_empty() {
        return Err(format!("the token file {} is empty", path.display()));
    }
    Ok(token.to_string())
}

impl ServePlan {
    pub fn new(args: ServeArgs) -> Result<ServePlan, String> {
        let ip_version = ip_version(args.ipv4, args.ipv6);
        let follow = FollowConfig {
            // serve prints nothing: the view only shapes /events' lines (follow --json's).
            view: View::Log,
            format: Format::JsonLines,
            numeric: true,
            count: None,
            duration: None,
            all_netns: args.all_netns,
            ip_version,
            ring_bytes: args.ring_kib.map_or(0, |kib| kib * 1024),
            filter: tcp_filter(&args.filter, ip_version)?,
            write: None,
            interval: Duration::from_secs(1),
            clear_screen: false,
            // serve labels metrics with containers itself; /events keeps follow --json's keys.
            container: false,
            verbose: false,
            failed: false,
            // Retransmit events reach the metrics; /events leaves them out, as follow --json.
            retransmits: true,
            ends_only: false,
            // An agent's metrics count every end's reason from its first scrape on.
            quick_start: false,
        };
        let serve = ServeConfig {
            listen: args.listen,
            events: args.events,
            token: args.token_file.as_deref().map(read_token).transpose()?,
            max_label_values: args.max_label_values as usize,
        };
        Ok(ServePlan { follow, serve })
    }
}

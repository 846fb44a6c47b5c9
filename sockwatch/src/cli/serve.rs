//! `sockwatch serve`: arguments to follow's and serve's configurations, then the agent.

use std::{process::ExitCode, time::Duration};

use sockwatch::{
    follow::{FollowConfig, Format, View},
    serve::{self, ServeConfig},
};

use super::{args::ServeArgs, follow::parse_filter};

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

pub fn run(args: ServeArgs) -> Result<ExitCode, String> {
    let filter = parse_filter(&args.filter, args.ipv4, args.ipv6)?;
    let token = args.token_file.as_deref().map(read_token).transpose()?;
    let follow = FollowConfig {
        view: View::Log,
        format: Format::JsonLines,
        numeric: true,
        count: None,
        duration: None,
        all_netns: args.all_netns,
        ip_version: if args.ipv4 {
            Some(4)
        } else if args.ipv6 {
            Some(6)
        } else {
            None
        },
        ring_bytes: args.ring_kib.map_or(0, |kib| kib * 1024),
        filter,
        write: None,
        interval: Duration::from_secs(1),
        clear_screen: false,
    };
    let config = ServeConfig {
        listen: args.listen,
        events: args.events,
        token,
        max_label_values: args.max_label_values as usize,
    };
    let events = if config.events_enabled() {
        ", /events"
    } else {
        ""
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let summary = runtime
        .block_on(serve::run(follow, config, |bound| {
            eprintln!("sockwatch serve: listening on http://{bound} (/metrics{events}, /healthz); Ctrl-C to stop");
        }))
        .map_err(|e| e.to_string())?;
    eprintln!("{}", summary.line().replacen("follow", "serve", 1));
    Ok(ExitCode::SUCCESS)
}

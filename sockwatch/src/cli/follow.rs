//! `sockwatch follow`: arguments to a FollowConfig, the run, the summary line.

use std::{
    io::{IsTerminal, Write},
    process::ExitCode,
};

use sockwatch::{
    filter::{Family, Filter, ParseContext, SystemLookup},
    follow::{FollowConfig, Follower, Format, View},
};

use super::args::FollowArgs;

pub fn run(args: FollowArgs) -> Result<ExitCode, String> {
    let filter = if args.filter.is_empty() {
        None
    } else {
        let lookup = SystemLookup;
        let context = ParseContext {
            family: if args.ipv6 {
                Some(Family::Inet6)
            } else if args.ipv4 {
                Some(Family::Inet)
            } else {
                None
            },
            tcp_services: true,
            udp_services: false,
            lookup: &lookup,
        };
        Some(Filter::parse(&args.filter, None, &context).map_err(|e| e.to_string())?)
    };
    let config = FollowConfig {
        view: if args.table {
            View::Table
        } else if args.lifetime {
            View::Lifetime
        } else {
            View::Log
        },
        format: if args.json {
            Format::JsonLines
        } else {
            Format::Text
        },
        numeric: args.numeric,
        count: args.count,
        duration: args.duration,
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
        write: args.write,
        interval: args.interval,
        clear_screen: std::io::stdout().is_terminal(),
        failed: args.failed,
        retransmits: args.retransmits,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let summary = runtime.block_on(async {
        let follower = match &args.read {
            Some(path) => Follower::replay(config, path)?,
            None => {
                let follower = Follower::start(config)?;
                for line in follower.degraded() {
                    eprintln!("sockwatch follow: {line}");
                }
                eprintln!("sockwatch follow: attached; Ctrl-C to stop");
                follower
            }
        };
        follower.run(&mut out).await
    });
    let summary = summary.map_err(|e| e.to_string())?;
    let _ = out.flush();
    if !summary.output_closed {
        eprintln!("{}", summary.line());
        if let Some(reasons) = summary.reasons_line() {
            eprintln!("{reasons}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

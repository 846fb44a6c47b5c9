//! follow's configuration: the parsed options to the library's [`FollowConfig`].

use std::{io::IsTerminal, path::PathBuf};

use sockwatch::{
    filter::{Family, Filter, ParseContext, SystemLookup},
    follow::{FollowConfig, Format, View},
    model::IpVersion,
};

use crate::cli::args::FollowArgs;

/// Follow's configuration and where its events come from.
pub struct FollowPlan {
    pub config: FollowConfig,
    /// --read: replay this recording instead of attaching to the kernel.
    pub replay: Option<PathBuf>,
}

/// The user's ss filter words as follow, serve and top apply them (TCP service names); no
/// words, or only blank ones (top's `/` cleared), are no filter.
pub fn tcp_filter(
    words: &[String],
    ip_version: Option<IpVersion>,
) -> Result<Option<Filter>, String> {
    if words.iter().all(|w| w.trim().is_empty()) {
        return Ok(None);
    }
    let lookup = SystemLookup;
    let context = ParseContext {
        family: ip_version.map(|version| match version {
            IpVersion::V4 => Family::Inet,
            IpVersion::V6 => Family::Inet6,
        }),
        tcp_services: true,
        udp_services: false,
        lookup: &lookup,
    };
    Filter::parse(words, None, &context)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// -4 / -6 (clap keeps them exclusive).
pub fn ip_version(ipv4: bool, ipv6: bool) -> Option<IpVersion> {
    if ipv4 {
        Some(IpVersion::V4)
    } else if ipv6 {
        Some(IpVersion::V6)
    } else {
        None
    }
}

impl FollowPlan {
    pub fn new(args: FollowArgs) -> Result<FollowPlan, String> {
        let ip_version = ip_version(args.ipv4, args.ipv6);
        let filter = tcp_filter(&args.filter, ip_version)?;
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
            ip_version,
            ring_bytes: args.ring_kib.map_or(0, |kib| kib * 1024),
            filter,
            write: args.write,
            interval: args.interval,
            clear_screen: std::io::stdout().is_terminal(),
            container: args.container,
            verbose: args.verbose,
            failed: args.failed,
            retransmits: args.retransmits,
            ends_only: false,
            quick_start: true,
        };
        Ok(FollowPlan {
            config,
            replay: args.read,
        })
    }
}

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

impl FollowPlan {
    pub fn new(args: FollowArgs) -> Result<FollowPlan, String> {
        let ip_version = if args.ipv4 {
            Some(IpVersion::V4)
        } else if args.ipv6 {
            Some(IpVersion::V6)
        } else {
            None
        };
        let filter = if args.filter.is_empty() {
            None
        } else {
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
            ip_version,
            ring_bytes: args.ring_kib.map_or(0, |kib| kib * 1024),
            filter,
            write: args.write,
            interval: args.interval,
            clear_screen: std::io::stdout().is_terminal(),
            verbose: args.verbose,
            failed: args.failed,
            retransmits: args.retransmits,
        };
        Ok(FollowPlan {
            config,
            replay: args.read,
        })
    }
}

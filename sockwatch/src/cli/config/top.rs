//! top's configuration: the parsed options to what the run loop needs.

use std::{io::IsTerminal, time::Duration};

use sockwatch::{filter::Filter, top::state::Grouping};

use crate::cli::args::{TopArgs, TopGroup};

/// How top shows its frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Show {
    Screen,
    Text,
    Json,
}

pub struct TopPlan {
    pub show: Show,
    pub frames: Option<u64>,
    pub delay: Duration,
    pub grouping: Grouping,
    pub filter: Option<Filter>,
    /// The filter as typed, for the header and for `/` to edit.
    pub filter_text: String,
}

/// Parses an ss filter as top reads it (tcp sockets, any family); empty text is no filter.
pub fn parse_filter(words: &[String]) -> Result<Option<Filter>, String> {
    super::follow::tcp_filter(words, None)
}

impl TopPlan {
    pub fn new(args: TopArgs) -> Result<TopPlan, String> {
        let filter = parse_filter(&args.filter)?;
        // Without a terminal there is no screen to draw: batch text (documented in --help).
        let show = match (args.batch, args.json) {
            (true, true) => Show::Json,
            (true, false) => Show::Text,
            (false, _) if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() => {
                Show::Screen
            }
            (false, _) => Show::Text,
        };
        Ok(TopPlan {
            show,
            frames: args.frames,
            delay: args.delay,
            grouping: match args.group {
                TopGroup::Connections => Grouping::Connections,
                TopGroup::Processes => Grouping::Processes,
                TopGroup::Remotes => Grouping::Remotes,
            },
            filter,
            filter_text: args.filter.join(" "),
        })
    }
}

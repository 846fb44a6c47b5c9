//! From a [`Selection`] to records: the one path every listing command (snapshot, netstat)
//! takes from "which tables, families and states" to a sock_diag snapshot.

use super::{snapshot, Extensions, IpVersions, Query, SourceError, StateMask};
use crate::model::SocketRecord;
use crate::select::{Family, Selection};

/// The snapshot query a selection stands for, asking the kernel for `extensions` too.
pub fn query_for(selection: &Selection, extensions: Extensions) -> Query {
    Query::new(
        selection.tables.iter().copied(),
        IpVersions {
            v4: selection.families.contains(&Family::Inet),
            v6: selection.families.contains(&Family::Inet6),
        },
        StateMask(selection.states),
        extensions,
    )
}

/// The records of one snapshot of `selection` that are in its states and that `keep` accepts,
/// in the source's order. (The kernel filters states for sock_diag tables; raw sockets come
/// from /proc and are filtered here.)
pub fn selected_records(
    selection: &Selection,
    extensions: Extensions,
    mut keep: impl FnMut(&SocketRecord) -> bool,
) -> Result<Vec<SocketRecord>, SourceError> {
    let mut records = Vec::new();
    snapshot(&query_for(selection, extensions), |record| {
        if selection.wants_state(record.state) && keep(&record) {
            records.push(record);
        }
    })?;
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Netid;
    use crate::select::{SelectOptions, SS_ALL};

    #[test]
    fn query_follows_the_selection() {
        let selection = Selection::from_options(&SelectOptions {
            tables: vec![Netid::Tcp],
            families: vec![Family::Inet6],
            all: true,
            ..Default::default()
        })
        .expect("valid selection");
        let query = query_for(&selection, Extensions::default());
        assert!(query.wants(Netid::Tcp) && !query.wants(Netid::Udp));
        assert_eq!(
            query.ip,
            IpVersions {
                v4: false,
                v6: true
            }
        );
        assert_eq!(query.states, StateMask(SS_ALL));
    }
}

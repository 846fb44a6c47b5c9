//! The `ss -s` counters (`SockStats`): arbitrary /proc/net/sockstat and snmp text, and
//! directories holding odd files.

use std::{fs, path::PathBuf};

use proptest::prelude::*;
use sockwatch::source::sockstat::{snmp_counter, SockStats};

use crate::common::{assert_clear_error, config, within};

/// Lines in sockstat's shape: a known or unknown tag, then name/value pairs with values
/// that are numbers, signed, huge, or not numbers at all.
fn sockstat_text() -> impl Strategy<Value = String> {
    let tag = prop::sample::select(
        &[
            "sockets:", "TCP:", "TCP6:", "UDP:", "UDP6:", "RAW:", "RAW6:", "FRAG:", "FRAG6:",
            "UDPLITE:", "", "TCP",
        ][..],
    );
    let value = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        "[-+]?[0-9]{1,25}[a-z]?",
        "\\PC{0,6}",
    ];
    let pair = ("[a-z]{0,6}", value).prop_map(|(name, value)| format!("{name} {value}"));
    let line = (tag, prop::collection::vec(pair, 0..6))
        .prop_map(|(tag, pairs)| format!("{tag} {}", pairs.join(" ")));
    prop_oneof![
        4 => prop::collection::vec(line, 0..10).prop_map(|lines| lines.join("\n")),
        1 => any::<String>(),
    ]
}

/// A private directory for one case's files, removed afterwards.
struct CaseDir(PathBuf);

impl CaseDir {
    fn new(files: &[(&str, &[u8])]) -> CaseDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "sockwatch-fuzz-sockstat-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&path).expect("create a case directory");
        for (name, content) in files {
            fs::write(path.join(name), content).expect("write a case file");
        }
        CaseDir(path)
    }
}

impl Drop for CaseDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

proptest! {
    #![proptest_config(config(300))]

    #[test]
    fn any_sockstat_text_is_read_without_panic(text in sockstat_text()) {
        within("sockstat", move || {
            let mut stats = SockStats::default();
            stats.add_sockstat(&text);
            stats
        });
    }

    /// Well-formed counters read back exactly.
    #[test]
    fn counters_read_back(values in prop::collection::vec(any::<i32>(), 5)) {
        let text = format!(
            "sockets: used {}\nTCP: inuse {} orphan {} tw {} alloc 0 mem {}\n",
            values[0], values[1], values[2], values[3], values[4]
        );
        let mut stats = SockStats::default();
        stats.add_sockstat(&text);
        prop_assert_eq!(
            [stats.sockets, stats.tcp4_inuse, stats.tcp_orphans, stats.tcp_timewait, stats.tcp_mem],
            [values[0], values[1], values[2], values[3], values[4]].map(i64::from)
        );
    }

    #[test]
    fn any_snmp_text_is_read_without_panic(text in any::<String>(), key in "[A-Za-z]{0,10}") {
        within("snmp", move || snmp_counter(&text, "Tcp:", &key));
    }

}

proptest! {
    // Each case writes files: fewer of them.
    #![proptest_config(config(100))]

    /// Directories with odd files (binary, missing counters, sockstat6 a directory): a
    /// result or a clear error.
    #[test]
    fn odd_directories_fail_clearly(
        sockstat in prop::collection::vec(any::<u8>(), 0..200),
        snmp in prop_oneof![
            Just(b"Tcp: CurrEstab\nTcp: 3\n".to_vec()),
            prop::collection::vec(any::<u8>(), 0..200),
        ],
        sockstat6_is_dir in any::<bool>(),
    ) {
        let dir = CaseDir::new(&[("sockstat", &sockstat), ("snmp", &snmp)]);
        if sockstat6_is_dir {
            fs::create_dir(dir.0.join("sockstat6")).expect("create sockstat6 directory");
        }
        let path = dir.0.clone();
        if let Err(error) = within("sockstat directory", move || SockStats::read_from(&path)) {
            assert_clear_error("sockstat directory", &error);
        }
    }
}

//! The eBPF event decoder (`Transition::decode`) on arbitrary ring-buffer records: any bytes
//! the size of a SockEvent, read as the tracer reads them.

use std::{mem::size_of, net::IpAddr};

use proptest::prelude::*;
use sockwatch::{
    event::{Transition, TransitionKind},
    model::SockState,
};
use sockwatch_common::{
    event_kind,
    family::{AF_INET, AF_INET6},
    SockEvent,
};

use crate::common::{assert_clear_error, config, within};

/// A SockEvent from raw bytes, exactly as the tracer takes records off the ring buffer.
fn event_from_bytes(bytes: &[u8]) -> SockEvent {
    assert_eq!(bytes.len(), size_of::<SockEvent>());
    // SAFETY: SockEvent is repr(C) plain data (every bit pattern is valid) and `bytes` holds
    // exactly one; read_unaligned allows any alignment.
    unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<SockEvent>()) }
}

/// Raw events: fully random, or random with the kind and family among the valid ones so
/// that most cases get past the first checks.
fn raw_event() -> impl Strategy<Value = SockEvent> {
    let random = prop::collection::vec(any::<u8>(), size_of::<SockEvent>())
        .prop_map(|bytes| event_from_bytes(&bytes));
    let kinds =
        prop::sample::select(&[event_kind::STATE, event_kind::DESTROY, event_kind::OWNER][..]);
    let families = prop::sample::select(&[AF_INET, AF_INET6][..]);
    prop_oneof![
        random.clone(),
        (random, kinds, families).prop_map(|(mut event, kind, family)| {
            event.kind = kind;
            event.family = family;
            event
        }),
    ]
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn any_event_decodes_or_is_rejected_clearly(raw in raw_event()) {
        let result = within("decode", move || Transition::decode(&raw));
        let valid_kind = matches!(raw.kind, event_kind::STATE | event_kind::DESTROY | event_kind::OWNER);
        let valid_family = matches!(raw.family, AF_INET | AF_INET6);
        match result {
            Err(error) => {
                assert_clear_error("event", &error);
                prop_assert!(!(valid_kind && valid_family), "valid event rejected: {error}");
            }
            Ok(t) => {
                prop_assert!(valid_kind && valid_family);
                prop_assert_eq!(t.cookie.0, raw.cookie);
                prop_assert_eq!(t.ts_ns, raw.ts_ns);
                prop_assert_eq!((t.local.port(), t.remote.port()), (raw.sport, raw.dport));
                let v6 = raw.family == AF_INET6;
                prop_assert_eq!(t.local.is_ipv6(), v6);
                prop_assert_eq!(t.remote.is_ipv6(), v6);
                if let IpAddr::V4(local) = t.local.ip() {
                    prop_assert_eq!(&local.octets()[..], &raw.saddr[..4]);
                }
                prop_assert_eq!(t.old.kernel(), SockState::from_kernel(raw.old_state).kernel());
                prop_assert_eq!(t.owner.is_some(), raw.pid != 0);
                if let Some(owner) = &t.owner {
                    let comm = owner.comm.as_bytes();
                    prop_assert!(comm.len() <= 15, "comm {:?}", owner.comm);
                    prop_assert!(!comm.contains(&0));
                    // The kernel's bytes, unchanged: views escape or hex them, never here.
                    prop_assert_eq!(comm, &raw.comm[..comm.len()]);
                }
                // Counters come with a destroy, and with the change into CLOSE before it.
                let into_close = t.kind == TransitionKind::State && t.new == SockState::Close;
                prop_assert_eq!(t.close.is_some(), t.kind == TransitionKind::Destroy || into_close);
                prop_assert_eq!(t.first_seen_ns.unwrap_or(0), raw.first_seen_ns);
            }
        }
    }
}

//! The kernel BTF reader (`Btf::parse`, then `field_offset` lookups): random bytes, prefixes
//! of the running kernel's BTF, and generated blobs of random types whose members point
//! anywhere.

use proptest::prelude::*;
use sockwatch::ebpf::btf::{Btf, BtfError};

use crate::common::{assert_clear_error, config, within};

const MAGIC: u16 = 0xeb9f;
const HEADER_LEN: u32 = 24;
const KIND_INT: u32 = 1;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_TYPEDEF: u32 = 8;
const KIND_CONST: u32 = 10;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_DATASEC: u32 = 15;
const KIND_ENUM64: u32 = 19;

/// The string section: every name a generated type or member may have (offset 0 is "").
const NAMES: &[&str] = &["sock", "__sk_common", "skc_num", "inner", "a", "b"];

/// Lookups tried on every blob that parses, as `kernel_offsets` makes them.
const LOOKUPS: &[(&str, &str)] = &[
    ("sock", "__sk_common.skc_num"),
    ("sock", "a"),
    ("sock", "a.b.a"),
    ("inner", "b"),
    ("inner", "nope"),
    ("missing", "a"),
];

fn string_section() -> Vec<u8> {
    let mut strings = vec![0u8];
    for name in NAMES {
        strings.extend_from_slice(name.as_bytes());
        strings.push(0);
    }
    strings
}

/// Offset of a name in [`string_section`]; index NAMES.len() stands for "anonymous" (0).
fn name_offset(index: usize) -> u32 {
    if index >= NAMES.len() {
        return 0;
    }
    1 + NAMES[..index]
        .iter()
        .map(|n| n.len() as u32 + 1)
        .sum::<u32>()
}

/// One generated type: kind, name, kind_flag, and its members (name, type id, offset).
#[derive(Clone, Debug)]
struct GenType {
    kind: u32,
    name: usize,
    kind_flag: bool,
    members: Vec<(usize, u32, u32)>,
}

/// Types that refer only to lower type ids, with bit offsets of at most 2^24: the shapes real
/// kernels have, so that every lookup must end (see `references_anywhere`).
fn well_formed_type() -> impl Strategy<Value = GenType> {
    gen_type(|| (0u32..16).boxed(), || (0u32..1 << 24).boxed())
}

/// Types that refer to any id, cycles included, with any bit offset.
fn any_type() -> impl Strategy<Value = GenType> {
    gen_type(|| (0u32..16).boxed(), || any::<u32>().boxed())
}

fn gen_type(
    type_ids: impl Fn() -> BoxedStrategy<u32>,
    offsets: impl Fn() -> BoxedStrategy<u32>,
) -> impl Strategy<Value = GenType> {
    let kinds = prop::sample::select(
        &[
            KIND_INT,
            KIND_ARRAY,
            KIND_STRUCT,
            KIND_STRUCT,
            KIND_UNION,
            KIND_ENUM,
            KIND_TYPEDEF,
            KIND_CONST,
            KIND_FUNC_PROTO,
            KIND_DATASEC,
            KIND_ENUM64,
            0,
            31,
        ][..],
    );
    let member = (0..=NAMES.len(), type_ids(), offsets());
    (
        kinds,
        0..=NAMES.len(),
        any::<bool>(),
        prop::collection::vec(member, 0..4),
    )
        .prop_map(|(kind, name, kind_flag, members)| GenType {
            kind,
            name,
            kind_flag,
            members,
        })
}

/// Encodes types as a BTF blob. `lower_only` rewrites every reference of type N to a
/// lower id (N's references modulo N), which rules out cycles.
fn blob(types: &[GenType], lower_only: bool) -> Vec<u8> {
    let mut words: Vec<u32> = Vec::new();
    for (index, ty) in types.iter().enumerate() {
        let id = index as u32 + 1;
        let refer = |target: u32| if lower_only { target % id } else { target };
        let composite = matches!(ty.kind, KIND_STRUCT | KIND_UNION);
        let vlen = if composite {
            ty.members.len() as u32
        } else {
            0
        };
        let info = (ty.kind << 24) | (u32::from(ty.kind_flag) << 31) | vlen;
        let size_or_type = match ty.kind {
            KIND_TYPEDEF | KIND_CONST => refer(ty.members.first().map_or(0, |m| m.1)),
            _ => 8,
        };
        words.extend([name_offset(ty.name), info, size_or_type]);
        match ty.kind {
            KIND_STRUCT | KIND_UNION => {
                for &(name, target, offset) in &ty.members {
                    words.extend([name_offset(name), refer(target), offset]);
                }
            }
            KIND_INT => words.push(32),
            KIND_ARRAY => words.extend([1, 1, 4]),
            _ => {}
        }
    }
    let type_bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let strings = string_section();
    let mut blob = Vec::new();
    blob.extend_from_slice(&MAGIC.to_le_bytes());
    blob.extend_from_slice(&[1, 0]);
    let type_len = type_bytes.len() as u32;
    for word in [HEADER_LEN, 0, type_len, type_len, strings.len() as u32] {
        blob.extend_from_slice(&word.to_le_bytes());
    }
    blob.extend_from_slice(&type_bytes);
    blob.extend_from_slice(&strings);
    blob
}

/// Parses `bytes`; when they parse, makes every lookup of [`LOOKUPS`]. Returns the errors seen.
fn parse_and_look_up(bytes: Vec<u8>) -> Vec<BtfError> {
    match Btf::parse(bytes) {
        Err(error) => vec![error],
        Ok(btf) => LOOKUPS
            .iter()
            .filter_map(|(strukt, path)| btf.field_offset(strukt, path).err())
            .collect(),
    }
}

fn check(what: &str, bytes: Vec<u8>) {
    for error in within(what, move || parse_and_look_up(bytes)) {
        assert_clear_error(what, &error);
    }
}

proptest! {
    #![proptest_config(config(500))]

    #[test]
    fn random_bytes_are_rejected_clearly(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check("random bytes", bytes);
    }

    #[test]
    fn random_bytes_after_a_valid_header_are_rejected_clearly(
        body in prop::collection::vec(any::<u8>(), 0..512),
        split in 0usize..512,
    ) {
        // A header that points the type section at the first `split` bytes and the strings
        // at the rest, so that the type parser itself meets the noise.
        let split = split.min(body.len()) as u32;
        let mut bytes = MAGIC.to_le_bytes().to_vec();
        bytes.extend_from_slice(&[1, 0]);
        for word in [HEADER_LEN, 0, split, split, body.len() as u32 - split] {
            bytes.extend_from_slice(&word.to_le_bytes());
        }
        bytes.extend_from_slice(&body);
        check("noise after a header", bytes);
    }

    #[test]
    fn generated_types_parse_and_answer(types in prop::collection::vec(well_formed_type(), 0..12)) {
        check("generated types", blob(&types, true));
    }

    #[test]
    fn truncated_generated_types_are_rejected_clearly(
        types in prop::collection::vec(well_formed_type(), 1..12),
        cut in any::<prop::sample::Index>(),
    ) {
        let bytes = blob(&types, true);
        let cut = cut.index(bytes.len());
        check("truncated generated types", bytes[..cut].to_vec());
    }
}

proptest! {
    #![proptest_config(config(500))]

    /// Members may refer to any type, the struct itself included, with any bit offset.
    #[test]
    fn references_anywhere(types in prop::collection::vec(any_type(), 0..12)) {
        check("types referring anywhere", blob(&types, false));
    }
}

/// A struct whose anonymous member is the struct itself: a lookup must end with an error
/// (nesting is bounded, so it cannot recurse until the stack overflows).
#[test]
fn a_self_containing_struct_is_an_error() {
    let types = [GenType {
        kind: KIND_STRUCT,
        name: 0,
        kind_flag: false,
        members: vec![(NAMES.len(), 1, 0)],
    }];
    check("self-containing struct", blob(&types, false));
}

/// Bit offsets that add up past u32::MAX through anonymous members: an error, not a
/// wrapped offset (a panic in debug builds).
#[test]
fn offsets_that_overflow_are_an_error() {
    let types = [
        GenType {
            kind: KIND_STRUCT,
            name: 0,
            kind_flag: false,
            members: vec![(NAMES.len(), 2, 0xffff_ff00)],
        },
        GenType {
            kind: KIND_STRUCT,
            name: 3,
            kind_flag: false,
            members: vec![(4, 0, 0x200)],
        },
    ];
    let bytes = blob(&types, false);
    let btf = Btf::parse(bytes).expect("well-formed blob");
    match btf.field_offset("sock", "a") {
        Err(error) => assert_clear_error("overflowing offsets", &error),
        Ok(offset) => panic!("offset {offset} from bit offsets that overflow u32"),
    }
}

/// Prefixes of the running kernel's BTF: each parses or fails clearly (the whole one parses).
#[test]
fn prefixes_of_the_kernel_btf_are_rejected_clearly() {
    let kernel = match std::fs::read("/sys/kernel/btf/vmlinux") {
        Ok(kernel) => kernel,
        // CI's kernel has BTF (follow needs it): its absence there is a failure.
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("kernel BTF: {e}"),
        Err(e) => return eprintln!("SKIPPED: kernel BTF: {e}"),
    };
    let len = kernel.len();
    let cuts = [
        0,
        1,
        4,
        23,
        24,
        25,
        100,
        4096,
        len / 3,
        len / 2,
        len - 1,
        len,
    ];
    for cut in cuts {
        let bytes = kernel[..cut].to_vec();
        let result = within("kernel BTF prefix", move || Btf::parse(bytes).map(|_| ()));
        match result {
            Ok(()) => assert_eq!(cut, len, "a prefix of {cut} bytes parsed"),
            Err(error) => assert_clear_error("kernel BTF prefix", &error),
        }
    }
}

/// No BTF at all (a kernel without CONFIG_DEBUG_INFO_BTF): the message says what is missing.
#[test]
fn missing_btf_is_explained() {
    let error = BtfError::Unreadable {
        path: "/sys/kernel/btf/vmlinux".into(),
        reason: std::io::Error::from(std::io::ErrorKind::NotFound).to_string(),
    };
    assert_clear_error("missing BTF", &error);
    let text = error.to_string();
    assert!(text.contains("/sys/kernel/btf/vmlinux"), "{text}");
    assert!(text.contains("CONFIG_DEBUG_INFO_BTF"), "{text}");
    let load = sockwatch::ebpf::LoadError::from(error);
    assert_clear_error("missing BTF, as follow reports it", &load);
}

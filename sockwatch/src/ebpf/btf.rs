//! Field offsets from the running kernel's BTF (/sys/kernel/btf/vmlinux).
//!
//! aya-ebpf has no CO-RE relocations, so the programs read kernel structs at offsets that user
//! space looks up here and hands over as globals. Only what that needs is parsed: struct and
//! union members, and the typedef/qualifier chains leading to them.
//!
//! The file is read once, here: mapped where the kernel allows it (Linux 6.16 and later map
//! /sys/kernel/btf/vmlinux read-only, which saves copying ~5 MB in 4 KiB reads and keeps the
//! bytes out of the process's own memory), else read. aya needs the kernel's BTF only to name
//! the tracepoints its tp_btf programs attach to (the type id of `btf_trace_<name>`); its full
//! parse costs ~13 MB and ~12 ms, so it gets [`Btf::attach_types`], a blob holding just those
//! typedefs (and the iterator's function) at their ids.

use thiserror::Error;

const MAGIC: u16 = 0xeb9f;
const HEADER_LEN: usize = 24;
const TYPE_LEN: usize = 12;

const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_DECL_TAG: u32 = 17;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum BtfError {
    #[error("kernel BTF is not readable at {path}: {reason} (sockwatch follow needs a kernel built with CONFIG_DEBUG_INFO_BTF)")]
    Unreadable { path: String, reason: String },
    #[error("kernel BTF is malformed: {0}")]
    Malformed(&'static str),
    #[error("kernel BTF has no struct {0}")]
    NoStruct(String),
    #[error("kernel BTF: struct {strukt} has no field {field}")]
    NoField { strukt: String, field: String },
    #[error("kernel BTF: {strukt}.{field} is a bit field, which the programs cannot read")]
    BitField { strukt: String, field: String },
}

#[derive(Clone, Copy, Debug)]
struct Member {
    name_off: u32,
    type_id: u32,
    bit_offset: u32,
    bitfield_size: u32,
}

/// A BTF blob, indexed but not decoded: the few lookups follow needs decode on demand, so
/// the kernel's ~100,000 types cost an offset each rather than a parsed tree.
pub struct Btf {
    data: Bytes,
    /// Where the type and string sections sit in `data`.
    types_at: std::ops::Range<usize>,
    strings_at: std::ops::Range<usize>,
    /// Byte offset in the type section of each type record indexed so far, by type id less
    /// one. The walk stops once what was asked for is found, and goes on when more is asked
    /// (see [`Btf::walk`]): follow's types are all in the first half of the kernel's.
    offsets: std::cell::RefCell<Vec<u32>>,
    /// Where the walk stopped: the byte offset of the next record to index.
    walked: std::cell::Cell<usize>,
    /// Ids looked up so far, by kind and name (None: absent). A lookup is a scan of every
    /// type: [`Btf::find_all`] answers many names in one scan, and follow asks for the same
    /// few structs ~20 times.
    ids: std::cell::RefCell<Vec<(KindName, Option<u32>)>>,
}

/// A type's kind and name.
type KindName = (Kind, String);

/// One type record's fixed part.
struct Record {
    name_off: u32,
    kind: u32,
    kind_flag: bool,
    vlen: usize,
    size_or_type: u32,
    /// Where the kind-specific data (members, ...) starts.
    extra_at: usize,
}

/// The blob's bytes: the kernel's file mapped read-only, or read into memory.
enum Bytes {
    Mapped(Mapping),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(mapping) => mapping.bytes(),
            Bytes::Owned(data) => data,
        }
    }
}

/// A private read-only mapping of a whole file, unmapped on drop.
struct Mapping {
    at: std::ptr::NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is read-only and owned by this value alone.
unsafe impl Send for Mapping {}

impl Mapping {
    /// Maps `file` whole; None when its filesystem does not map it (kernels before 6.16 for
    /// /sys/kernel/btf/vmlinux) or it is empty.
    fn of(file: &std::fs::File) -> Option<Mapping> {
        use std::os::fd::AsRawFd;
        let len = usize::try_from(file.metadata().ok()?.len()).ok()?;
        if len == 0 {
            return None;
        }
        // SAFETY: a new private read-only mapping of a descriptor we hold; the kernel checks
        // the length against the file, and nothing else refers to the pages.
        let at = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if at == libc::MAP_FAILED {
            return None;
        }
        Some(Mapping {
            at: std::ptr::NonNull::new(at.cast())?,
            len,
        })
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `len` readable bytes are mapped at `at` for as long as self lives, and a
        // read-only private mapping of the kernel's BTF never changes under us.
        unsafe { std::slice::from_raw_parts(self.at.as_ptr(), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping this value made.
        unsafe { libc::munmap(self.at.as_ptr().cast(), self.len) };
    }
}

fn u32_at(data: &[u8], at: usize) -> Result<u32, BtfError> {
    data.get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or(BtfError::Malformed("truncated"))
}

impl Btf {
    /// The running kernel's BTF, with the types `wanted` (kind, name) looked up in the same
    /// walk that indexes it (see [`Btf::find_all`]).
    pub fn from_sys_fs(wanted: &[(Kind, &str)]) -> Result<Btf, BtfError> {
        use std::io::Read;
        let path = "/sys/kernel/btf/vmlinux";
        let unreadable = |e: std::io::Error| BtfError::Unreadable {
            path: path.into(),
            reason: e.to_string(),
        };
        let mut file = std::fs::File::open(path).map_err(unreadable)?;
        let data = match Mapping::of(&file) {
            Some(mapping) => Bytes::Mapped(mapping),
            None => {
                let mut data = Vec::new();
                file.read_to_end(&mut data).map_err(unreadable)?;
                Bytes::Owned(data)
            }
        };
        Btf::index(data, wanted)
    }

    /// Every type of `data`, indexed (and checked) at once.
    pub fn parse(data: Vec<u8>) -> Result<Btf, BtfError> {
        let btf = Btf::index(Bytes::Owned(data), &[])?;
        btf.walk(|_, _| Ok(false))?;
        Ok(btf)
    }

    fn index(data: Bytes, wanted: &[(Kind, &str)]) -> Result<Btf, BtfError> {
        if data.len() < HEADER_LEN || u16::from_le_bytes([data[0], data[1]]) != MAGIC {
            return Err(BtfError::Malformed(
                "bad magic (only little-endian BTF is read)",
            ));
        }
        let hdr_len = u32_at(&data, 4)? as usize;
        let type_off = u32_at(&data, 8)? as usize;
        let type_len = u32_at(&data, 12)? as usize;
        let str_off = u32_at(&data, 16)? as usize;
        let str_len = u32_at(&data, 20)? as usize;
        let section = |off: usize, len: usize| {
            let start = hdr_len.checked_add(off)?;
            let end = start.checked_add(len)?;
            (end <= data.len()).then_some(start..end)
        };
        let types_at = section(type_off, type_len).ok_or(BtfError::Malformed("type section"))?;
        let strings_at = section(str_off, str_len).ok_or(BtfError::Malformed("string section"))?;
        let btf = Btf {
            // A type record is 12 bytes and most carry a few more.
            offsets: std::cell::RefCell::new(Vec::with_capacity(types_at.len() / 24)),
            walked: std::cell::Cell::new(0),
            data,
            types_at,
            strings_at,
            ids: Default::default(),
        };
        btf.find_all(wanted)?;
        Ok(btf)
    }

    /// Indexes the records after the last one indexed until `stop` (given each new record
    /// and its id) says so, or the types end.
    fn walk(
        &self,
        mut stop: impl FnMut(&Record, u32) -> Result<bool, BtfError>,
    ) -> Result<(), BtfError> {
        let mut at = self.walked.get();
        while at < self.types().len() {
            let record = self.record_at(at)?;
            let id = {
                let mut offsets = self.offsets.borrow_mut();
                offsets.push(at as u32);
                offsets.len() as u32
            };
            let extra = match record.kind {
                KIND_STRUCT | KIND_UNION | KIND_DATASEC | KIND_ENUM64 => record.vlen * 12,
                KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
                KIND_ARRAY => 12,
                KIND_ENUM | KIND_FUNC_PROTO => record.vlen * 8,
                _ => 0,
            };
            at = record.extra_at + extra;
            self.walked.set(at);
            if stop(&record, id)? {
                break;
            }
        }
        Ok(())
    }

    fn types(&self) -> &[u8] {
        &self.data[self.types_at.clone()]
    }

    fn strings(&self) -> &[u8] {
        &self.data[self.strings_at.clone()]
    }

    fn record_at(&self, at: usize) -> Result<Record, BtfError> {
        let fixed: &[u8; TYPE_LEN] = self
            .types()
            .get(at..at + TYPE_LEN)
            .and_then(|b| b.try_into().ok())
            .ok_or(BtfError::Malformed("truncated"))?;
        let word =
            |i: usize| u32::from_le_bytes([fixed[i], fixed[i + 1], fixed[i + 2], fixed[i + 3]]);
        let info = word(4);
        Ok(Record {
            name_off: word(0),
            kind: (info >> 24) & 0x1f,
            kind_flag: info >> 31 == 1,
            vlen: (info & 0xffff) as usize,
            size_or_type: word(8),
            extra_at: at + TYPE_LEN,
        })
    }

    /// The record of type `id` (ids start at 1; 0 is void, None).
    fn record(&self, id: u32) -> Result<Option<Record>, BtfError> {
        if id as usize > self.offsets.borrow().len() {
            self.walk(|_, indexed| Ok(indexed >= id))?;
        }
        let at = id
            .checked_sub(1)
            .and_then(|i| self.offsets.borrow().get(i as usize).copied());
        match at {
            Some(at) => self.record_at(at as usize).map(Some),
            None => Ok(None),
        }
    }

    /// The first type of `kind` named `name`: vmlinux's own definition.
    fn type_id(&self, kind: Kind, name: &str) -> Result<Option<u32>, BtfError> {
        self.find_all(&[(kind, name)])?;
        Ok(self.cached(kind, name).flatten())
    }

    fn cached(&self, kind: Kind, name: &str) -> Option<Option<u32>> {
        self.ids
            .borrow()
            .iter()
            .find(|((k, n), _)| *k == kind && n == name)
            .map(|(_, id)| *id)
    }

    /// Looks up every (kind, name) of `wanted` not looked up before, in one scan of the types
    /// indexed so far and, for what it has not found, of those after them (the lookups of
    /// [`Btf::field_offset`] and the others then cost nothing).
    pub fn find_all(&self, wanted: &[(Kind, &str)]) -> Result<(), BtfError> {
        let mut search = Wanted::new(self, wanted);
        if search.left == 0 {
            return Ok(());
        }
        let indexed = self.offsets.borrow().len();
        for index in 0..indexed {
            if search.left == 0 {
                break;
            }
            let at = self.offsets.borrow()[index];
            search.check(self, &self.record_at(at as usize)?, index as u32 + 1)?;
        }
        if search.left > 0 {
            self.walk(|record, id| {
                search.check(self, record, id)?;
                Ok(search.left == 0)
            })?;
        }
        search.store(self);
        Ok(())
    }

    fn struct_id(&self, name: &str) -> Result<Option<u32>, BtfError> {
        self.type_id(Kind::Struct, name)
    }

    /// Whether the kernel has the tracepoint `name` for tp_btf programs.
    pub fn has_trace_type(&self, name: &str) -> Result<bool, BtfError> {
        Ok(self
            .type_id(Kind::Typedef, &format!("btf_trace_{name}"))?
            .is_some())
    }

    /// A BTF blob in which the typedefs `btf_trace_<name>` of the given tracepoints, and the
    /// functions `bpf_iter_<name>` of the given iterators, sit at their ids in this BTF, every
    /// other id holding a nameless placeholder: all aya needs to load tp_btf and iterator
    /// programs, at a fraction of a full parse. Those the kernel lacks are left out (loading
    /// their programs then fails with their name).
    pub fn attach_types(
        &self,
        tracepoints: &[&str],
        iterators: &[&str],
    ) -> Result<Vec<u8>, BtfError> {
        let names: Vec<(Kind, String)> = tracepoints
            .iter()
            .map(|name| (Kind::Typedef, trace_type(name)))
            .chain(iterators.iter().map(|name| (Kind::Func, iter_func(name))))
            .collect();
        let wanted: Vec<(Kind, &str)> = names.iter().map(|(k, n)| (*k, n.as_str())).collect();
        self.find_all(&wanted)?;
        let mut found = Vec::new();
        for (kind, name) in names {
            if let Some(id) = self.type_id(kind, &name)? {
                found.push((id, kind, name));
            }
        }
        found.sort();
        let mut strings = vec![0u8];
        let last = found.last().map_or(0, |(id, _, _)| *id as usize);
        let mut types = Vec::with_capacity(last * TYPE_LEN);
        // Placeholders: pointers to void, the smallest record aya accepts (tens of thousands
        // of them: written whole, not field by field).
        let mut placeholder = Vec::with_capacity(TYPE_LEN);
        push_record(&mut placeholder, 0, KIND_PTR, 0);
        let mut next_id = 1;
        for (id, kind, name) in found {
            for _ in next_id..id {
                types.extend_from_slice(&placeholder);
            }
            let kind = match kind {
                Kind::Func => KIND_FUNC,
                _ => KIND_TYPEDEF,
            };
            push_record(&mut types, strings.len() as u32, kind, 0);
            strings.extend_from_slice(name.as_bytes());
            strings.push(0);
            next_id = id + 1;
        }
        Ok(blob(&types, &strings))
    }

    /// The values and names of enum `name` (ENUM or ENUM64 with values that fit a u32),
    /// or None when the kernel has no such enum.
    pub fn enum_values(&self, name: &str) -> Result<Option<Vec<(u32, String)>>, BtfError> {
        let Some(record) = self.type_id(Kind::Enum, name)?.map(|id| self.record(id)) else {
            return Ok(None);
        };
        let Some(record) = record? else {
            return Ok(None);
        };
        let stride = if record.kind == KIND_ENUM { 8 } else { 12 };
        let values = (0..record.vlen)
            .map(|i| {
                let at = record.extra_at + i * stride;
                let name = string_at(self.strings(), u32_at(self.types(), at)?)?;
                Ok((u32_at(self.types(), at + 4)?, name.to_string()))
            })
            .collect::<Result<Vec<_>, BtfError>>()?;
        Ok(Some(values))
    }

    fn members(&self, record: &Record) -> Result<Vec<Member>, BtfError> {
        (0..record.vlen)
            .map(|i| {
                let m = record.extra_at + i * 12;
                let offset = u32_at(self.types(), m + 8)?;
                let (bit_offset, bitfield_size) = if record.kind_flag {
                    (offset & 0xff_ffff, offset >> 24)
                } else {
                    (offset, 0)
                };
                Ok(Member {
                    name_off: u32_at(self.types(), m)?,
                    type_id: u32_at(self.types(), m + 4)?,
                    bit_offset,
                    bitfield_size,
                })
            })
            .collect()
    }

    /// Byte offset of `path` (e.g. `__sk_common.skc_num`) inside struct `strukt`, looking
    /// through anonymous struct and union members on the way.
    pub fn field_offset(&self, strukt: &str, path: &str) -> Result<u32, BtfError> {
        let mut type_id = self
            .struct_id(strukt)?
            .ok_or_else(|| BtfError::NoStruct(strukt.into()))?;
        let mut bits = 0u32;
        for field in path.split('.') {
            let (member, offset) =
                self.find_member(type_id, field, 0)?
                    .ok_or_else(|| BtfError::NoField {
                        strukt: strukt.into(),
                        field: path.into(),
                    })?;
            if member.bitfield_size != 0 || offset % 8 != 0 {
                return Err(BtfError::BitField {
                    strukt: strukt.into(),
                    field: path.into(),
                });
            }
            bits = bits
                .checked_add(offset)
                .ok_or(BtfError::Malformed("member offset overflows"))?;
            type_id = member.type_id;
        }
        Ok(bits / 8)
    }

    /// Finds a named member in a struct or union, recursing into anonymous members; returns it
    /// with its bit offset from the start of `type_id`. `depth` bounds malformed nesting.
    fn find_member(
        &self,
        type_id: u32,
        name: &str,
        depth: u32,
    ) -> Result<Option<(Member, u32)>, BtfError> {
        if depth > 32 {
            return Err(BtfError::Malformed("nesting too deep"));
        }
        let Some(record) = self.resolve(type_id)? else {
            return Ok(None);
        };
        if !matches!(record.kind, KIND_STRUCT | KIND_UNION) {
            return Ok(None);
        }
        for member in self.members(&record)? {
            if member.name_off == 0 {
                if let Some((found, offset)) = self.find_member(member.type_id, name, depth + 1)? {
                    let total = member
                        .bit_offset
                        .checked_add(offset)
                        .ok_or(BtfError::Malformed("member offset overflows"))?;
                    return Ok(Some((found, total)));
                }
            } else if string_at(self.strings(), member.name_off)? == name {
                return Ok(Some((member, member.bit_offset)));
            }
        }
        Ok(None)
    }

    /// Follows typedefs and qualifiers to the underlying type.
    fn resolve(&self, mut type_id: u32) -> Result<Option<Record>, BtfError> {
        // A bounded walk: a malformed cycle must not hang.
        for _ in 0..32 {
            let Some(record) = self.record(type_id)? else {
                return Ok(None);
            };
            match record.kind {
                KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => {
                    type_id = record.size_or_type;
                }
                _ => return Ok(Some(record)),
            }
        }
        Ok(None)
    }
}

/// The kinds of type looked up by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Struct,
    Typedef,
    Func,
    /// ENUM or ENUM64.
    Enum,
}

impl Kind {
    /// The BTF kinds this is, one bit each.
    fn bits(self) -> u32 {
        match self {
            Kind::Struct => 1 << KIND_STRUCT,
            Kind::Typedef => 1 << KIND_TYPEDEF,
            Kind::Func => 1 << KIND_FUNC,
            Kind::Enum => 1 << KIND_ENUM | 1 << KIND_ENUM64,
        }
    }

    fn matches(self, kind: u32) -> bool {
        self.bits() & 1 << kind != 0
    }
}

/// The typedef through which tp_btf programs attach to tracepoint `name`.
pub fn trace_type(name: &str) -> String {
    format!("btf_trace_{name}")
}

/// The function that names iterator `name` (e.g. `task_file`) for the programs that run it.
pub fn iter_func(name: &str) -> String {
    format!("bpf_iter_{name}")
}

/// Lookups by kind and name in one walk of the types: the first match of each wins.
struct Wanted<'a> {
    names: Vec<(Kind, &'a str)>,
    /// The BTF kinds of `names`, one bit each: most types are of none of them.
    kinds: u32,
    found: Vec<Option<u32>>,
    left: usize,
}

impl<'a> Wanted<'a> {
    /// Those of `wanted` that `btf` has not looked up yet.
    fn new(btf: &Btf, wanted: &[(Kind, &'a str)]) -> Wanted<'a> {
        let mut names: Vec<(Kind, &str)> = wanted
            .iter()
            .filter(|(kind, name)| btf.cached(*kind, name).is_none())
            .copied()
            .collect();
        names.sort_unstable();
        names.dedup();
        Wanted {
            kinds: names.iter().fold(0, |bits, (kind, _)| bits | kind.bits()),
            found: vec![None; names.len()],
            left: names.len(),
            names,
        }
    }

    /// Notes type `id` (`record`) if it is one of those wanted.
    fn check(&mut self, btf: &Btf, record: &Record, id: u32) -> Result<(), BtfError> {
        if self.left == 0 || record.name_off == 0 || self.kinds & 1 << record.kind == 0 {
            return Ok(());
        }
        let name = name_bytes_at(btf.strings(), record.name_off)?;
        for (slot, (kind, wanted)) in self.found.iter_mut().zip(&self.names) {
            if slot.is_none() && kind.matches(record.kind) && wanted.as_bytes() == name {
                *slot = Some(id);
                self.left -= 1;
            }
        }
        Ok(())
    }

    fn store(self, btf: &Btf) {
        let mut ids = btf.ids.borrow_mut();
        for ((kind, name), id) in self.names.into_iter().zip(self.found) {
            ids.push(((kind, name.to_string()), id));
        }
    }
}

/// A BTF blob: header, then the type and string sections.
fn blob(types: &[u8], strings: &[u8]) -> Vec<u8> {
    let mut blob = Vec::with_capacity(HEADER_LEN + types.len() + strings.len());
    blob.extend_from_slice(&MAGIC.to_le_bytes());
    blob.extend_from_slice(&[1, 0]);
    for word in [
        HEADER_LEN as u32,
        0,
        types.len() as u32,
        types.len() as u32,
        strings.len() as u32,
    ] {
        blob.extend_from_slice(&word.to_le_bytes());
    }
    blob.extend_from_slice(types);
    blob.extend_from_slice(strings);
    blob
}

/// One type record with no kind-specific data.
fn push_record(types: &mut Vec<u8>, name_off: u32, kind: u32, size_or_type: u32) {
    for word in [name_off, kind << 24, size_or_type] {
        types.extend_from_slice(&word.to_le_bytes());
    }
}

fn string_at(strings: &[u8], offset: u32) -> Result<&str, BtfError> {
    std::str::from_utf8(name_bytes_at(strings, offset)?)
        .map_err(|_| BtfError::Malformed("string not UTF-8"))
}

/// The NUL-terminated name at `offset`, unchecked for UTF-8 (for comparing).
fn name_bytes_at(strings: &[u8], offset: u32) -> Result<&[u8], BtfError> {
    let rest = strings
        .get(offset as usize..)
        .ok_or(BtfError::Malformed("string offset"))?;
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    Ok(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A BTF blob with: 1 int, 2 struct inner { int a; int b; }, 3 struct outer { int x;
    /// union { struct inner in; } ; }, 4 typedef btf_trace_x -> 3.
    fn sample() -> Vec<u8> {
        let strings = b"\0int\0inner\0a\0b\0outer\0x\0in\0btf_trace_x\0";
        let name = |s: &str| {
            let needle = format!("\0{s}\0");
            strings
                .windows(needle.len())
                .position(|w| w == needle.as_bytes())
                .map(|p| p as u32 + 1)
                .expect("name in table")
        };
        let mut types = Vec::new();
        let mut push = |words: &[u32]| {
            for w in words {
                types.extend_from_slice(&w.to_le_bytes());
            }
        };
        push(&[name("int"), KIND_INT << 24, 4, 32]);
        push(&[name("inner"), (KIND_STRUCT << 24) | 2, 8]);
        push(&[name("a"), 1, 0, name("b"), 1, 32]);
        push(&[name("outer"), (KIND_STRUCT << 24) | 2, 12]);
        push(&[name("x"), 1, 0, 0, 5, 32]);
        push(&[name("btf_trace_x"), KIND_TYPEDEF << 24, 3]);
        // 5: anonymous union { struct inner in; }
        push(&[0, (KIND_UNION << 24) | 1, 8]);
        push(&[name("in"), 2, 0]);
        blob(&types, strings)
    }

    #[test]
    fn finds_fields_through_anonymous_members() {
        let btf = Btf::parse(sample()).expect("valid sample");
        assert_eq!(btf.field_offset("inner", "b"), Ok(4));
        assert_eq!(btf.field_offset("outer", "x"), Ok(0));
        assert_eq!(btf.field_offset("outer", "in.b"), Ok(8));
        assert_eq!(
            btf.field_offset("outer", "nope"),
            Err(BtfError::NoField {
                strukt: "outer".into(),
                field: "nope".into()
            })
        );
        assert_eq!(
            btf.field_offset("missing", "x"),
            Err(BtfError::NoStruct("missing".into()))
        );
    }

    #[test]
    fn trace_types_keep_the_typedef_ids_for_aya() {
        let btf = Btf::parse(sample()).expect("valid sample");
        assert_eq!(btf.has_trace_type("x"), Ok(true));
        assert_eq!(btf.has_trace_type("missing"), Ok(false));
        let blob = btf.attach_types(&["x", "missing"], &[]).expect("blob");
        let slim = Btf::parse(blob.clone()).expect("the blob is BTF");
        assert_eq!(slim.type_id(Kind::Typedef, "btf_trace_x"), Ok(Some(4)));
        assert_eq!(slim.offsets.borrow().len(), 4);
        assert!(aya::Btf::parse(&blob, aya::Endianness::default()).is_ok());
    }

    #[test]
    fn rejects_truncated_and_garbage_blobs() {
        let blob = sample();
        for len in 0..blob.len() {
            // Any prefix either parses (and answers lookups) or is an error: never a panic.
            if let Ok(btf) = Btf::parse(blob[..len].to_vec()) {
                let _ = btf.field_offset("outer", "in.b");
            }
        }
        assert!(Btf::parse(b"not btf at all, just some bytes".to_vec()).is_err());
    }

    /// The reset reasons follow names come from the running kernel's BTF, where it has them.
    #[test]
    fn running_kernel_reset_reason_names_are_readable() {
        let btf = match Btf::from_sys_fs(&[]) {
            Ok(btf) => btf,
            Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("{e}"),
            Err(e) => return eprintln!("SKIPPED: {e}"),
        };
        let resets = btf.enum_values("sk_rst_reason").expect("readable");
        if let Some(resets) = resets {
            assert!(resets
                .iter()
                .any(|(_, name)| name == "SK_RST_REASON_NOT_SPECIFIED"));
        }
    }

    /// The offsets follow hands the programs equal those bpftool (Debian's package, its own
    /// BTF reader) finds in the running kernel's BTF. `cargo xtask test` installs bpftool.
    #[test]
    fn running_kernel_offsets_match_bpftool() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        let btf = match Btf::from_sys_fs(&[]) {
            Ok(btf) => btf,
            Err(e) if ci => panic!("{e}"),
            Err(e) => return eprintln!("SKIPPED: {e}"),
        };
        let reference = match bpftool::Dump::of_running_kernel() {
            Ok(dump) => dump,
            Err(e) if ci => panic!("{e} (CI=true: not skipping)"),
            Err(e) => return eprintln!("SKIPPED: {e}"),
        };
        let o = crate::ebpf::kernel_offsets(&btf).expect("offsets");
        let fields = [
            (o.skc_family, "sock", "__sk_common.skc_family"),
            (o.skc_state, "sock", "__sk_common.skc_state"),
            (o.inet_sport, "inet_sock", "inet_sport"),
            (o.skc_dport, "sock", "__sk_common.skc_dport"),
            (o.skc_rcv_saddr, "sock", "__sk_common.skc_rcv_saddr"),
            (o.skc_daddr, "sock", "__sk_common.skc_daddr"),
            (o.skc_v6_rcv_saddr, "sock", "__sk_common.skc_v6_rcv_saddr"),
            (o.skc_v6_daddr, "sock", "__sk_common.skc_v6_daddr"),
            (o.skc_net, "sock", "__sk_common.skc_net"),
            (o.sk_protocol, "sock", "sk_protocol"),
            (o.net_ns_inum, "net", "ns.inum"),
            (o.tcp_bytes_acked, "tcp_sock", "bytes_acked"),
            (o.tcp_bytes_received, "tcp_sock", "bytes_received"),
            (o.tcp_total_retrans, "tcp_sock", "total_retrans"),
            (o.sk_cookie, "sock", "__sk_common.skc_cookie"),
            (o.task_files, "task_struct", "files"),
            (o.files_fdt, "files_struct", "fdt"),
            (o.fdtable_fd, "fdtable", "fd"),
            (o.fdtable_max_fds, "fdtable", "max_fds"),
            (o.file_private_data, "file", "private_data"),
            (o.socket_sk, "socket", "sk"),
        ];
        for (ours, strukt, path) in fields {
            assert_eq!(
                Some(ours),
                reference.offset(strukt, path),
                "{strukt}.{path}: sockwatch's offset against bpftool's"
            );
        }
    }

    /// bpftool's raw BTF listing, read only as far as struct members go.
    mod bpftool {
        use std::collections::HashMap;

        struct Type {
            kind: String,
            /// The referenced type of a typedef or qualifier.
            target: Option<u32>,
            /// Members: name, type id, bit offset.
            members: Vec<(String, u32, u32)>,
        }

        pub struct Dump {
            types: HashMap<u32, Type>,
            structs: HashMap<String, u32>,
        }

        fn value<T: std::str::FromStr>(words: &str, key: &str) -> Option<T> {
            words
                .split_whitespace()
                .find_map(|w| w.strip_prefix(key))
                .and_then(|v| v.parse().ok())
        }

        impl Dump {
            pub fn of_running_kernel() -> Result<Dump, String> {
                let args = [
                    "btf",
                    "dump",
                    "file",
                    "/sys/kernel/btf/vmlinux",
                    "format",
                    "raw",
                ];
                let output = ["bpftool", "/usr/sbin/bpftool"]
                    .iter()
                    .find_map(|program| {
                        std::process::Command::new(program).args(args).output().ok()
                    })
                    .ok_or("bpftool (Debian's bpftool package) is not installed")?;
                if !output.status.success() {
                    return Err(format!(
                        "bpftool btf dump failed: {}",
                        String::from_utf8_lossy(&output.stderr)
                    ));
                }
                Ok(Dump::parse(&String::from_utf8_lossy(&output.stdout)))
            }

            fn parse(text: &str) -> Dump {
                let mut types = HashMap::new();
                let mut structs = HashMap::new();
                let mut current = None;
                for line in text.lines() {
                    if let Some(member) = line.strip_prefix('\t') {
                        let (Some(id), Some(name)) = (current, member.split('\'').nth(1)) else {
                            continue;
                        };
                        let (Some(ty), Some(bits)) =
                            (value(member, "type_id="), value(member, "bits_offset="))
                        else {
                            continue;
                        };
                        if let Some(t) = types.get_mut(&id) {
                            let t: &mut Type = t;
                            t.members.push((name.to_string(), ty, bits));
                        }
                        continue;
                    }
                    let Some(rest) = line.strip_prefix('[') else {
                        continue;
                    };
                    let Some((id, rest)) = rest.split_once("] ") else {
                        continue;
                    };
                    let Ok(id) = id.parse::<u32>() else { continue };
                    let kind = rest.split_whitespace().next().unwrap_or("").to_string();
                    let name = rest.split('\'').nth(1).unwrap_or("");
                    if kind == "STRUCT" && value::<u32>(rest, "size=").is_some_and(|s| s > 0) {
                        structs.entry(name.to_string()).or_insert(id);
                    }
                    types.insert(
                        id,
                        Type {
                            kind,
                            target: value(rest, "type_id="),
                            members: Vec::new(),
                        },
                    );
                    current = Some(id);
                }
                Dump { types, structs }
            }

            /// The struct or union a type id names, through typedefs and qualifiers.
            fn resolve(&self, mut id: u32) -> Option<&Type> {
                loop {
                    let t = self.types.get(&id)?;
                    match t.kind.as_str() {
                        "STRUCT" | "UNION" => return Some(t),
                        "TYPEDEF" | "CONST" | "VOLATILE" | "RESTRICT" | "TYPE_TAG" => {
                            id = t.target?
                        }
                        _ => return None,
                    }
                }
            }

            /// The bit offset and type of `name` in `t`, looking into anonymous members.
            fn member(&self, t: &Type, name: &str) -> Option<(u32, u32)> {
                for (member, ty, bits) in &t.members {
                    if member == name {
                        return Some((*bits, *ty));
                    }
                    if member == "(anon)" {
                        let inner = self.resolve(*ty)?;
                        if let Some((more, found)) = self.member(inner, name) {
                            return Some((bits + more, found));
                        }
                    }
                }
                None
            }

            /// The byte offset of a dotted member path in a struct.
            pub fn offset(&self, strukt: &str, path: &str) -> Option<u32> {
                let mut t = self.types.get(self.structs.get(strukt)?)?;
                let mut bits = 0;
                let mut parts = path.split('.').peekable();
                while let Some(part) = parts.next() {
                    let (more, ty) = self.member(t, part)?;
                    bits += more;
                    if parts.peek().is_some() {
                        t = self.resolve(ty)?;
                    }
                }
                Some(bits / 8)
            }
        }
    }
}

//! The consumer side of the EVENTS ring buffer, reading through a sliding window.
//!
//! A BPF ring buffer is read through mmap: a writable page holding the consumer position,
//! a read-only page holding the producer position, then the data pages, which the kernel maps
//! twice in a row so that a record that wraps around the end reads contiguously. aya's (and
//! libbpf's) reader maps all of it at once, and the kernel fills every page table entry at
//! mmap time: an 8 MiB ring costs 16 MiB of resident memory from the first moment, more than
//! the rest of follow together. This reader maps the data a window at a time instead, at the
//! consumer's position, and moves the window (one mmap over the old one) when the records
//! leave it: the ring keeps its size, the resident memory is one window.

use std::{
    os::fd::{AsFd, AsRawFd, RawFd},
    ptr::NonNull,
    sync::atomic::{AtomicU32, AtomicU64, Ordering},
};

use aya::maps::MapData;

/// The record header's flags (include/uapi/linux/bpf.h): still being written, thrown away.
const BUSY_BIT: u32 = 1 << 31;
const DISCARD_BIT: u32 = 1 << 30;
/// Header before each record: its length and flags (u32), then the kernel's page offset.
const HEADER_LEN: u64 = 8;
/// The data window mapped at a time. Moving it costs one mmap, which fills one page table
/// entry a page: at follow's busiest (tens of MB of events a second) a few dozen a second.
const WINDOW_BYTES: usize = 1 << 20;

/// One read-only or read-write shared mapping of the ring's descriptor.
struct Mapping {
    at: NonNull<u8>,
    len: usize,
}

impl Mapping {
    /// Maps `len` bytes at `offset` of `fd`; over `replace` when given (MAP_FIXED: the old
    /// mapping goes in the same call).
    fn new(
        fd: RawFd,
        offset: usize,
        len: usize,
        writable: bool,
        replace: Option<&Mapping>,
    ) -> std::io::Result<Mapping> {
        let prot = if writable {
            libc::PROT_READ | libc::PROT_WRITE
        } else {
            libc::PROT_READ
        };
        let (hint, flags) = match replace {
            Some(old) if old.len == len => {
                (old.at.as_ptr().cast(), libc::MAP_SHARED | libc::MAP_FIXED)
            }
            _ => (std::ptr::null_mut(), libc::MAP_SHARED),
        };
        let offset = libc::off_t::try_from(offset)
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
        // SAFETY: a shared mapping of a BPF map descriptor; MAP_FIXED only over a mapping of
        // the same length that this reader owns and no reference into which is alive.
        let at = unsafe { libc::mmap(hint, len, prot, flags, fd, offset) };
        if at == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        NonNull::new(at.cast())
            .map(|at| Mapping { at, len })
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::InvalidData))
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmapping what `new` mapped, once.
        unsafe { libc::munmap(self.at.as_ptr().cast(), self.len) };
    }
}

/// Where the data window sits: data bytes `start..start + mapping.len` (`start` a page
/// multiple below the data size; the double mapping makes any such range valid).
struct Window {
    mapping: Mapping,
    start: u64,
}

pub struct EventRing {
    /// Keeps the descriptor open (and is what the reactor polls).
    map: MapData,
    consumer: Mapping,
    producer: Mapping,
    window: Option<Window>,
    /// Data size in bytes, a power of two.
    size: u64,
    page: u64,
    /// The consumer position as last stored.
    position: u64,
}

// SAFETY: the mappings are owned by this value and used only through `&mut self`.
unsafe impl Send for EventRing {}

impl EventRing {
    pub fn new(map: MapData) -> std::io::Result<EventRing> {
        let info = map.info().map_err(std::io::Error::other)?;
        let size = u64::from(info.max_entries());
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        let page = u64::try_from(page).unwrap_or(4096);
        if !size.is_power_of_two() || size < page {
            return Err(std::io::Error::other(format!(
                "ring buffer size {size} is not a power of two of at least a page"
            )));
        }
        let fd = map.fd().as_fd().as_raw_fd();
        let consumer = Mapping::new(fd, 0, page as usize, true, None)?;
        let producer = Mapping::new(fd, page as usize, page as usize, false, None)?;
        // SAFETY: the consumer page starts with the kernel's u64 consumer position.
        let position =
            unsafe { (*consumer.at.as_ptr().cast::<AtomicU64>()).load(Ordering::Acquire) };
        Ok(EventRing {
            map,
            consumer,
            producer,
            window: None,
            size,
            page,
            position,
        })
    }

    fn producer_position(&self) -> u64 {
        // SAFETY: the producer page starts with the kernel's u64 producer position.
        unsafe { (*self.producer.at.as_ptr().cast::<AtomicU64>()).load(Ordering::Acquire) }
    }

    fn store_position(&mut self, position: u64) {
        self.position = position;
        // SAFETY: the consumer page starts with the u64 consumer position, ours to write.
        unsafe {
            (*self.consumer.at.as_ptr().cast::<AtomicU64>()).store(position, Ordering::Release)
        };
    }

    /// The mapped bytes for data offsets `offset..offset + len` (offset below the data size),
    /// moving the window there when they are outside it.
    fn bytes(&mut self, offset: u64, len: u64) -> std::io::Result<*const u8> {
        if let Some(window) = &self.window {
            if offset >= window.start && offset + len <= window.start + window.mapping.len as u64 {
                return Ok(window
                    .mapping
                    .at
                    .as_ptr()
                    .wrapping_add((offset - window.start) as usize));
            }
        }
        let start = offset - offset % self.page;
        let needed = (offset - start + len).div_ceil(self.page) * self.page;
        let len_mapped = needed.max((WINDOW_BYTES as u64).min(self.size));
        // Data begins after the consumer and producer pages.
        let file_offset = (2 * self.page + start) as usize;
        let fd = self.map.fd().as_fd().as_raw_fd();
        let old = self.window.take();
        let mapping = Mapping::new(
            fd,
            file_offset,
            len_mapped as usize,
            false,
            old.as_ref().map(|w| &w.mapping),
        )?;
        if let Some(old) = old {
            if old.mapping.at == mapping.at {
                // Replaced in place by MAP_FIXED: nothing left to unmap.
                std::mem::forget(old.mapping);
            }
        }
        let at = mapping.at.as_ptr().wrapping_add((offset - start) as usize);
        self.window = Some(Window { mapping, start });
        Ok(at)
    }

    /// Calls `each` with every committed record, in order, and releases each to the kernel.
    /// Stops at a record still being written.
    pub fn drain(&mut self, mut each: impl FnMut(&[u8])) -> std::io::Result<()> {
        let mask = self.size - 1;
        loop {
            let producer = self.producer_position();
            let mut position = self.position;
            if position >= producer {
                return Ok(());
            }
            while position < producer {
                let offset = position & mask;
                let header = self.bytes(offset, HEADER_LEN)?;
                // SAFETY: the header is mapped, 8-byte aligned and written by the kernel with
                // release semantics; acquire pairs with it.
                let word = unsafe { (*header.cast::<AtomicU32>()).load(Ordering::Acquire) };
                if word & BUSY_BIT != 0 {
                    return Ok(());
                }
                let len = u64::from(word & !(BUSY_BIT | DISCARD_BIT));
                if word & DISCARD_BIT == 0 {
                    let record = self.bytes(offset, HEADER_LEN + len)?;
                    // SAFETY: header and record are mapped, and committed (not busy): the
                    // kernel no longer writes them until the consumer position passes them.
                    let data = unsafe {
                        std::slice::from_raw_parts(record.add(HEADER_LEN as usize), len as usize)
                    };
                    each(data);
                }
                position += (HEADER_LEN + len).div_ceil(8) * 8;
                self.store_position(position);
            }
        }
    }
}

impl AsRawFd for EventRing {
    fn as_raw_fd(&self) -> RawFd {
        self.map.fd().as_fd().as_raw_fd()
    }
}

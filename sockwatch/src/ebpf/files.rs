//! The owners of the sockets open at start, from the kernel's iterator over every task's open
//! files (sockwatch-ebpf's `socket_files`, iter/task_file, Linux 5.8 and later): one read of
//! it instead of a readlink of every descriptor under /proc, which with 10,000 sockets open
//! costs more CPU than loading the programs.

use std::{fs::File, io::Read};

use aya::{programs::Iter, Btf as AyaBtf, Ebpf};
use sockwatch_common::{FileOffsets, SocketFile};

use super::btf::{self, BtfError};
use crate::procs::{SocketHolder, SocketOwners};

/// The kernel's iterator the program runs on.
pub(super) const ITERATOR: &str = "task_file";
const PROGRAM: &str = "socket_files";

/// The structs the iterator's program reads.
pub(super) const STRUCTS: [&str; 3] = ["file", "inode", "task_struct"];

/// The offsets the program reads; invalid (the program finds nothing) when the kernel's BTF
/// lacks one.
pub(super) fn offsets(btf: &btf::Btf) -> FileOffsets {
    let found = || -> Result<FileOffsets, BtfError> {
        Ok(FileOffsets {
            file_inode: btf.field_offset("file", "f_inode")?,
            inode_mode: btf.field_offset("inode", "i_mode")?,
            inode_ino: btf.field_offset("inode", "i_ino")?,
            task_tgid: btf.field_offset("task_struct", "tgid")?,
            task_comm: btf.field_offset("task_struct", "comm")?,
            valid: 1,
        })
    };
    found().unwrap_or_default()
}

/// Loads the program and opens `runs` runs of the iterator, each a file to read once (a run
/// walks the tasks when it is read). Errors say why the kernel refused, in one line.
pub(super) fn open(ebpf: &mut Ebpf, btf: &AyaBtf, runs: usize) -> Result<Vec<File>, String> {
    let program: &mut Iter = ebpf
        .program_mut(PROGRAM)
        .ok_or("not in sockwatch's eBPF object")?
        .try_into()
        .map_err(|e| super::error_chain(&e))?;
    program
        .load(ITERATOR, btf)
        .map_err(|e| super::error_chain(&e))?;
    (0..runs)
        .map(|_| {
            let link = program.attach().map_err(|e| super::error_chain(&e))?;
            let link = program
                .take_link(link)
                .map_err(|e| super::error_chain(&e))?;
            link.into_file().map_err(|e| super::error_chain(&e))
        })
        .collect()
}

/// Unloads the program (the runs already read hold it no longer): it serves only the start.
pub(super) fn unload(ebpf: &mut Ebpf) {
    if let Some(program) = ebpf.program_mut(PROGRAM) {
        if let Ok(program) = <&mut Iter>::try_from(program) {
            // Not loaded (the kernel refused it) is the only failure, and harmless.
            let _ = program.unload();
        }
    }
}

/// Reads one run of the iterator: who holds each socket open now.
pub fn socket_owners(mut run: File) -> std::io::Result<SocketOwners> {
    let mut bytes = Vec::new();
    run.read_to_end(&mut bytes)?;
    let size = std::mem::size_of::<SocketFile>();
    let holders = bytes.chunks_exact(size).map(|record| {
        // SAFETY: the program wrote whole SocketFile records (repr(C), any bit pattern
        // valid); the buffer gives no alignment guarantee, hence the unaligned read.
        let file = unsafe { std::ptr::read_unaligned(record.as_ptr().cast::<SocketFile>()) };
        SocketHolder {
            inode: file.inode,
            pid: file.pid,
            fd: file.fd,
            comm: file.comm,
        }
    });
    Ok(SocketOwners::from_holders(holders))
}

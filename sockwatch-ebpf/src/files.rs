//! The owners of the sockets open when follow starts: an iterator over every task's open files
//! (iter/task_file, Linux 5.8 and later) writes one [`SocketFile`] per socket. One read of it
//! replaces a readlink of every descriptor under /proc, the bulk of follow's start when many
//! sockets are open.

use aya_ebpf::{cty::c_void, helpers::generated, macros::map, maps::Array};
use sockwatch_common::{FileOffsets, SocketFile};

use crate::{read, read_into};

const S_IFMT: u16 = 0o170000;
const S_IFSOCK: u16 = 0o140000;

/// Field offsets of the running kernel (index 0), written by user space before the program
/// loads (see the main program's KERNEL_OFFSETS).
#[map]
static FILE_OFFSETS: Array<FileOffsets> = Array::with_max_entries(1, 0);

/// Runs for each open file of each task (threads sharing their process's files are skipped by
/// the kernel), then once more with no task at the end.
#[no_mangle]
#[link_section = "iter/task_file"]
pub fn socket_files(ctx: *mut c_void) -> i32 {
    let Some(offsets) = FILE_OFFSETS.get(0).filter(|o| o.valid != 0) else {
        return 0;
    };
    // The context: meta, task, fd, file, 8 bytes each. The task and the file are copied out as
    // numbers (the verifier forbids arithmetic on typed pointers that may be null).
    let context = ctx as *const u8;
    let task: u64 = unsafe { read(context, 8) };
    let file: u64 = unsafe { read(context, 24) };
    if task == 0 || file == 0 {
        return 0;
    }
    let inode: u64 = unsafe { read(file as *const u8, offsets.file_inode) };
    let mode: u16 = unsafe { read(inode as *const u8, offsets.inode_mode) };
    if inode == 0 || mode & S_IFMT != S_IFSOCK {
        return 0;
    }
    let mut found = SocketFile {
        inode: unsafe { read(inode as *const u8, offsets.inode_ino) },
        pid: unsafe { read(task as *const u8, offsets.task_tgid) },
        fd: unsafe { read::<u64>(context, 16) } as u32,
        comm: [0; 16],
    };
    unsafe { read_into(&mut found.comm, task as *const u8, offsets.task_comm) };
    // meta->seq, loaded directly: bpf_seq_write takes the kernel's typed pointer.
    unsafe {
        let meta = core::ptr::read_volatile(ctx as *const *const *mut c_void);
        let seq = core::ptr::read_volatile(meta);
        generated::bpf_seq_write(
            seq.cast(),
            &found as *const SocketFile as *const c_void,
            core::mem::size_of::<SocketFile>() as u32,
        );
    }
    0
}

//! Files sockwatch writes that name processes and connections (recordings, dumps): readable
//! by their owner only, whether they are new or were there before.

use std::{
    fs::{File, OpenOptions, Permissions},
    io,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::Path,
};

/// Creates or truncates `path` with mode 0600. The mode given at open applies only to a new
/// file, so an existing regular file is narrowed to 0600 as well; other kinds (a FIFO,
/// /dev/stdout on a terminal) keep their mode.
pub fn create(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    if file.metadata()?.is_file() {
        file.set_permissions(Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
    }

    #[test]
    fn new_and_existing_files_end_up_owner_only() {
        let path = std::env::temp_dir().join(format!("sw-owner-only-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        drop(create(&path).expect("create new"));
        assert_eq!(mode(&path), 0o600);
        std::fs::write(&path, b"old contents").expect("write");
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).expect("chmod");
        drop(create(&path).expect("create over"));
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::metadata(&path).expect("stat").len(), 0);
        let _ = std::fs::remove_file(&path);
    }
}

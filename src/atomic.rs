//! Writing a file so that no reader ever sees half of it: a temporary file beside the
//! target, synced, then renamed over it.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` (making its folder if needed) through a temporary file and
/// a rename.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

//! Writing a pack's folder: the PDF, every chart as SVG and PNG, its data as CSV and a
//! manifest, staged beside the target and moved into place whole, so a reader never
//! finds half a pack and a failed run leaves the previous one as it was.

use std::path::{Path, PathBuf};

use super::{Pack, PackError};
use crate::chart;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PackError + '_ {
    move |source| PackError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `pack` (with its `pdf`) to `out/<folder>` and returns that folder.
pub fn write(pack: &Pack, pdf: &[u8], out: &Path) -> Result<PathBuf, PackError> {
    std::fs::create_dir_all(out).map_err(io(out))?;
    let staging = tempfile::Builder::new()
        .prefix(".ako-pack-")
        .tempdir_in(out)
        .map_err(io(out))?;
    let root = staging.path();
    let put = |name: &str, bytes: &[u8]| {
        let path = root.join(name);
        std::fs::write(&path, bytes).map_err(io(&path))
    };
    put("pack.pdf", pdf)?;
    for c in &pack.charts {
        if let Some(figure) = &c.figure {
            put(&format!("{}.svg", c.file), chart::svg(figure)?.as_bytes())?;
            put(&format!("{}.png", c.file), &chart::png(figure)?)?;
        }
        put(&format!("{}.csv", c.file), c.table.to_csv().as_bytes())?;
    }
    let manifest = serde_json::to_string_pretty(&pack.manifest()).expect("JSON values serialise");
    put("pack.json", format!("{manifest}\n").as_bytes())?;

    let target = out.join(pack.folder());
    // The old pack is moved aside, not deleted, until the new one is in place.
    let aside = out.join(format!(".{}.old", pack.folder()));
    if aside.exists() {
        std::fs::remove_dir_all(&aside).map_err(io(&aside))?;
    }
    let had = target.exists();
    if had {
        std::fs::rename(&target, &aside).map_err(io(&target))?;
    }
    let staged = staging.keep();
    if let Err(e) = std::fs::rename(&staged, &target) {
        if had {
            let _ = std::fs::rename(&aside, &target);
        }
        let _ = std::fs::remove_dir_all(&staged);
        return Err(io(&target)(e));
    }
    if had {
        std::fs::remove_dir_all(&aside).map_err(io(&aside))?;
    }
    Ok(target)
}

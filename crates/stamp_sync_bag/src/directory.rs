//! rosbag2 bag directories: `metadata.yaml` names the storage files (one,
//! or several for a split bag, in recording order) and whether rosbag2
//! compressed each whole file (`compression_mode: FILE`, zstd).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::BagError;

#[derive(serde::Deserialize)]
struct Metadata {
    rosbag2_bagfile_information: BagInfo,
}

#[derive(serde::Deserialize)]
struct BagInfo {
    #[serde(default)]
    storage_identifier: String,
    #[serde(default)]
    relative_file_paths: Vec<String>,
    #[serde(default)]
    compression_format: Option<String>,
    #[serde(default)]
    compression_mode: Option<String>,
}

/// The storage files of a bag directory.
pub(crate) struct StorageFiles {
    /// In recording order.
    pub files: Vec<PathBuf>,
    /// Each file is a whole zstd-compressed storage file (`.db3.zstd`,
    /// `.mcap.zstd`).
    pub zstd: bool,
}

/// The storage files of a rosbag2 bag directory, from its `metadata.yaml`
/// (or, without one, the single `.db3`/`.mcap` file in it).
pub(crate) fn storage_files(dir: &Path) -> Result<StorageFiles, BagError> {
    let meta_path = dir.join("metadata.yaml");
    let text = match std::fs::read_to_string(&meta_path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return lone_file(dir),
        Err(source) => {
            return Err(BagError::Io {
                path: meta_path,
                source,
            });
        }
    };
    let meta: Metadata = serde_norway::from_str(&text).map_err(|e| BagError::NotABag {
        path: meta_path.clone(),
        reason: format!("metadata.yaml does not parse as rosbag2 metadata: {e}"),
    })?;
    let info = meta.rosbag2_bagfile_information;
    let format = info.compression_format.unwrap_or_default();
    let mode = info.compression_mode.unwrap_or_default();
    let zstd = match (format.trim(), mode.trim().to_ascii_uppercase().as_str()) {
        ("", _) | (_, "" | "NONE") => false,
        ("zstd", "FILE") => true,
        (format, mode) => {
            return Err(BagError::UnsupportedCompression {
                path: meta_path,
                compression: format!("{format} ({mode} mode)"),
                supported: "zstd FILE mode for rosbag2 bag directories; MCAP chunk compression (zstd, lz4)",
            });
        }
    };
    if info.relative_file_paths.is_empty() {
        return Err(BagError::NotABag {
            path: meta_path,
            reason: format!(
                "metadata.yaml lists no storage files (storage {:?})",
                info.storage_identifier
            ),
        });
    }
    let files = info
        .relative_file_paths
        .iter()
        .map(|rel| {
            let path = dir.join(rel);
            // Older rosbag2 wrote compressed files' paths with the bag
            // directory's name in front (ros2/rosbag2#557).
            match Path::new(rel).file_name() {
                Some(name) if !path.exists() => dir.join(name),
                _ => path,
            }
        })
        .collect();
    Ok(StorageFiles { files, zstd })
}

/// A directory without `metadata.yaml`: its one `.db3` or `.mcap` file.
fn lone_file(dir: &Path) -> Result<StorageFiles, BagError> {
    let entries = std::fs::read_dir(dir).map_err(|source| BagError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "db3" || x == "mcap"))
        .collect();
    match files.len() {
        1 => Ok(StorageFiles { files, zstd: false }),
        0 => Err(BagError::NotABag {
            path: dir.to_path_buf(),
            reason: "a directory without metadata.yaml or a .db3/.mcap file".to_string(),
        }),
        n => Err(BagError::Unsupported {
            path: dir.to_path_buf(),
            what: format!(
                "a directory of {n} storage files and no metadata.yaml (which would give their order); open one file at a time"
            ),
        }),
    }
}

/// Decompresses a zstd-compressed storage file into a new temporary
/// directory (removed when the returned guard drops); returns the guard and
/// the decompressed file, named like the original without `.zstd`.
pub(crate) fn unzstd(path: &Path) -> Result<(tempfile::TempDir, PathBuf), BagError> {
    let io = |source| BagError::Io {
        path: path.to_path_buf(),
        source,
    };
    let scratch = tempfile::Builder::new()
        .prefix("stamp-sync-")
        .tempdir()
        .map_err(io)?;
    let name = path
        .file_stem()
        .map_or_else(|| "storage".into(), |s| s.to_os_string());
    let out = scratch.path().join(name);
    let input = std::fs::File::open(path).map_err(io)?;
    let mut output = std::io::BufWriter::new(std::fs::File::create(&out).map_err(io)?);
    zstd::stream::copy_decode(std::io::BufReader::new(input), &mut output).map_err(|e| {
        BagError::NotABag {
            path: path.to_path_buf(),
            reason: format!(
                "metadata.yaml says zstd FILE compression, but it does not decompress: {e}"
            ),
        }
    })?;
    output.flush().map_err(io)?;
    Ok((scratch, out))
}

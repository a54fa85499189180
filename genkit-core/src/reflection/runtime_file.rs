//! The runtime file: how the Genkit CLI discovers a reflection server.
//!
//! The CLI watches `<project root>/.genkit/runtimes/`, where the project root is the first
//! directory, from the current one up, holding one of its marker files (`package.json`,
//! `go.mod`, ... but not `Cargo.toml`), or the current directory when none does. A runtime writes
//! `<id>-<epochMs>.json` there once its listener is up, and removes it when it stops.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::error::GenkitError;
use crate::status::Status;

/// The files `genkit` (`findProjectRoot`) looks for, in its order.
const MARKERS: [&str; 8] = [
    "package.json",
    "go.mod",
    "pyproject.toml",
    "requirements.txt",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
    "pubspec.yaml",
];

/// The CLI's project root for `start`: the nearest ancestor (itself included) with a marker
/// file, else `start` itself.
pub(crate) async fn project_root(start: &Path) -> PathBuf {
    for dir in start.ancestors() {
        for marker in MARKERS {
            if tokio::fs::try_exists(dir.join(marker))
                .await
                .unwrap_or(false)
            {
                return dir.to_path_buf();
            }
        }
    }
    start.to_path_buf()
}

/// Milliseconds since the epoch.
pub(crate) fn epoch_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// `ms` since the epoch as ISO-8601 UTC with milliseconds: `2026-11-26T09:00:48.637Z`.
pub(crate) fn iso_utc(ms: u128) -> String {
    let t = u64::try_from(ms)
        .ok()
        .and_then(|ms| UNIX_EPOCH.checked_add(Duration::from_millis(ms)))
        .unwrap_or(UNIX_EPOCH);
    let at = crate::session::utc(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// What the runtime file says; the CLI requires `id` (string), `pid` (number),
/// `reflectionServerUrl` and `timestamp`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RuntimeInfo {
    pub id: String,
    pub pid: u32,
    pub reflection_server_url: String,
    pub timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub genkit_version: String,
    pub reflection_api_spec_version: u32,
}

/// A written runtime file; removed when dropped.
#[derive(Debug)]
pub(crate) struct RuntimeFile {
    path: PathBuf,
}

impl RuntimeFile {
    /// Writes `info` into `<root>/.genkit/runtimes/<id>-<epochMs>.json` (written aside, then
    /// renamed, so the CLI's watcher never reads half a file).
    pub(crate) async fn write(
        root: &Path,
        info: &RuntimeInfo,
        ms: u128,
    ) -> Result<Self, GenkitError> {
        let dir = root.join(".genkit").join("runtimes");
        let io = |what: &str, e: std::io::Error| {
            GenkitError::with_status(
                Status::Internal,
                format!(
                    "cannot write the Genkit runtime file ({what} {}): {e}",
                    dir.display()
                ),
            )
        };
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| io("creating", e))?;
        let name = format!("{}-{ms}.json", info.id.replace(['/', '\\'], "_"));
        let path = dir.join(&name);
        let tmp = dir.join(format!(".{name}.tmp"));
        let body =
            serde_json::to_vec_pretty(info).map_err(|e| GenkitError::json("runtime file", e))?;
        tokio::fs::write(&tmp, body)
            .await
            .map_err(|e| io("writing into", e))?;
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(|e| io("renaming in", e))?;
        Ok(Self { path })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the file now (also done on drop).
    pub(crate) fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for RuntimeFile {
    fn drop(&mut self) {
        self.remove();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_timestamps_are_utc_with_millis() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00.000Z");
        // the JS runtime file's timestamp and its file name's epoch
        assert_eq!(iso_utc(1_795_683_648_637), "2026-11-26T09:00:48.637Z");
        assert_eq!(iso_utc(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "genkit-rs-runtime-file-{tag}-{}-{}",
            std::process::id(),
            epoch_ms()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn the_root_is_the_nearest_marker_directory_or_the_start() {
        let top = temp_dir("root");
        let sub = top.join("crate").join("src");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(top.join("crate").join("Cargo.toml"), "").unwrap();
        // no marker anywhere below the temp dir's ancestors we control: falls back to start
        // (unless a marker sits above the temp dir, which the CLI would also use)
        let found = project_root(&sub).await;
        assert!(found == sub || !found.starts_with(&top), "{found:?}");
        std::fs::write(top.join("package.json"), "{}").unwrap();
        assert_eq!(project_root(&sub).await, top);
        std::fs::write(top.join("crate").join("pyproject.toml"), "").unwrap();
        assert_eq!(project_root(&sub).await, top.join("crate"));
        std::fs::remove_dir_all(&top).unwrap();
    }

    #[tokio::test]
    async fn the_file_is_written_with_the_cli_fields_and_removed_on_drop() {
        let root = temp_dir("file");
        let info = RuntimeInfo {
            id: "123-3100".into(),
            pid: 123,
            reflection_server_url: "http://127.0.0.1:3100".into(),
            timestamp: iso_utc(1000),
            name: None,
            genkit_version: "rust/0.1.0".into(),
            reflection_api_spec_version: 1,
        };
        let file = RuntimeFile::write(&root, &info, 1000).await.unwrap();
        assert_eq!(
            file.path(),
            root.join(".genkit/runtimes/123-3100-1000.json")
        );
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(file.path()).unwrap()).unwrap();
        assert_eq!(v["id"], "123-3100");
        assert_eq!(v["pid"], 123);
        assert_eq!(v["reflectionApiSpecVersion"], 1);
        assert_eq!(v["genkitVersion"], "rust/0.1.0");
        assert!(v.get("name").is_none());
        let path = file.path().to_path_buf();
        drop(file);
        assert!(!path.exists());
        std::fs::remove_dir_all(&root).unwrap();
    }
}

//! The runtime file: how the Genkit CLI discovers a reflection server.
//!
//! The CLI watches `<project root>/.genkit/runtimes/`, where the project root is the first
//! directory, from the current one up, holding one of its marker files (`package.json`,
//! `go.mod`, ... but not `Cargo.toml`), or the current directory when none does. A runtime writes
//! `<id>-<epochMs>.json` there once its listener is up, writes it again while the CLI has not
//! called `/api/notify` (see [`ANNOUNCE_DELAYS`]), and removes it when it stops.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::sync::watch;

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
    // the snapshots' format (`.ffffffZ`) cut to milliseconds: `t` has no finer digits
    let mut s = crate::session::format_timestamp(t);
    s.truncate(s.len().saturating_sub(4));
    s.push('Z');
    s
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
    body: Vec<u8>,
    /// Set by [`RuntimeFile::remove`]: a later [`RuntimeFile::rewrite`] must not bring it back.
    removed: AtomicBool,
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
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| io_error("creating", &dir, e))?;
        let name = format!("{}-{ms}.json", info.id.replace(['/', '\\'], "_"));
        let body =
            serde_json::to_vec_pretty(info).map_err(|e| GenkitError::json("runtime file", e))?;
        let file = Self {
            path: dir.join(name),
            body,
            removed: AtomicBool::new(false),
        };
        file.put().await?;
        Ok(file)
    }

    /// Writes the same file again, so a watcher that missed it sees its directory change.
    ///
    /// Does nothing once the file was removed, and removes what it wrote if that happened
    /// meanwhile.
    pub(crate) async fn rewrite(&self) -> Result<(), GenkitError> {
        if self.removed.load(Ordering::SeqCst) {
            return Ok(());
        }
        self.put().await?;
        if self.removed.load(Ordering::SeqCst) {
            let _ = std::fs::remove_file(&self.path);
        }
        Ok(())
    }

    async fn put(&self) -> Result<(), GenkitError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.tmp"));
        tokio::fs::write(&tmp, &self.body)
            .await
            .map_err(|e| io_error("writing into", dir, e))?;
        tokio::fs::rename(&tmp, &self.path)
            .await
            .map_err(|e| io_error("renaming in", dir, e))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the file now (also done on drop).
    pub(crate) fn remove(&self) {
        self.removed.store(true, Ordering::SeqCst);
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for RuntimeFile {
    fn drop(&mut self) {
        self.remove();
    }
}

fn io_error(what: &str, dir: &Path, e: std::io::Error) -> GenkitError {
    GenkitError::with_status(
        Status::Internal,
        format!(
            "cannot write the Genkit runtime file ({what} {}): {e}",
            dir.display()
        ),
    )
}

/// How long to wait for the CLI's `/api/notify` before writing the runtime file again.
///
/// The CLI (genkit-cli 1.x, chokidar 3) lists its runtimes directory and only then starts
/// watching it; a runtime that writes its file in between, as a fast native binary started by
/// `genkit start` can, is never seen. The CLI notifies every runtime it adds, so a runtime that
/// hears nothing rewrites its file: any change in the directory makes the watcher read it again.
pub(crate) const ANNOUNCE_DELAYS: [Duration; 4] = [
    Duration::from_millis(1000),
    Duration::from_millis(2000),
    Duration::from_millis(4000),
    Duration::from_millis(8000),
];

/// Rewrites `file` after each of `delays` until `notified` turns true; returns the rewrites.
pub(crate) async fn announce(
    file: &RuntimeFile,
    mut notified: watch::Receiver<bool>,
    delays: &[Duration],
) -> usize {
    let mut rewrites = 0;
    for delay in delays {
        // notified, or the server is gone (nobody will notify)
        if tokio::time::timeout(*delay, notified.wait_for(|n| *n))
            .await
            .is_ok()
        {
            return rewrites;
        }
        match file.rewrite().await {
            Ok(()) => {
                rewrites += 1;
                tracing::debug!(target: "genkit_core::reflection", "no notify from the Genkit CLI yet: rewrote {}", file.path().display());
            }
            Err(e) => {
                tracing::warn!(target: "genkit_core::reflection", "{e}");
                return rewrites;
            }
        }
    }
    rewrites
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

    fn info() -> RuntimeInfo {
        RuntimeInfo {
            id: "7-3100".into(),
            pid: 7,
            reflection_server_url: "http://127.0.0.1:3100".into(),
            timestamp: iso_utc(1000),
            name: None,
            genkit_version: "rust/0.1.0".into(),
            reflection_api_spec_version: 1,
        }
    }

    #[cfg(unix)]
    fn inode(path: &Path) -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).unwrap().ino()
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn an_unnotified_runtime_rewrites_its_file_until_notified() {
        let root = temp_dir("announce");
        let file = RuntimeFile::write(&root, &info(), 1000).await.unwrap();
        let body = std::fs::read(file.path()).unwrap();
        let first = inode(file.path());
        let (tx, rx) = watch::channel(false);
        let delays = [Duration::from_millis(5); 3];
        assert_eq!(announce(&file, rx.clone(), &delays).await, 3);
        // a new file (renamed in), the same content, no temporary file left
        assert_ne!(inode(file.path()), first);
        assert_eq!(std::fs::read(file.path()).unwrap(), body);
        let names: Vec<_> = std::fs::read_dir(file.path().parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["7-3100-1000.json"]);
        tx.send_replace(true);
        let before = inode(file.path());
        assert_eq!(announce(&file, rx, &delays).await, 0);
        assert_eq!(inode(file.path()), before);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[tokio::test]
    async fn a_removed_file_is_not_written_again() {
        let root = temp_dir("removed");
        let file = RuntimeFile::write(&root, &info(), 1000).await.unwrap();
        file.remove();
        let (_tx, rx) = watch::channel(false);
        announce(&file, rx, &[Duration::from_millis(1)]).await;
        assert!(!file.path().exists());
        // the server gone (the sender dropped) ends the loop at once
        let (tx, rx) = watch::channel(false);
        drop(tx);
        assert_eq!(announce(&file, rx, &[Duration::from_secs(600)]).await, 0);
        std::fs::remove_dir_all(&root).unwrap();
    }
}

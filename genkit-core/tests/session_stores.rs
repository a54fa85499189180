//! The session store conformance suite, one line per store: the in-memory store and (feature
//! `file-store`) the file store. The file store's own behaviour is in `file_session_store.rs`.

use futures::future::BoxFuture;
use genkit_core::session::{InMemorySessionStore, SessionStoreError};
use genkit_core::testing::session_store::StoreHarness;

/// In-memory: clones share data, so the backing is a store and "reopening" clones it.
struct Memory;

impl StoreHarness for Memory {
    type Store = InMemorySessionStore;
    type Backing = InMemorySessionStore;
    fn setup(&self) -> BoxFuture<'_, Result<Self::Backing, SessionStoreError>> {
        Box::pin(async { Ok(InMemorySessionStore::new()) })
    }
    fn open<'a>(
        &'a self,
        backing: &'a Self::Backing,
    ) -> BoxFuture<'a, Result<Self::Store, SessionStoreError>> {
        Box::pin(async move { Ok(backing.clone()) })
    }
}

#[cfg(feature = "file-store")]
mod files {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU64, Ordering};

    use futures::future::BoxFuture;
    use genkit_core::session::{FileSessionStore, SessionStoreError, StoreScope};
    use genkit_core::testing::session_store::StoreHarness;

    /// A fresh directory under the system temp dir, removed at teardown.
    fn temp_dir(tag: &str) -> PathBuf {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "genkit-rs-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// File store: every `open` is a new instance on the same directory (as another process is).
    pub struct Files;

    impl StoreHarness for Files {
        type Store = FileSessionStore;
        type Backing = PathBuf;
        fn setup(&self) -> BoxFuture<'_, Result<Self::Backing, SessionStoreError>> {
            Box::pin(async { Ok(temp_dir("file-store")) })
        }
        fn open<'a>(
            &'a self,
            dir: &'a Self::Backing,
        ) -> BoxFuture<'a, Result<Self::Store, SessionStoreError>> {
            Box::pin(async move {
                Ok(FileSessionStore::builder(dir)
                    .poll_interval(std::time::Duration::from_millis(50))
                    .build())
            })
        }
        fn corrupt<'a>(
            &'a self,
            dir: &'a Self::Backing,
            scope: &'a StoreScope,
            id: &'a str,
        ) -> BoxFuture<'a, Result<bool, SessionStoreError>> {
            Box::pin(async move {
                let path = FileSessionStore::new(dir).snapshot_path(scope, id)?;
                let bytes = std::fs::read(&path).unwrap();
                std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
                Ok(true)
            })
        }
        fn leave_torn_write<'a>(
            &'a self,
            dir: &'a Self::Backing,
            scope: &'a StoreScope,
            id: &'a str,
        ) -> BoxFuture<'a, Result<bool, SessionStoreError>> {
            Box::pin(async move {
                let path = FileSessionStore::new(dir).snapshot_path(scope, id)?;
                torn_temp_file(&path);
                Ok(true)
            })
        }
        fn teardown(&self, dir: Self::Backing) -> BoxFuture<'_, ()> {
            Box::pin(async move {
                let _ = std::fs::remove_dir_all(dir);
            })
        }
    }

    /// What a writer killed between writing its temp file and renaming it leaves behind.
    fn torn_temp_file(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        let tmp = path.with_file_name(format!("{name}.99999.deadbeef.tmp"));
        std::fs::write(
            tmp,
            br#"{"snapshotId":"half","sessionId":"sess-torn","createdAt":"2026-"#,
        )
        .unwrap();
    }
}

genkit_core::session_store_conformance!(in_memory, super::Memory);
#[cfg(feature = "file-store")]
genkit_core::session_store_conformance!(file_store, super::files::Files);

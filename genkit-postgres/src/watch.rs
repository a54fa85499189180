//! Status subscriptions across processes: one LISTEN connection per store, NOTIFY sent by
//! every save that changes a status, and polling while that connection is down (and, slowly,
//! while it is up, in case a notification was lost).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use futures::StreamExt;
use genkit_core::session::{StatusStream, StoreScope};
use genkit_core::SnapshotStatus;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::connect::Connector;
use crate::store::Inner;

/// NOTIFY payloads are limited to 8000 bytes; a longer one says only "something changed".
const MAX_PAYLOAD: usize = 7900;

/// How long a first subscription waits for the LISTEN connection before it relies on polling.
const LISTEN_READY_WAIT: Duration = Duration::from_secs(2);

type Key = (String, String);

/// The subscriptions of one store and the state of its listener.
pub(crate) struct Hub {
    senders: Mutex<HashMap<Key, watch::Sender<SnapshotStatus>>>,
    connected: AtomicBool,
    /// Bumped on every (re)connection of the listener.
    generation: watch::Sender<u64>,
    started: AtomicBool,
    /// Dropped with the store: the listener then ends and closes its connection.
    shutdown: watch::Sender<()>,
    pub(crate) poll_interval: Duration,
    pub(crate) safety_poll: Duration,
}

/// What a save tells other processes.
#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    scope: String,
    id: String,
    status: String,
}

/// The NOTIFY payload of a status change.
pub(crate) fn payload(scope: &StoreScope, id: &str, status: &SnapshotStatus) -> String {
    let p = Payload {
        scope: scope.as_str().to_owned(),
        id: id.to_owned(),
        status: status.as_str().to_owned(),
    };
    match serde_json::to_string(&p) {
        Ok(s) if s.len() <= MAX_PAYLOAD => s,
        _ => "{}".to_owned(),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // every write under this lock is one insert or one send: a panic cannot leave it half done
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Hub {
    pub fn new(poll_interval: Duration, safety_poll: Duration) -> Self {
        Self {
            senders: Mutex::default(),
            connected: AtomicBool::new(false),
            generation: watch::Sender::new(0),
            started: AtomicBool::new(false),
            shutdown: watch::Sender::new(()),
            poll_interval,
            safety_poll,
        }
    }

    pub fn is_listening(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }

    /// Tells this process's subscribers of `id` its new status.
    pub fn publish(&self, scope: &str, id: &str, status: &SnapshotStatus) {
        let senders = lock(&self.senders);
        if let Some(tx) = senders.get(&(scope.to_owned(), id.to_owned())) {
            tx.send_if_modified(|s| {
                let changed = s != status;
                if changed {
                    *s = status.clone();
                }
                changed
            });
        }
    }

    fn subscribe(
        &self,
        scope: &str,
        id: &str,
        initial: &SnapshotStatus,
    ) -> watch::Receiver<SnapshotStatus> {
        let mut senders = lock(&self.senders);
        senders.retain(|_, tx| tx.receiver_count() > 0);
        senders
            .entry((scope.to_owned(), id.to_owned()))
            .or_insert_with(|| watch::Sender::new(initial.clone()))
            .subscribe()
    }

    fn watched(&self) -> Vec<Key> {
        lock(&self.senders)
            .iter()
            .filter(|(_, tx)| tx.receiver_count() > 0)
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn dispatch(&self, payload: &str) -> bool {
        match serde_json::from_str::<Payload>(payload) {
            Ok(p) => {
                self.publish(&p.scope, &p.id, &SnapshotStatus::from_wire(&p.status));
                true
            }
            // "{}" (a payload too long to send) or a payload we do not know: read them all
            Err(_) => false,
        }
    }
}

/// Starts the store's listener once, and waits (a little) until it listens.
pub(crate) async fn ensure_listener(inner: &Arc<Inner>) {
    let hub = &inner.hub;
    if !hub.started.swap(true, Ordering::SeqCst) {
        let weak = Arc::downgrade(inner);
        let shutdown = hub.shutdown.subscribe();
        let connector = inner.connector.clone();
        let config = inner.pg_config.clone();
        let channel = inner.tables.channel.clone();
        tokio::spawn(listen(weak, connector, config, channel, shutdown));
    }
    if hub.is_listening() {
        return;
    }
    let mut generation = hub.generation.subscribe();
    let _ = tokio::time::timeout(LISTEN_READY_WAIT, generation.changed()).await;
}

/// The listener: connects, LISTENs, hands each notification to the subscribers, and on every
/// (re)connection re-reads the status of everything watched (a change made while it was down
/// sent a notification nobody heard).
async fn listen(
    store: Weak<Inner>,
    connector: Connector,
    config: tokio_postgres::Config,
    channel: String,
    mut shutdown: watch::Receiver<()>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let connected = tokio::select! {
            _ = shutdown.changed() => return,
            c = connector.connect(&config) => c,
        };
        let (client, mut messages) = match connected {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(target: "genkit_postgres", error = %e, "status listener cannot connect; subscribers poll");
                tokio::select! {
                    _ = shutdown.changed() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        // the connection makes progress only while its messages are read
        let (tx, mut notifications) = tokio::sync::mpsc::unbounded_channel::<String>();
        let driver = tokio::spawn(async move {
            while let Some(m) = messages.next().await {
                match m {
                    Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                        if tx.send(n.payload().to_owned()).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
        });
        let listening = client.batch_execute(&format!("LISTEN \"{channel}\"")).await;
        if let Err(e) = listening {
            tracing::debug!(target: "genkit_postgres", error = %e, "LISTEN failed; subscribers poll");
            driver.abort();
            tokio::time::sleep(backoff).await;
            continue;
        }
        backoff = Duration::from_millis(100);
        let Some(inner) = store.upgrade() else { return };
        inner.hub.connected.store(true, Ordering::SeqCst);
        inner.hub.generation.send_modify(|g| *g += 1);
        refresh_all(&inner).await;
        drop(inner);
        loop {
            let next = tokio::select! {
                _ = shutdown.changed() => {
                    driver.abort();
                    return;
                }
                n = notifications.recv() => n,
            };
            let Some(inner) = store.upgrade() else { return };
            match next {
                Some(payload) => {
                    if !inner.hub.dispatch(&payload) {
                        refresh_all(&inner).await;
                    }
                }
                None => {
                    inner.hub.connected.store(false, Ordering::SeqCst);
                    tracing::debug!(target: "genkit_postgres", "status listener lost its connection; reconnecting");
                    break;
                }
            }
        }
        drop(client);
    }
}

/// Re-reads the status of every watched snapshot into its subscribers.
async fn refresh_all(inner: &Arc<Inner>) {
    for (scope, id) in inner.hub.watched() {
        let Ok(scope_value) = StoreScope::new(scope.clone()) else {
            continue;
        };
        if let Ok(Some(status)) = inner.read_status(&scope_value, &id).await {
            inner.hub.publish(&scope, &id, &status);
        }
    }
}

/// A subscription: the status now, then each change (NOTIFY, this process's saves, or a poll).
pub(crate) async fn subscribe(
    inner: Arc<Inner>,
    scope: &StoreScope,
    id: &str,
) -> Result<Option<StatusStream>, genkit_core::session::SessionStoreError> {
    ensure_listener(&inner).await;
    // subscribe before reading, so a change committed in between is not missed
    let mut rx = inner
        .hub
        .subscribe(scope.as_str(), id, &SnapshotStatus::Pending);
    let Some(first) = inner.read_status(scope, id).await? else {
        return Ok(None);
    };
    inner.hub.publish(scope.as_str(), id, &first);
    rx.borrow_and_update();
    struct State {
        inner: Arc<Inner>,
        rx: watch::Receiver<SnapshotStatus>,
        scope: StoreScope,
        id: String,
        last: SnapshotStatus,
    }
    let state = State {
        inner,
        rx,
        scope: scope.clone(),
        id: id.to_owned(),
        last: first.clone(),
    };
    let changes = futures::stream::unfold(state, |mut st| async move {
        loop {
            let wait = if st.inner.hub.is_listening() {
                st.inner.hub.safety_poll
            } else {
                st.inner.hub.poll_interval
            };
            let seen = match tokio::time::timeout(wait, st.rx.changed()).await {
                Ok(Ok(())) => Some(st.rx.borrow_and_update().clone()),
                // the sender went away (cannot while we hold a receiver); poll instead
                Ok(Err(_)) => {
                    tokio::time::sleep(wait).await;
                    None
                }
                Err(_) => None,
            };
            let status = match seen {
                Some(s) => s,
                None => match st.inner.read_status(&st.scope, &st.id).await {
                    Ok(Some(s)) => s,
                    // gone: nothing more will change
                    Ok(None) => return None,
                    // the database is away for now: keep trying
                    Err(_) => continue,
                },
            };
            if status != st.last {
                st.last = status.clone();
                return Some((status, st));
            }
        }
    });
    Ok(Some(
        futures::stream::once(async move { first })
            .chain(changes)
            .boxed(),
    ))
}

//! [`ChunkSink`]: where a running action's stream chunks go.

use std::fmt;

use tokio::sync::mpsc;

use crate::wire::{GenerateResponseChunk, Role};

/// The sending half of a bounded channel of stream chunks: the one way every streaming run
/// (a generate call, a model, a flow, a run through [`Genkit::run_action`](crate::Genkit::run_action))
/// hands chunks to its consumer.
///
/// [`send`](Self::send) waits while the channel is full: that wait is the backpressure, so a
/// slow consumer slows the producer down instead of growing a buffer. Cheap to clone.
///
/// ```
/// use genkit_core::{ChunkSink, GenerateResponseChunk, Part};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (sink, mut chunks) = ChunkSink::<GenerateResponseChunk>::channel(8);
/// sink.send(GenerateResponseChunk::new(vec![Part::text("hi")])).await;
/// assert_eq!(chunks.recv().await.unwrap().text(), "hi");
/// # }
/// ```
pub struct ChunkSink<T = GenerateResponseChunk> {
    tx: mpsc::Sender<T>,
}

impl<T> Clone for ChunkSink<T> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
        }
    }
}

impl<T> fmt::Debug for ChunkSink<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkSink")
            .field("capacity", &self.tx.max_capacity())
            .field("closed", &self.tx.is_closed())
            .finish()
    }
}

impl<T> ChunkSink<T> {
    /// A sink and the receiver of its chunks; at most `capacity` chunks (at least one) wait for
    /// the consumer before `send` waits.
    pub fn channel(capacity: usize) -> (Self, mpsc::Receiver<T>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (Self { tx }, rx)
    }

    /// A sink sending into `tx`.
    pub fn from_sender(tx: mpsc::Sender<T>) -> Self {
        Self { tx }
    }

    /// Sends `chunk`, waiting while the consumer is behind. A consumer that went away drops it:
    /// the run it belongs to is being cancelled.
    pub async fn send(&self, chunk: T) {
        let _ = self.tx.send(chunk).await;
    }

    /// True once the consumer went away.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// A generate sink that stamps every chunk with the role and message index of the message it
/// belongs to (the engine knows them, the model or tool sending does not).
#[derive(Clone, Debug)]
pub(crate) struct Stamped {
    pub sink: ChunkSink,
    pub role: Role,
    pub index: u32,
    /// A model's chunks: protocol metadata it wrote is removed, as it is from its final
    /// message, so a chunk cannot forge an interrupt either.
    pub strip_protocol: bool,
}

impl Stamped {
    pub(crate) fn new(sink: &Option<ChunkSink>, role: Role, index: u32) -> Option<Self> {
        sink.as_ref().map(|sink| Self {
            sink: sink.clone(),
            role,
            index,
            strip_protocol: false,
        })
    }

    /// The sink a model streams into: stamped as the model's, its protocol metadata stripped.
    pub(crate) fn model(sink: &Option<ChunkSink>, index: u32) -> Option<Self> {
        Self::new(sink, Role::Model, index).map(|s| Self {
            strip_protocol: true,
            ..s
        })
    }

    pub(crate) async fn send(&self, mut chunk: GenerateResponseChunk) {
        chunk.role.get_or_insert(self.role);
        chunk.index = Some(self.index);
        if self.strip_protocol {
            crate::protocol::strip_engine_metadata(&mut chunk.content);
        }
        self.sink.send(chunk).await;
    }
}

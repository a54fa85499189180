//! [`Messages`]: a conversation history that snapshots, sessions and stores share instead of
//! copying.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::message::Message;
use super::shared_vec::SharedVec;

/// A conversation's messages, shared: cloning is a reference count, not a copy of the history,
/// and appending copies nothing the holders share.
///
/// A history is handed around a lot: an agent's turn gives it to the session store, keeps it
/// as the point to roll back to, renders it into a generate call that appends the model's
/// answer, and returns it in the caller's state. With a plain `Vec<Message>` each of those is
/// a deep copy of every message, and with a copy-on-write `Arc<Vec<Message>>` each append to a
/// history that someone else still holds is one, so a turn's cost would grow with the
/// conversation's length. `Messages` is a view of one storage of `Arc<Message>` that all its
/// clones share: a holder [`push`](Self::push)es in place as long as nobody appended past its
/// own view (the others do not see the new message); when someone did (a branch), it copies
/// the `Arc`s into a storage of its own, one reference count per message, never the messages.
///
/// It is read message by message ([`iter`](Self::iter), [`last`](Self::last),
/// [`get`](Self::get) give `&Message`), or as a slice of `Arc<Message>` (`Deref`), and
/// serializes as a JSON array, the shape of Genkit's `messages` fields.
/// [`get_mut`](Self::get_mut) changes one message in place, cloning that message only when
/// another holder shares it.
///
/// ```
/// use genkit_core::{Message, Messages};
/// let mut history = Messages::from(vec![Message::user("hi"), Message::model("hello")]);
/// let saved = history.clone(); // no copy: both hold the same two messages
/// assert!(Messages::ptr_eq(&history, &saved));
/// history.push(Message::user("and now?")); // `saved` still reads two messages
/// assert_eq!((history.len(), saved.len()), (3, 2));
/// assert_eq!(serde_json::to_value(&saved).unwrap()[1]["role"], "model");
/// ```
#[derive(Clone, Default)]
pub struct Messages(SharedVec<Arc<Message>>);

impl Messages {
    /// No messages (no allocation).
    pub const fn new() -> Self {
        Self(SharedVec::new())
    }

    /// The messages in order (each shared with the other holders of this history).
    ///
    /// ```
    /// use genkit_core::{Message, Messages};
    /// let history = Messages::from(vec![Message::user("hi"), Message::model("hello")]);
    /// let texts: Vec<String> = history.iter().map(Message::text).collect();
    /// assert_eq!(texts, ["hi", "hello"]);
    /// ```
    pub fn iter(&self) -> Iter<'_> {
        self.0.iter().map(deref_message)
    }

    /// The first message.
    pub fn first(&self) -> Option<&Message> {
        self.0.first().map(|m| &**m)
    }

    /// The last message.
    pub fn last(&self) -> Option<&Message> {
        self.0.last().map(|m| &**m)
    }

    /// The message at `index`.
    pub fn get(&self, index: usize) -> Option<&Message> {
        self.0.get(index).map(|m| &**m)
    }

    /// The messages copied out, as plain values (a deep copy: for code that edits a history
    /// freely, not for passing one on).
    pub fn to_vec(&self) -> Vec<Message> {
        self.iter().cloned().collect()
    }

    /// The message at `index`, to change in place: cloned first (that message only) when
    /// another holder shares it. `None` past the end.
    ///
    /// ```
    /// use genkit_core::{Message, Messages};
    /// let mut history = Messages::from(vec![Message::user("hi"), Message::model("hello")]);
    /// let saved = history.clone();
    /// *history.get_mut(0).unwrap() = Message::user("hello");
    /// assert_eq!(saved[0].text(), "hi", "the other holder's message is untouched");
    /// assert!(std::sync::Arc::ptr_eq(&saved[1], &history[1]), "the rest is still shared");
    /// ```
    pub fn get_mut(&mut self, index: usize) -> Option<&mut Message> {
        if index >= self.len() {
            return None;
        }
        let slot = &mut self.0.make_mut()[index];
        Some(Arc::make_mut(slot))
    }

    /// The last message, to change in place (see [`get_mut`](Self::get_mut)).
    pub fn last_mut(&mut self) -> Option<&mut Message> {
        let last = self.len().checked_sub(1)?;
        self.get_mut(last)
    }

    /// The last message to change in place, and the messages before it (see
    /// [`get_mut`](Self::get_mut)): what sealing a history needs. `None` when empty.
    pub fn split_last_mut(&mut self) -> Option<(&mut Message, &[Arc<Message>])> {
        if self.is_empty() {
            return None;
        }
        let (last, before) = self.0.make_mut().split_last_mut()?;
        Some((Arc::make_mut(last), before))
    }

    /// Calls `f` on every message to change it in place, each cloned first when shared (a
    /// change of every message is a copy of the history, as it must be).
    pub fn for_each_mut(&mut self, mut f: impl FnMut(&mut Message)) {
        for slot in self.0.make_mut() {
            f(Arc::make_mut(slot));
        }
    }

    /// Appends a message: in place, unless another holder appended past this history's end
    /// (then this one's `Arc`s are copied first).
    pub fn push(&mut self, message: Message) {
        self.0.push(Arc::new(message));
    }

    /// Appends a message that is already shared (for example one of another history's).
    pub fn push_shared(&mut self, message: Arc<Message>) {
        self.0.push(message);
    }

    /// Removes the last message and returns it: moved out when no one else holds it, cloned
    /// otherwise.
    pub fn pop(&mut self) -> Option<Message> {
        self.0.pop().map(unwrap_or_clone)
    }

    /// Removes the messages after the first `len` (none when there are fewer).
    pub fn truncate(&mut self, len: usize) {
        self.0.truncate(len);
    }

    /// Removes the first `n` messages (all when there are fewer), without copying the rest.
    ///
    /// The storage keeps them, so that [`prepend`](Self::prepend)ing the same messages again
    /// costs nothing: that is how an agent renders its system prompt before the session's
    /// history every turn without copying the history.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use genkit_core::{Message, Messages};
    /// let system = Arc::new(Message::system("be brief"));
    /// let mut rendered: Messages = [Arc::clone(&system), Arc::new(Message::user("hi"))]
    ///     .into_iter()
    ///     .collect();
    /// rendered.drop_first(1);
    /// assert_eq!(rendered.len(), 1);
    /// rendered.prepend(&[system]);
    /// assert_eq!(rendered[0].text(), "be brief");
    /// ```
    pub fn drop_first(&mut self, n: usize) {
        self.0.drop_first(n);
    }

    /// Puts `preamble` before the messages: without a copy when the storage already holds
    /// exactly these messages just before them (see [`drop_first`](Self::drop_first)),
    /// by copying the history's `Arc`s behind the preamble otherwise.
    pub fn prepend(&mut self, preamble: &[Arc<Message>]) {
        self.0.prepend(preamble);
    }

    /// Keeps the messages for which `keep` is true (a new storage of the kept `Arc`s when it
    /// drops some; the messages are not copied).
    pub fn retain(&mut self, mut keep: impl FnMut(&Message) -> bool) {
        if self.iter().all(&mut keep) {
            return;
        }
        let mut vec = std::mem::take(&mut self.0).into_vec();
        vec.retain(|m| keep(m));
        self.0 = SharedVec::from(vec);
    }

    /// The messages as an owned vector: each moved out when no one else holds it, cloned when
    /// someone does.
    pub fn into_vec(self) -> Vec<Message> {
        self.0.into_vec().into_iter().map(unwrap_or_clone).collect()
    }

    /// How many leading messages `a` and `b` hold in the same slots of one storage: equal
    /// without comparing them. A store that writes a turn as a diff against the state it
    /// continues finds the turn's new messages this way (a turn appends in place to the
    /// history it was given), without serializing or comparing the history.
    ///
    /// ```
    /// use genkit_core::{Message, Messages};
    /// let mut history = Vec::with_capacity(8); // room to append in place
    /// history.extend([Message::user("hi"), Message::model("hello")]);
    /// let parent = Messages::from(history);
    /// let mut turn = parent.clone();
    /// turn.push(Message::user("and now?"));
    /// assert_eq!(Messages::shared_len(&parent, &turn), 2);
    /// let copy = Messages::from(parent.to_vec());
    /// assert_eq!(Messages::shared_len(&parent, &copy), 0, "equal, but not shared");
    /// ```
    pub fn shared_len(a: &Self, b: &Self) -> usize {
        SharedVec::shared_prefix(&a.0, &b.0)
    }

    /// Whether `a` and `b` are the same shared history (not merely equal ones).
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        SharedVec::ptr_eq(&a.0, &b.0)
    }
}

/// An iterator over a history's messages ([`Messages::iter`]).
pub type Iter<'a> =
    std::iter::Map<std::slice::Iter<'a, Arc<Message>>, fn(&Arc<Message>) -> &Message>;

fn deref_message(m: &Arc<Message>) -> &Message {
    m
}

fn unwrap_or_clone(m: Arc<Message>) -> Message {
    Arc::try_unwrap(m).unwrap_or_else(|m| Message::clone(&m))
}

impl Deref for Messages {
    type Target = [Arc<Message>];

    fn deref(&self) -> &[Arc<Message>] {
        &self.0
    }
}

// A history's messages are read as `Arc<Message>` (`history[i]`, slices of it): they compare
// with plain messages as the messages they hold.
impl PartialEq<Message> for Arc<Message> {
    fn eq(&self, other: &Message) -> bool {
        **self == *other
    }
}

impl PartialEq<Arc<Message>> for Message {
    fn eq(&self, other: &Arc<Message>) -> bool {
        *self == **other
    }
}

impl From<Vec<Message>> for Messages {
    fn from(messages: Vec<Message>) -> Self {
        // the capacity is kept: room to append in place
        let mut shared = Vec::with_capacity(messages.capacity());
        shared.extend(messages.into_iter().map(Arc::new));
        Self(SharedVec::from(shared))
    }
}

impl From<Messages> for Vec<Message> {
    fn from(messages: Messages) -> Self {
        messages.into_vec()
    }
}

impl FromIterator<Message> for Messages {
    fn from_iter<I: IntoIterator<Item = Message>>(iter: I) -> Self {
        Self::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl FromIterator<Arc<Message>> for Messages {
    fn from_iter<I: IntoIterator<Item = Arc<Message>>>(iter: I) -> Self {
        Self(SharedVec::from(iter.into_iter().collect::<Vec<_>>()))
    }
}

impl Extend<Message> for Messages {
    fn extend<I: IntoIterator<Item = Message>>(&mut self, iter: I) {
        for message in iter {
            self.push(message);
        }
    }
}

impl<'a> IntoIterator for &'a Messages {
    type Item = &'a Message;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl IntoIterator for Messages {
    type Item = Message;
    type IntoIter = std::vec::IntoIter<Message>;

    fn into_iter(self) -> Self::IntoIter {
        self.into_vec().into_iter()
    }
}

impl PartialEq for Messages {
    fn eq(&self, other: &Self) -> bool {
        Self::ptr_eq(self, other) || **self == **other
    }
}

impl PartialEq<Vec<Message>> for Messages {
    fn eq(&self, other: &Vec<Message>) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a == b)
    }
}

impl PartialEq<[Message]> for Messages {
    fn eq(&self, other: &[Message]) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a == b)
    }
}

impl PartialEq<&[Message]> for Messages {
    fn eq(&self, other: &&[Message]) -> bool {
        *self == **other
    }
}

impl fmt::Debug for Messages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Messages {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Messages {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<Message>::deserialize(deserializer).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_copies_only_a_shared_history() {
        let mut only = Messages::from(vec![Message::user("a")]);
        only.push(Message::model("b"));
        let before = only.as_ptr();
        only.push(Message::user("c"));
        assert_eq!(only.as_ptr(), before, "unshared: appended in place");

        let kept = only.clone();
        *only.get_mut(0).unwrap() = Message::user("A");
        assert!(!Messages::ptr_eq(&only, &kept));
        assert_eq!(
            kept[0].text(),
            "a",
            "the other holder's history is untouched"
        );
        assert_eq!(only[0].text(), "A");
    }

    #[test]
    fn a_shared_history_is_appended_to_without_a_copy() {
        let mut history = Messages::from(vec![Message::user("a")]);
        history.push(Message::model("b")); // room for two more now
        let saved = history.clone();
        history.push(Message::user("c"));
        assert_eq!(history.as_ptr(), saved.as_ptr(), "one storage");
        assert_eq!((saved.len(), history.len()), (2, 3));
        // the saved history goes on another way: now it copies, and neither sees the other
        let mut branch = saved.clone();
        branch.push(Message::user("d"));
        assert_eq!(branch[2].text(), "d");
        assert_eq!(history[2].text(), "c");
    }

    #[test]
    fn into_vec_moves_when_unshared_and_copies_when_shared() {
        let one = Messages::from(vec![Message::user("a")]);
        let other = one.clone();
        assert_eq!(one.into_vec(), vec![Message::user("a")]);
        // `other` is the last holder now: its messages move out
        let ptr = other[0].content.as_ptr();
        let moved = other.into_vec();
        assert_eq!(moved[0].content.as_ptr(), ptr);
    }

    #[test]
    fn retain_keeps_the_storage_when_it_drops_nothing() {
        let mut m = Messages::from(vec![Message::user("a"), Message::model("b")]);
        let saved = m.clone();
        m.retain(|_| true);
        assert!(Messages::ptr_eq(&m, &saved));
        m.retain(|m| m.text() == "b");
        assert_eq!(m.len(), 1);
        assert_eq!(saved.len(), 2);
    }

    #[test]
    fn serializes_as_the_array_it_holds() {
        let m = Messages::from(vec![Message::user("hi")]);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(
            json,
            serde_json::to_string(&vec![Message::user("hi")]).unwrap()
        );
        let back: Messages = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        assert_eq!(format!("{m:?}"), format!("{:?}", vec![Message::user("hi")]));
    }
}

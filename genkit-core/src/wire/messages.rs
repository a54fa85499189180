//! [`Messages`]: a conversation history that snapshots, sessions and stores share instead of
//! copying.

use std::fmt;
use std::ops::Deref;

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
/// conversation's length. `Messages` is a view of one storage that all its clones share: a
/// holder [`push`](Self::push)es in place as long as nobody appended past its own view (the
/// others do not see the new message), and copies only when someone did.
///
/// It is read as a slice (`Deref<Target = [Message]>`) and serializes as a JSON array, the
/// shape of Genkit's `messages` fields; [`make_mut`](Self::make_mut) changes messages in
/// place, copying first when another holder shares them.
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
pub struct Messages(SharedVec<Message>);

impl Messages {
    /// No messages (no allocation).
    pub const fn new() -> Self {
        Self(SharedVec::new())
    }

    /// The messages, to change in place; copied first when another holder shares them.
    ///
    /// ```
    /// use genkit_core::{Message, Messages};
    /// let mut history = Messages::from(vec![Message::user("hi")]);
    /// let saved = history.clone();
    /// history.make_mut()[0] = Message::user("hello");
    /// assert_eq!(saved[0].text(), "hi");
    /// ```
    pub fn make_mut(&mut self) -> &mut [Message] {
        self.0.make_mut()
    }

    /// Appends a message: in place, unless another holder appended past this history's end
    /// (then this one is copied first).
    pub fn push(&mut self, message: Message) {
        self.0.push(message);
    }

    /// Removes the last message and returns it: moved out when no one else holds the
    /// history, cloned otherwise.
    pub fn pop(&mut self) -> Option<Message> {
        self.0.pop()
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
    /// use genkit_core::{Message, Messages};
    /// let mut rendered = Messages::from(vec![Message::system("be brief"), Message::user("hi")]);
    /// rendered.drop_first(1);
    /// assert_eq!(rendered.len(), 1);
    /// rendered.prepend(&[Message::system("be brief")]);
    /// assert_eq!(rendered[0].text(), "be brief");
    /// ```
    pub fn drop_first(&mut self, n: usize) {
        self.0.drop_first(n);
    }

    /// Puts `preamble` before the messages: without a copy when the storage already holds
    /// exactly these messages just before them (see [`drop_first`](Self::drop_first)),
    /// by copying the history behind the preamble otherwise.
    pub fn prepend(&mut self, preamble: &[Message]) {
        self.0.prepend(preamble);
    }

    /// Keeps the messages for which `keep` is true (copies the history when it drops some).
    pub fn retain(&mut self, mut keep: impl FnMut(&Message) -> bool) {
        if self.iter().all(&mut keep) {
            return;
        }
        let mut vec = std::mem::take(self).into_vec();
        vec.retain(keep);
        *self = Self::from(vec);
    }

    /// The messages as an owned vector: moved out when no one else holds them, copied when
    /// someone does.
    pub fn into_vec(self) -> Vec<Message> {
        self.0.into_vec()
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

impl Deref for Messages {
    type Target = [Message];

    fn deref(&self) -> &[Message] {
        &self.0
    }
}

impl AsRef<[Message]> for Messages {
    fn as_ref(&self) -> &[Message] {
        &self.0
    }
}

impl From<Vec<Message>> for Messages {
    fn from(messages: Vec<Message>) -> Self {
        Self(SharedVec::from(messages))
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

impl Extend<Message> for Messages {
    fn extend<I: IntoIterator<Item = Message>>(&mut self, iter: I) {
        for message in iter {
            self.push(message);
        }
    }
}

impl<'a> IntoIterator for &'a Messages {
    type Item = &'a Message;
    type IntoIter = std::slice::Iter<'a, Message>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for Messages {
    type Item = Message;
    type IntoIter = std::vec::IntoIter<Message>;

    /// Moves the messages out when no one else holds them, copies them otherwise.
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
        **self == **other
    }
}

impl PartialEq<[Message]> for Messages {
    fn eq(&self, other: &[Message]) -> bool {
        **self == *other
    }
}

impl PartialEq<&[Message]> for Messages {
    fn eq(&self, other: &&[Message]) -> bool {
        **self == **other
    }
}

impl fmt::Debug for Messages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // as the vector it stands for
        fmt::Debug::fmt(&**self, f)
    }
}

impl Serialize for Messages {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Messages {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut messages = Vec::<Message>::deserialize(deserializer)?;
        // room for the next turn's messages: a loaded history is shared with the store's
        // cache and the snapshot, and a full storage would be copied by the first append
        if messages.capacity() - messages.len() < 2 {
            messages.reserve(4);
        }
        Ok(Self::from(messages))
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
        only.make_mut()[0] = Message::user("A");
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
        // `other` is the last holder now: its vector moves out
        let ptr = other.as_ptr();
        let moved = other.into_vec();
        assert_eq!(moved.as_ptr(), ptr);
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

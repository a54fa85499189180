//! [`Messages`]: a conversation history that snapshots, sessions and stores share instead of
//! copying.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::message::Message;

/// A conversation's messages, shared: cloning is a reference count, not a copy of the history.
///
/// An agent's turn hands its history to the session store, keeps it as the point to roll back
/// to, and returns it in the caller's state; with a plain `Vec<Message>` each of those is a deep
/// copy of every message, so a turn's cost would grow with the conversation's length. A
/// `Messages` is read as a slice (`Deref<Target = [Message]>`), serializes as the JSON array
/// Genkit's `SessionState.messages` is, and is changed copy-on-write: [`to_mut`](Self::to_mut)
/// and [`push`](Self::push) copy the history only when another holder still shares it.
///
/// ```
/// use genkit_core::{Message, Messages};
/// let mut history = Messages::from(vec![Message::user("hi"), Message::model("hello")]);
/// let saved = history.clone(); // no copy: both hold the same two messages
/// assert!(Messages::ptr_eq(&history, &saved));
/// history.push(Message::user("and now?")); // copies once, since `saved` still shares them
/// assert_eq!((history.len(), saved.len()), (3, 2));
/// assert_eq!(serde_json::to_value(&saved).unwrap()[1]["role"], "model");
/// ```
#[derive(Clone, Default)]
pub struct Messages(Arc<Vec<Message>>);

impl Messages {
    /// No messages.
    pub fn new() -> Self {
        Self::default()
    }

    /// The messages, to change in place; copies them first if another holder shares them.
    pub fn to_mut(&mut self) -> &mut Vec<Message> {
        Arc::make_mut(&mut self.0)
    }

    /// Appends a message (copy-on-write, as [`to_mut`](Self::to_mut)).
    pub fn push(&mut self, message: Message) {
        self.to_mut().push(message);
    }

    /// The messages as an owned vector: moved out when no one else holds them, copied when
    /// someone does.
    pub fn into_vec(self) -> Vec<Message> {
        Arc::try_unwrap(self.0).unwrap_or_else(|shared| Vec::clone(&shared))
    }

    /// Whether `a` and `b` are the same shared history (not merely equal ones).
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
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
        Self(Arc::new(messages))
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
        self.to_mut().extend(iter);
    }
}

impl<'a> IntoIterator for &'a Messages {
    type Item = &'a Message;
    type IntoIter = std::slice::Iter<'a, Message>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl PartialEq for Messages {
    fn eq(&self, other: &Self) -> bool {
        Self::ptr_eq(self, other) || self.0 == other.0
    }
}

impl PartialEq<Vec<Message>> for Messages {
    fn eq(&self, other: &Vec<Message>) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<[Message]> for Messages {
    fn eq(&self, other: &[Message]) -> bool {
        self.0.as_slice() == other
    }
}

impl fmt::Debug for Messages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // as the vector it stands for
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl Serialize for Messages {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
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
        let before = Arc::as_ptr(&only.0);
        only.push(Message::model("b"));
        assert_eq!(Arc::as_ptr(&only.0), before, "unshared: changed in place");

        let kept = only.clone();
        only.push(Message::user("c"));
        assert!(!Messages::ptr_eq(&only, &kept));
        assert_eq!(kept.len(), 2, "the other holder's history is untouched");
        assert_eq!(only.len(), 3);
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

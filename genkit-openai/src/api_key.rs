//! [`ApiKey`]: the secret, kept out of `Debug` output, logs and error messages.

use std::fmt;

/// An API key. Its `Debug` shows only that a key is set; the value leaves this type only to go
/// into the `Authorization` header (marked sensitive) and to be scrubbed from error bodies.
#[derive(Clone)]
pub(crate) struct ApiKey(String);

impl ApiKey {
    pub(crate) fn new(key: String) -> Self {
        Self(key)
    }

    /// The key itself, for the `Authorization` header only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the key replaced, so a server (or proxy) that echoes
    /// the key back cannot leak it into an error message.
    pub(crate) fn scrub(&self, text: String) -> String {
        // A very short key would match ordinary text; it cannot be a real secret anyway.
        if self.0.len() >= 8 && text.contains(&self.0) {
            text.replace(&self.0, "[REDACTED]")
        } else {
            text
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_key() {
        let key = ApiKey::new("sk-very-secret-value".into());
        assert_eq!(format!("{key:?}"), "ApiKey([REDACTED])");
        assert!(!format!("{key:#?}").contains("secret"));
    }

    #[test]
    fn scrub_removes_echoed_keys() {
        let key = ApiKey::new("sk-very-secret-value".into());
        let body = r#"{"error":{"message":"bad key sk-very-secret-value"}}"#.to_owned();
        assert_eq!(
            key.scrub(body),
            r#"{"error":{"message":"bad key [REDACTED]"}}"#
        );
    }
}

//! [`DotpromptError`]: every way loading, compiling or rendering a prompt can fail, each naming
//! the file and the position in it when there is one.

use std::fmt;
use std::path::PathBuf;

use genkit_core::{GenkitError, Status};

/// Where in a `.prompt` source something went wrong: the file (when the prompt came from one)
/// and a 1-based line and column in that file (front matter and template alike).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Position {
    /// The file, or `None` for a prompt given as a string.
    pub file: Option<PathBuf>,
    /// 1-based line in the file, when known.
    pub line: Option<usize>,
    /// 1-based column in the line, when known.
    pub column: Option<usize>,
}

impl Position {
    /// A position in `file` (or in a string when `None`) at `line`:`column`.
    pub fn new(file: Option<PathBuf>, line: Option<usize>, column: Option<usize>) -> Self {
        Self { file, line, column }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(p) => write!(f, "{}", p.display())?,
            None => f.write_str("<prompt>")?,
        }
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        Ok(())
    }
}

/// The error type of this crate.
///
/// ```
/// use genkit_dotprompt::{Dotprompt, DotpromptError};
/// let env = Dotprompt::new();
/// let err = env.compile("---\nmodel: [unclosed\n---\nHi").unwrap_err();
/// assert!(matches!(err, DotpromptError::FrontMatter { .. }));
/// // the YAML parser reports an unclosed list where the input ends: line 3 of the source
/// assert_eq!(err.position().and_then(|p| p.line), Some(3));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DotpromptError {
    /// A file could not be read.
    #[error("{}: cannot read", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },

    /// A file is not UTF-8 text.
    #[error("{at}: not UTF-8 text (invalid byte sequence here)")]
    NotUtf8 {
        /// The first invalid byte's position.
        at: Position,
    },

    /// The front matter is not YAML, or not a YAML mapping, or a reserved key has the wrong type.
    #[error("{at}: front matter: {message}")]
    FrontMatter {
        /// Where.
        at: Position,
        /// The YAML parser's message.
        message: String,
    },

    /// The template does not parse as Handlebars.
    #[error("{at}: template syntax: {message}")]
    TemplateSyntax {
        /// Where.
        at: Position,
        /// The parser's message.
        message: String,
    },

    /// A partial the template uses is neither registered nor found by a resolver.
    #[error("{at}: partial '{name}' not found")]
    MissingPartial {
        /// Where the template (or partial) is.
        at: Position,
        /// The partial's name.
        name: String,
    },

    /// Rendering failed (a helper got bad arguments, ...).
    #[error("{at}: render: {message}")]
    Render {
        /// Where.
        at: Position,
        /// What went wrong.
        message: String,
    },

    /// A Picoschema in the front matter is invalid (unknown type, bad parenthetical, ...).
    #[error("{at}: schema: {message}")]
    Schema {
        /// The front matter's position.
        at: Position,
        /// What is wrong.
        message: String,
    },

    /// The input does not match the prompt's input schema.
    #[error("{at}: input does not match the prompt's input schema: {}", .violations.join("; "))]
    InvalidInput {
        /// The prompt (file and the line of its `input:` key).
        at: Position,
        /// One line per violation.
        violations: Vec<String>,
    },

    /// The front matter names a tool the Genkit instance does not have.
    #[error("{at}: tool '{name}' is not registered")]
    UnknownTool {
        /// The tool name's position in the front matter.
        at: Position,
        /// The tool.
        name: String,
    },

    /// No prompt of this name (and variant) is loaded.
    #[error("prompt '{name}' not found")]
    PromptNotFound {
        /// The prompt's registry name (`name` or `name.variant`).
        name: String,
    },

    /// Two prompt files map to one name.
    #[error("{at}: prompt '{name}' is defined twice")]
    DuplicatePrompt {
        /// The second file.
        at: Position,
        /// The name.
        name: String,
    },

    /// Generate (or another Genkit operation) failed.
    #[error(transparent)]
    Genkit(#[from] GenkitError),
}

impl DotpromptError {
    /// The Genkit status this error maps to.
    pub fn status(&self) -> Status {
        match self {
            DotpromptError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                Status::NotFound
            }
            DotpromptError::Io { .. } => Status::Internal,
            DotpromptError::PromptNotFound { .. } => Status::NotFound,
            DotpromptError::UnknownTool { .. } => Status::NotFound,
            DotpromptError::MissingPartial { .. } => Status::NotFound,
            DotpromptError::DuplicatePrompt { .. } => Status::AlreadyExists,
            DotpromptError::Genkit(e) => e.status(),
            _ => Status::InvalidArgument,
        }
    }

    /// The file and position the error names, if any.
    pub fn position(&self) -> Option<&Position> {
        match self {
            DotpromptError::NotUtf8 { at }
            | DotpromptError::FrontMatter { at, .. }
            | DotpromptError::TemplateSyntax { at, .. }
            | DotpromptError::MissingPartial { at, .. }
            | DotpromptError::Render { at, .. }
            | DotpromptError::Schema { at, .. }
            | DotpromptError::InvalidInput { at, .. }
            | DotpromptError::UnknownTool { at, .. }
            | DotpromptError::DuplicatePrompt { at, .. } => Some(at),
            _ => None,
        }
    }
}

impl From<DotpromptError> for GenkitError {
    fn from(e: DotpromptError) -> Self {
        match e {
            DotpromptError::Genkit(inner) => inner,
            other => GenkitError::with_status(other.status(), other.to_string()),
        }
    }
}

//! [`PromptLibrary`]: a directory of `.prompt` files (variants `name.variant.prompt`, partials
//! `_name.prompt`, subdirectories as name prefixes) loaded the way Genkit loads its `prompts/`
//! folder, and registered as `/prompt/...` and `/executable-prompt/...` actions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use genkit_core::{Action, Genkit, GenkitBuilder};

use crate::action::{PromptAction, PromptActionKind};
use crate::definition::PromptDefinition;
use crate::dotprompt::Dotprompt;
use crate::error::{DotpromptError, Position};
use crate::parse::{decode, parse_document};

/// The prompts of an application, compiled once, with the partials they share.
///
/// ```
/// use genkit_dotprompt::PromptLibrary;
/// let library = PromptLibrary::new()
///     .with_partial("tone", "Answer in one sentence.")?
///     .with_source("greet", "---\nmodel: echo\n---\nSay hello to {{name}}. {{> tone}}")?
///     .with_source("greet.formal", "---\nmodel: echo\n---\nGreet {{name}} formally. {{> tone}}")?;
/// assert_eq!(library.names(), ["greet", "greet.formal"]);
/// assert_eq!(library.get("greet.formal").and_then(|p| p.variant()), Some("formal"));
/// # Ok::<(), genkit_dotprompt::DotpromptError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct PromptLibrary {
    env: Dotprompt,
    prompts: BTreeMap<String, Arc<PromptDefinition>>,
}

impl PromptLibrary {
    /// An empty library with a default [`Dotprompt`] environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty library compiling in `env` (named schemas, partial resolver, ...).
    pub fn with_environment(env: Dotprompt) -> Self {
        Self {
            env,
            prompts: BTreeMap::new(),
        }
    }

    /// Loads every `.prompt` file under `dir` (see [`with_dir`](Self::with_dir)).
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Self, DotpromptError> {
        Self::new().with_dir(dir)
    }

    /// Adds every `.prompt` file under `dir`, recursively: `_name.prompt` is partial `name`,
    /// `name.variant.prompt` variant `variant` of `name`, and a file in subdirectory `sub/` is
    /// `sub/name`. Partials are registered before any prompt compiles.
    pub fn with_dir(mut self, dir: impl AsRef<Path>) -> Result<Self, DotpromptError> {
        let dir = dir.as_ref();
        let mut partials = Vec::new();
        let mut prompts = Vec::new();
        walk(dir, "", &mut partials, &mut prompts)?;
        for (name, path) in partials {
            let source = read(&path)?;
            self.env.define_partial(&name, &source, Some(&path))?;
        }
        for (name, path) in prompts {
            let source = read(&path)?;
            self = self.add(&name, &source, Some(&path))?;
        }
        Ok(self)
    }

    /// Adds a prompt from a string; `name` may carry a variant (`greet.formal`).
    pub fn with_source(self, name: &str, source: &str) -> Result<Self, DotpromptError> {
        self.add(name, source, None)
    }

    /// Adds a partial (`{{> name}}`) for the prompts added after it.
    pub fn with_partial(self, name: &str, source: &str) -> Result<Self, DotpromptError> {
        self.env.define_partial(name, source, None)?;
        Ok(self)
    }

    fn add(
        mut self,
        name: &str,
        source: &str,
        file: Option<&Path>,
    ) -> Result<Self, DotpromptError> {
        let (base, variant) = match name.rsplit_once('/') {
            Some((dir, file_name)) => match file_name.split_once('.') {
                Some((n, v)) => (format!("{dir}/{n}"), Some(v.to_owned())),
                None => (name.to_owned(), None),
            },
            None => match name.split_once('.') {
                Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                None => (name.to_owned(), None),
            },
        };
        let parsed = parse_document(source, file)?;
        let template = self.env.compile_parsed(parsed)?;
        let definition = PromptDefinition::new(base, variant, template)?;
        let key = definition.name().to_owned();
        if self.prompts.contains_key(&key) {
            return Err(DotpromptError::DuplicatePrompt {
                at: Position::new(file.map(Path::to_path_buf), None, None),
                name: key,
            });
        }
        self.prompts.insert(key, Arc::new(definition));
        Ok(self)
    }

    /// The prompt registered as `name` (`greet`, `greet.formal`, `sub/greet`).
    pub fn get(&self, name: &str) -> Option<&Arc<PromptDefinition>> {
        self.prompts.get(name)
    }

    /// Every prompt's registry name, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.prompts.keys().map(String::as_str).collect()
    }

    /// The environment prompts compile in.
    pub fn environment(&self) -> &Dotprompt {
        &self.env
    }

    /// Two actions per prompt, as Genkit registers them: `/prompt/<name>` renders the model
    /// request, `/executable-prompt/<name>` the generate options.
    pub fn actions(&self) -> Vec<Arc<dyn Action>> {
        self.prompts
            .values()
            .flat_map(|p| {
                [PromptActionKind::Render, PromptActionKind::Executable]
                    .map(|kind| Arc::new(PromptAction::new(Arc::clone(p), kind)) as Arc<dyn Action>)
            })
            .collect()
    }

    /// Checks every prompt against a built instance: each tool its front matter names must
    /// be registered. Prompts check this on every render too; this finds it at start-up.
    pub fn check(&self, ai: &Genkit) -> Result<(), DotpromptError> {
        self.prompts.values().try_for_each(|p| p.check_tools(ai))
    }
}

fn read(path: &Path) -> Result<String, DotpromptError> {
    let bytes = std::fs::read(path).map_err(|source| DotpromptError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode(path, bytes)
}

type Found = Vec<(String, PathBuf)>;

fn walk(
    dir: &Path,
    prefix: &str,
    partials: &mut Found,
    prompts: &mut Found,
) -> Result<(), DotpromptError> {
    let io = |source| DotpromptError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<std::fs::DirEntry> = std::fs::read_dir(dir)
        .map_err(io)?
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type().map_err(io)?;
        if kind.is_dir() {
            walk(&path, &format!("{prefix}{file_name}/"), partials, prompts)?;
        } else if let Some(stem) = file_name.strip_suffix(".prompt") {
            match stem.strip_prefix('_') {
                Some(partial) => partials.push((partial.to_owned(), path)),
                None => prompts.push((format!("{prefix}{stem}"), path)),
            }
        }
    }
    Ok(())
}

/// Registers a library's prompt actions on a [`GenkitBuilder`].
pub trait GenkitBuilderPromptExt {
    /// Registers `/prompt/<name>` and `/executable-prompt/<name>` for every prompt of
    /// `library`; `ai.prompt("name")` then finds them.
    fn prompts(self, library: &PromptLibrary) -> Self;
}

impl GenkitBuilderPromptExt for GenkitBuilder {
    fn prompts(self, library: &PromptLibrary) -> Self {
        library
            .actions()
            .into_iter()
            .fold(self, GenkitBuilder::action)
    }
}

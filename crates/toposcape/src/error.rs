//! The library's errors: bad input, which names what the caller gave (a file, a config key, an
//! option), and failures of the machine or of a dependency.

use std::fmt;
use std::path::{Path, PathBuf};

/// What went wrong in the pipeline.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A problem with a file or a config key the caller gave: one line naming the file or the
    /// key and what was expected.
    #[error("{0}")]
    Input(String),
    /// An option of a call (`out`, `dims`, ...; on the command line the flag `--out`,
    /// `--dims`) whose value cannot be used.
    #[error("{}", OptionDisplay { error: self, prefix: "" })]
    ///
    /// The message names other options in backquotes (`` `force` ``), which
    /// [`Error::with_flags`] writes as flags (`--force`).
    Option {
        /// The option's name in snake case, as in [`crate::landscape::AnalysisOptions`].
        key: String,
        /// The value as given, when the message is about one value.
        value: Option<String>,
        /// What was wrong and what was expected.
        message: String,
    },
    /// Options of a call that do not go together; the message names them in backquotes
    /// (`` `json` and `metrics` both name x.json ``), which [`Error::with_flags`] writes as
    /// flags.
    #[error("{0}")]
    Options(String),
    /// A file could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    File {
        /// What was being done: `read`, `write`, `create`, `remove`, `move into place`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// Reading or writing failed, the file named by the layer that knows it.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A JSON document could not be written or read.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// An `.npz` archive could not be written.
    #[error(transparent)]
    Zip(#[from] zip::result::ZipError),
    /// The topology of a field failed (its domain, its values).
    #[error(transparent)]
    Topology(#[from] toposcape_topology::TopologyError),
    /// A figure could not be drawn.
    #[error(transparent)]
    Render(#[from] toposcape_topology::render::RenderError),
    /// The landscape's chunk store failed.
    #[error(transparent)]
    Store(#[from] toposcape_perturb::store::StoreError),
    /// Weights could not be saved.
    #[error(transparent)]
    Checkpoint(#[from] toposcape_models::checkpoint::CheckpointError),
    /// Anything else that is not the caller's to fix.
    #[error("{0}")]
    Internal(String),
    /// Another rank of the job failed and reports its error itself (`crate::team`): this
    /// rank has nothing to add.
    #[error("rank {rank} failed")]
    Elsewhere {
        /// The rank that failed.
        rank: usize,
        /// Whether it failed on its input (so that every rank exits with the same status).
        input: bool,
    },
}

/// The library's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether the caller can fix this by giving other input (a command line exits with
    /// status 2 for these).
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            Error::Input(_) | Error::Option { .. } | Error::Options(_)
        ) || matches!(self, Error::Elsewhere { input: true, .. })
    }

    /// An error of option `key` about its value `value`.
    pub fn option(
        key: impl Into<String>,
        value: impl fmt::Display,
        message: impl Into<String>,
    ) -> Self {
        Error::Option {
            key: key.into(),
            value: Some(value.to_string()),
            message: message.into(),
        }
    }

    /// An error of option `key` as a whole.
    pub fn option_as_a_whole(key: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Option {
            key: key.into(),
            value: None,
            message: message.into(),
        }
    }

    /// A failure to `action` ("read", "write", "create") the file at `path`.
    pub fn file(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Error::File {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    /// The message with options named as a command line's flags: `key` as `--key`, its
    /// underscores as dashes, and so the options its message names in backquotes.
    pub fn with_flags(&self) -> String {
        OptionDisplay {
            error: self,
            prefix: "--",
        }
        .to_string()
    }
}

/// An [`Error::Option`] as `{prefix}{key} {value}: {message}`; other errors as themselves.
struct OptionDisplay<'a> {
    error: &'a Error,
    prefix: &'static str,
}

impl fmt::Display for OptionDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (key, value, message) = match self.error {
            Error::Option {
                key,
                value,
                message,
            } => (key, value, message),
            Error::Options(message) if !self.prefix.is_empty() => {
                return write!(f, "{}", flags_in(message));
            }
            other => return write!(f, "{other}"),
        };
        if self.prefix.is_empty() {
            write!(f, "{key}")?;
        } else {
            write!(f, "{}", flag(key))?;
        }
        if let Some(value) = value {
            write!(f, " {value}")?;
        }
        if self.prefix.is_empty() {
            write!(f, ": {message}")
        } else {
            write!(f, ": {}", flags_in(message))
        }
    }
}

/// An option's name as a flag: `max_images` as `--max-images`.
fn flag(key: &str) -> String {
    format!("--{}", key.replace('_', "-"))
}

/// `text` with each option named in backquotes (`` `out` ``: lower case letters and
/// underscores) written as its flag.
fn flags_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('`') {
        let after = &rest[start + 1..];
        match after.find('`') {
            Some(end)
                if end > 0
                    && after[..end]
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'_') =>
            {
                out.push_str(&rest[..start]);
                out.push_str(&flag(&after[..end]));
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str(&rest[..=start]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_read_as_keys_or_as_flags() {
        let e = Error::option("max_images", 0, "expected at least one image");
        assert_eq!(e.to_string(), "max_images 0: expected at least one image");
        assert_eq!(
            e.with_flags(),
            "--max-images 0: expected at least one image"
        );
        let e = Error::option_as_a_whole("through", "only used with `directions` interp");
        assert_eq!(e.to_string(), "through: only used with `directions` interp");
        assert_eq!(
            e.with_flags(),
            "--through: only used with --directions interp"
        );
        let e = Error::option(
            "out",
            "x",
            "pass `force` or `max_images`, not `toposcape run`",
        );
        assert_eq!(
            e.with_flags(),
            "--out x: pass --force or --max-images, not `toposcape run`"
        );
        assert!(e.is_input());
        let e = Error::Options("`profile_json` and `metrics` both name m.json".into());
        assert_eq!(
            e.to_string(),
            "`profile_json` and `metrics` both name m.json"
        );
        assert_eq!(
            e.with_flags(),
            "--profile-json and --metrics both name m.json"
        );
        assert!(e.is_input());
        let e = Error::Input("a.toml: key seed: expected an integer".into());
        assert_eq!(e.with_flags(), e.to_string());
        assert!(!Error::Internal("x".into()).is_input());
    }
}

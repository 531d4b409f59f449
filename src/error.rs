//! The two kinds of failure the binary reports: bad input (exit 2) and everything else (exit 1).

use std::fmt;

/// A problem with what the user gave us (a file, a flag, a config key): exit status 2. The
/// message names the file, flag or key and says what was expected, on one line.
#[derive(Debug)]
pub struct InputError(pub String);

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}

/// Returns early with an [`InputError`] built like `format!`.
#[macro_export]
macro_rules! bail_input {
    ($($arg:tt)*) => {
        return Err($crate::error::InputError(format!($($arg)*)).into())
    };
}

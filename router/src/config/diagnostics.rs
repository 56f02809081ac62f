//! The collector every reading and validation step reports into, so that
//! one pass finds all the problems of a file instead of stopping at the
//! first.

use super::error::ConfigError;
use super::location::{Location, line_column};

pub(super) struct Diagnostics<'s> {
    text: &'s str,
    errors: Vec<ConfigError>,
}

impl<'s> Diagnostics<'s> {
    pub fn new(text: &'s str) -> Self {
        Self {
            text,
            errors: Vec::new(),
        }
    }

    pub fn error(&mut self, at: &Location, message: impl Into<String>, help: Option<String>) {
        let (line, column) = line_column(self.text, at.span.start);
        self.errors.push(ConfigError {
            line,
            column,
            path: at.path.clone(),
            message: message.into(),
            help,
        });
    }

    /// Where `at` is, for messages that refer to another line.
    pub fn line_column(&self, at: &Location) -> (usize, usize) {
        line_column(self.text, at.span.start)
    }

    /// How many errors so far; a step compares it before and after itself to
    /// learn whether it read cleanly, and later checks that would only echo
    /// its errors are skipped.
    pub fn count(&self) -> usize {
        self.errors.len()
    }

    pub fn into_errors(self) -> Vec<ConfigError> {
        self.errors
    }
}

//! What a refused configuration reports: every problem found, each with
//! where it is and what to do about it, printed the way compilers print.

use std::fmt;

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// 1-based line of the offending key or value; 0 when the problem is
    /// with the file as a whole (it could not be read).
    pub line: usize,
    /// 1-based column, counted in characters; 0 together with `line`.
    pub column: usize,
    /// Key path of the offending item, e.g. `static-route[0].next-hop[1].via`
    /// (indices are 0-based, in file order); empty for the whole document.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// What to do about it, when there is more to say than the message.
    pub help: Option<String>,
}

/// Everything wrong with one configuration file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    origin: String,
    errors: Vec<ConfigError>,
}

impl ConfigErrors {
    /// `origin` names the file in the printed locations. Errors are kept in
    /// file order so the report reads top to bottom.
    pub fn new(origin: &str, mut errors: Vec<ConfigError>) -> Self {
        errors.sort_by_key(|e| (e.line, e.column));
        Self {
            origin: origin.to_owned(),
            errors,
        }
    }

    /// The file the errors are about, as given to the loader.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn errors(&self) -> &[ConfigError] {
        &self.errors
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "error: {}", e.message)?;
            write!(f, "  --> {}", self.origin)?;
            if e.line > 0 {
                write!(f, ":{}:{}", e.line, e.column)?;
            }
            if !e.path.is_empty() {
                write!(f, "  ({})", e.path)?;
            }
            writeln!(f)?;
            if let Some(help) = &e.help {
                writeln!(f, "  = help: {help}")?;
            }
        }
        let n = self.errors.len();
        write!(
            f,
            "\n{n} error{} in {}",
            if n == 1 { "" } else { "s" },
            self.origin
        )
    }
}

impl std::error::Error for ConfigErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(line: usize, column: usize, message: &str) -> ConfigError {
        ConfigError {
            line,
            column,
            path: "port[0].mtu".into(),
            message: message.into(),
            help: None,
        }
    }

    #[test]
    fn errors_are_kept_in_file_order() {
        let errors = ConfigErrors::new(
            "x.toml",
            vec![error(9, 1, "c"), error(2, 5, "b"), error(2, 1, "a")],
        );
        let order: Vec<_> = errors.errors().iter().map(|e| e.message.as_str()).collect();
        assert_eq!(order, ["a", "b", "c"]);
    }

    #[test]
    fn whole_file_errors_print_no_position() {
        let errors = ConfigErrors::new(
            "/nope.toml",
            vec![ConfigError {
                line: 0,
                column: 0,
                path: String::new(),
                message: "cannot read".into(),
                help: Some("check the path".into()),
            }],
        );
        assert_eq!(
            errors.to_string(),
            "error: cannot read\n  --> /nope.toml\n  = help: check the path\n\n1 error in /nope.toml"
        );
    }
}

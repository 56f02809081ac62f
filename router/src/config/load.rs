//! Reading a configuration file: the text, its TOML syntax, then the
//! document's keys and values, then validation.

use std::path::Path;

use toml::de::DeTable;

use super::diagnostics::Diagnostics;
use super::document::TableView;
use super::error::{ConfigError, ConfigErrors};
use super::location::line_column;
use super::model::Config;
use super::parsed::ParsedConfig;
use super::validate::{ValidationEnv, validate};

/// Reads, parses and validates the configuration file at `path`. Errors
/// name the file as `path` was given.
pub fn load(path: &Path, env: &ValidationEnv) -> Result<Config, ConfigErrors> {
    let origin = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => parse_str(&text, &origin, env),
        Err(e) => Err(ConfigErrors::new(
            &origin,
            vec![ConfigError {
                line: 0,
                column: 0,
                path: String::new(),
                message: format!("cannot read the configuration file: {e}"),
                help: None,
            }],
        )),
    }
}

/// Parses and validates configuration text; `origin` names it in errors
/// (a file name, or e.g. `<stdin>`).
pub fn parse_str(text: &str, origin: &str, env: &ValidationEnv) -> Result<Config, ConfigErrors> {
    let (document, syntax_errors) = DeTable::parse_recoverable(text);
    // The parser recovers to find every syntax error, but what it recovers
    // to is a guess: validating it would report problems the operator
    // did not write.
    if !syntax_errors.is_empty() {
        let errors = syntax_errors
            .iter()
            .map(|e| {
                let (line, column) = e.span().map_or((0, 0), |s| line_column(text, s.start));
                let help = (e.message() == "duplicate key").then(|| {
                    "a key can be set once per table; for a list of sections use [[double brackets]]"
                        .to_owned()
                });
                ConfigError {
                    line,
                    column,
                    path: String::new(),
                    message: format!("invalid TOML: {}", e.message()),
                    help,
                }
            })
            .collect();
        return Err(ConfigErrors::new(origin, errors));
    }

    let mut d = Diagnostics::new(text);
    let parsed = ParsedConfig::read(&TableView::document(&document), &mut d);
    let config = validate(&parsed, env, &mut d);
    if d.count() == 0 {
        Ok(config)
    } else {
        Err(ConfigErrors::new(origin, d.into_errors()))
    }
}

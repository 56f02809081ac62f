//! Typed reading of the parsed TOML tree, value by value, each with its
//! key path and span.
//!
//! The config is read by walking the tree rather than by deriving
//! `Deserialize`: serde stops at the first problem, and an operator fixing a
//! file wants all of them at once, each with its line.

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diagnostics::Diagnostics;
use super::location::{Located, Location};
use super::suggestion::{closest, did_you_mean};

/// A TOML table of the document and where it is.
pub(super) struct TableView<'t, 'i> {
    table: &'t DeTable<'i>,
    pub at: Location,
}

/// One value of the document: the value of a key, or an array element.
pub(super) struct Field<'t, 'i> {
    value: &'t DeValue<'i>,
    /// How messages name it: the key, or `key[i]` for an element.
    name: String,
    pub at: Location,
}

impl<'t, 'i> TableView<'t, 'i> {
    /// The whole document.
    pub fn document(table: &'t Spanned<DeTable<'i>>) -> Self {
        Self {
            table: table.get_ref(),
            at: Location {
                path: String::new(),
                span: table.span(),
            },
        }
    }

    pub fn field(&self, key: &str) -> Option<Field<'t, 'i>> {
        let (_, value) = self.table.get_key_value(key)?;
        Some(Field {
            value: value.get_ref(),
            name: key.to_owned(),
            at: self.at.key(key, value.span()),
        })
    }

    /// Reports every key of the table that is not in `known`, with the
    /// closest known key when it looks like a typo.
    pub fn check_keys(&self, d: &mut Diagnostics<'_>, known: &[&str]) {
        for key in self.table.keys() {
            let name: &str = key.get_ref();
            if known.contains(&name) {
                continue;
            }
            let help = match closest(name, known.iter().copied()) {
                Some(k) => format!("did you mean `{k}`?"),
                None => format!("the keys allowed here are {}", quoted_list(known, "`")),
            };
            d.error(
                &self.at.key(name, key.span()),
                format!("unknown key `{name}`"),
                Some(help),
            );
        }
    }

    /// Reports that the table lacks the required `key`.
    pub fn missing(&self, d: &mut Diagnostics<'_>, what: &str, key: &str, help: &str) {
        d.error(
            &self.at,
            format!("{what} has no `{key}`"),
            Some(help.to_owned()),
        );
    }
}

impl<'t, 'i> Field<'t, 'i> {
    /// The value if it is an integer that fits `i128`, without reporting
    /// anything: for checks that want their own message for some values.
    pub fn as_integer(&self) -> Option<i128> {
        match self.value {
            DeValue::Integer(int) => i128::from_str_radix(int.as_str(), int.radix()).ok(),
            _ => None,
        }
    }

    pub fn is_string(&self) -> bool {
        matches!(self.value, DeValue::String(_))
    }

    fn kind(&self) -> &'static str {
        match self.value {
            DeValue::String(_) => "a string",
            DeValue::Integer(_) => "an integer",
            DeValue::Float(_) => "a float",
            DeValue::Boolean(_) => "a boolean",
            DeValue::Datetime(_) => "a date-time",
            DeValue::Array(_) => "an array",
            DeValue::Table(_) => "a table",
        }
    }

    fn located<T>(&self, value: T) -> Located<T> {
        Located {
            value,
            at: self.at.clone(),
        }
    }

    fn wrong_type(&self, d: &mut Diagnostics<'_>, expected: &str, help: Option<String>) {
        d.error(
            &self.at,
            format!("`{}` must be {expected}, not {}", self.name, self.kind()),
            help,
        );
    }

    /// The text of a quoted value that should not have been quoted, e.g.
    /// `mtu = "1500"`, so the help can show the fix.
    fn unquote_help(&self, looks_right: impl Fn(&str) -> bool) -> Option<String> {
        match self.value {
            // An array element has no `key =` to show.
            DeValue::String(s) if looks_right(s.trim()) && self.name.ends_with(']') => {
                Some(format!("write it without quotes: `{}`", s.trim()))
            }
            DeValue::String(s) if looks_right(s.trim()) => Some(format!(
                "write it without quotes: `{} = {}`",
                self.name,
                s.trim()
            )),
            _ => None,
        }
    }

    pub fn string(&self, d: &mut Diagnostics<'_>) -> Option<Located<String>> {
        match self.value {
            DeValue::String(s) => Some(self.located(s.to_string())),
            _ => {
                self.wrong_type(d, "a string", None);
                None
            }
        }
    }

    pub fn boolean(&self, d: &mut Diagnostics<'_>) -> Option<Located<bool>> {
        match self.value {
            DeValue::Boolean(b) => Some(self.located(*b)),
            _ => {
                let help = self.unquote_help(|s| s == "true" || s == "false");
                self.wrong_type(d, "`true` or `false`", help);
                None
            }
        }
    }

    /// An integer within `range`.
    pub fn integer<T>(
        &self,
        d: &mut Diagnostics<'_>,
        range: RangeInclusive<T>,
    ) -> Option<Located<T>>
    where
        T: TryFrom<i128> + PartialOrd + Display + Copy,
    {
        let DeValue::Integer(int) = self.value else {
            let help = match self.value {
                DeValue::Float(_) => Some("write a whole number".to_owned()),
                _ => self.unquote_help(|s| s.parse::<i128>().is_ok()),
            };
            self.wrong_type(d, "an integer", help);
            return None;
        };
        let out_of_range = |d: &mut Diagnostics<'_>| {
            d.error(
                &self.at,
                format!("`{}` is {int}, out of range", self.name),
                Some(format!(
                    "use a value from {} to {}",
                    range.start(),
                    range.end()
                )),
            );
        };
        // i128 holds every integer TOML allows (i64) and a few more that the
        // parser lets through; anything bigger is out of range all the same.
        let Ok(wide) = i128::from_str_radix(int.as_str(), int.radix()) else {
            out_of_range(d);
            return None;
        };
        match T::try_from(wide) {
            Ok(v) if range.contains(&v) => Some(self.located(v)),
            _ => {
                out_of_range(d);
                None
            }
        }
    }

    /// A string parsed by `FromStr`, e.g. an address or a prefix; `what`
    /// names the expected form in the message and `help` says how to write
    /// it.
    pub fn parsed<T: FromStr>(
        &self,
        d: &mut Diagnostics<'_>,
        what: &str,
        help: &str,
    ) -> Option<Located<T>> {
        let DeValue::String(s) = self.value else {
            self.wrong_type(d, &format!("{what} in quotes"), Some(help.to_owned()));
            return None;
        };
        match s.parse() {
            Ok(v) => Some(self.located(v)),
            Err(_) => {
                d.error(
                    &self.at,
                    format!("`{}` is not {what}: \"{s}\"", self.name),
                    Some(help.to_owned()),
                );
                None
            }
        }
    }

    /// One of a fixed set of words.
    pub fn keyword<T: Copy>(
        &self,
        d: &mut Diagnostics<'_>,
        choices: &[(&'static str, T)],
    ) -> Option<Located<T>> {
        let words: Vec<&str> = choices.iter().map(|&(w, _)| w).collect();
        let DeValue::String(s) = self.value else {
            let help = format!("write one of {}", quoted_list(&words, "\""));
            self.wrong_type(d, "a string", Some(help));
            return None;
        };
        if let Some(&(_, v)) = choices.iter().find(|&&(w, _)| w == s.as_ref()) {
            return Some(self.located(v));
        }
        d.error(
            &self.at,
            format!("`{}` cannot be \"{s}\"", self.name),
            Some(format!(
                "write one of {}{}",
                quoted_list(&words, "\""),
                did_you_mean(s, words.iter().copied())
            )),
        );
        None
    }

    /// The elements of an array.
    pub fn array(&self, d: &mut Diagnostics<'_>, help: &str) -> Option<Vec<Field<'t, 'i>>> {
        match self.value {
            DeValue::Array(items) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| Field {
                        value: item.get_ref(),
                        name: format!("{}[{i}]", self.name),
                        at: self.at.index(i, item.span()),
                    })
                    .collect(),
            ),
            _ => {
                self.wrong_type(d, "an array", Some(help.to_owned()));
                None
            }
        }
    }

    /// A table: `[name]` or an inline `{ … }`.
    pub fn table(&self, d: &mut Diagnostics<'_>) -> Option<TableView<'t, 'i>> {
        match self.value {
            DeValue::Table(table) => Some(TableView {
                table,
                at: self.at.clone(),
            }),
            _ => {
                let help = format!("write it as a section: `[{}]`", self.at.path);
                self.wrong_type(d, "a table", Some(help));
                None
            }
        }
    }

    /// An array of tables: `[[name]]` sections (or an array of inline
    /// tables). A single `[name]` table is refused rather than taken as a
    /// list of one, because the double brackets are what lets the next one
    /// be added.
    pub fn tables(&self, d: &mut Diagnostics<'_>) -> Option<Vec<TableView<'t, 'i>>> {
        let help = || {
            format!(
                "write each one as a `[[{}]]` section (double brackets)",
                self.at.path
            )
        };
        let DeValue::Array(items) = self.value else {
            self.wrong_type(d, "an array of tables", Some(help()));
            return None;
        };
        let mut tables = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let at = self.at.index(i, item.span());
            match item.get_ref() {
                DeValue::Table(table) => tables.push(TableView { table, at }),
                _ => {
                    let element = Field {
                        value: item.get_ref(),
                        name: format!("{}[{i}]", self.name),
                        at,
                    };
                    element.wrong_type(d, "a table", Some(help()));
                }
            }
        }
        Some(tables)
    }
}

/// `"a", "b" or "c"` with the given quote.
pub(super) fn quoted_list(words: &[&str], quote: &str) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("{quote}{w}{quote}")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

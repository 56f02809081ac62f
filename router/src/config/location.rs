//! Where in the file a value was written: its key path and byte span, and
//! the conversion of a byte offset to the line and column people read.

use std::ops::Range;

/// The key path and byte span of one item of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Location {
    /// E.g. `static-route[0].next-hop[1].via`; empty for the document.
    pub path: String,
    pub span: Range<usize>,
}

impl Location {
    /// The location of `key` inside the table at `self`, at `span`.
    pub fn key(&self, key: &str, span: Range<usize>) -> Self {
        let path = if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        };
        Self { path, span }
    }

    /// The location of element `index` of the array at `self`, at `span`.
    pub fn index(&self, index: usize, span: Range<usize>) -> Self {
        Self {
            path: format!("{}[{index}]", self.path),
            span,
        }
    }
}

/// A value read from the file together with where it was written, so that
/// checks made after reading can still point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Located<T> {
    pub value: T,
    pub at: Location,
}

/// 1-based line and column (in characters) of byte `offset` of `text`.
/// Offsets past the end or inside a character clamp to the nearest
/// position before them rather than fail: a position is for people.
pub(super) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let text = "a = 1\nb = \"é\" x\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 4), (1, 5));
        assert_eq!(line_column(text, 6), (2, 1));
        // 'é' is two bytes but one column.
        let x = text.find('x').unwrap();
        assert_eq!(line_column(text, x), (2, 9));
    }

    #[test]
    fn offsets_out_of_range_or_inside_a_character_clamp() {
        let text = "é\n";
        assert_eq!(line_column(text, 1), (1, 1));
        assert_eq!(line_column(text, 100), (2, 1));
        assert_eq!(line_column("", 5), (1, 1));
    }

    #[test]
    fn paths_nest_keys_and_indices() {
        let root = Location {
            path: String::new(),
            span: 0..0,
        };
        let route = root.key("static-route", 0..1).index(2, 0..1);
        assert_eq!(route.key("prefix", 0..1).path, "static-route[2].prefix");
    }
}

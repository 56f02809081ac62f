//! "Did you mean …?" for misspelt keys, port names and keywords.

/// The known word closest to `word`, if it is close enough to be a likely
/// typo: spelt the same up to case and `_`/`-`, or within an edit distance
/// of about a third of its length (at least 1, at most 3).
pub(super) fn closest<'k>(word: &str, known: impl IntoIterator<Item = &'k str>) -> Option<&'k str> {
    let normal = normalize(word);
    let limit = (normal.chars().count() / 3).clamp(1, 3);
    known
        .into_iter()
        .map(|k| (edit_distance(&normal, &normalize(k)), k))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, k)| k)
}

/// `; did you mean "x"?` or nothing, to append to a help text about a
/// value (keys are suggested with [`closest`] directly).
pub(super) fn did_you_mean<'k>(word: &str, known: impl IntoIterator<Item = &'k str>) -> String {
    closest(word, known)
        .map(|k| format!("; did you mean \"{k}\"?"))
        .unwrap_or_default()
}

fn normalize(word: &str) -> String {
    word.to_lowercase().replace('_', "-")
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_insertions_deletions_substitutions() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("mtu", ""), 3);
        assert_eq!(edit_distance("adresses", "addresses"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("via", "vai"), 2);
    }

    #[test]
    fn suggests_typos_and_other_spellings_but_not_strangers() {
        let keys = [
            "name",
            "addresses",
            "mtu",
            "xdp-mode",
            "bind-mode",
            "queues",
            "core",
        ];
        assert_eq!(closest("adresses", keys), Some("addresses"));
        assert_eq!(closest("xdp_mode", keys), Some("xdp-mode"));
        assert_eq!(closest("MTU", keys), Some("mtu"));
        assert_eq!(closest("queue", keys), Some("queues"));
        assert_eq!(closest("bfd", keys), None);
        assert_eq!(closest("description", keys), None);
    }
}

//! What a commit would change: the running configuration against a
//! candidate, as a list of changes (`vrctl config diff`) and as the set of
//! units the daemon has to restart ([`ConfigDiff::units`]).
//!
//! The comparison knows nothing of the sections: both configurations are
//! serialized with serde into an order-keeping tree and walked, so a
//! section added to [`Config`] later (BFD, BGP, …) is diffed without code
//! here. Arrays of tables are matched by identity — the first of
//! [`IDENTITY_FIELDS`] every element has (`name` for ports, `prefix` for
//! static routes) — so adding `static-route 10.9.0.0/16` is one change,
//! not a shifted list. Arrays of tables without such a field (next hops)
//! are aligned on their longest common subsequence, the way `diff` aligns
//! lines. Arrays of plain values (`addresses`, `queues`) change as one
//! value.
//!
//! `null` is "not set" (TOML has no null): going from `null` to a value is
//! an addition.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

use serde::Serialize;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::model::Config;

/// Fields that name an element of an array of tables, in order of
/// preference.
pub const IDENTITY_FIELDS: [&str; 4] = ["name", "prefix", "address", "id"];

/// Above this many element pairs, arrays without identity are paired by
/// position instead of aligned (the alignment table is this big).
const MAX_ALIGNMENT_CELLS: usize = 1 << 20;

/// How many units [`ConfigDiff::summary`] names before "and N more".
const SUMMARY_UNITS: usize = 4;

/// What happened to one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
    /// A kind from a newer daemon.
    #[serde(other)]
    Unknown,
}

impl ChangeKind {
    /// The mark at the start of a line of the human rendering.
    pub fn mark(self) -> char {
        match self {
            Self::Added => '+',
            Self::Removed => '-',
            Self::Changed => '~',
            Self::Unknown => '?',
        }
    }
}

/// One difference between the running configuration and the candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Change {
    pub kind: ChangeKind,
    /// Where: `static-route[10.9.0.0/16]`, `port[eth1].mtu`,
    /// `static-route[0.0.0.0/0].target.next-hops[1].weight` (array
    /// elements by identity, or by 0-based index where they have none).
    pub path: String,
    /// The value before, as TOML-like text; `None` when added.
    pub old: Option<String>,
    /// The value after; `None` when removed.
    pub new: Option<String>,
}

/// A part of the configuration the daemon can restart on its own: a
/// top-level section (`icmp`), or one element of a top-level array of
/// tables by its identity (`port` `eth1`, `static-route` `10.9.0.0/16`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
pub struct ConfigUnit {
    /// The top-level key, as in the file: `port`, `static-route`, `icmp`.
    pub section: String,
    /// The element's identity; `None` for the section as a whole.
    pub id: Option<String>,
}

impl ConfigUnit {
    pub fn section(section: &str) -> Self {
        Self {
            section: section.to_owned(),
            id: None,
        }
    }

    pub fn element(section: &str, id: &str) -> Self {
        Self {
            section: section.to_owned(),
            id: Some(id.to_owned()),
        }
    }
}

impl fmt::Display for ConfigUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => write!(f, "{}[{id}]", self.section),
            None => f.write_str(&self.section),
        }
    }
}

/// Everything a commit of the candidate would change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ConfigDiff {
    /// In file order: sections as the configuration lists them, within an
    /// array the candidate's order, removals after the rest of their array.
    pub changes: Vec<Change>,
    /// The units the changes touch; a change inside a static route touches
    /// that route only.
    pub units: BTreeSet<ConfigUnit>,
}

impl ConfigDiff {
    /// What making `candidate` the running configuration changes.
    pub fn new(running: &Config, candidate: &Config) -> Self {
        Self::between(running, candidate)
    }

    /// The same comparison for any serializable value; a top-level table
    /// gives sections, anything else one unit named `config`.
    pub fn between<T: Serialize + ?Sized>(old: &T, new: &T) -> Self {
        let mut diff = Self::default();
        match (Node::of(old), Node::of(new)) {
            (Some(old), Some(new)) => {
                let mut walk = Walk { diff: &mut diff };
                match (&old, &new) {
                    (Node::Table(o), Node::Table(n)) => walk.top_level(o, n),
                    _ => walk.node(&Path::root("config"), Some(&old), Some(&new)),
                }
            }
            // Plain data always serializes; should a future field not,
            // say that everything may have changed rather than nothing.
            _ => {
                diff.changes.push(Change {
                    kind: ChangeKind::Changed,
                    path: "config".to_owned(),
                    old: None,
                    new: None,
                });
                diff.units.insert(ConfigUnit::section("config"));
            }
        }
        diff
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    pub fn units(&self) -> &BTreeSet<ConfigUnit> {
        &self.units
    }

    /// Whether anything in `section` changed (any of its elements).
    pub fn touches(&self, section: &str) -> bool {
        self.units.iter().any(|u| u.section == section)
    }

    pub fn count(&self, kind: ChangeKind) -> usize {
        self.changes.iter().filter(|c| c.kind == kind).count()
    }

    /// One line for a history listing: `2 added, 1 changed: port[eth1],
    /// static-route[10.9.0.0/16]`.
    pub fn summary(&self) -> String {
        if self.is_empty() {
            return "no changes".to_owned();
        }
        let counts: Vec<String> = [
            (ChangeKind::Added, "added"),
            (ChangeKind::Removed, "removed"),
            (ChangeKind::Changed, "changed"),
        ]
        .iter()
        .filter_map(|&(kind, word)| {
            let n = self.count(kind);
            (n > 0).then(|| format!("{n} {word}"))
        })
        .collect();
        let mut units: Vec<String> = self
            .units
            .iter()
            .take(SUMMARY_UNITS)
            .map(ToString::to_string)
            .collect();
        if self.units.len() > SUMMARY_UNITS {
            units.push(format!("and {} more", self.units.len() - SUMMARY_UNITS));
        }
        format!("{}: {}", counts.join(", "), units.join(", "))
    }
}

/// The human form, like `git diff` or Junos `show | compare`: one line per
/// change, `+` added, `-` removed, `~` changed (`old -> new`).
impl fmt::Display for ConfigDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return writeln!(f, "no changes");
        }
        for change in &self.changes {
            let mark = change.kind.mark();
            match (&change.old, &change.new) {
                (Some(old), Some(new)) => writeln!(f, "{mark} {}: {old} -> {new}", change.path)?,
                (None, Some(value)) | (Some(value), None) => {
                    writeln!(f, "{mark} {} = {value}", change.path)?;
                }
                (None, None) => writeln!(f, "{mark} {}", change.path)?,
            }
        }
        Ok(())
    }
}

/// A serialized value with its tables' keys in serialization order (a
/// `serde_json::Value` map would sort them and the diff would not read in
/// file order).
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Null,
    Bool(bool),
    /// As printed, so that equal numbers compare equal whatever their type.
    Number(String),
    Text(String),
    List(Vec<Node>),
    Table(Vec<(String, Node)>),
}

impl Node {
    fn of<T: Serialize + ?Sized>(value: &T) -> Option<Self> {
        let json = serde_json::to_string(value).ok()?;
        serde_json::from_str(&json).ok()
    }

    fn field(&self, key: &str) -> Option<&Node> {
        match self {
            Self::Table(fields) => fields
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .filter(|v| !matches!(v, Self::Null)),
            _ => None,
        }
    }

    /// The text of a value that can name an element.
    fn as_key(&self) -> Option<String> {
        match self {
            Self::Text(s) => Some(s.clone()),
            Self::Number(n) => Some(n.clone()),
            Self::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    fn is_table(&self) -> bool {
        matches!(self, Self::Table(_))
    }

    /// TOML-like text: strings quoted, arrays in brackets, tables inline.
    fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        out
    }

    fn render_into(&self, out: &mut String) {
        match self {
            Self::Null => out.push_str("(not set)"),
            Self::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Self::Number(n) => out.push_str(n),
            Self::Text(s) => out.push_str(&quoted(s)),
            Self::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.render_into(out);
                }
                out.push(']');
            }
            Self::Table(fields) => {
                out.push('{');
                let mut first = true;
                for (key, value) in fields {
                    if matches!(value, Self::Null) {
                        continue;
                    }
                    out.push_str(if first { " " } else { ", " });
                    first = false;
                    out.push_str(&bare_or_quoted(key));
                    out.push_str(" = ");
                    value.render_into(out);
                }
                out.push_str(if first { "}" } else { " }" });
            }
        }
    }
}

/// A TOML basic string: JSON's escapes are a subset of TOML's.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

fn bare_or_quoted(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare { key.to_owned() } else { quoted(key) }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Number(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Number(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Number(v.to_string()))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Text(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Text(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut fields = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Node>()? {
            fields.push((key, value));
        }
        Ok(Node::Table(fields))
    }
}

/// Where the walk is: the printed path and the unit changes there touch.
#[derive(Debug, Clone)]
struct Path {
    text: String,
    unit: ConfigUnit,
}

impl Path {
    fn root(section: &str) -> Self {
        Self {
            text: section.to_owned(),
            unit: ConfigUnit::section(section),
        }
    }

    fn key(&self, key: &str) -> Self {
        Self {
            text: format!("{}.{}", self.text, bare_or_quoted(key)),
            unit: self.unit.clone(),
        }
    }

    /// An element of the array at this path, shown as `[label]`.
    fn element(&self, label: &str) -> Self {
        Self {
            text: format!("{}[{label}]", self.text),
            unit: self.unit.clone(),
        }
    }
}

/// How the elements of one array pair are named: an identity label per
/// element (unique on each side), and the primary identity for the unit.
struct Identities {
    old: Vec<(String, String)>,
    new: Vec<(String, String)>,
}

struct Walk<'a> {
    diff: &'a mut ConfigDiff,
}

impl Walk<'_> {
    fn push(&mut self, unit: &ConfigUnit, change: Change) {
        self.diff.units.insert(unit.clone());
        self.diff.changes.push(change);
    }

    fn top_level(&mut self, old: &[(String, Node)], new: &[(String, Node)]) {
        for (key, old_value, new_value) in paired_fields(old, new) {
            let path = Path::root(key);
            // Elements of a top-level array are units of their own.
            if let (Some(Node::List(o)), Some(Node::List(n))) = (old_value, new_value) {
                self.list(&path, o, n, true);
            } else {
                self.node(&path, old_value, new_value);
            }
        }
    }

    fn node(&mut self, path: &Path, old: Option<&Node>, new: Option<&Node>) {
        let old = old.filter(|n| !matches!(n, Node::Null));
        let new = new.filter(|n| !matches!(n, Node::Null));
        match (old, new) {
            (None, None) => {}
            (None, Some(n)) => self.push(
                &path.unit,
                Change {
                    kind: ChangeKind::Added,
                    path: path.text.clone(),
                    old: None,
                    new: Some(n.render()),
                },
            ),
            (Some(o), None) => self.push(
                &path.unit,
                Change {
                    kind: ChangeKind::Removed,
                    path: path.text.clone(),
                    old: Some(o.render()),
                    new: None,
                },
            ),
            (Some(Node::Table(o)), Some(Node::Table(n))) => {
                for (key, o, n) in paired_fields(o, n) {
                    self.node(&path.key(key), o, n);
                }
            }
            (Some(Node::List(o)), Some(Node::List(n))) => self.list(path, o, n, false),
            (Some(o), Some(n)) => {
                if o != n {
                    self.changed(path, o, n);
                }
            }
        }
    }

    fn changed(&mut self, path: &Path, old: &Node, new: &Node) {
        self.push(
            &path.unit,
            Change {
                kind: ChangeKind::Changed,
                path: path.text.clone(),
                old: Some(old.render()),
                new: Some(new.render()),
            },
        );
    }

    /// `top_level`: the array is a section of the configuration, and each
    /// element with an identity is a unit.
    fn list(&mut self, path: &Path, old: &[Node], new: &[Node], top_level: bool) {
        if old == new {
            return;
        }
        let all_tables = old.iter().chain(new).all(Node::is_table);
        if !all_tables || (old.is_empty() && new.is_empty()) {
            self.changed(path, &Node::List(old.to_vec()), &Node::List(new.to_vec()));
            return;
        }
        match identities(old, new) {
            Some(ids) => self.list_by_identity(path, old, new, &ids, top_level),
            None => self.list_aligned(path, old, new),
        }
    }

    fn list_by_identity(
        &mut self,
        path: &Path,
        old: &[Node],
        new: &[Node],
        ids: &Identities,
        top_level: bool,
    ) {
        let element_path = |label: &str, primary: &str| {
            let mut p = path.element(label);
            if top_level {
                p.unit = ConfigUnit::element(&path.unit.section, primary);
            }
            p
        };
        let old_index: HashMap<&str, usize> = ids
            .old
            .iter()
            .enumerate()
            .map(|(i, (label, _))| (label.as_str(), i))
            .collect();
        let new_labels: HashSet<&str> = ids.new.iter().map(|(l, _)| l.as_str()).collect();
        for (n, (label, primary)) in new.iter().zip(&ids.new) {
            let o = old_index.get(label.as_str()).and_then(|&i| old.get(i));
            self.node(&element_path(label, primary), o, Some(n));
        }
        for (o, (label, primary)) in old.iter().zip(&ids.old) {
            if !new_labels.contains(label.as_str()) {
                self.node(&element_path(label, primary), Some(o), None);
            }
        }
        // Same elements in another order: in file order matters for some
        // arrays (ports are numbered by it), so it is a change too.
        let old_kept: Vec<&str> = ids
            .old
            .iter()
            .map(|(l, _)| l.as_str())
            .filter(|l| new_labels.contains(l))
            .collect();
        let new_kept: Vec<&str> = ids
            .new
            .iter()
            .map(|(l, _)| l.as_str())
            .filter(|l| old_index.contains_key(l))
            .collect();
        if old_kept != new_kept {
            let order = |labels: &[&str]| {
                Node::List(labels.iter().map(|l| Node::Text((*l).to_owned())).collect())
            };
            let mut p = path.key("order");
            p.unit = ConfigUnit::section(&path.unit.section);
            self.changed(&p, &order(&old_kept), &order(&new_kept));
        }
    }

    /// Elements without identity, aligned like lines in `diff`: equal
    /// elements are matched, and so are elements that agree on at least
    /// half their fields (shown as a change inside); the rest are added or
    /// removed.
    fn list_aligned(&mut self, path: &Path, old: &[Node], new: &[Node]) {
        let (mut i, mut j) = (0, 0);
        let pairs = alignment(old, new);
        for (pi, pj) in pairs.iter().copied().chain([(old.len(), new.len())]) {
            for (x, o) in old.iter().enumerate().take(pi).skip(i) {
                self.node(&path.element(&x.to_string()), Some(o), None);
            }
            for (y, n) in new.iter().enumerate().take(pj).skip(j) {
                self.node(&path.element(&y.to_string()), None, Some(n));
            }
            if let (Some(o), Some(n)) = (old.get(pi), new.get(pj)) {
                self.node(&path.element(&pj.to_string()), Some(o), Some(n));
            }
            (i, j) = (pi + 1, pj + 1);
        }
    }
}

/// The fields of two tables side by side: the new table's order, then
/// the fields only the old one has.
fn paired_fields<'a>(
    old: &'a [(String, Node)],
    new: &'a [(String, Node)],
) -> Vec<(&'a str, Option<&'a Node>, Option<&'a Node>)> {
    let find = |fields: &'a [(String, Node)], key: &str| {
        fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    };
    let mut out: Vec<_> = new
        .iter()
        .map(|(k, v)| (k.as_str(), find(old, k), Some(v)))
        .collect();
    out.extend(
        old.iter()
            .filter(|(k, _)| find(new, k).is_none())
            .map(|(k, v)| (k.as_str(), Some(v), None)),
    );
    out
}

/// Labels for the elements of two arrays of tables, from the first
/// identity field all elements have, or `None` (align them instead).
///
/// Where the identity repeats on a side (two static routes to one prefix
/// at different distances), the repeated ones are told apart by the first
/// other plain field that does (`10.0.0.0/8 distance=5`), and failing that
/// by their rank among their namesakes (`…#2`). The same rule labels both
/// sides, so an element keeps its label from one side to the other.
fn identities(old: &[Node], new: &[Node]) -> Option<Identities> {
    let field = IDENTITY_FIELDS.iter().find(|f| {
        old.iter()
            .chain(new)
            .all(|e| e.field(f).and_then(Node::as_key).is_some())
    })?;
    let primary = |e: &Node| e.field(field).and_then(Node::as_key).unwrap_or_default();
    let old_keys: Vec<String> = old.iter().map(primary).collect();
    let new_keys: Vec<String> = new.iter().map(primary).collect();
    let repeated: HashSet<&str> = repeats(&old_keys)
        .into_iter()
        .chain(repeats(&new_keys))
        .collect();
    if repeated.is_empty() {
        let pair = |keys: Vec<String>| keys.into_iter().map(|k| (k.clone(), k)).collect();
        return Some(Identities {
            old: pair(old_keys),
            new: pair(new_keys),
        });
    }
    let in_repeat = |e: &&Node| repeated.contains(primary(e).as_str());
    let qualifier = old
        .iter()
        .chain(new)
        .find(in_repeat)
        .and_then(|first| match first {
            Node::Table(fields) => fields
                .iter()
                .map(|(k, _)| k.as_str())
                .filter(|k| k != field)
                .find(|k| {
                    [old, new].iter().all(|side| {
                        let labels: Vec<(String, Option<String>)> = side
                            .iter()
                            .filter(in_repeat)
                            .map(|e| (primary(e), e.field(k).and_then(Node::as_key)))
                            .collect();
                        labels.iter().all(|(_, v)| v.is_some())
                            && labels.iter().collect::<HashSet<_>>().len() == labels.len()
                    })
                }),
            _ => None,
        });
    let label = |side: &[Node]| -> Vec<(String, String)> {
        let mut seen: HashMap<String, usize> = HashMap::new();
        side.iter()
            .map(|e| {
                let key = primary(e);
                if !repeated.contains(key.as_str()) {
                    return (key.clone(), key);
                }
                let label = match qualifier.and_then(|q| e.field(q).and_then(Node::as_key)) {
                    Some(v) => format!("{key} {}={v}", qualifier.unwrap_or_default()),
                    None => {
                        let rank = seen.entry(key.clone()).or_insert(0);
                        *rank += 1;
                        format!("{key}#{rank}")
                    }
                };
                (label, key)
            })
            .collect()
    };
    Some(Identities {
        old: label(old),
        new: label(new),
    })
}

fn repeats(keys: &[String]) -> Vec<&str> {
    let mut seen = HashSet::new();
    keys.iter()
        .filter(|k| !seen.insert(k.as_str()))
        .map(String::as_str)
        .collect()
}

/// How well two elements pair up: equal ones best, then by the number of
/// fields they agree on if that is at least half of them; 0 = do not pair.
fn affinity(old: &Node, new: &Node) -> usize {
    /// Outweighs any number of partial matches an array could hold.
    const EQUAL: usize = 1 << 20;
    if old == new {
        return EQUAL;
    }
    let (Node::Table(o), Node::Table(n)) = (old, new) else {
        return 0;
    };
    let fields = paired_fields(o, n);
    let same = fields.iter().filter(|(_, a, b)| a == b).count();
    if same > 0 && 2 * same >= fields.len() {
        same
    } else {
        0
    }
}

/// Index pairs, in order, of the alignment with the greatest total
/// [`affinity`] (a weighted longest common subsequence); past
/// [`MAX_ALIGNMENT_CELLS`], elements are paired by position.
fn alignment(old: &[Node], new: &[Node]) -> Vec<(usize, usize)> {
    let (n, m) = (old.len(), new.len());
    if n.saturating_mul(m) > MAX_ALIGNMENT_CELLS {
        return (0..n.min(m)).map(|i| (i, i)).collect();
    }
    // best[i * width + j]: the greatest total of old[i..] against new[j..].
    let width = m + 1;
    let mut best = vec![0usize; (n + 1) * width];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            let skip = best[(i + 1) * width + j].max(best[i * width + j + 1]);
            let score = affinity(&old[i], &new[j]);
            let take = if score > 0 {
                score + best[(i + 1) * width + j + 1]
            } else {
                0
            };
            best[i * width + j] = skip.max(take);
        }
    }
    let mut pairs = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        let score = affinity(&old[i], &new[j]);
        if score > 0 && best[i * width + j] == score + best[(i + 1) * width + j + 1] {
            pairs.push((i, j));
            i += 1;
            j += 1;
        } else if best[(i + 1) * width + j] >= best[i * width + j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // `json!` sorts keys; a struct keeps its field order.
    fn diff(old: serde_json::Value, new: serde_json::Value) -> ConfigDiff {
        ConfigDiff::between(&old, &new)
    }

    fn lines(d: &ConfigDiff) -> Vec<String> {
        d.to_string().lines().map(str::to_owned).collect()
    }

    #[test]
    fn equal_values_have_no_changes() {
        let v = json!({"a": {"b": [1, 2]}, "port": [{"name": "x"}]});
        let d = diff(v.clone(), v);
        assert!(d.is_empty());
        assert!(d.units().is_empty());
        assert_eq!(d.to_string(), "no changes\n");
    }

    #[test]
    fn arrays_of_tables_match_by_identity() {
        let d = diff(
            json!({"static-route": [{"prefix": "10.0.0.0/8", "distance": 1}, {"prefix": "10.2.0.0/16", "distance": 1}]}),
            json!({"static-route": [{"prefix": "10.1.0.0/16", "distance": 1}, {"prefix": "10.0.0.0/8", "distance": 1}, {"prefix": "10.2.0.0/16", "distance": 3}]}),
        );
        assert_eq!(
            lines(&d),
            [
                "+ static-route[10.1.0.0/16] = { distance = 1, prefix = \"10.1.0.0/16\" }",
                "~ static-route[10.2.0.0/16].distance: 1 -> 3",
            ]
        );
        let units: Vec<String> = d.units().iter().map(ToString::to_string).collect();
        assert_eq!(
            units,
            ["static-route[10.1.0.0/16]", "static-route[10.2.0.0/16]"]
        );
    }

    #[test]
    fn repeated_identities_are_qualified() {
        let route = |d: u32, via: &str| json!({"prefix": "10.0.0.0/8", "distance": d, "via": via});
        let d = diff(
            json!({"static-route": [route(1, "a")]}),
            json!({"static-route": [route(5, "b"), route(1, "a")]}),
        );
        assert_eq!(
            lines(&d),
            [
                "+ static-route[10.0.0.0/8 distance=5] = { distance = 5, prefix = \"10.0.0.0/8\", via = \"b\" }"
            ]
        );
        assert_eq!(
            d.units().iter().collect::<Vec<_>>(),
            [&ConfigUnit::element("static-route", "10.0.0.0/8")]
        );
    }

    #[test]
    fn repeated_identities_without_qualifier_use_their_rank() {
        let d = diff(
            json!({"x": [{"name": "a", "v": 1}, {"name": "a", "v": 1}]}),
            json!({"x": [{"name": "a", "v": 1}, {"name": "a", "v": 2}]}),
        );
        assert_eq!(lines(&d), ["~ x[a#2].v: 1 -> 2"]);
    }

    #[test]
    fn a_reorder_is_a_change_of_the_section() {
        let d = diff(
            json!({"port": [{"name": "a"}, {"name": "b"}]}),
            json!({"port": [{"name": "b"}, {"name": "a"}]}),
        );
        assert_eq!(lines(&d), [r#"~ port.order: ["a", "b"] -> ["b", "a"]"#]);
        assert_eq!(
            d.units().iter().collect::<Vec<_>>(),
            [&ConfigUnit::section("port")]
        );
    }

    #[test]
    fn arrays_without_identity_are_aligned() {
        let hop = |via: &str, w: u32| json!({"via": via, "weight": w});
        let d = diff(
            json!({"r": {"hops": [hop("a", 1), hop("b", 1), hop("c", 1)]}}),
            json!({"r": {"hops": [hop("b", 1), hop("c", 2), hop("d", 1)]}}),
        );
        assert_eq!(
            lines(&d),
            [
                "- r.hops[0] = { via = \"a\", weight = 1 }",
                "~ r.hops[1].weight: 1 -> 2",
                "+ r.hops[2] = { via = \"d\", weight = 1 }",
            ]
        );
    }

    #[test]
    fn plain_arrays_change_whole_and_null_is_not_set() {
        let d = diff(
            json!({"p": {"addresses": ["a"], "listen": null, "gone": 1}}),
            json!({"p": {"addresses": ["a", "b"], "listen": "x:1", "gone": null}}),
        );
        assert_eq!(
            lines(&d),
            [
                r#"~ p.addresses: ["a"] -> ["a", "b"]"#,
                "- p.gone = 1",
                r#"+ p.listen = "x:1""#,
            ]
        );
        assert_eq!(d.summary(), "1 added, 1 removed, 1 changed: p");
    }

    #[test]
    fn fields_keep_their_declaration_order() {
        #[derive(Serialize)]
        struct Section {
            zeta: u8,
            alpha: u8,
        }
        let d = ConfigDiff::between(
            &Section { zeta: 1, alpha: 1 },
            &Section { zeta: 2, alpha: 2 },
        );
        let paths: Vec<&str> = d.changes().iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["zeta", "alpha"]);
    }

    #[test]
    fn keys_and_strings_are_quoted_where_toml_needs_it() {
        assert_eq!(
            Node::of(&json!({"a b": "x\"y", "c": {}})).unwrap().render(),
            r#"{ "a b" = "x\"y", c = {} }"#
        );
    }

    #[test]
    fn the_diff_round_trips_through_json() {
        let d = diff(json!({"a": 1, "b": [{"id": 7}]}), json!({"a": 2, "b": []}));
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<ConfigDiff>(&json).unwrap(), d);
        assert!(json.contains(r#""kind":"removed","path":"b[7]""#), "{json}");
        let unknown: ChangeKind = serde_json::from_str("\"moved\"").unwrap();
        assert_eq!(unknown, ChangeKind::Unknown);
    }
}

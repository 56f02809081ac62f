//! AS_PATH and AS4_PATH (RFC 4271 §4.3, RFC 5065 §3, RFC 6793).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::consts::{AS_TRANS, segment_type};
use super::error::EncodeError;
use super::reader::Reader;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SegmentType {
    Set,
    Sequence,
    ConfedSequence,
    ConfedSet,
}

impl SegmentType {
    /// `None` for an unrecognised type: that makes the path malformed
    /// (RFC 7606 §7.2), so there is no `Unknown` case to carry.
    pub fn from_wire(value: u8) -> Option<SegmentType> {
        match value {
            segment_type::AS_SET => Some(SegmentType::Set),
            segment_type::AS_SEQUENCE => Some(SegmentType::Sequence),
            segment_type::AS_CONFED_SEQUENCE => Some(SegmentType::ConfedSequence),
            segment_type::AS_CONFED_SET => Some(SegmentType::ConfedSet),
            _ => None,
        }
    }

    pub fn to_wire(self) -> u8 {
        match self {
            SegmentType::Set => segment_type::AS_SET,
            SegmentType::Sequence => segment_type::AS_SEQUENCE,
            SegmentType::ConfedSequence => segment_type::AS_CONFED_SEQUENCE,
            SegmentType::ConfedSet => segment_type::AS_CONFED_SET,
        }
    }

    pub fn is_confed(self) -> bool {
        matches!(self, SegmentType::ConfedSequence | SegmentType::ConfedSet)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AsSegment {
    pub kind: SegmentType,
    pub asns: Vec<u32>,
}

/// An AS path as segments, leftmost (most recent) first.
///
/// Segments longer than 255 ASes are split on emit, since the segment
/// length is one octet; empty segments are skipped (RFC 7606 §7.2 makes a
/// zero-length segment malformed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AsPath {
    pub segments: Vec<AsSegment>,
}

/// Why an AS_PATH/AS4_PATH value is malformed (RFC 7606 §7.2, RFC 6793 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MalformedAsPath;

impl AsPath {
    pub fn new() -> AsPath {
        AsPath::default()
    }

    /// A path of one AS_SEQUENCE.
    pub fn from_sequence(asns: impl IntoIterator<Item = u32>) -> AsPath {
        let asns: Vec<u32> = asns.into_iter().collect();
        if asns.is_empty() {
            return AsPath::new();
        }
        AsPath {
            segments: vec![AsSegment {
                kind: SegmentType::Sequence,
                asns,
            }],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.segments.iter().all(|s| s.asns.is_empty())
    }

    /// Path length for route selection (RFC 4271 §9.1.2.2): an AS_SET
    /// counts 1 whatever its size, confederation segments count 0
    /// (RFC 5065 §5.3).
    pub fn path_length(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s.kind {
                SegmentType::Sequence => s.asns.len(),
                SegmentType::Set => usize::from(!s.asns.is_empty()),
                SegmentType::ConfedSequence | SegmentType::ConfedSet => 0,
            })
            .sum()
    }

    /// The leftmost AS of the path, if it starts with an AS_SEQUENCE:
    /// the neighbour AS an eBGP peer should have put there (RFC 4271 §6.3).
    pub fn first_as(&self) -> Option<u32> {
        let first = self.segments.iter().find(|s| !s.asns.is_empty())?;
        match first.kind {
            SegmentType::Sequence => first.asns.first().copied(),
            _ => None,
        }
    }

    /// Whether `asn` appears anywhere: AS path loop detection (RFC 4271 §9.1.2).
    pub fn contains(&self, asn: u32) -> bool {
        self.segments.iter().any(|s| s.asns.contains(&asn))
    }

    /// Puts `asn` in front `count` times, as an eBGP speaker does on export
    /// (RFC 4271 §5.1.2) and as AS-path prepend policy does.
    pub fn prepend(&mut self, asn: u32, count: usize) {
        match self.segments.first_mut() {
            Some(first) if first.kind == SegmentType::Sequence => {
                first.asns.splice(0..0, std::iter::repeat_n(asn, count));
            }
            _ => self.segments.insert(
                0,
                AsSegment {
                    kind: SegmentType::Sequence,
                    asns: vec![asn; count],
                },
            ),
        }
    }

    /// Whether every AS fits two octets (RFC 6793 "mappable").
    pub fn is_two_octet(&self) -> bool {
        self.segments
            .iter()
            .all(|s| s.asns.iter().all(|&asn| asn <= u32::from(u16::MAX)))
    }

    /// The path with every four-octet AS replaced by AS_TRANS, for the
    /// AS_PATH sent to a two-octet peer (RFC 6793 §4.2.2).
    pub fn with_as_trans(&self) -> AsPath {
        AsPath {
            segments: self
                .segments
                .iter()
                .map(|s| AsSegment {
                    kind: s.kind,
                    asns: s
                        .asns
                        .iter()
                        .map(|&asn| {
                            if asn > u32::from(u16::MAX) {
                                u32::from(AS_TRANS)
                            } else {
                                asn
                            }
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// The path without confederation segments, as AS4_PATH must be
    /// (RFC 6793 §4.2.2, §6).
    pub fn without_confed(&self) -> AsPath {
        AsPath {
            segments: self
                .segments
                .iter()
                .filter(|s| !s.kind.is_confed())
                .cloned()
                .collect(),
        }
    }

    /// Rebuilds the real AS path from a two-octet peer's AS_PATH and
    /// AS4_PATH (RFC 6793 §4.2.3): if AS_PATH counts fewer ASes than
    /// AS4_PATH, AS4_PATH is ignored; otherwise the leading ASes of AS_PATH
    /// that AS4_PATH lacks are put in front of AS4_PATH, together with any
    /// leading confederation segments. The AGGREGATOR rule that may cancel
    /// this is applied by `PathAttributes::merge_as4`.
    pub fn merge_as4(as_path: &AsPath, as4_path: &AsPath) -> AsPath {
        let as_len = as_path.path_length();
        let as4_len = as4_path.path_length();
        if as_len < as4_len {
            return as_path.clone();
        }
        let mut needed = as_len - as4_len;
        let mut merged = Vec::with_capacity(as_path.segments.len() + as4_path.segments.len());
        for segment in &as_path.segments {
            match segment.kind {
                // Counted as 0; kept when leading or next to a taken segment.
                SegmentType::ConfedSequence | SegmentType::ConfedSet => {
                    merged.push(segment.clone())
                }
                _ if needed == 0 => break,
                SegmentType::Set => {
                    merged.push(segment.clone());
                    needed -= 1;
                }
                SegmentType::Sequence => {
                    let take = needed.min(segment.asns.len());
                    merged.push(AsSegment {
                        kind: SegmentType::Sequence,
                        asns: segment.asns[..take].to_vec(),
                    });
                    needed -= take;
                    if take < segment.asns.len() {
                        break;
                    }
                }
            }
        }
        merged.extend(as4_path.segments.iter().cloned());
        let mut path = AsPath { segments: merged };
        path.join_sequences();
        path
    }

    /// Merges neighbouring AS_SEQUENCE segments and drops empty ones; the
    /// path means the same, it is just the canonical shape.
    fn join_sequences(&mut self) {
        let mut joined: Vec<AsSegment> = Vec::with_capacity(self.segments.len());
        for segment in self.segments.drain(..) {
            if segment.asns.is_empty() {
                continue;
            }
            match joined.last_mut() {
                Some(last)
                    if last.kind == SegmentType::Sequence
                        && segment.kind == SegmentType::Sequence =>
                {
                    last.asns.extend_from_slice(&segment.asns);
                }
                _ => joined.push(segment),
            }
        }
        self.segments = joined;
    }

    /// Parses an AS_PATH (`four_octet` as negotiated) or AS4_PATH (always
    /// four octets) value.
    pub(crate) fn decode(value: &[u8], four_octet: bool) -> Result<AsPath, MalformedAsPath> {
        let mut reader = Reader::new(value);
        let as_size = if four_octet { 4 } else { 2 };
        let mut segments = Vec::new();
        while !reader.is_empty() {
            // One octet left is the underrun case of RFC 7606 §7.2.
            let kind = reader.u8().ok_or(MalformedAsPath)?;
            let count = reader.u8().ok_or(MalformedAsPath)?;
            let kind = SegmentType::from_wire(kind).ok_or(MalformedAsPath)?;
            if count == 0 {
                return Err(MalformedAsPath);
            }
            let octets = reader
                .take(usize::from(count) * as_size)
                .ok_or(MalformedAsPath)?;
            let asns = if four_octet {
                octets
                    .chunks_exact(4)
                    .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                    .collect()
            } else {
                octets
                    .chunks_exact(2)
                    .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
                    .collect()
            };
            segments.push(AsSegment { kind, asns });
        }
        Ok(AsPath { segments })
    }

    /// Appends the attribute value.
    pub(crate) fn encode(&self, four_octet: bool, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        for segment in &self.segments {
            for chunk in segment.asns.chunks(usize::from(u8::MAX)) {
                out.push(segment.kind.to_wire());
                out.push(chunk.len() as u8);
                for &asn in chunk {
                    if four_octet {
                        out.extend_from_slice(&asn.to_be_bytes());
                    } else {
                        let asn16 = u16::try_from(asn)
                            .map_err(|_| EncodeError::AsNumberTooLarge { asn })?;
                        out.extend_from_slice(&asn16.to_be_bytes());
                    }
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for AsPath {
    /// The usual operator form: `65001 65002 {65003,65004} (65010)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for segment in &self.segments {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            let (open, sep, close) = match segment.kind {
                SegmentType::Sequence => ("", " ", ""),
                SegmentType::Set => ("{", ",", "}"),
                SegmentType::ConfedSequence => ("(", " ", ")"),
                SegmentType::ConfedSet => ("[", ",", "]"),
            };
            f.write_str(open)?;
            for (i, asn) in segment.asns.iter().enumerate() {
                if i > 0 {
                    f.write_str(sep)?;
                }
                write!(f, "{asn}")?;
            }
            f.write_str(close)?;
        }
        Ok(())
    }
}

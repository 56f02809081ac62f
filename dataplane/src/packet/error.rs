//! Why a packet view or representation refused a buffer.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// The buffer ends before a header or a length field says it should.
    Truncated,
    /// The IP version nibble is not the one this view parses.
    BadVersion,
    /// A header-length field is below its protocol's minimum.
    BadHeaderLen,
    /// A total/payload length field is inconsistent with the header.
    BadLength,
    BadChecksum,
    /// Well-formed, but a kind this layer does not handle (e.g. non-Ethernet ARP).
    Unsupported,
    /// An IPv6 extension-header chain longer than the walk is willing to follow.
    TooManyHeaders,
    /// Any other protocol rule violation; the text names the rule.
    Malformed(&'static str),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Truncated => f.write_str("packet truncated"),
            ParseError::BadVersion => f.write_str("bad IP version"),
            ParseError::BadHeaderLen => f.write_str("bad header length"),
            ParseError::BadLength => f.write_str("bad length field"),
            ParseError::BadChecksum => f.write_str("bad checksum"),
            ParseError::Unsupported => f.write_str("unsupported packet kind"),
            ParseError::TooManyHeaders => f.write_str("too many extension headers"),
            ParseError::Malformed(why) => write!(f, "malformed packet: {why}"),
        }
    }
}

impl std::error::Error for ParseError {}

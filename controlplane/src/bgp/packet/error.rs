//! What can go wrong on the wire, and what to do about it.
//!
//! Three kinds: a stream that cannot be cut into messages
//! ([`MessageHeaderError`]), a message that ends the session
//! ([`MessageError`], carrying the NOTIFICATION to send), and an UPDATE
//! whose damage RFC 7606 lets the session survive ([`UpdateErrorAction`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::notification::{ErrorCode, Notification, UpdateSubcode};

/// The fixed header is wrong (RFC 4271 §6.1); the session must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageHeaderError {
    /// The marker is not all ones.
    NotSynchronized,
    /// The Length field is outside what the message type or the session allows.
    BadLength { length: u16 },
    /// The Type field names no message we know.
    BadType { message_type: u8 },
}

impl MessageHeaderError {
    pub fn notification(&self) -> Notification {
        match *self {
            MessageHeaderError::NotSynchronized => Notification::connection_not_synchronized(),
            MessageHeaderError::BadLength { length } => Notification::bad_message_length(length),
            MessageHeaderError::BadType { message_type } => {
                Notification::bad_message_type(message_type)
            }
        }
    }
}

impl fmt::Display for MessageHeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageHeaderError::NotSynchronized => write!(
                f,
                "BGP header marker is not all ones: the byte stream lost sync with the peer"
            ),
            MessageHeaderError::BadLength { length } => {
                write!(f, "BGP header length {length} is not allowed here")
            }
            MessageHeaderError::BadType { message_type } => {
                write!(f, "BGP header names unknown message type {message_type}")
            }
        }
    }
}

impl std::error::Error for MessageHeaderError {}

/// A received message the session cannot survive: send `notification`,
/// then close. `reason` says what was wrong, for the operator's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageError {
    pub notification: Notification,
    pub reason: String,
}

impl MessageError {
    pub fn new(notification: Notification, reason: impl Into<String>) -> MessageError {
        MessageError {
            notification,
            reason: reason.into(),
        }
    }
}

impl From<MessageHeaderError> for MessageError {
    fn from(error: MessageHeaderError) -> MessageError {
        MessageError::new(error.notification(), error.to_string())
    }
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (sending NOTIFICATION {})",
            self.reason, self.notification
        )
    }
}

impl std::error::Error for MessageError {}

/// A value that cannot be put on the wire as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// The message would exceed the session's maximum length.
    TooLong { len: usize, max: usize },
    /// A four-octet AS number in a two-octet AS_PATH or AGGREGATOR: the
    /// speaker must substitute AS_TRANS first (RFC 6793 §4.2.2).
    AsNumberTooLarge { asn: u32 },
    /// A field's length does not fit its length octet(s).
    FieldTooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::TooLong { len, max } => write!(
                f,
                "BGP message of {len} octets exceeds the session maximum of {max}; split it"
            ),
            EncodeError::AsNumberTooLarge { asn } => write!(
                f,
                "AS {asn} does not fit a two-octet AS field; use AS_TRANS and AS4_PATH (RFC 6793)"
            ),
            EncodeError::FieldTooLong { field, len, max } => {
                write!(f, "{field} is {len} octets, at most {max} fit")
            }
        }
    }
}

impl std::error::Error for EncodeError {}

/// What was wrong with one path attribute (or the attribute list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AttrErrorKind {
    /// Optional/Transitive bits conflict with the type (RFC 7606 §3.c).
    Flags { flags: u8 },
    /// Length not allowed for the type (RFC 4271 §6.3, RFC 7606 §7).
    Length { length: usize },
    /// ORIGIN value other than IGP/EGP/INCOMPLETE (RFC 7606 §7.1).
    InvalidOrigin { value: u8 },
    /// NEXT_HOP is not a valid host address (RFC 4271 §6.3).
    InvalidNextHop,
    /// Bad segment type, zero-length segment, overrun or underrun (RFC 7606 §7.2).
    MalformedAsPath,
    /// A well-known mandatory attribute is absent (RFC 7606 §3.d).
    Missing,
    /// An attribute with the Optional bit clear whose type we do not know
    /// (RFC 4271 §6.3).
    UnrecognizedWellKnown,
    /// Second and later occurrences of a type (RFC 7606 §3.g).
    Duplicate,
    /// Attribute header or value runs past the Total Path Attribute Length
    /// (RFC 7606 §4).
    Overrun,
    /// A prefix in MP_REACH_NLRI/MP_UNREACH_NLRI is too long or truncated
    /// (RFC 7606 §5.3).
    InvalidNlri,
    /// MP_REACH_NLRI next hop length does not fit the AFI/SAFI (RFC 7606 §7.11).
    InvalidMpNextHop { length: usize },
    /// AS4_PATH/AS4_AGGREGATOR between four-octet speakers (RFC 6793 §4.1).
    As4BetweenNewSpeakers,
    /// LOCAL_PREF, ORIGINATOR_ID or CLUSTER_LIST from an external peer
    /// (RFC 7606 §7.5, §7.9, §7.10).
    FromExternalPeer,
}

impl AttrErrorKind {
    fn subcode(self) -> UpdateSubcode {
        match self {
            AttrErrorKind::Flags { .. } => UpdateSubcode::AttributeFlagsError,
            AttrErrorKind::Length { .. } => UpdateSubcode::AttributeLengthError,
            AttrErrorKind::InvalidOrigin { .. } => UpdateSubcode::InvalidOriginAttribute,
            AttrErrorKind::InvalidNextHop => UpdateSubcode::InvalidNextHopAttribute,
            AttrErrorKind::MalformedAsPath => UpdateSubcode::MalformedAsPath,
            AttrErrorKind::Missing => UpdateSubcode::MissingWellKnownAttribute,
            AttrErrorKind::UnrecognizedWellKnown => UpdateSubcode::UnrecognizedWellKnownAttribute,
            AttrErrorKind::Duplicate => UpdateSubcode::MalformedAttributeList,
            AttrErrorKind::Overrun => UpdateSubcode::AttributeLengthError,
            // RFC 4760 §7: an incorrect MP_REACH/MP_UNREACH is an Optional Attribute Error.
            AttrErrorKind::InvalidNlri
            | AttrErrorKind::InvalidMpNextHop { .. }
            | AttrErrorKind::As4BetweenNewSpeakers
            | AttrErrorKind::FromExternalPeer => UpdateSubcode::OptionalAttributeError,
        }
    }
}

/// One damaged path attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AttrError {
    pub type_code: u8,
    pub kind: AttrErrorKind,
    /// What RFC 4271 §6.3 puts in the NOTIFICATION Data field: the
    /// attribute as received (flags, type, length, value), or the type
    /// code alone when the attribute is missing.
    pub data: Vec<u8>,
}

impl AttrError {
    pub(crate) fn new(type_code: u8, kind: AttrErrorKind, data: &[u8]) -> AttrError {
        AttrError {
            type_code,
            kind,
            data: data.to_vec(),
        }
    }

    /// The NOTIFICATION RFC 4271 would send for this error; used when RFC
    /// 7606 still calls for a session reset, and for logs otherwise.
    pub fn notification(&self) -> Notification {
        Notification::new(ErrorCode::Update(self.kind.subcode()), self.data.clone())
    }
}

impl fmt::Display for AttrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = attr_name(self.type_code);
        match self.kind {
            AttrErrorKind::Flags { flags } => {
                write!(f, "{name} has wrong attribute flags {flags:#04x}")
            }
            AttrErrorKind::Length { length } => {
                write!(f, "{name} has invalid length {length}")
            }
            AttrErrorKind::InvalidOrigin { value } => {
                write!(f, "{name} has undefined value {value}")
            }
            AttrErrorKind::InvalidNextHop => write!(f, "{name} is not a valid host address"),
            AttrErrorKind::MalformedAsPath => write!(f, "{name} has a malformed segment"),
            AttrErrorKind::Missing => write!(f, "well-known mandatory {name} is missing"),
            AttrErrorKind::UnrecognizedWellKnown => {
                write!(f, "{name} is not optional but not recognised")
            }
            AttrErrorKind::Duplicate => write!(f, "{name} appears more than once"),
            AttrErrorKind::Overrun => {
                write!(f, "{name} runs past the end of the path attributes")
            }
            AttrErrorKind::InvalidNlri => write!(f, "{name} carries an unparsable prefix"),
            AttrErrorKind::InvalidMpNextHop { length } => {
                write!(f, "{name} has a next hop of unexpected length {length}")
            }
            AttrErrorKind::As4BetweenNewSpeakers => {
                write!(f, "{name} sent by a four-octet AS speaker")
            }
            AttrErrorKind::FromExternalPeer => write!(f, "{name} sent by an external peer"),
        }
    }
}

/// A readable name for log lines.
pub(crate) fn attr_name(type_code: u8) -> String {
    use super::consts::attr_type::*;
    let name = match type_code {
        ORIGIN => "ORIGIN",
        AS_PATH => "AS_PATH",
        NEXT_HOP => "NEXT_HOP",
        MULTI_EXIT_DISC => "MULTI_EXIT_DISC",
        LOCAL_PREF => "LOCAL_PREF",
        ATOMIC_AGGREGATE => "ATOMIC_AGGREGATE",
        AGGREGATOR => "AGGREGATOR",
        COMMUNITIES => "COMMUNITIES",
        ORIGINATOR_ID => "ORIGINATOR_ID",
        CLUSTER_LIST => "CLUSTER_LIST",
        MP_REACH_NLRI => "MP_REACH_NLRI",
        MP_UNREACH_NLRI => "MP_UNREACH_NLRI",
        EXTENDED_COMMUNITIES => "EXTENDED_COMMUNITIES",
        AS4_PATH => "AS4_PATH",
        AS4_AGGREGATOR => "AS4_AGGREGATOR",
        IPV6_EXTENDED_COMMUNITIES => "IPv6 EXTENDED_COMMUNITIES",
        LARGE_COMMUNITIES => "LARGE_COMMUNITIES",
        other => return format!("attribute {other}"),
    };
    name.to_string()
}

/// How the speaker must treat an UPDATE that decoded with errors
/// (RFC 7606 §2), weakest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpdateErrorAction {
    /// Use the UPDATE without these attributes; they are already removed
    /// from the decoded `Update`. Log them (RFC 7606 §6).
    AttributeDiscard { discarded: Vec<AttrError> },
    /// Withdraw every prefix the UPDATE carries — Withdrawn Routes, NLRI,
    /// MP_REACH_NLRI and MP_UNREACH_NLRI alike (RFC 7606 §2).
    TreatAsWithdraw { reason: AttrError },
    /// Send the NOTIFICATION and close the session.
    SessionReset(Notification),
}

impl fmt::Display for UpdateErrorAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpdateErrorAction::AttributeDiscard { discarded } => {
                write!(f, "attribute discard:")?;
                for (i, error) in discarded.iter().enumerate() {
                    let sep = if i == 0 { " " } else { "; " };
                    write!(f, "{sep}{error}")?;
                }
                Ok(())
            }
            UpdateErrorAction::TreatAsWithdraw { reason } => {
                write!(f, "treat-as-withdraw: {reason}")
            }
            UpdateErrorAction::SessionReset(notification) => {
                write!(f, "session reset: {notification}")
            }
        }
    }
}

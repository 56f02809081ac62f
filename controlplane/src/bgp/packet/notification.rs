//! NOTIFICATION (RFC 4271 §4.5, §6): error code, subcode, data.
//!
//! The code and its subcode live in one enum, [`ErrorCode`], so a subcode
//! can never be paired with the wrong code. Every subcode enum keeps an
//! `Unknown` case: peers send subcodes from RFCs newer than this file.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::capability::Capability;
use super::consts::{Afi, BGP_VERSION, Safi};

/// Declares a one-octet wire enum with an `Unknown(u8)` fallback.
macro_rules! subcode_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $value:literal => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($variant,)*
            Unknown(u8),
        }

        impl $name {
            pub fn from_wire(value: u8) -> Self {
                match value {
                    $($value => $name::$variant,)*
                    other => $name::Unknown(other),
                }
            }

            pub fn to_wire(self) -> u8 {
                match self {
                    $($name::$variant => $value,)*
                    $name::Unknown(other) => other,
                }
            }

            /// The name the registry gives this subcode.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Unknown(_) => "unknown subcode",
                }
            }
        }
    };
}

subcode_enum!(
    /// Message Header Error subcodes (RFC 4271 §4.5).
    MessageHeaderSubcode {
        Unspecific = 0 => "Unspecific",
        ConnectionNotSynchronized = 1 => "Connection Not Synchronized",
        BadMessageLength = 2 => "Bad Message Length",
        BadMessageType = 3 => "Bad Message Type",
    }
);

subcode_enum!(
    /// OPEN Message Error subcodes (RFC 4271 §4.5, RFC 5492 §5, RFC 9234).
    OpenSubcode {
        Unspecific = 0 => "Unspecific",
        UnsupportedVersionNumber = 1 => "Unsupported Version Number",
        BadPeerAs = 2 => "Bad Peer AS",
        BadBgpIdentifier = 3 => "Bad BGP Identifier",
        UnsupportedOptionalParameter = 4 => "Unsupported Optional Parameter",
        UnacceptableHoldTime = 6 => "Unacceptable Hold Time",
        UnsupportedCapability = 7 => "Unsupported Capability",
        RoleMismatch = 11 => "Role Mismatch",
    }
);

subcode_enum!(
    /// UPDATE Message Error subcodes (RFC 4271 §4.5).
    UpdateSubcode {
        Unspecific = 0 => "Unspecific",
        MalformedAttributeList = 1 => "Malformed Attribute List",
        UnrecognizedWellKnownAttribute = 2 => "Unrecognized Well-known Attribute",
        MissingWellKnownAttribute = 3 => "Missing Well-known Attribute",
        AttributeFlagsError = 4 => "Attribute Flags Error",
        AttributeLengthError = 5 => "Attribute Length Error",
        InvalidOriginAttribute = 6 => "Invalid ORIGIN Attribute",
        InvalidNextHopAttribute = 8 => "Invalid NEXT_HOP Attribute",
        OptionalAttributeError = 9 => "Optional Attribute Error",
        InvalidNetworkField = 10 => "Invalid Network Field",
        MalformedAsPath = 11 => "Malformed AS_PATH",
    }
);

subcode_enum!(
    /// Finite State Machine Error subcodes (RFC 6608 §3).
    FsmSubcode {
        Unspecified = 0 => "Unspecified Error",
        UnexpectedInOpenSent = 1 => "Receive Unexpected Message in OpenSent State",
        UnexpectedInOpenConfirm = 2 => "Receive Unexpected Message in OpenConfirm State",
        UnexpectedInEstablished = 3 => "Receive Unexpected Message in Established State",
    }
);

subcode_enum!(
    /// Cease subcodes (RFC 4486 §4, RFC 8538 §5, RFC 9384).
    CeaseSubcode {
        Unspecific = 0 => "Unspecific",
        MaximumPrefixesReached = 1 => "Maximum Number of Prefixes Reached",
        AdministrativeShutdown = 2 => "Administrative Shutdown",
        PeerDeconfigured = 3 => "Peer De-configured",
        AdministrativeReset = 4 => "Administrative Reset",
        ConnectionRejected = 5 => "Connection Rejected",
        OtherConfigurationChange = 6 => "Other Configuration Change",
        ConnectionCollisionResolution = 7 => "Connection Collision Resolution",
        OutOfResources = 8 => "Out of Resources",
        HardReset = 9 => "Hard Reset",
        BfdDown = 10 => "BFD Down",
    }
);

subcode_enum!(
    /// ROUTE-REFRESH Message Error subcodes (RFC 7313 §5).
    RouteRefreshSubcode {
        Reserved = 0 => "Reserved",
        InvalidMessageLength = 1 => "Invalid Message Length",
    }
);

/// Error code with its subcode (RFC 4271 §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    MessageHeader(MessageHeaderSubcode),
    Open(OpenSubcode),
    Update(UpdateSubcode),
    /// Hold Timer Expired has no subcodes; the octet is kept as sent.
    HoldTimerExpired(u8),
    Fsm(FsmSubcode),
    Cease(CeaseSubcode),
    RouteRefresh(RouteRefreshSubcode),
    Unknown {
        code: u8,
        subcode: u8,
    },
}

impl ErrorCode {
    pub fn from_wire(code: u8, subcode: u8) -> ErrorCode {
        match code {
            1 => ErrorCode::MessageHeader(MessageHeaderSubcode::from_wire(subcode)),
            2 => ErrorCode::Open(OpenSubcode::from_wire(subcode)),
            3 => ErrorCode::Update(UpdateSubcode::from_wire(subcode)),
            4 => ErrorCode::HoldTimerExpired(subcode),
            5 => ErrorCode::Fsm(FsmSubcode::from_wire(subcode)),
            6 => ErrorCode::Cease(CeaseSubcode::from_wire(subcode)),
            7 => ErrorCode::RouteRefresh(RouteRefreshSubcode::from_wire(subcode)),
            code => ErrorCode::Unknown { code, subcode },
        }
    }

    pub fn code(self) -> u8 {
        match self {
            ErrorCode::MessageHeader(_) => 1,
            ErrorCode::Open(_) => 2,
            ErrorCode::Update(_) => 3,
            ErrorCode::HoldTimerExpired(_) => 4,
            ErrorCode::Fsm(_) => 5,
            ErrorCode::Cease(_) => 6,
            ErrorCode::RouteRefresh(_) => 7,
            ErrorCode::Unknown { code, .. } => code,
        }
    }

    pub fn subcode(self) -> u8 {
        match self {
            ErrorCode::MessageHeader(s) => s.to_wire(),
            ErrorCode::Open(s) => s.to_wire(),
            ErrorCode::Update(s) => s.to_wire(),
            ErrorCode::HoldTimerExpired(s) => s,
            ErrorCode::Fsm(s) => s.to_wire(),
            ErrorCode::Cease(s) => s.to_wire(),
            ErrorCode::RouteRefresh(s) => s.to_wire(),
            ErrorCode::Unknown { subcode, .. } => subcode,
        }
    }

    fn names(self) -> (&'static str, &'static str) {
        match self {
            ErrorCode::MessageHeader(s) => ("Message Header Error", s.name()),
            ErrorCode::Open(s) => ("OPEN Message Error", s.name()),
            ErrorCode::Update(s) => ("UPDATE Message Error", s.name()),
            ErrorCode::HoldTimerExpired(_) => ("Hold Timer Expired", ""),
            ErrorCode::Fsm(s) => ("Finite State Machine Error", s.name()),
            ErrorCode::Cease(s) => ("Cease", s.name()),
            ErrorCode::RouteRefresh(s) => ("ROUTE-REFRESH Message Error", s.name()),
            ErrorCode::Unknown { .. } => ("unknown error code", ""),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (code, subcode) = self.names();
        if subcode.is_empty() {
            write!(f, "{code} ({}/{})", self.code(), self.subcode())
        } else {
            write!(f, "{code} / {subcode} ({}/{})", self.code(), self.subcode())
        }
    }
}

/// Longest shutdown communication we send: the RFC 8203 bound, which every
/// receiver accepts (RFC 9003 later allows up to 255 octets; we read those).
pub const MAX_SHUTDOWN_COMMUNICATION_SENT: usize = 128;

/// A NOTIFICATION message body (RFC 4271 §4.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Notification {
    pub error: ErrorCode,
    pub data: Vec<u8>,
}

impl Notification {
    pub fn new(error: ErrorCode, data: Vec<u8>) -> Notification {
        Notification { error, data }
    }

    /// Marker not all ones (RFC 4271 §6.1).
    pub fn connection_not_synchronized() -> Notification {
        Notification::new(
            ErrorCode::MessageHeader(MessageHeaderSubcode::ConnectionNotSynchronized),
            Vec::new(),
        )
    }

    /// Data is the erroneous Length field (RFC 4271 §6.1).
    pub fn bad_message_length(length: u16) -> Notification {
        Notification::new(
            ErrorCode::MessageHeader(MessageHeaderSubcode::BadMessageLength),
            length.to_be_bytes().to_vec(),
        )
    }

    /// Data is the erroneous Type field (RFC 4271 §6.1).
    pub fn bad_message_type(message_type: u8) -> Notification {
        Notification::new(
            ErrorCode::MessageHeader(MessageHeaderSubcode::BadMessageType),
            vec![message_type],
        )
    }

    /// Data is the version we support, as a 2-octet integer (RFC 4271 §6.2).
    pub fn unsupported_version() -> Notification {
        Notification::new(
            ErrorCode::Open(OpenSubcode::UnsupportedVersionNumber),
            u16::from(BGP_VERSION).to_be_bytes().to_vec(),
        )
    }

    pub fn bad_peer_as() -> Notification {
        Notification::new(ErrorCode::Open(OpenSubcode::BadPeerAs), Vec::new())
    }

    pub fn bad_bgp_identifier() -> Notification {
        Notification::new(ErrorCode::Open(OpenSubcode::BadBgpIdentifier), Vec::new())
    }

    pub fn unsupported_optional_parameter() -> Notification {
        Notification::new(
            ErrorCode::Open(OpenSubcode::UnsupportedOptionalParameter),
            Vec::new(),
        )
    }

    pub fn unacceptable_hold_time() -> Notification {
        Notification::new(
            ErrorCode::Open(OpenSubcode::UnacceptableHoldTime),
            Vec::new(),
        )
    }

    /// A recognised optional parameter that is malformed (RFC 4271 §6.2).
    pub fn open_unspecific() -> Notification {
        Notification::new(ErrorCode::Open(OpenSubcode::Unspecific), Vec::new())
    }

    /// Data lists the capabilities we need but the peer lacks, each encoded
    /// as in an OPEN (RFC 5492 §5). Capabilities too long to encode are left out.
    pub fn unsupported_capability(capabilities: &[Capability]) -> Notification {
        let mut data = Vec::new();
        for capability in capabilities {
            let mut one = Vec::new();
            if capability.encode(&mut one).is_ok() {
                data.extend_from_slice(&one);
            }
        }
        Notification::new(ErrorCode::Open(OpenSubcode::UnsupportedCapability), data)
    }

    /// Withdrawn Routes Length or Total Attribute Length too large, or a
    /// repeated MP_REACH_NLRI/MP_UNREACH_NLRI (RFC 4271 §6.3, RFC 7606 §3.g).
    pub fn malformed_attribute_list() -> Notification {
        Notification::new(
            ErrorCode::Update(UpdateSubcode::MalformedAttributeList),
            Vec::new(),
        )
    }

    /// NLRI or Withdrawn Routes syntactically incorrect (RFC 4271 §6.3, RFC 7606 §5.3).
    pub fn invalid_network_field() -> Notification {
        Notification::new(
            ErrorCode::Update(UpdateSubcode::InvalidNetworkField),
            Vec::new(),
        )
    }

    pub fn hold_timer_expired() -> Notification {
        Notification::new(ErrorCode::HoldTimerExpired(0), Vec::new())
    }

    pub fn fsm_error(subcode: FsmSubcode) -> Notification {
        Notification::new(ErrorCode::Fsm(subcode), Vec::new())
    }

    pub fn cease(subcode: CeaseSubcode) -> Notification {
        Notification::new(ErrorCode::Cease(subcode), Vec::new())
    }

    /// Maximum prefixes reached, with the optional AFI/SAFI/limit data
    /// (RFC 4486 §4).
    pub fn maximum_prefixes(afi: Afi, safi: Safi, limit: u32) -> Notification {
        let mut data = Vec::with_capacity(7);
        data.extend_from_slice(&afi.to_wire().to_be_bytes());
        data.push(safi.to_wire());
        data.extend_from_slice(&limit.to_be_bytes());
        Notification::new(ErrorCode::Cease(CeaseSubcode::MaximumPrefixesReached), data)
    }

    /// Administrative Shutdown with a shutdown communication (RFC 8203 §2).
    pub fn administrative_shutdown(message: &str) -> Notification {
        Notification::new(
            ErrorCode::Cease(CeaseSubcode::AdministrativeShutdown),
            shutdown_communication_data(message),
        )
    }

    /// Administrative Reset with a shutdown communication (RFC 8203 §2).
    pub fn administrative_reset(message: &str) -> Notification {
        Notification::new(
            ErrorCode::Cease(CeaseSubcode::AdministrativeReset),
            shutdown_communication_data(message),
        )
    }

    /// Data is the complete offending ROUTE-REFRESH message (RFC 7313 §5).
    pub fn route_refresh_invalid_length(message: &[u8]) -> Notification {
        Notification::new(
            ErrorCode::RouteRefresh(RouteRefreshSubcode::InvalidMessageLength),
            message.to_vec(),
        )
    }

    pub fn code(&self) -> u8 {
        self.error.code()
    }

    pub fn subcode(&self) -> u8 {
        self.error.subcode()
    }

    /// The operator's message carried by an Administrative Shutdown or
    /// Reset (RFC 8203 §2, RFC 9003 §2). `None` when there is none, or when
    /// it is malformed: RFC 8203 §4 says to log that, not to fail.
    pub fn shutdown_communication(&self) -> Option<&str> {
        if !matches!(
            self.error,
            ErrorCode::Cease(
                CeaseSubcode::AdministrativeShutdown | CeaseSubcode::AdministrativeReset
            )
        ) {
            return None;
        }
        let (&length, rest) = self.data.split_first()?;
        let text = rest.get(..usize::from(length))?;
        if text.is_empty() {
            return None;
        }
        std::str::from_utf8(text).ok()
    }

    /// Body after the header: code, subcode, data.
    pub(crate) fn decode(body: &[u8]) -> Option<Notification> {
        let (&code, rest) = body.split_first()?;
        let (&subcode, data) = rest.split_first()?;
        Some(Notification::new(
            ErrorCode::from_wire(code, subcode),
            data.to_vec(),
        ))
    }

    /// Appends code, subcode and at most `max_data` octets of data: a
    /// NOTIFICATION must go out even when the data that explains it is long.
    pub(crate) fn encode_body(&self, max_data: usize, out: &mut Vec<u8>) {
        out.push(self.code());
        out.push(self.subcode());
        let data = self.data.get(..max_data).unwrap_or(&self.data);
        out.extend_from_slice(data);
    }
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)?;
        if let Some(text) = self.shutdown_communication() {
            write!(f, ": \"{}\"", text.escape_debug())
        } else if !self.data.is_empty() {
            write!(f, ", data")?;
            for octet in self.data.iter().take(32) {
                write!(f, " {octet:02x}")?;
            }
            if self.data.len() > 32 {
                write!(f, " … ({} octets)", self.data.len())?;
            }
            Ok(())
        } else {
            Ok(())
        }
    }
}

/// Length octet + UTF-8, cut at a character boundary to the RFC 8203 bound.
fn shutdown_communication_data(message: &str) -> Vec<u8> {
    let mut end = message.len().min(MAX_SHUTDOWN_COMMUNICATION_SENT);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let text = &message.as_bytes()[..end];
    let mut data = Vec::with_capacity(text.len() + 1);
    data.push(text.len() as u8);
    data.extend_from_slice(text);
    data
}

//! The two small wire enums of a BFD Control packet: session state and
//! diagnostic code (RFC 5880 §4.1).

use std::fmt;

/// A session state as carried in the 2-bit State (Sta) field (RFC 5880
/// §4.1, §6.2).
///
/// Unlike the other wire enums this one has no `Unknown` case: the field
/// is two bits wide and RFC 5880 assigns all four values, so no received
/// byte can carry anything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    AdminDown,
    Down,
    Init,
    Up,
}

impl State {
    /// The state in the two low bits of `bits`; the higher bits are ignored.
    pub const fn from_bits(bits: u8) -> Self {
        match bits & 0b11 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }

    pub const fn bits(self) -> u8 {
        match self {
            State::AdminDown => 0,
            State::Down => 1,
            State::Init => 2,
            State::Up => 3,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::AdminDown => "AdminDown",
            State::Down => "Down",
            State::Init => "Init",
            State::Up => "Up",
        })
    }
}

/// The local system's reason for the last change in session state, the
/// 5-bit Diag field (RFC 5880 §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Diagnostic {
    NoDiagnostic,
    ControlDetectionTimeExpired,
    EchoFunctionFailed,
    NeighborSignaledSessionDown,
    ForwardingPlaneReset,
    PathDown,
    ConcatenatedPathDown,
    AdministrativelyDown,
    ReverseConcatenatedPathDown,
    /// 9–31, reserved by RFC 5880 but accepted from peers: a diagnostic is
    /// informational and must not make a packet invalid.
    Unknown(u8),
}

impl From<u8> for Diagnostic {
    fn from(value: u8) -> Self {
        match value {
            0 => Diagnostic::NoDiagnostic,
            1 => Diagnostic::ControlDetectionTimeExpired,
            2 => Diagnostic::EchoFunctionFailed,
            3 => Diagnostic::NeighborSignaledSessionDown,
            4 => Diagnostic::ForwardingPlaneReset,
            5 => Diagnostic::PathDown,
            6 => Diagnostic::ConcatenatedPathDown,
            7 => Diagnostic::AdministrativelyDown,
            8 => Diagnostic::ReverseConcatenatedPathDown,
            other => Diagnostic::Unknown(other),
        }
    }
}

impl From<Diagnostic> for u8 {
    fn from(diag: Diagnostic) -> u8 {
        match diag {
            Diagnostic::NoDiagnostic => 0,
            Diagnostic::ControlDetectionTimeExpired => 1,
            Diagnostic::EchoFunctionFailed => 2,
            Diagnostic::NeighborSignaledSessionDown => 3,
            Diagnostic::ForwardingPlaneReset => 4,
            Diagnostic::PathDown => 5,
            Diagnostic::ConcatenatedPathDown => 6,
            Diagnostic::AdministrativelyDown => 7,
            Diagnostic::ReverseConcatenatedPathDown => 8,
            Diagnostic::Unknown(other) => other,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Diagnostic::NoDiagnostic => f.write_str("none"),
            Diagnostic::ControlDetectionTimeExpired => {
                f.write_str("control detection time expired")
            }
            Diagnostic::EchoFunctionFailed => f.write_str("echo function failed"),
            Diagnostic::NeighborSignaledSessionDown => {
                f.write_str("neighbor signaled session down")
            }
            Diagnostic::ForwardingPlaneReset => f.write_str("forwarding plane reset"),
            Diagnostic::PathDown => f.write_str("path down"),
            Diagnostic::ConcatenatedPathDown => f.write_str("concatenated path down"),
            Diagnostic::AdministrativelyDown => f.write_str("administratively down"),
            Diagnostic::ReverseConcatenatedPathDown => {
                f.write_str("reverse concatenated path down")
            }
            Diagnostic::Unknown(code) => write!(f, "unknown diagnostic {code}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_bits_round_trip_and_ignore_high_bits() {
        for bits in 0..4u8 {
            assert_eq!(State::from_bits(bits).bits(), bits);
            assert_eq!(State::from_bits(bits | 0xfc), State::from_bits(bits));
        }
    }

    #[test]
    fn diagnostic_codes_round_trip_including_reserved() {
        for code in 0..32u8 {
            let diag = Diagnostic::from(code);
            assert_eq!(u8::from(diag), code);
            assert_eq!(matches!(diag, Diagnostic::Unknown(_)), code > 8, "{code}");
        }
    }
}

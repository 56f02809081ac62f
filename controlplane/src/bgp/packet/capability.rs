//! Capabilities advertised in OPEN (RFC 5492), each as a typed value;
//! everything we do not interpret is kept verbatim.

use serde::{Deserialize, Serialize};

use super::consts::{Afi, Safi, capability_code};
use super::error::EncodeError;
use super::reader::Reader;

/// One capability TLV.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Capability {
    /// Multiprotocol extensions for one AFI/SAFI (RFC 4760 §8).
    Multiprotocol { afi: Afi, safi: Safi },
    /// Route refresh (RFC 2918 §2).
    RouteRefresh,
    /// Enhanced route refresh, BoRR/EoRR (RFC 7313 §3.1).
    EnhancedRouteRefresh,
    /// Messages up to 65535 octets (RFC 8654 §3).
    ExtendedMessage,
    /// Four-octet AS numbers; carries the speaker's real AS (RFC 6793 §3).
    FourOctetAs { asn: u32 },
    /// Graceful restart (RFC 4724 §3).
    GracefulRestart(GracefulRestart),
    /// ADD-PATH (RFC 7911 §4); parsed so it can be logged, never negotiated.
    AddPath(Vec<AddPathFamily>),
    /// Any other capability (FQDN, long-lived GR, …), value as received.
    Unknown { code: u8, value: Vec<u8> },
}

/// Graceful restart capability value (RFC 4724 §3).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GracefulRestart {
    /// R bit: the sender has restarted; do not wait for its End-of-RIB.
    pub restart_state: bool,
    /// N bit: the sender supports graceful NOTIFICATION (RFC 8538 §2).
    pub notification: bool,
    /// Seconds until the session should be back; 12 bits on the wire.
    pub restart_time: u16,
    pub families: Vec<GracefulRestartFamily>,
}

/// Per-AFI/SAFI graceful restart entry (RFC 4724 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GracefulRestartFamily {
    pub afi: Afi,
    pub safi: Safi,
    /// F bit: forwarding state was preserved across the restart.
    pub forwarding_preserved: bool,
}

/// Per-AFI/SAFI ADD-PATH entry (RFC 7911 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AddPathFamily {
    pub afi: Afi,
    pub safi: Safi,
    pub mode: AddPathMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AddPathMode {
    Receive,
    Send,
    Both,
    Unknown(u8),
}

impl AddPathMode {
    fn from_wire(value: u8) -> AddPathMode {
        match value {
            1 => AddPathMode::Receive,
            2 => AddPathMode::Send,
            3 => AddPathMode::Both,
            other => AddPathMode::Unknown(other),
        }
    }

    fn to_wire(self) -> u8 {
        match self {
            AddPathMode::Receive => 1,
            AddPathMode::Send => 2,
            AddPathMode::Both => 3,
            AddPathMode::Unknown(other) => other,
        }
    }
}

const GR_RESTART_STATE: u16 = 0x8000;
const GR_NOTIFICATION: u16 = 0x4000;
const GR_TIME_MASK: u16 = 0x0fff;
const GR_FORWARDING: u8 = 0x80;

/// A recognised capability whose value has the wrong shape; the OPEN is
/// malformed (RFC 4271 §6.2: subcode Unspecific).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapabilityError {
    pub code: u8,
    pub length: usize,
}

impl Capability {
    pub fn code(&self) -> u8 {
        match self {
            Capability::Multiprotocol { .. } => capability_code::MULTIPROTOCOL,
            Capability::RouteRefresh => capability_code::ROUTE_REFRESH,
            Capability::EnhancedRouteRefresh => capability_code::ENHANCED_ROUTE_REFRESH,
            Capability::ExtendedMessage => capability_code::EXTENDED_MESSAGE,
            Capability::FourOctetAs { .. } => capability_code::FOUR_OCTET_AS,
            Capability::GracefulRestart(_) => capability_code::GRACEFUL_RESTART,
            Capability::AddPath(_) => capability_code::ADD_PATH,
            Capability::Unknown { code, .. } => *code,
        }
    }

    /// Interprets one capability value.
    pub fn decode(code: u8, value: &[u8]) -> Result<Capability, CapabilityError> {
        let malformed = CapabilityError {
            code,
            length: value.len(),
        };
        let mut reader = Reader::new(value);
        let capability = match code {
            capability_code::MULTIPROTOCOL => {
                let (Some(afi), Some(_reserved), Some(safi), true) =
                    (reader.u16(), reader.u8(), reader.u8(), value.len() == 4)
                else {
                    return Err(malformed);
                };
                Capability::Multiprotocol {
                    afi: Afi::from_wire(afi),
                    safi: Safi::from_wire(safi),
                }
            }
            capability_code::ROUTE_REFRESH if value.is_empty() => Capability::RouteRefresh,
            capability_code::ENHANCED_ROUTE_REFRESH if value.is_empty() => {
                Capability::EnhancedRouteRefresh
            }
            capability_code::EXTENDED_MESSAGE if value.is_empty() => Capability::ExtendedMessage,
            capability_code::FOUR_OCTET_AS if value.len() == 4 => Capability::FourOctetAs {
                asn: reader.u32().ok_or(malformed)?,
            },
            capability_code::GRACEFUL_RESTART
                if value.len() >= 2 && (value.len() - 2).is_multiple_of(4) =>
            {
                let flags_time = reader.u16().ok_or(malformed)?;
                let mut families = Vec::with_capacity((value.len() - 2) / 4);
                while !reader.is_empty() {
                    let (Some(afi), Some(safi), Some(flags)) =
                        (reader.u16(), reader.u8(), reader.u8())
                    else {
                        return Err(malformed);
                    };
                    families.push(GracefulRestartFamily {
                        afi: Afi::from_wire(afi),
                        safi: Safi::from_wire(safi),
                        forwarding_preserved: flags & GR_FORWARDING != 0,
                    });
                }
                Capability::GracefulRestart(GracefulRestart {
                    restart_state: flags_time & GR_RESTART_STATE != 0,
                    notification: flags_time & GR_NOTIFICATION != 0,
                    restart_time: flags_time & GR_TIME_MASK,
                    families,
                })
            }
            capability_code::ADD_PATH if value.len().is_multiple_of(4) => {
                let mut families = Vec::with_capacity(value.len() / 4);
                while !reader.is_empty() {
                    let (Some(afi), Some(safi), Some(mode)) =
                        (reader.u16(), reader.u8(), reader.u8())
                    else {
                        return Err(malformed);
                    };
                    families.push(AddPathFamily {
                        afi: Afi::from_wire(afi),
                        safi: Safi::from_wire(safi),
                        mode: AddPathMode::from_wire(mode),
                    });
                }
                Capability::AddPath(families)
            }
            capability_code::ROUTE_REFRESH
            | capability_code::ENHANCED_ROUTE_REFRESH
            | capability_code::EXTENDED_MESSAGE
            | capability_code::FOUR_OCTET_AS
            | capability_code::GRACEFUL_RESTART
            | capability_code::ADD_PATH => return Err(malformed),
            _ => Capability::Unknown {
                code,
                value: value.to_vec(),
            },
        };
        Ok(capability)
    }

    /// Appends code, length and value.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let mut value = Vec::new();
        match self {
            Capability::Multiprotocol { afi, safi } => {
                value.extend_from_slice(&afi.to_wire().to_be_bytes());
                value.push(0);
                value.push(safi.to_wire());
            }
            Capability::RouteRefresh
            | Capability::EnhancedRouteRefresh
            | Capability::ExtendedMessage => {}
            Capability::FourOctetAs { asn } => value.extend_from_slice(&asn.to_be_bytes()),
            Capability::GracefulRestart(gr) => {
                let mut flags_time = gr.restart_time.min(GR_TIME_MASK);
                if gr.restart_state {
                    flags_time |= GR_RESTART_STATE;
                }
                if gr.notification {
                    flags_time |= GR_NOTIFICATION;
                }
                value.extend_from_slice(&flags_time.to_be_bytes());
                for family in &gr.families {
                    value.extend_from_slice(&family.afi.to_wire().to_be_bytes());
                    value.push(family.safi.to_wire());
                    value.push(if family.forwarding_preserved {
                        GR_FORWARDING
                    } else {
                        0
                    });
                }
            }
            Capability::AddPath(families) => {
                for family in families {
                    value.extend_from_slice(&family.afi.to_wire().to_be_bytes());
                    value.push(family.safi.to_wire());
                    value.push(family.mode.to_wire());
                }
            }
            Capability::Unknown { value: raw, .. } => value.extend_from_slice(raw),
        }
        let length = u8::try_from(value.len()).map_err(|_| EncodeError::FieldTooLong {
            field: "capability value",
            len: value.len(),
            max: usize::from(u8::MAX),
        })?;
        out.push(self.code());
        out.push(length);
        out.extend_from_slice(&value);
        Ok(())
    }
}

/// Parses the value of one Capabilities optional parameter: a run of
/// capability TLVs (RFC 5492 §4).
pub(crate) fn decode_capabilities(
    value: &[u8],
    out: &mut Vec<Capability>,
) -> Result<(), CapabilityError> {
    let mut reader = Reader::new(value);
    while !reader.is_empty() {
        let code = reader.u8().ok_or(CapabilityError { code: 0, length: 0 })?;
        let length = reader.u8().ok_or(CapabilityError { code, length: 0 })?;
        let body = reader.take(usize::from(length)).ok_or(CapabilityError {
            code,
            length: usize::from(length),
        })?;
        out.push(Capability::decode(code, body)?);
    }
    Ok(())
}

//! OPEN (RFC 4271 §4.2, §6.2) with Capabilities (RFC 5492) and the
//! extended optional-parameters length (RFC 9072).

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::capability::{Capability, GracefulRestart, decode_capabilities};
use super::consts::{AS_TRANS, Afi, BGP_VERSION, Safi, param_type};
use super::error::{EncodeError, MessageError};
use super::notification::Notification;
use super::reader::Reader;

/// An OPEN message body. The version is always 4: anything else is
/// refused when decoding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Open {
    /// The two-octet "My Autonomous System" field; AS_TRANS when the
    /// speaker's AS needs four octets (RFC 6793 §4.2.1).
    pub my_as: u16,
    /// Seconds; 0 or at least 3 (RFC 4271 §4.2).
    pub hold_time: u16,
    pub bgp_id: Ipv4Addr,
    /// In the order received; several Capabilities parameters are flattened.
    pub capabilities: Vec<Capability>,
}

impl Open {
    /// An OPEN for `asn`, putting AS_TRANS in the two-octet field when
    /// needed. The caller supplies every capability, including FourOctetAs.
    pub fn new(asn: u32, hold_time: u16, bgp_id: Ipv4Addr, capabilities: Vec<Capability>) -> Open {
        Open {
            my_as: u16::try_from(asn).unwrap_or(AS_TRANS),
            hold_time,
            bgp_id,
            capabilities,
        }
    }

    /// The AS from the four-octet AS capability, if advertised (RFC 6793 §3).
    pub fn four_octet_as(&self) -> Option<u32> {
        self.capabilities.iter().find_map(|c| match c {
            Capability::FourOctetAs { asn } => Some(*asn),
            _ => None,
        })
    }

    /// The peer's AS: the capability's when present, else My AS (RFC 6793 §4.1).
    pub fn asn(&self) -> u32 {
        self.four_octet_as().unwrap_or(u32::from(self.my_as))
    }

    /// AFI/SAFI pairs of the Multiprotocol capabilities (RFC 4760 §8).
    pub fn multiprotocol(&self) -> impl Iterator<Item = (Afi, Safi)> + '_ {
        self.capabilities.iter().filter_map(|c| match c {
            Capability::Multiprotocol { afi, safi } => Some((*afi, *safi)),
            _ => None,
        })
    }

    /// The last Graceful Restart capability: RFC 4724 §3 says to ignore
    /// all earlier instances.
    pub fn graceful_restart(&self) -> Option<&GracefulRestart> {
        self.capabilities.iter().rev().find_map(|c| match c {
            Capability::GracefulRestart(gr) => Some(gr),
            _ => None,
        })
    }

    pub fn has_capability(&self, code: u8) -> bool {
        self.capabilities.iter().any(|c| c.code() == code)
    }

    /// Parses the body after the header, enforcing RFC 4271 §6.2. Whether
    /// the peer's AS is acceptable and whether its identifier collides with
    /// ours is for the speaker to decide.
    pub fn decode(body: &[u8]) -> Result<Open, MessageError> {
        let mut reader = Reader::new(body);
        let too_short = || {
            MessageError::new(
                Notification::bad_message_length(
                    body.len().saturating_add(19).try_into().unwrap_or(u16::MAX),
                ),
                "OPEN shorter than its fixed fields",
            )
        };
        let version = reader.u8().ok_or_else(too_short)?;
        let my_as = reader.u16().ok_or_else(too_short)?;
        let hold_time = reader.u16().ok_or_else(too_short)?;
        let bgp_id = reader.ipv4().ok_or_else(too_short)?;
        let opt_len = reader.u8().ok_or_else(too_short)?;
        if version != BGP_VERSION {
            return Err(MessageError::new(
                Notification::unsupported_version(),
                format!("peer speaks BGP version {version}, we speak only 4"),
            ));
        }
        if hold_time == 1 || hold_time == 2 {
            return Err(MessageError::new(
                Notification::unacceptable_hold_time(),
                format!("hold time {hold_time}s: must be 0 or at least 3 (RFC 4271 §4.2)"),
            ));
        }
        // RFC 6286 §2.1: any nonzero 32-bit value; uniqueness is the speaker's check.
        if bgp_id.is_unspecified() {
            return Err(MessageError::new(
                Notification::bad_bgp_identifier(),
                "BGP identifier 0.0.0.0",
            ));
        }
        let malformed = |what: &str| {
            MessageError::new(
                Notification::open_unspecific(),
                format!("OPEN optional parameters malformed: {what}"),
            )
        };
        // RFC 9072 §2: Non-Ext OP Len 255 followed by Non-Ext OP Type 255
        // announces a 2-octet total length and 2-octet parameter lengths.
        let extended =
            opt_len == 255 && reader.rest().first() == Some(&param_type::EXTENDED_LENGTH);
        let params = if extended {
            reader.u8();
            let total = reader
                .u16()
                .ok_or_else(|| malformed("extended length truncated"))?;
            reader.take(usize::from(total))
        } else {
            reader.take(usize::from(opt_len))
        }
        .ok_or_else(|| malformed("parameters run past the end of the message"))?;
        if !reader.is_empty() {
            return Err(malformed("bytes after the optional parameters"));
        }
        let mut params = Reader::new(params);
        let mut capabilities = Vec::new();
        while !params.is_empty() {
            let kind = params
                .u8()
                .ok_or_else(|| malformed("parameter type missing"))?;
            let length = if extended {
                params.u16()
            } else {
                params.u8().map(u16::from)
            }
            .ok_or_else(|| malformed("parameter length truncated"))?;
            let value = params
                .take(usize::from(length))
                .ok_or_else(|| malformed("parameter runs past the optional parameters"))?;
            if kind != param_type::CAPABILITIES {
                return Err(MessageError::new(
                    Notification::unsupported_optional_parameter(),
                    format!(
                        "OPEN optional parameter type {kind} is not supported (only Capabilities, 2)"
                    ),
                ));
            }
            decode_capabilities(value, &mut capabilities).map_err(|e| {
                malformed(&format!(
                    "capability {} with {} value octets",
                    e.code, e.length
                ))
            })?;
        }
        Ok(Open {
            my_as,
            hold_time,
            bgp_id,
            capabilities,
        })
    }

    /// Appends the body after the header. Each capability goes in its own
    /// Capabilities parameter, as FRR and Cisco send them; the RFC 9072
    /// extended format is used only when the classic one cannot hold them.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let mut caps = Vec::with_capacity(self.capabilities.len());
        for capability in &self.capabilities {
            let mut tlv = Vec::new();
            capability.encode(&mut tlv)?;
            caps.push(tlv);
        }
        let classic_len: usize = caps.iter().map(|tlv| 2 + tlv.len()).sum();
        let extended = classic_len > 255 || caps.iter().any(|tlv| tlv.len() > 255);
        out.push(BGP_VERSION);
        out.extend_from_slice(&self.my_as.to_be_bytes());
        out.extend_from_slice(&self.hold_time.to_be_bytes());
        out.extend_from_slice(&self.bgp_id.octets());
        if extended {
            let total: usize = caps.iter().map(|tlv| 3 + tlv.len()).sum();
            let total = u16::try_from(total).map_err(|_| EncodeError::FieldTooLong {
                field: "OPEN optional parameters",
                len: total,
                max: usize::from(u16::MAX),
            })?;
            out.push(255);
            out.push(param_type::EXTENDED_LENGTH);
            out.extend_from_slice(&total.to_be_bytes());
            for tlv in &caps {
                out.push(param_type::CAPABILITIES);
                // Each TLV is at most 257 octets (1-octet capability length).
                out.extend_from_slice(&(tlv.len() as u16).to_be_bytes());
                out.extend_from_slice(tlv);
            }
        } else {
            out.push(classic_len as u8);
            for tlv in &caps {
                out.push(param_type::CAPABILITIES);
                out.push(tlv.len() as u8);
                out.extend_from_slice(tlv);
            }
        }
        Ok(())
    }
}

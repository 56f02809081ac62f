//! UPDATE (RFC 4271 §4.3) and its error handling (RFC 7606).
//!
//! Decoding never fails outright: it returns what it could parse together
//! with the RFC 7606 approach the damage calls for, so the speaker can
//! withdraw (treat-as-withdraw), carry on (attribute discard) or end the
//! session (session reset) — the last one only where the NLRI cannot be
//! located reliably or the RFCs insist on it.

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use super::attribute::{Attr, AttrFlags, PathAttributes, encode_attr};
use super::consts::{Afi, Safi, attr_type};
use super::error::{AttrError, AttrErrorKind, EncodeError, UpdateErrorAction};
use super::message::DecodeContext;
use super::mp::{MpReach, MpUnreach};
use super::notification::Notification;
use super::prefix;
use super::reader::Reader;

/// An UPDATE message body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Update {
    /// IPv4 unicast prefixes withdrawn in the classic field.
    pub withdrawn: Vec<Ipv4Net>,
    pub attrs: PathAttributes,
    /// IPv4 unicast prefixes announced in the classic field.
    pub nlri: Vec<Ipv4Net>,
    pub mp_reach: Option<MpReach>,
    pub mp_unreach: Option<MpUnreach>,
}

/// RFC 7606 approach for one error, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Approach {
    AttributeDiscard,
    TreatAsWithdraw,
    SessionReset,
}

/// Which approach an attribute error calls for (RFC 7606 §3, §7; RFC
/// 6793 §6; RFC 4271 §6.3 where RFC 7606 leaves it unchanged).
fn approach(type_code: u8, kind: AttrErrorKind) -> Approach {
    use attr_type::*;
    match (type_code, kind) {
        // Not revised by RFC 7606.
        (_, AttrErrorKind::UnrecognizedWellKnown) => Approach::SessionReset,
        // RFC 7606 §7.5, §7.9, §7.10; RFC 6793 §4.1.
        (_, AttrErrorKind::FromExternalPeer | AttrErrorKind::As4BetweenNewSpeakers) => {
            Approach::AttributeDiscard
        }
        // RFC 7606 §3.g: repeated MP attributes reset, other repeats are dropped.
        (MP_REACH_NLRI | MP_UNREACH_NLRI, _) => Approach::SessionReset,
        (_, AttrErrorKind::Duplicate) => Approach::AttributeDiscard,
        // RFC 7606 §3.f, §7.6, §7.7; RFC 6793 §6.
        (ATOMIC_AGGREGATE | AGGREGATOR | AS4_PATH | AS4_AGGREGATOR, _) => {
            Approach::AttributeDiscard
        }
        // RFC 7606 §3.c-e, §4, §7.1-7.5, §7.8-7.10, §7.14-7.15; RFC 8092 §6.
        _ => Approach::TreatAsWithdraw,
    }
}

/// Collects errors and keeps the strongest approach (RFC 7606 §3.h).
#[derive(Default)]
struct Verdict {
    discarded: Vec<AttrError>,
    withdraw: Option<AttrError>,
}

impl Verdict {
    /// Records an error; returns the reset action when it calls for one.
    fn record(&mut self, error: AttrError) -> Option<UpdateErrorAction> {
        match approach(error.type_code, error.kind) {
            Approach::AttributeDiscard => self.discarded.push(error),
            Approach::TreatAsWithdraw => {
                self.withdraw.get_or_insert(error);
            }
            Approach::SessionReset => {
                let notification = match error.kind {
                    AttrErrorKind::Duplicate => Notification::malformed_attribute_list(),
                    _ => error.notification(),
                };
                return Some(UpdateErrorAction::SessionReset(notification));
            }
        }
        None
    }
}

impl Update {
    /// The End-of-RIB marker for a family (RFC 4724 §2): an empty UPDATE
    /// for IPv4 unicast, an empty MP_UNREACH_NLRI otherwise.
    pub fn end_of_rib(afi: Afi, safi: Safi) -> Update {
        if (afi, safi) == (Afi::Ipv4, Safi::Unicast) {
            Update::default()
        } else {
            Update {
                mp_unreach: Some(MpUnreach::end_of_rib(afi, safi)),
                ..Update::default()
            }
        }
    }

    /// The family this UPDATE marks the End-of-RIB for, if it is one.
    pub fn as_end_of_rib(&self) -> Option<(Afi, Safi)> {
        if !self.withdrawn.is_empty()
            || !self.nlri.is_empty()
            || self.mp_reach.is_some()
            || !self.attrs.is_empty()
        {
            return None;
        }
        match &self.mp_unreach {
            None => Some((Afi::Ipv4, Safi::Unicast)),
            Some(unreach) if unreach.withdrawn.is_empty() => Some((unreach.afi, unreach.safi)),
            Some(_) => None,
        }
    }

    /// Whether any prefix is announced, classic or MP (RFC 7606 §5.2).
    pub fn has_reachable_nlri(&self) -> bool {
        !self.nlri.is_empty() || self.mp_reach.as_ref().is_some_and(|r| !r.nlri.is_empty())
    }

    /// Decodes an UPDATE body (after the header). Returns what was parsed
    /// and, when something was wrong, the RFC 7606 approach to take. With
    /// `SessionReset` the `Update` is partial and must not be used.
    pub fn decode(body: &[u8], ctx: &DecodeContext) -> (Update, Option<UpdateErrorAction>) {
        let mut update = Update::default();
        let action = update.decode_into(body, ctx);
        (update, action)
    }

    fn decode_into(&mut self, body: &[u8], ctx: &DecodeContext) -> Option<UpdateErrorAction> {
        let reset = |notification| Some(UpdateErrorAction::SessionReset(notification));
        let mut reader = Reader::new(body);
        // RFC 4271 §6.3, RFC 7606 §3.b: lengths that overrun the message.
        let Some(withdrawn) = reader.u16().and_then(|len| reader.take(usize::from(len))) else {
            return reset(Notification::malformed_attribute_list());
        };
        let Some(attrs) = reader.u16().and_then(|len| reader.take(usize::from(len))) else {
            return reset(Notification::malformed_attribute_list());
        };
        // RFC 7606 §5.1: the NLRI is whatever follows the attributes, however
        // broken the attributes are.
        let nlri = reader.rest();
        // RFC 7606 §3.i, §5.3: unparsable prefixes leave nothing to withdraw.
        match prefix::decode_ipv4(withdrawn) {
            Ok(prefixes) => self.withdrawn = prefixes,
            Err(_) => return reset(Notification::invalid_network_field()),
        }
        match prefix::decode_ipv4(nlri) {
            Ok(prefixes) => self.nlri = prefixes,
            Err(_) => return reset(Notification::invalid_network_field()),
        }

        let mut verdict = Verdict::default();
        let mut seen = [false; 256];
        let mut reader = Reader::new(attrs);
        while !reader.is_empty() {
            let start = reader.rest();
            let flags = reader.u8().map(AttrFlags);
            let type_code = reader.u8();
            let length = match flags {
                Some(flags) if flags.extended_length() => reader.u16(),
                _ => reader.u8().map(u16::from),
            };
            let (Some(flags), Some(type_code), Some(value)) = (
                flags,
                type_code,
                length.and_then(|len| reader.take(usize::from(len))),
            ) else {
                // RFC 7606 §4: too few octets for a header, or a value past
                // the Total Path Attribute Length. Nothing after it can be
                // read; the NLRI is still located by that total.
                let type_code = start.get(1).copied().unwrap_or(0);
                let error = AttrError::new(type_code, AttrErrorKind::Overrun, start);
                return verdict.record(error).or_else(|| self.finish(verdict));
            };
            let raw = start
                .get(..start.len() - reader.remaining())
                .unwrap_or(start);
            let type_index = usize::from(type_code);
            if seen[type_index] {
                let error = AttrError::new(type_code, AttrErrorKind::Duplicate, raw);
                if let Some(action) = verdict.record(error) {
                    return Some(action);
                }
                continue;
            }
            seen[type_index] = true;
            match Attr::decode(flags, type_code, value, ctx) {
                Ok(attr) => match self.attrs.insert(attr, flags.partial()) {
                    Some(Attr::MpReach(reach)) => self.mp_reach = Some(reach),
                    Some(Attr::MpUnreach(unreach)) => self.mp_unreach = Some(unreach),
                    _ => {}
                },
                // RFC 4760 §3: without classic NLRI a NEXT_HOP is to be
                // ignored, so a broken one must not withdraw MP routes.
                Err(kind) if type_code == attr_type::NEXT_HOP && self.nlri.is_empty() => {
                    verdict.discarded.push(AttrError::new(type_code, kind, raw));
                }
                Err(kind) => {
                    if let Some(action) = verdict.record(AttrError::new(type_code, kind, raw)) {
                        return Some(action);
                    }
                }
            }
        }
        self.finish(verdict)
    }

    /// Checks for missing mandatory attributes and turns the collected
    /// errors into one action.
    fn finish(&self, mut verdict: Verdict) -> Option<UpdateErrorAction> {
        if self.has_reachable_nlri() {
            // RFC 7606 §3.d; NEXT_HOP only for classic NLRI (RFC 4760 §3).
            let missing = [
                (attr_type::ORIGIN, self.attrs.origin.is_none()),
                (attr_type::AS_PATH, self.attrs.as_path.is_none()),
                (
                    attr_type::NEXT_HOP,
                    !self.nlri.is_empty() && self.attrs.next_hop.is_none(),
                ),
            ];
            for (type_code, is_missing) in missing {
                if is_missing && verdict.withdraw.is_none() {
                    verdict.withdraw = Some(AttrError::new(
                        type_code,
                        AttrErrorKind::Missing,
                        &[type_code],
                    ));
                }
            }
        }
        if let Some(reason) = verdict.withdraw {
            // RFC 7606 §5.2: attributes but no reachable NLRI — we cannot
            // be sure the NLRI was found, so withdrawing is not safe.
            if !self.has_reachable_nlri() {
                return Some(UpdateErrorAction::SessionReset(reason.notification()));
            }
            return Some(UpdateErrorAction::TreatAsWithdraw { reason });
        }
        if !verdict.discarded.is_empty() {
            return Some(UpdateErrorAction::AttributeDiscard {
                discarded: verdict.discarded,
            });
        }
        None
    }

    /// Appends the body (after the header).
    pub(crate) fn encode_body(
        &self,
        ctx: &DecodeContext,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        let withdrawn_at = out.len();
        out.extend_from_slice(&[0, 0]);
        for p in &self.withdrawn {
            prefix::encode_ipv4(p, out);
        }
        patch_length(out, withdrawn_at, "withdrawn routes")?;
        let attrs_at = out.len();
        out.extend_from_slice(&[0, 0]);
        let mut value = Vec::new();
        if let Some(reach) = &self.mp_reach {
            reach.encode(&mut value)?;
            encode_attr(AttrFlags::OPTIONAL, attr_type::MP_REACH_NLRI, &value, out)?;
        }
        if let Some(unreach) = &self.mp_unreach {
            value.clear();
            unreach.encode(&mut value);
            encode_attr(AttrFlags::OPTIONAL, attr_type::MP_UNREACH_NLRI, &value, out)?;
        }
        self.attrs.encode(ctx, out)?;
        patch_length(out, attrs_at, "path attributes")?;
        for p in &self.nlri {
            prefix::encode_ipv4(p, out);
        }
        Ok(())
    }
}

/// Fills the 2-octet length placeholder at `at` with what follows it.
fn patch_length(out: &mut [u8], at: usize, field: &'static str) -> Result<(), EncodeError> {
    let len = out.len() - at - 2;
    let len16 = u16::try_from(len).map_err(|_| EncodeError::FieldTooLong {
        field,
        len,
        max: usize::from(u16::MAX),
    })?;
    out[at..at + 2].copy_from_slice(&len16.to_be_bytes());
    Ok(())
}

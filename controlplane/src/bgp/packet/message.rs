//! A whole BGP message: header plus one of the five bodies, decoded from
//! and encoded to the bytes of one message.

use serde::{Deserialize, Serialize};

use super::consts::{
    HEADER_LEN, KEEPALIVE_LEN, MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN, MIN_NOTIFICATION_LEN,
    MIN_OPEN_LEN, MIN_UPDATE_LEN, ROUTE_REFRESH_LEN, message_type,
};
use super::error::{EncodeError, MessageError, MessageHeaderError, UpdateErrorAction};
use super::header::Header;
use super::notification::Notification;
use super::open::Open;
use super::route_refresh::{RouteRefresh, RouteRefreshSubtype};
use super::update::Update;

/// What the session negotiated that changes how bytes are read and
/// written. All `false` (the default) is a fresh session before OPEN.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DecodeContext {
    /// Both sides sent the four-octet AS capability: AS_PATH and
    /// AGGREGATOR carry four-octet ASes (RFC 6793 §4.1).
    pub four_octet_as: bool,
    /// Both sides sent the Extended Message capability: UPDATE,
    /// NOTIFICATION and ROUTE-REFRESH may be up to 65535 octets (RFC 8654 §4).
    pub extended_messages: bool,
    /// The peer is in our AS: LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST
    /// are accepted rather than discarded (RFC 7606 §7.5, §7.9, §7.10).
    pub ibgp: bool,
}

impl DecodeContext {
    /// Largest message of any type on this session; what `frame` needs.
    pub fn max_message_len(&self) -> usize {
        if self.extended_messages {
            MAX_EXTENDED_MESSAGE_LEN
        } else {
            MAX_MESSAGE_LEN
        }
    }

    /// Largest message of one type: OPEN and KEEPALIVE never grow (RFC 8654 §4).
    fn max_len_for(&self, message_type: u8) -> usize {
        match message_type {
            message_type::OPEN | message_type::KEEPALIVE => MAX_MESSAGE_LEN,
            _ => self.max_message_len(),
        }
    }
}

// Most messages on a busy session are UPDATEs: boxing them would add an
// allocation to the common case to shrink the rare ones.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    Open(Open),
    Update(Update),
    Notification(Notification),
    Keepalive,
    RouteRefresh(RouteRefresh),
}

/// A decoded message. An UPDATE comes with the RFC 7606 action its
/// errors call for; that action is never `SessionReset` here — a reset is
/// returned as `Err(MessageError)` like every other fatal error.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodedMessage {
    Open(Open),
    Update {
        update: Update,
        action: Option<UpdateErrorAction>,
    },
    Notification(Notification),
    Keepalive,
    RouteRefresh(RouteRefresh),
}

impl DecodedMessage {
    pub fn into_message(self) -> Message {
        match self {
            DecodedMessage::Open(open) => Message::Open(open),
            DecodedMessage::Update { update, .. } => Message::Update(update),
            DecodedMessage::Notification(notification) => Message::Notification(notification),
            DecodedMessage::Keepalive => Message::Keepalive,
            DecodedMessage::RouteRefresh(refresh) => Message::RouteRefresh(refresh),
        }
    }
}

impl Message {
    pub fn message_type(&self) -> u8 {
        match self {
            Message::Open(_) => message_type::OPEN,
            Message::Update(_) => message_type::UPDATE,
            Message::Notification(_) => message_type::NOTIFICATION,
            Message::Keepalive => message_type::KEEPALIVE,
            Message::RouteRefresh(_) => message_type::ROUTE_REFRESH,
        }
    }

    /// Decodes exactly one message, header included (cut it with `frame`).
    /// `Err` means the session must end with the NOTIFICATION it carries.
    pub fn decode(buf: &[u8], ctx: &DecodeContext) -> Result<DecodedMessage, MessageError> {
        let header = Header::decode(buf, ctx.max_message_len())?;
        let length = usize::from(header.length);
        let bad_length = MessageHeaderError::BadLength {
            length: header.length,
        };
        if length != buf.len() {
            return Err(MessageError::new(
                bad_length.notification(),
                format!(
                    "header says {length} octets but the message has {}",
                    buf.len()
                ),
            ));
        }
        let body = buf.get(HEADER_LEN..).unwrap_or_default();
        // RFC 4271 §6.1: per-type length bounds.
        let length_ok = match header.message_type {
            message_type::OPEN => length >= MIN_OPEN_LEN,
            message_type::UPDATE => length >= MIN_UPDATE_LEN,
            message_type::NOTIFICATION => length >= MIN_NOTIFICATION_LEN,
            message_type::KEEPALIVE => length == KEEPALIVE_LEN,
            message_type::ROUTE_REFRESH => length >= ROUTE_REFRESH_LEN,
            other => {
                return Err(MessageHeaderError::BadType {
                    message_type: other,
                }
                .into());
            }
        } && length <= ctx.max_len_for(header.message_type);
        if !length_ok {
            return Err(bad_length.into());
        }
        match header.message_type {
            message_type::OPEN => Open::decode(body).map(DecodedMessage::Open),
            message_type::UPDATE => match Update::decode(body, ctx) {
                (_, Some(UpdateErrorAction::SessionReset(notification))) => Err(MessageError::new(
                    notification,
                    "UPDATE malformed beyond what RFC 7606 lets the session survive",
                )),
                (update, action) => Ok(DecodedMessage::Update { update, action }),
            },
            message_type::NOTIFICATION => Notification::decode(body)
                .map(DecodedMessage::Notification)
                .ok_or_else(|| bad_length.into()),
            message_type::KEEPALIVE => Ok(DecodedMessage::Keepalive),
            _ => {
                let fixed: [u8; 4] = body
                    .get(..4)
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| MessageError::from(bad_length))?;
                let refresh = RouteRefresh::decode(fixed);
                // RFC 7313 §5: BoRR/EoRR must be exactly 4 octets. Trailing
                // octets of a normal request are ORF entries (RFC 5291),
                // which we do not negotiate and ignore.
                let demarcation = matches!(
                    refresh.subtype,
                    RouteRefreshSubtype::BeginOfRefresh | RouteRefreshSubtype::EndOfRefresh
                );
                if demarcation && body.len() != 4 {
                    return Err(MessageError::new(
                        Notification::route_refresh_invalid_length(buf),
                        format!("ROUTE-REFRESH BoRR/EoRR of {length} octets, must be 23"),
                    ));
                }
                Ok(DecodedMessage::RouteRefresh(refresh))
            }
        }
    }

    /// Appends the whole message, header included. Nothing is appended on
    /// error. A NOTIFICATION's data is cut to fit rather than failing: it
    /// must go out (RFC 8654 §5).
    pub fn encode(&self, ctx: &DecodeContext, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        let max = ctx.max_len_for(self.message_type());
        Header::encode(0, self.message_type(), out);
        let body = match self {
            Message::Open(open) => open.encode(out),
            Message::Update(update) => update.encode_body(ctx, out),
            Message::Notification(notification) => {
                notification.encode_body(max - MIN_NOTIFICATION_LEN, out);
                Ok(())
            }
            Message::Keepalive => Ok(()),
            Message::RouteRefresh(refresh) => {
                refresh.encode_body(out);
                Ok(())
            }
        };
        let len = out.len() - start;
        let result = match body {
            Ok(()) if len > max => Err(EncodeError::TooLong { len, max }),
            other => other,
        };
        match result {
            Ok(()) => {
                let len16 = (len as u16).to_be_bytes();
                out[start + 16..start + 18].copy_from_slice(&len16);
                Ok(())
            }
            Err(error) => {
                out.truncate(start);
                Err(error)
            }
        }
    }

    /// Convenience: the encoded message in a new buffer.
    pub fn to_bytes(&self, ctx: &DecodeContext) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode(ctx, &mut out)?;
        Ok(out)
    }
}

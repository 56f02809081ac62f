//! BGP-4 wire format: every message the speaker exchanges, decoded into
//! typed values and encoded back, with RFC 4271 §6 and RFC 7606 error
//! handling. Nothing here panics on received bytes.
//!
//! The TCP adapter cuts the stream with [`frame`], then [`Message::decode`]
//! each message under the session's [`DecodeContext`]. An `Err` carries the
//! NOTIFICATION to send before closing; an UPDATE may come with an
//! [`UpdateErrorAction`] (treat-as-withdraw or attribute discard) the
//! speaker applies. Outgoing routes go through [`UpdateBuilder`], which
//! packs prefixes into as few messages as the session allows.

mod as_path;
mod attribute;
mod capability;
mod consts;
mod error;
mod header;
mod message;
mod mp;
mod notification;
mod open;
mod prefix;
mod reader;
mod route_refresh;
mod update;
mod update_builder;

pub use as_path::{AsPath, AsSegment, SegmentType};
pub use attribute::{
    Aggregator, Attr, AttrFlags, Community, LargeCommunity, Origin, PartialFlags, PathAttributes,
    UnknownAttr,
};
pub use capability::{
    AddPathFamily, AddPathMode, Capability, CapabilityError, GracefulRestart, GracefulRestartFamily,
};
pub use consts::{
    AS_TRANS, Afi, BGP_VERSION, HEADER_LEN, MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN, Safi,
    attr_type, capability_code, message_type,
};
pub use error::{
    AttrError, AttrErrorKind, EncodeError, MessageError, MessageHeaderError, UpdateErrorAction,
};
pub use header::{Header, frame};
pub use message::{DecodeContext, DecodedMessage, Message};
pub use mp::{MpNextHop, MpPrefixes, MpReach, MpUnreach};
pub use notification::{
    CeaseSubcode, ErrorCode, FsmSubcode, MessageHeaderSubcode, Notification, OpenSubcode,
    RouteRefreshSubcode, UpdateSubcode,
};
pub use open::Open;
pub use route_refresh::{RouteRefresh, RouteRefreshSubtype};
pub use update::Update;
pub use update_builder::UpdateBuilder;

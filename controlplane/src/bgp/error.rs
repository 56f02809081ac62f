//! Why a BGP configuration is refused.
//!
//! Wire errors live in `packet::error` (they carry the NOTIFICATION to
//! send); this is the operator's side: what is wrong, where, what to do.

use std::fmt;
use std::net::IpAddr;

/// A configuration the instance cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The neighbor the problem is about; `None` for instance settings.
    pub neighbor: Option<IpAddr>,
    pub message: String,
}

impl ConfigError {
    pub fn instance(message: impl Into<String>) -> ConfigError {
        ConfigError {
            neighbor: None,
            message: message.into(),
        }
    }

    pub fn neighbor(address: IpAddr, message: impl Into<String>) -> ConfigError {
        ConfigError {
            neighbor: Some(address),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.neighbor {
            Some(address) => write!(f, "bgp neighbor {address}: {}", self.message),
            None => write!(f, "bgp: {}", self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

//! Starts what the configuration asks for to look inside the router: the
//! management socket (always) and `/metrics` (when `[metrics] listen` is
//! set). Both are bound before the dataplane starts, so a bad address
//! stops the start before any port is taken over.

use std::sync::Arc;

use super::server::{ManagementServer, ServerError};
use super::state::RouterState;
use crate::config::Config;
use crate::metrics::MetricsServer;

/// The running servers; both stop when this is dropped.
pub struct Services {
    pub management: Option<ManagementServer>,
    pub metrics: Option<MetricsServer>,
}

/// Starts the servers for `config` over `state`.
///
/// A management socket that another live process answers on is logged and
/// skipped rather than fatal: routers in different network namespaces
/// share one filesystem, and one of them holding the default path must
/// not stop the others from routing. Every other failure is an error.
pub fn start(config: &Config, state: &Arc<RouterState>) -> Result<Services, String> {
    let path = &config.management.socket;
    let management = match ManagementServer::start(path, Arc::clone(state)) {
        Ok(server) => {
            tracing::info!(socket = %path.display(), "management API listening");
            Some(server)
        }
        Err(e @ ServerError::InUse(_)) => {
            tracing::error!("management API off: {e}");
            None
        }
        Err(e) => return Err(format!("management API: {e}")),
    };
    let metrics = match config.metrics.listen {
        None => None,
        Some(listen) => {
            let server = MetricsServer::start(listen, Arc::clone(state))
                .map_err(|e| format!("metrics: cannot listen on {listen}: {e}"))?;
            tracing::info!(listen = %server.local_addr(), "metrics served at /metrics");
            Some(server)
        }
    };
    Ok(Services {
        management,
        metrics,
    })
}

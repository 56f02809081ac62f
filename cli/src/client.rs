//! Talking to vrouterd: one request line out, one reply line back, over
//! the management socket.

use std::fmt;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use router::mgmt::api::{self, ApiError, Request};
use serde_json::Value;

/// How long vrctl waits for the daemon's answer.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// A reply longer than this is refused (a full table is a few MB at most).
const MAX_REPLY_BYTES: u64 = 256 * 1024 * 1024;

/// Why vrctl got no answer.
#[derive(Debug)]
pub enum ClientError {
    /// No daemon: no socket file, or nobody listening on it.
    NotRunning { socket: PathBuf, why: &'static str },
    /// Anything else on the way: permissions, a broken connection, a reply
    /// that does not parse.
    Failed(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotRunning { socket, why } => write!(
                f,
                "vrouterd is not running ({why} {}): start it or pass -s",
                socket.display()
            ),
            Self::Failed(e) => f.write_str(e),
        }
    }
}

/// Sends `request` and returns the daemon's answer (`ok`) or its error.
pub fn ask(socket: &Path, request: &Request) -> Result<Result<Value, ApiError>, ClientError> {
    let stream = UnixStream::connect(socket).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => ClientError::NotRunning {
            socket: socket.to_owned(),
            why: "no socket at",
        },
        io::ErrorKind::ConnectionRefused => ClientError::NotRunning {
            socket: socket.to_owned(),
            why: "nothing listens on",
        },
        io::ErrorKind::PermissionDenied => ClientError::Failed(format!(
            "permission denied on {}: run as root or as a member of the socket's group",
            socket.display()
        )),
        _ => ClientError::Failed(format!("cannot connect to {}: {e}", socket.display())),
    })?;
    let failed = |what: &str, e: io::Error| ClientError::Failed(format!("{what}: {e}"));
    stream
        .set_read_timeout(Some(REPLY_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(REPLY_TIMEOUT)))
        .map_err(|e| failed("setting up the connection", e))?;
    let mut line = api::encode_request(request);
    line.push('\n');
    (&stream)
        .write_all(line.as_bytes())
        .map_err(|e| failed("sending the request", e))?;
    let mut reply = String::new();
    let read = BufReader::new(io::Read::take(&stream, MAX_REPLY_BYTES))
        .read_line(&mut reply)
        .map_err(|e| failed("reading the reply", e))?;
    if read == 0 {
        return Err(ClientError::Failed(
            "vrouterd closed the connection without answering".into(),
        ));
    }
    api::decode_reply::<Value>(&reply).map_err(|e| ClientError::Failed(e.to_string()))
}

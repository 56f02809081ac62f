//! The management API server: a Unix socket speaking NDJSON (`api.rs`).
//!
//! Its own threads, not the control loop: one accept loop and one
//! thread per client, at most [`MAX_CLIENTS`] at once (more are told
//! `busy` and closed). Blocking reads with timeouts keep each client's
//! code a plain read-line/answer loop, and a slow or dead client only ever
//! holds its own thread — the control loop and the dataplane never wait
//! for it: a request holds the FIB lock for the microseconds a lookup
//! takes, and the dataplane reads nothing from here.
//!
//! Limits: a request line is at most [`api::MAX_REQUEST_BYTES`]; a request
//! must arrive whole within [`REQUEST_DEADLINE`] of its first byte; an idle
//! client is closed after [`IDLE_LIMIT`]; a reply that cannot be written
//! within [`WRITE_TIMEOUT`] closes the connection.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::api::{self, ApiError, ErrorCode, Outcome};
use super::state::RouterState;

/// Clients served at once.
pub const MAX_CLIENTS: usize = 16;
/// A client that sends nothing for this long is closed.
pub const IDLE_LIMIT: Duration = Duration::from_secs(60);
/// A request line must be complete this long after its first byte.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(10);
/// A reply the client does not read within this long closes it.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a waiting client thread looks at the clock and the stop flag.
const READ_TICK: Duration = Duration::from_millis(250);
/// How often the idle accept loop looks for a connection and the stop
/// flag. The listener is non-blocking so that stopping never depends on
/// reaching the socket by its path (which may have been removed).
const ACCEPT_TICK: Duration = Duration::from_millis(20);
/// Socket permissions: the daemon's user and group may connect (unix(7):
/// connecting needs write permission on the socket file).
pub const SOCKET_MODE: u32 = 0o660;

/// Why the server did not start.
#[derive(Debug)]
pub enum ServerError {
    /// Another live process answers on the socket (another vrouterd?).
    InUse(PathBuf),
    /// The path exists and is not a socket: never removed.
    NotASocket(PathBuf),
    Io(String),
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InUse(p) => write!(
                f,
                "another process already answers on {} (another vrouterd?): set a different [management] socket",
                p.display()
            ),
            Self::NotASocket(p) => write!(
                f,
                "{} exists and is not a socket: remove it or set a different [management] socket",
                p.display()
            ),
            Self::Io(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for ServerError {}

/// The running server; stops (and removes its socket) on drop.
pub struct ManagementServer {
    path: PathBuf,
    /// Inode of the socket we created: the file is only removed at stop if
    /// it is still ours.
    inode: u64,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl ManagementServer {
    /// Creates the socket at `path` (mode 0660) and serves `state` on it.
    pub fn start(path: &Path, state: Arc<RouterState>) -> Result<Self, ServerError> {
        let listener = bind(path)?;
        listener
            .set_nonblocking(true)
            .map_err(|e| ServerError::Io(format!("{}: {e}", path.display())))?;
        let inode = std::fs::metadata(path)
            .map_err(|e| ServerError::Io(format!("{}: {e}", path.display())))?
            .ino();
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        let accept = std::thread::Builder::new()
            .name("vr-mgmt".into())
            .spawn(move || accept_loop(&listener, &state, &thread_stop))
            .map_err(|e| ServerError::Io(format!("starting the management thread: {e}")))?;
        Ok(Self {
            path: path.to_owned(),
            inode,
            stop,
            accept: Some(accept),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ManagementServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        if std::fs::metadata(&self.path).is_ok_and(|m| m.ino() == self.inode) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Binds the socket: a stale file (nobody listening) is replaced, a live
/// one or a non-socket is left alone. The socket is made under a temporary
/// name, given its mode, then renamed into place, so it is never
/// reachable with the umask's wider mode.
fn bind(path: &Path) -> Result<UnixListener, ServerError> {
    let io = |what: &str, e: io::Error| ServerError::Io(format!("{what} {}: {e}", path.display()));
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_socket() => {
            return Err(ServerError::NotASocket(path.to_owned()));
        }
        Ok(_) => match UnixStream::connect(path) {
            Ok(_) => return Err(ServerError::InUse(path.to_owned())),
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                tracing::info!(path = %path.display(), "removing a stale management socket");
                std::fs::remove_file(path).map_err(|e| io("removing the stale socket", e))?;
            }
            Err(e) => return Err(io("probing the existing socket", e)),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io("looking at", e)),
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    let listener = UnixListener::bind(&temporary).map_err(|e| io("creating", e))?;
    let placed = std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(SOCKET_MODE))
        .and_then(|()| std::fs::rename(&temporary, path));
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&temporary);
        return Err(io("creating", e));
    }
    Ok(listener)
}

fn accept_loop(listener: &UnixListener, state: &Arc<RouterState>, stop: &Arc<AtomicBool>) {
    let clients = Arc::new(AtomicUsize::new(0));
    while !stop.load(Ordering::Relaxed) {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(ACCEPT_TICK);
                continue;
            }
            Err(e) => {
                // Out of descriptors and the like: do not spin on it.
                tracing::warn!(error = %e, "management API: accept failed");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        if stream.set_nonblocking(false).is_err() {
            continue;
        }
        if clients.fetch_add(1, Ordering::AcqRel) >= MAX_CLIENTS {
            clients.fetch_sub(1, Ordering::AcqRel);
            refuse_busy(stream);
            continue;
        }
        let state = Arc::clone(state);
        let stop = Arc::clone(stop);
        let count = Arc::clone(&clients);
        let spawned = std::thread::Builder::new()
            .name("vr-mgmt-client".into())
            .spawn(move || {
                serve_client(stream, &state, &stop);
                count.fetch_sub(1, Ordering::AcqRel);
            });
        if let Err(e) = spawned {
            clients.fetch_sub(1, Ordering::AcqRel);
            tracing::warn!(error = %e, "management API: cannot start a client thread");
        }
    }
}

fn refuse_busy(mut stream: UnixStream) {
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let reply = api::encode_response(Outcome::Error(ApiError::new(
        ErrorCode::Busy,
        format!("{MAX_CLIENTS} clients are connected already; try again"),
    )));
    let _ = stream.write_all(format!("{reply}\n").as_bytes());
}

/// Reads request lines and answers each, until the client closes, idles
/// out, sends something unreadable as a line, or the server stops.
fn serve_client(stream: UnixStream, state: &RouterState, stop: &AtomicBool) {
    if stream.set_read_timeout(Some(READ_TICK)).is_err()
        || stream.set_write_timeout(Some(WRITE_TIMEOUT)).is_err()
    {
        return;
    }
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        match read_line(&mut reader, &mut line, stop) {
            LineRead::Line => {}
            LineRead::Closed => return,
            LineRead::TooLong => {
                let error = ApiError::new(
                    ErrorCode::LineTooLong,
                    format!(
                        "request longer than {} bytes; closing the connection",
                        api::MAX_REQUEST_BYTES
                    ),
                );
                let _ = send(&mut writer, Outcome::Error(error));
                return;
            }
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let outcome = match api::decode_request(text).and_then(|r| state.answer(&r)) {
            Ok(value) => Outcome::Ok(value),
            Err(e) => {
                tracing::debug!(code = %e.code, message = %e.message, "management API: request refused");
                Outcome::Error(e)
            }
        };
        if send(&mut writer, outcome).is_err() {
            return;
        }
    }
}

fn send(writer: &mut UnixStream, outcome: Outcome) -> io::Result<()> {
    let mut reply = api::encode_response(outcome);
    reply.push('\n');
    writer.write_all(reply.as_bytes())?;
    writer.flush()
}

enum LineRead {
    /// `line` holds one request (newline not included, or the last bytes
    /// before the client closed).
    Line,
    Closed,
    TooLong,
}

/// Reads one line of at most `MAX_REQUEST_BYTES` into `line`, waiting in
/// ticks so the deadlines and the stop flag are checked.
fn read_line(
    reader: &mut BufReader<UnixStream>,
    line: &mut Vec<u8>,
    stop: &AtomicBool,
) -> LineRead {
    line.clear();
    let waiting_since = Instant::now();
    let mut first_byte: Option<Instant> = None;
    loop {
        if stop.load(Ordering::Relaxed) {
            return LineRead::Closed;
        }
        // One byte more than a line may hold, to tell "too long" apart.
        let room = (api::MAX_REQUEST_BYTES + 1).saturating_sub(line.len());
        let before = line.len();
        let result = reader.by_ref().take(room as u64).read_until(b'\n', line);
        if line.len() > before && first_byte.is_none() {
            first_byte = Some(Instant::now());
        }
        match result {
            Ok(0) if line.is_empty() => return LineRead::Closed,
            Ok(_) if line.last() == Some(&b'\n') => {
                line.pop();
                return LineRead::Line;
            }
            Ok(_) if line.len() > api::MAX_REQUEST_BYTES => return LineRead::TooLong,
            // The client closed after a last line without a newline.
            Ok(0) => return LineRead::Line,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(_) => return LineRead::Closed,
        }
        let late = match first_byte {
            Some(at) => at.elapsed() > REQUEST_DEADLINE,
            None => waiting_since.elapsed() > IDLE_LIMIT,
        };
        if late {
            return LineRead::Closed;
        }
    }
}

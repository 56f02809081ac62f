//! A minimal HTTP/1.1 responder for `GET /metrics` (RFC 9112 message
//! syntax): one accept thread, one short-lived thread per scrape, at most
//! [`MAX_SCRAPES`] at once, every reply `Connection: close`. Prometheus
//! scrapes a few times a minute; nothing here needs more.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::mgmt::RouterState;

/// Scrapes served at once; more get 503.
pub const MAX_SCRAPES: usize = 4;
/// Longest request head read (request line and headers).
pub const MAX_HEAD_BYTES: usize = 8 * 1024;
/// The whole request head must arrive within this.
pub const HEAD_DEADLINE: Duration = Duration::from_secs(5);
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the idle accept loop looks for a scrape and the stop flag
/// (non-blocking, so stopping needs no connection to ourselves).
const ACCEPT_TICK: Duration = Duration::from_millis(20);
/// The OpenMetrics 1.0 text format's media type, which Prometheus accepts.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The running responder; stops on drop.
pub struct MetricsServer {
    local: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Listens on `listen` and serves `state`'s metrics.
    pub fn start(listen: SocketAddr, state: Arc<RouterState>) -> io::Result<Self> {
        let listener = TcpListener::bind(listen)?;
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        let accept = std::thread::Builder::new()
            .name("vr-metrics".into())
            .spawn(move || accept_loop(&listener, &state, &thread_stop))?;
        Ok(Self {
            local,
            stop,
            accept: Some(accept),
        })
    }

    /// The bound address (the real port when 0 was asked for, in tests).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, state: &Arc<RouterState>, stop: &Arc<AtomicBool>) {
    let active = Arc::new(AtomicUsize::new(0));
    while !stop.load(Ordering::Relaxed) {
        let mut stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(ACCEPT_TICK);
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics: accept failed");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        if stream.set_nonblocking(false).is_err() {
            continue;
        }
        let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
        if active.fetch_add(1, Ordering::AcqRel) >= MAX_SCRAPES {
            active.fetch_sub(1, Ordering::AcqRel);
            let _ = respond(
                &mut stream,
                "503 Service Unavailable",
                "text/plain",
                b"busy\n",
            );
            continue;
        }
        let state = Arc::clone(state);
        let count = Arc::clone(&active);
        let spawned = std::thread::Builder::new()
            .name("vr-metrics-scrape".into())
            .spawn(move || {
                serve(stream, &state);
                count.fetch_sub(1, Ordering::AcqRel);
            });
        if spawned.is_err() {
            active.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// What a request head asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Wanted {
    Metrics,
    NotFound,
    MethodNotAllowed,
    BadRequest,
}

/// Reads the request line of `head` (RFC 9112 §3: `method SP target SP
/// version`). The query string is ignored, as Prometheus adds none.
pub fn route(head: &[u8]) -> Wanted {
    let Some(line) = head.split(|&b| b == b'\n').next() else {
        return Wanted::BadRequest;
    };
    let line = String::from_utf8_lossy(line);
    let mut parts = line.trim_end_matches('\r').split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Wanted::BadRequest;
    };
    if !version.starts_with("HTTP/1.") {
        return Wanted::BadRequest;
    }
    let path = target.split('?').next().unwrap_or_default();
    match (method, path) {
        ("GET", "/metrics") => Wanted::Metrics,
        (_, "/metrics") => Wanted::MethodNotAllowed,
        _ => Wanted::NotFound,
    }
}

fn serve(mut stream: TcpStream, state: &Arc<RouterState>) {
    let Some(head) = read_head(&mut stream) else {
        let _ = respond(
            &mut stream,
            "400 Bad Request",
            "text/plain",
            b"bad request\n",
        );
        return;
    };
    let _ = match route(&head) {
        Wanted::Metrics => match super::collector::render(state) {
            Ok(body) => respond(&mut stream, "200 OK", CONTENT_TYPE, body.as_bytes()),
            Err(_) => respond(
                &mut stream,
                "500 Internal Server Error",
                "text/plain",
                b"cannot encode the metrics\n",
            ),
        },
        Wanted::NotFound => respond(
            &mut stream,
            "404 Not Found",
            "text/plain",
            b"vrouterd serves GET /metrics only\n",
        ),
        Wanted::MethodNotAllowed => respond(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain",
            b"use GET\n",
        ),
        Wanted::BadRequest => respond(
            &mut stream,
            "400 Bad Request",
            "text/plain",
            b"bad request\n",
        ),
    };
}

/// The request head, up to the blank line; `None` if it is too long, too
/// slow, or the client went away.
fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let started = Instant::now();
    stream.set_read_timeout(Some(HEAD_DEADLINE)).ok()?;
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        if head.len() > MAX_HEAD_BYTES || started.elapsed() > HEAD_DEADLINE {
            return None;
        }
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(buf.get(..n)?);
    }
    Some(head)
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_route() {
        assert_eq!(
            route(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Wanted::Metrics
        );
        assert_eq!(route(b"GET /metrics?x=1 HTTP/1.0\r\n\r\n"), Wanted::Metrics);
        assert_eq!(
            route(b"POST /metrics HTTP/1.1\r\n\r\n"),
            Wanted::MethodNotAllowed
        );
        assert_eq!(route(b"GET / HTTP/1.1\r\n\r\n"), Wanted::NotFound);
        assert_eq!(route(b"GET /metrics\r\n\r\n"), Wanted::BadRequest);
        assert_eq!(route(b"GET /metrics SPDY/3\r\n\r\n"), Wanted::BadRequest);
        assert_eq!(route(b"\xff\xfe"), Wanted::BadRequest);
        assert_eq!(route(b""), Wanted::BadRequest);
    }
}

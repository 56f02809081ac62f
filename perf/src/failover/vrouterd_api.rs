//! Asking a running vrouterd for its BFD sessions over its management
//! socket (what `vrctl show bfd --json` prints), without needing vrctl.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use router::mgmt::api::{Request, Show, decode_reply, encode_request};
use serde_json::Value;

/// The `sessions` array of `show bfd`.
pub fn bfd_sessions(socket: &Path) -> Result<Vec<Value>, String> {
    let reply = ask(socket, &Request::Show(Show::Bfd { peer: None }))?;
    Ok(reply["sessions"].as_array().cloned().unwrap_or_default())
}

fn ask(socket: &Path, request: &Request) -> Result<Value, String> {
    let stream = UnixStream::connect(socket)
        .map_err(|e| format!("cannot connect to vrouterd at {}: {e}", socket.display()))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
    writer
        .write_all(format!("{}\n", encode_request(request)).as_bytes())
        .map_err(|e| format!("writing to {}: {e}", socket.display()))?;
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .map_err(|e| format!("reading from {}: {e}", socket.display()))?;
    decode_reply::<Value>(&line)
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("vrouterd refused: {e:?}"))
}

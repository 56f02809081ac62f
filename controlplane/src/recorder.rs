//! Record every stimulus a protocol receives as JSON lines; replay them.
//!
//! A line is `{"t_ns":…,"protocol":"…","input":…}`. Because protocols are
//! deterministic in (inputs, now), a recording taken in production replays
//! to the very same actions on a laptop: attach it to a bug report, turn it
//! into a regression test. Timer expiries are recorded as inputs, so replay
//! needs no timer wheel — time simply jumps from line to line.

use std::fmt;
use std::io::{self, BufRead, Write};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::clock::Nanos;
use crate::protocol::{Action, Actions, Protocol, Stimulus, deliver};

/// Writes one JSON line per stimulus.
pub struct Recorder<W: Write> {
    out: W,
    /// Reused so a steady stream of records does not allocate per line.
    line: Vec<u8>,
}

#[derive(Serialize)]
struct RecordRef<'a, S> {
    t_ns: Nanos,
    protocol: &'a str,
    input: &'a S,
}

/// One line of a recording, read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record<E, C> {
    pub t_ns: Nanos,
    pub protocol: String,
    pub input: Stimulus<E, C>,
}

impl<W: Write> Recorder<W> {
    pub fn new(out: W) -> Self {
        Recorder {
            out,
            line: Vec::new(),
        }
    }

    /// Appends one line. The line is written with a single `write_all`, so
    /// concurrent readers of a log file never see half a record.
    pub fn record<E: Serialize, C: Serialize>(
        &mut self,
        t_ns: Nanos,
        protocol: &str,
        stimulus: &Stimulus<E, C>,
    ) -> io::Result<()> {
        self.line.clear();
        serde_json::to_writer(
            &mut self.line,
            &RecordRef {
                t_ns,
                protocol,
                input: stimulus,
            },
        )?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn get_ref(&self) -> &W {
        &self.out
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> fmt::Debug for Recorder<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder").finish_non_exhaustive()
    }
}

/// Why a recording could not be replayed.
#[derive(Debug)]
pub enum ReplayError {
    Io(io::Error),
    /// Line `line` (1-based) is not a record of this protocol's types.
    Parse {
        line: usize,
        error: serde_json::Error,
    },
    /// Line `line` goes back in time; protocols are promised monotonic `now`.
    TimeWentBack {
        line: usize,
        t_ns: Nanos,
        previous: Nanos,
    },
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Io(error) => write!(f, "reading recording: {error}"),
            ReplayError::Parse { line, error } => write!(f, "recording line {line}: {error}"),
            ReplayError::TimeWentBack {
                line,
                t_ns,
                previous,
            } => {
                write!(
                    f,
                    "recording line {line}: t_ns {t_ns} is before the previous {previous}"
                )
            }
        }
    }
}

impl std::error::Error for ReplayError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReplayError::Io(error) => Some(error),
            ReplayError::Parse { error, .. } => Some(error),
            ReplayError::TimeWentBack { .. } => None,
        }
    }
}

/// A line split into its envelope, the input still untyped: a recording
/// may interleave protocols whose event types differ.
#[derive(Deserialize)]
struct Envelope {
    t_ns: Nanos,
    protocol: String,
    input: serde_json::Value,
}

/// Envelopes with their 1-based line numbers, blank lines skipped.
fn envelopes(lines: impl BufRead) -> impl Iterator<Item = Result<(usize, Envelope), ReplayError>> {
    lines.lines().enumerate().filter_map(|(index, line)| {
        let line_number = index + 1;
        match line {
            Err(error) => Some(Err(ReplayError::Io(error))),
            Ok(text) if text.trim().is_empty() => None,
            Ok(text) => Some(
                serde_json::from_str(&text)
                    .map(|envelope| (line_number, envelope))
                    .map_err(|error| ReplayError::Parse {
                        line: line_number,
                        error,
                    }),
            ),
        }
    })
}

fn parse_input<E: DeserializeOwned, C: DeserializeOwned>(
    line: usize,
    input: serde_json::Value,
) -> Result<Stimulus<E, C>, ReplayError> {
    serde_json::from_value(input).map_err(|error| ReplayError::Parse { line, error })
}

/// Reads a recording of one protocol type, skipping blank lines.
pub fn read_records<E: DeserializeOwned, C: DeserializeOwned>(
    lines: impl BufRead,
) -> impl Iterator<Item = Result<Record<E, C>, ReplayError>> {
    envelopes(lines).map(|envelope| {
        let (
            line,
            Envelope {
                t_ns,
                protocol,
                input,
            },
        ) = envelope?;
        Ok(Record {
            t_ns,
            protocol,
            input: parse_input(line, input)?,
        })
    })
}

/// Feeds `protocol` the records addressed to it (by [`Protocol::name`]), at
/// their recorded times, and returns every action it took, in order.
///
/// Records of other protocols are skipped without parsing their inputs, so
/// one recording of the whole control plane replays any of its protocols.
pub fn replay<P: Protocol + ?Sized>(
    lines: impl BufRead,
    protocol: &mut P,
) -> Result<Vec<Action<P::Notification>>, ReplayError> {
    let mut out = Actions::new();
    let mut taken = Vec::new();
    let mut previous = 0;
    for envelope in envelopes(lines) {
        let (line, envelope) = envelope?;
        if envelope.protocol != protocol.name() {
            continue;
        }
        if envelope.t_ns < previous {
            return Err(ReplayError::TimeWentBack {
                line,
                t_ns: envelope.t_ns,
                previous,
            });
        }
        previous = envelope.t_ns;
        let stimulus = parse_input::<P::Event, P::Config>(line, envelope.input)?;
        deliver(protocol, envelope.t_ns, stimulus, &mut out);
        taken.extend(out.drain());
    }
    Ok(taken)
}

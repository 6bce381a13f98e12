//! A minimal Lambda Runtime API (the 2018-06-01 interface a custom runtime polls), enough to run
//! a function's real binary as Lambda does: `GET …/invocation/next` hands out one event at a time,
//! `POST …/response|error` takes the answer. "Ready" is the function's first `next` request.
//!
//! Plain blocking sockets and threads: the timestamps are taken as the bytes arrive, with no
//! executor between the socket and the clock.

use serde_json::Value;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const PREFIX: &str = "/2018-06-01/runtime";

/// What the function did, as the runtime API saw it.
#[derive(Debug)]
enum Signal {
    /// A `next` request: the function waits for an event.
    Ready(Instant),
    Response(Instant, Vec<u8>),
    Error(Instant, Vec<u8>),
}

/// One function process with its own runtime API.
pub struct Function {
    pub name: String,
    child: Child,
    events: Sender<Value>,
    signals: Receiver<Signal>,
    /// exec → the first `next` request.
    pub init: Duration,
    seq: u64,
}

/// One invocation's answer and how long it took (event handed out → answer received).
pub struct Invocation {
    pub body: Value,
    pub duration: Duration,
    pub error: bool,
}

pub struct Options<'a> {
    pub name: &'a str,
    pub memory_mb: u32,
    pub env: &'a [(String, String)],
    /// Append what the function writes (its CloudWatch log) to this file; otherwise discard it.
    pub log_file: Option<&'a std::path::Path>,
    pub ready_timeout: Duration,
}

impl Function {
    /// Starts `command` as the function `name` and waits until it asks for its first event.
    pub fn start(command: &[String], opts: &Options) -> io::Result<Function> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let (events_tx, events_rx) = mpsc::channel::<Value>();
        let (signals_tx, signals_rx) = mpsc::channel();
        let events_rx = Arc::new(Mutex::new(events_rx));
        let name = opts.name.to_owned();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (events, signals, name) = (events_rx.clone(), signals_tx.clone(), name.clone());
                thread::spawn(move || serve(stream, &events, &signals, &name));
            }
        });

        let mut cmd = Command::new(&command[0]);
        cmd.args(&command[1..])
            .envs(opts.env.iter().map(|(k, v)| (k, v)))
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", opts.name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", opts.memory_mb.to_string())
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", opts.name))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/28/[$LATEST]bench")
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .stdin(Stdio::null());
        match opts.log_file {
            Some(path) => {
                let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
                cmd.stdout(file.try_clone()?).stderr(file);
            }
            None => {
                cmd.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        let started = Instant::now();
        let mut child = cmd.spawn()?;
        let deadline = started + opts.ready_timeout;
        loop {
            match signals_rx.recv_timeout(Duration::from_millis(20)) {
                Ok(Signal::Ready(at)) => {
                    return Ok(Function {
                        name: opts.name.to_owned(),
                        child,
                        events: events_tx,
                        signals: signals_rx,
                        init: at - started,
                        seq: 0,
                    });
                }
                Ok(other) => return Err(fail(&mut child, &format!("{}: {other:?} before any event", opts.name))),
                Err(RecvTimeoutError::Timeout) => {
                    if let Some(status) = child.try_wait()? {
                        return Err(io::Error::other(format!("{} exited during init: {status}", opts.name)));
                    }
                    if Instant::now() > deadline {
                        return Err(fail(
                            &mut child,
                            &format!("{} not ready in {:?}", opts.name, opts.ready_timeout),
                        ));
                    }
                }
                Err(RecvTimeoutError::Disconnected) => unreachable!("the server thread holds a sender"),
            }
        }
    }

    /// Hands the function one event and waits for its answer.
    pub fn invoke(&mut self, event: Value, timeout: Duration) -> io::Result<Invocation> {
        self.seq += 1;
        let sent = Instant::now();
        self.events
            .send(event)
            .map_err(|_| io::Error::other("the runtime API is gone"))?;
        loop {
            let signal = self.signals.recv_timeout(timeout).map_err(|_| {
                io::Error::other(format!(
                    "{}: no answer to invocation {} in {timeout:?}",
                    self.name, self.seq
                ))
            })?;
            let (at, body, error) = match signal {
                Signal::Ready(_) => continue,
                Signal::Response(at, body) => (at, body, false),
                Signal::Error(at, body) => (at, body, true),
            };
            let body =
                serde_json::from_slice(&body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
            return Ok(Invocation {
                body,
                duration: at - sent,
                error,
            });
        }
    }

    /// The process's peak resident memory so far (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fail(child: &mut Child, why: &str) -> io::Error {
    let _ = child.kill();
    let _ = child.wait();
    io::Error::other(why.to_owned())
}

/// One keep-alive connection of the runtime client.
fn serve(stream: TcpStream, events: &Mutex<Receiver<Value>>, signals: &Sender<Signal>, name: &str) {
    let _ = stream.set_nodelay(true);
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    let mut id = 0u64;
    while let Some((method, path, body)) = read_request(&mut reader) {
        let now = Instant::now();
        if method == "GET" && path == format!("{PREFIX}/invocation/next") {
            let _ = signals.send(Signal::Ready(now));
            let Ok(event) = events.lock().map_err(drop).and_then(|rx| rx.recv().map_err(drop)) else {
                return;
            };
            id += 1;
            let body = event.to_string();
            let deadline = chrono::Utc::now().timestamp_millis() + 60_000;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: bench-{id:08}\r\n\
                 Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:eu-central-1:123456789012:function:{name}\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000;Sampled=0\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            if writer
                .write_all(head.as_bytes())
                .and_then(|_| writer.write_all(body.as_bytes()))
                .is_err()
            {
                return;
            }
            continue;
        }
        let signal = if path.ends_with("/response") {
            Some(Signal::Response(now, body))
        } else if path.ends_with("/error") {
            Some(Signal::Error(now, body))
        } else {
            None
        };
        let status = if signal.is_some() {
            "202 Accepted"
        } else {
            "404 Not Found"
        };
        let reply = format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{{}}");
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
        if let Some(signal) = signal {
            let _ = signals.send(signal);
        }
    }
}

/// An HTTP/1.1 request: method, path, body (Content-Length or chunked). `None` at EOF or garbage.
pub(crate) fn read_request(reader: &mut impl BufRead) -> Option<(String, String, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let (mut length, mut chunked) = (0usize, false);
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (key, value) = header.split_once(':')?;
        match key.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "transfer-encoding" => chunked = value.trim().eq_ignore_ascii_case("chunked"),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line).ok()?;
            let size = usize::from_str_radix(line.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body).ok()?;
    }
    Some((method, path, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fixed_and_chunked_bodies() {
        let raw = b"POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcPOST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n1\r\nz\r\n0\r\n\r\n";
        let mut r = BufReader::new(&raw[..]);
        assert_eq!(
            read_request(&mut r),
            Some(("POST".into(), "/a".into(), b"abc".to_vec()))
        );
        assert_eq!(
            read_request(&mut r),
            Some(("POST".into(), "/b".into(), b"xyz".to_vec()))
        );
        assert_eq!(read_request(&mut r), None);
    }
}

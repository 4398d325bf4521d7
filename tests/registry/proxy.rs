//! A fault-injecting HTTP proxy on 127.0.0.1 in front of a real registry: answers chosen requests
//! with 503 / 429 (+ `Retry-After` or a GHCR-style body), refuses bodies over a size, adds a
//! header to an answer, corrupts a response body, or stops answering (a registry under SIGSTOP),
//! forwards the rest, and records what it saw. One request per connection. Stopped on Drop
//! (stalled connections close then).

use super::wire::Server;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// What to do to a matching request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status, headers and body instead of forwarding.
    Respond {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// Forward, then flip the last byte of the response body.
    CorruptBody,
    /// Read the request, then close the connection without answering (a connection reset).
    Reset,
    /// Read the request's head, then neither read its body nor answer, holding the connection
    /// open: an upload's body stalls once the socket buffers are full, a bodiless request waits.
    Stall,
    /// Forward, send the answer's head and the first half of its body, then stop sending.
    StallBody,
    /// Answer `status` to a request whose body is longer than `limit` bytes (read in full
    /// first, as a proxy with a body size limit does); forward the others.
    RefuseLarger { limit: usize, status: u16 },
    /// Forward, adding this header to the answer.
    AddHeader(&'static str, String),
}

/// One request as the proxy read it.
#[derive(Clone, Debug)]
pub struct Request {
    /// `METHOD /path` (no query).
    pub what: String,
    pub body_len: usize,
    pub content_range: Option<String>,
    /// As in [`Proxy::seen`].
    pub outcome: String,
}

/// Applies `fault` to the next `times` requests whose `"METHOD /path"` starts with `matching`
/// (equals it, when `matching` ends with `$`).
#[derive(Clone, Debug)]
pub struct Rule {
    pub matching: &'static str,
    pub times: usize,
    pub fault: Fault,
}

struct Shared {
    upstream: SocketAddr,
    rules: Mutex<Vec<Rule>>,
    seen: Mutex<Vec<(String, String)>>,
    requests: Mutex<Vec<Request>>,
    stop: Arc<AtomicBool>,
}

pub struct Proxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    _server: Server,
}

impl Proxy {
    pub fn start(upstream: SocketAddr, rules: Vec<Rule>) -> Proxy {
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            upstream,
            rules: Mutex::new(rules),
            seen: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            stop: stop.clone(),
        });
        let handler = shared.clone();
        let server = Server::start("proxy", stop, move |stream| {
            let _ = handle(stream, &handler);
        });
        Proxy {
            addr: server.addr,
            shared,
            _server: server,
        }
    }

    /// Every request as `("METHOD /path?query", outcome)`, outcome `forwarded`, `corrupted`,
    /// `reset`, `stalled` or the injected status, with `+chunked` appended for a chunked request
    /// body.
    pub fn seen(&self) -> Vec<(String, String)> {
        self.shared.seen.lock().expect("lock").clone()
    }

    /// Every request that was answered (injected or forwarded), with its body length and
    /// `Content-Range`.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.requests.lock().expect("lock").clone()
    }
}

fn handle(client: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    if request_line.is_empty() {
        return Ok(());
    }
    head.extend_from_slice(request_line.as_bytes());
    let mut content_length = 0usize;
    let mut content_range = None;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            content_length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("content-range:") {
            content_range = line.split_once(':').map(|(_, v)| v.trim().to_owned());
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
        if !lower.starts_with("connection:") {
            head.extend_from_slice(line.as_bytes());
        }
    }
    head.extend_from_slice(b"Connection: close\r\n\r\n");
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default();
    let what = format!("{method} {}", target.split('?').next().unwrap_or_default());
    let full = format!("{method} {target}");
    let fault = {
        let mut rules = shared.rules.lock().expect("lock");
        rules
            .iter_mut()
            .find(|r| {
                let hit = match r.matching.strip_suffix('$') {
                    Some(exact) => what == exact,
                    None => what.starts_with(r.matching),
                };
                r.times > 0 && hit
            })
            .map(|r| {
                r.times -= 1;
                r.fault.clone()
            })
    };
    if matches!(fault, Some(Fault::Stall)) {
        record(shared, full, "stalled");
        hold(shared);
        return Ok(());
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body)?;
    if chunked {
        body = read_chunked_raw(&mut reader)?;
    }
    let mut client = client;
    if matches!(fault, Some(Fault::Reset)) {
        shared
            .seen
            .lock()
            .expect("lock")
            .push((full, "reset".to_owned()));
        return client.shutdown(std::net::Shutdown::Both);
    }
    let refused = match fault {
        Some(Fault::RefuseLarger { limit, status }) if body.len() > limit => Some(Fault::Respond {
            status,
            headers: vec![],
            body: format!(
                "{{\"errors\":[{{\"code\":\"SIZE_INVALID\",\"message\":\"body over {limit} bytes\"}}]}}"
            ),
        }),
        _ => None,
    };
    let fault = refused.or(fault);
    let (response, outcome) = match &fault {
        Some(Fault::Respond {
            status,
            headers,
            body,
        }) => {
            let mut response = format!(
                "HTTP/1.1 {status} Injected\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                response.push_str(&format!("{name}: {value}\r\n"));
            }
            response.push_str("\r\n");
            response.push_str(body);
            (response.into_bytes(), status.to_string())
        }
        _ => {
            let mut upstream = TcpStream::connect(shared.upstream)?;
            upstream.write_all(&head)?;
            upstream.write_all(&body)?;
            let mut response = Vec::new();
            upstream.read_to_end(&mut response)?;
            let corrupt = matches!(fault, Some(Fault::CorruptBody));
            if corrupt
                && let Some(split) = response.windows(4).position(|w| w == b"\r\n\r\n")
                && response.len() > split + 4
                && let Some(last) = response.last_mut()
            {
                *last ^= 0x01;
            }
            if matches!(fault, Some(Fault::StallBody))
                && let Some(split) = response.windows(4).position(|w| w == b"\r\n\r\n")
            {
                let body_len = response.len() - (split + 4);
                client.write_all(&response[..split + 4 + body_len / 2])?;
                client.flush()?;
                record(shared, full, "stalled");
                hold(shared);
                return Ok(());
            }
            if let Some(Fault::AddHeader(name, value)) = &fault
                && let Some(line_end) = response.windows(2).position(|w| w == b"\r\n")
            {
                let header = format!("\r\n{name}: {value}");
                response.splice(line_end..line_end, header.into_bytes());
            }
            let outcome = if corrupt { "corrupted" } else { "forwarded" };
            (response, outcome.to_owned())
        }
    };
    // A chunked request body is marked: monolithic uploads must send Content-Length.
    let outcome = if chunked {
        format!("{outcome}+chunked")
    } else {
        outcome
    };
    // Recorded before answering, so a test that got its answer sees the record.
    shared.requests.lock().expect("lock").push(Request {
        what,
        body_len: body.len(),
        content_range,
        outcome: outcome.clone(),
    });
    shared.seen.lock().expect("lock").push((full, outcome));
    client.write_all(&response)
}

fn record(shared: &Shared, request: String, outcome: &str) {
    shared
        .seen
        .lock()
        .expect("lock")
        .push((request, outcome.to_owned()));
}

/// Keeps a stalled connection open (its streams stay alive in the caller) until the proxy
/// stops, or for ten minutes at most.
fn hold(shared: &Shared) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(600);
    while !shared.stop.load(Ordering::SeqCst) && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Reads a chunked body and returns it re-encoded as chunked (forwarded as sent).
pub(super) fn read_chunked_raw(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut raw = Vec::new();
    loop {
        let mut size_line = String::new();
        reader.read_line(&mut size_line)?;
        raw.extend_from_slice(size_line.as_bytes());
        let size = usize::from_str_radix(size_line.trim().split(';').next().unwrap_or("0"), 16)
            .unwrap_or(0);
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk)?;
        raw.extend_from_slice(&chunk);
        if size == 0 {
            return Ok(raw);
        }
    }
}

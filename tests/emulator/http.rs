//! Just enough HTTP/1.1 for the emulators: read one request (Content-Length or chunked body),
//! write one answer, close. One request per connection, over plain TCP or TLS.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// One request as read off the wire.
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Header lines as sent (name, value), without `Connection`, `Content-Length` and
    /// `Transfer-Encoding`.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// Whether the request announced a body (`Content-Length` or chunked).
    pub framed: bool,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// A query parameter's value.
    pub fn query(&self, name: &str) -> Option<&str> {
        let (_, query) = self.target.split_once('?')?;
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }
}

/// Serves `listener` on a thread, one thread per connection, until `stop` is set (and a
/// connection wakes the loop). Connections opening with a TLS handshake are closed at once, so a
/// client that tries HTTPS first falls back to plain HTTP quickly.
pub fn serve(
    listener: TcpListener,
    stop: Arc<AtomicBool>,
    handle: impl Fn(Request, &mut TcpStream) -> std::io::Result<()> + Send + Sync + 'static,
) -> JoinHandle<()> {
    let handle = Arc::new(handle);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let Ok(mut stream) = stream else { continue };
            let handle = handle.clone();
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                let mut first = [0u8; 1];
                if stream.peek(&mut first).map_or(true, |n| n == 0) || first[0] == 0x16 {
                    return;
                }
                if let Ok(request) = read_request(&stream) {
                    let _ = handle(request, &mut stream);
                }
            });
        }
    })
}

/// Serves `listener` over TLS as [`serve`] does over plain TCP: one request per connection,
/// answered on the TLS stream, which is closed with a `close_notify`.
pub fn serve_tls(
    listener: TcpListener,
    stop: Arc<AtomicBool>,
    tls: Arc<rustls::ServerConfig>,
    handle: impl Fn(Request, &mut dyn Write) -> std::io::Result<()> + Send + Sync + 'static,
) -> JoinHandle<()> {
    let handle = Arc::new(handle);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let Ok(stream) = stream else { continue };
            let (handle, tls) = (handle.clone(), tls.clone());
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                let Ok(connection) = rustls::ServerConnection::new(tls) else {
                    return;
                };
                let mut stream = rustls::StreamOwned::new(connection, stream);
                let request = read_from(&mut BufReader::new(&mut stream));
                if let Ok(request) = request {
                    let _ = handle(request, &mut stream);
                }
                stream.conn.send_close_notify();
                let _ = stream.flush();
            });
        }
    })
}

fn read_request(stream: &TcpStream) -> std::io::Result<Request> {
    read_from(&mut BufReader::new(stream.try_clone()?))
}

fn read_from(reader: &mut impl BufRead) -> std::io::Result<Request> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    let (mut length, mut chunked, mut framed) = (0usize, false, false);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        let Some((name, value)) = line.trim_end().split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim().to_string(), value.trim().to_string());
        match name.to_ascii_lowercase().as_str() {
            "content-length" => {
                length = value.parse().unwrap_or(0);
                framed = true;
            }
            "transfer-encoding" => {
                chunked = value.to_ascii_lowercase().contains("chunked");
                framed = true;
            }
            "connection" => {}
            _ => headers.push((name, value)),
        }
    }
    let body = if chunked {
        read_chunked(reader)?
    } else {
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        body
    };
    Ok(Request {
        method,
        target,
        headers,
        body,
        framed,
    })
}

fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size)?;
        let size =
            usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk)?;
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(&chunk[..size]);
    }
}

/// Sends `request` to `upstream` as it came (`Connection: close`); the raw answer.
pub fn forward_raw(upstream: std::net::SocketAddr, request: &Request) -> std::io::Result<Vec<u8>> {
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.target);
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if request.framed {
        head.push_str(&format!("Content-Length: {}\r\n", request.body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    let mut upstream = TcpStream::connect(upstream)?;
    upstream.write_all(head.as_bytes())?;
    upstream.write_all(&request.body)?;
    let mut response = Vec::new();
    upstream.read_to_end(&mut response)?;
    Ok(response)
}

/// The status and headers (names lower-cased) of a raw answer.
pub fn response_head(raw: &[u8]) -> (u16, Vec<(String, String)>) {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers)
}

/// Writes a complete answer and closes.
pub fn respond(
    stream: &mut (impl Write + ?Sized),
    status: u16,
    headers: &[(&str, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        reason(status),
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        201 => "Created",
        202 => "Accepted",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        _ => "Status",
    }
}

//! A small HTTP/1.1 server for serve's three read-only endpoints: one request a connection
//! (`Connection: close`), GET and HEAD only, bounded request heads, time limits on reads and
//! writes, and a bounded number of connections.

use std::{sync::Arc, time::Duration};

use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::Semaphore,
    time::timeout,
};

use super::events::EventHub;
use crate::render::metrics::{Metrics, OPENMETRICS_CONTENT_TYPE};

/// Longest request head accepted.
const MAX_HEAD: usize = 8 * 1024;
/// Connections served at once; more wait in the listen backlog.
const MAX_CONNECTIONS: usize = 64;
/// Time a client has to send its request, and to take a response.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// An /events reader that takes nothing for this long is disconnected (its queue has been
/// dropping lines meanwhile).
const STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// What the endpoints serve and who may read them.
pub struct Endpoints {
    pub metrics: Arc<Metrics>,
    pub hub: Arc<EventHub>,
    /// Required as `Authorization: Bearer <token>` on /metrics and /events.
    pub token: Option<String>,
    /// Whether /events is served.
    pub events: bool,
    /// The first line of every /events stream.
    pub start_line: Vec<u8>,
}

/// Accepts connections until the runtime stops.
pub async fn serve(listener: TcpListener, endpoints: Arc<Endpoints>) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of file descriptors and the like: wait rather than spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let endpoints = Arc::clone(&endpoints);
        tokio::spawn(async move {
            // A client that goes away mid-response is its own business.
            let _ = handle(stream, &endpoints).await;
            drop(permit);
        });
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Request {
    head_only: bool,
    path: String,
    authorization: Option<String>,
    openmetrics: bool,
}

#[derive(Debug, PartialEq, Eq)]
enum BadRequest {
    Malformed,
    Method,
}

/// Reads bytes until the blank line that ends a request head.
async fn read_head(stream: &mut (impl AsyncRead + Unpin)) -> Option<Vec<u8>> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_HEAD {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    Some(head)
}

fn parse_request(head: &[u8]) -> Result<Request, BadRequest> {
    let text = std::str::from_utf8(head).map_err(|_| BadRequest::Malformed)?;
    let mut lines = text.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let (method, target, version) = (first.next(), first.next(), first.next());
    let (Some(method), Some(target), Some(version)) = (method, target, version) else {
        return Err(BadRequest::Malformed);
    };
    if !version.starts_with("HTTP/1.") || first.next().is_some() {
        return Err(BadRequest::Malformed);
    }
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return Err(BadRequest::Method),
    };
    let mut request = Request {
        head_only,
        path: target.split('?').next().unwrap_or_default().to_string(),
        authorization: None,
        openmetrics: false,
    };
    for line in lines.take_while(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':').ok_or(BadRequest::Malformed)?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("authorization") {
            request.authorization = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("accept") {
            request.openmetrics = value.contains("application/openmetrics-text");
        }
    }
    Ok(request)
}

/// Compares in time independent of where the texts differ.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

fn authorized(request: &Request, token: Option<&str>) -> bool {
    let Some(token) = token else {
        return true;
    };
    request
        .authorization
        .as_deref()
        .and_then(|value| value.strip_prefix("Bearer "))
        .is_some_and(|given| same_secret(given.trim().as_bytes(), token.as_bytes()))
}

struct Response {
    status: &'static str,
    content_type: &'static str,
    extra_header: &'static str,
    body: Vec<u8>,
}

fn text(status: &'static str, body: &str) -> Response {
    Response {
        status,
        content_type: "text/plain; charset=utf-8",
        extra_header: "",
        body: format!("{body}\n").into_bytes(),
    }
}

async fn respond(
    stream: &mut TcpStream,
    response: Response,
    head_only: bool,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        response.status,
        response.content_type,
        response.body.len(),
        response.extra_header,
    );
    let write = async {
        stream.write_all(head.as_bytes()).await?;
        if !head_only {
            stream.write_all(&response.body).await?;
        }
        stream.shutdown().await
    };
    timeout(IO_TIMEOUT, write)
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
}

async fn handle(mut stream: TcpStream, endpoints: &Endpoints) -> std::io::Result<()> {
    let Ok(Some(head)) = timeout(IO_TIMEOUT, read_head(&mut stream)).await else {
        return Ok(());
    };
    let request = match parse_request(&head) {
        Ok(request) => request,
        Err(BadRequest::Malformed) => {
            return respond(&mut stream, text("400 Bad Request", "bad request"), false).await
        }
        Err(BadRequest::Method) => {
            let mut response = text("405 Method Not Allowed", "only GET and HEAD");
            response.extra_header = "Allow: GET, HEAD\r\n";
            return respond(&mut stream, response, false).await;
        }
    };
    let head_only = request.head_only;
    let protected = matches!(request.path.as_str(), "/metrics" | "/events");
    if protected && !authorized(&request, endpoints.token.as_deref()) {
        let mut response = text("401 Unauthorized", "a bearer token is required");
        response.extra_header = "WWW-Authenticate: Bearer\r\n";
        return respond(&mut stream, response, head_only).await;
    }
    let response = match request.path.as_str() {
        "/healthz" => text("200 OK", "ok"),
        "/metrics" => match endpoints.metrics.encode(request.openmetrics) {
            Ok(body) => Response {
                status: "200 OK",
                content_type: if request.openmetrics {
                    OPENMETRICS_CONTENT_TYPE
                } else {
                    prometheus_client::encoding::prometheus_text::CONTENT_TYPE
                },
                extra_header: "",
                body: body.into_bytes(),
            },
            Err(_) => text("500 Internal Server Error", "encoding the metrics failed"),
        },
        "/events" if !endpoints.events => text(
            "404 Not Found",
            "/events is off: serve was bound beyond loopback without --events",
        ),
        "/events" if head_only => Response {
            status: "200 OK",
            content_type: "application/x-ndjson",
            extra_header: "",
            body: Vec::new(),
        },
        "/events" => return stream_events(stream, endpoints).await,
        _ => text(
            "404 Not Found",
            "not found: try /metrics, /events or /healthz",
        ),
    };
    respond(&mut stream, response, head_only).await
}

/// Sends the start line, then every queued line, until the reader leaves, stalls or serve
/// stops. The body ends when the connection closes (no length, no chunks).
async fn stream_events(mut stream: TcpStream, endpoints: &Endpoints) -> std::io::Result<()> {
    let Some(mut lines) = endpoints.hub.subscribe() else {
        let busy = text("503 Service Unavailable", "too many /events readers");
        return respond(&mut stream, busy, false).await;
    };
    let (mut from_client, mut to_client) = stream.into_split();
    let mut head = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n".to_vec();
    head.extend_from_slice(&endpoints.start_line);
    timeout(IO_TIMEOUT, to_client.write_all(&head))
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))?;
    let mut ignored = [0u8; 256];
    loop {
        tokio::select! {
            line = lines.recv() => {
                let Some(line) = line else { return Ok(()) };
                timeout(STALL_TIMEOUT, to_client.write_all(&line))
                    .await
                    .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))?;
            }
            read = from_client.read(&mut ignored) => {
                // The reader closed its side (or sent something after its request).
                if read.map_or(true, |n| n == 0) {
                    return Ok(());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_requests() {
        let request = parse_request(
            b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept: application/openmetrics-text;version=1.0.0\r\nauthorization: Bearer s3cret\r\n\r\n",
        )
        .expect("valid");
        assert_eq!(request.path, "/metrics");
        assert!(request.openmetrics);
        assert!(!request.head_only);
        assert!(authorized(&request, Some("s3cret")));
        assert!(!authorized(&request, Some("s3cre")));
        assert!(!authorized(&request, Some("other!")));
        assert!(authorized(&request, None));
        assert_eq!(
            parse_request(b"POST /metrics HTTP/1.1\r\n\r\n"),
            Err(BadRequest::Method)
        );
        assert_eq!(parse_request(b"GET /\r\n\r\n"), Err(BadRequest::Malformed));
        assert_eq!(
            parse_request(b"GET / HTTP/1.1\r\nno colon\r\n\r\n"),
            Err(BadRequest::Malformed)
        );
        let head = parse_request(b"HEAD /healthz HTTP/1.0\r\n\r\n").expect("valid");
        assert!(head.head_only);
        assert!(!authorized(&head, Some("t")));
    }

    #[tokio::test]
    async fn a_head_without_its_end_is_refused_past_the_limit() {
        let endless = vec![b'a'; MAX_HEAD * 2];
        assert_eq!(read_head(&mut &endless[..]).await, None);
        assert_eq!(
            read_head(&mut &b"GET / HTTP/1.1\r\n\r\n"[..]).await,
            Some(b"GET / HTTP/1.1\r\n\r\n".to_vec())
        );
    }
}

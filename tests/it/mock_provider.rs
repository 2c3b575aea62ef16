//! A local HTTP server on 127.0.0.1 that behaves like a provider's API:
//! scripted status codes, JSON bodies, headers, delays; it records requests.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Content type.
    pub content_type: &'static str,
    /// Body.
    pub body: String,
    /// A binary body, sent instead of `body` (registry blobs).
    pub bytes: Option<Vec<u8>>,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// Wait before answering.
    pub delay: Duration,
}

impl Answer {
    /// A JSON answer.
    pub fn json(status: u16, body: &str) -> Self {
        Answer {
            status,
            content_type: "application/json",
            body: body.into(),
            bytes: None,
            headers: vec![],
            delay: Duration::ZERO,
        }
    }

    /// A binary answer.
    pub fn bytes(status: u16, bytes: Vec<u8>) -> Self {
        Answer { content_type: "application/octet-stream", bytes: Some(bytes), ..Answer::json(status, "") }
    }

    /// Adds a header.
    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Answers only after `delay`.
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// A request the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Method and path (with query).
    pub line: String,
    /// Headers, lowercase names.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl Seen {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(header, _)| header == name).map(|(_, value)| value.as_str())
    }
}

/// Decides each answer from the request (for providers with several endpoints and state).
pub type Handler = Arc<dyn Fn(&Seen) -> Answer + Send + Sync>;

/// The running mock; stops when dropped.
pub struct MockProvider {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    server: Arc<tiny_http::Server>,
    handle: Option<thread::JoinHandle<()>>,
}

impl MockProvider {
    /// Serves `answers` in order (the last one repeats) for any path.
    pub fn start(answers: Vec<Answer>) -> Self {
        let queue = Mutex::new(VecDeque::from(answers));
        Self::with_handler(move |_| {
            let mut queue = queue.lock().unwrap();
            if queue.len() > 1 {
                queue.pop_front().unwrap()
            } else {
                queue.front().unwrap().clone()
            }
        })
    }

    /// Answers each request with `handler(request)`.
    pub fn with_handler(handler: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> Self {
        let handler: Handler = Arc::new(handler);
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind a local port"));
        let url = format!("http://{}", server.server_addr().to_ip().expect("an IP listener"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handle = {
            let (server, seen) = (server.clone(), seen.clone());
            thread::spawn(move || {
                for mut request in server.incoming_requests() {
                    let (server_seen, handler) = (seen.clone(), handler.clone());
                    thread::spawn(move || {
                        let mut body = String::new();
                        let _ = std::io::Read::read_to_string(request.as_reader(), &mut body);
                        let this = Seen {
                            line: format!("{} {}", request.method(), request.url()),
                            headers: request
                                .headers()
                                .iter()
                                .map(|h| (h.field.as_str().as_str().to_ascii_lowercase(), h.value.as_str().to_string()))
                                .collect(),
                            body,
                        };
                        server_seen.lock().unwrap().push(this.clone());
                        let answer = handler(&this);
                        thread::sleep(answer.delay);
                        let data = answer.bytes.unwrap_or_else(|| answer.body.into_bytes());
                        let mut response = tiny_http::Response::from_data(data).with_status_code(answer.status);
                        let content_type = tiny_http::Header::from_bytes("Content-Type", answer.content_type).unwrap();
                        response.add_header(content_type);
                        for (name, value) in answer.headers {
                            response.add_header(tiny_http::Header::from_bytes(name, value).unwrap());
                        }
                        let _ = request.respond(response);
                    });
                }
            })
        };
        MockProvider { url, seen, server, handle: Some(handle) }
    }

    /// The requests seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for MockProvider {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

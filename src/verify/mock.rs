//! A scripted local HTTP server for the verifier tests (answers in order, counts requests).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// A scripted local server: answers in order (the last repeats), counts requests.
pub(super) struct Mock {
    /// Where it listens (`http://127.0.0.1:PORT`).
    pub(super) url: String,
    requests: Arc<AtomicUsize>,
    server: Arc<tiny_http::Server>,
}

impl Mock {
    /// Serves `answers` (status, JSON body, delay) in order.
    pub(super) fn start(answers: Vec<(u16, String, Duration)>) -> Mock {
        Mock::serving(answers, "application/json")
    }

    /// Serves `answers` in order with the given content type.
    pub(super) fn serving(answers: Vec<(u16, String, Duration)>, content_type: &str) -> Mock {
        let content_type = content_type.to_string();
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let url = format!("http://{}", server.server_addr().to_ip().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let queue = Arc::new(Mutex::new(VecDeque::from(answers)));
        let (listener, counter) = (server.clone(), requests.clone());
        thread::spawn(move || {
            for request in listener.incoming_requests() {
                counter.fetch_add(1, Ordering::SeqCst);
                let queue = queue.clone();
                let content_type = content_type.clone();
                thread::spawn(move || {
                    let (status, body, delay) = {
                        let mut queue = queue.lock().unwrap();
                        if queue.len() > 1 {
                            queue.pop_front().unwrap()
                        } else {
                            queue.front().unwrap().clone()
                        }
                    };
                    thread::sleep(delay);
                    let header = tiny_http::Header::from_bytes("Content-Type", content_type.as_bytes()).unwrap();
                    let mut response = tiny_http::Response::from_string(body).with_status_code(status);
                    if status == 429 {
                        response.add_header(tiny_http::Header::from_bytes("Retry-After", "0").unwrap());
                    }
                    let _ = request.respond(response.with_header(header));
                });
            }
        });
        Mock { url, requests, server }
    }

    /// Requests received so far.
    pub(super) fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

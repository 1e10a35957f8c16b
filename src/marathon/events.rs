//! Marathon's event stream (`GET /v2/events`, server-sent events), followed in the
//! background with reconnects, so watchers hear about deployments, task changes and health
//! changes as they happen — and know when they must fall back to polling.

use super::client::Marathon;
use futures_util::StreamExt;
use serde_json::Value;
use std::time::Duration;
use tokio::sync::mpsc;

/// One Marathon event.
#[derive(Debug, Clone, PartialEq)]
pub struct MarathonEvent {
    /// `deployment_success`, `status_update_event`, `health_status_changed_event`, ...
    pub kind: String,
    /// The event's JSON.
    pub data: Value,
}

impl MarathonEvent {
    /// The app the event is about, if it names one.
    pub fn app_id(&self) -> Option<&str> {
        self.data.get("appId").and_then(Value::as_str)
    }

    /// For deployment events: the deployment's id.
    pub fn deployment_id(&self) -> Option<&str> {
        self.data.get("id").and_then(Value::as_str).or_else(|| self.data.pointer("/plan/id").and_then(Value::as_str))
    }
}

/// What the stream reports.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamItem {
    /// Connected (again); events may have been missed while disconnected.
    Connected,
    /// An event.
    Event(MarathonEvent),
    /// The connection dropped or could not be made; lab retries in the background.
    Disconnected(String),
}

/// A running subscription; the background task stops when this is dropped.
pub struct EventStream {
    rx: mpsc::Receiver<StreamItem>,
    task: tokio::task::JoinHandle<()>,
}

impl EventStream {
    /// The next item; `None` only if the background task ended.
    pub async fn next(&mut self) -> Option<StreamItem> {
        self.rx.recv().await
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Follows `marathon`'s event stream, reconnecting with backoff (0.5 s doubling to 5 s).
pub fn subscribe(marathon: &Marathon) -> EventStream {
    let (tx, rx) = mpsc::channel(256);
    let marathon = marathon.clone();
    let task = tokio::spawn(async move {
        let mut backoff = Duration::from_millis(500);
        loop {
            match connect(&marathon).await {
                Ok(response) => {
                    backoff = Duration::from_millis(500);
                    if tx.send(StreamItem::Connected).await.is_err() {
                        return;
                    }
                    let mut parser = SseParser::default();
                    let mut body = response.bytes_stream();
                    let reason = loop {
                        match body.next().await {
                            Some(Ok(chunk)) => {
                                for event in parser.push(&chunk) {
                                    if tx.send(StreamItem::Event(event)).await.is_err() {
                                        return;
                                    }
                                }
                            }
                            Some(Err(e)) => break e.to_string(),
                            None => break "Marathon closed the event stream".to_owned(),
                        }
                    };
                    if tx.send(StreamItem::Disconnected(reason)).await.is_err() {
                        return;
                    }
                }
                Err(reason) => {
                    if tx.send(StreamItem::Disconnected(reason)).await.is_err() {
                        return;
                    }
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    });
    EventStream { rx, task }
}

async fn connect(marathon: &Marathon) -> Result<reqwest::Response, String> {
    // The shared client has no total timeout, which an event stream must not have.
    let client = crate::net::http_client().map_err(|e| e.to_string())?;
    let response = client
        .get(format!("{}/v2/events", marathon.url()))
        .header("Accept", "text/event-stream")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status().is_success() { Ok(response) } else { Err(format!("Marathon answered {}", response.status())) }
}

/// Incremental parser for `text/event-stream`. Bytes are buffered until an event is
/// complete, so a character or a line ending split across chunks is never mangled.
#[derive(Debug, Default)]
pub struct SseParser {
    buffer: Vec<u8>,
}

impl SseParser {
    /// Feeds bytes; returns every event completed by them.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<MarathonEvent> {
        // Lines may end in \r\n; dropping every \r leaves \n endings (a lone \r ending, which
        // no Marathon sends, is not supported).
        self.buffer.extend(bytes.iter().copied().filter(|b| *b != b'\r'));
        let mut out = Vec::new();
        while let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
            let raw: Vec<u8> = self.buffer.drain(..end + 2).collect();
            let block = String::from_utf8_lossy(&raw);
            let mut kind = String::from("message");
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    kind = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            if data.is_empty() {
                continue;
            }
            let text = data.join("\n");
            let data = serde_json::from_str(&text).unwrap_or(Value::String(text));
            let kind = if kind == "message" { data.get("eventType").and_then(Value::as_str).unwrap_or("message").to_owned() } else { kind };
            out.push(MarathonEvent { kind, data });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_are_assembled() {
        let mut p = SseParser::default();
        assert!(p.push(b"event: deployment_success\ndata: {\"id\":\"d1\",").is_empty());
        let events = p.push(b"\"eventType\":\"deployment_success\"}\n\n: comment\n\nevent: status_update_event\r\ndata: {\"appId\":\"/a\"}\r\n\r\n");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].kind, "deployment_success");
        assert_eq!(events[0].deployment_id(), Some("d1"));
        assert_eq!(events[1].app_id(), Some("/a"));
    }

    #[test]
    fn multi_byte_characters_and_crlf_split_across_chunks_survive() {
        let mut p = SseParser::default();
        let text = "event: x\r\ndata: {\"msg\":\"héllo\"}\r\n\r\n".as_bytes();
        let split = text.iter().position(|b| *b == 0xc3).unwrap() + 1; // inside the é
        assert!(p.push(&text[..split]).is_empty());
        let crlf = text.len() - 3; // between the \r and \n of the final blank line
        assert!(p.push(&text[split..crlf]).is_empty());
        let e = p.push(&text[crlf..]);
        assert_eq!(e[0].data["msg"], "héllo");
    }

    #[test]
    fn the_event_type_field_names_unnamed_events() {
        let mut p = SseParser::default();
        let e = p.push(b"data: {\"eventType\":\"health_status_changed_event\",\"appId\":\"/x\",\"alive\":true}\n\n");
        assert_eq!(e[0].kind, "health_status_changed_event");
    }
}

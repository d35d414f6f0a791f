//! A request as the handlers see it (method, decoded path, query, headers, a size-limited
//! body), and the JSON reply with its status and headers.

use std::io::Read;

use serde_json::{json, Value};

use super::error::{is_busy, status_of, status_of_code, ApiError, Explain};

/// The largest request body taken, in bytes.
pub const MAX_BODY: usize = 1024 * 1024;
/// Seconds a client is told to wait when the store stayed busy.
pub const RETRY_AFTER: &str = "2";

/// A request read in full.
#[derive(Debug)]
pub struct Request {
    /// `GET`, `PUT`, …
    pub method: String,
    /// The path, percent-decoded.
    pub path: String,
    /// The query's pairs, percent-decoded.
    pub query: Vec<(String, String)>,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// Reads `req`'s line, headers and body (413 past [`MAX_BODY`], 400 for a bad path).
    pub fn read(req: &mut tiny_http::Request) -> Result<Request, ApiError> {
        let too_large = || {
            ApiError::http(
                413,
                format!("the request body is over {MAX_BODY} bytes"),
                "send a smaller document",
            )
        };
        if req.body_length().is_some_and(|n| n > MAX_BODY) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        req.as_reader()
            .take(MAX_BODY as u64 + 1)
            .read_to_end(&mut body)
            .map_err(|e| {
                ApiError::http(400, format!("cannot read the body: {e}"), "send it again")
            })?;
        if body.len() > MAX_BODY {
            return Err(too_large());
        }
        let url = req.url().to_string();
        let (path, query) = url.split_once('?').unwrap_or((&url, ""));
        let bad_path = || {
            ApiError::bad(
                "path",
                "not valid percent-encoded UTF-8",
                "encode the path as UTF-8",
            )
        };
        let path = decode(path).ok_or_else(bad_path)?;
        let mut pairs = Vec::new();
        for kv in query.split('&').filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let d = |s: &str| decode(&s.replace('+', " "));
            match (d(k), d(v)) {
                (Some(k), Some(v)) => pairs.push((k, v)),
                _ => {
                    return Err(ApiError::bad(
                        k,
                        "not valid percent-encoded UTF-8",
                        "encode the query as UTF-8",
                    ))
                }
            }
        }
        let headers = req
            .headers()
            .iter()
            .map(|h| {
                (
                    h.field.as_str().as_str().to_ascii_lowercase(),
                    h.value.as_str().to_string(),
                )
            })
            .collect();
        Ok(Request {
            method: req.method().as_str().to_ascii_uppercase(),
            path,
            query: pairs,
            headers,
            body,
        })
    }

    /// A header's value (`name` lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter's value.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (an empty body reads as `{}`); 400 naming `body` with the line and column.
    pub fn json(&self) -> Result<Value, ApiError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(json!({}));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            ApiError::bad(
                "body",
                format!("not JSON: {e}"),
                "send a JSON document with Content-Type: application/json",
            )
        })
    }

    /// The body as `T`, naming the field that does not fit.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, ApiError> {
        let v = self.json()?;
        serde_path_to_error::deserialize(v).map_err(|e| {
            let field = e.path().to_string();
            let field = if field == "." {
                "body".to_string()
            } else {
                field
            };
            ApiError::bad(
                &field,
                e.into_inner().to_string(),
                "see the request schema in GET /v1/openapi.json",
            )
        })
    }
}

/// `%XX` decoded; `None` for a broken escape or bytes that are not UTF-8.
pub fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A JSON answer.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: Value,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
}

impl Reply {
    /// 200 with `body`.
    pub fn ok(body: Value) -> Reply {
        Reply {
            status: 200,
            body,
            headers: Vec::new(),
        }
    }

    /// With a header.
    pub fn with(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// `{error, hint}` (and `field`) with the error's status.
    pub fn error(e: ApiError, explain: Explain) -> Reply {
        match e {
            ApiError::Http {
                status,
                message,
                hint,
                field,
            } => {
                let mut body = json!({ "error": message, "hint": hint });
                if let Some(f) = field {
                    body["field"] = json!(f);
                }
                Reply {
                    status,
                    body,
                    headers: Vec::new(),
                }
            }
            ApiError::Failed(f) => {
                let (busy, fixed) = (is_busy(&f), status_of(&f));
                let ex = explain(f);
                let status = fixed.unwrap_or_else(|| status_of_code(ex.code));
                let reply = Reply {
                    status,
                    body: json!({ "error": ex.message, "hint": ex.hint }),
                    headers: Vec::new(),
                };
                match busy {
                    true => reply.with("Retry-After", RETRY_AFTER),
                    false => reply,
                }
            }
        }
    }

    /// The response tiny_http sends.
    pub fn into_response(self) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
        let mut text = serde_json::to_vec_pretty(&self.body).unwrap_or_default();
        text.push(b'\n');
        let mut r = tiny_http::Response::from_data(text).with_status_code(self.status);
        let ct = ("Content-Type", "application/json");
        for (k, v) in std::iter::once((ct.0.to_string(), ct.1.to_string())).chain(self.headers) {
            if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
                r.add_header(h);
            }
        }
        r
    }
}

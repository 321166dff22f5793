//! HTTP to the service under test: the only way the harness reaches a running service. One
//! place builds each kind of request body, so every check sends the same shapes.

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};
use server::contract::Limits;
use server::contract::routes::{PREDICT, V1_PREDICT, V2_INFER, route};
use server::contract::v2::{BINARY_HEADER_LENGTH as HEADER_LENGTH, INPUT};

use crate::error::HarnessError;
use crate::rows::{Row, Schema, Tensors};

pub use server::contract::answer::{Answer, Head, read_answer, read_head};

/// A V2 infer answer whose outputs may be binary tensor data: its JSON header and the bytes
/// after it (none for an all-JSON answer).
#[derive(Debug, Clone, PartialEq)]
pub struct V2Answer {
    pub status: u16,
    pub header: Value,
    pub binary: Vec<u8>,
}

/// An output tensor's elements.
#[derive(Debug, Clone, PartialEq)]
pub enum Elements {
    Numbers(Vec<f64>),
    /// `BYTES` elements, or labels a server sent as JSON numbers, as text.
    Text(Vec<String>),
}

impl V2Answer {
    /// The answer to a JSON request: all of it is the header (as a JSON string when it is not
    /// JSON).
    pub fn from_json(answer: &Answer) -> V2Answer {
        V2Answer {
            status: answer.status,
            header: answer
                .json()
                .unwrap_or_else(|| Value::String(answer.body.clone())),
            binary: Vec::new(),
        }
    }

    /// The elements of output `name`, from its JSON `data` or from its bytes after the header
    /// (binary outputs come in output order, each `binary_data_size` long).
    pub fn output(&self, name: &str) -> Result<Elements, String> {
        let outputs = self.header["outputs"]
            .as_array()
            .ok_or_else(|| format!("no outputs in {}", self.header))?;
        let mut at = 0;
        for output in outputs {
            let size = output["parameters"]["binary_data_size"].as_u64();
            let bytes = match size {
                Some(size) => {
                    let end = at + size as usize;
                    let bytes = self.binary.get(at..end).ok_or_else(|| {
                        format!(
                            "output {:?} runs past the body's binary data",
                            output["name"]
                        )
                    })?;
                    at = end;
                    Some(bytes)
                }
                None => None,
            };
            if output["name"] != name {
                continue;
            }
            return match (bytes, output["datatype"].as_str()) {
                (Some(bytes), Some("BYTES")) => bytes_elements(bytes).map(Elements::Text),
                (Some(bytes), Some("FP64")) => Ok(Elements::Numbers(
                    bytes
                        .chunks_exact(8)
                        .map(|b| f64::from_le_bytes(b.try_into().unwrap_or_default()))
                        .collect(),
                )),
                (Some(_), other) => Err(format!("binary output {name:?} of datatype {other:?}")),
                (None, _) => Ok(json_elements(&output["data"])),
            };
        }
        Err(format!("no output {name:?} in {}", self.header))
    }
}

/// `BYTES` elements: each a 4-byte little-endian length, then its bytes.
fn bytes_elements(mut bytes: &[u8]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (length, rest) = bytes
            .split_first_chunk::<4>()
            .ok_or("a BYTES element without its length")?;
        let length = u32::from_le_bytes(*length) as usize;
        let element = rest.get(..length).ok_or("a BYTES element past the data")?;
        out.push(String::from_utf8_lossy(element).into_owned());
        bytes = &rest[length..];
    }
    Ok(out)
}

/// The elements of a flat or nested JSON tensor, in order: numbers, or else text.
fn json_elements(data: &Value) -> Elements {
    fn flatten<'a>(data: &'a Value, out: &mut Vec<&'a Value>) {
        match data {
            Value::Array(items) => items.iter().for_each(|item| flatten(item, out)),
            other => out.push(other),
        }
    }
    let mut items = Vec::new();
    flatten(data, &mut items);
    if items.iter().all(|v| v.is_number()) {
        Elements::Numbers(items.iter().filter_map(|v| v.as_f64()).collect())
    } else {
        Elements::Text(
            items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect(),
        )
    }
}

/// The JSON header and the tensor bytes of a V2 infer request that sends `rows` as binary
/// tensor data (where it can carry them, see [`Schema::tensors_binary`]) and asks for
/// `outputs` as binary tensor data.
pub fn infer_binary_body(
    rows: &[Row],
    schema: &Schema,
    input: &str,
    outputs: &[&str],
) -> (Value, Vec<u8>) {
    let (inputs, tensors) = schema.tensors_binary(rows, input);
    let outputs: Vec<Value> = outputs
        .iter()
        .map(|name| json!({"name": name, "parameters": {"binary_data": true}}))
        .collect();
    let mut header = json!({"inputs": inputs, "outputs": outputs});
    pandas(&mut header, schema);
    (header, tensors)
}

/// The body of `POST /predict` for `rows`.
pub fn predict_body(rows: &[Row]) -> Value {
    json!({ "instances": rows })
}

/// The body of a V2 infer request for `rows`: one `[N, F]` FP64 tensor for a model of numbers,
/// one tensor per input for a model with categories or gaps.
pub fn infer_body(rows: &[Row], schema: &Schema, id: Option<&str>) -> Value {
    let mut body = json!({"inputs": schema.tensors_json(rows, INPUT)});
    pandas(&mut body, schema);
    if let Some(id) = id {
        body["id"] = id.into();
    }
    body
}

/// One tensor per input is a data frame, as MLServer's pandas codec marks it.
fn pandas(body: &mut Value, schema: &Schema) {
    if schema.tensors == Tensors::PerInput {
        body["parameters"] = json!({"content_type": "pd"});
    }
}

/// The V2 infer path of `model`.
pub fn infer_path(model: &str) -> String {
    route(V2_INFER).map_or_else(String::new, |r| r.path(model, ""))
}

/// The KServe V1 predict path of `model`.
pub fn v1_predict_path(model: &str) -> String {
    route(V1_PREDICT).map_or_else(String::new, |r| r.path(model, ""))
}

/// A keep-alive client for one base URL, e.g. `http://127.0.0.1:49153`.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: reqwest::blocking::Client,
}

/// What `GET /model` says of the served model: the facts a client needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Served {
    pub name: String,
    pub version: String,
    pub artifact_sha256: String,
    pub limits: Limits,
    /// The whole answer, for checks that compare it.
    pub body: Value,
}

impl Client {
    pub fn new(base: impl Into<String>) -> Client {
        let http = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        Client {
            base: base.into().trim_end_matches('/').to_owned(),
            http,
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn get(&self, path: &str) -> Result<Answer, HarnessError> {
        self.send("GET", path, None, None)
    }

    /// Sends `body` as JSON.
    pub fn post_json(&self, path: &str, body: &Value) -> Result<Answer, HarnessError> {
        self.send(
            "POST",
            path,
            Some("application/json"),
            Some(body.to_string().into_bytes()),
        )
    }

    /// `POST /predict` with `rows`.
    pub fn predict(&self, rows: &[Row]) -> Result<Answer, HarnessError> {
        self.post_json(PREDICT, &predict_body(rows))
    }

    /// V2 infer for `model` with `rows` shaped as `schema` says, sent with no Content-Type as
    /// standard V2 clients do.
    pub fn infer(
        &self,
        model: &str,
        rows: &[Row],
        schema: &Schema,
        id: Option<&str>,
    ) -> Result<Answer, HarnessError> {
        let body = infer_body(rows, schema, id).to_string().into_bytes();
        self.send("POST", &infer_path(model), None, Some(body))
    }

    /// Reads `GET /model`: the served model and the limits it announces.
    pub fn served(&self) -> Result<Served, String> {
        let answer = self.get("/model").map_err(|e| crate::error::chain(&e))?;
        let body = answer
            .json()
            .filter(|_| answer.status == 200)
            .ok_or_else(|| format!("/model answered {}: {}", answer.status, answer.body))?;
        let text = |key: &str| {
            body[key]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("/model has no {key:?}: {body}"))
        };
        let limits = serde_json::from_value(body["limits"].clone())
            .map_err(|e| format!("/model: limits {}: {e}", body["limits"]))?;
        Ok(Served {
            name: text("name")?,
            version: text("version")?,
            artifact_sha256: text("artifact_sha256")?,
            limits,
            body,
        })
    }

    /// Sends any method, content type (none when `None`) and body.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<Answer, HarnessError> {
        self.send_with(method, path, content_type, &[], body)
    }

    /// Like [`Client::send`], with extra headers.
    pub fn send_with(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Answer, HarnessError> {
        let url = format!("{}{path}", self.base);
        let method_value =
            reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut request = self.http.request(method_value, &url);
        if let Some(ct) = content_type {
            request = request.header("Content-Type", ct);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let fail = |source| HarnessError::Http {
            method: method.to_owned(),
            url: url.clone(),
            source,
        };
        let response = request.send().map_err(fail)?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("Content-Type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.text().map_err(fail)?;
        Ok(Answer {
            status,
            content_type,
            body,
        })
    }

    /// Posts a V2 infer request with binary tensor data: `header`, then `tensors`, with
    /// `Inference-Header-Content-Length`; the answer split as its own header length says.
    pub fn infer_binary(
        &self,
        path: &str,
        header: &Value,
        tensors: &[u8],
    ) -> Result<V2Answer, HarnessError> {
        let url = format!("{}{path}", self.base);
        let mut body = header.to_string().into_bytes();
        let length = body.len();
        body.extend_from_slice(tensors);
        let fail = |source| HarnessError::Http {
            method: "POST".into(),
            url: url.clone(),
            source,
        };
        let response = self
            .http
            .post(&url)
            .header(HEADER_LENGTH, length)
            .body(body)
            .send()
            .map_err(fail)?;
        let status = response.status().as_u16();
        let header_length = response
            .headers()
            .get(HEADER_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
        let bytes = response.bytes().map_err(fail)?;
        let split = header_length.unwrap_or(bytes.len()).min(bytes.len());
        let (header, binary) = bytes.split_at(split);
        Ok(V2Answer {
            status,
            header: serde_json::from_slice(header)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(header).into_owned())),
            binary: binary.to_vec(),
        })
    }

    /// The `host:port` the base URL names.
    pub fn authority(&self) -> &str {
        let rest = self.base.split_once("://").map_or(&*self.base, |(_, r)| r);
        rest.split('/').next().unwrap_or(rest)
    }

    /// Writes `head` (and then `body`, in pieces) on a fresh connection and reads one answer
    /// with a Content-Length body: for requests no HTTP client library would send.
    pub fn raw(&self, head: &str, body: &[&[u8]]) -> Result<Answer, HarnessError> {
        let addr = self.authority().to_owned();
        let fail = |what| {
            let addr = addr.clone();
            move |source| HarnessError::Socket { what, addr, source }
        };
        let mut stream = TcpStream::connect(&addr).map_err(fail("connect to"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(fail("set a timeout on"))?;
        stream
            .write_all(head.as_bytes())
            .map_err(fail("write to"))?;
        for piece in body {
            // The service may answer and close before it has read everything.
            if stream.write_all(piece).is_err() {
                break;
            }
        }
        read_answer(&mut BufReader::new(stream)).map_err(fail("read from"))
    }
}

/// A port free on the loopback address now, for a server to listen on.
pub fn free_port() -> Result<u16, HarnessError> {
    let fail = |source| HarnessError::Socket {
        what: "bind",
        addr: "127.0.0.1:0".into(),
        source,
    };
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|a| a.port())
        .map_err(fail)
}

//! HTTP to the service under test: the only way the harness reaches a container.

use std::time::Duration;

use crate::error::HarnessError;

/// A response, kept raw so that checks can look at status, type and exact body text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

impl Answer {
    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// A keep-alive client for one base URL, e.g. `http://127.0.0.1:49153`.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: reqwest::blocking::Client,
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
    pub fn post_json(&self, path: &str, body: &serde_json::Value) -> Result<Answer, HarnessError> {
        self.send(
            "POST",
            path,
            Some("application/json"),
            Some(body.to_string().into_bytes()),
        )
    }

    /// Sends any method, content type (none when `None`) and body.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<Answer, HarnessError> {
        let url = format!("{}{path}", self.base);
        let fail = |cause: &dyn ToString| HarnessError::Http {
            method: method.to_owned(),
            url: url.clone(),
            cause: cause.to_string(),
        };
        let method_value = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| fail(&e))?;
        let mut request = self.http.request(method_value, &url);
        if let Some(ct) = content_type {
            request = request.header("Content-Type", ct);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().map_err(|e| fail(&e))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("Content-Type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.text().map_err(|e| fail(&e))?;
        Ok(Answer {
            status,
            content_type,
            body,
        })
    }
}

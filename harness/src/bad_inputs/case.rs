//! One bad request and the answer it must get, built a step at a time:
//! `Case::seed("empty batch").post(PREDICT).json(body).refused(ApiError::…)`.

use server::contract::errors::ApiError;
use server::contract::fixtures::BadInput;
use server::contract::routes::Api;

/// A request being described; [`Case::refused`] or [`Case::answered`] finishes it.
#[derive(Debug, Clone)]
#[must_use = "a case is finished by `refused` or `answered`"]
pub struct Case {
    api: Api,
    input: BadInput,
}

impl Case {
    /// A request to this project's API (`/predict` and the routes around it).
    pub fn seed(name: &str) -> Case {
        Case::new(Api::Seed, name)
    }

    /// A request to the Open Inference Protocol's routes.
    pub fn v2(name: &str) -> Case {
        Case::new(Api::V2, name)
    }

    /// A request to KServe's V1 routes.
    pub fn v1(name: &str) -> Case {
        Case::new(Api::V1, name)
    }

    fn new(api: Api, name: &str) -> Case {
        Case {
            api,
            input: BadInput {
                name: name.to_owned(),
                method: "GET".into(),
                path: "/".into(),
                content_type: None,
                body: None,
                headers: vec![],
                status: 0,
                error_contains: String::new(),
            },
        }
    }

    pub fn get(mut self, path: &str) -> Case {
        self.input.method = "GET".into();
        self.input.path = path.to_owned();
        self
    }

    pub fn post(mut self, path: &str) -> Case {
        self.input.method = "POST".into();
        self.input.path = path.to_owned();
        self
    }

    /// The body, declared as JSON, as this project's clients send it.
    pub fn json(self, body: impl ToString) -> Case {
        self.content_type("application/json").body(body)
    }

    /// The body with no Content-Type, as standard V2 clients send it.
    pub fn body(mut self, body: impl ToString) -> Case {
        self.input.body = Some(body.to_string());
        self
    }

    pub fn content_type(mut self, mime: &str) -> Case {
        self.input.content_type = Some(mime.to_owned());
        self
    }

    pub fn header(mut self, name: &str, value: impl ToString) -> Case {
        self.input
            .headers
            .push((name.to_owned(), value.to_string()));
        self
    }

    /// Refused as the contract says: `error`'s status on this API and its whole message.
    pub fn refused(self, error: impl Into<ApiError>) -> BadInput {
        let error = error.into();
        let status = error.status(self.api);
        self.answered(status, &error.to_string())
    }

    /// Refused with `status` and an error message containing `fragment` (for messages that
    /// quote the JSON parser, which the contract does not fix).
    pub fn answered(mut self, status: u16, fragment: &str) -> BadInput {
        self.input.status = status;
        self.input.error_contains = fragment.to_owned();
        self.input
    }
}

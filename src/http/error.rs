//! The API's error shape: the socket protocol's error object,
//! `{"type":"error","code":"…","error":"…"}`, with a matching HTTP status.
//! Every error of the HTTP edge is an [`ApiError`] with a typed [`ApiCode`]:
//! the socket protocol's codes plus the few only HTTP has (routes, auth).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Serialize, Serializer};
use serde_json::{Value, json};

use crate::protocol::ErrorCode;
use crate::supervisor::SupervisorError;

/// The machine-readable `code` of an API error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiCode {
    /// A socket protocol code (`bad_json`, `provider_error`, `shutting_down`, …).
    Protocol(ErrorCode),
    /// No such route, specialist or asset.
    NotFound,
    /// The specialist exists but serves nothing right now.
    NotReady,
    MethodNotAllowed,
    Unauthorized,
    /// OpenAI's name for an unknown `model`.
    ModelNotFound,
    /// `Host` names no name this server answers to (DNS rebinding).
    BadHost,
    /// `Origin` is another site.
    BadOrigin,
    /// A POST body not declared `application/json`.
    UnsupportedMediaType,
}

impl ApiCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiCode::Protocol(c) => c.as_str(),
            ApiCode::NotFound => "not_found",
            ApiCode::NotReady => ErrorCode::NotReady.as_str(),
            ApiCode::MethodNotAllowed => "method_not_allowed",
            ApiCode::Unauthorized => "unauthorized",
            ApiCode::ModelNotFound => "model_not_found",
            ApiCode::BadHost => "bad_host",
            ApiCode::BadOrigin => "bad_origin",
            ApiCode::UnsupportedMediaType => "unsupported_media_type",
        }
    }
}

impl Serialize for ApiCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// An API error: status, a machine code, a human message.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ApiCode,
    pub message: String,
    /// A 429's wait: the body's `retry_after_ms` and, rounded up to
    /// seconds, the `Retry-After` header that HTTP clients honour.
    pub retry_after_ms: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ApiCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after_ms: None,
        }
    }

    /// The same error, to be retried after `ms` (when given).
    pub fn retry_after(mut self, ms: Option<u64>) -> ApiError {
        self.retry_after_ms = ms;
        self
    }

    /// `body` with this error's status, and its `Retry-After` when it has a
    /// wait: the response of every error shape (cadre's, OpenAI's).
    pub fn respond(&self, body: Value) -> Response {
        let mut r = (self.status, Json(body)).into_response();
        if let Some(ms) = self.retry_after_ms {
            let secs = ms.div_ceil(1000);
            r.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        r
    }

    pub fn unknown_specialist(name: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ApiCode::NotFound,
            format!("no specialist named {name:?}"),
        )
    }

    /// A socket protocol error with the status that code maps to.
    pub fn from_code(code: ErrorCode, message: impl Into<String>) -> ApiError {
        let status = match code {
            ErrorCode::BadJson | ErrorCode::BadRequest | ErrorCode::UnknownType => {
                StatusCode::BAD_REQUEST
            }
            ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::ProviderUnavailable | ErrorCode::ProviderError => StatusCode::BAD_GATEWAY,
            ErrorCode::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ErrorCode::ShuttingDown | ErrorCode::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::RoutingFailed => StatusCode::BAD_GATEWAY,
            ErrorCode::RateLimited | ErrorCode::BudgetExceeded => StatusCode::TOO_MANY_REQUESTS,
        };
        ApiError::new(status, ApiCode::Protocol(code), message)
    }

    /// `400 bad_request`.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::from_code(ErrorCode::BadRequest, message)
    }
}

/// The supervisor is gone or refused: the daemon is shutting down.
impl From<SupervisorError> for ApiError {
    fn from(e: SupervisorError) -> ApiError {
        ApiError::from_code(ErrorCode::ShuttingDown, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"type": "error", "code": self.code, "error": self.message});
        if let Some(ms) = self.retry_after_ms {
            body["retry_after_ms"] = ms.into();
        }
        self.respond(body)
    }
}

/// A JSON object body; malformed JSON → 400 `bad_json`, over [`super::MAX_BODY`] → 413 `too_large`.
pub fn json_object(
    body: Result<Bytes, BytesRejection>,
) -> Result<serde_json::Map<String, Value>, ApiError> {
    let bytes = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::from_code(
                ErrorCode::TooLarge,
                format!("request body exceeds {} bytes", super::MAX_BODY),
            )
        } else {
            ApiError::new(
                r.status(),
                ApiCode::Protocol(ErrorCode::BadRequest),
                r.body_text(),
            )
        }
    })?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::bad_request("request body must be a JSON object")),
        Err(e) => Err(ApiError::from_code(
            ErrorCode::BadJson,
            format!("request body is not JSON: {e}"),
        )),
    }
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, ApiCode::NotFound, "no such route")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ApiCode::MethodNotAllowed,
        "method not allowed on this route",
    )
}

pub fn unauthorized() -> Response {
    let mut r = ApiError::new(
        StatusCode::UNAUTHORIZED,
        ApiCode::Unauthorized,
        "missing or wrong bearer token",
    )
    .into_response();
    r.headers_mut().insert(
        axum::http::header::WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Bearer"),
    );
    r
}

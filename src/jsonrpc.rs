//! JSON-RPC 2.0 framing shared by the A2A and MCP servers: one body in, one
//! typed message or the error the JSON-RPC specification names for it.
//!
//! | input | error |
//! |---|---|
//! | not JSON | `-32700` parse error (id `null`) |
//! | JSON that is not an object (a batch, a number, `[]`) | `-32600` invalid request |
//! | `jsonrpc` ≠ `"2.0"`, `method` missing or not a string, `id` not a string/number/null, `params` not an object/array | `-32600` |
//! | an unknown method | `-32601` (decided by the caller's method table) |
//! | params of the wrong shape | `-32602` (decided by the caller) |
//!
//! Batches are refused, not executed: neither A2A v1.0 nor MCP since
//! 2025-06-18 has them, and the official A2A server refuses them the same way.
//! Decoding never panics on any input (property-tested below and fuzzed in
//! `fuzz/fuzz_targets/jsonrpc_decode.rs`).

use serde_json::{Map, Value, json};

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const INTERNAL_ERROR: i64 = -32603;

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> RpcError {
        RpcError {
            code,
            message: message.into(),
            data: None,
        }
    }

    pub fn with_data(mut self, data: Value) -> RpcError {
        self.data = Some(data);
        self
    }

    pub fn invalid_request(message: impl Into<String>) -> RpcError {
        RpcError::new(INVALID_REQUEST, message)
    }

    pub fn method_not_found(method: &str) -> RpcError {
        RpcError::new(METHOD_NOT_FOUND, format!("method not found: {method:?}"))
    }

    pub fn invalid_params(message: impl Into<String>) -> RpcError {
        RpcError::new(INVALID_PARAMS, message)
    }

    pub fn to_json(&self) -> Value {
        let mut e = json!({"code": self.code, "message": self.message});
        if let Some(d) = &self.data {
            e["data"] = d.clone();
        }
        e
    }
}

/// A request (`id` present) or a notification (`id` absent).
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// `None` for a notification; `Some(Value::Null)` is a request with a null id.
    pub id: Option<Value>,
    pub method: String,
    /// Always an object or array when present.
    pub params: Option<Value>,
}

impl Call {
    pub fn is_notification(&self) -> bool {
        self.id.is_none()
    }

    /// The params as an object: absent is `{}`, an array is invalid params.
    pub fn params_object(&self) -> Result<Map<String, Value>, RpcError> {
        match &self.params {
            None => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m.clone()),
            Some(_) => Err(RpcError::invalid_params("params must be an object")),
        }
    }

    pub fn to_json(&self) -> Value {
        let mut v = json!({"jsonrpc": "2.0", "method": self.method});
        if let Some(id) = &self.id {
            v["id"] = id.clone();
        }
        if let Some(p) = &self.params {
            v["params"] = p.clone();
        }
        v
    }
}

/// One decoded message.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Call(Call),
    /// A response from the peer (an MCP client answering a server request).
    Response {
        id: Value,
    },
}

/// Why a body is not a message: the error to answer with, and the id to echo
/// when one could be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub id: Value,
    pub error: RpcError,
}

/// Decode one HTTP body.
pub fn decode(body: &[u8]) -> Result<Incoming, Rejected> {
    let value: Value = serde_json::from_slice(body).map_err(|e| Rejected {
        id: Value::Null,
        error: RpcError::new(PARSE_ERROR, format!("invalid JSON: {e}")),
    })?;
    decode_value(value)
}

/// Decode one already-parsed JSON value.
pub fn decode_value(value: Value) -> Result<Incoming, Rejected> {
    let mut obj = match value {
        Value::Object(o) => o,
        Value::Array(a) if !a.is_empty() => {
            return Err(reject(
                Value::Null,
                "batch requests are not supported: send one request per HTTP request",
            ));
        }
        other => {
            return Err(reject(
                Value::Null,
                format!("a request must be a JSON object, not {}", kind(&other)),
            ));
        }
    };
    let id = obj.remove("id");
    let echo = match &id {
        Some(v @ (Value::String(_) | Value::Number(_))) => v.clone(),
        _ => Value::Null,
    };
    if let Some(bad) = id.as_ref().filter(|v| !is_valid_id(v)) {
        return Err(reject(
            Value::Null,
            format!("`id` must be a string, a number or null, not {}", kind(bad)),
        ));
    }
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(reject(echo, "`jsonrpc` must be exactly \"2.0\""));
    }
    let is_response = obj.contains_key("result") || obj.contains_key("error");
    match obj.remove("method") {
        Some(Value::String(method)) => {
            let params = obj.remove("params");
            if let Some(p) = &params
                && !p.is_object()
                && !p.is_array()
            {
                return Err(reject(echo, "`params` must be an object or an array"));
            }
            Ok(Incoming::Call(Call { id, method, params }))
        }
        Some(other) => Err(reject(
            echo,
            format!("`method` must be a string, not {}", kind(&other)),
        )),
        None if is_response => match id {
            Some(id) => Ok(Incoming::Response { id }),
            None => Err(reject(Value::Null, "a response needs an `id`")),
        },
        None => Err(reject(echo, "`method` is missing")),
    }
}

fn reject(id: Value, message: impl Into<String>) -> Rejected {
    Rejected {
        id,
        error: RpcError::invalid_request(message),
    }
}

fn is_valid_id(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_) | Value::Null)
}

/// The JSON type of a value, for error messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(a) if a.is_empty() => "an empty array",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A success response.
pub fn result(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// An error response.
pub fn error(id: &Value, e: &RpcError) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": e.to_json()})
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code(body: &str) -> i64 {
        decode(body.as_bytes())
            .err()
            .map(|r| r.error.code)
            .unwrap_or(0)
    }

    #[test]
    fn each_malformed_body_gets_the_error_the_spec_names() {
        assert_eq!(code("{not json"), PARSE_ERROR);
        assert_eq!(code(""), PARSE_ERROR);
        assert_eq!(code("[]"), INVALID_REQUEST);
        assert_eq!(
            code(r#"[{"jsonrpc":"2.0","id":1,"method":"x"}]"#),
            INVALID_REQUEST
        );
        assert_eq!(code("5"), INVALID_REQUEST);
        assert_eq!(code(r#"{"id":1,"method":"x"}"#), INVALID_REQUEST);
        assert_eq!(
            code(r#"{"jsonrpc":"1.0","id":1,"method":"x"}"#),
            INVALID_REQUEST
        );
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":1}"#), INVALID_REQUEST);
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":1,"method":7}"#),
            INVALID_REQUEST
        );
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":{},"method":"x"}"#),
            INVALID_REQUEST
        );
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":1,"method":"x","params":"p"}"#),
            INVALID_REQUEST
        );
    }

    #[test]
    fn the_id_is_echoed_when_it_can_be_read() {
        let r = decode(br#"{"jsonrpc":"1.0","id":"abc","method":"x"}"#).unwrap_err();
        assert_eq!(r.id, json!("abc"));
    }

    #[test]
    fn requests_notifications_and_responses_decode() {
        let Ok(Incoming::Call(c)) =
            decode(br#"{"jsonrpc":"2.0","id":3,"method":"m","params":{"a":1}}"#)
        else {
            panic!("not a call")
        };
        assert_eq!(c.id, Some(json!(3)));
        assert_eq!(c.params_object().unwrap()["a"], 1);
        let Ok(Incoming::Call(n)) = decode(br#"{"jsonrpc":"2.0","method":"n"}"#) else {
            panic!("not a call")
        };
        assert!(n.is_notification());
        assert_eq!(
            decode(br#"{"jsonrpc":"2.0","id":"r","result":{}}"#),
            Ok(Incoming::Response { id: json!("r") })
        );
        let Ok(Incoming::Call(arr)) =
            decode(br#"{"jsonrpc":"2.0","id":1,"method":"m","params":[1]}"#)
        else {
            panic!("not a call")
        };
        assert_eq!(arr.params_object().unwrap_err().code, INVALID_PARAMS);
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            ".{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("jsonrpc".to_owned()),
                        Just("id".to_owned()),
                        Just("method".to_owned()),
                        Just("params".to_owned()),
                        Just("result".to_owned()),
                        "[a-z]{1,5}",
                    ],
                    inner,
                    0..5
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn arbitrary_json_is_a_message_or_a_named_error(v in json_value()) {
            match decode_value(v) {
                Ok(Incoming::Call(c)) => {
                    // Whatever was accepted survives encoding and decoding again.
                    let again = decode(c.to_json().to_string().as_bytes());
                    prop_assert_eq!(again, Ok(Incoming::Call(c)));
                }
                Ok(Incoming::Response { .. }) => {}
                Err(r) => prop_assert!(r.error.code == INVALID_REQUEST),
            }
        }

        #[test]
        fn valid_calls_round_trip(
            id in prop_oneof![Just(None), any::<i64>().prop_map(|i| Some(json!(i))), "[a-z0-9-]{0,12}".prop_map(|s| Some(json!(s)))],
            method in "[A-Za-z/]{1,20}",
            params in prop_oneof![Just(None), json_value().prop_map(|v| Some(json!({"v": v})))],
        ) {
            let call = Call { id, method, params };
            let decoded = decode(call.to_json().to_string().as_bytes());
            prop_assert_eq!(decoded, Ok(Incoming::Call(call)));
        }
    }
}

//! The JSON shapes of etcd's gRPC gateway (`/v3/…`), as far as cadre uses
//! them. The gateway maps protobuf to JSON: field names as in `rpc.proto`,
//! `int64` as decimal strings, `bytes` as base64, and fields at their
//! default (0, false, empty) left out, so every field here defaults.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `bytes`: base64 on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        STANDARD
            .decode(s.as_bytes())
            .map(Bytes)
            .map_err(serde::de::Error::custom)
    }
}

impl From<&str> for Bytes {
    fn from(s: &str) -> Self {
        Bytes(s.as_bytes().to_vec())
    }
}

/// `int64`: a decimal string on the wire (a bare number is accepted too).
pub mod int64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            S(String),
            N(i64),
        }
        match Either::deserialize(d)? {
            Either::N(n) => Ok(n),
            Either::S(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

fn is_false(v: &bool) -> bool {
    !*v
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Header {
    #[serde(default, with = "int64")]
    pub revision: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct KeyValue {
    #[serde(default)]
    pub key: Bytes,
    #[serde(default, with = "int64")]
    pub create_revision: i64,
    #[serde(default, with = "int64")]
    pub mod_revision: i64,
    #[serde(default)]
    pub value: Bytes,
    #[serde(default, with = "int64")]
    pub lease: i64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RangeRequest {
    pub key: Bytes,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range_end: Option<Bytes>,
    /// Read the member's local state without a quorum round (may be stale).
    #[serde(skip_serializing_if = "is_false")]
    pub serializable: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RangeResponse {
    #[serde(default)]
    pub header: Header,
    #[serde(default)]
    pub kvs: Vec<KeyValue>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PutRequest {
    pub key: Bytes,
    pub value: Bytes,
    #[serde(with = "int64", skip_serializing_if = "is_zero")]
    pub lease: i64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DeleteRangeRequest {
    pub key: Bytes,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range_end: Option<Bytes>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct DeleteRangeResponse {
    #[serde(default)]
    pub header: Header,
    #[serde(default, with = "int64")]
    pub deleted: i64,
}

/// One condition of a transaction.
#[derive(Debug, Clone, Serialize)]
pub struct Compare {
    pub key: Bytes,
    pub result: &'static str,
    pub target: &'static str,
    #[serde(flatten)]
    pub operand: Operand,
}

/// What a [`Compare`] compares the key's `target` with.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operand {
    CreateRevision(#[serde(with = "int64")] i64),
    Value(Bytes),
    Lease(#[serde(with = "int64")] i64),
}

impl Compare {
    /// The key does not exist (it was never created, or was deleted).
    pub fn absent(key: &str) -> Compare {
        Compare::equal(key, "CREATE", Operand::CreateRevision(0))
    }

    /// The key holds exactly `value`.
    pub fn value_is(key: &str, value: &[u8]) -> Compare {
        Compare::equal(key, "VALUE", Operand::Value(Bytes(value.to_vec())))
    }

    /// The key is attached to `lease`.
    pub fn lease_is(key: &str, lease: i64) -> Compare {
        Compare::equal(key, "LEASE", Operand::Lease(lease))
    }

    fn equal(key: &str, target: &'static str, operand: Operand) -> Compare {
        Compare {
            key: key.into(),
            result: "EQUAL",
            target,
            operand,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestOp {
    RequestRange(RangeRequest),
    RequestPut(PutRequest),
    RequestDeleteRange(DeleteRangeRequest),
    RequestTxn(TxnRequest),
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TxnRequest {
    pub compare: Vec<Compare>,
    pub success: Vec<RequestOp>,
    pub failure: Vec<RequestOp>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseOp {
    ResponseRange(RangeResponse),
    ResponsePut(serde_json::Value),
    ResponseDeleteRange(DeleteRangeResponse),
    ResponseTxn(TxnResponse),
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct TxnResponse {
    #[serde(default)]
    pub header: Header,
    #[serde(default)]
    pub succeeded: bool,
    #[serde(default)]
    pub responses: Vec<ResponseOp>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LeaseGrantRequest {
    #[serde(rename = "TTL", with = "int64")]
    pub ttl: i64,
}

/// The reply of grant and of one keep-alive: `TTL` 0 means the lease is gone.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LeaseReply {
    #[serde(default, rename = "ID", with = "int64")]
    pub id: i64,
    #[serde(default, rename = "TTL", with = "int64")]
    pub ttl: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LeaseId {
    #[serde(rename = "ID", with = "int64")]
    pub id: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuthenticateRequest<'a> {
    pub name: &'a str,
    pub password: &'a str,
}

#[derive(Deserialize)]
pub struct AuthenticateResponse {
    #[serde(default)]
    pub token: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct WatchRequest {
    pub create_request: WatchCreateRequest,
}

#[derive(Debug, Clone, Serialize)]
pub struct WatchCreateRequest {
    pub key: Bytes,
    pub range_end: Bytes,
    #[serde(with = "int64", skip_serializing_if = "is_zero")]
    pub start_revision: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct WatchResponse {
    #[serde(default)]
    pub header: Header,
    #[serde(default)]
    pub created: bool,
    #[serde(default)]
    pub canceled: bool,
    #[serde(default, with = "int64")]
    pub compact_revision: i64,
    #[serde(default)]
    pub cancel_reason: String,
    #[serde(default)]
    pub events: Vec<WatchEvent>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct WatchEvent {
    /// "PUT" is the default and left out; deletes say "DELETE".
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub kv: KeyValue,
}

/// One message of a streamed reply (watch, keep-alive).
#[derive(Debug, Deserialize)]
pub struct Frame<T> {
    pub result: Option<T>,
    pub error: Option<StatusBody>,
}

/// An error as the gateway reports it: `{"error","message","code"}` for
/// unary calls, `{"grpc_code","message",…}` inside a stream.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StatusBody {
    #[serde(default)]
    pub message: String,
    #[serde(default, alias = "grpc_code")]
    pub code: i32,
    #[serde(default)]
    pub error: Option<String>,
}

impl StatusBody {
    pub fn text(&self) -> &str {
        if self.message.is_empty() {
            self.error.as_deref().unwrap_or("")
        } else {
            &self.message
        }
    }
}

/// The smallest key after every key starting with `prefix`: etcd's
/// `range_end` for a prefix scan.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // All 0xff (or empty): every key from `prefix` on.
    vec![0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_serializes_as_the_gateway_expects() {
        let c = serde_json::to_value(Compare::absent("k")).unwrap();
        assert_eq!(
            c,
            serde_json::json!({"key":"aw==","result":"EQUAL","target":"CREATE","create_revision":"0"})
        );
        let c = serde_json::to_value(Compare::lease_is("k", 7)).unwrap();
        assert_eq!(c["lease"], "7");
        assert_eq!(c["target"], "LEASE");
    }

    #[test]
    fn replies_with_defaults_left_out_parse() {
        let r: TxnResponse = serde_json::from_str(r#"{"header":{"revision":"3"}}"#).unwrap();
        assert!(!r.succeeded);
        assert_eq!(r.header.revision, 3);
        let f: Frame<LeaseReply> =
            serde_json::from_str(r#"{"result":{"header":{},"ID":"1"}}"#).unwrap();
        assert_eq!(f.result.unwrap().ttl, 0);
    }

    #[test]
    fn prefix_end_is_the_next_key() {
        assert_eq!(prefix_end(b"/cadre/"), b"/cadre0".to_vec());
        assert_eq!(prefix_end(b"a\xff"), b"b".to_vec());
        assert_eq!(prefix_end(b"\xff"), vec![0]);
    }
}

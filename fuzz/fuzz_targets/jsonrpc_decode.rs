//! The JSON-RPC decoder of the A2A and MCP servers on arbitrary bytes: never
//! panics, every rejection carries a JSON-RPC error code the spec names, and
//! every accepted call survives re-encoding and decoding again.
#![no_main]

use cadre::jsonrpc::{self, Incoming};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match jsonrpc::decode(data) {
        Ok(Incoming::Call(c)) => {
            let again = jsonrpc::decode(c.to_json().to_string().as_bytes());
            assert_eq!(again, Ok(Incoming::Call(c)));
        }
        Ok(Incoming::Response { .. }) => {}
        Err(r) => assert!(
            [jsonrpc::PARSE_ERROR, jsonrpc::INVALID_REQUEST].contains(&r.error.code),
            "unexpected code {}",
            r.error.code
        ),
    }
});

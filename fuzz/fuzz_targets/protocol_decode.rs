//! The socket protocol's line decoder on arbitrary bytes: never panics, and
//! any request it accepts survives re-encoding and decoding again.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = cadre::protocol::decode(data) {
        let line = req.to_json().to_string();
        let again = cadre::protocol::decode(line.as_bytes());
        assert!(again.is_ok(), "re-encoded request does not decode: {line}");
    }
});

//! Property tests of what the etcd client parses from the network and of
//! the key layout: a stream of frames in any chunking gives the same
//! frames; garbage never panics and never grows the buffer past its bound;
//! keys round-trip and prefix scans cover exactly their prefix.

use proptest::prelude::*;

use super::frames::FrameReader;
use super::keys::{Keys, check_part};
use super::wire::{self, Bytes, Frame, prefix_end};

/// A response whose body arrives in exactly these chunks.
fn response(chunks: Vec<Vec<u8>>) -> reqwest::Response {
    let stream = futures::stream::iter(
        chunks
            .into_iter()
            .map(|c| Ok::<_, std::io::Error>(bytes_of(c))),
    );
    let body = reqwest::Body::wrap_stream(stream);
    reqwest::Response::from(
        axum::http::Response::builder()
            .status(200)
            .body(body)
            .expect("response"),
    )
}

fn bytes_of(v: Vec<u8>) -> axum::body::Bytes {
    axum::body::Bytes::from(v)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Split `data` at the given cut points (any chunking of one body).
fn chunked(data: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    points.sort_unstable();
    points.dedup();
    let mut out = Vec::new();
    let mut at = 0;
    for p in points.into_iter().chain([data.len()]) {
        out.push(data[at..p].to_vec());
        at = p;
    }
    out
}

proptest! {
    #[test]
    fn frames_survive_any_chunking(revs in proptest::collection::vec(0i64..1_000_000, 1..8),
                                   cuts in proptest::collection::vec(any::<usize>(), 0..12),
                                   newline in any::<bool>()) {
        let sep = if newline { "\n" } else { "" };
        let text: String = revs
            .iter()
            .map(|r| format!(r#"{{"result":{{"header":{{"revision":"{r}"}},"events":[]}}}}{sep}"#))
            .collect();
        let mut reader = FrameReader::new(response(chunked(text.as_bytes(), &cuts)));
        let got = runtime().block_on(async {
            let mut got = Vec::new();
            while let Some(f) = reader.next::<wire::WatchResponse>().await.expect("valid stream") {
                got.push(f.result.expect("result").header.revision);
            }
            got
        });
        prop_assert_eq!(got, revs);
    }

    #[test]
    fn garbage_is_an_error_never_a_panic(data in proptest::collection::vec(any::<u8>(), 0..512),
                                         cuts in proptest::collection::vec(any::<usize>(), 0..6)) {
        let mut reader = FrameReader::new(response(chunked(&data, &cuts)));
        runtime().block_on(async {
            for _ in 0..64 {
                match reader.next::<wire::WatchResponse>().await {
                    Ok(Some(_)) => continue,
                    Ok(None) | Err(_) => break,
                }
            }
        });
    }

    #[test]
    fn keys_round_trip(host in "[a-z0-9.:-]{1,40}", name in "[a-z0-9][a-z0-9-]{0,62}") {
        prop_assume!(check_part("host", &host).is_ok());
        let k = Keys::new("/cadre/");
        let key = k.specialist(&host, &name);
        prop_assert_eq!(k.parse_specialist(&key), Some((host.as_str(), name.as_str())));
    }

    #[test]
    fn a_prefix_scan_covers_exactly_the_prefix(prefix in proptest::collection::vec(any::<u8>(), 1..8),
                                               other in proptest::collection::vec(any::<u8>(), 0..12)) {
        let end = prefix_end(&prefix);
        let mut inside = prefix.clone();
        inside.extend_from_slice(&other);
        prop_assert!(inside >= prefix && (inside < end || end == [0]));
        if !other.starts_with(&prefix) && !other.is_empty() && end != [0] {
            let inside_range = other.as_slice() >= prefix.as_slice() && other < end;
            prop_assert_eq!(inside_range, other.starts_with(&prefix));
        }
    }

    #[test]
    fn base64_bytes_round_trip(data in proptest::collection::vec(any::<u8>(), 0..64)) {
        let json = serde_json::to_string(&Bytes(data.clone())).expect("serialize");
        let back: Bytes = serde_json::from_str(&json).expect("parse");
        prop_assert_eq!(back.0, data);
    }
}

#[test]
fn an_endless_frame_is_cut_off_at_the_bound() {
    let mut chunks = vec![br#"{"result":""#.to_vec()];
    chunks.extend(vec![
        vec![b'a'; 1 << 20];
        super::frames::MAX_FRAME / (1 << 20) + 2
    ]);
    let mut reader = FrameReader::new(response(chunks));
    let err = runtime()
        .block_on(reader.next::<wire::WatchResponse>())
        .unwrap_err();
    assert!(err.contains("over"), "{err}");
}

#[test]
fn an_error_frame_is_reported_as_such() {
    let body = br#"{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader"}}"#;
    let mut reader = FrameReader::new(response(vec![body.to_vec()]));
    let f: Frame<wire::WatchResponse> = runtime()
        .block_on(reader.next())
        .expect("parsed")
        .expect("a frame");
    let st = f.error.expect("error");
    assert_eq!((st.code, st.text()), (14, "etcdserver: no leader"));
}

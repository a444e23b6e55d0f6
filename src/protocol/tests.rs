use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::conversation::{Role, Usage};

fn code_of(line: &str) -> ErrorCode {
    decode(line.as_bytes()).expect_err(line).code
}

#[test]
fn decodes_each_request_type() {
    assert_eq!(
        decode(br#"{"type":"ping"}"#).unwrap(),
        Request::new(RequestBody::Ping)
    );
    assert_eq!(
        decode(br#"{"type":"info","id":7}"#).unwrap().id,
        Some(json!(7))
    );
    assert_eq!(
        decode(br#"{"type":"health"}"#).unwrap().body,
        RequestBody::Health
    );
    let r = decode(
        br#"{"type":"chat","message":"hi","id":"a","stream":true,"temperature":0.5,"max_tokens":9,
            "history":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}],"sender":"x"}"#,
    )
    .unwrap();
    assert_eq!(r.id, Some(json!("a")));
    let RequestBody::Chat(c) = r.body else {
        panic!("not a chat")
    };
    assert_eq!(c.content, "hi");
    assert!(c.stream);
    assert_eq!(c.temperature, Some(0.5));
    assert_eq!(c.max_tokens, Some(9));
    assert_eq!(c.history.len(), 2);
    assert_eq!(c.history[1].role, Role::Assistant);
}

#[test]
fn each_bad_input_has_its_code() {
    assert_eq!(code_of("{not json"), ErrorCode::BadJson);
    assert_eq!(code_of("[1,2]"), ErrorCode::BadRequest);
    assert_eq!(code_of("42"), ErrorCode::BadRequest);
    assert_eq!(code_of(r#"{"content":"x"}"#), ErrorCode::BadRequest);
    assert_eq!(code_of(r#"{"type":3}"#), ErrorCode::BadRequest);
    assert_eq!(code_of(r#"{"type":"dance"}"#), ErrorCode::UnknownType);
    assert_eq!(code_of(r#"{"type":"chat"}"#), ErrorCode::BadRequest);
    assert_eq!(
        code_of(r#"{"type":"chat","content":"  "}"#),
        ErrorCode::BadRequest
    );
    assert_eq!(
        code_of(r#"{"type":"chat","content":"x","stream":"yes"}"#),
        ErrorCode::BadRequest
    );
    assert_eq!(
        decode(b"{\"type\":\"ping\",\"x\":\"\xff\"}")
            .unwrap_err()
            .code,
        ErrorCode::BadJson
    );
}

#[test]
fn errors_echo_the_id_when_readable() {
    let e = decode(br#"{"type":"dance","id":"q1"}"#).unwrap_err();
    assert_eq!(e.id, Some(json!("q1")));
    let e = decode(br#"{"type":"chat","id":5}"#).unwrap_err();
    assert_eq!(e.id, Some(json!(5)));
}

#[test]
fn replies_have_the_documented_shape() {
    let numa: crate::config::SpecialistName = "numa".parse().unwrap();
    let r = Reply {
        specialist: numa.clone(),
        id: Some(json!(1)),
        body: ReplyBody::Response {
            content: "hello".into(),
            model: "m".into(),
            usage: Usage {
                prompt_tokens: 3,
                completion_tokens: 2,
                estimated: false,
            },
            latency_ms: 12,
            consulted: Vec::new(),
        },
    };
    let v: serde_json::Value = serde_json::from_slice(&r.to_line()).unwrap();
    assert_eq!(
        v,
        json!({"specialist":"numa","id":1,"type":"response","content":"hello","model":"m",
               "usage":{"prompt_tokens":3,"completion_tokens":2},"latency_ms":12})
    );
    let e = Reply::error(&numa, None, ErrorCode::TooLarge, "too big");
    let v: serde_json::Value = serde_json::from_slice(&e.to_line()).unwrap();
    assert_eq!(
        v,
        json!({"specialist":"numa","type":"error","code":"too_large","error":"too big"})
    );
    assert_eq!(serde_json::from_value::<Reply>(v).unwrap(), e);
    let pong = Reply {
        specialist: "x".parse().unwrap(),
        id: None,
        body: ReplyBody::Pong,
    };
    assert_eq!(
        serde_json::from_slice::<Reply>(&pong.to_line()).unwrap(),
        pong
    );
}

#[test]
fn consultation_lines_have_the_documented_shape() {
    let numa: crate::config::SpecialistName = "numa".parse().unwrap();
    let line = |body| {
        let r = Reply {
            specialist: numa.clone(),
            id: Some(json!("q1")),
            body,
        };
        let v: serde_json::Value = serde_json::from_slice(&r.to_line()).unwrap();
        assert_eq!(serde_json::from_value::<Reply>(v.clone()).unwrap(), r);
        v
    };
    assert_eq!(
        line(ReplyBody::Consult {
            to: "penia".into(),
            question: "Is the budget approved?".into()
        }),
        json!({"specialist":"numa","id":"q1","type":"consult","to":"penia",
               "question":"Is the budget approved?"})
    );
    assert_eq!(
        line(ReplyBody::ConsultResult {
            to: "penia".into(),
            ok: false,
            content: None,
            error: Some("penia timed out".into()),
            latency_ms: 7
        }),
        json!({"specialist":"numa","id":"q1","type":"consult_result","to":"penia","ok":false,
               "error":"penia timed out","latency_ms":7})
    );
    let v = line(ReplyBody::Response {
        content: "yes".into(),
        model: "m".into(),
        usage: Usage::default(),
        latency_ms: 30,
        consulted: vec![Consulted {
            to: "penia".into(),
            question: "Is the budget approved?".into(),
            latency_ms: 7,
            ok: true,
        }],
    });
    assert_eq!(
        v["consulted"],
        json!([{"to":"penia","question":"Is the budget approved?","latency_ms":7,"ok":true}])
    );
}

#[tokio::test]
async fn reader_splits_lines_and_limits_size() {
    let input: &[u8] = b"{\"a\":1}\r\n\n  \n{\"b\":2}\nlast";
    let mut r = LineReader::new(input);
    assert_eq!(
        r.next_line().await.unwrap(),
        Some(Line::Line(b"{\"a\":1}".to_vec()))
    );
    assert_eq!(
        r.next_line().await.unwrap(),
        Some(Line::Line(b"{\"b\":2}".to_vec()))
    );
    assert_eq!(
        r.next_line().await.unwrap(),
        Some(Line::Line(b"last".to_vec()))
    );
    assert_eq!(r.next_line().await.unwrap(), None);

    let big = [b'x'; 100];
    let mut r = LineReader::with_max(&big[..], 99);
    assert_eq!(r.next_line().await.unwrap(), Some(Line::TooLarge));
    let mut exact = vec![b'y'; 99];
    exact.push(b'\n');
    let mut r = LineReader::with_max(&exact[..], 99);
    assert_eq!(
        r.next_line().await.unwrap(),
        Some(Line::Line(vec![b'y'; 99]))
    );
}

fn arb_message() -> impl Strategy<Value = Message> {
    (
        prop_oneof![Just(Role::User), Just(Role::Assistant), Just(Role::System)],
        ".{0,20}",
    )
        .prop_map(|(role, content)| Message { role, content })
}

fn arb_request() -> impl Strategy<Value = Request> {
    let chat = (
        "[^\\s].{0,40}",
        proptest::collection::vec(arb_message(), 0..4),
        any::<bool>(),
        proptest::option::of(0.0f64..2.0),
        proptest::option::of(any::<u32>()),
    )
        .prop_map(|(content, history, stream, temperature, max_tokens)| {
            RequestBody::Chat(ChatBody {
                content,
                history,
                stream,
                temperature,
                max_tokens,
                consultation: None,
            })
        });
    let body = prop_oneof![
        chat,
        Just(RequestBody::Ping),
        Just(RequestBody::Health),
        Just(RequestBody::Info)
    ];
    let id = proptest::option::of(prop_oneof![
        any::<i64>().prop_map(|n| json!(n)),
        ".{0,10}".prop_map(|s| json!(s)),
    ]);
    (id, body).prop_map(|(id, body)| Request { id, body })
}

proptest! {
    #[test]
    fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode(&bytes);
    }

    #[test]
    fn decoder_never_panics_on_json_like(s in r#"[{}\[\]":,a-z0-9 ]{0,64}"#) {
        let _ = decode(s.as_bytes());
    }

    #[test]
    fn valid_requests_round_trip(req in arb_request()) {
        let line = serde_json::to_vec(&req.to_json()).unwrap();
        prop_assert_eq!(decode(&line).unwrap(), req);
    }
}

proptest! {
    /// Any byte stream splits into lines equal to its newline-separated
    /// pieces (blank ones skipped), or stops at the first oversized one.
    #[test]
    fn reader_never_panics_and_splits_like_split(bytes in proptest::collection::vec(
        prop_oneof![Just(b'\n'), Just(b'\r'), Just(b' '), any::<u8>()], 0..300)) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let got = rt.block_on(async {
            let mut r = LineReader::with_max(&bytes[..], 16);
            let mut out = Vec::new();
            while let Some(line) = r.next_line().await.unwrap() {
                let stop = line == Line::TooLarge;
                out.push(line);
                if stop {
                    break;
                }
            }
            out
        });
        let mut want = Vec::new();
        for piece in bytes.split(|&b| b == b'\n') {
            let piece = piece.strip_suffix(b"\r").unwrap_or(piece);
            if piece.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if piece.len() > 16 {
                want.push(Line::TooLarge);
                break;
            }
            want.push(Line::Line(piece.to_vec()));
        }
        prop_assert_eq!(got, want);
    }
}

#[test]
fn every_error_code_has_its_index_and_one_spelling() {
    for (i, code) in ErrorCode::ALL.into_iter().enumerate() {
        assert_eq!(code.index(), i);
        assert_eq!(serde_json::to_value(code).unwrap(), json!(code.as_str()));
    }
}

//! Shared fixtures of the specialist tests: a loopback Ollama, a spec, a
//! running specialist on a real socket.
#![allow(dead_code)]

pub mod ollama;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cadre::config::{
    Limits, Params, Personality, ProviderKind, ResolvedProvider, ResolvedTimeouts, Spec,
    SpecialistName,
};
use cadre::specialist::{Serving, SpecialistHandle};

pub fn spec(name: &str, base_url: &str, system_prompt: &str) -> Spec {
    Spec {
        name: SpecialistName::parse(name).unwrap(),
        file: PathBuf::from(format!("specialists.d/{name}.toml")),
        component: name.to_owned(),
        title: format!("{name} title"),
        description: format!("{name} description"),
        model: "test-model".into(),
        provider: ResolvedProvider {
            name: "ollama".into(),
            kind: ProviderKind::Ollama,
            base_url: base_url.to_owned(),
            api_key_env: None,
            timeouts: ResolvedTimeouts::default(),
            max_retries: 0,
            keep_alive: None,
        },
        host: "127.0.0.1".into(),
        port: None,
        template: "specialist.md.j2".into(),
        enabled: true,
        personality: Personality {
            prompt: system_prompt.to_owned(),
            ..Personality::default()
        },
        params: Params {
            temperature: Some(0.2),
            ..Params::default()
        },
        health: None,
        system_prompt: system_prompt.into(),
        generation: format!("gen-{}", system_prompt.len()),
    }
}

pub fn serving(spec: Spec) -> Serving {
    let provider = cadre::provider::build(&spec.provider);
    Serving {
        spec: Arc::new(spec),
        provider,
    }
}

/// A specialist on an ephemeral loopback port.
pub fn start(spec: Spec, limits: Limits) -> SpecialistHandle {
    let listener = ollama::loopback_listener();
    SpecialistHandle::spawn(listener, serving(spec), limits).unwrap()
}

pub fn limits() -> Limits {
    Limits {
        max_connections: 1024,
        idle_timeout: Duration::from_secs(30),
        drain_timeout: Duration::from_secs(5),
    }
}

/// A raw line-oriented test client (no cadre code in the way for bad input).
pub struct Raw {
    pub stream: tokio::io::BufReader<tokio::net::TcpStream>,
}

impl Raw {
    pub async fn connect(port: u16) -> Raw {
        // SO_REUSEADDR, as cadre's own clients: see `cadre::net::socket`.
        let s = cadre::net::socket::connect("127.0.0.1", port)
            .await
            .unwrap();
        Raw {
            stream: tokio::io::BufReader::new(s),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        use tokio::io::AsyncWriteExt;
        self.stream.get_mut().write_all(bytes).await.unwrap();
    }

    /// The next line as JSON, or `None` at end of stream; panics after 10 s.
    pub async fn recv(&mut self) -> Option<serde_json::Value> {
        use tokio::io::AsyncBufReadExt;
        let mut line = String::new();
        let n = tokio::time::timeout(Duration::from_secs(10), self.stream.read_line(&mut line))
            .await
            .expect("no reply within 10 s")
            .unwrap_or(0);
        if n == 0 {
            return None;
        }
        Some(
            serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("reply is not JSON ({e}): {line}")),
        )
    }
}

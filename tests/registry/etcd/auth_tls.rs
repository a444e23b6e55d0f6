//! Auth and TLS, on one-member clusters: the password comes from the
//! variable the settings name and never shows in an error; TLS with a
//! client certificate (key from a file or from the environment) works, and
//! a client without the CA or the certificate is refused as unavailable.
//! Each scenario runs in a child process, whose environment holds the secrets.

use cadre::registry::etcd::{
    AuthSettings, Consistency, EtcdError, EtcdStore, PortRequest, TlsSettings,
};

use std::io::Write;
use std::time::Duration;

use super::*;
use crate::fixture::etcd_tls::make_tls;

const PASSWORD: &str = "pw-7f3a9c-secret";
const WRONG: &str = "pw-wrong-2b8e1d";
const HOST: &str = "10.255.8.1";

fn with_password_env(task: &ChildTask, var: &str) -> cadre::registry::etcd::EtcdSettings {
    let mut s = task.settings.clone();
    s.auth = Some(AuthSettings {
        user: "root".into(),
        password_env: var.into(),
    });
    s
}

fn shows_no_secret(e: &EtcdError) {
    for text in [e.to_string(), format!("{e:?}")] {
        assert!(!text.contains(PASSWORD) && !text.contains(WRONG), "{text}");
    }
}

fn auth_child(task: ChildTask) {
    assert_eq!(task.role, "auth");
    runtime().block_on(async {
        let store = EtcdStore::new(&with_password_env(&task, "CADRE_TEST_ETCD_PASSWORD")).unwrap();
        let lease = store.grant_lease().await.unwrap();
        register(&store, lease.id(), HOST, "a", PortRequest::Pinned(1)).await
            .unwrap();
        assert_eq!(store.list(Consistency::Linearizable).await.unwrap().entries.len(), 1);
        lease.revoke().await.unwrap();
        // Idle past the token's TTL (1 s on this member): the next call is
        // refused once, authenticates again and goes on.
        report("authenticated");
        tokio::task::block_in_place(wait_for_parent);
        let again = store.list(Consistency::Linearizable).await.unwrap();
        assert!(again.entries.is_empty());

        let wrong = EtcdStore::new(&with_password_env(&task, "CADRE_TEST_ETCD_WRONG")).unwrap();
        let e = wrong.list(Consistency::Linearizable).await.unwrap_err();
        assert_eq!(e.to_string(), "etcd refused the credentials of user `root`");
        shows_no_secret(&e);

        let anonymous = EtcdStore::new(&task.settings).unwrap();
        let e = anonymous.list(Consistency::Linearizable).await.unwrap_err();
        assert!(e.to_string().contains("user name is empty"), "{e}");
        shows_no_secret(&e);

        let e = EtcdStore::new(&with_password_env(&task, "CADRE_TEST_ETCD_UNSET")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "environment variable CADRE_TEST_ETCD_UNSET (named by auth.password_env) is not set or empty"
        );
    });
    report("ok");
}

#[test]
fn password_auth_reads_the_environment_and_never_shows_the_secret() {
    if let Some(task) = child_task() {
        return auth_child(task);
    }
    let shm = std::path::Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let Some(cluster) = EtcdCluster::start_in(1, &base, None, &["--auth-token-ttl", "1"]) else {
        return;
    };
    cluster.enable_auth(PASSWORD);
    let mut w = Worker::spawn(
        "etcd::auth_tls::password_auth_reads_the_environment_and_never_shows_the_secret",
        "auth",
        &cluster.settings(),
        "",
        &[
            ("CADRE_TEST_ETCD_PASSWORD", PASSWORD),
            ("CADRE_TEST_ETCD_WRONG", WRONG),
        ],
    );
    assert_eq!(w.line(), "authenticated");
    std::thread::sleep(Duration::from_secs(3));
    writeln!(w.stdin.as_mut().unwrap()).unwrap();
    assert_eq!(w.line(), "ok");
    w.finish();
}

fn tls_child(task: ChildTask) {
    assert_eq!(task.role, "tls");
    let full = task.settings.tls.clone().unwrap();
    let with = |tls: TlsSettings| {
        let mut s = task.settings.clone();
        s.tls = Some(tls);
        EtcdStore::new(&s)
    };
    runtime().block_on(async {
        let store = with(full.clone()).unwrap();
        let lease = store.grant_lease().await.unwrap();
        register(&store, lease.id(), HOST, "a", PortRequest::Pinned(1))
            .await
            .unwrap();
        // The key from the environment instead of a file.
        let from_env = with(TlsSettings {
            key_file: None,
            key_env: Some("CADRE_TEST_ETCD_KEY".into()),
            ..full.clone()
        })
        .unwrap();
        assert_eq!(
            from_env
                .list(Consistency::Linearizable)
                .await
                .unwrap()
                .entries
                .len(),
            1
        );

        // No client certificate: the member refuses the handshake.
        let anonymous = with(TlsSettings {
            ca_file: full.ca_file.clone(),
            ..TlsSettings::default()
        })
        .unwrap();
        let e = anonymous.list(Consistency::Linearizable).await.unwrap_err();
        assert!(e.is_unavailable(), "{e}");
        // Not our CA: the member's certificate is not trusted.
        let untrusting = with(TlsSettings {
            ca_file: None,
            ..full.clone()
        })
        .unwrap();
        let e = untrusting
            .list(Consistency::Linearizable)
            .await
            .unwrap_err();
        assert!(e.is_unavailable(), "{e}");
        // A certificate without a key is a settings error, before any request.
        let e = with(TlsSettings {
            key_file: None,
            ..full.clone()
        })
        .unwrap_err();
        assert!(
            e.to_string().contains("needs both cert_file and a key"),
            "{e}"
        );
    });
    report("ok");
}

#[test]
fn tls_with_a_client_certificate_from_a_file_or_the_environment() {
    if let Some(task) = child_task() {
        return tls_child(task);
    }
    let tmp = tempfile::tempdir().unwrap();
    let Some(tls) = make_tls(tmp.path()) else {
        return;
    };
    let Some(cluster) = EtcdCluster::start_in(1, tmp.path(), Some(&tls), &[]) else {
        return;
    };
    let mut settings = cluster.settings();
    settings.tls = Some(TlsSettings {
        ca_file: Some(tls.ca.clone()),
        cert_file: Some(tls.client_cert.clone()),
        key_file: Some(tls.client_key.clone()),
        key_env: None,
    });
    let key = std::fs::read_to_string(&tls.client_key).unwrap();
    let mut w = Worker::spawn(
        "etcd::auth_tls::tls_with_a_client_certificate_from_a_file_or_the_environment",
        "tls",
        &settings,
        "",
        &[("CADRE_TEST_ETCD_KEY", &key)],
    );
    assert_eq!(w.line(), "ok");
    w.finish();
}

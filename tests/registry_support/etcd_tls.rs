//! Certificates for the TLS test of the etcd registry, made with the
//! `openssl` command (installed with etcd by scripts/ci-etcd.sh).

use std::path::Path;
use std::process::Command;

use crate::etcd_cluster::{INSTALL, TlsFiles};

/// A CA, a server certificate for 127.0.0.1 and a client certificate, made
/// with `openssl` in `dir`; `None` (skip) when openssl is not installed
/// outside CI.
pub fn make_tls(dir: &Path) -> Option<TlsFiles> {
    let run = |args: &[&str]| {
        let out = Command::new("openssl").current_dir(dir).args(args).output();
        match out {
            Ok(o) if o.status.success() => Ok(()),
            Ok(o) => Err(String::from_utf8_lossy(&o.stderr).into_owned()),
            Err(e) => Err(e.to_string()),
        }
    };
    if run(&["version"]).is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "openssl is not installed; install it with {INSTALL}"
        );
        println!("skipping: openssl not found; install it with {INSTALL}");
        return None;
    }
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=cadre-test-ca"];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.crt"]);
    ca.extend(["-addext", "basicConstraints=critical,CA:TRUE"]);
    ca.extend(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    run(&ca).expect("openssl CA");
    for (who, usage, cn) in [
        ("server", "serverAuth,clientAuth", "127.0.0.1"),
        ("client", "clientAuth", "root"),
    ] {
        let subj = format!("/CN={cn}");
        let (key, csr, crt, ext) = (
            format!("{who}.key"),
            format!("{who}.csr"),
            format!("{who}.crt"),
            format!("{who}.ext"),
        );
        let mut req = vec!["req", "-new", "-subj", subj.as_str()];
        req.extend(ec);
        req.extend(["-keyout", key.as_str(), "-out", csr.as_str()]);
        run(&req).expect("openssl req");
        std::fs::write(
            dir.join(&ext),
            format!(
                "subjectAltName=IP:127.0.0.1\nextendedKeyUsage={usage}\nbasicConstraints=CA:FALSE\n"
            ),
        )
        .unwrap();
        run(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            &crt,
            "-extfile",
            &ext,
        ])
        .expect("openssl x509");
    }
    Some(TlsFiles {
        ca: dir.join("ca.crt"),
        server_cert: dir.join("server.crt"),
        server_key: dir.join("server.key"),
        client_cert: dir.join("client.crt"),
        client_key: dir.join("client.key"),
    })
}

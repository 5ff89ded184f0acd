//! `tgate doctor` against a real dev server, and its local certificate checks on generated
//! certificates.

mod common;

use common::devserver::{DevServer, free_port};
use common::doctor;
use tgate::connect::doctor::{Class, check_material, check_material_for_run, classify};
use tgate::connect::{Config, Integration};

#[test]
fn diagnoses_real_failures() {
    let server = DevServer::start(&["payments"]);
    let dir = tempfile::tempdir().unwrap();
    let ca = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.cert.pem()).unwrap();
    let closed = format!("127.0.0.1:{}", free_port());
    let extra = format!(
        "  - {{name: wrong-namespace, auth: direct, address: '{a}', namespace: Payments}}\n  - {{name: refused, auth: direct, address: '{closed}', namespace: payments}}\n  - {{name: tls-to-plaintext, auth: direct, address: '{a}', namespace: payments, server_ca: {{file: ca.pem}}}}\n",
        a = server.address
    );
    let config = server.config(dir.path(), "payments", "");
    // The generated file lists the healthy `dev` integration; add the broken ones after it.
    let text = std::fs::read_to_string(&config).unwrap() + &extra;
    std::fs::write(&config, text).unwrap();

    for (backend, probed) in [
        ("auto", serde_json::json!(["cli", "native"])),
        ("cli", serde_json::json!(["cli"])),
        ("grpc", serde_json::json!(["native"])),
    ] {
        let (code, v) = doctor(&config, "dev", backend);
        assert_eq!(code, 0, "{backend}: {v}");
        assert_eq!(v["problems"], serde_json::json!([]), "{backend}");
        assert_eq!(v["probed"], probed, "{backend}");
    }

    // Each failure as the CLI's probe finds it (`auto` stops there) and as the native executor's
    // does: the same class and fix, in each one's words.
    for (name, class, cli_says, native_says, fix) in [
        (
            "wrong-namespace",
            "namespace-not-found",
            "Namespace Payments is not found",
            "unable to describe namespace Payments: Namespace Payments is not found",
            "namespace names are case-sensitive",
        ),
        (
            "refused",
            "unreachable",
            "connection refused",
            "Connection refused",
            "nothing answered at the address",
        ),
        (
            "tls-to-plaintext",
            "certificate",
            "did not respond with TLS",
            "received corrupt message of type InvalidContentType",
            "the server speaks plaintext",
        ),
    ] {
        for (backend, says) in [("auto", cli_says), ("grpc", native_says)] {
            let (code, v) = doctor(&config, name, backend);
            let at = format!("{name} ({backend}): {v}");
            assert_eq!(code, 1, "{at}");
            assert_eq!(v["problems"].as_array().unwrap().len(), 1, "{at}");
            assert_eq!(v["problems"][0]["class"], class, "{at}");
            let said = |key: &str| v["problems"][0][key].as_str().unwrap().to_owned();
            assert!(said("problem").contains(says), "{at}");
            assert!(said("fix").starts_with(fix), "{at}");
        }
    }
}

/// The native executor needs no `temporal` binary, and neither does doctor's probe of it;
/// the backends that run the CLI name its absence as a problem of tgate's setup.
#[test]
fn diagnoses_without_a_temporal_binary() {
    let server = DevServer::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tgate.yaml");
    std::fs::write(
        &config,
        format!(
            "version: 1\nintegrations:\n  - {{name: dev, auth: direct, address: '{}', namespace: default}}\n  - {{name: wrong, auth: direct, address: '{}', namespace: nope}}\n",
            server.address, server.address
        ),
    )
    .unwrap();
    // No `temporal:` and no PATH: there is no binary to find.
    let (code, v) = doctor(&config, "dev", "grpc");
    assert_eq!((code, &v["problems"]), (0, &serde_json::json!([])), "{v}");
    assert_eq!(v["probed"], serde_json::json!(["native"]));
    let (code, v) = doctor(&config, "wrong", "grpc");
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["problems"][0]["class"], "namespace-not-found", "{v}");

    // `auto`: the native probe still runs; the missing binary is reported.
    let (code, v) = doctor(&config, "dev", "auto");
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["probed"], serde_json::json!(["native"]));
    let problems = v["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{v}");
    assert_eq!(problems[0]["class"], "setup", "{v}");
    assert_eq!(
        problems[0]["problem"],
        "no `temporal` binary: commands the native executor does not translate cannot run"
    );
    // `cli`: nothing can be probed.
    let (code, v) = doctor(&config, "dev", "cli");
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["probed"], serde_json::json!([]));
    assert_eq!(v["problems"][0]["class"], "setup", "{v}");
    assert!(
        v["problems"][0]["fix"]
            .as_str()
            .unwrap()
            .starts_with("set `temporal:` in the configuration"),
        "{v}"
    );
}

/// A `temporal` binary that is not the CLI is named as the setup's problem: one that exits 0 with
/// other output has not described the namespace, and one that fails saying nothing is not an
/// address that answered (QA: `/bin/echo` passed the probe; `/bin/false` was diagnosed as a
/// server that is not a Temporal frontend).
#[test]
fn a_binary_that_is_not_the_cli_is_the_setups_problem() {
    let server = DevServer::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    for (binary, problem) in [
        (
            "/bin/echo",
            "the `temporal` binary exited 0 but did not describe the namespace (its output is not the JSON `temporal operator namespace describe -o json` prints)",
        ),
        (
            "/bin/false",
            "the `temporal` binary exited with status 1 and printed no error",
        ),
    ] {
        let config = dir.path().join("tgate.yaml");
        std::fs::write(
            &config,
            format!(
                "version: 1\ntemporal: {binary}\nintegrations:\n  - {{name: dev, auth: direct, address: '{}', namespace: default}}\n",
                server.address
            ),
        )
        .unwrap();
        let (code, v) = doctor(&config, "dev", "cli");
        assert_eq!(code, 1, "{binary}: {v}");
        assert_eq!(v["problems"][0]["class"], "setup", "{binary}: {v}");
        assert_eq!(v["problems"][0]["problem"], problem, "{binary}: {v}");
        assert!(
            v["problems"][0]["fix"]
                .as_str()
                .unwrap()
                .starts_with("check the `temporal` binary tgate runs"),
            "{v}"
        );
    }
}

/// The cap on commands' output does not cut the probe's answer, the namespace's description
/// (review: `max_output_bytes: 800` was diagnosed as an unreachable server).
#[test]
fn a_small_output_cap_does_not_cut_the_probes_answer() {
    let server = DevServer::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let config = server.config(dir.path(), "default", "limits: {max_output_bytes: 800}\n");
    for backend in ["cli", "auto"] {
        let (code, v) = doctor(&config, "dev", backend);
        assert_eq!(
            (code, &v["problems"]),
            (0, &serde_json::json!([])),
            "{backend}: {v}"
        );
    }
}

fn integration_with(dir: &std::path::Path, cert: &str, key: &str) -> Integration {
    std::fs::write(dir.join("c.pem"), cert).unwrap();
    std::fs::write(dir.join("k.pem"), key).unwrap();
    let yaml = "version: 1\nintegrations:\n  - {name: m, auth: cloud-mtls, namespace: ns, account_id: acc, client_cert: {file: c.pem}, client_key: {file: k.pem}}\n";
    Config::from_yaml(yaml, "t.yaml", dir, &|_| None)
        .unwrap()
        .integrations
        .remove(0)
}

#[test]
fn local_checks_find_expired_and_mismatched_material() {
    let dir = tempfile::tempdir().unwrap();
    let good = rcgen::generate_simple_self_signed(vec!["client".into()]).unwrap();
    let ok = integration_with(dir.path(), &good.cert.pem(), &good.key_pair.serialize_pem());
    assert_eq!(ok.address, "ns.acc.tmprl.cloud:7233");
    assert!(check_material(&ok).is_empty(), "{:?}", check_material(&ok));

    let other = rcgen::KeyPair::generate().unwrap();
    let mismatched = integration_with(dir.path(), &good.cert.pem(), &other.serialize_pem());
    let p = check_material(&mismatched);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].class, Class::Certificate);
    assert!(p[0].problem.contains("does not match"));

    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["client".into()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let expired = params.self_signed(&key).unwrap();
    let p = check_material(&integration_with(
        dir.path(),
        &expired.pem(),
        &key.serialize_pem(),
    ));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].problem.contains("expired on"), "{p:?}");

    // A server CA bundle holding an expired root and a valid one (a rotation) is usable; one
    // holding only the expired root is not.
    let ca_of = |ca: &str| {
        std::fs::write(dir.path().join("ca.pem"), ca).unwrap();
        let yaml = "version: 1\nintegrations:\n  - {name: d, auth: direct, namespace: ns, address: 'h:1', server_ca: {file: ca.pem}}\n";
        let cfg = Config::from_yaml(yaml, "t.yaml", dir.path(), &|_| None).unwrap();
        check_material(&cfg.integrations[0])
    };
    let bundle = format!("{}{}", expired.pem(), good.cert.pem());
    assert!(ca_of(&bundle).is_empty(), "{:?}", ca_of(&bundle));
    let p = ca_of(&expired.pem());
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].problem.starts_with("the server CA expired on"),
        "{p:?}"
    );
    // Only Direct Connect has a `server_ca`: its fix does not speak of Temporal Cloud (QA).
    assert_eq!(
        p[0].fix,
        "give `server_ca` the server's current CA certificate (its operator issues a new one when it expires)"
    );
    // A broken block beside a good certificate: the CLI skips it, the native executor refuses
    // the bundle, so doctor names it and `tgate run` does not refuse for it.
    let torn = format!(
        "{}-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n",
        good.cert.pem()
    );
    let p = ca_of(&torn);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].problem
            .starts_with("the server CA bundle holds a block that is not a certificate"),
        "{p:?}"
    );
    // The field and file named, and a block with no END line said in words (QA: the PEM
    // reader's marker as an array of byte values).
    assert!(p[0].problem.ends_with("/ca.pem`)"), "{p:?}");
    let unended = format!("{}-----BEGIN CERTIFICATE-----\nMIIB\n", good.cert.pem());
    let p = ca_of(&unended);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].problem
            .contains("(a block has no `-----END CERTIFICATE-----` line)")
            && p[0].problem.ends_with("/ca.pem`)"),
        "{p:?}"
    );
    // A certificate and its key pasted on one line (line breaks written as `\n`): the PEM
    // reader takes the rest of the line as the block's label, which is never quoted (review: the
    // key was, in doctor's problem and in `tgate run`'s recorded reason).
    let key_pem = good.key_pair.serialize_pem();
    let collapsed = format!("{}\n{key_pem}", good.cert.pem()).replace('\n', "\\n");
    let p = check_material(&integration_with(dir.path(), &collapsed, &key_pem));
    let body: String = key_pem.lines().nth(1).unwrap().chars().take(16).collect();
    assert!(!p.is_empty(), "{p:?}");
    for p in &p {
        assert!(
            !p.problem.contains(&body) && !p.fix.contains(&body),
            "{p:?}"
        );
    }
    // A private key labelled CERTIFICATE after the certificate would be sent to the server as
    // part of the chain (QA: it went out on the wire): `tgate run` refuses it.
    let key_as_cert = key_pem.replace("PRIVATE KEY", "CERTIFICATE");
    let chain = format!("{}{key_as_cert}", good.cert.pem());
    let i = integration_with(dir.path(), &chain, &key_pem);
    assert_eq!(
        problems_of(&check_material_for_run(&i)),
        [
            "a further block of the client certificate chain is not an X.509 certificate: the content of its CERTIFICATE block does not read as one"
        ]
    );
    std::fs::write(dir.path().join("ca.pem"), &torn).unwrap();
    let yaml = "version: 1\nintegrations:\n  - {name: d, auth: direct, namespace: ns, address: 'h:1', server_ca: {file: ca.pem}}\n";
    let cfg = Config::from_yaml(yaml, "t.yaml", dir.path(), &|_| None).unwrap();
    assert!(check_material_for_run(&cfg.integrations[0]).is_empty());
    // A private key labelled CERTIFICATE after the CA passes the load's check for keys, and the
    // CLI would skip it, but it would be written with the CA to the file the CLI reads (QA
    // re-check): `tgate run` refuses the bundle, and nothing of the key is quoted.
    let ca_and_key = format!("{}{key_as_cert}", good.cert.pem());
    std::fs::write(dir.path().join("ca.pem"), &ca_and_key).unwrap();
    let cfg = Config::from_yaml(yaml, "t.yaml", dir.path(), &|_| None).unwrap();
    let p = check_material_for_run(&cfg.integrations[0]);
    assert_eq!(
        problems_of(&p),
        ["the server CA bundle holds a CERTIFICATE block that is not an X.509 certificate"],
        "{p:?}"
    );
    assert!(!format!("{p:?}").contains(&body), "{p:?}");
    // A certificate with a private key's bytes after it in one block: the parser reads the
    // certificate and leaves the rest, which would have been sent with the chain, or written
    // with the CA (review). Refused wherever it is.
    let glued = {
        use base64::Engine as _;
        let mut der = good.cert.der().to_vec();
        der.extend_from_slice(good.key_pair.serialized_der());
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|l| std::str::from_utf8(l).unwrap())
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    };
    let p = check_material_for_run(&integration_with(dir.path(), &glued, &key_pem));
    assert_eq!(
        problems_of(&p),
        [
            "the client certificate is not an X.509 certificate: the content of its CERTIFICATE block does not read as one"
        ]
    );
    let chain = format!("{}{glued}", good.cert.pem());
    let p = check_material_for_run(&integration_with(dir.path(), &chain, &key_pem));
    assert_eq!(
        problems_of(&p),
        [
            "a further block of the client certificate chain is not an X.509 certificate: the content of its CERTIFICATE block does not read as one"
        ]
    );
    std::fs::write(
        dir.path().join("ca.pem"),
        format!("{}{glued}", good.cert.pem()),
    )
    .unwrap();
    let cfg = Config::from_yaml(yaml, "t.yaml", dir.path(), &|_| None).unwrap();
    assert_eq!(
        problems_of(&check_material_for_run(&cfg.integrations[0])),
        ["the server CA bundle holds a CERTIFICATE block that is not an X.509 certificate"]
    );

    let broken = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n";
    let p = check_material(&integration_with(dir.path(), broken, &key.serialize_pem()));
    // Said in words, naming the field and the file (QA: the parser's `Der(UnexpectedTag {..})`).
    assert_eq!(
        problems_of(&p),
        [
            "the client certificate is not an X.509 certificate: the content of its CERTIFICATE block does not read as one"
        ],
        "{p:?}"
    );
}

/// An X.509 version 1 certificate (`openssl x509 -req` without extensions; valid until 2126), with
/// its P-256 key.
const V1_CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIBFTCBvQIUIPwvngY6SuwMEZSZttn7RvlSlS4wCgYIKoZIzj0EAwIwDTELMAkG\nA1UEAwwCdjEwIBcNMjYxMjAyMDcyNjE0WhgPMjEyNjExMDgwNzI2MTRaMA0xCzAJ\nBgNVBAMMAnYxMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE9B28SZjjXT6naMaX\noLm32/NMHithM2YufdxxOs97iTgUncNgtQ0MHCZhjzW9olTcTK84XGOWvOv/inIG\nhXEVWDAKBggqhkjOPQQDAgNHADBEAiA4IhK+SEjJ/imN+qJop8oWsrjlqAzNatu6\niw8KXo0bygIgHDcR4W30FOqW4rtBwvHxu/dU5B0SpL0739/81KdE4NQ=\n-----END CERTIFICATE-----\n";
const V1_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgKHfsNXeb0hdY9v/r\nXJMvyjHdxiHggSIBtatR3u6xSq+hRANCAAT0HbxJmONdPqdoxpegubfb80weK2Ez\nZi593HE6z3uJOBSdw2C1DQwcJmGPNb2iVNxMrzhcY5a86/+KcgaFcRVY\n-----END PRIVATE KEY-----\n";

/// Version 1 certificates work with the CLI, not with the native executor (rustls): doctor names
/// the problem, `tgate run` does not refuse the integration for it (the CLI backend takes it).
#[test]
fn a_version_1_client_certificate_is_named_for_the_native_executor_only() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = integration_with(dir.path(), V1_CERT, V1_KEY);
    let p = check_material(&v1);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].class, Class::Certificate);
    assert!(
        p[0].problem.starts_with(
            "the client certificate is X.509 version 1: the native executor takes only version 3"
        ),
        "{p:?}"
    );
    assert!(check_material_for_run(&v1).is_empty());
}

/// A P-521 certificate (`openssl req -x509`, version 3, valid until 2126) and its key, as PKCS#8
/// (`-----BEGIN PRIVATE KEY-----`, the curve in the algorithm) and as SEC 1 (`-----BEGIN EC
/// PRIVATE KEY-----`, the curve inside); another P-521 key; the same key without its public key
/// (`openssl ec -no_public`).
const P521_CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB9zCCAVigAwIBAgIUKf3mCiKnk7HqtZudJoS6/B0jjWAwCgYIKoZIzj0EAwIw\nDzENMAsGA1UEAwwEcDUyMTAgFw0yNjEyMDIxMTM3MzFaGA8yMTI2MTEwODExMzcz\nMVowDzENMAsGA1UEAwwEcDUyMTCBmzAQBgcqhkjOPQIBBgUrgQQAIwOBhgAEARAg\nn/I3HILNdoFqsWl8y1RAvAnz2TuMBuOPX7KqCbB4MiwN2jptI2Pr6spUtG7tzmVi\n4OV4RPOYK5Rr0xfguMtCAIUBLgqriFapm4EW6FptUSa15NAiOOI5y8ebeL9XOp5x\nVvZ4v2aaGKz/RG2Seet20OHNj8qFaPnTxvWtttQXeua4o00wSzAdBgNVHQ4EFgQU\nUNZxDI4LTtlega9JIxBvRKqGdk0wHwYDVR0jBBgwFoAUUNZxDI4LTtlega9JIxBv\nRKqGdk0wCQYDVR0TBAIwADAKBggqhkjOPQQDAgOBjAAwgYgCQgCtLAKFvhNELCwH\nYJlchGr+/3XTbAEe5cVAQLXKoqAI5ahPDirpguSplgh9lp506WRzYr08t3VyUNQp\nwXxslOZtIQJCAbLDGHFoctTuGDf1bIUSZDi9gqJpW53VUv4ugWYO7wG2zCgYWXge\ngN4zzpEndIJdt4cUEG85jT60bNQotg1ELmz/\n-----END CERTIFICATE-----\n";
const P521_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIHuAgEAMBAGByqGSM49AgEGBSuBBAAjBIHWMIHTAgEBBEIAjlIZtJuB6AKj1Mbf\nF+KRqFdVg/+bsmP1FmRYcxqeicI+MOgPNNrFrjrjRpiTrP/fjiFJmslPoIALxO9p\n7LueEAGhgYkDgYYABAEQIJ/yNxyCzXaBarFpfMtUQLwJ89k7jAbjj1+yqgmweDIs\nDdo6bSNj6+rKVLRu7c5lYuDleETzmCuUa9MX4LjLQgCFAS4Kq4hWqZuBFuhabVEm\nteTQIjjiOcvHm3i/VzqecVb2eL9mmhis/0RtknnrdtDhzY/KhWj508b1rbbUF3rm\nuA==\n-----END PRIVATE KEY-----\n";
const P521_KEY_SEC1: &str = "-----BEGIN EC PRIVATE KEY-----\nMIHcAgEBBEIAjlIZtJuB6AKj1MbfF+KRqFdVg/+bsmP1FmRYcxqeicI+MOgPNNrF\nrjrjRpiTrP/fjiFJmslPoIALxO9p7LueEAGgBwYFK4EEACOhgYkDgYYABAEQIJ/y\nNxyCzXaBarFpfMtUQLwJ89k7jAbjj1+yqgmweDIsDdo6bSNj6+rKVLRu7c5lYuDl\neETzmCuUa9MX4LjLQgCFAS4Kq4hWqZuBFuhabVEmteTQIjjiOcvHm3i/VzqecVb2\neL9mmhis/0RtknnrdtDhzY/KhWj508b1rbbUF3rmuA==\n-----END EC PRIVATE KEY-----\n";
const P521_OTHER_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIHuAgEAMBAGByqGSM49AgEGBSuBBAAjBIHWMIHTAgEBBEIB1EQCVsvqAknLRJ2z\nFpSMIx6Q3GCRjo12XVi3fKhkRt2QMgAofTklKfr7CfuCazXhRRlwmgAiGrtBkipA\nXNuE5YWhgYkDgYYABAFmjFKVSBRUO7lwvSpLATW9y7wAHNnCNkUiYhezthxAHN5q\nlecwl2IBbsfXF3RA88j+hVO6vaz75BYAX9v02UB18gCKtr2rtNRYtnCKlOiS5JaW\n1E/jFD3ZNIHB32sugrxc5+6hA+Pd21bYo0fP/paaFSykAlqsLmv3LgEcKccs/kUB\nsw==\n-----END PRIVATE KEY-----\n";
const P521_KEY_NO_PUBLIC: &str = "-----BEGIN EC PRIVATE KEY-----\nMFACAQEEQgCOUhm0m4HoAqPUxt8X4pGoV1WD/5uyY/UWZFhzGp6Jwj4w6A802sWu\nOuNGmJOs/9+OIUmayU+ggAvE72nsu54QAaAHBgUrgQQAIw==\n-----END EC PRIVATE KEY-----\n";

/// A 1024-bit RSA certificate (valid until 2126) and its key (PKCS#8 and PKCS#1), and another
/// such key: ring loads no RSA key under 2048 bits; the CLI takes them. Keys the CLI refuses
/// (checked with the 1.9.1 binary: "found unknown private key type in PKCS#8 wrapping", "failed
/// to parse private key", "unsupported elliptic curve"): X25519, RSA-PSS, DSA, secp256k1 (with a
/// certificate of its own), and a `PRIVATE KEY` block of random bytes. Made with `openssl
/// genpkey` and `openssl req -x509`.
const RSA1024_CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB/jCCAWegAwIBAgIUSYBRI4JIekoDF7i+580TyJRfOB4wDQYJKoZIhvcNAQEL\nBQAwEDEOMAwGA1UEAwwFcjEwMjQwIBcNMjYxMjAzMTE0NTIxWhgPMjEyNjExMDkx\nMTQ1MjFaMBAxDjAMBgNVBAMMBXIxMDI0MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCB\niQKBgQDYeWhzgYStSi4Vzzhr2vgSt5ea9nFfzbHFYiHL2UNT5PuCwoa0cV9eN7pB\nkQlXdhV/J9DqKcafOzpobmRb8uvkoI2QV6fpcguI/dUfkHllxDLB2ruGEILMnIAX\nWzWjsviTQxnun6i40LSHb9WFCJ6KcBvFbahaB0zjIwHLNxB7/wIDAQABo1MwUTAd\nBgNVHQ4EFgQUaVYQ9CTGFhBrodge3cAqLLg3CIowHwYDVR0jBBgwFoAUaVYQ9CTG\nFhBrodge3cAqLLg3CIowDwYDVR0TAQH/BAUwAwEB/zANBgkqhkiG9w0BAQsFAAOB\ngQA+FvALdZ1LF2yStnPg2IMWAzcB6/CJGju1VmIF9RnxKf/dHrrvwB31J81pSjod\nUxTUAxcl+UdaB8rC4eEVtfDihGK3oUsLcWcpUWVJ7f7Kzw/bC8kaizBnkDNNooFQ\nraN/PluB4nx4wendTe9mLqSjYk21V+tW7GXNzxzEl1kAjA==\n-----END CERTIFICATE-----\n";
const RSA1024_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIICeAIBADANBgkqhkiG9w0BAQEFAASCAmIwggJeAgEAAoGBANh5aHOBhK1KLhXP\nOGva+BK3l5r2cV/NscViIcvZQ1Pk+4LChrRxX143ukGRCVd2FX8n0Oopxp87Omhu\nZFvy6+SgjZBXp+lyC4j91R+QeWXEMsHau4YQgsycgBdbNaOy+JNDGe6fqLjQtIdv\n1YUInopwG8VtqFoHTOMjAcs3EHv/AgMBAAECgYBwIuwtsXEmR1/6Ij8K+AI7x+j7\n+B+gzjABnKT/MQvEgMCc6uHWxUfuyZVtc5FQQjY+iUSamItwXsER6eWJEByLfTug\n8026qu9RT2dtnRNIii16UYktbaPNGwftwmgVSHRZTdNyOQGQIXcKlFesFIauOLxR\nyTfFw7pzxU4pkj6zmQJBAPfpVaEld12JwXic37cIPjvEZthsBgWUfXDsaY+E38kP\nt5nx7mrVF8diO37tNb2IeKLQJLN+zMMd9bW6ZuHBeNsCQQDfiX8AkcTCVfdHI5Co\n1dVhfZtNFpFnHz4wlWoytolJv1c05x68Pp2kk3xhN5MbBBJdRh6Ci5bBnyEwLzeg\n9nCtAkEAq/+yTjxtRXNWzLSiLh3E97h61jqULvjn0xni3xUEIj4KVv9YN7yiY83O\nk3BGMbpmYCdi3znhHJpDqBKsYILXswJBAK0BW3vzVZcatZEnY3RoWwdjEWkuSEbJ\nlXZAjbrGL6cWIcZeAhmrVJLlWuRbAM1t71ClTkO3CWy9XhBO2v0G/tkCQQDmNgdF\n3EBxPs3TW8Bk7Yj6sIdFa0JsqAnuXqg5mvpw3LDfaOMAxnYFoYlH56VC+YE3/LBK\nCmQtLWMnRJsTUMHS\n-----END PRIVATE KEY-----\n";
const RSA1024_OTHER_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIICdgIBADANBgkqhkiG9w0BAQEFAASCAmAwggJcAgEAAoGBAMMuad0OjX2R1A0Y\na/kaja5Z2sX4kG+zEE2TFzno24ZsnOSUZNFyjKGN2P5OqrLiCKa0Lt9aIWZiwn8A\nCYCb50ygasur1s4K//OD5KipmjL7T4GHiy9gNA0EagUf8Q6MdE1bZDprVhasGZQ7\nMLVA9cJ5lCWR0KimOFZEQpYda1dVAgMBAAECgYEAwAxaRBW+qPClauE91JUJFaX6\nOtOSIyZZA0uZDfUOlB0o300YSnJg59Gv0sLK+UqpYoZmnISN2rWQVPBPaUl98tJQ\nLBsxow4G+FQjJK5QJ0+HSGMTGVbTewWZfuRJ4FKsRUhUjDB1nJcPcg65C7SsdDlX\ncFxQ993bwJk3MeSH+70CQQDsP1GHJi1YJ55pLgMwcmKE0qMTd+grK9/tf4KBermA\nbNpdeW0tUJAu/06p/hmq5+BI/kdrbiOPFF1K6ZaRDgwnAkEA04AcLpFwZ+qxH2JZ\nlB2qK5jQQ3Y19UqsPdra2u3O8OmHMkPicxSOJNv0nKua6I1q4PZQZ7NXuQ8a2HAY\nQxmiIwJASKW781xZC0e7ncppbqduBjwjq6Puv//Q716Lijdr/cL7b00ctpeUju8x\niHK7/+MoBCo1WiLXSnNPsO6dv2NbdwJAHPyT4DYCp9tchyadjFU8e1koQfazkni3\nfoq+L/8ju5Tl+JehM5B/osGaltZWFsU6/rYDcxL7VNujHELQsHGU7QJAFwJMXt7Y\nJW+evLuGQrqca4YYOib+vCqMuBQELmEKc5An/DgUYFHs7zZhAlGgc5RUrbKB8+Ha\nhFnWPCQa7kPk9Q==\n-----END PRIVATE KEY-----\n";
const X25519_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VuBCIEIFg8ejXyIrm73wYyiAGvRapzCxj8K0wBPcGTA2sFFF9R\n-----END PRIVATE KEY-----\n";
const RSA_PSS_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIEuwIBADALBgkqhkiG9w0BAQoEggSnMIIEowIBAAKCAQEArfrzqomyIj5VoG98\nREQNpU/f766w7T3pwLczuqB+JHV/XDK2niUwpz+NO5WFBYw6CBCXlj0qaANgBqvA\nyuBlMtIdD+ETyyeKub8p9j9IzmiDEXvNjUHN5kM1v1OZ2crnDe7tAkFpi0/Yfu58\nM+zPQxMxd48C+U5jQ8LHMOILMrUtdhSv4+218MfuPoI/199IP5/dXm6ewcNOco9p\ntOw/EZpO4DwICouiX6ssycgphQIgwoNBDqCxztML5+AUS/7huhO3dn72mpPT0hLI\nwDz5Ne07vRL1enVSmP6rTCYkpMgUhKl7sDADbvcXOXTX8SoujiSA/MyIgjtQWL4N\nUQoatQIDAQABAoIBACUtzKZz+Hoy4e+AA4k/Fb9u+0boCO0Z3vsM62QFag92gHn+\naGIRRn1nKlJCWIPf/IK+sPYtKgPCPOIQEAoKu/WJSyaajbVLROz+ugPicDeTw/aX\ng0yddFexoym4vtb48jlbBpEF030u2e/+HNKn137Y+ig3ioYmRzYyyIhctdHm5NZf\nK8+9UROWINeBTU571dcGwjSPUCst3ExVsVCBWe3+eQuWNXjj7UvJAJalYeJRXKUb\nxbA2tunkvV7UJ4Zxv5bhaGfEoTS4GiYRE3+7BvCicuA9Wb9gRwctM+JkRHA3GL4B\nA4sjfCwpSrl3w/W7ImB8VdHgjzmr9HVZP2CeUV0CgYEA8AzXp8PfYg63ssgROzLr\nJLXSeujpHjoU1LuhqAiJ3t6/tOdrsS20b9JpR3Z8uMGgYvzDQRCDGvOYfVvQWTK/\nJ0QJcDUY08BMTjE0vZLZdIcDbBz1suZRNU/iSOvizeSFvhIRGs3+yA1NnEAzXmt2\nTd8LBYFEaGN73siwhuNBEEsCgYEAuYpJefznGpkNdtvCqAvA0r8vUfvT1VYgSoz6\naYJd1aeFyQospesXUUQd7w5rU/XwAkY1X9SmqZ4zbFFuNaGf/Gahfy/CSDDOsvB8\nxQ/XB85YrulRe+OQTS/hokTqI7mYga0TJlUhnagoB316esrxRoY22fa5/T079YO8\n7+ukoP8CgYAjn+RJU3pNVR3R/HsCLBZVhl5MO1CNWdVJlObyxwGe/7O3pziGPOAw\nUCurnVv5F1M0HYrklwy97TTONdf/xNY1f5Ve/6JFmp44ZHkNQUPgVUEexFV6TU/z\n93z/kXJBWA65HHlJXxTWn5LLA4QcGRqfh+Bc2shKLalucJ4yBnvbbQKBgEhuI6Dr\niYxok0kDIUpYzD15RQ/MLzXpGVIBFwB5VAhEDYYd4rAixkeDP+xCxMNSDw/UOKHg\nce9lQs3WPB/TqJDvv7vW+REVfJt+JjcHp/n0I8qkaprii0KWno6qOH0Zxt9YoVEl\niqnxKy9BXL7y2p2dZ2xPVOv3K6D8fJVseCghAoGBAOGnDA+N9NusruYA7OBU1Jp4\nQ1/tuUEOUodpKswli+muLasHy7XmEAE9Ek7rfxYL1r0S/wE8nAVNkuyW3Lj1zCPt\n6+oCv4ig8J+hl58jbi6H8VZNr0F+7F/oLIdbI4IV6DlenDNkn6kaQpdn1ux/yL54\naV7LtJjeqblgz2Wh3a5h\n-----END PRIVATE KEY-----\n";
const DSA_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIBWgIBADCCATMGByqGSM44BAEwggEmAoGBAKUDWUksI8iCr3UbI1RhHKn3GbaA\neqEHeDJtrVhJGwYehh9NVGPi793PvS5p8SfK+WwnQdUWQoskYGocjiCDqLax3ESi\n2jTx+xLI//YFJm5VXQC0JePKZzdZsIAsvDrHO5KGWNAf9mPu8FHHwqqUXzy8ZX/D\nj7Dx2QMLt2UBdlFvAh0A5dwM9JNMkEzDYz42pVOCX7Qz7QiyOBt5kNSbxwKBgBIt\nSwjd1rraF8zpvVFSC6ep7a9yNqBqSPYA9grF+zA+ji1ucvnEfyRF5AeRlLeKwG1r\nzQolqXRkX3c1E1aFoh1IbDyHncMtDQ2unYoFRtGfuTAaKja/xaSvuxFrJgtJjL4G\nbYFoZsQu97heEkyAvboiHL6fOZ76ipSLjcOPHq2IBB4CHHCOv3G9uwLp1HKmzkN5\nSbDduYkyOcqDPGZTp4E=\n-----END PRIVATE KEY-----\n";
const SECP256K1_CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIBbzCCARSgAwIBAgIUOn93p4pXvt0LiBBHwNds89hWqoowCgYIKoZIzj0EAwIw\nDTELMAkGA1UEAwwCazEwIBcNMjYxMjAzMTE0NTIxWhgPMjEyNjExMDkxMTQ1MjFa\nMA0xCzAJBgNVBAMMAmsxMFYwEAYHKoZIzj0CAQYFK4EEAAoDQgAErrazwx390crA\nk8ytGTXeB/SF8N12LqbXUH+9/pdJUdNWr7y8VCOdNbDR8VlRb9YXpmonxOIV0/1S\ntoK3nZXwBaNTMFEwHQYDVR0OBBYEFIeQITcSH5KlpEwLUshfvfOrA8SbMB8GA1Ud\nIwQYMBaAFIeQITcSH5KlpEwLUshfvfOrA8SbMA8GA1UdEwEB/wQFMAMBAf8wCgYI\nKoZIzj0EAwIDSQAwRgIhAK8WSlV/Jy/+1xSt3kTLDFnJ9U2qp7kS27EiVN5vDG2H\nAiEArAqr0pibxvj3pEIpbU6NYu7URHIgPNdQpAkrWyrrprg=\n-----END CERTIFICATE-----\n";
const SECP256K1_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIGEAgEAMBAGByqGSM49AgEGBSuBBAAKBG0wawIBAQQgA/0iky34vMOl3gFo8pVf\nrsHzaQOPvx/PPjVI0I1oz2KhRANCAASutrPDHf3RysCTzK0ZNd4H9IXw3XYuptdQ\nf73+l0lR01avvLxUI501sNHxWVFv1hemaifE4hXT/VK2gredlfAF\n-----END PRIVATE KEY-----\n";
const NOT_A_KEY: &str = "-----BEGIN PRIVATE KEY-----\ngRuLxE4wZUJJS/I1aeBWY3Mrk3TLsXwIH0wp0GeZe6KSPJFcR2WcRP5R2clkVGaq\n+NtMKaBsgUQFirV5VGHVpFIFncRE0HHaFjk7nFdn7VweZODbbOhj1naWMs7pfYRd\n7p2gf62JIw45ZEtbC7NdSsR0aNGhqXgz\n-----END PRIVATE KEY-----\n";
const RSA1024_KEY_PKCS1: &str = "-----BEGIN RSA PRIVATE KEY-----\nMIICXgIBAAKBgQDYeWhzgYStSi4Vzzhr2vgSt5ea9nFfzbHFYiHL2UNT5PuCwoa0\ncV9eN7pBkQlXdhV/J9DqKcafOzpobmRb8uvkoI2QV6fpcguI/dUfkHllxDLB2ruG\nEILMnIAXWzWjsviTQxnun6i40LSHb9WFCJ6KcBvFbahaB0zjIwHLNxB7/wIDAQAB\nAoGAcCLsLbFxJkdf+iI/CvgCO8fo+/gfoM4wAZyk/zELxIDAnOrh1sVH7smVbXOR\nUEI2PolEmpiLcF7BEenliRAci307oPNNuqrvUU9nbZ0TSIotelGJLW2jzRsH7cJo\nFUh0WU3TcjkBkCF3CpRXrBSGrji8Uck3xcO6c8VOKZI+s5kCQQD36VWhJXddicF4\nnN+3CD47xGbYbAYFlH1w7GmPhN/JD7eZ8e5q1RfHYjt+7TW9iHii0CSzfszDHfW1\numbhwXjbAkEA34l/AJHEwlX3RyOQqNXVYX2bTRaRZx8+MJVqMraJSb9XNOcevD6d\npJN8YTeTGwQSXUYegouWwZ8hMC83oPZwrQJBAKv/sk48bUVzVsy0oi4dxPe4etY6\nlC7459MZ4t8VBCI+Clb/WDe8omPNzpNwRjG6ZmAnYt854RyaQ6gSrGCC17MCQQCt\nAVt781WXGrWRJ2N0aFsHYxFpLkhGyZV2QI26xi+nFiHGXgIZq1SS5VrkWwDNbe9Q\npU5DtwlsvV4QTtr9Bv7ZAkEA5jYHRdxAcT7N01vAZO2I+rCHRWtCbKgJ7l6oOZr6\ncNyw32jjAMZ2BaGJR+elQvmBN/ywSgpkLS1jJ0SbE1DB0g==\n-----END RSA PRIVATE KEY-----\n";

/// Keys the CLI parses but never signs a handshake with (review, against `openssl s_server
/// -Verify 1`): a 512-bit RSA key (`crypto/rsa: 512-bit keys are insecure`) and a P-224 key (no
/// signature scheme: no certificate sent), each with its own certificate.
const RSA512_CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIBdzCCASGgAwIBAgIUbpfX4RpkiLC1eebK+ezEWWDLoJ8wDQYJKoZIhvcNAQEL\nBQAwDzENMAsGA1UEAwwEcjUxMjAgFw0yNjEyMDMxMjAyMDRaGA8yMTI2MTEwOTEy\nMDIwNFowDzENMAsGA1UEAwwEcjUxMjBcMA0GCSqGSIb3DQEBAQUAA0sAMEgCQQDF\nMxjfYwvE1Nh1gUB15czej82MUtiGl4p/7c5GDplhrpzq9C2pBMB5Vdu+HHA/0TDc\nkMOn2l6oxlCMUdAEVl/fAgMBAAGjUzBRMB0GA1UdDgQWBBQpqFsGcjs8Da0IXxfC\na5EwUEXr3jAfBgNVHSMEGDAWgBQpqFsGcjs8Da0IXxfCa5EwUEXr3jAPBgNVHRMB\nAf8EBTADAQH/MA0GCSqGSIb3DQEBCwUAA0EAsMBcQCO4hsgLNS4Bw25hHD4xoES3\nAD07pE2qu0zBPg7mqHK0auedBrIHoNPaTYEzMLFBPTJKEb74zKtnJRVmJg==\n-----END CERTIFICATE-----\n";
const RSA512_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEAxTMY32MLxNTYdYFA\ndeXM3o/NjFLYhpeKf+3ORg6ZYa6c6vQtqQTAeVXbvhxwP9Ew3JDDp9peqMZQjFHQ\nBFZf3wIDAQABAkBEto1QKX8MUu4p46PGcRB17L2+y49PNra35PEfUC757fS14fa0\n3fsL0Unt2qNoBXsrdJ3+uv6rHgMdxg9wLR6hAiEA+I/jghhdrharzmQ5fQBMsUdR\n6dAlfjqDtdg2CGYcX5MCIQDLGb72X62TJmTAow+7ke0fYzRudF8fxJ4C0+7KSJK2\nBQIhAJDS/aMqYULy0K3Tta9Agm70eCS8c2wF2gIU9P6VyEhjAiEAp184N+DxMerZ\n7MZ0GKdROiSO+Nd97LgjX0E38AuOm+ECIAXN3aS8/wqgUD0HHbGOdOGGiYQHQxrV\nZsIO+d868EQN\n-----END PRIVATE KEY-----\n";
const P224_CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIBYjCCARCgAwIBAgIUUaciZ6mPVo5m05QTJPH2OQqVCxIwCgYIKoZIzj0EAwIw\nDzENMAsGA1UEAwwEcDIyNDAgFw0yNjEyMDMxMjAyMDRaGA8yMTI2MTEwOTEyMDIw\nNFowDzENMAsGA1UEAwwEcDIyNDBOMBAGByqGSM49AgEGBSuBBAAhAzoABB0iub2i\nE1UL2mRysGK8aKFMWgNApK6D3bWsdwvpShpwQnYjeG9agu87nuZXSbGFtVr7n36C\nERlQo1MwUTAdBgNVHQ4EFgQUczJnsyMANniJaEOEBYRadsCwATowHwYDVR0jBBgw\nFoAUczJnsyMANniJaEOEBYRadsCwATowDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjO\nPQQDAgNAADA9Ah0Ay0INhqaksEsK9n54qPJCk7G/S8r4bQs8oMGF2gIcK+ehmdKJ\nYdTbqmUF2qelwR58Mr9nRYqa0qj3tQ==\n-----END CERTIFICATE-----\n";
const P224_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMHgCAQAwEAYHKoZIzj0CAQYFK4EEACEEYTBfAgEBBBz716YEJGPZiONAGRhJ4y1n\njaqvY7XnbzlwJ8MWoTwDOgAEHSK5vaITVQvaZHKwYrxooUxaA0CkroPdtax3C+lK\nGnBCdiN4b1qC7zue5ldJsYW1WvuffoIRGVA=\n-----END PRIVATE KEY-----\n";

const MISMATCH: &str = "the client key does not match the client certificate";
const UNSUPPORTED: &str = "the client key uses an algorithm or size the native executor does not support (the CLI, and so `--backend cli`, takes it)";
const UNUSABLE: &str = "the client key is not a key either executor can use: not a well-formed RSA key, ECDSA key (P-256, P-384, P-521) or Ed25519 key (X25519, RSA-PSS, DSA and the like cannot sign a TLS handshake here)";

/// The problems said, each without the field and file it ends with, which are checked: the
/// field's own file, as `integration_with` (and the tests' `server_ca`) write them.
fn problems_of(p: &[tgate::connect::doctor::Problem]) -> Vec<&str> {
    p.iter()
        .map(|p| {
            let (said, at) = p
                .problem
                .rsplit_once(" (`")
                .unwrap_or_else(|| panic!("no field named: {}", p.problem));
            let file = match at.split_once('`').map(|(field, _)| field) {
                Some("client_cert") => "c.pem",
                Some("client_key") => "k.pem",
                Some("server_ca") => "ca.pem",
                other => panic!("{other:?}: {}", p.problem),
            };
            assert!(at.ends_with(&format!("/{file}`)")), "{}", p.problem);
            said
        })
        .collect()
}

/// ring cannot load a P-521 key, which the CLI takes: it is compared with its certificate by the
/// public key it carries, so that a wrong one is refused before any connection, as for the
/// other key types.
#[test]
fn a_p521_key_is_compared_with_its_certificate() {
    let dir = tempfile::tempdir().unwrap();
    for key in [P521_KEY, P521_KEY_SEC1] {
        let i = integration_with(dir.path(), P521_CERT, key);
        assert!(
            check_material_for_run(&i).is_empty(),
            "{:?}",
            check_material_for_run(&i)
        );
        // Doctor names it for the native executor only.
        assert_eq!(problems_of(&check_material(&i)), [UNSUPPORTED]);
    }
    // Another P-521 key; a P-521 key under a P-256 certificate; a P-256 key under the P-521
    // certificate.
    let (p256_cert, p256_key) = {
        let k = rcgen::generate_simple_self_signed(vec!["client".into()]).unwrap();
        (k.cert.pem(), k.key_pair.serialize_pem())
    };
    for (cert, key) in [
        (P521_CERT, P521_OTHER_KEY),
        (p256_cert.as_str(), P521_KEY),
        (P521_CERT, p256_key.as_str()),
    ] {
        let i = integration_with(dir.path(), cert, key);
        assert_eq!(
            problems_of(&check_material_for_run(&i)),
            [MISMATCH],
            "{key}"
        );
        assert!(
            problems_of(&check_material(&i)).contains(&MISMATCH),
            "{key}"
        );
    }
    // A key without its public key cannot be compared here: the handshake tells.
    let i = integration_with(dir.path(), P521_CERT, P521_KEY_NO_PUBLIC);
    assert!(
        check_material_for_run(&i).is_empty(),
        "{:?}",
        check_material_for_run(&i)
    );
}

/// A key ring cannot load is taken when the CLI takes it (compared with its certificate: a 1024-bit
/// RSA key), and refused before anything runs when neither executor could use it (QA: X25519,
/// RSA-PSS, DSA, secp256k1 and random bytes in a `PRIVATE KEY` block were said to be keys the CLI
/// takes, and the CLI then failed at every command; review: an RSA key under 1024 bits and a
/// P-224 key, which the CLI parses but never signs with).
#[test]
fn a_key_neither_executor_can_use_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    for key in [RSA1024_KEY, RSA1024_KEY_PKCS1] {
        let i = integration_with(dir.path(), RSA1024_CERT, key);
        assert!(
            check_material_for_run(&i).is_empty(),
            "{:?}",
            check_material_for_run(&i)
        );
        assert_eq!(problems_of(&check_material(&i)), [UNSUPPORTED]);
    }
    let i = integration_with(dir.path(), RSA1024_CERT, RSA1024_OTHER_KEY);
    assert_eq!(problems_of(&check_material_for_run(&i)), [MISMATCH]);
    for (cert, key) in [
        (RSA1024_CERT, X25519_KEY),
        (RSA1024_CERT, RSA_PSS_KEY),
        (RSA1024_CERT, DSA_KEY),
        (SECP256K1_CERT, SECP256K1_KEY),
        (RSA512_CERT, RSA512_KEY),
        (P224_CERT, P224_KEY),
        (RSA1024_CERT, NOT_A_KEY),
        (P521_CERT, NOT_A_KEY),
    ] {
        let i = integration_with(dir.path(), cert, key);
        assert_eq!(
            problems_of(&check_material_for_run(&i)),
            [UNUSABLE],
            "{key}"
        );
        assert_eq!(problems_of(&check_material(&i)), [UNUSABLE], "{key}");
    }
}

/// What only the native executor cannot use is a problem under `--backend grpc`, a warning under
/// `auto` (the CLI runs every command instead, and is probed), and nothing under `cli`.
#[test]
fn native_only_material_depends_on_the_backend() {
    let server = DevServer::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("v1.pem"), V1_CERT).unwrap();
    std::fs::write(dir.path().join("v1.key"), V1_KEY).unwrap();
    // TLS to the plaintext dev server: the CLI's probe fails, as it would for any client pair.
    let extra = format!(
        "  - {{name: v1, auth: direct, address: '{}', namespace: default, client_cert: {{file: v1.pem}}, client_key: {{file: v1.key}}}}\n",
        server.address
    );
    let config = server.config(dir.path(), "default", &extra);
    let v1 = "the client certificate is X.509 version 1";

    let (code, v) = doctor(&config, "v1", "grpc");
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["probed"], serde_json::json!([]), "{v}");
    assert!(
        v["problems"][0]["problem"]
            .as_str()
            .unwrap()
            .starts_with(v1),
        "{v}"
    );
    assert_eq!(v["warnings"], serde_json::json!([]), "{v}");

    // `auto` and `cli` probe the CLI (which fails here on the plaintext server, as for any
    // client pair); only `auto` warns.
    for backend in ["auto", "cli"] {
        let (code, v) = doctor(&config, "v1", backend);
        assert_eq!(code, 1, "{v}");
        assert_eq!(v["probed"], serde_json::json!(["cli"]), "{v}");
        let problems = v["problems"].as_array().unwrap();
        assert_eq!(problems.len(), 1, "{v}");
        let problem = problems[0]["problem"].as_str().unwrap();
        assert!(problem.contains("did not respond with TLS"), "{v}");
        let warnings = v["warnings"].as_array().unwrap();
        if backend == "auto" {
            let warning = warnings[0]["problem"].as_str().unwrap();
            assert!(
                warning.starts_with(v1)
                    && warning.ends_with("; commands run through the CLI instead"),
                "{v}"
            );
        } else {
            assert!(warnings.is_empty(), "{v}");
        }
    }
}

/// A listener that accepts every connection and holds it open without a word (no TLS
/// handshake): its address.
fn silent_server() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    address
}

/// A server that accepts the connection and then says nothing (no TLS handshake) is not waited
/// for past the time limit, by doctor's native probe nor by `tgate run`'s native executor
/// (tonic's connect timeout bounds the TCP connection only).
#[test]
fn a_tls_handshake_that_never_ends_is_not_waited_for() {
    use std::io::Read;
    let address = silent_server();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), V1_CERT).unwrap();
    let config = dir.path().join("tgate.yaml");
    std::fs::write(
        &config,
        format!(
            "version: 1\naudit: {{path: {}}}\nlimits: {{timeout: 2s}}\nintegrations:\n  - {{name: silent, auth: direct, address: '{address}', namespace: default, server_ca: {{file: ca.pem}}}}\n",
            dir.path().join("audit.jsonl").display()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    for args in [
        vec![
            "doctor",
            "--backend",
            "grpc",
            "-o",
            "json",
            "--config",
            config,
        ],
        vec![
            "run",
            "--backend",
            "grpc",
            "--config",
            config,
            "temporal workflow list",
        ],
    ] {
        let mut child = std::process::Command::new(common::tgate_bin())
            .args(&args)
            .env_clear()
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let status = common::ended(&mut child, &format!("{args:?} waited for the handshake"));
        let mut said = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut said)
            .unwrap();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut said)
            .unwrap();
        assert!(said.contains("no connection within 2s"), "{args:?}: {said}");
        let want = if args[0] == "doctor" { 1 } else { 2 };
        assert_eq!(status.code(), Some(want), "{args:?}: {said}");
    }
}

/// A listener whose first connection is held without a word for `first_for`, then closed (a
/// TLS handshake that fails late); later ones are held open without a word: its address.
fn closing_first_after(first_for: std::time::Duration) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for (n, stream) in listener.incoming().enumerate() {
            match stream {
                Ok(first) if n == 0 => {
                    std::thread::spawn(move || {
                        std::thread::sleep(first_for);
                        drop(first);
                    });
                }
                other => held.push(other),
            }
        }
    });
    address
}

/// Under `--backend auto`, a native attempt that could not connect and the CLI it falls back to
/// share the time limit, counted from the connection (before, the CLI was given the whole limit
/// again: 3 s of connecting, then 3 s of CLI, under a 3 s limit). With the limit used up, the CLI
/// is not started at all: the command is not run, and tgate says why. A shorter
/// `--command-timeout` bounds the connection, and ends the run in the CLI's words.
#[test]
fn a_fallback_to_the_cli_gets_what_is_left_of_the_time_limit() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), V1_CERT).unwrap();
    // The CLI: says that it started, then waits to be killed.
    let started = dir.path().join("cli-started");
    let fake = dir.path().join("temporal");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\necho started >> '{}'\nexec /bin/sleep 30\n",
            started.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let audit = dir.path().join("audit.jsonl");
    let limit = std::time::Duration::from_secs(3);
    let run_through = |address: std::net::SocketAddr, line: &str| {
        let config = dir.path().join("tgate.yaml");
        std::fs::write(
            &config,
            format!(
                "version: 1\ntemporal: {}\naudit: {{path: {}}}\nlimits: {{timeout: 3s}}\nintegrations:\n  - {{name: slow, auth: direct, address: '{address}', namespace: default, server_ca: {{file: ca.pem}}}}\n",
                fake.display(),
                audit.display()
            ),
        )
        .unwrap();
        let began = std::time::Instant::now();
        let ran = common::tgate(&[
            "run",
            "--backend",
            "auto",
            "--config",
            config.to_str().unwrap(),
            line,
        ]);
        (ran, began.elapsed())
    };

    // The handshake never ends: the connection takes the whole limit, nothing is sent, and the
    // CLI is not started only to be killed: not run (exit 2).
    let address = silent_server();
    let (ran, took) = run_through(address, "temporal workflow list");
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert_eq!(
        stderr,
        format!(
            "tgate: not run: the native attempt used up the 3s time limit (failed connecting to \
             {address}: no connection within 3s), leaving the CLI none; `tgate doctor \
             --integration slow` diagnoses the connection and its credentials\n"
        )
    );
    assert_eq!(ran.status.code(), Some(2), "{stderr}");
    assert!(ran.stdout.is_empty());
    assert!(!started.exists(), "the CLI was started with no time left");
    // Broken, the CLI had 3 s more: 6 s.
    assert!(
        took >= limit && took < limit + std::time::Duration::from_secs(2),
        "took {took:?} under a {limit:?} limit"
    );
    let result = records(&audit, "result").pop().unwrap();
    assert_eq!(result["backend"], serde_json::Value::Null, "{result}");
    assert!(
        result["error"]
            .as_str()
            .unwrap()
            .contains("used up the 3s time limit"),
        "{result}"
    );
    // The time spent connecting is part of the run's duration (QA: recorded as ~0.5 ms).
    assert!(
        result["duration_ns"].as_u64().unwrap() >= limit.as_nanos() as u64,
        "{result}"
    );

    // The command's own `--command-timeout`, shorter, bounds the connection as it bounds the
    // CLI's, and ends the run in the CLI's words (QA: the connection was given the whole limit,
    // or 10 s and the CLI its whole `--command-timeout` after it).
    let (ran, took) = run_through(address, "temporal workflow list --command-timeout 1s");
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert_eq!(stderr, "Error: program interrupted\n");
    assert_eq!(ran.status.code(), Some(1), "{stderr}");
    assert!(!started.exists(), "the CLI was started with no time left");
    let own = std::time::Duration::from_secs(1);
    assert!(
        took >= own && took < limit,
        "took {took:?} under --command-timeout 1s"
    );
    let result = records(&audit, "result").pop().unwrap();
    assert_eq!(result["backend"], "grpc", "{result}");
    assert_eq!(result["grpc_status"], "DEADLINE_EXCEEDED", "{result}");

    // The handshake fails after 2 s: the CLI runs, and is killed when the 3 s are up, not 3 s
    // after it started (broken: 5 s).
    let (ran, took) = run_through(
        closing_first_after(std::time::Duration::from_secs(2)),
        "temporal workflow list",
    );
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert_eq!(stderr, "tgate: killed after the 3s timeout\n");
    assert_eq!(ran.status.code(), Some(1), "{stderr}");
    assert_eq!(std::fs::read_to_string(&started).unwrap(), "started\n");
    assert!(
        took >= limit && took < limit + std::time::Duration::from_millis(1500),
        "took {took:?} under a {limit:?} limit"
    );
    let result = records(&audit, "result").pop().unwrap();
    assert_eq!(result["backend"], "cli", "{result}");
}

/// A configuration allowing `workflow terminate` through a `direct` TLS integration to
/// `address` (its server CA any certificate: the handshake never happens); its path and the
/// audit log's.
fn terminate_through(
    dir: &std::path::Path,
    address: std::net::SocketAddr,
) -> (std::path::PathBuf, std::path::PathBuf) {
    std::fs::write(dir.join("ca.pem"), V1_CERT).unwrap();
    std::fs::write(
        dir.join("writes.yaml"),
        "version: 1\nnamespaces: [default]\nrules:\n  - {id: writes, decision: allow, reason: w, when: {commands: [workflow terminate]}}\n",
    )
    .unwrap();
    let audit = dir.join("audit.jsonl");
    let config = dir.join("tgate.yaml");
    std::fs::write(
        &config,
        format!(
            "version: 1\naudit: {{path: {}}}\npolicies: [writes.yaml]\nintegrations:\n  - {{name: silent, auth: direct, address: '{address}', namespace: default, server_ca: {{file: ca.pem}}}}\n",
            audit.display()
        ),
    )
    .unwrap();
    (config, audit)
}

/// `tgate run --backend grpc` of a termination through `config`, started by `shell` (`exec "$0"
/// "$@"` after whatever it sets up), its output piped; sent SIGTERM once `ready` holds, 300 ms
/// later. Its exit status, how long it took to end after the signal, and its stderr.
fn stop_a_termination(
    config: &std::path::Path,
    shell: &str,
    ready: impl Fn() -> bool,
) -> (std::process::ExitStatus, std::time::Duration, String) {
    let mut child = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(shell)
        .arg(common::tgate_bin())
        .args(["run", "--backend", "grpc", "--config"])
        .arg(config)
        .arg("temporal workflow terminate -w wf-1")
        .env_clear()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !ready() {
        assert!(std::time::Instant::now() < deadline, "never ready");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let stopped_at = std::time::Instant::now();
    let status = common::terminate(&mut child, "tgate did not end after SIGTERM");
    let took = stopped_at.elapsed();
    let stderr = common::stderr_of(&mut child);
    (status, took, stderr)
}

fn records(audit: &std::path::Path, kind: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(audit)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["kind"] == kind)
        .collect()
}

/// A native write asked to stop while it connects is watched already. Its connection is made
/// for the check of the workflow's type, before the decision (see `tests/run.rs`): tgate stops
/// connecting, records the write as denied, its type unchecked, with nothing sent, and ends by
/// the signal. (Before, a write was watched only from when it was sent, and the signal ended
/// tgate with an allow decision and no result.)
#[test]
fn a_write_stopped_while_it_connects_is_recorded_as_not_sent() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let address = silent_server();
    let (config, audit) = terminate_through(dir.path(), address);
    // The handshake waits (up to 10 s).
    let (status, took, stderr) = stop_a_termination(&config, "exec \"$0\" \"$@\"", || true);
    assert!(
        took < std::time::Duration::from_secs(2),
        "waited for the handshake: {took:?}"
    );
    assert_eq!(
        status.signal(),
        Some(nix::sys::signal::Signal::SIGTERM as i32),
        "{status:?} {stderr}"
    );
    let reason = format!(
        "tgate checks the type of workflow `wf-1` before a write to it, and could not: failed connecting to {address}: stopped by SIGTERM"
    );
    assert_eq!(
        stderr,
        format!("tgate: denied (tgate:workflow-type): {reason}\n")
    );
    let decisions = records(&audit, "decision");
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    assert_eq!(decisions[0]["decision"], "deny");
    assert_eq!(decisions[0]["reason"], reason.as_str());
    assert!(records(&audit, "result").is_empty());
}

/// The same stop when the decision cannot be recorded (a full disk): nothing runs, the failure
/// is said, and tgate still ends by the signal it was asked to stop by (not with exit 2, as if
/// the signal had never come).
#[test]
fn a_stop_noted_before_the_audit_log_fails_still_ends_tgate_by_it() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let (config, audit) = terminate_through(dir.path(), silent_server());
    let (status, took, stderr) = stop_a_termination(
        &config,
        "trap '' XFSZ; ulimit -f 1; exec \"$0\" \"$@\"",
        || true,
    );
    assert!(
        took < std::time::Duration::from_secs(2),
        "waited for the handshake: {took:?}"
    );
    assert!(
        stderr.starts_with("tgate: audit log unavailable: ") && stderr.lines().count() == 1,
        "{stderr}"
    );
    assert_eq!(
        status.signal(),
        Some(nix::sys::signal::Signal::SIGTERM as i32),
        "{status:?} {stderr}"
    );
    assert!(records(&audit, "decision").is_empty());
}

/// A secret in an environment variable that is set but not UTF-8 is named for what it holds, not
/// as unset.
#[test]
fn a_secret_variable_that_is_not_utf8_is_named_as_such() {
    use std::os::unix::ffi::OsStrExt as _;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tgate.yaml");
    std::fs::write(
        &config,
        "version: 1\nintegrations:\n  - {name: c, auth: cloud-api-key, namespace: ns, account_id: acc, api_key: {env: ODD_KEY}}\n",
    )
    .unwrap();
    let out = std::process::Command::new(common::tgate_bin())
        .args(["doctor", "--config"])
        .arg(&config)
        .env_clear()
        .env("ODD_KEY", std::ffi::OsStr::from_bytes(b"tgk-SECRET-\xff-1"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("non-ASCII character (it is not shown)"),
        "{err}"
    );
    assert!(!err.contains("SECRET") && !err.contains("not set"), "{err}");
}

#[test]
fn authentication_errors_are_classified() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::from_yaml(
        "version: 1\nintegrations:\n  - {name: c, auth: cloud-api-key, namespace: ns, account_id: acc, api_key: {env: K}}\n",
        "t.yaml",
        dir.path(),
        &|_| Some("secret-key-1".to_owned()),
    )
    .unwrap();
    let i = &cfg.integrations[0];
    // Messages of the gRPC status codes the CLI reports for refused credentials.
    for stderr in [
        "Error: unable to describe namespace ns: Request unauthorized.",
        "Error: rpc error: code = Unauthenticated desc = invalid API key",
        "Error: rpc error: code = PermissionDenied desc = Request unauthorized.",
    ] {
        let p = classify(stderr, i);
        assert_eq!(p.class, Class::Authentication, "{stderr}");
        assert!(p.fix.contains("API key"), "{}", p.fix);
    }
}

//! The build users deploy (`make release`), checked as built. `make test` names it in
//! `TGATE_TEST_BIN`, with `TGATE_TEST_STATIC` saying how it was linked, and runs this suite and
//! every other suite that runs the binary against it. Under a plain `cargo test` there is no
//! release build to check: these tests are ignored, and say so.
//!
//! What linking statically changes is what the C library does for the program: there is no
//! dynamic loader (so `LD_PRELOAD` and `LD_AUDIT` are read by nothing), host names are resolved by
//! the C library linked in, and the rest (threads, processes, locks, the approval store's SQLite)
//! the other suites run. Not tested here, since it needs `/etc/nsswitch.conf` changed: a static
//! glibc still loads a name service module that file names (any source but `files` and `dns`),
//! searching `LD_LIBRARY_PATH` for it, as a dynamic build does (docs/threat-model.md).

mod common;

use std::path::{Path, PathBuf};

use common::devserver::DevServer;
use common::text;

/// The release build under test, and whether `make` linked it statically.
fn release_build() -> (PathBuf, bool) {
    let bin = std::env::var_os("TGATE_TEST_BIN")
        .expect("TGATE_TEST_BIN names the release build to check (`make test` sets it)");
    let linked_statically = match std::env::var("TGATE_TEST_STATIC").as_deref() {
        Ok("1") => true,
        Ok("0") => false,
        other => panic!("TGATE_TEST_STATIC is 1 or 0 (`make test` sets it), not {other:?}"),
    };
    (PathBuf::from(bin), linked_statically)
}

/// An ELF executable's type (`e_type`: 2 fixed addresses, 3 position-independent) and whether it
/// names a program interpreter (a `PT_INTERP` segment: the dynamic loader that maps its libraries).
fn elf_type_and_interpreter(path: &Path) -> (u16, bool) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..5], b"\x7fELF\x02", "a 64-bit ELF file");
    assert_eq!(bytes[5], 1, "little-endian");
    let u16_at = |at: usize| u16::from_le_bytes(bytes[at..at + 2].try_into().unwrap());
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    let (phoff, phentsize, phnum) = (
        usize::try_from(u64_at(32)).unwrap(),
        usize::from(u16_at(54)),
        usize::from(u16_at(56)),
    );
    const PT_INTERP: u32 = 3;
    let interpreter = (0..phnum).any(|i| u32_at(phoff + i * phentsize) == PT_INTERP);
    (u16_at(16), interpreter)
}

#[test]
#[ignore = "checks the release build `make test` names in TGATE_TEST_BIN"]
fn the_release_build_keeps_aslr_and_is_linked_as_make_says() {
    let (bin, linked_statically) = release_build();
    let (elf_type, interpreter) = elf_type_and_interpreter(&bin);
    const ET_DYN: u16 = 3;
    assert_eq!(
        elf_type,
        ET_DYN,
        "{}: position-independent, so loaded at a random address",
        bin.display()
    );
    assert_eq!(
        interpreter,
        !linked_statically,
        "{}: a static-pie build names no dynamic loader; a dynamic one does",
        bin.display()
    );
}

#[test]
#[ignore = "checks the release build `make test` names in TGATE_TEST_BIN"]
fn the_release_build_resolves_host_names_and_has_no_loader_to_preload_into_it() {
    let (bin, linked_statically) = release_build();
    let server = DevServer::start(&[]);
    let seeded = server.cli(&[
        "workflow", "start", "--type", "Release", "-t", "release", "-w", "rel-1",
    ]);
    assert!(seeded.status.success(), "seed: {}", text(&seeded.stderr));
    let port = server.address.rsplit_once(':').unwrap().1;
    let dir = tempfile::tempdir().unwrap();
    // The integration names the server by host name: the C library resolves it (/etc/hosts).
    let config = server.config(dir.path(), "default", "");
    let by_name = std::fs::read_to_string(&config)
        .unwrap()
        .replace(&server.address, &format!("localhost:{port}"));
    std::fs::write(&config, by_name).unwrap();
    let expected = server.cli(&["workflow", "describe", "-w", "rel-1", "-o", "json"]);
    assert!(expected.status.success(), "{}", text(&expected.stderr));

    // Libraries to preload and to audit with that do not exist: the dynamic loader says it
    // ignores them; a static build has no loader to read the variables at all. (The tgate
    // helpers run `tgate_bin()`, which is the release build here.)
    assert_eq!(common::tgate_bin(), bin);
    let preload = dir.path().join("missing-preload.so");
    let audit = dir.path().join("missing-audit.so");
    let loader_env = [
        ("LD_PRELOAD", preload.to_str().unwrap()),
        ("LD_AUDIT", audit.to_str().unwrap()),
    ];
    for backend in ["grpc", "cli"] {
        let out = common::tgate_with_env(
            &[
                "run",
                "--backend",
                backend,
                "--config",
                config.to_str().unwrap(),
                "--",
                "temporal",
                "workflow",
                "describe",
                "-w",
                "rel-1",
                "-o",
                "json",
            ],
            &loader_env,
        );
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{backend}: {stderr}");
        assert_eq!(
            text(&out.stdout),
            text(&expected.stdout),
            "{backend}: the CLI's output"
        );
        for (variable, said) in [
            ("LD_PRELOAD", "cannot be preloaded"),
            ("LD_AUDIT", "cannot be loaded as audit interface"),
        ] {
            assert_eq!(
                stderr.contains(said),
                !linked_statically,
                "{backend}: a dynamic loader, and only one, read {variable}: {stderr}"
            );
        }
    }

    let (code, report) = common::doctor(&config, "dev", "auto");
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["address"], format!("localhost:{port}"));
    assert_eq!(report["probed"], serde_json::json!(["cli", "native"]));
    assert_eq!(report["problems"], serde_json::json!([]), "{report}");
}

/// The functions a one-shot run enters (`scripts/startup-order.txt`) are laid out first and
/// together, in the file's order, where `build.rs` passes the file to the linker; where it does
/// not (`TGATE_STARTUP_ORDER` is 0: another linker, or `TGATE_SYMBOL_ORDER=0`), they lie where the
/// compiler left them, spread over the binary. Symbol names change with the Rust release and the
/// way the build is linked: for the build the file was made for (its `# made for:` line), a file
/// gone stale (a dependency update renamed most of its functions) fails here, and `make
/// startup-order` writes it again; for another, the layout is checked on the names it still has.
#[test]
#[ignore = "checks the release build `make test` names in TGATE_TEST_BIN"]
fn the_release_build_lays_out_the_functions_a_run_enters_first_and_together() {
    let (bin, linked_statically) = release_build();
    let file = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/startup-order.txt"),
    )
    .unwrap();
    let made_for = file
        .lines()
        .find_map(|l| l.strip_prefix("# made for: "))
        .expect("scripts/startup-order.txt says what build it was made for");
    let this_build = format!(
        "{}, {}",
        env!("TGATE_RUSTC_VERSION"),
        if linked_statically {
            "static"
        } else {
            "dynamic"
        }
    );
    let made_for_this_build = made_for == this_build;
    let names: Vec<&str> = file
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert!(names.len() > 1000, "{} names", names.len());
    let nm = std::process::Command::new("nm")
        .args(["-S", "--defined-only"])
        .arg(&bin)
        .output()
        .expect("nm (binutils) lists the build's symbols");
    assert!(nm.status.success(), "nm: {}", text(&nm.stderr));
    // Function symbols: name -> (address, size; 0 when nm gives none).
    let mut functions = std::collections::HashMap::new();
    for line in text(&nm.stdout).lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (address, size, kind, name) = match fields[..] {
            [address, size, kind, name] => (address, size, kind, name),
            [address, kind, name] => (address, "0", kind, name),
            _ => continue,
        };
        if matches!(kind, "t" | "T" | "w" | "W") {
            let parse = |hex| u64::from_str_radix(hex, 16).unwrap();
            functions
                .entry(name.to_owned())
                .or_insert((parse(address), parse(size)));
        }
    }
    let laid_out: Vec<(u64, u64)> = names
        .iter()
        .filter_map(|n| functions.get(*n).copied())
        .collect();
    if made_for_this_build {
        assert!(
            laid_out.len() * 10 >= names.len() * 9,
            "the build has {} of the {} functions scripts/startup-order.txt names: run `make \
             startup-order` to write it for these dependencies",
            laid_out.len(),
            names.len()
        );
    } else {
        eprintln!(
            "scripts/startup-order.txt was made for {made_for}, this is {this_build}: {} of its \
             {} names found (`make startup-order` writes it for this build)",
            laid_out.len(),
            names.len()
        );
        if laid_out.len() < 100 {
            // Too few left to tell a layout from chance.
            return;
        }
    }
    // How much of the code from the first of them to the end of the last is theirs.
    let start = laid_out.iter().map(|(a, _)| *a).min().unwrap();
    let end = laid_out.iter().map(|(a, s)| a + s).max().unwrap();
    let theirs: u64 = laid_out.iter().map(|(_, s)| s).sum();
    let packed = theirs as f64 / (end - start) as f64;
    let in_order = laid_out.windows(2).all(|w| w[0].0 <= w[1].0);
    if env!("TGATE_STARTUP_ORDER") == "1" {
        assert!(in_order, "{}: laid out in the file's order", bin.display());
        assert!(
            packed > 0.9,
            "{}: the {} functions take {theirs} of the {} bytes they span ({packed:.2}): not \
             packed together",
            bin.display(),
            laid_out.len(),
            end - start
        );
    } else if made_for_this_build {
        assert!(
            packed < 0.5,
            "{}: built without the order (TGATE_STARTUP_ORDER=0), yet the functions are packed \
             ({packed:.2})",
            bin.display()
        );
    }
}

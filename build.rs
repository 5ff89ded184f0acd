//! Generates the protojson renderer's schema: for every message the native executor renders
//! (`ROOTS`) and every message and enum they reach, static tables of fields (number, JSON name,
//! type, cardinality, presence) and enum value names, read from the Temporal API descriptor set
//! that `temporalio-protos` builds. The renderer reads responses' wire bytes against these
//! tables, so a command decodes no descriptors at run time (decoding them with `prost-reflect`
//! took longer than the RPC itself in a one-shot `tgate run`). A translated command that renders
//! a new message adds it to `ROOTS`.
//!
//! The full descriptor set is also copied to `OUT_DIR` for the tests, which check the renderer
//! against `prost-reflect` on random messages.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;

use prost::Message;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorSet};

const ROOTS: &[&str] = &[
    ".temporal.api.workflowservice.v1.DescribeWorkflowExecutionResponse",
    ".temporal.api.workflow.v1.WorkflowExecutionInfo",
    ".temporal.api.workflowservice.v1.CountWorkflowExecutionsResponse",
    ".temporal.api.history.v1.History",
    ".temporal.api.history.v1.HistoryEvent",
    ".temporal.api.workflowservice.v1.DescribeNamespaceResponse",
    ".temporal.api.operatorservice.v1.ListSearchAttributesResponse",
    ".temporal.api.schedule.v1.ScheduleListEntry",
    ".temporal.api.workflowservice.v1.DescribeScheduleResponse",
    ".temporal.api.replication.v1.ClusterReplicationConfig",
    ".temporal.api.workflowservice.v1.QueryWorkflowResponse",
    ".temporal.api.common.v1.Payload",
    // Every response the native executor reads, for the check that it holds nothing unknown.
    ".temporal.api.workflowservice.v1.ListWorkflowExecutionsResponse",
    ".temporal.api.workflowservice.v1.GetWorkflowExecutionHistoryResponse",
    ".temporal.api.workflowservice.v1.GetWorkflowExecutionHistoryReverseResponse",
    ".temporal.api.workflowservice.v1.ListNamespacesResponse",
    ".temporal.api.workflowservice.v1.ListSchedulesResponse",
    ".temporal.api.workflowservice.v1.ListScheduleMatchingTimesResponse",
    ".temporal.api.workflowservice.v1.DescribeTaskQueueResponse",
    ".temporal.api.workflowservice.v1.ListTaskQueuePartitionsResponse",
    ".temporal.api.workflowservice.v1.GetSystemInfoResponse",
    ".temporal.api.workflowservice.v1.GetClusterInfoResponse",
    ".temporal.api.operatorservice.v1.ListClustersResponse",
    ".temporal.api.workflowservice.v1.ListBatchOperationsResponse",
    ".temporal.api.workflowservice.v1.DescribeBatchOperationResponse",
    ".temporal.api.operatorservice.v1.ListNexusEndpointsResponse",
    ".temporal.api.workflowservice.v1.ListWorkerDeploymentsResponse",
    ".temporal.api.workflowservice.v1.DescribeWorkerDeploymentResponse",
    ".temporal.api.workflowservice.v1.DescribeWorkerDeploymentVersionResponse",
    ".temporal.api.workflowservice.v1.ListWorkersResponse",
    ".temporal.api.workflowservice.v1.DescribeWorkerResponse",
    ".temporal.api.worker.v1.WorkerInfo",
];

/// Every message and enum of the set by fully qualified name (with the leading dot).
#[derive(Default)]
struct Types<'a> {
    messages: BTreeMap<String, &'a DescriptorProto>,
    enums: BTreeMap<String, &'a EnumDescriptorProto>,
}

impl<'a> Types<'a> {
    fn add_message(&mut self, prefix: &str, m: &'a DescriptorProto) {
        let name = format!("{prefix}.{}", m.name());
        for e in &m.enum_type {
            self.enums.insert(format!("{name}.{}", e.name()), e);
        }
        for n in &m.nested_type {
            self.add_message(&name, n);
        }
        self.messages.insert(name, m);
    }
}

/// The generated tables' strings, one after another in one string (each once).
#[derive(Default)]
struct Names {
    text: String,
    at: BTreeMap<String, usize>,
}

impl Names {
    /// `Name { at, len }` for `s`, adding it to the text the first time.
    fn add(&mut self, s: &str) -> String {
        let at = match self.at.get(s) {
            Some(&at) => at,
            None => {
                let at = self.text.len();
                self.text.push_str(s);
                self.at.insert(s.to_owned(), at);
                at
            }
        };
        let at = u32::try_from(at).expect("the names fit a u32");
        let len = u16::try_from(s.len()).expect("a name fits a u16");
        format!("Name {{ at: {at}, len: {len} }}")
    }
}

/// `Span { at, len }` of a generated array.
fn span(at: usize, len: usize) -> String {
    let at = u16::try_from(at).expect("a table fits a u16 index");
    let len = u16::try_from(len).expect("a list fits a u16");
    format!("Span {{ at: {at}, len: {len} }}")
}

/// protoc's default JSON name: lowerCamelCase from snake_case.
fn json_name(f: &FieldDescriptorProto) -> String {
    if let Some(j) = &f.json_name {
        return j.clone();
    }
    let mut out = String::new();
    let mut upper = false;
    for c in f.name().chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The built-in policy (`policies/read-only.yaml`, the one source of it) as JSON without its
/// `tests`, which tgate reads at every start instead of the YAML: libyaml's scanner took ~440,000
/// instructions for these 1.5 KiB, a fifth of a one-shot `tgate run`'s own work (callgrind), and
/// serde_json reads the same file shape in a few percent of that. The tests are run by the test
/// suite, not at load (`Policy::builtin`), and a unit test checks that the JSON reads as the YAML.
fn builtin_policy(out: &std::path::Path) {
    let path = "policies/read-only.yaml";
    println!("cargo:rerun-if-changed={path}");
    let text = std::fs::read_to_string(path).expect("read the built-in policy");
    let mut doc: serde_yaml::Value =
        serde_yaml::from_str(&text).expect("the built-in policy is YAML");
    doc.as_mapping_mut()
        .expect("the built-in policy is a mapping")
        .remove("tests");
    let json = serde_json::to_string(&doc).expect("the built-in policy converts to JSON");
    std::fs::write(out.join("builtin-read-only.json"), json).expect("write the built-in policy");
}

/// The release build's layout of code: the functions a one-shot tgate process runs
/// (`scripts/startup-order.txt`, generated by `scripts/startup_order.py`) first and together,
/// through lld's `--symbol-ordering-file`. Spread over the binary, they made a one-shot `tgate
/// run` fault in ~85 pages of code; packed, ~35, and the run 0.33-0.43 ms faster
/// (docs/benchmarks.md). Only where the linker is known to be lld: Rust 1.90 and later link
/// `x86_64-unknown-linux-gnu` with it by default (GNU ld refuses the option), unless a linker is
/// configured (`RUSTC_LINKER`) or the flags choose one; `TGATE_SYMBOL_ORDER=0` turns it off
/// (then the code is laid out as the compiler left it). The file's names are those of `make
/// release`'s build (a named target); `cargo build --release` names the same functions
/// differently and gets little of it. Whether the order is used, and the Rust release, are also
/// told to the test suites (`TGATE_STARTUP_ORDER`, `TGATE_RUSTC_VERSION`), whose release suite
/// checks the layout.
fn startup_order() {
    const FILE: &str = "scripts/startup-order.txt";
    println!("cargo:rerun-if-changed={FILE}");
    println!("cargo:rerun-if-env-changed=TGATE_SYMBOL_ORDER");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = std::process::Command::new(rustc)
        .arg("-vV")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .unwrap_or_default();
    let minor = version
        .lines()
        .find_map(|l| l.strip_prefix("release: "))
        .and_then(|release| release.split('.').nth(1)?.parse::<u32>().ok());
    println!(
        "cargo:rustc-env=TGATE_RUSTC_VERSION={}",
        version.lines().next().unwrap_or("rustc (unknown)")
    );
    let flags = var("CARGO_ENCODED_RUSTFLAGS");
    let linker_chosen = std::env::var_os("RUSTC_LINKER").is_some()
        || flags.contains("linker")
        || flags.contains("fuse-ld");
    let used = var("TGATE_SYMBOL_ORDER") != "0"
        && var("TARGET") == "x86_64-unknown-linux-gnu"
        && minor.is_some_and(|m| m >= 90)
        && !linker_chosen;
    println!(
        "cargo:rustc-env=TGATE_STARTUP_ORDER={}",
        if used { "1" } else { "0" }
    );
    if used && var("PROFILE") == "release" {
        let path = std::path::Path::new(&var("CARGO_MANIFEST_DIR")).join(FILE);
        // Two words, not `-Wl,`: a comma in the path would split it.
        println!("cargo:rustc-link-arg-bin=tgate=-Xlinker");
        println!(
            "cargo:rustc-link-arg-bin=tgate=--symbol-ordering-file={}",
            path.display()
        );
        // Names the build does not have (a file gone stale) are passed over, not reported at
        // every link: the release suite counts them.
        println!("cargo:rustc-link-arg-bin=tgate=-Wl,--no-warn-symbol-ordering");
    }
}

fn main() {
    let src = std::env::var("DEP_TEMPORALIO_PROTOS_DESCRIPTOR_PATH")
        .expect("temporalio-protos exports its descriptor set path");
    println!("cargo:rerun-if-env-changed=DEP_TEMPORALIO_PROTOS_DESCRIPTOR_PATH");
    println!("cargo:rerun-if-changed={src}");
    println!("cargo:rerun-if-changed=build.rs");
    let bytes = std::fs::read(&src).expect("read descriptor set");
    let set = FileDescriptorSet::decode(&bytes[..]).expect("decode descriptor set");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    builtin_policy(&out);
    startup_order();
    std::fs::write(out.join("temporal_descriptors.bin"), &bytes).expect("copy descriptor set");

    let mut types = Types::default();
    for f in &set.file {
        let pkg = format!(".{}", f.package());
        for m in &f.message_type {
            types.add_message(&pkg, m);
        }
        for e in &f.enum_type {
            types.enums.insert(format!("{pkg}.{}", e.name()), e);
        }
    }

    // The messages and enums reachable from the roots, numbered in the order they are met.
    let mut messages: Vec<String> = Vec::new();
    let mut enums: Vec<String> = Vec::new();
    let mut queue: VecDeque<String> = ROOTS.iter().map(|r| (*r).to_owned()).collect();
    while let Some(name) = queue.pop_front() {
        if messages.contains(&name) {
            continue;
        }
        let m = types
            .messages
            .get(&name)
            .unwrap_or_else(|| panic!("unknown message {name}"));
        messages.push(name);
        for f in &m.field {
            match f.r#type() {
                Type::Message | Type::Group => queue.push_back(f.type_name().to_owned()),
                Type::Enum if !enums.iter().any(|e| e == f.type_name()) => {
                    enums.push(f.type_name().to_owned());
                }
                _ => {}
            }
        }
    }
    let index = |list: &[String], name: &str| {
        list.iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("unreached type {name}"))
    };

    // Every table is plain numbers: strings are spans of one `NAMES` string and lists spans of
    // one array each, so none of it holds a pointer. A static-pie binary writes every pointer of
    // its static data at each start (a relocation, and a copied page per page of them); these
    // tables held ~2,550 of them over ~86 KiB.
    let mut names = Names::default();
    let mut fields_code = String::new();
    let mut field_count = 0usize;
    // For each message, its span of `FIELDS` sorted by field number, as indexes into the span.
    let mut by_number_all: Vec<usize> = Vec::new();
    let mut messages_code = String::new();
    for name in &messages {
        let m = types.messages[name];
        // Declaration order, the order Go's protojson writes fields in (fields added later to a
        // message are often declared beside related ones with a higher number); `by_number`
        // indexes them by number for the wire reader.
        let fields: Vec<&FieldDescriptorProto> = m.field.iter().collect();
        let mut by_number: Vec<usize> = (0..fields.len()).collect();
        by_number.sort_by_key(|&i| fields[i].number());
        let full = name.trim_start_matches('.');
        let special = match full {
            "google.protobuf.Timestamp" => "Special::Timestamp",
            "google.protobuf.Duration" => "Special::Duration",
            "temporal.api.common.v1.Payload" => "Special::Payload",
            "temporal.api.common.v1.Payloads" => "Special::Payloads",
            "google.protobuf.Any"
            | "google.protobuf.Struct"
            | "google.protobuf.Value"
            | "google.protobuf.ListValue"
            | "google.protobuf.FieldMask" => "Special::Unsupported",
            n if n.starts_with("google.protobuf.") && n.ends_with("Value") => {
                "Special::Unsupported"
            }
            _ => "Special::None",
        };
        let _ = writeln!(
            messages_code,
            "    Msg {{ name: {}, special: {special}, fields: {} }}, // {full}",
            names.add(full),
            span(field_count, fields.len()),
        );
        field_count += fields.len();
        by_number_all.extend(by_number);
        for f in fields {
            let ty = match f.r#type() {
                Type::Double => "Ty::F64".to_owned(),
                Type::Float => "Ty::F32".to_owned(),
                Type::Int64 => "Ty::I64".to_owned(),
                Type::Uint64 => "Ty::U64".to_owned(),
                Type::Int32 => "Ty::I32".to_owned(),
                Type::Fixed64 => "Ty::Fixed64".to_owned(),
                Type::Fixed32 => "Ty::Fixed32".to_owned(),
                Type::Bool => "Ty::Bool".to_owned(),
                Type::String => "Ty::Str".to_owned(),
                Type::Bytes => "Ty::Bytes".to_owned(),
                Type::Uint32 => "Ty::U32".to_owned(),
                Type::Sfixed32 => "Ty::SFixed32".to_owned(),
                Type::Sfixed64 => "Ty::SFixed64".to_owned(),
                Type::Sint32 => "Ty::SInt32".to_owned(),
                Type::Sint64 => "Ty::SInt64".to_owned(),
                Type::Enum => format!("Ty::Enum({})", index(&enums, f.type_name())),
                Type::Message => format!("Ty::Msg({})", index(&messages, f.type_name())),
                Type::Group => panic!("groups are not used by the Temporal API"),
            };
            let is_map = f.r#type() == Type::Message
                && f.label() == Label::Repeated
                && types.messages[f.type_name()]
                    .options
                    .as_ref()
                    .is_some_and(|o| o.map_entry());
            let card = if is_map {
                "Card::Map"
            } else if f.label() == Label::Repeated {
                "Card::Repeated"
            } else if f.r#type() == Type::Message || f.oneof_index.is_some() || f.proto3_optional()
            {
                "Card::Explicit"
            } else {
                "Card::Implicit"
            };
            let json = json_name(f);
            let _ = writeln!(
                fields_code,
                "    F {{ number: {}, json: {}, ty: {ty}, card: {card}, oneof: {} }}, // {json}",
                f.number(),
                names.add(&json),
                f.oneof_index.map_or(0, |o| o + 1)
            );
        }
    }
    let mut enums_code = String::new();
    let mut values_code = String::new();
    let mut value_count = 0usize;
    for name in &enums {
        let e = types
            .enums
            .get(name)
            .unwrap_or_else(|| panic!("unknown enum {name}"));
        let mut values: Vec<(i32, &str)> = e.value.iter().map(|v| (v.number(), v.name())).collect();
        // By number; for aliases (one number, several names) the first declared, as protobuf
        // runtimes print them.
        values.sort_by_key(|(n, _)| *n);
        values.dedup_by_key(|(n, _)| *n);
        let full = name.trim_start_matches('.');
        let _ = writeln!(
            enums_code,
            "    Enum {{ name: {}, values: {} }}, // {full}",
            names.add(full),
            span(value_count, values.len()),
        );
        value_count += values.len();
        for (n, v) in values {
            let _ = writeln!(values_code, "    ({n}, {}), // {v}", names.add(v));
        }
    }

    let mut code = String::from("// Generated by build.rs from the Temporal API descriptors.\n\n");
    let _ = writeln!(
        code,
        "/// The first `ROOT_COUNT` messages are the roots.\n#[cfg(test)]\npub(crate) const ROOT_COUNT: usize = {};\n",
        ROOTS.len()
    );
    let _ = writeln!(
        code,
        "static MESSAGES: [Msg; {}] = [\n{messages_code}];\n",
        messages.len()
    );
    let _ = writeln!(
        code,
        "static FIELDS: [F; {field_count}] = [\n{fields_code}];\n"
    );
    let _ = writeln!(
        code,
        "static BY_NUMBER: [u16; {}] = {by_number_all:?};\n",
        by_number_all.len()
    );
    let _ = writeln!(
        code,
        "static ENUMS: [Enum; {}] = [\n{enums_code}];\n",
        enums.len()
    );
    let _ = writeln!(
        code,
        "static VALUES: [(i32, Name); {value_count}] = [\n{values_code}];\n"
    );
    let _ = writeln!(code, "static NAMES: &str = {:?};", names.text);
    std::fs::write(out.join("schema.rs"), code).expect("write schema");
}

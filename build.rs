//! Embeds the part of the Temporal API descriptor set (built by `temporalio-protos`) that the
//! protojson renderer needs: one small set per message it decodes (`ROOTS`), holding that message
//! and every message and enum it reaches, without source comments or services. Decoding the full
//! set at start-up took ~38 ms, and one set for every root ~3 ms; a command now decodes only its
//! own (`workflow describe`: ~1 ms). A translated command that decodes a new message adds it to
//! `ROOTS`.

use std::collections::{BTreeSet, VecDeque};

use prost::Message;
use prost_types::{DescriptorProto, FileDescriptorProto, FileDescriptorSet};

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
];

/// Fully qualified names of a message and its nested types, with the message itself.
fn names(prefix: &str, m: &DescriptorProto, out: &mut Vec<(String, Vec<String>)>) {
    let name = format!("{prefix}.{}", m.name());
    let refs: Vec<String> = m.field.iter().filter_map(|f| f.type_name.clone()).collect();
    out.push((name.clone(), refs));
    for e in &m.enum_type {
        out.push((format!("{name}.{}", e.name()), Vec::new()));
    }
    for n in &m.nested_type {
        names(&name, n, out);
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

    // Every type: name → (file index, top-level type name, referenced type names).
    let mut types = Types::new();
    for (fi, f) in set.file.iter().enumerate() {
        let pkg = format!(".{}", f.package());
        for m in &f.message_type {
            let top = format!("{pkg}.{}", m.name());
            let mut all = Vec::new();
            names(&pkg, m, &mut all);
            for (n, refs) in all {
                types.insert(n, (fi, top.clone(), refs));
            }
        }
        for e in &f.enum_type {
            let n = format!("{pkg}.{}", e.name());
            types.insert(n.clone(), (fi, n, Vec::new()));
        }
    }
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let mut index = String::from(
        "/// Each root message with its own trimmed descriptor set.\npub(crate) const ROOT_SETS: &[(&str, &[u8])] = &[\n",
    );
    for (i, root) in ROOTS.iter().enumerate() {
        let file = format!("descriptors_{i}.bin");
        std::fs::write(out.join(&file), trimmed(&set, &types, root)).expect("write descriptor set");
        index.push_str(&format!(
            "    (\"{}\", include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{file}\"))),\n",
            root.trim_start_matches('.')
        ));
    }
    index.push_str("];\n");
    std::fs::write(out.join("descriptors.rs"), index).expect("write descriptor index");
}

/// Type name → (file index, top-level type name, referenced type names).
type Types = std::collections::HashMap<String, (usize, String, Vec<String>)>;

/// The descriptor set of `root` and every type it reaches, without comments or services.
fn trimmed(set: &FileDescriptorSet, types: &Types, root: &str) -> Vec<u8> {
    // Reachable top-level types. A kept top-level message keeps all its nested types, so their
    // references are followed too.
    let mut keep_top = BTreeSet::new();
    let mut queue: VecDeque<String> = VecDeque::from([root.to_owned()]);
    while let Some(t) = queue.pop_front() {
        let (_, top, _) = types.get(&t).unwrap_or_else(|| panic!("unknown type {t}"));
        if !keep_top.insert(top.clone()) {
            continue;
        }
        for (owner, refs) in types.values().map(|(_, o, r)| (o, r)) {
            if owner == top {
                queue.extend(refs.iter().cloned());
            }
        }
    }
    let mut kept_files = BTreeSet::new();
    let mut files: Vec<FileDescriptorProto> = Vec::new();
    for f in &set.file {
        let pkg = format!(".{}", f.package());
        let mut g = f.clone();
        g.source_code_info = None;
        g.service.clear();
        g.message_type
            .retain(|m| keep_top.contains(&format!("{pkg}.{}", m.name())));
        g.enum_type
            .retain(|e| keep_top.contains(&format!("{pkg}.{}", e.name())));
        if !g.message_type.is_empty() || !g.enum_type.is_empty() {
            kept_files.insert(g.name().to_owned());
            files.push(g);
        }
    }
    for f in &mut files {
        f.dependency.retain(|d| kept_files.contains(d));
        f.public_dependency.clear();
        f.weak_dependency.clear();
    }
    FileDescriptorSet { file: files }.encode_to_vec()
}

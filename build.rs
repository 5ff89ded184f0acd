//! Embeds the Temporal API descriptor set that `temporalio-protos` builds, trimmed to what the
//! protojson renderer needs: the files reachable from the workflow and operator service messages
//! (not the Cloud or core-SDK ones), without source comments. That cuts decoding at start-up from
//! ~38 ms to a few.

use std::collections::BTreeSet;

use prost::Message;
use prost_types::FileDescriptorSet;

const ROOTS: &[&str] = &[
    "temporal/api/workflowservice/v1/request_response.proto",
    "temporal/api/operatorservice/v1/request_response.proto",
];

fn main() {
    let src = std::env::var("DEP_TEMPORALIO_PROTOS_DESCRIPTOR_PATH")
        .expect("temporalio-protos exports its descriptor set path");
    println!("cargo:rerun-if-env-changed=DEP_TEMPORALIO_PROTOS_DESCRIPTOR_PATH");
    println!("cargo:rerun-if-changed={src}");
    let bytes = std::fs::read(&src).expect("read descriptor set");
    let set = FileDescriptorSet::decode(&bytes[..]).expect("decode descriptor set");
    let mut keep = BTreeSet::new();
    let mut todo: Vec<String> = ROOTS.iter().map(|s| (*s).to_owned()).collect();
    while let Some(name) = todo.pop() {
        if !keep.insert(name.clone()) {
            continue;
        }
        let file = set
            .file
            .iter()
            .find(|f| f.name.as_deref() == Some(name.as_str()))
            .unwrap_or_else(|| panic!("descriptor set lacks {name}"));
        todo.extend(file.dependency.iter().cloned());
    }
    let trimmed = FileDescriptorSet {
        file: set
            .file
            .into_iter()
            .filter(|f| f.name.as_ref().is_some_and(|n| keep.contains(n)))
            .map(|mut f| {
                f.source_code_info = None;
                f
            })
            .collect(),
    };
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(
        out.join("temporal_descriptors.bin"),
        trimmed.encode_to_vec(),
    )
    .expect("write descriptor set");
}

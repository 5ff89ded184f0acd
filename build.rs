//! Copies the Temporal API descriptor set that `temporalio-protos` builds into OUT_DIR, so the
//! protojson renderer can reflect over every message.

fn main() {
    let src = std::env::var("DEP_TEMPORALIO_PROTOS_DESCRIPTOR_PATH")
        .expect("temporalio-protos exports its descriptor set path");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    std::fs::copy(&src, out.join("temporal_descriptors.bin")).expect("copy descriptor set");
    println!("cargo:rerun-if-env-changed=DEP_TEMPORALIO_PROTOS_DESCRIPTOR_PATH");
    println!("cargo:rerun-if-changed={src}");
}

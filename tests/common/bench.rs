//! What the gRPC benchmarks share (`benches/grpc.rs`, `phases.rs`, `overhead.rs`): a dev server
//! with one running workflow, `bench`, an integration for it, and the raw describe of it with the
//! headers the CLI sends.

use temporalio_protos::protos::temporal::api::common::v1::WorkflowExecution;
use temporalio_protos::protos::temporal::api::workflowservice::v1::DescribeWorkflowExecutionRequest;
use tgate::connect::{Auth, Integration};

use super::devserver::DevServer;

/// A dev server of its own, with the workflow `bench` started (no worker: it stays running), and
/// a direct integration to it in the namespace `default`.
pub fn server_with_bench_workflow() -> (DevServer, Integration) {
    let server = DevServer::start(&[]);
    let started = server.cli(&["workflow", "start", "--type", "P", "-t", "q", "-w", "bench"]);
    assert!(started.status.success(), "{}", super::text(&started.stderr));
    let integration = Integration {
        name: "dev".into(),
        address: server.address.clone(),
        namespace: "default".into(),
        auth: Auth::Direct { tls: None },
    };
    (server, integration)
}

/// The request `workflow describe -w bench` makes.
pub fn describe_bench() -> DescribeWorkflowExecutionRequest {
    DescribeWorkflowExecutionRequest {
        namespace: "default".into(),
        execution: Some(WorkflowExecution {
            workflow_id: "bench".into(),
            run_id: String::new(),
        }),
    }
}

/// [`describe_bench`] with the CLI's five headers (FACTS §5), as tgate sends them.
pub fn describe_bench_with_cli_headers() -> tonic::Request<DescribeWorkflowExecutionRequest> {
    let mut req = tonic::Request::new(describe_bench());
    let md = req.metadata_mut();
    md.insert("client-name", "temporal-cli".parse().unwrap());
    md.insert("client-version", "1.9.1".parse().unwrap());
    md.insert(
        "supported-server-versions",
        ">=1.0.0 <2.0.0".parse().unwrap(),
    );
    md.insert("caller-type", "operator".parse().unwrap());
    md.insert("temporal-namespace", "default".parse().unwrap());
    req
}

/// The result record `tgate run` makes of a native run of `decision`'s command that exited 0
/// with `grpc_status`, took `took` and wrote `out`.
pub fn result_entry(
    decision: tgate::audit::Entry,
    grpc_status: Option<&str>,
    took: std::time::Duration,
    out: &[u8],
) -> tgate::audit::Entry {
    tgate::audit::Entry {
        time: tgate::audit::record::now(),
        kind: tgate::audit::Kind::Result,
        raw: None,
        rules: Vec::new(),
        reason: None,
        backend: Some(tgate::audit::Executor::Grpc),
        exit_code: Some(0),
        grpc_status: grpc_status.map(str::to_owned),
        duration_ns: Some(took.as_nanos() as u64),
        output_bytes: Some(out.len() as u64),
        output_sha256: Some(tgate::audit::record::sha256_hex(out)),
        ..decision
    }
}

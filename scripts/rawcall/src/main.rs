//! One DescribeWorkflowExecution from a fresh process: the floor for a one-shot gRPC call.
use prost::Message;
use std::io::Write;
use temporalio_protos::protos::temporal::api::common::v1::WorkflowExecution;
use temporalio_protos::protos::temporal::api::workflowservice::v1::DescribeWorkflowExecutionRequest;
use temporalio_protos::protos::temporal::api::workflowservice::v1::workflow_service_client::WorkflowServiceClient;
fn main() {
    let addr = std::env::args().nth(1).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let resp = rt.block_on(async {
        let mut c = WorkflowServiceClient::connect(format!("http://{addr}")).await.unwrap();
        let mut req = tonic::Request::new(DescribeWorkflowExecutionRequest {
            namespace: "default".into(),
            execution: Some(WorkflowExecution { workflow_id: "bench".into(), run_id: String::new() }),
        });
        req.metadata_mut().insert("temporal-namespace", "default".parse().unwrap());
        c.describe_workflow_execution(req).await.unwrap().into_inner()
    });
    std::io::stdout().write_all(&resp.encode_to_vec()).unwrap();
}

//! A stand-in worker for query tests: it polls one task queue of a real dev server over gRPC,
//! completes workflow tasks with no commands (the workflow stays open), and answers query tasks:
//! `state` with a JSON object, `two` with two payloads, `binary` with a `binary/plain` payload,
//! `echo` with its arguments, `__stack_trace` with a string. It stops when the server goes away.

use temporalio_protos::protos::temporal::api::common::v1::{Payload, Payloads};
use temporalio_protos::protos::temporal::api::taskqueue::v1::TaskQueue;
use temporalio_protos::protos::temporal::api::workflowservice::v1::workflow_service_client::WorkflowServiceClient;
use temporalio_protos::protos::temporal::api::workflowservice::v1::{
    PollWorkflowTaskQueueRequest, RespondQueryTaskCompletedRequest,
    RespondWorkflowTaskCompletedRequest,
};

fn payload(encoding: &str, data: &str) -> Payload {
    Payload {
        metadata: [("encoding".to_owned(), encoding.as_bytes().to_vec())].into(),
        data: data.as_bytes().to_vec(),
        external_payloads: Vec::new(),
    }
}

/// Starts the worker on `task_queue` of the server at `address` (namespace `default`).
pub fn spawn(address: &str, task_queue: &str) {
    let (address, task_queue) = (address.to_owned(), task_queue.to_owned());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let Ok(mut client) = WorkflowServiceClient::connect(format!("http://{address}")).await
            else {
                return;
            };
            loop {
                let mut poll = tonic::Request::new(PollWorkflowTaskQueueRequest {
                    namespace: "default".to_owned(),
                    task_queue: Some(TaskQueue {
                        name: task_queue.clone(),
                        kind: 1,
                        ..Default::default()
                    }),
                    identity: "stand-in-worker".to_owned(),
                    ..Default::default()
                });
                // The server refuses a long poll without a deadline.
                poll.set_timeout(std::time::Duration::from_secs(20));
                let Ok(task) = client.poll_workflow_task_queue(poll).await else {
                    return;
                };
                let task = task.into_inner();
                if task.task_token.is_empty() {
                    continue;
                }
                let Some(query) = task.query else {
                    let _ = client
                        .respond_workflow_task_completed(RespondWorkflowTaskCompletedRequest {
                            task_token: task.task_token,
                            identity: "stand-in-worker".to_owned(),
                            namespace: "default".to_owned(),
                            ..Default::default()
                        })
                        .await;
                    continue;
                };
                let payloads = match query.query_type.as_str() {
                    "state" => vec![payload(
                        "json/plain",
                        r#"{"state":"x<y&z","n":[1,2.50,1e21],"b":{}}"#,
                    )],
                    "two" => vec![payload("json/plain", "1"), payload("json/plain", "\"b\"")],
                    "binary" => vec![payload("binary/plain", "raw")],
                    "echo" => query.query_args.map(|a| a.payloads).unwrap_or_default(),
                    _ => vec![payload(
                        "json/plain",
                        "\"goroutine 1 [running]:\\nmain.Payment()\"",
                    )],
                };
                let _ = client
                    .respond_query_task_completed(RespondQueryTaskCompletedRequest {
                        task_token: task.task_token,
                        completed_type: 1,
                        query_result: Some(Payloads { payloads }),
                        namespace: "default".to_owned(),
                        ..Default::default()
                    })
                    .await;
            }
        });
    });
}

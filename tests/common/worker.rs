//! A stand-in worker for query tests: it polls one task queue of a real dev server over gRPC,
//! completes workflow tasks (a `Completes` workflow completes with a result, `CompletesNull` with
//! a `binary/null` one, a `Fails` one fails, a `Cancels` one is canceled once cancellation is
//! requested, a `ContinuesAsNew` one continues as a `Completes` run, a `Schedules` one schedules
//! an activity nobody polls for and starts a
//! child, a `Retries` one schedules an activity that [`spawn_failing_activities`] fails once (its
//! retry waits an hour), a `CallsNexus…` one schedules an operation on [`NEXUS_ENDPOINT`] plus
//! the rest of its type's name in lower case (`CallsNexusAway`: `refundsaway`) and asks it to
//! cancel when it is asked to; any other stays open), and answers query tasks:
//! `state` with a JSON object, `two` with two payloads, `binary` with a `binary/plain` payload,
//! `mixed` with a JSON and a binary one, `none` with none, `absent` (and a `Stackless` workflow's
//! `__stack_trace`) with no result at all, `echo` with its arguments, `__temporal_workflow_metadata` with its handlers (a `Described`
//! workflow's in every shape the CLI's layout meets), `__stack_trace`
//! with a string. It stops when the server goes away.

use temporalio_protos::protos::temporal::api::command::v1::command::Attributes;
use temporalio_protos::protos::temporal::api::command::v1::{
    CancelWorkflowExecutionCommandAttributes, Command, CompleteWorkflowExecutionCommandAttributes,
    ContinueAsNewWorkflowExecutionCommandAttributes, FailWorkflowExecutionCommandAttributes,
    RequestCancelNexusOperationCommandAttributes, ScheduleActivityTaskCommandAttributes,
    ScheduleNexusOperationCommandAttributes, StartChildWorkflowExecutionCommandAttributes,
};
use temporalio_protos::protos::temporal::api::common::v1::{
    ActivityType, Payload, Payloads, RetryPolicy, WorkflowType,
};
use temporalio_protos::protos::temporal::api::deployment::v1::WorkerDeploymentOptions;
use temporalio_protos::protos::temporal::api::enums::v1::{
    CommandType, EventType, VersioningBehavior, WorkerVersioningMode,
};
use temporalio_protos::protos::temporal::api::failure::v1::failure::FailureInfo;
use temporalio_protos::protos::temporal::api::failure::v1::{
    ApplicationFailureInfo, Failure, NexusHandlerFailureInfo,
};
use temporalio_protos::protos::temporal::api::history::v1::History;
use temporalio_protos::protos::temporal::api::nexus;
use temporalio_protos::protos::temporal::api::nexus::v1::request as nexus_request;
use temporalio_protos::protos::temporal::api::nexus::v1::response as nexus_response;
use temporalio_protos::protos::temporal::api::nexus::v1::start_operation_response;
use temporalio_protos::protos::temporal::api::taskqueue::v1::TaskQueue;
use temporalio_protos::protos::temporal::api::workflowservice::v1::workflow_service_client::WorkflowServiceClient;
use temporalio_protos::protos::temporal::api::workflowservice::v1::{
    PollActivityTaskQueueRequest, PollNexusTaskQueueRequest, PollWorkflowTaskQueueRequest,
    RecordActivityTaskHeartbeatRequest, RespondActivityTaskFailedRequest,
    RespondNexusTaskCompletedRequest, RespondNexusTaskFailedRequest,
    RespondQueryTaskCompletedRequest, RespondWorkflowTaskCompletedRequest,
};

/// The task queue [`spawn_failing_activities`] polls.
pub const FLAKY_ACTIVITIES: &str = "flaky-activities";

/// The Nexus endpoint a `CallsNexus` workflow calls (create it before starting one); a
/// `CallsNexus<Suffix>` one calls this name with the suffix in lower case after it.
pub const NEXUS_ENDPOINT: &str = "refunds";

/// A `binary/null` payload that also names a search attribute type.
fn typed_null() -> Payload {
    Payload {
        metadata: [
            ("encoding".to_owned(), b"binary/null".to_vec()),
            ("type".to_owned(), b"Keyword".to_vec()),
        ]
        .into(),
        data: Vec::new(),
        external_payloads: Vec::new(),
    }
}

fn payload(encoding: &str, data: &str) -> Payload {
    Payload {
        metadata: [("encoding".to_owned(), encoding.as_bytes().to_vec())].into(),
        data: data.as_bytes().to_vec(),
        external_payloads: Vec::new(),
    }
}

/// A command scheduling activity `id` of type `ty` on `task_queue` (an hour to run), with
/// `retry` as its retry policy (the server's default when `None`).
fn schedule_activity(id: &str, ty: &str, task_queue: &str, retry: Option<RetryPolicy>) -> Command {
    Command {
        command_type: CommandType::ScheduleActivityTask as i32,
        attributes: Some(Attributes::ScheduleActivityTaskCommandAttributes(
            ScheduleActivityTaskCommandAttributes {
                activity_id: id.to_owned(),
                activity_type: Some(ActivityType {
                    name: ty.to_owned(),
                }),
                task_queue: Some(TaskQueue {
                    name: task_queue.to_owned(),
                    kind: 1,
                    ..Default::default()
                }),
                start_to_close_timeout: Some(prost_wkt_types::Duration {
                    seconds: 3600,
                    nanos: 0,
                }),
                retry_policy: retry,
                ..Default::default()
            },
        )),
        ..Default::default()
    }
}

/// What a workflow of type `ty` does on a task, given its history so far: `Completes` completes
/// with a result, `Fails` fails with an application error (a stack trace and a cause),
/// `Cancels` accepts a requested cancellation, `ContinuesAsNew` continues as a `Completes` run on
/// `task_queue`, `Retries`, `Schedules` and `CallsNexus…` start their work once (the last asks
/// its operation to cancel once the workflow is asked to); anything else stays open.
fn ending(ty: &str, history: Option<&History>, task_queue: &str) -> Vec<Command> {
    let cancel_requested = history.is_some_and(|h| {
        h.events
            .iter()
            .any(|e| e.event_type == EventType::WorkflowExecutionCancelRequested as i32)
    });
    let scheduled = history.is_some_and(|h| {
        h.events
            .iter()
            .any(|e| e.event_type == EventType::ActivityTaskScheduled as i32)
    });
    if ty == "Retries" {
        if scheduled {
            return Vec::new();
        }
        return vec![schedule_activity(
            "refund",
            "Refund",
            FLAKY_ACTIVITIES,
            Some(RetryPolicy {
                initial_interval: Some(prost_wkt_types::Duration {
                    seconds: 3600,
                    nanos: 0,
                }),
                backoff_coefficient: 2.0,
                maximum_attempts: 5,
                ..Default::default()
            }),
        )];
    }
    if let Some(away) = ty.strip_prefix("CallsNexus") {
        let event_of = |ty: EventType| {
            history.and_then(|h| h.events.iter().find(|e| e.event_type == ty as i32))
        };
        if let Some(operation) = event_of(EventType::NexusOperationScheduled) {
            // Asked to cancel: it asks the operation to cancel, once.
            if !cancel_requested || event_of(EventType::NexusOperationCancelRequested).is_some() {
                return Vec::new();
            }
            return vec![Command {
                command_type: CommandType::RequestCancelNexusOperation as i32,
                attributes: Some(Attributes::RequestCancelNexusOperationCommandAttributes(
                    RequestCancelNexusOperationCommandAttributes {
                        scheduled_event_id: operation.event_id,
                    },
                )),
                ..Default::default()
            }];
        }
        return vec![Command {
            command_type: CommandType::ScheduleNexusOperation as i32,
            attributes: Some(Attributes::ScheduleNexusOperationCommandAttributes(
                ScheduleNexusOperationCommandAttributes {
                    endpoint: format!("{NEXUS_ENDPOINT}{}", away.to_lowercase()),
                    service: "payments".to_owned(),
                    operation: "refund".to_owned(),
                    input: Some(payload("json/plain", r#"{"order":7}"#)),
                    schedule_to_close_timeout: Some(prost_wkt_types::Duration {
                        seconds: 7200,
                        nanos: 0,
                    }),
                    ..Default::default()
                },
            )),
            ..Default::default()
        }];
    }
    if ty == "Schedules" {
        if scheduled {
            return Vec::new();
        }
        return vec![
            schedule_activity("charge", "Charge", "nobody-polls", None),
            Command {
                command_type: CommandType::StartChildWorkflowExecution as i32,
                attributes: Some(Attributes::StartChildWorkflowExecutionCommandAttributes(
                    StartChildWorkflowExecutionCommandAttributes {
                        workflow_id: "a-child".to_owned(),
                        workflow_type: Some(WorkflowType {
                            name: "Payment".to_owned(),
                        }),
                        task_queue: Some(TaskQueue {
                            name: "nobody-polls".to_owned(),
                            kind: 1,
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                )),
                ..Default::default()
            },
        ];
    }
    let attributes = match ty {
        "Completes" => Attributes::CompleteWorkflowExecutionCommandAttributes(
            CompleteWorkflowExecutionCommandAttributes {
                result: Some(Payloads {
                    payloads: vec![payload("json/plain", r#"{"charged":42.5,"note":"a<b"}"#)],
                }),
            },
        ),
        // Results the friendly form shows otherwise: none, two payloads, one not in JSON, and
        // a big number with keys out of order.
        "CompletesEmpty" => Attributes::CompleteWorkflowExecutionCommandAttributes(
            CompleteWorkflowExecutionCommandAttributes { result: None },
        ),
        "CompletesTwice" => Attributes::CompleteWorkflowExecutionCommandAttributes(
            CompleteWorkflowExecutionCommandAttributes {
                result: Some(Payloads {
                    payloads: vec![
                        payload("json/plain", "1"),
                        payload("json/plain", r#""two""#),
                    ],
                }),
            },
        ),
        "CompletesBinary" => Attributes::CompleteWorkflowExecutionCommandAttributes(
            CompleteWorkflowExecutionCommandAttributes {
                result: Some(Payloads {
                    payloads: vec![payload("binary/plain", "raw <bytes>")],
                }),
            },
        ),
        // What an SDK sends for a nil or `None` result.
        "CompletesNull" => Attributes::CompleteWorkflowExecutionCommandAttributes(
            CompleteWorkflowExecutionCommandAttributes {
                result: Some(Payloads {
                    payloads: vec![payload("binary/null", "")],
                }),
            },
        ),
        // JSON `[]` and `null` (which the CLI writes as `null` and as the `binary/null`
        // payload), alone and beside another value.
        "CompletesEmptyArray" => Attributes::CompleteWorkflowExecutionCommandAttributes(
            CompleteWorkflowExecutionCommandAttributes {
                result: Some(Payloads {
                    payloads: vec![payload("json/plain", "[]")],
                }),
            },
        ),
        "CompletesJsonNull" => Attributes::CompleteWorkflowExecutionCommandAttributes(
            CompleteWorkflowExecutionCommandAttributes {
                result: Some(Payloads {
                    payloads: vec![payload("json/plain", "null")],
                }),
            },
        ),
        "CompletesEmpties" => Attributes::CompleteWorkflowExecutionCommandAttributes(
            CompleteWorkflowExecutionCommandAttributes {
                result: Some(Payloads {
                    payloads: vec![
                        payload("json/plain", "[]"),
                        payload("json/plain", "null"),
                        payload("json/plain", r#"{"a":[],"b":[[]]}"#),
                    ],
                }),
            },
        ),
        // Mixed results: JSON with a `binary/null` (every element shortenable), and JSON with
        // bytes (one not: the normal form, the JSON element in shorthand).
        "CompletesMixed" => Attributes::CompleteWorkflowExecutionCommandAttributes(
            CompleteWorkflowExecutionCommandAttributes {
                result: Some(Payloads {
                    payloads: vec![payload("json/plain", "1"), payload("binary/null", "")],
                }),
            },
        ),
        "CompletesMixedBinary" => Attributes::CompleteWorkflowExecutionCommandAttributes(
            CompleteWorkflowExecutionCommandAttributes {
                result: Some(Payloads {
                    payloads: vec![
                        payload("json/plain", "1"),
                        payload("binary/plain", "raw <bytes>"),
                    ],
                }),
            },
        ),
        "CompletesBig" => Attributes::CompleteWorkflowExecutionCommandAttributes(
            CompleteWorkflowExecutionCommandAttributes {
                result: Some(Payloads {
                    payloads: vec![payload(
                        "json/plain",
                        r#"{"z":12345678901234567890,"a":[1.50,2]}"#,
                    )],
                }),
            },
        ),
        "Fails" => Attributes::FailWorkflowExecutionCommandAttributes(
            FailWorkflowExecutionCommandAttributes {
                failure: Some(Failure {
                    message: "card declined".to_owned(),
                    source: "stand-in-worker".to_owned(),
                    stack_trace: "at charge (pay.ts:10)\nat pay (pay.ts:3)".to_owned(),
                    cause: Some(Box::new(Failure {
                        message: "gateway timed out".to_owned(),
                        stack_trace: "at gateway (gw.ts:7)".to_owned(),
                        ..Default::default()
                    })),
                    failure_info: Some(FailureInfo::ApplicationFailureInfo(
                        ApplicationFailureInfo {
                            r#type: "PaymentError".to_owned(),
                            non_retryable: true,
                            ..Default::default()
                        },
                    )),
                    ..Default::default()
                }),
            },
        ),
        // A failure whose message holds an escape sequence, which the CLI's card measures in
        // its own way: tgate leaves the card to it.
        "FailsWithEscapes" => Attributes::FailWorkflowExecutionCommandAttributes(
            FailWorkflowExecutionCommandAttributes {
                failure: Some(Failure {
                    message: "carte refusée \u{1b}[31m😀\u{1b}[0m".to_owned(),
                    ..Default::default()
                }),
            },
        ),
        "Cancels" if cancel_requested => Attributes::CancelWorkflowExecutionCommandAttributes(
            CancelWorkflowExecutionCommandAttributes { details: None },
        ),
        "ContinuesAsNew" | "ContinuesThenFails" | RENEWS_AS_ORDINARY => {
            Attributes::ContinueAsNewWorkflowExecutionCommandAttributes(
                ContinueAsNewWorkflowExecutionCommandAttributes {
                    workflow_type: Some(WorkflowType {
                        name: if ty == "ContinuesAsNew" || ty == RENEWS_AS_ORDINARY {
                            "Completes"
                        } else {
                            "FailsWithEscapes"
                        }
                        .to_owned(),
                    }),
                    task_queue: Some(TaskQueue {
                        name: task_queue.to_owned(),
                        kind: 1,
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )
        }
        _ => return Vec::new(),
    };
    let command_type = match &attributes {
        Attributes::CompleteWorkflowExecutionCommandAttributes(_) => {
            CommandType::CompleteWorkflowExecution
        }
        Attributes::CancelWorkflowExecutionCommandAttributes(_) => {
            CommandType::CancelWorkflowExecution
        }
        Attributes::ContinueAsNewWorkflowExecutionCommandAttributes(_) => {
            CommandType::ContinueAsNewWorkflowExecution
        }
        _ => CommandType::FailWorkflowExecution,
    };
    vec![Command {
        command_type: command_type as i32,
        attributes: Some(attributes),
        ..Default::default()
    }]
}

/// Runs `work` with a client of the server at `address` on a thread of its own (nothing when the
/// server cannot be reached).
fn in_background<F, Fut>(address: &str, work: F)
where
    F: FnOnce(WorkflowServiceClient<tonic::transport::Channel>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let address = address.to_owned();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            if let Ok(client) = WorkflowServiceClient::connect(format!("http://{address}")).await {
                work(client).await;
            }
        });
    });
}

/// A type named as Temporal's own types are (`temporal-sys-`) that continues as new into an
/// ordinary `Completes` run: a workflow whose latest run is ordinary and whose run before it is
/// not.
pub const RENEWS_AS_ORDINARY: &str = "temporal-sys-tgate-test-renews";

/// Starts the worker on `task_queue` of the server at `address` (namespace `default`).
pub fn spawn(address: &str, task_queue: &str) {
    run(address, task_queue, None);
}

/// Starts the worker on `task_queue` as version `build_id` of Worker Deployment `deployment`
/// (Worker Versioning): its polls register the version, and every workflow task it completes
/// pins the workflow to it.
pub fn spawn_versioned(address: &str, task_queue: &str, deployment: &str, build_id: &str) {
    let options = WorkerDeploymentOptions {
        deployment_name: deployment.to_owned(),
        build_id: build_id.to_owned(),
        worker_versioning_mode: WorkerVersioningMode::Versioned as i32,
    };
    run(address, task_queue, Some(options));
}

fn run(address: &str, task_queue: &str, deployment: Option<WorkerDeploymentOptions>) {
    let task_queue = task_queue.to_owned();
    let behavior = match deployment {
        Some(_) => VersioningBehavior::Pinned,
        None => VersioningBehavior::Unspecified,
    };
    in_background(address, move |mut client| async move {
        loop {
            let mut poll = tonic::Request::new(PollWorkflowTaskQueueRequest {
                namespace: "default".to_owned(),
                task_queue: Some(TaskQueue {
                    name: task_queue.clone(),
                    kind: 1,
                    ..Default::default()
                }),
                identity: "stand-in-worker".to_owned(),
                deployment_options: deployment.clone(),
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
                let ty = task.workflow_type.map(|t| t.name).unwrap_or_default();
                let _ = client
                    .respond_workflow_task_completed(RespondWorkflowTaskCompletedRequest {
                        task_token: task.task_token,
                        identity: "stand-in-worker".to_owned(),
                        namespace: "default".to_owned(),
                        commands: ending(&ty, task.history.as_ref(), &task_queue),
                        versioning_behavior: behavior as i32,
                        deployment_options: deployment.clone(),
                        ..Default::default()
                    })
                    .await;
                continue;
            };
            let of_type = |name: &str| task.workflow_type.as_ref().is_some_and(|t| t.name == name);
            let described = of_type("Described");
            let described_wide = of_type("DescribedWide");
            let described_proto = of_type("DescribedProto");
            // A `Stackless` workflow answers the stack query, like `absent`, with no result.
            let absent = query.query_type == "absent"
                || (query.query_type == "__stack_trace" && of_type("Stackless"));
            let payloads = match query.query_type.as_str() {
                "state" => vec![payload(
                    "json/plain",
                    r#"{"state":"x<y&z","n":[1,2.50,1e21],"b":{}}"#,
                )],
                "two" => vec![payload("json/plain", "1"), payload("json/plain", "\"b\"")],
                "binary" => vec![payload("binary/plain", "raw")],
                "mixed" => vec![payload("json/plain", "1"), payload("binary/plain", "raw")],
                "none" => Vec::new(),
                // JSON values whose shorthand needs care: an empty array and null, alone, in a
                // list, and inside a value.
                "empty-array" => vec![payload("json/plain", "[]")],
                "null" => vec![payload("json/plain", "null")],
                "empties" => vec![
                    payload("json/plain", "[]"),
                    payload("json/plain", "null"),
                    payload("json/plain", "1"),
                ],
                "nested-empties" => vec![payload("json/plain", r#"{"a":[],"b":null,"c":[[]]}"#)],
                // `binary/null` with more metadata (an SDK's unset search attribute names its
                // type; a codec adds its own keys), alone and beside JSON.
                "typed-null" => vec![typed_null()],
                "typed-nulls" => vec![payload("json/plain", "1"), typed_null()],
                // Answered with no result at all (not an empty list).
                _ if absent => {
                    let _ = client
                        .respond_query_task_completed(RespondQueryTaskCompletedRequest {
                            task_token: task.task_token,
                            completed_type: 1,
                            query_result: None,
                            namespace: "default".to_owned(),
                            ..Default::default()
                        })
                        .await;
                    continue;
                }
                "echo" => query.query_args.map(|a| a.payloads).unwrap_or_default(),
                // What an SDK answers: the workflow's type and handlers. A `Described` workflow
                // answers with what the CLI's layout must cope with: handlers out of order,
                // wider than the headers, without a name or description, in proto field names,
                // nulls, and details with leading spaces, a newline inside and one at the end.
                // Text past ASCII, which the layout measures as the CLI does: wide names, a
                // combining mark, an emoji sequence, details in Japanese.
                // As the Go, Python and other SDKs answer: the proto in protojson, pretty-printed
                // as Python's `MessageToJson` writes it.
                "__temporal_workflow_metadata" if described_proto => vec![Payload {
                    metadata: [
                        ("encoding".to_owned(), b"json/protobuf".to_vec()),
                        (
                            "messageType".to_owned(),
                            b"temporal.api.sdk.v1.WorkflowMetadata".to_vec(),
                        ),
                    ]
                    .into(),
                    data: br#"{
  "definition": {
    "type": "DescribedProto",
    "queryDefinitions": [
      {
        "name": "__stack_trace",
        "description": "Current stack trace"
      },
      {
        "name": "state"
      }
    ],
    "signalDefinitions": [
      {
        "name": "refund",
        "description": "Refund the payment"
      }
    ]
  },
  "currentDetails": "waiting"
}"#
                    .to_vec(),
                    external_payloads: Vec::new(),
                }],
                "__temporal_workflow_metadata" if described_wide => vec![payload(
                    "json/plain",
                    r#"{"definition":{"type":"DescribedWide","queryDefinitions":[{"name":"状態","description":"l'état du paiement"},{"name":"e\u0301tat","description":"👨\u200d👩\u200d👧 family"}],"signalDefinitions":[{"name":"返金","description":"払い戻し"}]},"currentDetails":"承認を待っています\n次: 🇯🇵"}"#,
                )],
                "__temporal_workflow_metadata" if described => vec![payload(
                    "json/plain",
                    r#"{"definition":{"type":"Described","query_definitions":[{"name":"zeta","description":"last of all"},{"name":"a-much-longer-query","description":null},{"description":"nameless"}],"signalDefinitions":null,"updateDefinitions":[{"name":"u"}]},"current_details":"  step 2 of 3\nwaiting\n"}"#,
                )],
                "__temporal_workflow_metadata" => vec![payload(
                    "json/plain",
                    r#"{"definition":{"type":"Payment","queryDefinitions":[{"name":"state","description":"The payment's state"}],"signalDefinitions":[{"name":"refund"}]},"currentDetails":"waiting for <approval>"}"#,
                )],
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
}

/// The operation token [`spawn_nexus_handler`] starts every operation with.
pub const NEXUS_TOKEN: &str = "refund-7";

/// Serves Nexus tasks on `task_queue` of the server at `address`: every operation starts
/// asynchronously (token [`NEXUS_TOKEN`]) and never completes; every cancellation fails, with a
/// retryable error, so it backs off. It stops when the server goes away.
pub fn spawn_nexus_handler(address: &str, task_queue: &str) {
    let task_queue = task_queue.to_owned();
    in_background(address, move |mut client| async move {
        loop {
            let mut poll = tonic::Request::new(PollNexusTaskQueueRequest {
                namespace: "default".to_owned(),
                identity: "stand-in-nexus-handler".to_owned(),
                task_queue: Some(TaskQueue {
                    name: task_queue.clone(),
                    kind: 1,
                    ..Default::default()
                }),
                ..Default::default()
            });
            poll.set_timeout(std::time::Duration::from_secs(20));
            let Ok(task) = client.poll_nexus_task_queue(poll).await else {
                return;
            };
            let task = task.into_inner();
            if task.task_token.is_empty() {
                continue;
            }
            let group = task.poller_group_id;
            match task.request.and_then(|r| r.variant) {
                Some(nexus_request::Variant::StartOperation(_)) => {
                    let _ = client
                        .respond_nexus_task_completed(RespondNexusTaskCompletedRequest {
                            namespace: "default".to_owned(),
                            identity: "stand-in-nexus-handler".to_owned(),
                            task_token: task.task_token,
                            response: Some(nexus::v1::Response {
                                variant: Some(nexus_response::Variant::StartOperation(
                                    nexus::v1::StartOperationResponse {
                                        variant: Some(
                                            start_operation_response::Variant::AsyncSuccess(
                                                start_operation_response::Async {
                                                    operation_token: NEXUS_TOKEN.to_owned(),
                                                    ..Default::default()
                                                },
                                            ),
                                        ),
                                    },
                                )),
                            }),
                            poller_group_id: group,
                        })
                        .await;
                }
                Some(nexus_request::Variant::CancelOperation(_)) => {
                    let _ = client
                        .respond_nexus_task_failed(RespondNexusTaskFailedRequest {
                            namespace: "default".to_owned(),
                            identity: "stand-in-nexus-handler".to_owned(),
                            task_token: task.task_token,
                            failure: Some(Failure {
                                message: "refunds cannot be cancelled".to_owned(),
                                failure_info: Some(FailureInfo::NexusHandlerFailureInfo(
                                    NexusHandlerFailureInfo {
                                        r#type: "INTERNAL".to_owned(),
                                        ..Default::default()
                                    },
                                )),
                                ..Default::default()
                            }),
                            poller_group_id: group,
                            ..Default::default()
                        })
                        .await;
                }
                None => {}
            }
        }
    });
}

/// Polls [`FLAKY_ACTIVITIES`] on the server at `address` and fails every activity task it gets,
/// after one heartbeat with details: a pending activity then shows its last failure, worker,
/// heartbeat and second attempt. It stops when the server goes away.
pub fn spawn_failing_activities(address: &str) {
    in_background(address, |mut client| async move {
        loop {
            let mut poll = tonic::Request::new(PollActivityTaskQueueRequest {
                namespace: "default".to_owned(),
                task_queue: Some(TaskQueue {
                    name: FLAKY_ACTIVITIES.to_owned(),
                    kind: 1,
                    ..Default::default()
                }),
                identity: "stand-in-activity-worker".to_owned(),
                ..Default::default()
            });
            poll.set_timeout(std::time::Duration::from_secs(20));
            let Ok(task) = client.poll_activity_task_queue(poll).await else {
                return;
            };
            let task = task.into_inner();
            if task.task_token.is_empty() {
                continue;
            }
            let _ = client
                .record_activity_task_heartbeat(RecordActivityTaskHeartbeatRequest {
                    task_token: task.task_token.clone(),
                    details: Some(Payloads {
                        payloads: vec![payload("json/plain", r#"{"refunded":3,"of":7}"#)],
                    }),
                    identity: "stand-in-activity-worker".to_owned(),
                    namespace: "default".to_owned(),
                    ..Default::default()
                })
                .await;
            let _ = client
                .respond_activity_task_failed(RespondActivityTaskFailedRequest {
                    task_token: task.task_token,
                    failure: Some(Failure {
                        message: "refund service <unavailable>".to_owned(),
                        source: "stand-in-activity-worker".to_owned(),
                        stack_trace: "at refund (refund.ts:12)".to_owned(),
                        failure_info: Some(FailureInfo::ApplicationFailureInfo(
                            ApplicationFailureInfo {
                                r#type: "Unavailable".to_owned(),
                                ..Default::default()
                            },
                        )),
                        ..Default::default()
                    }),
                    identity: "stand-in-activity-worker".to_owned(),
                    namespace: "default".to_owned(),
                    ..Default::default()
                })
                .await;
        }
    });
}

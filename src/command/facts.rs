//! tgate's own facts about each command and flag: what class of effect it has on a cluster, whether
//! it can act on many workflows at once, and which flags tgate pins or treats as local file access.
//!
//! Every `match` here is exhaustive over [`CommandPath`], so a command added to the table cannot be
//! left unclassified: the build fails until someone decides.

use serde::{Deserialize, Serialize};

use super::table::CommandPath;

/// What a command does to the cluster (or the machine).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EffectClass {
    /// Reads cluster state; changes nothing.
    Read,
    /// Changes workflow, activity, schedule or worker state in a recoverable way (start, signal,
    /// update, pause, trigger...).
    Write,
    /// Ends or erases executions or schedules (cancel, terminate, delete, reset).
    Destructive,
    /// Changes the cluster's configuration (namespaces, search attributes, clusters, Nexus
    /// endpoints, task-queue versioning and limits, worker deployments).
    Admin,
    /// Runs on the local machine only: servers, config and env files, shell completion, history
    /// file rewriting, help. Never a thing an agent needs tgate for.
    Local,
}

impl EffectClass {
    /// Lower-case name, as in policies and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            EffectClass::Read => "read",
            EffectClass::Write => "write",
            EffectClass::Destructive => "destructive",
            EffectClass::Admin => "admin",
            EffectClass::Local => "local",
        }
    }
}

impl CommandPath {
    /// Whether this command starts a workflow under its `--workflow-id` (and may, by its id
    /// policies, act on the one already running under it).
    pub fn starts_a_workflow(self) -> bool {
        matches!(
            self,
            CommandPath::WorkflowStart
                | CommandPath::WorkflowExecute
                | CommandPath::WorkflowSignalWithStart
                | CommandPath::WorkflowStartUpdateWithStart
                | CommandPath::WorkflowExecuteUpdateWithStart
        )
    }

    /// The effect class of running this command.
    pub fn class(self) -> EffectClass {
        use CommandPath as C;
        use EffectClass::*;
        match self {
            // Groups only ever print help.
            C::Root
            | C::Activity
            | C::Batch
            | C::Completion
            | C::Config
            | C::Env
            | C::Nexus
            | C::NexusOperation
            | C::Operator
            | C::OperatorCluster
            | C::OperatorNamespace
            | C::OperatorNexus
            | C::OperatorNexusEndpoint
            | C::OperatorSearchAttribute
            | C::Schedule
            | C::Server
            | C::TaskQueue
            | C::TaskQueueConfig
            | C::TaskQueueUpdateBuildIds
            | C::TaskQueueVersioning
            | C::Worker
            | C::WorkerDeployment
            | C::WorkerDeploymentManagerIdentity
            | C::Workflow
            | C::WorkflowUpdate => Local,

            C::CompletionBash
            | C::CompletionFish
            | C::CompletionPowershell
            | C::CompletionZsh
            | C::ConfigDelete
            | C::ConfigDeleteProfile
            | C::ConfigGet
            | C::ConfigList
            | C::ConfigSet
            | C::EnvDelete
            | C::EnvGet
            | C::EnvList
            | C::EnvSet
            | C::Help
            | C::Options
            | C::ServerStartDev
            | C::WorkflowFixHistoryJson => Local,

            C::ActivityCount
            | C::ActivityDescribe
            | C::ActivityList
            | C::ActivityResult
            | C::BatchDescribe
            | C::BatchList
            | C::NexusOperationCount
            | C::NexusOperationDescribe
            | C::NexusOperationList
            | C::NexusOperationResult
            | C::OperatorClusterDescribe
            | C::OperatorClusterHealth
            | C::OperatorClusterList
            | C::OperatorClusterSystem
            | C::OperatorNamespaceDescribe
            | C::OperatorNamespaceList
            | C::OperatorNexusEndpointGet
            | C::OperatorNexusEndpointList
            | C::OperatorSearchAttributeList
            | C::ScheduleDescribe
            | C::ScheduleList
            | C::ScheduleListMatchingTimes
            | C::TaskQueueConfigGet
            | C::TaskQueueDescribe
            | C::TaskQueueGetBuildIdReachability
            | C::TaskQueueGetBuildIds
            | C::TaskQueueListPartition
            | C::TaskQueueVersioningGetRules
            | C::WorkerCount
            | C::WorkerDeploymentDescribe
            | C::WorkerDeploymentDescribeVersion
            | C::WorkerDeploymentList
            | C::WorkerDescribe
            | C::WorkerList
            | C::WorkflowCount
            | C::WorkflowDescribe
            | C::WorkflowList
            | C::WorkflowResult
            | C::WorkflowShow
            | C::WorkflowTrace
            | C::WorkflowUpdateDescribe
            | C::WorkflowUpdateResult => Read,
            // Queries run workflow code on a worker but must not change state (Temporal rejects
            // commands from query handlers); stack and metadata are built-in queries.
            C::WorkflowQuery | C::WorkflowStack | C::WorkflowMetadata => Read,

            C::ActivityComplete
            | C::ActivityExecute
            | C::ActivityFail
            | C::ActivityPause
            | C::ActivityStart
            | C::ActivityUnpause
            | C::ActivityUpdateOptions
            | C::NexusOperationExecute
            | C::NexusOperationStart
            | C::ScheduleBackfill
            | C::ScheduleCreate
            | C::ScheduleToggle
            | C::ScheduleTrigger
            | C::ScheduleUpdate
            | C::WorkflowExecute
            | C::WorkflowExecuteUpdateWithStart
            | C::WorkflowPause
            | C::WorkflowSignal
            | C::WorkflowSignalWithStart
            | C::WorkflowStart
            | C::WorkflowStartUpdateWithStart
            | C::WorkflowUnpause
            | C::WorkflowUpdateExecute
            | C::WorkflowUpdateStart
            | C::WorkflowUpdateOptions => Write,

            C::ActivityCancel
            | C::ActivityDelete
            | C::ActivityReset
            | C::ActivityTerminate
            | C::BatchTerminate
            | C::NexusOperationCancel
            | C::NexusOperationTerminate
            | C::ScheduleDelete
            | C::WorkflowCancel
            | C::WorkflowDelete
            | C::WorkflowReset
            | C::WorkflowResetWithWorkflowUpdateOptions
            | C::WorkflowTerminate => Destructive,

            C::OperatorClusterRemove
            | C::OperatorClusterUpsert
            | C::OperatorNamespaceCreate
            | C::OperatorNamespaceDelete
            | C::OperatorNamespaceUpdate
            | C::OperatorNexusEndpointCreate
            | C::OperatorNexusEndpointDelete
            | C::OperatorNexusEndpointUpdate
            | C::OperatorSearchAttributeCreate
            | C::OperatorSearchAttributeRemove
            | C::TaskQueueConfigSet
            | C::TaskQueueUpdateBuildIdsAddNewCompatible
            | C::TaskQueueUpdateBuildIdsAddNewDefault
            | C::TaskQueueUpdateBuildIdsPromoteIdInSet
            | C::TaskQueueUpdateBuildIdsPromoteSet
            | C::TaskQueueVersioningAddRedirectRule
            | C::TaskQueueVersioningCommitBuildId
            | C::TaskQueueVersioningDeleteAssignmentRule
            | C::TaskQueueVersioningDeleteRedirectRule
            | C::TaskQueueVersioningInsertAssignmentRule
            | C::TaskQueueVersioningReplaceAssignmentRule
            | C::TaskQueueVersioningReplaceRedirectRule
            | C::WorkerDeploymentCreate
            | C::WorkerDeploymentCreateVersion
            | C::WorkerDeploymentDelete
            | C::WorkerDeploymentDeleteVersion
            | C::WorkerDeploymentManagerIdentitySet
            | C::WorkerDeploymentManagerIdentityUnset
            | C::WorkerDeploymentSetCurrentVersion
            | C::WorkerDeploymentSetRampingVersion
            | C::WorkerDeploymentUpdateVersionComputeConfig
            | C::WorkerDeploymentUpdateVersionMetadata => Admin,
        }
    }

    /// The classes a run of this command can have: its own, and `destructive` too for a write
    /// that has a flag able to end other executions ([`ends_others`]).
    pub fn classes(self) -> impl Iterator<Item = EffectClass> {
        let own = self.class();
        let also = (own == EffectClass::Write
            && ENDING.iter().any(|(name, _)| self.flag(name).is_some()))
        .then_some(EffectClass::Destructive);
        std::iter::once(own).chain(also)
    }

    /// Whether `--query` turns this command into a batch job over every matching execution
    /// (StartBatchOperation); `workflow reset` is one when it names no workflow, with or without
    /// a query ([`Command::is_batch`](super::Command::is_batch)). On list and count commands
    /// `--query` is only a filter.
    pub fn batch_capable(self) -> bool {
        use CommandPath as C;
        matches!(
            self,
            C::WorkflowCancel
                | C::WorkflowSignal
                | C::WorkflowTerminate
                | C::WorkflowDelete
                | C::WorkflowUpdateOptions
                | C::WorkflowReset
                | C::WorkflowResetWithWorkflowUpdateOptions
                | C::ActivityCancel
                | C::ActivityTerminate
                | C::ActivityDelete
                | C::ActivityReset
                | C::ActivityUnpause
                | C::ActivityUpdateOptions
        )
    }

    /// Whether the command always acts on many executions, however its flags read: `schedule
    /// backfill` starts one workflow per action its schedule would have taken in the time range
    /// (unbounded: a range of years is millions), which no flag constraint can bound (times take
    /// no `min`/`max`). Judged as a batch, so that policies that deny batches deny it too.
    pub fn always_bulk(self) -> bool {
        matches!(self, CommandPath::ScheduleBackfill)
    }

    /// Whether this command connects to a Temporal service (has the connection flags).
    pub fn connects(self) -> bool {
        std::iter::once(self).chain(self.ancestors()).any(|a| {
            matches!(
                a,
                CommandPath::Activity
                    | CommandPath::Batch
                    | CommandPath::Nexus
                    | CommandPath::Operator
                    | CommandPath::Schedule
                    | CommandPath::TaskQueue
                    | CommandPath::Worker
                    | CommandPath::Workflow
            )
        })
    }

    /// Whether this command takes the deprecated namespace positional.
    pub fn namespace_positional(self) -> bool {
        matches!(
            self,
            CommandPath::OperatorNamespaceCreate
                | CommandPath::OperatorNamespaceDelete
                | CommandPath::OperatorNamespaceDescribe
                | CommandPath::OperatorNamespaceUpdate
        )
    }
}

/// The flags whose choice can make a start, update or schedule command end other executions,
/// with the values that do ([`ends_others`]).
const ENDING: [(&str, &[&str]); 3] = [
    ("id-conflict-policy", &["TerminateExisting"]),
    ("id-reuse-policy", &["TerminateIfRunning"]),
    ("overlap-policy", &["TerminateOther", "CancelOther"]),
];

/// Whether flag `name` set to `value` makes a write end or cancel other executions: a start (of a
/// workflow, activity or Nexus operation) that terminates the one running under its id
/// (`--id-conflict-policy TerminateExisting`, `--id-reuse-policy TerminateIfRunning`), or a
/// schedule that terminates or cancels its running workflow when the next action comes
/// (`--overlap-policy TerminateOther|CancelOther`, on create, update, trigger and backfill).
/// Such a run is classed `destructive`, as `workflow terminate` is: a policy allowing `write`
/// must not allow terminating through a start. (Enum values are case-sensitive in the CLI.)
pub fn ends_others(name: &str, value: &str) -> bool {
    ENDING
        .iter()
        .any(|(flag, values)| *flag == name && values.contains(&value))
}

/// What tgate makes of a flag beyond its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlagRole {
    /// An ordinary flag.
    Plain,
    /// Connection or configuration: tgate injects the connection itself, so an agent never sets
    /// these (address, credentials, TLS, metadata, codec, identity, config files and profiles).
    Pinned,
    /// Makes the CLI read a local file.
    ReadsFile,
    /// Makes the CLI write a local file (or a database on disk).
    WritesFile,
}

/// Whether the number `value` of flag `name` means "no bound" to the CLI or the server rather
/// than a small one: `--limit 0` lists everything, `--command-timeout 0` (or a negative one)
/// never times out, `--retry-maximum-attempts 0` retries without end, `get-build-ids --max-sets
/// 0` returns every set, `workflow trace --depth -1` follows children at any depth, and a
/// workflow's `--execution-timeout`/`--run-timeout` or an activity's timeouts of 0 set none. So
/// do, found by QA against a dev server: a schedule's `--remaining-actions` of 0 or less (no
/// limit: the server drops one it had), its `--catchup-window` of 0 (the server's default, a
/// year), a batch's `--rps` of 0 or less (the server's default rate), `--page-size` of 0 or less
/// (the server's default page), and any NaN (no comparison holds for it: `--rps NaN` passed
/// both `min` and `max`). A policy's `min`/`max` reads such a value as no number at all: an
/// allow rule's bound never admits it, a deny or approval rule's always catches it. (Each name
/// means the same on every command that has it.)
pub fn unbounded_value(name: &str, value: f64) -> bool {
    if value.is_nan() {
        return true;
    }
    match name {
        "limit"
        | "command-timeout"
        | "retry-maximum-attempts"
        | "max-sets"
        | "execution-timeout"
        | "run-timeout"
        | "schedule-to-close-timeout"
        | "schedule-to-start-timeout"
        | "start-to-close-timeout"
        | "heartbeat-timeout"
        | "remaining-actions"
        | "catchup-window"
        | "rps"
        | "page-size" => value <= 0.0,
        "depth" => value < 0.0,
        _ => false,
    }
}

/// The role of flag `name` on command `path`.
pub fn flag_role(path: CommandPath, name: &str) -> FlagRole {
    match name {
        "address"
        | "api-key"
        | "client-authority"
        | "grpc-meta"
        | "codec-endpoint"
        | "codec-auth"
        | "codec-header"
        | "env"
        | "env-file"
        | "config-file"
        | "profile"
        | "disable-config-file"
        | "disable-config-env"
        | "tls"
        | "tls-cert-path"
        | "tls-cert-data"
        | "tls-key-path"
        | "tls-key-data"
        | "tls-ca-path"
        | "tls-ca-data"
        | "tls-disable-host-verification"
        | "tls-server-name" => FlagRole::Pinned,
        // Who acts, as Temporal records it: tgate sets `tgate:<caller>`. On `activity pause` the
        // flag is the command's own (it shadows the client's) and fills the request's identity
        // field: the same record, so pinned there too.
        "identity" => FlagRole::Pinned,
        "input-file" | "signal-input-file" | "update-input-file" | "description-file" => {
            FlagRole::ReadsFile
        }
        "source" if path == CommandPath::WorkflowFixHistoryJson => FlagRole::ReadsFile,
        "target" if path == CommandPath::WorkflowFixHistoryJson => FlagRole::WritesFile,
        "db-filename" if path == CommandPath::ServerStartDev => FlagRole::WritesFile,
        "ui-asset-path" if path == CommandPath::ServerStartDev => FlagRole::ReadsFile,
        _ => FlagRole::Plain,
    }
}

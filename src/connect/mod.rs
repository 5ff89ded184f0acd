//! Connections: the configuration file, its named integrations and their credentials.
//!
//! An integration follows one of Temporal's three auth methods: a Cloud API key (address
//! `{namespace}.{account_id}.tmprl.cloud:7233`, TLS, `authorization: Bearer`), Cloud mTLS (same
//! address, client certificate), or Direct Connect (any host; optional client cert/key, server CA
//! and API key; plain TCP without any of them). Secrets are read from a file or an environment variable named in
//! the configuration — never written inline — and a [`Secret`] never prints its value.
//!
//! Every field is validated when the configuration loads, with an error naming the integration and
//! the field, before anything connects.

pub mod doctor;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A secret value (API key, private key). Its `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The value, for the places that must hand it on (the child's environment, the TLS config).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Where a secret or certificate comes from.
#[derive(Clone, Debug)]
pub struct Source {
    /// Read from this file.
    pub file: Option<PathBuf>,
    /// Read from this environment variable.
    pub env: Option<String>,
}

/// Why a value written where a source belongs is refused (never quoting it).
const INLINE: &str = "give `{file: PATH}` or `{env: NAME}`; a value written inline is refused, and not shown (secrets and keys are never written in the configuration)";

/// Visitor methods refusing a scalar where a source belongs, without quoting it.
macro_rules! refuse_inline {
    ($($visit:ident: $ty:ty),*) => {$(
        fn $visit<E: serde::de::Error>(self, _: $ty) -> Result<Source, E> {
            Err(E::custom(INLINE))
        }
    )*};
}

/// Read by hand, not derived: serde's own errors quote the value they met (`invalid type:
/// string "tgk-…"`), and the value written where a source belongs is often the secret itself
/// (`api_key: tgk-…`, a PEM key pasted inline). No error here quotes a value.
impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Source, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Source;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`{file: PATH}` or `{env: NAME}`")
            }
            // Every scalar is refused the same way (serde's defaults would quote it).
            refuse_inline!(visit_str: &str, visit_bool: bool, visit_i64: i64, visit_u64: u64,
                visit_f64: f64, visit_i128: i128, visit_u128: u128);
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<Source, A::Error> {
                Err(serde::de::Error::custom(INLINE))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Source, A::Error> {
                use serde::de::Error;
                let mut source = Source {
                    file: None,
                    env: None,
                };
                while let Some(key) = m.next_key::<serde_yaml::Value>()? {
                    let key = match key.as_str() {
                        Some(k @ ("file" | "env")) => k.to_owned(),
                        _ => {
                            return Err(A::Error::custom(
                                "a source takes only `file` or `env` (the other key is not shown)",
                            ));
                        }
                    };
                    let text = match m.next_value::<serde_yaml::Value>()? {
                        serde_yaml::Value::String(s) => s,
                        _ => {
                            return Err(A::Error::custom(format!(
                                "`{key}` must be text (its value is not shown)"
                            )));
                        }
                    };
                    let given = if key == "file" {
                        source.file.replace(PathBuf::from(text)).is_some()
                    } else {
                        // A key pasted where the variable's name belongs is not quoted later.
                        let name = text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                            && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                        if !name {
                            return Err(A::Error::custom(
                                "`env` is not an environment variable name (letters, digits, `_`; not shown)",
                            ));
                        }
                        source.env.replace(text).is_some()
                    };
                    if given {
                        return Err(A::Error::custom(format!("`{key}` is given twice")));
                    }
                }
                Ok(source)
            }
        }
        d.deserialize_any(Visit)
    }
}

/// The configuration file (YAML), version 1.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    version: u32,
    #[serde(default, deserialize_with = "crate::yaml::some")]
    default_integration: Option<String>,
    #[serde(default, deserialize_with = "crate::yaml::value_items")]
    integrations: Vec<IntegrationFile>,
    /// `None` when the key is absent (the built-in read-only policy); given, it may not be empty.
    #[serde(default, deserialize_with = "crate::yaml::some_items")]
    policies: Option<Vec<PathBuf>>,
    #[serde(default, deserialize_with = "crate::yaml::some")]
    backend: Option<Backend>,
    #[serde(default, deserialize_with = "crate::yaml::some")]
    temporal: Option<PathBuf>,
    #[serde(default, deserialize_with = "crate::yaml::value")]
    limits: LimitsFile,
    #[serde(default, deserialize_with = "crate::yaml::value")]
    audit: AuditFile,
    /// `None` when the key is absent (anyone but the requester approves); given, it may not be
    /// empty.
    #[serde(default, deserialize_with = "crate::yaml::some_items")]
    approvers: Option<Vec<ApproverFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApproverFile {
    #[serde(deserialize_with = "crate::yaml::value")]
    id: String,
    #[serde(default, deserialize_with = "crate::yaml::value_items")]
    groups: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditFile {
    #[serde(default, deserialize_with = "crate::yaml::some")]
    path: Option<PathBuf>,
    #[serde(default, deserialize_with = "crate::yaml::some")]
    max_file_bytes: Option<u64>,
    #[serde(default, deserialize_with = "crate::yaml::some")]
    lock_timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    #[serde(default, deserialize_with = "crate::yaml::some")]
    timeout: Option<String>,
    #[serde(default, deserialize_with = "crate::yaml::some")]
    max_output_bytes: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IntegrationFile {
    #[serde(deserialize_with = "crate::yaml::value")]
    name: String,
    auth: AuthKind,
    #[serde(deserialize_with = "crate::yaml::value")]
    namespace: String,
    #[serde(default, deserialize_with = "crate::yaml::some")]
    account_id: Option<String>,
    #[serde(default, deserialize_with = "crate::yaml::some")]
    address: Option<String>,
    #[serde(default, deserialize_with = "crate::yaml::some")]
    api_key: Option<Source>,
    #[serde(default, deserialize_with = "crate::yaml::some")]
    client_cert: Option<Source>,
    #[serde(default, deserialize_with = "crate::yaml::some")]
    client_key: Option<Source>,
    #[serde(default, deserialize_with = "crate::yaml::some")]
    server_ca: Option<Source>,
    #[serde(default, deserialize_with = "crate::yaml::some")]
    server_name: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum AuthKind {
    CloudApiKey,
    CloudMtls,
    Direct,
}

/// Which executor runs an allowed command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The pinned `temporal` binary.
    Cli,
    /// Native gRPC only: a command that is not translated is refused (exit 2).
    Grpc,
    /// Native gRPC where the command is translated, else the CLI.
    Auto,
}

/// TLS settings: PEM material and, for Direct Connect, an API key sent over the connection.
#[derive(Clone, Debug, Default)]
pub struct Tls {
    /// Client certificate chain (PEM), for mTLS.
    pub client_cert: Option<String>,
    /// Client private key (PEM), for mTLS.
    pub client_key: Option<Secret>,
    /// Server CA (PEM); system roots when absent.
    pub server_ca: Option<String>,
    /// Server name to verify instead of the address's host.
    pub server_name: Option<String>,
    /// Direct Connect only: an API key, sent as `authorization: Bearer <key>` (as the CLI's
    /// `--api-key`). It lives here, not beside `tls`, so that a key never goes over plain TCP: an
    /// API key turns TLS on, as it does for the CLI. (Cloud API keys are [`Auth::CloudApiKey`].)
    pub api_key: Option<Secret>,
    /// Where the PEM material was read from, for what is said of it.
    pub origins: TlsOrigins,
}

/// Where each PEM field of [`Tls`] was read from: `` `/etc/tgate/ca.pem` `` or ``environment
/// variable `CA` `` (QA: a problem found in the material named neither).
#[derive(Clone, Debug, Default)]
pub struct TlsOrigins {
    /// `client_cert`'s.
    pub client_cert: Option<String>,
    /// `client_key`'s.
    pub client_key: Option<String>,
    /// `server_ca`'s.
    pub server_ca: Option<String>,
}

/// How an integration authenticates.
#[derive(Clone, Debug)]
pub enum Auth {
    /// Temporal Cloud API key: TLS with system roots, `authorization: Bearer <key>`.
    CloudApiKey {
        /// The key.
        api_key: Secret,
    },
    /// Temporal Cloud mTLS.
    CloudMtls {
        /// Certificates.
        tls: Tls,
    },
    /// Direct Connect: TLS when any TLS field or an API key is given, else plain TCP.
    Direct {
        /// Certificates, if any.
        tls: Option<Tls>,
    },
}

/// A named connection to a Temporal service.
#[derive(Clone, Debug)]
pub struct Integration {
    /// Name, e.g. "Production Temporal".
    pub name: String,
    /// `host:port`.
    pub address: String,
    /// The namespace commands use when they name none.
    pub namespace: String,
    /// Credentials.
    pub auth: Auth,
}

impl Integration {
    /// The embedded default: Direct Connect to `localhost:7233`, namespace `default`.
    pub fn local_default() -> Integration {
        Integration {
            name: "local".to_owned(),
            address: "localhost:7233".to_owned(),
            namespace: "default".to_owned(),
            auth: Auth::Direct { tls: None },
        }
    }

    /// The integration's own TLS settings, if it has any (a Cloud API key's TLS uses the
    /// defaults: none of its own).
    pub fn tls(&self) -> Option<&Tls> {
        match &self.auth {
            Auth::CloudMtls { tls } => Some(tls),
            Auth::Direct { tls } => tls.as_ref(),
            Auth::CloudApiKey { .. } => None,
        }
    }

    /// The API key the integration sends, if any: a Cloud API key, or Direct Connect's.
    pub fn api_key(&self) -> Option<&Secret> {
        match &self.auth {
            Auth::CloudApiKey { api_key } => Some(api_key),
            Auth::Direct { tls: Some(tls) } => tls.api_key.as_ref(),
            Auth::Direct { tls: None } | Auth::CloudMtls { .. } => None,
        }
    }
}

/// Limits on one execution.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Wall-clock limit; the child is killed after it.
    pub timeout: std::time::Duration,
    /// Output cap per stream, in bytes; beyond it the output is cut and the command fails.
    pub max_output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: std::time::Duration::from_secs(120),
            max_output_bytes: 16 << 20,
        }
    }
}

/// Where the audit log goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditConfig {
    /// The active log file; `None`: the user's state directory
    /// ([`crate::audit::default_path`]).
    pub path: Option<PathBuf>,
    /// The active file is rotated before a write would take it past this size.
    pub max_file_bytes: u64,
    /// How long a write waits for the log's file lock (held by another process) before failing.
    pub lock_timeout: std::time::Duration,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            path: None,
            max_file_bytes: crate::audit::log::DEFAULT_MAX_FILE_BYTES,
            lock_timeout: crate::audit::log::DEFAULT_LOCK_TIMEOUT,
        }
    }
}

/// Smallest accepted `audit.max_file_bytes`.
pub const MIN_AUDIT_FILE_BYTES: u64 = 4096;

/// The loaded configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Integrations read whole, in file order: every one ([`Config::from_yaml`]), or the one in
    /// use ([`Config::load_for`]).
    pub integrations: Vec<Integration>,
    /// The names of the integrations whose secrets and certificates were not read (their
    /// structure was checked): those [`Config::load_for`] was not asked for.
    pub unread: Vec<String>,
    /// The API keys of unread integrations that could be read (their environment variable set,
    /// their file readable), kept out of what tgate prints and records as the others are.
    pub other_api_keys: Vec<Secret>,
    /// Name of the default integration.
    pub default_integration: String,
    /// Policy files (relative paths are relative to the configuration file).
    pub policies: Vec<PathBuf>,
    /// Executor choice.
    pub backend: Backend,
    /// The `temporal` binary.
    pub temporal: Option<PathBuf>,
    /// Execution limits.
    pub limits: Limits,
    /// The audit log.
    pub audit: AuditConfig,
    /// People who may approve gated commands, with their groups (docs/approvals.md). An approver
    /// names themselves (`--as` / `TGATE_APPROVER`); their groups come only from here.
    pub approvers: Vec<Approver>,
}

/// What [`Config::load_records`] reads of a configuration: its audit log and its approvers.
#[derive(Debug, Default)]
pub struct RecordsConfig {
    /// The audit log.
    pub audit: AuditConfig,
    /// People who may approve gated commands, with their groups.
    pub approvers: Vec<Approver>,
}

/// How much of a configuration file is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reading<'a> {
    /// All of it, every integration's material included.
    Everything,
    /// All of it, but only the named integration's material (the default one's without a
    /// name): the others' structure is checked, and their secrets and certificates are not read.
    One(Option<&'a str>),
    /// What [`RecordsConfig`] holds.
    Records,
}

/// A person who may approve, and the groups an approval rule's `approvers:` can name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approver {
    /// Identity.
    pub id: String,
    /// Groups.
    pub groups: Vec<String>,
}

impl Default for Config {
    /// No configuration at all: local Direct Connect, the built-in policy.
    fn default() -> Self {
        Config {
            integrations: vec![Integration::local_default()],
            unread: Vec::new(),
            other_api_keys: Vec::new(),
            default_integration: "local".to_owned(),
            policies: Vec::new(),
            backend: Backend::Auto,
            temporal: None,
            limits: Limits::default(),
            audit: AuditConfig::default(),
            approvers: Vec::new(),
        }
    }
}

/// Why a configuration did not load.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Not readable.
    #[error("cannot read configuration `{path}`: {message}")]
    Read {
        /// File.
        path: String,
        /// OS error.
        message: String,
    },
    /// Not YAML of the expected shape.
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        /// File.
        path: String,
        /// Line.
        line: usize,
        /// Column.
        column: usize,
        /// Message.
        message: String,
    },
    /// A field is wrong.
    #[error("{path}: {place}: {message}")]
    Invalid {
        /// File.
        path: String,
        /// `integration \`name\`` or a top-level key.
        place: String,
        /// Message.
        message: String,
    },
}

/// The largest configuration or policy file tgate reads (a 5,000-rule policy is under 1 MiB).
pub const MAX_FILE_BYTES: u64 = 8 << 20;

/// `path` as text, refused past [`MAX_FILE_BYTES`] (`/dev/zero` named as a file would never end).
pub fn read_text(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_FILE_BYTES} bytes"
        )));
    }
    // A UTF-8 byte-order mark (some Windows editors write one), which YAML allows and serde_yaml
    // reads as part of the first key (QA: `missing field \`namespaces\`` for a file that has it).
    if let Some(rest) = text.strip_prefix('\u{feff}') {
        text = rest.to_owned();
    }
    Ok(text)
}

impl Config {
    /// Every integration's API key: what tgate keeps out of everything it prints and records.
    pub fn api_keys(&self) -> Vec<String> {
        self.integrations
            .iter()
            .filter_map(Integration::api_key)
            .chain(&self.other_api_keys)
            .map(|k| k.expose().to_owned())
            .collect()
    }

    /// Loads and validates a configuration file, every integration's secrets and certificates
    /// included.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::load_as(path, Reading::Everything)
    }

    /// Loads and validates a configuration file for one integration, `integration` (the default
    /// one when `None`): its secrets and certificates are read and checked, while the other
    /// integrations' are not read (their structure is checked all the same). An agent working
    /// with one cluster needs neither the secrets of another in its environment nor its files on
    /// its machine (QA: `--integration Self-hosted` failed for want of the production Cloud key).
    /// An integration not named in the file is not an error here: [`Config::integration`] says so
    /// with the names configured.
    pub fn load_for(path: &Path, integration: Option<&str>) -> Result<Config, ConfigError> {
        Config::load_as(path, Reading::One(integration))
    }

    /// Loads what the commands that work on tgate's records (`audit`, `approvals`, `approve`,
    /// `reject`) need of a configuration file: its audit log and its approvers. No integration
    /// is read: an approver or an auditor needs none of their secrets (QA: each of these
    /// commands failed without the production API key in its environment), and no certificate,
    /// key or `temporal` binary has to be on their machine. The file must still parse, and what
    /// is read is checked as [`Config::load`] checks it.
    pub fn load_records(path: &Path) -> Result<RecordsConfig, ConfigError> {
        Config::load_as(path, Reading::Records).map(|c| RecordsConfig {
            audit: c.audit,
            approvers: c.approvers,
        })
    }

    fn load_as(path: &Path, reading: Reading) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let text = read_text(path).map_err(|e| ConfigError::Read {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        // Absolute: a relative `temporal:` (or audit path) would otherwise be relative to the
        // directory each process runs in, and the CLI executor starts nothing from tgate's own
        // (QA: `--config tb/rel.yaml` with `temporal: temporal2` could not start it).
        // The file's own path is made absolute, not its parent: a bare file name's parent is the
        // empty path, which `absolute` refuses (QA: `--config x.yaml` left `temporal: t`
        // relative, and the CLI executor could not start it).
        let base = config_dir(path);
        let base = base.as_path();
        // A variable that is set but not UTF-8 is read lossily, so that the check of what it
        // holds names the problem (a key past ASCII, PEM that is not), rather than "not set".
        Config::from_yaml_as(
            &text,
            &shown,
            base,
            &|k| std::env::var_os(k).map(|v| v.to_string_lossy().into_owned()),
            reading,
        )
    }

    /// Parses and validates configuration text. `env` looks up environment variables (tests pass
    /// their own).
    pub fn from_yaml(
        text: &str,
        path: &str,
        base: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        Config::from_yaml_as(text, path, base, env, Reading::Everything)
    }

    /// [`Config::from_yaml`]; with [`Reading::Records`], no integration is read (none is in the
    /// result) and the `temporal` binary is not looked for.
    fn from_yaml_as(
        text: &str,
        path: &str,
        base: &Path,
        env: &dyn Fn(&str) -> Option<String>,
        reading: Reading,
    ) -> Result<Config, ConfigError> {
        let file: ConfigFile = serde_yaml::from_str(text).map_err(|e| {
            let (line, column, message) = crate::yaml::error_parts(&e, text);
            ConfigError::Syntax {
                path: path.to_owned(),
                line,
                column,
                message,
            }
        })?;
        let invalid = |place: &str, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            place: place.to_owned(),
            message,
        };
        if file.version != 1 {
            return Err(invalid(
                "version",
                format!("unsupported version {} (this tgate reads 1)", file.version),
            ));
        }
        if file.integrations.is_empty() {
            return Err(invalid(
                "integrations",
                "no integration is configured".to_owned(),
            ));
        }
        let resolve = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        // An empty list is refused rather than read as none, which means the built-in read-only
        // policy: a list a template rendered empty, or emptied to allow nothing, would otherwise
        // allow reads (review; `approvers: []` is refused so too).
        if file.policies.as_ref().is_some_and(Vec::is_empty) {
            return Err(invalid(
                "policies",
                "the list is empty: name policy files, or remove the key for the built-in \
                 read-only policy"
                    .to_owned(),
            ));
        }
        // A path that begins with `~` would be a directory named `~` beside the configuration
        // (QA: `audit.path: ~/x` made one): tgate expands nothing, as no shell runs.
        let paths = file
            .temporal
            .iter()
            .map(|p| ("temporal".to_owned(), p))
            .chain(file.audit.path.iter().map(|p| ("audit.path".to_owned(), p)))
            .chain(
                file.policies
                    .iter()
                    .flatten()
                    .enumerate()
                    .map(|(n, p)| (format!("policies[{n}]"), p)),
            );
        for (place, p) in paths {
            if starts_with_tilde(p) {
                return Err(invalid(&place, tilde_refused(p)));
            }
            // A file's path, not a directory's (QA: `audit.path: ""` and `audit.path: logs/`
            // loaded, and every run failed with `Is a directory`).
            if not_a_file_path(p) || resolve(p).is_dir() {
                return Err(invalid(
                    &place,
                    format!(
                        "`{}` is not a file's path (empty, or a directory): give the path of a file",
                        p.display()
                    ),
                ));
            }
        }
        let mut integrations = Vec::new();
        let mut unread = Vec::new();
        let mut other_api_keys = Vec::new();
        let read_integrations = match reading {
            Reading::Everything | Reading::One(_) => file.integrations.as_slice(),
            Reading::Records => &[],
        };
        // The integration whose material is read under `Reading::One`.
        let wanted = match reading {
            Reading::One(name) => Some(
                name.or(file.default_integration.as_deref())
                    .unwrap_or(file.integrations[0].name.as_str()),
            ),
            _ => None,
        };
        for (n, i) in read_integrations.iter().enumerate() {
            let place = format!("integration `{}`", i.name.escape_debug());
            check_shown_name("name", &i.name).map_err(|m| invalid(&place, m))?;
            if let Some(x) = read_integrations[..n]
                .iter()
                .find(|x| x.name.to_lowercase() == i.name.to_lowercase())
            {
                // Names differing only in case would be told apart by `--integration` alone,
                // not by the people reading approvals and audit records.
                return Err(invalid(
                    &place,
                    if x.name == i.name {
                        "duplicate name".to_owned()
                    } else {
                        format!("differs from `{}` only in case", x.name.escape_debug())
                    },
                ));
            }
            let material = wanted.is_none_or(|w| w == i.name);
            let read = integration(i, &resolve, env, material).map_err(|m| invalid(&place, m))?;
            if material {
                integrations.push(read);
            } else {
                unread.push(i.name.clone());
                // Read when it can be, only to be kept out of what tgate prints and records.
                match i.api_key.as_ref().map(|s| read_api_key(s, &resolve, env)) {
                    Some(Ok(key)) => other_api_keys.push(key),
                    Some(Err(why)) => tracing::warn!(
                        integration = ?i.name,
                        %why,
                        "an integration not in use: its API key is not read, nor kept out of output"
                    ),
                    None => {}
                }
            }
        }
        let default_integration = match file.default_integration {
            _ if reading == Reading::Records => String::new(),
            Some(d) if file.integrations.iter().any(|i| i.name == d) => d,
            Some(d) => {
                return Err(invalid(
                    "default_integration",
                    format!("no integration is named `{d}`"),
                ));
            }
            None => file.integrations[0].name.clone(),
        };
        let mut limits = Limits::default();
        if let Some(t) = &file.limits.timeout {
            let ns = crate::command::parse_duration(t).map_err(|e| invalid("limits.timeout", e))?;
            if ns <= 0 {
                return Err(invalid("limits.timeout", "must be positive".to_owned()));
            }
            limits.timeout = std::time::Duration::from_nanos(ns as u64);
        }
        if let Some(m) = file.limits.max_output_bytes {
            if m == 0 {
                return Err(invalid(
                    "limits.max_output_bytes",
                    "must be at least 1 (0 would cut every output)".to_owned(),
                ));
            }
            limits.max_output_bytes = m;
        }
        let temporal = file.temporal.as_deref().map(resolve);
        if let Some(bin) = temporal.as_ref().filter(|_| reading != Reading::Records) {
            use std::os::unix::fs::PermissionsExt;
            match std::fs::metadata(bin) {
                Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => {}
                Ok(_) => {
                    return Err(invalid(
                        "temporal",
                        format!("`{}` is not an executable file", bin.display()),
                    ));
                }
                Err(e) => {
                    return Err(invalid("temporal", format!("`{}`: {e}", bin.display())));
                }
            }
        }
        let mut audit = AuditConfig {
            path: file.audit.path.as_deref().map(resolve),
            ..AuditConfig::default()
        };
        if let Some(m) = file.audit.max_file_bytes {
            if m < MIN_AUDIT_FILE_BYTES {
                return Err(invalid(
                    "audit.max_file_bytes",
                    format!("must be at least {MIN_AUDIT_FILE_BYTES}"),
                ));
            }
            audit.max_file_bytes = m;
        }
        if let Some(t) = &file.audit.lock_timeout {
            let ns =
                crate::command::parse_duration(t).map_err(|e| invalid("audit.lock_timeout", e))?;
            if ns <= 0 {
                return Err(invalid("audit.lock_timeout", "must be positive".to_owned()));
            }
            audit.lock_timeout = std::time::Duration::from_nanos(ns as u64);
        }
        // An empty list is refused rather than read as no list, which lets anyone but the
        // requester approve: a list a template rendered empty, or emptied to remove everyone,
        // would otherwise open approval to all (QA). Policies refuse an empty `approvers:` too.
        if file.approvers.as_ref().is_some_and(Vec::is_empty) {
            return Err(invalid(
                "approvers",
                "the list is empty: name who may approve, or remove the key to let anyone but \
                 the requester approve"
                    .to_owned(),
            ));
        }
        let mut approvers: Vec<Approver> = Vec::new();
        for (i, a) in file.approvers.iter().flatten().enumerate() {
            let field = format!("approvers[{i}].id");
            check_shown_name("id", &a.id).map_err(|m| invalid(&field, m))?;
            for (j, g) in a.groups.iter().enumerate() {
                let field = format!("approvers[{i}].groups[{j}]");
                check_shown_name("group", g).map_err(|m| invalid(&field, m))?;
                if let Some(why) = crate::audit::export::group_unjoinable(g) {
                    return Err(invalid(&field, format!("the group `{g}` {why}")));
                }
            }
            if approvers
                .iter()
                .any(|b| crate::approval::person(&b.id) == crate::approval::person(&a.id))
            {
                return Err(invalid(&field, format!("`{}` is listed twice", a.id)));
            }
            approvers.push(Approver {
                id: a.id.clone(),
                groups: a.groups.clone(),
            });
        }
        Ok(Config {
            audit,
            approvers,
            integrations,
            unread,
            other_api_keys,
            default_integration,
            policies: file.policies.iter().flatten().map(|p| resolve(p)).collect(),
            backend: file.backend.unwrap_or(Backend::Auto),
            temporal,
            limits,
        })
    }

    /// The integration called `name`, or the default one.
    pub fn integration(&self, name: Option<&str>) -> Result<&Integration, String> {
        let want = name.unwrap_or(&self.default_integration);
        if let Some(i) = self.integrations.iter().find(|i| i.name == want) {
            return Ok(i);
        }
        if self.unread.iter().any(|n| n == want) {
            // Only a caller that loaded the configuration for another integration gets here.
            return Err(format!(
                "integration `{want}`: its secrets and certificates were not read (the \
                 configuration was loaded for another integration)"
            ));
        }
        let names: Vec<&str> = self
            .integrations
            .iter()
            .map(|i| i.name.as_str())
            .chain(self.unread.iter().map(String::as_str))
            .collect();
        Err(format!(
            "no integration is named `{want}` (configured: {})",
            names.join(", ")
        ))
    }
}

/// Why `ns` cannot be the namespace commands run in by default, if it cannot: empty, with spaces
/// around it, or holding a character the command lexer refuses (a control or invisible one), so
/// that no command line could name it and no policy list it (`$default`).
pub fn check_namespace(ns: &str) -> Result<(), String> {
    if ns.trim().is_empty() {
        return Err("the namespace is empty".to_owned());
    }
    match crate::lex::check_name("namespace", ns, 1000) {
        Ok(()) => {}
        Err(crate::lex::NameProblem::Unreadable(e)) => {
            return Err(format!("{e}: `{}`", crate::lex::escape_controls(ns)));
        }
        Err(crate::lex::NameProblem::Padded) => {
            return Err(format!(
                "the namespace `{}` has spaces around it",
                ns.escape_debug()
            ));
        }
    }
    // The CLI sends the namespace in a gRPC header (`temporal-namespace`), which takes printable
    // ASCII only: it could never name one with another character (QA: doctor called it
    // unreachable through the CLI, not found natively).
    if let Some(c) = ns.chars().find(|c| !c.is_ascii()) {
        return Err(format!(
            "the namespace `{}` holds `{c}`, which is not ASCII: the Temporal CLI sends the \
             namespace in a gRPC header, which takes printable ASCII only",
            ns.escape_debug()
        ));
    }
    // Policies list namespaces as globs; no Temporal namespace name has these.
    if ns.contains(['*', '?', '[', ']', '{', '}', '\\']) {
        return Err(format!(
            "the namespace `{}` holds a glob character (`*?[]{{}}\\`)",
            ns.escape_debug()
        ));
    }
    Ok(())
}

fn read_source(
    s: &Source,
    what: &str,
    resolve: &dyn Fn(&Path) -> PathBuf,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    read_source_from(s, what, resolve, env).map(|(text, _)| text)
}

/// [`read_source`], and where the text came from (`` `/path` `` or ``environment variable `X` ``).
fn read_source_from(
    s: &Source,
    what: &str,
    resolve: &dyn Fn(&Path) -> PathBuf,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, String), String> {
    let (text, origin) = match (&s.file, &s.env) {
        (Some(f), None) => {
            if starts_with_tilde(f) {
                return Err(format!("{what}: {}", tilde_refused(f)));
            }
            let p = resolve(f);
            // Opening a named pipe waits for a writer, for ever if none comes (QA).
            if std::fs::metadata(&p).is_ok_and(|m| {
                use std::os::unix::fs::FileTypeExt;
                m.file_type().is_fifo() || m.file_type().is_socket()
            }) {
                return Err(format!(
                    "{what}: `{}` is a named pipe or socket, not a file (reading it would wait for a writer)",
                    p.display()
                ));
            }
            // Within the size a configuration file may have (QA: `{file: /dev/zero}` never ended).
            let text = read_text(&p).map_err(|e| {
                if e.kind() == std::io::ErrorKind::InvalidData && what == "api_key" {
                    format!("{what}: `{}` is not text (an API key is one line of text)", p.display())
                } else if e.kind() == std::io::ErrorKind::InvalidData {
                    format!(
                        "{what}: `{}` is not text (DER? give the PEM form: `openssl x509 -inform der`, \
                         `openssl pkey -inform der`)",
                        p.display()
                    )
                } else if may_be_a_key(f) {
                    format!("{what}: cannot read the file named ({KEY_NOT_SHOWN})")
                } else {
                    format!("{what}: cannot read `{}`: {e}", p.display())
                }
            })?;
            (text, format!("`{}`", p.display()))
        }
        (None, Some(k)) => {
            let text = env(k).ok_or_else(|| {
                if may_be_a_key(Path::new(k)) {
                    format!("{what}: no environment variable by the name given ({KEY_NOT_SHOWN})")
                } else {
                    format!("{what}: environment variable `{k}` is not set")
                }
            })?;
            (text, format!("environment variable `{k}`"))
        }
        _ => return Err(format!("{what}: give exactly one of `file` or `env`")),
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("{what}: {origin} is empty"));
    }
    Ok((text.to_owned(), origin))
}

/// Whether `s` is given as a source can be (exactly one of `file` or `env`, a path without `~`),
/// without reading it.
fn source_given(s: &Source, what: &str) -> Result<(), String> {
    match (&s.file, &s.env) {
        (Some(f), None) if starts_with_tilde(f) => Err(format!("{what}: {}", tilde_refused(f))),
        // Not a file's path whatever the machine holds (a directory's is seen only where the
        // file is read).
        (Some(f), None) if not_a_file_path(f) => Err(format!(
            "{what}: `{}` is not a file's path (empty, or a directory's)",
            f.display()
        )),
        (Some(_), None) | (None, Some(_)) => Ok(()),
        _ => Err(format!("{what}: give exactly one of `file` or `env`")),
    }
}

/// Why a source's name is not quoted when it cannot be read.
const KEY_NOT_SHOWN: &str = "its name, long and with no file extension, is not shown: is it the \
                             key itself? give `{file: PATH}` or `{env: NAME}`";

/// Whether a source's name that cannot be read may be a secret pasted in its place (QA: `{file:
/// <key>}` said `cannot read \`<key>\``): none of the extensions a certificate or key file has
/// (a JWT-shaped key has dots: re-check QA), and a part between slashes of 32 characters or more
/// (base64 keys hold `/`: review), or 200 in all. Whatever the error: a name too long for the
/// file system is not "not found" (review).
fn may_be_a_key(name: &Path) -> bool {
    let text = name.as_os_str().as_encoded_bytes();
    let file_like = [".pem", ".crt", ".cer", ".key", ".txt", ".cert"]
        .iter()
        .any(|e| text.ends_with(e.as_bytes()));
    let long_part = text.split(|&b| b == b'/').any(|part| part.len() >= 32);
    !file_like && (long_part || text.len() >= 200)
}

/// Whether `p` ends in `/`: a directory's path however the machine is, never a file's.
pub(crate) fn ends_in_slash(p: &Path) -> bool {
    p.as_os_str().as_encoded_bytes().ends_with(b"/")
}

/// Whether `p` cannot name a file whatever the machine holds: empty, or [`ends_in_slash`].
fn not_a_file_path(p: &Path) -> bool {
    p.as_os_str().is_empty() || ends_in_slash(p)
}

/// Whether a path begins with `~` (`~`, `~/x`, `~user/x`), which only a shell expands.
pub(crate) fn starts_with_tilde(p: &Path) -> bool {
    p.as_os_str().as_encoded_bytes().starts_with(b"~")
}

/// Why a path beginning with `~` is refused.
fn tilde_refused(p: &Path) -> String {
    format!(
        "`{}`: tgate expands no `~` (no shell runs): give the full path, or one relative to the \
         configuration file",
        p.display()
    )
}

/// Whether `s` can be one label of a Cloud host name: lower-case letters, digits and `-`, not
/// first or last, at most 63 characters.
fn cloud_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A Direct Connect address: `host:port` as the CLI's gRPC dial takes it — a host name (letters,
/// digits, `-`, `_`, `.`), an IPv4 address, or an IPv6 one in brackets, and a port 1–65535.
fn check_host_port(address: &str) -> Result<(), String> {
    let shown = address.escape_debug();
    if address.contains("://") {
        return Err(format!(
            "address `{shown}`: give host:port without a scheme (TLS is turned on by the TLS fields)"
        ));
    }
    let bad = || {
        format!(
            "address `{shown}` is not host:port (e.g. temporal.internal:7233, 10.0.0.5:7233, \
             [::1]:7233)"
        )
    };
    let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
    if !port.parse::<u16>().is_ok_and(|p| p > 0) || port.starts_with('+') {
        return Err(bad());
    }
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
    };
    if !host_ok {
        return Err(bad());
    }
    if numeric_host(host) && host.parse::<std::net::Ipv4Addr>().is_err() {
        return Err(format!(
            "address `{shown}`: `{host}` is neither a host name nor an IPv4 address in dotted \
             decimal (four numbers 0-255, no leading zeros): the CLI cannot dial it, and the \
             system resolver, which the native executor asks, may read it as another address \
             (octal, hexadecimal or fewer than four parts: `0177.0.0.1` is 127.0.0.1)"
        ));
    }
    Ok(())
}

/// Whether every dot-separated part of `host` is a number as C's `inet_aton` reads one (decimal,
/// octal with a leading `0`, hexadecimal after `0x`): the system resolver takes such a host as an
/// IPv4 address (`2130706433`, `0x7f.1`, `0177.0.0.1` are all 127.0.0.1), where Go's resolver,
/// the CLI's, reads only dotted decimal and looks anything else up by name, and fails (QA: the
/// native executor reached 127.0.0.1 where the CLI said "could not resolve host", and someone
/// writing `0177.0.0.1` may have meant 177.0.0.1). No host name is all numbers: a top-level
/// domain never is.
fn numeric_host(host: &str) -> bool {
    host.split('.').all(|part| {
        let digits = part
            .strip_prefix("0x")
            .or_else(|| part.strip_prefix("0X"))
            .map_or(part.bytes().all(|b| b.is_ascii_digit()), |hex| {
                hex.bytes().all(|b| b.is_ascii_hexdigit())
            });
        !part.is_empty() && digits
    })
}

/// The shortest API key taken.
pub const MIN_API_KEY_CHARS: usize = 8;

/// An API key read from `s`: one word of visible ASCII characters. Anything else inside — a line
/// break, space, control, invisible or non-ASCII character, a non-breaking space or a smart quote
/// pasted with it — would reach the server as part of the header (tonic sends bytes past ASCII),
/// or be refused by the CLI (Go's gRPC takes printable ASCII only).
fn read_api_key(
    s: &Source,
    resolve: &dyn Fn(&Path) -> PathBuf,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Secret, String> {
    let text = read_source(s, "api_key", resolve, env)?;
    if !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(
            "api_key: the key holds a space, line break, control, invisible or non-ASCII \
             character (it is not shown): give the key alone"
                .to_owned(),
        );
    }
    // JSON writes these escaped (`\"`, `\\`, and Go's `\u003c`...), where the key, echoed by a
    // server or held in a memo, would escape being replaced in what tgate passes on.
    if text
        .bytes()
        .any(|b| matches!(b, b'"' | b'\\' | b'<' | b'>' | b'&'))
    {
        return Err(
            "api_key: the key holds one of \" \\ < > & (it is not shown), which JSON output \
             escapes, so that tgate could not keep it out of what it prints"
                .to_owned(),
        );
    }
    // Scrubbed from what tgate prints, a short key would cut words apart; no real key is.
    if text.len() < MIN_API_KEY_CHARS {
        return Err(format!(
            "api_key: the key is shorter than {MIN_API_KEY_CHARS} characters (it is not shown)"
        ));
    }
    // The CLI gets it in an environment variable, which Linux caps (QA: a 300 kB key loaded,
    // then every CLI run failed to start, after its decision was recorded).
    if text.len() > MAX_PEM_IN_ENV {
        return Err(format!(
            "api_key: the key is longer than {MAX_PEM_IN_ENV} characters (it is not shown), more \
             than the CLI can be given"
        ));
    }
    Ok(Secret(text))
}

/// Why `name`, an integration's name or an approver's id, cannot be one, if it cannot: empty,
/// with spaces around it, or holding a control or invisible character (QA: `prod` and `prod`
/// followed by a zero-width space were two integrations). Approvers and auditors read these
/// names, and must be able to tell any two apart.
fn check_shown_name(what: &str, name: &str) -> Result<(), String> {
    match crate::lex::check_name(what, name, 200) {
        Ok(()) => Ok(()),
        Err(crate::lex::NameProblem::Unreadable(e)) => Err(format!(
            "{e} (it is shown to approvers and auditors): `{}`",
            crate::lex::escape_controls(name)
        )),
        Err(crate::lex::NameProblem::Padded) => Err(format!(
            "the {what} `{}` has spaces around it (it is shown to approvers and auditors)",
            name.escape_debug()
        )),
    }
}

/// The largest client certificate or key tgate takes: it reaches the CLI as an environment
/// variable (`TEMPORAL_TLS_CLIENT_KEY_DATA=...`), capped at 128 KiB by Linux.
const MAX_PEM_IN_ENV: usize = 120 * 1024;

/// `text` if it holds a PEM block labelled `label` (`-----BEGIN <label>-----`).
fn pem(text: String, label: &str, what: &str) -> Result<String, String> {
    let begin = format!("-----BEGIN {label}-----");
    if text.contains(&begin) {
        Ok(text)
    } else {
        Err(format!("{what}: not PEM (no `{begin}` block)"))
    }
}

/// `text` if it holds an unencrypted PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC).
fn pem_key(text: String, what: &str) -> Result<String, String> {
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        || text.contains("Proc-Type: 4,ENCRYPTED")
    {
        return Err(format!(
            "{what}: the key is encrypted; give it unencrypted (`openssl pkey -in KEY -out KEY.plain`), \
             in a file only tgate's user can read"
        ));
    }
    if ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"]
        .iter()
        .any(|l| text.contains(&format!("-----BEGIN {l}-----")))
    {
        Ok(text)
    } else {
        Err(format!(
            "{what}: not a PEM private key (no `-----BEGIN PRIVATE KEY-----`, `RSA PRIVATE KEY` or `EC PRIVATE KEY` block)"
        ))
    }
}

/// The integration `i` describes, checked. With `material` false, its secrets and certificates
/// are not read, only how they are given ([`Config::load_for`]): what it returns then holds none
/// of them and is only good to be dropped.
fn integration(
    i: &IntegrationFile,
    resolve: &dyn Fn(&Path) -> PathBuf,
    env: &dyn Fn(&str) -> Option<String>,
    material: bool,
) -> Result<Integration, String> {
    check_namespace(&i.namespace)?;
    let api_key = |s: &Source| {
        if material {
            read_api_key(s, resolve, env)
        } else {
            source_given(s, "api_key").map(|()| Secret(String::new()))
        }
    };
    let tls_parts = |required: bool| -> Result<Option<Tls>, String> {
        // A source read and its PEM checked (`check`: the text and the field); without
        // `material`, only how it is given.
        let read = |src: &Option<Source>,
                    field: &str,
                    check: &dyn Fn(String, &str) -> Result<String, String>| {
            if !material {
                return src
                    .as_ref()
                    .map(|s| source_given(s, field))
                    .transpose()
                    .map(|_| (None, None));
            }
            src.as_ref()
                .map(|s| {
                    read_source_from(s, field, resolve, env).and_then(|(t, origin)| {
                        // Where the text was read from, as other problems with it say (QA).
                        let checked = check(t, field).map_err(|e| format!("{e} ({origin})"))?;
                        Ok((checked, origin))
                    })
                })
                .transpose()
                .map(Option::unzip)
        };
        let certificate = |t: String, field: &str| pem(t, "CERTIFICATE", field);
        let (cert, cert_origin) = read(&i.client_cert, "client_cert", &certificate)?;
        let (key, key_origin) = read(&i.client_key, "client_key", &pem_key)?;
        let (ca, ca_origin) = read(&i.server_ca, "server_ca", &certificate)?;
        // The CA is written to a file for the CLI: a key in it would be written with it.
        if ca
            .as_deref()
            .is_some_and(|c| c.contains("PRIVATE KEY-----"))
        {
            return Err("server_ca: holds a private key; give the CA certificate alone".to_owned());
        }
        if i.client_cert.is_some() != i.client_key.is_some() {
            return Err("give both `client_cert` and `client_key`, or neither".to_owned());
        }
        // The CLI executor hands the certificate and key to the CLI in environment variables,
        // each of which Linux caps at 128 KiB (`MAX_ARG_STRLEN`, name included).
        for (field, v) in [
            ("client_cert", cert.as_deref()),
            ("client_key", key.as_deref()),
        ] {
            if let Some(v) = v.filter(|v| v.len() > MAX_PEM_IN_ENV) {
                return Err(format!(
                    "{field}: {} bytes, more than the {MAX_PEM_IN_ENV} tgate can hand the CLI \
                     (in an environment variable); give the certificate and key alone, without \
                     other blocks",
                    v.len()
                ));
            }
        }
        if required && i.client_cert.is_none() {
            return Err("cloud-mtls needs `client_cert` and `client_key`".to_owned());
        }
        // Only Direct Connect reaches here with an `api_key`; the Cloud kinds take theirs apart.
        let api_key = i.api_key.as_ref().map(api_key).transpose()?;
        if let Some(name) = &i.server_name {
            check_server_name(name)?;
        }
        let any = i.client_cert.is_some()
            || i.server_ca.is_some()
            || i.server_name.is_some()
            || api_key.is_some();
        Ok(any.then(|| Tls {
            client_cert: cert,
            client_key: key.map(Secret),
            server_ca: ca,
            server_name: i.server_name.clone(),
            api_key,
            origins: TlsOrigins {
                client_cert: cert_origin,
                client_key: key_origin,
                server_ca: ca_origin,
            },
        }))
    };
    // A Cloud namespace is reached at `<name>.<account_id>.tmprl.cloud:7233`, and every call
    // names it by its Namespace ID, `<name>.<account_id>` (the name alone is not found): that ID
    // is the integration's namespace. `namespace` may be given as the name or as the ID.
    let cloud = || -> Result<(String, String), String> {
        if i.address.is_some() {
            return Err("Cloud integrations derive the address from `namespace` and `account_id`; remove `address`".to_owned());
        }
        let account = match i.account_id.as_deref() {
            None => return Err("Cloud integrations need `account_id`".to_owned()),
            Some("") => {
                return Err(
                    "`account_id` is empty: give the account id the Cloud console shows".to_owned(),
                );
            }
            Some(a) => a,
        };
        let name = i
            .namespace
            .strip_suffix(account)
            .and_then(|n| n.strip_suffix('.'))
            .unwrap_or(&i.namespace);
        // Both become labels of the host name.
        for (field, value) in [("namespace", name), ("account_id", account)] {
            if !cloud_label(value) {
                return Err(format!(
                    "`{field}` `{}` cannot be part of the Cloud address `<namespace>.<account_id>.tmprl.cloud:7233`: \
                     give the Namespace Name (or its ID, `<name>.<account_id>`) and the account id as the Cloud console shows them \
                     (lower-case letters, digits and `-`)",
                    value.escape_debug()
                ));
            }
        }
        let id = format!("{name}.{account}");
        let address = format!("{id}.tmprl.cloud:7233");
        Ok((id, address))
    };
    let (namespace, address, auth) = match i.auth {
        AuthKind::CloudApiKey => {
            let key = i
                .api_key
                .as_ref()
                .ok_or("cloud-api-key needs `api_key` (file or env)")?;
            if i.client_cert.is_some() || i.client_key.is_some() {
                return Err("cloud-api-key takes no client certificate; use cloud-mtls".to_owned());
            }
            if i.server_ca.is_some() || i.server_name.is_some() {
                return Err(
                    "cloud-api-key takes no `server_ca` or `server_name`: Temporal Cloud's \
                     certificate is checked against the system's roots"
                        .to_owned(),
                );
            }
            let (namespace, address) = cloud()?;
            (
                namespace,
                address,
                Auth::CloudApiKey {
                    api_key: api_key(key)?,
                },
            )
        }
        AuthKind::CloudMtls => {
            if i.api_key.is_some() {
                return Err("cloud-mtls takes no `api_key`; use cloud-api-key".to_owned());
            }
            // As for cloud-api-key (QA: cloud-mtls took them, and `server_name` replaced the
            // derived Cloud host the certificate is checked for).
            if i.server_ca.is_some() || i.server_name.is_some() {
                return Err(
                    "cloud-mtls takes no `server_ca` or `server_name`: Temporal Cloud's \
                     certificate is checked against the system's roots, for the namespace's \
                     Cloud address"
                        .to_owned(),
                );
            }
            let tls = tls_parts(true)?.ok_or("cloud-mtls needs `client_cert` and `client_key`")?;
            let (namespace, address) = cloud()?;
            (namespace, address, Auth::CloudMtls { tls })
        }
        AuthKind::Direct => {
            // Taken and ignored until QA found it: a Cloud account belongs to the Cloud methods.
            if i.account_id.is_some() {
                return Err(
                    "direct takes no `account_id` (it names a Temporal Cloud account: use \
                     cloud-api-key or cloud-mtls, or give `address` alone)"
                        .to_owned(),
                );
            }
            let address = i
                .address
                .clone()
                .ok_or("direct needs `address` (host:port)")?;
            check_host_port(&address)?;
            (
                i.namespace.clone(),
                address,
                Auth::Direct {
                    tls: tls_parts(false)?,
                },
            )
        }
    };
    Ok(Integration {
        name: i.name.clone(),
        address,
        namespace,
        auth,
    })
}

/// The directory a configuration's relative paths are relative to: the absolute directory of
/// `path` (the current directory for a bare file name).
fn config_dir(path: &Path) -> PathBuf {
    let dir = |p: &Path| match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::path::absolute(path).map_or_else(|_| dir(path), |p| dir(&p))
}

/// Why `name` cannot be a `server_name`, if it cannot: the host name (or IP address) the server's
/// certificate must be issued to (QA: an empty one turned TLS on and reached the CLI as
/// `--tls-server-name=`; `foo bar` reached the native executor, which refused it while
/// connecting).
fn check_server_name(name: &str) -> Result<(), String> {
    match rustls_pki_types::ServerName::try_from(name) {
        Ok(_) => Ok(()),
        Err(_) => Err(format!(
            "server_name: `{}` is not a host name or IP address (the name the server's \
             certificate is issued to, e.g. `temporal.internal`; remove the key to check the \
             address's host)",
            name.escape_debug()
        )),
    }
}

//! Loading, linting and evaluating policies: errors name the file and place, lint finds dead
//! rules, obligations and explanations behave as documented.

use tgate::command::Command;
use tgate::policy::{Caller, Context, Decision, Policy, PolicyError, PolicySet, Severity, lint};

fn load(text: &str) -> Result<Policy, PolicyError> {
    Policy::load(text, "p.yaml", &Context::default())
}

fn err(text: &str) -> String {
    load(text).expect_err("should not load").to_string()
}

const HEAD: &str = "version: 1\nnamespaces: [default]\n";

#[test]
fn unknown_keys_are_errors_with_line_and_column() {
    let e = load("version: 1\nnamespaces: [default]\nrulez: []\n").unwrap_err();
    match e {
        PolicyError::Syntax {
            line,
            column,
            ref message,
            ..
        } => {
            assert_eq!((line, column), (3, 1), "{message}");
            assert!(message.contains("unknown field `rulez`"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let e = err(&format!(
        "{HEAD}rules:\n  - id: a\n    decision: allow\n    reason: r\n    when:\n      comands: [workflow list]\n"
    ));
    assert!(e.starts_with("p.yaml:8:"), "{e}");
    assert!(e.contains("unknown field `comands`"), "{e}");
}

#[test]
fn invalid_content_is_named() {
    for (body, want) in [
        (
            "rules:\n  - {id: a, decision: allow, reason: r, when: {commands: [workflow lst]}}",
            "unknown command `workflow lst`",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: r, when: {commands: [workflo *]}}",
            "unknown command group `workflo`",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: r, when: {flags: {workflow-idd: {present: true}}}}",
            "unknown flag `--workflow-idd`",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: r, when: {commands: [workflow list], flags: {name: {present: true}}}}",
            "unknown flag `--name`",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: r, when: {flags: {reason: {matches: '(unclosed'}}}}",
            "invalid regex `(unclosed`",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: r, when: {namespaces: ['[bad']}}",
            "invalid glob `[bad`",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: r, when: {flags: {reason: {max: 3}}}}",
            "min/max apply only to int, float and duration flags",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: r, when: {flags: {command-timeout: {max: 3}}}}",
            "give a duration bound as text",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: r}\n  - {id: a, decision: deny, reason: r}",
            "duplicate rule id",
        ),
        (
            "rules:\n  - {id: 'tgate:x', decision: allow, reason: r}",
            "reserved",
        ),
        (
            "rules:\n  - {id: a, decision: deny, reason: r, obligations: {max_limit: 5}}",
            "obligations apply only",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: r, allow_file_flags: [query]}",
            "not a local-file flag",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: '  '}",
            "`reason` is empty",
        ),
    ] {
        let e = err(&format!("{HEAD}{body}\n"));
        assert!(e.contains(want), "{body}\n=> {e}");
        assert!(e.starts_with("p.yaml: rule `"), "{e}");
    }
    assert!(err("version: 2\nnamespaces: [a]\n").contains("unsupported version 2"));
    assert!(err("version: 1\nnamespaces: []\n").contains("`namespaces` is empty"));
}

#[test]
fn embedded_tests_gate_loading() {
    let text = format!(
        "{HEAD}rules:\n  - {{id: reads, decision: allow, reason: r, when: {{classes: [read]}}}}\ntests:\n  - {{command: temporal workflow list, expect: allow, rule: reads}}\n  - {{command: temporal workflow delete -w a, expect: allow}}\n"
    );
    let e = err(&text);
    assert!(
        e.contains(
            "test 2 `temporal workflow delete -w a`: expected allow, got deny by [tgate:no-rule]"
        ),
        "{e}"
    );
}

#[test]
fn lint_reports_shadowed_and_dead_rules() {
    let text = format!(
        "{HEAD}rules:
  - {{id: no-workflows, decision: deny, reason: r, when: {{commands: ['workflow *']}}}}
  - {{id: list, decision: allow, reason: r, when: {{commands: [workflow list]}}}}
  - {{id: elsewhere, decision: allow, reason: r, when: {{namespaces: [prod]}}}}
  - {{id: local, decision: allow, reason: r, when: {{classes: [local]}}}}
  - {{id: empty, decision: allow, reason: r, when: {{commands: [workflow list], classes: [admin]}}}}
  - {{id: fine, decision: allow, reason: r, when: {{commands: [schedule list]}}}}
"
    );
    let findings = lint(&text, "p.yaml", &Context::default());
    let messages: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
    let has = |rule: &str, what: &str| {
        messages
            .iter()
            .any(|m| m.contains(&format!("rule `{rule}`")) && m.contains(what))
    };
    assert!(
        has(
            "list",
            "shadowed by the earlier, stricter rule `no-workflows`"
        ),
        "{messages:#?}"
    );
    assert!(
        has("elsewhere", "outside the policy's namespaces"),
        "{messages:#?}"
    );
    assert!(
        has("local", "local commands are always denied"),
        "{messages:#?}"
    );
    assert!(has("empty", "no command has both"), "{messages:#?}");
    assert!(
        !messages.iter().any(|m| m.contains("`fine`")),
        "{messages:#?}"
    );
    assert!(findings.iter().all(|f| f.severity == Severity::Warning));

    let errors = lint(
        &format!(
            "{HEAD}rules:\n  - {{id: a, decision: allow, reason: r, when: {{commands: [nope], flags: {{x: {{present: true}}}}}}}}\n"
        ),
        "p.yaml",
        &Context::default(),
    );
    assert!(errors.len() >= 2, "all errors at once: {errors:?}");
    assert!(errors.iter().all(|f| f.severity == Severity::Error));
}

fn set(rules: &str) -> PolicySet {
    PolicySet::new(vec![load(&format!("{HEAD}rules:\n{rules}")).unwrap()])
}

fn cmd(line: &str) -> Command {
    let argv: Vec<&str> = line.split(' ').collect();
    Command::parse(&argv).unwrap()
}

#[test]
fn obligations_cap_and_insert() {
    let s = set(
        "  - {id: a, decision: allow, reason: r, when: {classes: [read]}, obligations: {max_limit: 50, max_page_size: 10, max_command_timeout: 30s}}\n  - {id: b, decision: allow, reason: r, when: {commands: [workflow list]}, obligations: {max_limit: 20}}\n",
    );
    let ev = s.evaluate(&cmd("temporal workflow list"), &Caller::new("agent"), false);
    assert_eq!(ev.decision, Decision::Allow);
    assert_eq!(
        ev.argv,
        [
            "temporal",
            "workflow",
            "list",
            "--command-timeout=30s",
            "--limit=20",
            "--page-size=10"
        ]
    );
    let ev = s.evaluate(
        &cmd("temporal workflow list --limit 5 --command-timeout 1h"),
        &Caller::new("agent"),
        false,
    );
    assert_eq!(
        ev.argv,
        [
            "temporal",
            "workflow",
            "list",
            "--command-timeout=30s",
            "--limit=5",
            "--page-size=10"
        ]
    );
    // Obligations only name flags the command has.
    let ev = s.evaluate(
        &cmd("temporal workflow describe -w x"),
        &Caller::new("agent"),
        false,
    );
    assert_eq!(ev.obligations.max_limit, None);
    assert_eq!(
        ev.argv,
        [
            "temporal",
            "workflow",
            "describe",
            "--command-timeout=30s",
            "--workflow-id=x"
        ]
    );
}

#[test]
fn callers_groups_and_numeric_bounds() {
    let s = set(
        "  - {id: a, decision: allow, reason: r, when: {commands: [workflow list], callers: ['bot-*'], groups: [oncall], flags: {limit: {min: 1, max: 100}}}}\n",
    );
    let ok = Caller {
        id: "bot-7".into(),
        groups: vec!["oncall".into()],
    };
    assert_eq!(
        s.evaluate(&cmd("temporal workflow list --limit 100"), &ok, false)
            .decision,
        Decision::Allow
    );
    assert_eq!(
        s.evaluate(&cmd("temporal workflow list --limit 101"), &ok, false)
            .decision,
        Decision::Deny
    );
    assert_eq!(
        s.evaluate(&cmd("temporal workflow list"), &ok, false)
            .decision,
        Decision::Deny
    );
    let other = Caller {
        id: "human".into(),
        groups: vec!["oncall".into()],
    };
    assert_eq!(
        s.evaluate(&cmd("temporal workflow list --limit 5"), &other, false)
            .decision,
        Decision::Deny
    );
    let nogroup = Caller::new("bot-7");
    assert_eq!(
        s.evaluate(&cmd("temporal workflow list --limit 5"), &nogroup, false)
            .decision,
        Decision::Deny
    );
}

#[test]
fn explain_lists_every_rule() {
    let s = set(
        "  - {id: reads, decision: allow, reason: r, when: {classes: [read]}}\n  - {id: sig, decision: require_approval, reason: r, when: {commands: [workflow signal]}}\n",
    );
    let ev = s.evaluate(
        &cmd("temporal workflow signal -w a --name x"),
        &Caller::new("agent"),
        true,
    );
    assert_eq!(ev.decision, Decision::RequireApproval);
    assert_eq!(ev.explain.len(), 2);
    assert!(!ev.explain[0].matched && ev.explain[0].why.contains("class `write` is not listed"));
    assert!(ev.explain[1].matched);
}

#[test]
fn policies_pool_with_their_own_namespaces() {
    let a = load("version: 1\nnamespaces: [a]\nrules:\n  - {id: a-reads, decision: allow, reason: r, when: {classes: [read]}}\n").unwrap();
    let b = load("version: 1\nnamespaces: ['b-*']\nrules:\n  - {id: b-all, decision: allow, reason: r}\n  - {id: b-no-delete, decision: deny, reason: r, when: {commands: [workflow delete]}}\n").unwrap();
    let s = PolicySet::new(vec![a, b]);
    let c = Caller::new("agent");
    assert_eq!(
        s.evaluate(&cmd("temporal workflow list -n a"), &c, false)
            .decision,
        Decision::Allow
    );
    assert_eq!(
        s.evaluate(
            &cmd("temporal workflow signal -n a -w x --name s"),
            &c,
            false
        )
        .decision,
        Decision::Deny
    );
    assert_eq!(
        s.evaluate(
            &cmd("temporal workflow signal -n b-1 -w x --name s"),
            &c,
            false
        )
        .decision,
        Decision::Allow
    );
    let ev = s.evaluate(&cmd("temporal workflow delete -n b-1 -w x"), &c, false);
    assert_eq!(
        (ev.decision, ev.rules.as_slice()),
        (Decision::Deny, ["b-no-delete".to_owned()].as_slice())
    );
}

#[test]
fn schema_describes_the_format() {
    let schema = tgate::policy::schema();
    let text = schema.to_string();
    for key in [
        "namespaces",
        "rules",
        "tests",
        "allow_file_flags",
        "max_limit",
        "not_matches",
        "require_approval",
    ] {
        assert!(text.contains(key), "schema lacks {key}");
    }
}

//! Loading, linting and evaluating policies: errors name the file and place, lint finds dead
//! rules, obligations and explanations behave as documented.

use tgate::command::Command;
use tgate::policy::{
    Caller, Context, Decision, Policy, PolicyError, PolicySet, Severity, TestedCache, lint,
};

fn load(text: &str) -> Result<Policy, PolicyError> {
    Policy::load(text, "p.yaml", &Context::default())
}

fn err(text: &str) -> String {
    load(text).expect_err("should not load").to_string()
}

const HEAD: &str = "version: 1\nnamespaces: [default]\n";

/// A key written with no value (its list or value commented out) is refused, naming it, rather
/// than read as absent, which would drop the condition or gate it was meant to hold (QA: a rule
/// whose `groups:` list was commented out allowed `workflow terminate` to every caller; an
/// `approvers:` so left let anyone approve).
#[test]
fn a_key_with_no_value_is_refused_not_read_as_absent() {
    for (rule, path) in [
        (
            "  - id: a\n    decision: allow\n    reason: r\n    when:\n      commands: [workflow terminate]\n      groups:\n      # - sre\n",
            "rules[0].when.groups",
        ),
        (
            "  - {id: a, decision: allow, reason: r, when: {commands: [workflow signal], flags: {name: {in: }}}}\n",
            "rules[0].when.flags.name.in",
        ),
        (
            "  - {id: a, decision: allow, reason: r, when: {commands: [workflow signal], flags: {name: }}}\n",
            "rules[0].when.flags.name",
        ),
        (
            "  - {id: a, decision: allow, reason: r, when: {commands: [workflow signal], flags: }}\n",
            "rules[0].when.flags",
        ),
        (
            "  - {id: a, decision: allow, reason: r, when: }\n",
            "rules[0].when",
        ),
        (
            "  - {id: a, decision: require_approval, reason: r, approval: {approvers: }, when: {commands: [workflow signal]}}\n",
            "rules[0].approval.approvers",
        ),
        (
            "  - {id: a, decision: allow, reason: r, justification: ~, when: {commands: [workflow cancel]}}\n",
            "rules[0].justification",
        ),
        (
            "  - {id: a, decision: allow, reason: r, obligations: {max_limit: null}, when: {commands: [workflow list]}}\n",
            "rules[0].obligations.max_limit",
        ),
        (
            "  - {id: a, decision: allow, reason: r, allow_file_flags: {input-file: }, when: {commands: [workflow start]}}\n",
            "rules[0].allow_file_flags.input-file",
        ),
        (
            "  - {id: a, decision: allow, reason: r, rate: , when: {commands: [workflow signal]}}\n",
            "rules[0].rate",
        ),
        // Required text and list items too (re-check QA: `pattern:` left empty became the empty
        // regex, which every justification matches; a null item became the text `~`).
        (
            "  - {id: a, decision: allow, reason: r, justification: {pattern: }, when: {commands: [workflow cancel]}}\n",
            "rules[0].justification.pattern",
        ),
        ("  - {id: ~, decision: allow, reason: r}\n", "rules[0].id"),
        (
            "  - {id: a, decision: allow, reason: null}\n",
            "rules[0].reason",
        ),
        (
            "  - {id: a, decision: allow, reason: r, when: {groups: [sre, ~]}}\n",
            "rules[0].when.groups[1]",
        ),
    ] {
        let e = err(&format!("{HEAD}rules:\n{rule}"));
        assert!(
            e.contains(&format!(
                "{path}: has no value: write one, or remove the key (a key left empty is not read as absent)"
            )),
            "{rule}\n=> {e}"
        );
        assert!(e.starts_with("p.yaml:"), "{e}");
    }
    // Written in block style, the error is placed at the key, not at the mapping holding it
    // (QA: `groups:` on line 7 was said to be at 6:7).
    let e = err(&format!(
        "{HEAD}rules:\n  - id: a\n    decision: allow\n    reason: r\n    when:\n      commands: [workflow list]\n      groups:   # [sre]\n"
    ));
    assert!(
        e.starts_with("p.yaml:9:7: rules[0].when.groups: has no value"),
        "{e}"
    );
    // Only a key of that mapping, at its column: a nested key of the same name whose value is a
    // block (`flags: {reason: ...}`), or one in another mapping, is not it (review).
    let e = err(&format!(
        "{HEAD}rules:\n  - id: t\n    when:\n      commands: [workflow terminate]\n      flags:\n        reason:\n          matches: \"^INC-\"\n    decision: deny\n    reason:\n"
    ));
    assert!(
        e.starts_with("p.yaml:11:5: rules[0].reason: has no value"),
        "{e}"
    );
    let e = err(
        "version: 1\nrules:\n  - id: t\n    when:\n      namespaces:\n        - payments\n      commands: [workflow list]\n    decision: allow\n    reason: r\nnamespaces:\n",
    );
    assert!(
        e.starts_with("p.yaml:10:1: namespaces: has no value"),
        "{e}"
    );
    // The empty list stays what it was: a condition nothing matches (lint says so).
    let p = load(&format!(
        "{HEAD}rules:\n  - {{id: a, decision: allow, reason: r, when: {{commands: [workflow terminate], groups: []}}}}\n"
    ))
    .unwrap();
    let s = PolicySet::new(vec![p]);
    assert_eq!(
        s.evaluate(
            &cmd("temporal workflow terminate -w x"),
            &Caller::new("agent"),
            false
        )
        .decision,
        Decision::Deny
    );
}

/// Slips that would load as something else are refused: a misspelt `$default` (it stood for a
/// namespace of that name, which none can have, so a deny rule meant for the default namespace
/// never applied), a `$`-name among callers, groups or approvers (`$default` there matched a
/// caller or group of that name), a group with spaces around it (no `--group` can have them), a bound that is not a finite number (`max: .nan` admitted every value), a
/// quoted bound (said as such), an embedded test whose caller `tgate run` refuses (QA).
#[test]
fn slips_that_would_mean_something_else_are_refused() {
    for (rule, want) in [
        (
            "  - {id: a, decision: deny, reason: r, when: {namespaces: ['$Default'], classes: [destructive]}}\n",
            "namespaces: `$Default` is no placeholder: the only one is `$default`",
        ),
        (
            "  - {id: a, decision: allow, reason: r, when: {callers: ['$default'], classes: [read]}}\n",
            "callers: `$default`: callers have no placeholders (`$default` names the default namespace, in namespace lists only)",
        ),
        (
            "  - {id: a, decision: allow, reason: r, when: {callers: ['$agent'], classes: [read]}}\n",
            "callers: `$agent`: callers have no placeholders",
        ),
        (
            "  - {id: a, decision: allow, reason: r, when: {groups: ['$default'], classes: [read]}}\n",
            "groups: `$default`: groups have no placeholders",
        ),
        (
            "  - {id: a, decision: allow, reason: r, when: {groups: [' sre'], classes: [read]}}\n",
            "groups: ` sre` has spaces around it",
        ),
        (
            "  - {id: a, decision: require_approval, reason: r, when: {classes: [destructive]}, approval: {approvers: ['$leads']}}\n",
            "approval.approvers: `$leads`: groups have no placeholders",
        ),
        (
            "  - {id: a, decision: allow, reason: r, when: {commands: [workflow list], flags: {limit: {max: .nan}}}}\n",
            "--limit: bound NaN is not a finite number",
        ),
        (
            "  - {id: a, decision: deny, reason: r, when: {commands: [workflow list], flags: {limit: {min: .inf}}}}\n",
            "--limit: bound inf is not a finite number",
        ),
        (
            "  - {id: a, decision: deny, reason: r, when: {commands: [workflow list], flags: {limit: {min: '10'}}}}\n",
            "--limit: bound `10` is quoted: write it as a number, unquoted",
        ),
    ] {
        let e = err(&format!("{HEAD}rules:\n{rule}"));
        assert!(e.contains(want), "{rule}\n=> {e}");
    }
    assert!(
        err("version: 1\nnamespaces: ['$defualt']\n")
            .contains("`$defualt` is no placeholder: the only one is `$default`")
    );
    let e = err(&format!(
        "{HEAD}rules:\n  - {{id: a, decision: allow, reason: r}}\ntests:\n  - {{command: temporal workflow list, expect: allow, caller: \"a\\tb\"}}\n"
    ));
    assert!(
        e.contains("the caller or group `a\\tb` is one `tgate run` refuses"),
        "{e}"
    );
}

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
        // Found by a QA pass: each of these loaded and decided other than its author meant.
        // `type` is `--name` on `workflow signal` (the parser files it as `name`): a deny on
        // `type` never fired on a signal.
        (
            "rules:\n  - {id: a, decision: deny, reason: r, when: {commands: [workflow start, workflow signal], flags: {type: {in: [Refund]}}}}",
            "rule `a`: `--type` is another name for `--name` on `workflow signal`: rules name flags by their canonical names, and a flag of its own on other commands of the rule: give each command its own rule",
        ),
        (
            "rules:\n  - {id: a, decision: deny, reason: r, when: {commands: [workflow signal], flags: {type: {in: [Refund]}}}}",
            "rule `a`: `--type` is another name for `--name` on `workflow signal`: rules name flags by their canonical names",
        ),
        (
            "rules:\n  - {id: a, decision: deny, reason: r, when: {flags: {name: {in: [Refund]}}}}",
            "`--name` is another name for `--type` on `",
        ),
        // Flags are those of the commands the rule reaches through its classes too.
        (
            "rules:\n  - {id: a, decision: deny, reason: r, when: {classes: [read], flags: {reason: {present: true}}}}",
            "unknown flag `--reason` for the rule's commands",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: r, when: {commands: [workflow list]}, obligations: {max_limit: 0}}",
            "obligations.max_limit: 0 is the CLI's \"no limit\"; give a cap of at least 1",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: r, when: {commands: [workflow list]}, obligations: {max_page_size: 0}}",
            "obligations.max_page_size: 0 is the CLI's \"no limit\"",
        ),
        (
            "rules:\n  - {id: a, decision: deny, reason: r, when: {commands: [workflow start], flags: {id-conflict-policy: {in: [TerminateExistng]}}}}",
            "--id-conflict-policy: `TerminateExistng` is not one of its values (Fail, UseExisting, TerminateExisting)",
        ),
        (
            "rules:\n  - {id: a, decision: deny, reason: r, when: {commands: [workflow list], flags: {command-timeout: {in: [2m]}}}}",
            "--command-timeout: `2m` is compared as `2m0s`: write that",
        ),
        (
            "rules:\n  - {id: a, decision: deny, reason: r, when: {commands: [workflow list], flags: {limit: {not_in: [abc]}}}}",
            "--limit: `abc` is not a decimal integer",
        ),
        (
            "rules:\n  - {id: \"a\\nb\", decision: deny, reason: r, when: {commands: [workflow list]}}",
            "rule `a\\u{000a}b`: the rule id contains a newline",
        ),
        (
            "rules:\n  - {id: a, decision: deny, reason: \"fine\\n\\u001b[32mdecision:   allow\", when: {commands: [workflow list]}}",
            "the reason contains",
        ),
        (
            "rules:\n  - {id: ' tgate:x', decision: deny, reason: r, when: {commands: [workflow list]}}",
            "the rule id has spaces around it",
        ),
        (
            "rules:\n  - {id: 'TGATE:x', decision: deny, reason: r, when: {commands: [workflow list]}}",
            "ids starting with `tgate:` are reserved",
        ),
        (
            "rules:\n  - {id: a, decision: deny, reason: r, when: {namespaces: ['prod ']}}",
            "namespaces: `prod ` has spaces around it",
        ),
        (
            "rules:\n  - {id: a, decision: deny, reason: r, when: {callers: [\"agent\\u200b\"]}}",
            "callers: `agent\\u{200b}`: the name contains an invisible format character",
        ),
        (
            "rules:\n  - {id: a, decision: deny, reason: r, when: {commands: [workflow]}}",
            "`workflow` is a command group, which runs nothing itself: write `workflow *`",
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
        // The CSV export joins a decision's rules with `;`.
        (
            "rules:\n  - {id: 'reads;writes', decision: allow, reason: r}",
            "a rule id may not hold `;`",
        ),
        (
            "rules:\n  - {id: a, decision: deny, reason: r, obligations: {max_limit: 5}}",
            "obligations apply only",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: r, allow_file_flags: {query: [/srv/in]}}",
            "not a local-file flag",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: r, allow_file_flags: [input-file]}",
            "a flag allowed by name alone lets the command read any file",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: r, allow_file_flags: {input-file: []}}",
            "`input-file` names no directory",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: r, allow_file_flags: {input-file: [in]}}",
            "`in` is not an absolute path",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: r, allow_file_flags: {input-file: [/srv/../etc]}}",
            "`/srv/../etc` is not an absolute path",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: r, allow_file_flags: {input-file: [/]}}",
            "is the root directory",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: r, allow_file_flags: {input-file: [/proc/self]}}",
            "is in /proc, /sys or /dev",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: '  '}",
            "`reason` is empty",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: r, approval: {ttl: 5m}}",
            "`approval` applies only to require_approval rules",
        ),
        (
            "rules:\n  - {id: a, decision: require_approval, reason: r, approval: {ttl: 0s}}",
            "approval.ttl `0s` must be positive",
        ),
        (
            "rules:\n  - {id: a, decision: require_approval, reason: r, approval: {ttl: 8d}}",
            "longer than the maximum of 7d",
        ),
        (
            "rules:\n  - {id: a, decision: require_approval, reason: r, approval: {ttl: soon}}",
            "approval.ttl",
        ),
        (
            "rules:\n  - {id: a, decision: require_approval, reason: r, approval: {approvals: 0}}",
            "approval.approvals must be at least 1",
        ),
        (
            "rules:\n  - {id: a, decision: require_approval, reason: r, approval: {approvers: []}}",
            "approval.approvers is empty",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: r, rate: 5/week}",
            "rate `5/week`: write COUNT/PERIOD",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: r, rate: 0/hour}",
            "the count must be at least 1",
        ),
        (
            "rules:\n  - {id: a, decision: deny, reason: r, rate: 5/hour}",
            "`rate` applies only to allow and require_approval rules",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: r, rate_per: rule}",
            "`rate_per` needs a `rate`",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: r, justification: {pattern: '(INC'}}",
            "justification: invalid regex `(INC`",
        ),
        // A namespace past ASCII can never be named (review: a Cyrillic `о` in a deny rule's
        // `prоd` loaded, and the rule never applied).
        (
            "rules:\n  - {id: a, decision: deny, reason: r, when: {namespaces: [pr\u{43e}d]}}",
            "namespaces: `pr\u{43e}d` holds `\u{43e}` (\\u{43e}), which is not ASCII: no namespace can hold it",
        ),
        // A blank flag regex: every value matches it (review).
        (
            "rules:\n  - {id: a, decision: allow, reason: r, when: {commands: [workflow terminate], flags: {workflow-id: {matches: ''}}}}",
            "--workflow-id: the regex \"\" is blank, which every value matches",
        ),
        // The empty regex matches every justification (QA: it passed lint and allowed any text).
        (
            "rules:\n  - {id: a, decision: allow, reason: r, justification: {pattern: ''}}",
            "justification.pattern: \"\" is blank: write the regex the justification must match",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: r, justification: {pattern: '  '}}",
            "justification.pattern: \"  \" is blank",
        ),
        (
            "rules:\n  - {id: a, decision: deny, reason: r, justification: {pattern: x}}",
            "`justification` applies only to allow and require_approval rules",
        ),
    ] {
        let e = err(&format!("{HEAD}{body}\n"));
        assert!(e.contains(want), "{body}\n=> {e}");
        assert!(e.starts_with("p.yaml: rule `"), "{e}");
    }
    // `name` is `--type`'s alias on `schedule create`, not a read: a rule on reads may name it
    // (`workflow query --name`).
    load(&format!(
        "{HEAD}rules:\n  - {{id: a, decision: allow, reason: r, when: {{classes: [read], flags: {{name: {{in: [status]}}}}}}}}\n"
    ))
    .unwrap();
    // A flag listed twice in one map: a syntax error with its place (a plain map kept the last).
    for (body, want) in [
        (
            "rules:\n  - id: a\n    decision: deny\n    reason: r\n    when:\n      commands: [workflow terminate]\n      flags:\n        reason: {matches: '^INC-'}\n        reason: {present: true}\n",
            "`reason` is listed twice (the second would silently replace the first)",
        ),
        (
            "rules:\n  - id: a\n    decision: allow\n    reason: r\n    when: {commands: [workflow signal]}\n    allow_file_flags:\n      input-file: [/srv/in]\n      input-file: [/home/agent]\n",
            "allow_file_flags: `input-file` is listed twice",
        ),
    ] {
        let e = err(&format!("{HEAD}{body}"));
        assert!(e.starts_with("p.yaml:"), "{e}");
        assert!(e.contains(want), "{body}\n=> {e}");
    }
    assert!(err("version: 2\nnamespaces: [a]\n").contains("unsupported version 2"));
    assert!(err("version: 1\nnamespaces: []\n").contains("`namespaces` is empty"));
}

#[test]
fn gate_fields_reject_unknown_keys() {
    for (body, want) in [
        (
            "rules:\n  - {id: a, decision: require_approval, reason: r, approval: {tll: 5m}}",
            "unknown field `tll`",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: r, justification: {regex: x}}",
            "unknown field `regex`",
        ),
        (
            "rules:\n  - {id: a, decision: allow, reason: r, rate: 5/hour, rate_per: team}",
            "unknown variant `team`",
        ),
    ] {
        let e = err(&format!("{HEAD}{body}\n"));
        assert!(e.contains(want), "{body}\n=> {e}");
    }
}

#[test]
fn evaluations_hand_on_approvals_and_rate_limits() {
    let s = set(concat!(
        "  - {id: sig, decision: require_approval, reason: r, when: {commands: [workflow signal]},\n",
        "     approval: {ttl: 10m, approvals: 2, approvers: [sre, dba]}, rate: 5/hour}\n",
        "  - {id: sig-team, decision: require_approval, reason: r, when: {commands: [workflow signal]},\n",
        "     approval: {ttl: 1h, approvers: [payments]}, rate: 20/day, rate_per: rule}\n",
        "  - {id: can, decision: require_approval, reason: r, when: {commands: [workflow cancel]}}\n",
        "  - {id: list, decision: allow, reason: r, when: {commands: [workflow list]},\n",
        "     justification: {pattern: '^INC-[0-9]+$'}}\n",
    ));
    let agent = Caller::new("agent-7");
    let ev = s.evaluate(
        &cmd("temporal workflow signal -w a --name x"),
        &agent,
        false,
    );
    assert_eq!(ev.decision, Decision::RequireApproval);
    let approval = ev.requires.approval.clone().expect("approval");
    assert_eq!(approval.ttl, std::time::Duration::from_secs(600));
    assert_eq!(approval.approvals, 2);
    assert_eq!(
        approval.approver_groups,
        vec![
            vec!["sre".to_owned(), "dba".to_owned()],
            vec!["payments".to_owned()]
        ]
    );
    assert!(approval.may_approve(&["dba".to_owned(), "payments".to_owned()]));
    assert!(!approval.may_approve(&["dba".to_owned()]));
    let keys: Vec<(&str, u32, &str)> = ev
        .requires
        .rates
        .iter()
        .map(|r| (r.rule.as_str(), r.limit, r.key.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("sig", 5, r#"["rate","sig","caller","agent-7"]"#),
            ("sig-team", 20, r#"["rate","sig-team"]"#)
        ]
    );
    let json = serde_json::to_value(&ev).unwrap();
    assert_eq!(json["requires"]["approval"]["ttl"], "10m0s");
    assert_eq!(json["requires"]["rates"][0]["window"], "hour");
    assert_eq!(json["requires"]["rates"][1]["per"], "rule");

    // Defaults: 15 minutes, one approver, anyone but the requester.
    let ev = s.evaluate(&cmd("temporal workflow cancel -w a"), &agent, false);
    let approval = ev.requires.approval.clone().expect("approval");
    assert_eq!(approval.ttl, tgate::policy::DEFAULT_APPROVAL_TTL);
    assert_eq!(approval.approvals, 1);
    assert!(approval.approver_groups.is_empty());
    assert!(ev.requires.rates.is_empty());

    // Justification: checked in the evaluation, a deny when missing or not matching.
    let list = cmd("temporal workflow list");
    let ev = s.evaluate(&list, &agent, false);
    assert_eq!(
        (ev.decision, ev.rules.clone()),
        (Decision::Deny, vec!["tgate:justification".to_owned()])
    );
    assert!(
        ev.reason
            .contains("requires a justification matching `^INC-[0-9]+$`"),
        "{}",
        ev.reason
    );
    let ev = s.evaluate_justified(&list, &agent, Some("INC-12 and more"), false);
    assert_eq!(ev.decision, Decision::Deny);
    assert!(ev.reason.contains("does not match"), "{}", ev.reason);
    let ev = s.evaluate_justified(&list, &agent, Some("INC-12"), false);
    assert_eq!(ev.decision, Decision::Allow);
    assert!(ev.requires.is_empty());
    assert!(serde_json::to_value(&ev).unwrap().get("requires").is_none());

    // What the caller enforces after evaluating turns into a deny the same way.
    let ev = s
        .evaluate(
            &cmd("temporal workflow signal -w a --name x"),
            &agent,
            false,
        )
        .denied("tgate:rate-limit", "used up".to_owned());
    assert_eq!(ev.decision, Decision::Deny);
    assert!(ev.effective.is_none() && ev.requires.is_empty());
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

/// A test expecting a deny of a command that does not parse (a typo) would pass whatever the
/// rules say: it fails unless it names `tgate:parse-error`.
#[test]
fn a_test_of_a_command_that_does_not_parse_fails_unless_it_says_so() {
    let rules = "rules:\n  - {id: reads, decision: allow, reason: r, when: {classes: [read]}}\n  - {id: no-terminate, decision: deny, reason: r, when: {commands: [workflow terminate]}}\ntests:\n";
    for line in [
        "temporal workflow terminat -w a",
        "temporal workflow terminate -w a --reasn r",
        "temporal workflow terminate -w a; true",
    ] {
        let e = err(&format!(
            "{HEAD}{rules}  - {{command: '{line}', expect: deny}}\n"
        ));
        assert!(
            e.contains(&format!(
                "test 1 `{line}`: expected deny, got a command that does not parse ("
            )),
            "{e}"
        );
        assert!(e.contains("name `rule: tgate:parse-error`"), "{e}");
        load(&format!(
            "{HEAD}{rules}  - {{command: '{line}', expect: deny, rule: tgate:parse-error}}\n"
        ))
        .unwrap();
    }
    // Expecting an allow, the test fails as any other that gets a deny.
    let e = err(&format!(
        "{HEAD}{rules}  - {{command: temporal workflow lst, expect: allow}}\n"
    ));
    assert!(
        e.ends_with(
            "test 1 `temporal workflow lst`: expected allow, got deny by [tgate:parse-error]: unknown command \"lst\" for \"temporal workflow\""
        ),
        "{e}"
    );
    // Spelt right, the same test passes without naming a rule.
    load(&format!(
        "{HEAD}{rules}  - {{command: temporal workflow terminate -w a --reason r, expect: deny}}\n"
    ))
    .unwrap();
}

/// A flag constraint on `--namespace` is warned about: it sees the flag as written, not the
/// namespace a command acts in (QA: `-n ''` acts in the default namespace).
#[test]
fn lint_warns_of_a_namespace_flag_constraint() {
    let text = format!(
        "{HEAD}rules:\n  - {{id: no-default, decision: deny, reason: r, when: {{classes: [destructive], flags: {{namespace: {{in: [default]}}}}}}}}\n"
    );
    let findings = lint(&text, "p.yaml", &Context::default());
    assert!(
        findings.iter().any(|f| f.severity == Severity::Warning
            && f.message.starts_with("p.yaml: rule `no-default`: `flags: {namespace: …}` sees `--namespace` only as written")),
        "{:?}",
        findings.iter().map(|f| &f.message).collect::<Vec<_>>()
    );
}

/// Lint warns of conditions an allow rule's author would not mean to be met by anything (review):
/// a justification pattern or a `matches` that the empty text matches (so every text does), and an
/// exclusion-only condition on the workflow or activity named, which a batch (no `-w`) meets; and in
/// any rule, a `not_matches` that every value matches. The same rules written tightly, and a deny
/// rule with a `matches` anything meets (a broad denial), draw none of these.
#[test]
fn lint_warns_of_allow_conditions_anything_meets() {
    let loose = format!(
        "{HEAD}rules:\n  \
         - {{id: j, decision: allow, reason: r, when: {{commands: [workflow cancel]}}, justification: {{pattern: 'INC-[0-9]*|'}}}}\n  \
         - {{id: m, decision: require_approval, reason: r, when: {{commands: [workflow update-options], flags: {{workflow-id: {{matches: '^'}}}}}}}}\n  \
         - {{id: x, decision: allow, reason: r, when: {{commands: [workflow terminate], flags: {{workflow-id: {{not_matches: '^prod-'}}}}}}}}\n  \
         - {{id: d, decision: deny, reason: r, when: {{commands: [workflow signal], flags: {{workflow-id: {{not_matches: '()'}}}}}}}}\n"
    );
    let messages: Vec<String> = lint(&loose, "p.yaml", &Context::default())
        .into_iter()
        .inspect(|f| assert_eq!(f.severity, Severity::Warning, "{}", f.message))
        .map(|f| f.message)
        .collect();
    assert_eq!(
        messages,
        [
            "p.yaml: rule `j`: the justification pattern `INC-[0-9]*|` matches any text (it matches the empty text): anchor what it requires, e.g. `^INC-[0-9]+`",
            "p.yaml: rule `m`: `--workflow-id` must match `^`, which any value matches (it matches the empty text): anchor what it requires, or say `present: true`",
            "p.yaml: rule `x`: `--workflow-id` is only excluded (`not_matches`/`not_in`), which a command without the flag meets: the batch form (`--query`) of `workflow terminate` meets it, whatever executions it reaches; add `batch: false`",
            "p.yaml: rule `d`: `--workflow-id` must not match `()`, which every value matches (it matches the empty text): the rule holds only when `--workflow-id` is absent",
        ]
    );
    let tight = format!(
        "{HEAD}rules:\n  \
         - {{id: j, decision: allow, reason: r, when: {{commands: [workflow cancel]}}, justification: {{pattern: '^INC-[0-9]+'}}}}\n  \
         - {{id: m, decision: require_approval, reason: r, when: {{commands: [workflow update-options], flags: {{workflow-id: {{matches: '^pay-'}}}}}}}}\n  \
         - {{id: x, decision: allow, reason: r, when: {{commands: [workflow terminate], batch: false, flags: {{workflow-id: {{not_matches: '^prod-'}}}}}}}}\n  \
         - {{id: d, decision: deny, reason: r, when: {{commands: [workflow signal], flags: {{workflow-id: {{matches: '.*'}}}}}}}}\n"
    );
    let findings = lint(&tight, "p.yaml", &Context::default());
    assert!(
        findings.is_empty(),
        "{:?}",
        findings.iter().map(|f| &f.message).collect::<Vec<_>>()
    );
}

/// Lint warns of a deny or approval rule bounded by the workflow a command names whose batch form
/// (`--query`, which names none) another rule of the file lets through: a batch reaching the same
/// workflows escapes it. A rule at least as strict denying those batches, or `batch: false` on the
/// rule that lets them through, silences it; a rule only asking approval for batches does not
/// guard a deny.
#[test]
fn lint_warns_of_a_bound_on_the_named_workflow_that_a_batch_escapes() {
    let writes = "  - {id: writes, decision: allow, reason: r, when: {commands: [workflow terminate, workflow signal, workflow describe]}}\n";
    let no_prod = "  - {id: no-prod, decision: deny, reason: r, when: {commands: [workflow terminate, workflow signal, workflow describe], flags: {workflow-id: {matches: '^prod-'}}}}\n";
    // The findings of one file whose allowlist is `namespaces`.
    let lint_in = |namespaces: &str, rules: &str| -> Vec<String> {
        lint(
            &format!("version: 1\nnamespaces: [{namespaces}]\nrules:\n{rules}"),
            "p.yaml",
            &Context::default(),
        )
        .into_iter()
        .map(|f| f.message)
        .collect()
    };
    let messages = |rules: &str| lint_in("default", rules);
    assert_eq!(
        messages(&format!("{writes}{no_prod}")),
        [
            "p.yaml: rule `no-prod`: it is bounded by `--workflow-id`, which the batch form (`--query`) of `workflow signal`, `workflow terminate` does not give, so a batch reaching the same executions escapes it, and `writes` lets that form through: add a rule that denies those batches (`batch: true`), or bound that rule with `batch: false`"
        ]
    );
    // An approval is not a deny: the approver of a batch is not told what the deny would refuse.
    let asked =
        "  - {id: ask-batches, decision: require_approval, reason: r, when: {batch: true}}\n";
    assert_eq!(
        messages(&format!("{writes}{no_prod}{asked}")),
        [
            "p.yaml: rule `no-prod`: it is bounded by `--workflow-id`, which the batch form (`--query`) of `workflow signal`, `workflow terminate` does not give, so a batch reaching the same executions escapes it, and `ask-batches`, `writes` let that form through: add a rule that denies those batches (`batch: true`), or bound those rules with `batch: false`"
        ]
    );
    let no_batches = "  - {id: no-batches, decision: deny, reason: r, when: {batch: true}}\n";
    assert_eq!(
        messages(&format!("{writes}{no_prod}{no_batches}")),
        Vec::<String>::new()
    );
    let singles = writes.replace("when: {", "when: {batch: false, ");
    assert_eq!(
        messages(&format!("{singles}{no_prod}")),
        Vec::<String>::new()
    );
    // Review: an approval asked of every terminate lets through the batch form of one that
    // needs two approvals; a rule on a flag the command lacks never applies to it; namespaces
    // or callers listed apart never meet; a guard bounded by the same namespaces guards.
    let two = "  - {id: ask, decision: require_approval, reason: r, when: {commands: [workflow terminate]}}\n  \
               - {id: prod-two, decision: require_approval, reason: r, approval: {approvals: 2}, when: {commands: [workflow terminate], flags: {workflow-id: {matches: '^prod-'}}}}\n";
    assert_eq!(
        messages(two),
        [
            "p.yaml: rule `prod-two`: it is bounded by `--workflow-id`, which the batch form (`--query`) of `workflow terminate` does not give, so a batch reaching the same executions escapes it, and `ask` lets that form through: add a rule that asks as much of those batches (`batch: true`), or bound that rule with `batch: false`"
        ]
    );
    let activity = "  - {id: no-act, decision: deny, reason: r, when: {flags: {activity-id: {matches: '^a'}}}}\n";
    assert_eq!(
        messages(&format!("{writes}{activity}")),
        Vec::<String>::new()
    );
    let staging = "  - {id: staging-all, decision: allow, reason: r, when: {namespaces: [staging], commands: [workflow terminate]}}\n";
    let prod_pay = "  - {id: no-prod-pay, decision: deny, reason: r, when: {namespaces: [prod], commands: [workflow terminate], flags: {workflow-id: {matches: '^pay-'}}}}\n";
    assert_eq!(
        lint_in("staging, prod", &format!("{staging}{prod_pay}")),
        Vec::<String>::new()
    );
    let everywhere = staging.replace("namespaces: [staging], ", "");
    assert_eq!(
        lint_in("staging, prod", &format!("{everywhere}{prod_pay}")).len(),
        1
    );
    let prod_guard = "  - {id: no-prod-batches, decision: deny, reason: r, when: {namespaces: [prod], batch: true}}\n";
    assert_eq!(
        lint_in(
            "staging, prod",
            &format!("{everywhere}{prod_pay}{prod_guard}")
        ),
        Vec::<String>::new()
    );
    // Re-check: `$default` may be any namespace, `payments` too, so it is not apart from it (it
    // was read as `default`); a guard over the whole allowlist, or over callers `*`, guards a
    // rule with no namespaces or callers of its own.
    let payments = "  - {id: payments-all, decision: allow, reason: r, when: {namespaces: [payments], commands: [workflow terminate]}}\n";
    let default_prod = "  - {id: no-prod, decision: deny, reason: r, when: {namespaces: [$default], commands: [workflow terminate], flags: {workflow-id: {matches: '^prod-'}}}}\n";
    assert_eq!(
        lint_in("payments, $default", &format!("{payments}{default_prod}")).len(),
        1
    );
    let literal_default = "  - {id: no-default-batches, decision: deny, reason: r, when: {namespaces: [default], batch: true}}\n";
    assert_eq!(
        lint_in(
            "payments, $default",
            &format!("{payments}{default_prod}{literal_default}")
        )
        .len(),
        1,
        "a guard on `default` need not be one on `$default`"
    );
    let prod_any = no_prod.replace(
        "commands: [workflow terminate, workflow signal, workflow describe], ",
        "commands: [workflow terminate], ",
    );
    let allowlisted = "  - {id: no-batches, decision: deny, reason: r, when: {namespaces: [payments, $default], batch: true}}\n";
    assert_eq!(
        lint_in(
            "payments, $default",
            &format!("{payments}{prod_any}{allowlisted}")
        ),
        Vec::<String>::new()
    );
    // A glob allowlist is covered by a guard on the same glob.
    let pay_guard = "  - {id: no-batches, decision: deny, reason: r, when: {namespaces: ['pay-*'], batch: true}}\n";
    assert_eq!(lint_in("'pay-*'", &format!("{writes}{no_prod}")).len(), 1);
    assert_eq!(
        lint_in("'pay-*'", &format!("{writes}{no_prod}{pay_guard}")),
        Vec::<String>::new()
    );
    let any_caller =
        "  - {id: no-batches, decision: deny, reason: r, when: {callers: ['*'], batch: true}}\n";
    assert_eq!(
        messages(&format!("{writes}{no_prod}{any_caller}")),
        Vec::<String>::new()
    );
}

/// The batch escape across files that `tgate run` pools (re-check: `policy lint a.yaml b.yaml`
/// was silent where the same rules in one file were warned of, and `check` allowed the batch):
/// only what crosses files is reported, naming the other file; a file of another namespace lets
/// nothing through, and a guard in any of the files guards.
#[test]
fn lint_warns_of_a_batch_escape_across_pooled_files() {
    let ctx = Context::default();
    let policy = |name: &str, namespaces: &str, rules: &str| {
        Policy::load(
            &format!("version: 1\nnamespaces: [{namespaces}]\nrules:\n{rules}"),
            name,
            &ctx,
        )
        .unwrap()
    };
    let bounded = policy(
        "a.yaml",
        "default",
        "  - {id: no-prod, decision: deny, reason: r, when: {commands: [workflow terminate], flags: {workflow-id: {matches: '^prod-'}}}}\n",
    );
    let allows = |namespaces: &str| {
        policy(
            "b.yaml",
            namespaces,
            "  - {id: terminates, decision: allow, reason: r, when: {commands: [workflow terminate]}}\n",
        )
    };
    let messages = |policies: &[Policy]| -> Vec<String> {
        tgate::policy::pooled_batch_escapes(policies)
            .into_iter()
            .map(|f| f.message)
            .collect()
    };
    assert_eq!(
        messages(&[bounded.clone(), allows("default")]),
        [
            "a.yaml: rule `no-prod`: it is bounded by `--workflow-id`, which the batch form (`--query`) of `workflow terminate` does not give, so a batch reaching the same executions escapes it, and `terminates` (b.yaml) lets that form through: add a rule that denies those batches (`batch: true`), or bound that rule with `batch: false`"
        ]
    );
    assert_eq!(
        messages(&[bounded.clone(), allows("staging")]),
        Vec::<String>::new()
    );
    let guard = policy(
        "c.yaml",
        "default",
        "  - {id: no-batches, decision: deny, reason: r, when: {batch: true}}\n",
    );
    assert_eq!(
        messages(&[bounded.clone(), allows("default"), guard]),
        Vec::<String>::new()
    );
    // Another file's rule acts within its own allowlist whatever its `namespaces` say (final
    // review: a guard of `['*']` in a file for staging was taken to guard default, and an allow
    // of `['*']` there to let default's batches through).
    let staging = |id: &str, decision: &str, when: &str| {
        policy(
            "s.yaml",
            "staging",
            &format!(
                "  - {{id: {id}, decision: {decision}, reason: r, when: {{namespaces: ['*'], {when}}}}}\n"
            ),
        )
    };
    assert_eq!(
        messages(&[
            bounded.clone(),
            allows("default"),
            staging("no-batches", "deny", "batch: true")
        ])
        .len(),
        1
    );
    assert_eq!(
        messages(&[
            bounded.clone(),
            staging("terminates", "allow", "commands: [workflow terminate]")
        ]),
        Vec::<String>::new()
    );
    // Within one file, nothing is reported twice.
    assert_eq!(messages(&[bounded]), Vec::<String>::new());
}

/// Lint lists every failing embedded test, as `tgate policy test` does (QA: it stopped at the
/// first).
#[test]
fn lint_lists_every_failing_test() {
    let text = format!(
        "{HEAD}rules:\n  - {{id: reads, decision: allow, reason: r, when: {{classes: [read]}}}}\ntests:\n  - {{command: temporal workflow list, expect: deny}}\n  - {{command: temporal workflow list, expect: allow}}\n  - {{command: temporal workflow count, expect: require_approval}}\n"
    );
    let findings = lint(&text, "p.yaml", &Context::default());
    let failed: Vec<&str> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(
        failed[0].contains("test 1 `temporal workflow list`"),
        "{failed:?}"
    );
    assert!(
        failed[1].contains("test 3 `temporal workflow count`"),
        "{failed:?}"
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
  - {{id: empty, decision: allow, reason: r, when: {{commands: [workflow list], classes: [admin], flags: {{limit: {{max: 5}}}}}}}}
  - {{id: fine, decision: allow, reason: r, when: {{commands: [schedule list]}}}}
  - {{id: ending-starts, decision: deny, reason: r, when: {{commands: [workflow start], classes: [destructive]}}}}
  - {{id: resets, decision: deny, reason: r, when: {{commands: [workflow reset]}}}}
  - {{id: all-resets, decision: deny, reason: r, when: {{commands: [workflow reset, 'workflow reset *']}}}}
  - {{id: allowed-reset, decision: allow, reason: r, when: {{commands: [workflow reset], namespaces: [default]}}}}
  - {{id: no-callers, decision: deny, reason: r, when: {{commands: [workflow cancel], callers: []}}}}
  - {{id: no-groups, decision: deny, reason: r, when: {{commands: [workflow cancel], groups: []}}}}
  - {{id: no-namespaces, decision: deny, reason: r, when: {{commands: [workflow cancel], namespaces: []}}}}
  - {{id: empty-in, decision: deny, reason: r, when: {{commands: [workflow list], flags: {{limit: {{in: []}}}}}}}}
  - {{id: min-over-max, decision: deny, reason: r, when: {{commands: [workflow list], flags: {{limit: {{min: 10, max: 5}}}}}}}}
  - {{id: absent-valued, decision: deny, reason: r, when: {{commands: [workflow list], flags: {{limit: {{present: false, max: 5}}}}}}}}
  - {{id: bounded, decision: deny, reason: r, when: {{commands: [workflow count], flags: {{query: {{present: false, not_in: [x]}}}}}}}}
  - {{id: queues, decision: allow, reason: r, when: {{commands: [task-queue describe]}}}}
  - {{id: no-queues, decision: deny, reason: r, when: {{commands: ['task-queue *']}}}}
  - {{id: single-backfills, decision: allow, reason: r, when: {{commands: [schedule backfill], batch: false}}}}
  - {{id: triggers-and-backfills, decision: allow, reason: r, when: {{commands: [schedule trigger, schedule backfill], batch: false}}}}
  - {{id: batch-triggers, decision: deny, reason: r, when: {{commands: [schedule trigger], batch: true}}}}
  - {{id: batch-backfills, decision: deny, reason: r, when: {{commands: [schedule backfill], batch: true}}}}
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
            "shadowed by the stricter rule `no-workflows` (deny): it can never decide"
        ),
        "{messages:#?}"
    );
    // `schedule backfill` is always a batch.
    assert!(
        has(
            "single-backfills",
            "can never match: `batch: false`, and its commands are always a batch"
        ),
        "{messages:#?}"
    );
    assert!(
        has(
            "triggers-and-backfills",
            "`schedule backfill` is always a batch (it starts a workflow per missed action): `batch: false` never matches it"
        ),
        "{messages:#?}"
    );
    assert!(
        has(
            "batch-triggers",
            "can never match: `batch: true`, and none of its commands can be a batch"
        ),
        "{messages:#?}"
    );
    assert!(!has("batch-backfills", ""), "{messages:#?}");
    // Order does not matter: the strictest decision wins wherever the rule is.
    assert!(
        has(
            "queues",
            "shadowed by the stricter rule `no-queues` (deny): it can never decide"
        ),
        "{messages:#?}"
    );
    // A deny naming a command that has subcommands does not cover them; an allow is not warned.
    assert!(
        has(
            "resets",
            "`workflow reset` covers that command only, not the commands under it, which this deny rule lets through"
        ),
        "{messages:#?}"
    );
    assert!(
        !has("all-resets", "covers that command only"),
        "{messages:#?}"
    );
    assert!(
        !has("allowed-reset", "covers that command only"),
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
    // Conditions nothing can meet: empty lists, bounds that exclude every number, a flag both
    // absent and valued.
    for (rule, why) in [
        ("no-callers", "can never match: its `callers` list is empty"),
        ("no-groups", "can never match: its `groups` list is empty"),
        (
            "no-namespaces",
            "can never match: its `namespaces` list is empty",
        ),
        (
            "empty-in",
            "can never match: --limit: its `in` list is empty",
        ),
        (
            "min-over-max",
            "can never match: --limit: its `min` is above its `max`",
        ),
        (
            "absent-valued",
            "can never match: --limit: `present: false` and a condition on its value",
        ),
    ] {
        assert!(has(rule, why), "{rule}: {messages:#?}");
    }
    assert!(
        !messages.iter().any(|m| m.contains("`fine`")
            || m.contains("`ending-starts`")
            || m.contains("`bounded`")),
        "{messages:#?}"
    );
    assert!(findings.iter().all(|f| f.severity == Severity::Warning));

    // A command's class can depend on its flags: `workflow start` is a write, or destructive
    // when it may terminate the running workflow. A rule on destructive commands shadows only the
    // destructive starts.
    let text = format!(
        "{HEAD}rules:
  - {{id: starts, decision: allow, reason: r, when: {{commands: [workflow start]}}}}
  - {{id: ending, decision: deny, reason: r, when: {{classes: [destructive]}}}}
  - {{id: ending-starts, decision: allow, reason: r, when: {{commands: [workflow start], classes: [destructive]}}}}
  - {{id: writes, decision: require_approval, reason: r, when: {{classes: [write]}}}}
  - {{id: plain-starts, decision: allow, reason: r, when: {{commands: [workflow start], classes: [write]}}}}
"
    );
    let messages: Vec<String> = lint(&text, "p.yaml", &Context::default())
        .into_iter()
        .map(|f| f.message)
        .collect();
    assert_eq!(
        messages,
        [
            "p.yaml: rule `ending-starts`: shadowed by the stricter rule `ending` (deny): it can never decide",
            "p.yaml: rule `plain-starts`: shadowed by the stricter rule `writes` (require_approval): it can never decide",
        ],
        "{messages:#?}"
    );

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
fn a_value_that_means_no_bound_is_outside_allow_bounds_and_inside_deny_bounds() {
    // `--limit 0` lists everything and `--command-timeout 0` (or negative) never times out: an
    // allow rule's `min`/`max` never admits such a value; a deny rule's always catches it.
    let s = set(concat!(
        "  - {id: bounded, decision: allow, reason: r, when: {commands: [workflow list, workflow show, workflow trace], flags: {command-timeout: {max: 2m}}}}\n",
        "  - {id: huge, decision: deny, reason: r, when: {commands: [workflow list], flags: {limit: {min: 1000}}}}\n",
        "  - {id: pages, decision: allow, reason: r, when: {commands: [workflow list], flags: {page-size: {max: 100}}}}\n",
        "  - {id: deep, decision: deny, reason: r, when: {commands: [workflow trace], flags: {depth: {min: 5}}}}\n",
        "  - {id: some-limit, decision: allow, reason: r, when: {commands: [batch list], flags: {limit: {min: 1}}}}\n",
        "  - {id: short-runs, decision: allow, reason: r, when: {commands: [workflow start], flags: {execution-timeout: {max: 1h}}}}\n",
        "  - {id: no-tiny, decision: require_approval, reason: r, when: {commands: [workflow start], flags: {run-timeout: {max: 1s}}}}\n",
    ));
    let agent = Caller::new("agent");
    let decide = |line: &str| {
        let ev = s.evaluate(&cmd(line), &agent, true);
        (ev.decision, ev.rules)
    };
    let allowed = |line: &str| assert_eq!(decide(line).0, Decision::Allow, "{line}");
    let denied = |line: &str| assert_eq!(decide(line).0, Decision::Deny, "{line}");
    for timeout in ["1m", "2m"] {
        allowed(&format!(
            "temporal workflow show -w x --command-timeout {timeout}"
        ));
    }
    for timeout in ["0s", "-1s", "-0s", "3m"] {
        denied(&format!(
            "temporal workflow show -w x --command-timeout={timeout}"
        ));
    }
    let ev = s.evaluate(
        &cmd("temporal workflow show -w x --command-timeout=0s"),
        &agent,
        true,
    );
    assert!(
        ev.explain.iter().any(|e| e.rule == "bounded"
            && e.why == "--command-timeout 0 means no bound, which an allow rule's `min`/`max` never admits"),
        "{:?}",
        ev.explain
    );
    // A deny rule's `min` catches it.
    for limit in ["0", "-1", "1000"] {
        let line = format!("temporal workflow list --command-timeout 1m --limit={limit}");
        assert_eq!(
            decide(&line),
            (Decision::Deny, vec!["huge".to_owned()]),
            "{line}"
        );
    }
    allowed("temporal workflow list --command-timeout 1m --limit 999");
    // `--page-size 0` (or less) is the server's default page, not a small one.
    allowed("temporal workflow list --page-size 100");
    for size in ["0", "-1"] {
        denied(&format!("temporal workflow list --page-size={size}"));
    }
    // An allow rule's `min: 1` (a real bound asked for) does not admit 0.
    allowed("temporal batch list --limit 5");
    denied("temporal batch list --limit 0");
    denied("temporal batch list --limit=-3");
    // `--depth -1` follows children at any depth; `--depth 0` is no child at all.
    assert_eq!(
        decide("temporal workflow trace -w x --command-timeout 1m --depth=-1"),
        (Decision::Deny, vec!["deep".to_owned()])
    );
    allowed("temporal workflow trace -w x --command-timeout 1m --depth 0");
    // A workflow without an execution timeout runs for ever; an approval rule's bound catches a
    // run timeout of 0 as it catches a tiny one.
    allowed("temporal workflow start --type T -t q -w w --execution-timeout 30m");
    denied("temporal workflow start --type T -t q -w w --execution-timeout 0s");
    assert_eq!(
        decide(
            "temporal workflow start --type T -t q -w w --execution-timeout 30m --run-timeout 0s"
        ),
        (Decision::RequireApproval, vec!["no-tiny".to_owned()])
    );
}

#[test]
fn schedule_limits_rates_and_nan_that_mean_no_bound_are_not_admitted() {
    // QA against a dev server: `--remaining-actions 0` (or less) leaves a schedule without a
    // limit, `--catchup-window 0s` is the server's year, `--rps 0` (or less) the server's
    // default rate; NaN compared false to both `min` and `max`.
    let s = set(concat!(
        "  - {id: few-actions, decision: allow, reason: r, when: {commands: [schedule update], flags: {remaining-actions: {max: 5}}}}\n",
        "  - {id: short-catchup, decision: allow, reason: r, when: {commands: [schedule create], flags: {catchup-window: {max: 1h}}}}\n",
        "  - {id: slow-batches, decision: allow, reason: r, when: {commands: [workflow signal], batch: true, flags: {rps: {min: 0.1, max: 1}}}}\n",
        "  - {id: fast, decision: deny, reason: r, when: {commands: [workflow cancel], flags: {rps: {min: 10}}}}\n",
        "  - {id: cancels, decision: allow, reason: r, when: {commands: [workflow cancel]}}\n",
    ));
    let agent = Caller::new("agent");
    let decide = |line: &str| s.evaluate(&cmd(line), &agent, false).decision;
    let update = "temporal schedule update -s x --interval 1s -t q --type W";
    assert_eq!(
        decide(&format!("{update} --remaining-actions 5")),
        Decision::Allow
    );
    for n in ["0", "-5"] {
        assert_eq!(
            decide(&format!("{update} --remaining-actions={n}")),
            Decision::Deny,
            "{n}"
        );
    }
    let create = "temporal schedule create -s x --interval 1s -t q --type W";
    assert_eq!(
        decide(&format!("{create} --catchup-window 30m")),
        Decision::Allow
    );
    assert_eq!(
        decide(&format!("{create} --catchup-window 0s")),
        Decision::Deny
    );
    let signal = "temporal workflow signal -q WorkflowType='V' --name s --yes";
    assert_eq!(decide(&format!("{signal} --rps 0.5")), Decision::Allow);
    for rps in ["NaN", "nan", "-1", "0"] {
        assert_eq!(
            decide(&format!("{signal} --rps={rps}")),
            Decision::Deny,
            "{rps}"
        );
    }
    // A deny rule's bound catches them.
    let cancel = "temporal workflow cancel -q WorkflowType='V' --yes";
    assert_eq!(decide(&format!("{cancel} --rps 1")), Decision::Allow);
    for rps in ["NaN", "-1", "10"] {
        assert_eq!(
            decide(&format!("{cancel} --rps={rps}")),
            Decision::Deny,
            "{rps}"
        );
    }
}

#[test]
fn writes_to_temporals_own_workflows_are_refused_whatever_the_rules() {
    // A schedule, a batch job or a worker deployment runs as a workflow of Temporal's own: a
    // signal to `temporal-sys-scheduler:NAME` backfilled a schedule (QA) where `schedule
    // backfill` was denied.
    let s = set(
        "  - {id: anything, decision: allow, reason: r, when: {classes: [read, write, destructive]}}\n",
    );
    let agent = Caller::new("agent");
    for line in [
        "temporal workflow signal -w temporal-sys-scheduler:bf --name patch",
        "temporal workflow update execute -w temporal-sys-worker-deployment:d --name u",
        "temporal workflow terminate -w temporal-sys-scheduler:bf",
        "temporal workflow cancel -w temporal-sys-batch-workflow",
        "temporal workflow start -w temporal-sys-scheduler:x --type T -t q",
        "temporal activity complete -a 1 -w temporal-sys-scheduler:bf --result 1",
        // Through a batch job's id: judged as the terminate it is.
        "temporal batch terminate --job-id temporal-sys-scheduler:bf --reason r",
    ] {
        let ev = s.evaluate(&cmd(line), &agent, false);
        assert_eq!(ev.decision, Decision::Deny, "{line}");
        assert!(
            ev.rules == ["tgate:internal-workflow"] || ev.rules == ["tgate:batch-job-id"],
            "{line}: {:?}",
            ev.rules
        );
    }
    // Reading one is a read; an id that merely holds the words is not one of them.
    for line in [
        "temporal workflow describe -w temporal-sys-scheduler:bf",
        "temporal workflow signal -w my-temporal-sys-scheduler --name s",
        "temporal workflow signal -w Temporal-Sys-Scheduler:bf --name s",
    ] {
        assert_eq!(
            s.evaluate(&cmd(line), &agent, false).decision,
            Decision::Allow,
            "{line}"
        );
    }
}

#[test]
fn batch_terminate_is_judged_as_the_workflow_terminate_it_is() {
    // The server's StopBatchOperation terminates the workflow whose id is the job id, whatever
    // it is (QA: an ordinary workflow was terminated through a rule allowing `batch terminate`,
    // past the approval `workflow terminate` needs).
    let s = set(concat!(
        "  - {id: stop-batch-jobs, decision: allow, reason: r, when: {commands: [batch terminate]}}\n",
        "  - {id: terminate-gated, decision: require_approval, reason: two people, when: {commands: [workflow terminate], flags: {workflow-id: {not_matches: '^batch-'}}}}\n",
        "  - {id: batch-ids, decision: allow, reason: r, when: {commands: [workflow terminate], flags: {workflow-id: {matches: '^batch-'}}}}\n",
        "  - {id: protected, decision: deny, reason: never, when: {commands: [workflow terminate], flags: {workflow-id: {matches: '^payments-'}}}}\n",
    ));
    let agent = Caller::new("agent");
    let ev = s.evaluate(
        &cmd("temporal batch terminate --job-id victim-2 --reason r"),
        &agent,
        false,
    );
    assert_eq!(ev.decision, Decision::Deny);
    assert_eq!(ev.rules, ["tgate:batch-job-id"]);
    assert!(
        ev.reason.contains(
            "`workflow terminate -w victim-2 --reason r` needs approval here (terminate-gated: two people)"
        ),
        "{}",
        ev.reason
    );
    let ev = s.evaluate(
        &cmd("temporal batch terminate --job-id payments-1 --reason r"),
        &agent,
        false,
    );
    assert_eq!(ev.decision, Decision::Deny);
    assert!(
        ev.reason.contains("is denied here (protected: never)"),
        "{}",
        ev.reason
    );
    // Where the terminate itself is allowed, so is the batch terminate.
    let ev = s.evaluate(
        &cmd("temporal batch terminate --job-id batch-7 --reason r"),
        &agent,
        false,
    );
    assert_eq!(
        (ev.decision, ev.rules),
        (Decision::Allow, vec!["stop-batch-jobs".to_owned()])
    );
}

#[test]
fn a_start_that_signals_or_updates_a_running_workflow_is_judged_as_that_signal_or_update() {
    // With the default id conflict policy, `signal-with-start` and the update-with-start
    // commands act on the running workflow of that id (QA: a rule allowing writes let them past
    // the approval `workflow signal` needed).
    let s = set(concat!(
        "  - {id: writes, decision: allow, reason: r, when: {classes: [write]}}\n",
        "  - {id: signal-gated, decision: require_approval, reason: one person, when: {commands: [workflow signal], flags: {name: {not_in: [ping]}}}}\n",
        "  - {id: no-updates, decision: deny, reason: never, when: {commands: [workflow update execute], flags: {workflow-id: {matches: '^pay-'}}}}\n",
    ));
    let agent = Caller::new("agent");
    let decide = |line: &str| {
        let ev = s.evaluate(&cmd(line), &agent, false);
        (ev.decision, ev.rules, ev.reason)
    };
    let (decision, rules, reason) =
        decide("temporal workflow signal-with-start -w pay-1 --type T -t q --signal-name retry");
    assert_eq!(
        (decision, rules),
        (Decision::Deny, vec!["tgate:signal-with-start".to_owned()])
    );
    assert_eq!(
        reason,
        "`workflow signal-with-start -w pay-1` signals the workflow `pay-1` when it is running, and `workflow signal -w pay-1 --name retry` needs approval here (signal-gated: one person)"
    );
    for line in [
        "temporal workflow execute-update-with-start -w pay-1 --type T -t q --update-name u --id-conflict-policy UseExisting",
        "temporal workflow start-update-with-start -w pay-1 --type T -t q --update-name u --update-wait-for-stage accepted --id-conflict-policy UseExisting",
    ] {
        let (decision, rules, reason) = decide(line);
        assert_eq!(
            (decision, rules),
            (Decision::Deny, vec!["tgate:update-with-start".to_owned()]),
            "{line}"
        );
        assert!(
            reason.contains("is denied here (no-updates: never)"),
            "{reason}"
        );
    }
    // Where the signal or the update is allowed, the start stands.
    for line in [
        "temporal workflow signal-with-start -w pay-1 --type T -t q --signal-name ping",
        "temporal workflow execute-update-with-start -w other-1 --type T -t q --update-name u --id-conflict-policy UseExisting",
    ] {
        assert_eq!(decide(line).0, Decision::Allow, "{line}");
    }
}

#[test]
fn one_value_of_an_array_flag_is_enough_for_a_deny_or_approval_rule() {
    // An allow rule on an array flag (`--search-attribute`, `--input`...) holds only when every
    // value satisfies its constraint; a deny or approval rule is about a value, and one it
    // catches is not hidden by harmless values added beside it (QA: adding `X="y"` beside the
    // `Env="prod"` a deny rule matched made the start allowed).
    let s = set(concat!(
        "  - {id: starts, decision: allow, reason: r, when: {commands: [workflow start]}}\n",
        "  - {id: no-prod-env, decision: deny, reason: r, when: {commands: [workflow start], flags: {search-attribute: {matches: '^Env=', not_matches: 'staging'}}}}\n",
        "  - {id: big-input, decision: require_approval, reason: r, when: {commands: [workflow start], flags: {input: {in: ['\"all\"']}}}}\n",
        "  - {id: tagged-signals, decision: allow, reason: r, when: {commands: [workflow signal], flags: {input: {matches: '^\"ok'}}}}\n",
    ));
    let agent = Caller::new("agent");
    let decide = |line: &str| {
        let ev = s.evaluate(&cmd(line), &agent, true);
        (ev.decision, ev.rules, ev.explain)
    };
    let start = "temporal workflow start --type P -t q -w w";
    for extra in [
        "",
        " --search-attribute X=\"y\"",
        " --search-attribute A=1 --search-attribute B=2",
    ] {
        for order in [true, false] {
            let prod = " --search-attribute Env=\"prod\"";
            let line = if order {
                format!("{start}{prod}{extra}")
            } else {
                format!("{start}{extra}{prod}")
            };
            let (decision, rules, _) = decide(&line);
            assert_eq!(
                (decision, rules),
                (Decision::Deny, vec!["no-prod-env".to_owned()]),
                "{line}"
            );
        }
    }
    // Every condition of the constraint holds of one value: `Env="staging"` beside `X="prod"`
    // is not caught (the one value that starts `Env=` is staging). (`cmd` splits at spaces: no quotes.).
    let line = format!("{start} --search-attribute Env=\"staging\" --search-attribute X=\"prod\"");
    let (decision, _, explain) = decide(&line);
    assert_eq!(decision, Decision::Allow, "{line}");
    let why = &explain
        .iter()
        .find(|e| e.rule == "no-prod-env")
        .unwrap()
        .why;
    assert!(
        why.starts_with("no --search-attribute value holds (--search-attribute `Env=\"staging\"` matches `staging`"),
        "{why}"
    );
    // An approval rule alike.
    let (decision, rules, _) = decide(&format!("{start} -i \"x\" -i \"all\" -i 1"));
    assert_eq!(
        (decision, rules),
        (Decision::RequireApproval, vec!["big-input".to_owned()])
    );
    // An allow rule still needs every value.
    assert_eq!(
        decide("temporal workflow signal -w w --name n -i \"ok1\" -i \"ok2\"").0,
        Decision::Allow
    );
    let (decision, _, explain) =
        decide("temporal workflow signal -w w --name n -i \"ok1\" -i \"rm\"");
    assert_eq!(decision, Decision::Deny);
    let why = &explain
        .iter()
        .find(|e| e.rule == "tagged-signals")
        .unwrap()
        .why;
    assert_eq!(why, "--input `\"rm\"` does not match `^\"ok`");
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

/// A policy's allow rules need both namespaces a command has (the one acted on, the one the client
/// connects with) in its `namespaces`; its approval and deny rules either (review: a deny-only
/// policy guarding `prod`, pooled with one allowing admin everywhere, was passed by `operator
/// namespace update prod`, whose client connects to `default`).
#[test]
fn a_guarding_policy_reaches_a_command_acting_on_its_namespace_from_another() {
    let guard = load("version: 1\nnamespaces: [prod]\nrules:\n  - {id: no-prod-admin, decision: deny, reason: r, when: {classes: [admin]}}\n").unwrap();
    let team = load("version: 1\nnamespaces: ['*']\nrules:\n  - {id: admin-ok, decision: allow, reason: r, when: {classes: [admin, read, write]}}\n").unwrap();
    let prod_allow = load("version: 1\nnamespaces: [prod]\nrules:\n  - {id: prod-admin, decision: allow, reason: r, when: {classes: [admin]}}\n").unwrap();
    let s = PolicySet::new(vec![guard, team]);
    let c = Caller::new("agent");
    let judged = |s: &PolicySet, line: &str| {
        let ev = s.evaluate(&cmd(line), &c, false);
        (ev.decision, ev.rules)
    };
    let deny = (Decision::Deny, vec!["no-prod-admin".to_owned()]);
    for line in [
        "temporal operator namespace update prod --description x",
        "temporal operator namespace update -n prod --description x",
        "temporal operator namespace delete prod --yes",
    ] {
        assert_eq!(judged(&s, line), deny, "{line}");
    }
    // Another namespace, from the same client: the guard does not reach it.
    assert_eq!(
        judged(
            &s,
            "temporal operator namespace update staging --description x"
        ),
        (Decision::Allow, vec!["admin-ok".to_owned()])
    );
    // An allow rule still needs both: one bounded to `prod` does not allow a command whose client
    // connects to `default`.
    let s = PolicySet::new(vec![prod_allow]);
    assert_eq!(
        judged(
            &s,
            "temporal operator namespace update prod --description x"
        )
        .1,
        vec!["tgate:namespace-allowlist".to_owned()]
    );
    // An approval rule so reached gates what another policy allows...
    let gate = load("version: 1\nnamespaces: [prod]\nrules:\n  - {id: prod-admin-approval, decision: require_approval, reason: r, when: {classes: [admin]}}\n").unwrap();
    let team = load("version: 1\nnamespaces: ['*']\nrules:\n  - {id: admin-ok, decision: allow, reason: r, when: {classes: [admin]}}\n").unwrap();
    let s = PolicySet::new(vec![gate, team]);
    assert_eq!(
        judged(
            &s,
            "temporal operator namespace update prod --description x"
        ),
        (
            Decision::RequireApproval,
            vec!["prod-admin-approval".to_owned()]
        )
    );
    // ...but never decides alone: a command no policy holds whole stays denied by the allowlist,
    // not made approvable (review: `operator namespace delete prod` became approvable under a
    // policy for `default` alone, and ran once approved).
    for (namespaces, line) in [
        ("[default]", "temporal operator namespace delete prod --yes"),
        (
            "[prod]",
            "temporal operator namespace update prod --description x",
        ),
    ] {
        let only = load(&format!("version: 1\nnamespaces: {namespaces}\nrules:\n  - {{id: admin-approval, decision: require_approval, reason: r, when: {{classes: [admin]}}}}\n")).unwrap();
        assert_eq!(
            judged(&PolicySet::new(vec![only]), line),
            (Decision::Deny, vec!["tgate:namespace-allowlist".to_owned()]),
            "{namespaces} {line}"
        );
    }
}

/// Rate limits are counted by rule id: pooled files may repeat an id (`reads` in each), but not
/// one a rate-limited rule has, which would make two rules share one counter.
#[test]
fn a_rate_limited_rule_id_is_unique_across_pooled_files() {
    let file = |name: &str, rule: &str| {
        Policy::load(
            &format!("{HEAD}rules:\n  - {{id: reads, decision: allow, reason: r, when: {{classes: [read]}}}}\n{rule}"),
            name,
            &Context::default(),
        )
        .unwrap()
    };
    let rated = "  - {id: signals, decision: allow, reason: r, rate: 3/day, when: {commands: [workflow signal]}}\n";
    let plain =
        "  - {id: signals, decision: allow, reason: r, when: {commands: [workflow cancel]}}\n";
    let other = "  - {id: cancels, decision: allow, reason: r, rate: 3/day, when: {commands: [workflow cancel]}}\n";
    for (a, b) in [(rated, plain), (plain, rated), (rated, rated)] {
        let e = PolicySet::pooled(vec![file("a.yaml", a), file("b.yaml", b)])
            .expect_err("shared counter")
            .to_string();
        assert_eq!(
            e,
            "b.yaml: rule `signals`: `a.yaml` has a rule with this id too, and one of them a rate \
             limit: rate limits are counted by rule id, so the two would share one counter; \
             rename one"
        );
    }
    // The same file twice.
    let e = PolicySet::pooled(vec![file("a.yaml", plain), file("a.yaml", plain)])
        .expect_err("twice")
        .to_string();
    assert_eq!(e, "a.yaml: policy: the file is given twice");
    // `reads` repeats, and rate-limited rules with their own ids pool.
    let s = PolicySet::pooled(vec![file("a.yaml", rated), file("b.yaml", other)]).unwrap();
    assert_eq!(s.policies().len(), 2);
    PolicySet::pooled(vec![file("a.yaml", plain), file("b.yaml", plain)]).unwrap();
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
        "approvers",
        "rate_per",
        "justification",
    ] {
        assert!(text.contains(key), "schema lacks {key}");
    }
}

/// Every policy shipped in `policies/` loads (its embedded tests pass) whatever the
/// integration's default namespace: a command naming no namespace is judged in that namespace, as
/// `tgate run` runs it. (`read-only.yaml` failed to load under an integration whose namespace was
/// not `default`: its tests judged `workflow list` in `default`.)
#[test]
fn shipped_policies_load_whatever_the_default_namespace() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        for ns in [
            "default",
            "prod",
            "payments",
            "payments-prod-eu",
            "team.a1b2c",
        ] {
            let ctx = Context {
                default_namespace: ns.to_owned(),
            };
            let (count, failures) =
                tgate::policy::test_file(&text, &path.display().to_string(), &ctx).unwrap();
            assert!(count > 0, "{}: no tests", path.display());
            assert!(
                failures.is_empty(),
                "{} under `{ns}`: {failures:?}",
                path.display()
            );
        }
    }
    assert!(files >= 4, "{files} policy files");
}

/// A policy's embedded tests run at its first load, and a marker remembers that this text passed
/// them under this context with this binary; later loads skip them. Failing tests leave no
/// marker; a marker stands only for its own text and context.
#[test]
fn passing_tests_are_remembered_for_the_same_text_and_context() {
    let dir = tempfile::tempdir().unwrap();
    let markers = dir.path().join("policy-tests");
    let cache = TestedCache::new(markers.clone()).expect("the test binary has an identity");
    let count = || std::fs::read_dir(&markers).map_or(0, |d| d.count());
    let ctx = Context::default();
    let rules = "rules:\n  - {id: reads, decision: allow, reason: r, when: {classes: [read]}}\n";
    let passing =
        format!("{HEAD}{rules}tests:\n  - {{command: temporal workflow list, expect: allow}}\n");
    let failing =
        format!("{HEAD}{rules}tests:\n  - {{command: temporal workflow list, expect: deny}}\n");

    Policy::load_remembering(&passing, "p.yaml", &ctx, Some(&cache)).unwrap();
    assert_eq!(count(), 1);
    assert!(cache.marker(&passing, &ctx).is_file());
    Policy::load_remembering(&passing, "p.yaml", &ctx, Some(&cache)).unwrap();
    assert_eq!(count(), 1);
    let e = Policy::load_remembering(&failing, "p.yaml", &ctx, Some(&cache))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("test 1 `temporal workflow list`: expected deny"),
        "{e}"
    );
    assert_eq!(count(), 1, "a failing policy is not remembered");
    // Another default namespace is another marker: the tests run (and fail here, the policy
    // allowing only `default`).
    let prod = Context {
        default_namespace: "prod".to_owned(),
    };
    assert_ne!(cache.marker(&passing, &ctx), cache.marker(&passing, &prod));
    assert!(Policy::load_remembering(&passing, "p.yaml", &prod, Some(&cache)).is_err());
    assert_eq!(count(), 1);
    // Past `MAX_MARKERS`, writing one prunes those unused longest, down to half as many: the new
    // one stays, and so does one written long ago but used since.
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    for i in 0..tgate::policy::MAX_MARKERS {
        let f = std::fs::File::create(markers.join(format!("old-{i:03}"))).unwrap();
        f.set_modified(old + std::time::Duration::from_secs(i as u64))
            .unwrap();
    }
    let used = cache.marker(&passing, &ctx);
    let older = old - std::time::Duration::from_secs(1);
    std::fs::File::options()
        .write(true)
        .open(&used)
        .unwrap()
        .set_modified(older)
        .unwrap();
    Policy::load_remembering(&passing, "p.yaml", &ctx, Some(&cache)).unwrap();
    let refreshed = std::fs::metadata(&used).unwrap().modified().unwrap();
    assert!(
        refreshed > old + std::time::Duration::from_secs(1_000),
        "{refreshed:?}"
    );
    assert_eq!(count(), tgate::policy::MAX_MARKERS + 1);
    let newer = format!("{passing}# edited\n");
    Policy::load_remembering(&newer, "p.yaml", &ctx, Some(&cache)).unwrap();
    assert_eq!(count(), tgate::policy::MAX_MARKERS / 2);
    assert!(cache.marker(&newer, &ctx).is_file());
    assert!(used.is_file(), "the marker used since stays");
    assert!(markers.join("old-255").is_file() && !markers.join("old-129").exists());
    // A marker used within the hour is not written again.
    let recent = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(&used)
        .unwrap()
        .set_modified(recent)
        .unwrap();
    Policy::load_remembering(&passing, "p.yaml", &ctx, Some(&cache)).unwrap();
    assert_eq!(
        std::fs::metadata(&used).unwrap().modified().unwrap(),
        recent
    );
    // The marker is what skips the tests, nothing else: one written for the failing text (by
    // whoever can write tgate's state directory) lets it load as written.
    std::fs::write(cache.marker(&failing, &ctx), "").unwrap();
    let loaded = Policy::load_remembering(&failing, "p.yaml", &ctx, Some(&cache)).unwrap();
    assert_eq!(loaded.rules().len(), 1);
    assert!(Policy::load(&failing, "p.yaml", &ctx).is_err());
}

/// The built-in policy is loaded without running its embedded tests (it ships inside the
/// binary): they run here instead, and in `shipped_policies_load_whatever_the_default_namespace`
/// under other default namespaces; the policy follows that namespace (`$default`).
#[test]
fn the_builtin_policy_passes_its_tests() {
    let ctx = Context::default();
    assert_eq!(ctx.default_namespace, "default");
    let (count, failures) =
        tgate::policy::test_file(tgate::policy::BUILTIN_READ_ONLY, "builtin", &ctx).unwrap();
    assert!(count >= 9, "{count} tests");
    assert!(failures.is_empty(), "{failures:?}");
    // The policy `builtin` gives is the one those tests judged.
    let loaded = Policy::builtin(&ctx).unwrap();
    let tested = Policy::load(tgate::policy::BUILTIN_READ_ONLY, "builtin", &ctx).unwrap();
    assert_eq!(
        format!("{:?}", loaded.rules()),
        format!("{:?}", tested.rules())
    );

    // An integration whose default namespace is `prod`: reads there, nothing in `default`. A
    // command naming no namespace runs in `prod`, and is judged there.
    let prod = Context {
        default_namespace: "prod".to_owned(),
    };
    let set = PolicySet::new(vec![Policy::builtin(&prod).unwrap()]);
    let caller = Caller {
        id: "agent".to_owned(),
        groups: Vec::new(),
    };
    for (line, want) in [
        ("temporal workflow list", Decision::Allow),
        ("temporal workflow list -n prod", Decision::Allow),
        ("temporal workflow describe -w a -n prod", Decision::Allow),
        ("temporal workflow list -n default", Decision::Deny),
        (
            "temporal workflow terminate -w a -n prod --reason r",
            Decision::Deny,
        ),
    ] {
        assert_eq!(
            set.check_line(line, &caller, "prod").decision,
            want,
            "{line}"
        );
    }
    // `$default` is a name, never a pattern: were the namespace given to hold a glob character
    // (configurations and --default-namespace refuse it), it would match itself only.
    let globbed = Context {
        default_namespace: "pay*".to_owned(),
    };
    let set = PolicySet::new(vec![Policy::builtin(&globbed).unwrap()]);
    for (line, want) in [
        ("temporal workflow list -n payroll", Decision::Deny),
        ("temporal workflow list -n 'pay*'", Decision::Allow),
    ] {
        assert_eq!(
            set.check_line(line, &caller, "pay*").decision,
            want,
            "{line}"
        );
    }
}

/// A start, update-with-start or schedule command whose flags make it end other executions is
/// `destructive`, not `write`: a policy allowing writes does not let the agent terminate a
/// workflow by starting another under its id, or by a schedule that terminates its last run.
#[test]
fn writes_that_end_other_executions_are_destructive() {
    let s = set("  - {id: writes, decision: allow, reason: r, when: {classes: [read, write]}}\n");
    let agent = Caller::new("agent");
    for (line, class) in [
        ("temporal workflow start --type P -t q -w a", "write"),
        (
            "temporal workflow start --type P -t q -w a --id-conflict-policy UseExisting",
            "write",
        ),
        (
            "temporal workflow start --type P -t q -w a --id-conflict-policy TerminateExisting",
            "destructive",
        ),
        (
            "temporal workflow execute --type P -t q -w a --id-reuse-policy TerminateIfRunning",
            "destructive",
        ),
        (
            "temporal workflow signal-with-start --type P -t q -w a --signal-name s --id-conflict-policy TerminateExisting",
            "destructive",
        ),
        (
            "temporal workflow start-update-with-start --type P -t q -w a --update-name u --update-wait-for-stage accepted --id-conflict-policy TerminateExisting",
            "destructive",
        ),
        (
            "temporal schedule trigger -s s --overlap-policy TerminateOther",
            "destructive",
        ),
        (
            "temporal schedule trigger -s s --overlap-policy CancelOther",
            "destructive",
        ),
        (
            "temporal schedule trigger -s s --overlap-policy BufferAll",
            "write",
        ),
        (
            "temporal schedule backfill -s s --start-time 2026-01-01T00:00:00Z --end-time 2026-01-02T00:00:00Z --overlap-policy TerminateOther",
            "destructive",
        ),
    ] {
        let c = cmd(line);
        assert_eq!(c.class().as_str(), class, "{line}");
        let want = if class == "write" {
            Decision::Allow
        } else {
            Decision::Deny
        };
        assert_eq!(s.evaluate(&c, &agent, false).decision, want, "{line}");
    }
}

/// A rule that tells a single workflow from a batch by the presence of `--workflow-id` sees what
/// the CLI does: `-w ''` is no workflow id (with `-q`, the CLI starts a batch), so it is not
/// present; `-q ''` is no query.
#[test]
fn an_empty_workflow_id_is_not_present() {
    let s = set(
        "  - {id: single, decision: allow, reason: r, when: {commands: [workflow terminate], flags: {workflow-id: {present: true}}}}\n",
    );
    let agent = Caller::new("agent");
    let judged = |line: &str| {
        let argv = tgate::lex::lex_str(line, &tgate::lex::Program::default()).unwrap();
        let c = Command::parse(&argv).unwrap();
        (c.is_batch(), s.evaluate(&c, &agent, false).decision)
    };
    assert_eq!(
        judged("temporal workflow terminate -w '' -q 'ExecutionStatus=\"Running\"' --yes"),
        (true, Decision::Deny)
    );
    assert_eq!(
        judged("temporal workflow terminate -w wf -q '' --yes=false --rps 0"),
        (false, Decision::Allow)
    );
}

/// When the command a `batch terminate` also acts as needs approval too, it needs the approvers
/// of both rules and counts against both rates (re-check QA: the batch rule's own approvers stood
/// in for those `workflow terminate` needs, and the terminate's rate went uncounted). Where the
/// terminate is allowed with a rate, the batch terminate counts against that rate as well.
#[test]
fn batch_terminate_needs_what_workflow_terminate_needs_as_well() {
    let s = set(concat!(
        "  - {id: batch-stop, decision: require_approval, reason: r, when: {commands: [batch terminate]},\n",
        "     approval: {ttl: 1h, approvers: [oncall]}}\n",
        "  - {id: terminate, decision: require_approval, reason: r, when: {commands: [workflow terminate]},\n",
        "     approval: {ttl: 10m, approvals: 2, approvers: [sre]}, rate: 3/hour}\n",
    ));
    let agent = Caller::new("agent-7");
    let ev = s.evaluate(
        &cmd("temporal batch terminate --job-id j-1 --reason r"),
        &agent,
        false,
    );
    assert_eq!(ev.decision, Decision::RequireApproval);
    assert_eq!(ev.rules, ["batch-stop", "terminate"]);
    let approval = ev.requires.approval.clone().expect("approval");
    assert_eq!(approval.ttl, std::time::Duration::from_secs(600));
    assert_eq!(approval.approvals, 2);
    assert_eq!(
        approval.approver_groups,
        vec![vec!["oncall".to_owned()], vec!["sre".to_owned()]]
    );
    assert!(!approval.may_approve(&["oncall".to_owned()]));
    assert!(approval.may_approve(&["oncall".to_owned(), "sre".to_owned()]));
    let rates: Vec<&str> = ev.requires.rates.iter().map(|r| r.rule.as_str()).collect();
    assert_eq!(rates, ["terminate"]);

    let s = set(concat!(
        "  - {id: batch-stop, decision: allow, reason: r, when: {commands: [batch terminate]}}\n",
        "  - {id: terminate, decision: allow, reason: r, when: {commands: [workflow terminate]}, rate: 3/hour}\n",
    ));
    let ev = s.evaluate(
        &cmd("temporal batch terminate --job-id j-1 --reason r"),
        &agent,
        false,
    );
    assert_eq!(ev.decision, Decision::Allow);
    assert_eq!(ev.rules, ["batch-stop", "terminate"]);
    let rates: Vec<(&str, &str)> = ev
        .requires
        .rates
        .iter()
        .map(|r| (r.rule.as_str(), r.key.as_str()))
        .collect();
    assert_eq!(
        rates,
        [("terminate", r#"["rate","terminate","caller","agent-7"]"#)]
    );
}

/// The CLI reads an int flag as 64 bits and puts many into 32-bit request fields, where Go's
/// conversion wraps (security re-check: `--priority-key 4294967297` went out as 1,
/// `--retry-maximum-attempts 4294967296` as 0, unlimited). `min`/`max` judge both readings: an
/// allow rule admits a value only when both pass, a gate rule catches it when either does.
#[test]
fn numbers_the_cli_wraps_to_32_bits_are_judged_as_sent_too() {
    let s = set(concat!(
        "  - {id: retries, decision: allow, reason: r, when: {commands: [activity update-options],\n",
        "     flags: {retry-maximum-attempts: {min: 1}}}}\n",
        "  - {id: starts, decision: allow, reason: r, when: {commands: [workflow start]}}\n",
        "  - {id: urgent, decision: require_approval, reason: r, when: {commands: [workflow start],\n",
        "     flags: {priority-key: {max: 2}}}}\n",
        "  - {id: seven-retries, decision: require_approval, reason: r, when: {commands: [activity update-options],\n",
        "     flags: {retry-maximum-attempts: {in: ['7']}}}}\n",
    ));
    let agent = Caller::new("agent");
    let update = "temporal activity update-options -w a --activity-id x";
    let start = "temporal workflow start --type T -t q -w a";
    for (line, want, why) in [
        (
            format!("{update} --retry-maximum-attempts 3"),
            Decision::Allow,
            "",
        ),
        (
            format!("{update} --retry-maximum-attempts 4294967296"),
            Decision::Deny,
            "--retry-maximum-attempts 4294967296 is sent as 0 (the CLI may wrap it to 32 bits), and --retry-maximum-attempts 0 means no bound",
        ),
        (
            format!("{update} --retry-maximum-attempts 4294967297"),
            Decision::Allow,
            "",
        ),
        (
            format!("{update} --retry-maximum-attempts 2147483648"),
            Decision::Deny,
            "--retry-maximum-attempts 2147483648 is sent as -2147483648 (the CLI may wrap it to 32 bits), and --retry-maximum-attempts -2147483648 means no bound",
        ),
        (format!("{start} --priority-key 3"), Decision::Allow, ""),
        (
            format!("{start} --priority-key 1"),
            Decision::RequireApproval,
            "",
        ),
        (
            format!("{start} --priority-key 4294967297"),
            Decision::RequireApproval,
            "",
        ),
        (
            format!("{start} --priority-key 4294967299"),
            Decision::Allow,
            "",
        ),
        // Text conditions judge both readings too (review: `in: ["7"]` missed 4294967303).
        (
            format!("{update} --retry-maximum-attempts 7"),
            Decision::RequireApproval,
            "",
        ),
        (
            format!("{update} --retry-maximum-attempts 4294967303"),
            Decision::RequireApproval,
            "",
        ),
        (
            format!("{update} --retry-maximum-attempts 8"),
            Decision::Allow,
            "",
        ),
    ] {
        let ev = s.evaluate(&cmd(&line), &agent, true);
        assert_eq!(ev.decision, want, "{line}: {}", ev.reason);
        if !why.is_empty() {
            assert!(
                ev.explain.iter().any(|e| e.why.contains(why)),
                "{line}: {:?}",
                ev.explain
            );
        }
    }
}

/// What would act on or as one of Temporal's own workflows is denied from the command alone: a
/// start or schedule of one of its workflow types or on one of its task queues, and a batch whose
/// query names `TemporalNamespaceDivision` (which the server otherwise adds to keep them out).
/// Reads of them are not.
#[test]
fn writes_naming_temporals_own_types_queues_or_division_are_denied() {
    let s = set(
        "  - {id: all, decision: allow, reason: r, when: {classes: [read, write, destructive, admin]}}\n",
    );
    let agent = Caller::new("agent");
    let parse = |argv: &[&str]| Command::parse(argv).unwrap();
    for argv in [
        &[
            "temporal",
            "workflow",
            "start",
            "--type",
            "temporal-sys-batch-workflow",
            "-t",
            "q",
            "-w",
            "x",
        ][..],
        &[
            "temporal",
            "workflow",
            "start",
            "--type",
            "T",
            "-t",
            "temporal-sys-per-ns-tq",
            "-w",
            "x",
        ],
        &[
            "temporal",
            "schedule",
            "create",
            "-s",
            "s",
            "--type",
            "temporal-sys-batch-workflow",
            "-t",
            "q",
            "-w",
            "x",
            "--interval",
            "1h",
        ],
        &[
            "temporal",
            "task-queue",
            "config",
            "set",
            "-t",
            "temporal-sys-per-ns-tq",
            "--task-queue-type",
            "workflow",
            "--queue-rps-limit",
            "1",
            "--queue-rps-limit-reason",
            "r",
        ],
        &[
            "temporal",
            "workflow",
            "reset",
            "--query",
            "TemporalNamespaceDivision IS NOT NULL",
            "--type",
            "FirstWorkflowTask",
            "--reason",
            "r",
            "--yes",
        ],
        &[
            "temporal",
            "workflow",
            "terminate",
            "--query",
            "`TemporalNamespaceDivision` = 'TemporalBatcher'",
            "--reason",
            "r",
            "--yes",
        ],
        &[
            "temporal",
            "workflow",
            "signal",
            "--query",
            "temporalnamespacedivision in ('TemporalScheduler')",
            "--name",
            "n",
            "--yes",
        ],
    ] {
        let ev = s.evaluate(&parse(argv), &agent, false);
        assert_eq!(
            (ev.decision, ev.rules.clone()),
            (Decision::Deny, vec!["tgate:internal-workflow".to_owned()]),
            "{argv:?}: {}",
            ev.reason
        );
    }
    for argv in [
        &[
            "temporal",
            "workflow",
            "list",
            "--query",
            "TemporalNamespaceDivision IS NOT NULL",
        ][..],
        &[
            "temporal",
            "task-queue",
            "describe",
            "-t",
            "temporal-sys-per-ns-tq",
        ],
        &[
            "temporal",
            "workflow",
            "terminate",
            "--query",
            "WorkflowType = 'T'",
            "--reason",
            "r",
            "--yes",
        ],
        &[
            "temporal", "workflow", "start", "--type", "T", "-t", "q", "-w", "x",
        ],
    ] {
        let ev = s.evaluate(&parse(argv), &agent, false);
        assert_eq!(ev.decision, Decision::Allow, "{argv:?}: {}", ev.reason);
    }
}

/// The signal or update a start also acts as carries the start's input (and update id): a rule on
/// a signal's or an update's input judges it (re-check QA: `--signal-input '"refund"'` went
/// through a signal-with-start past a deny on signals whose input holds `refund`). A start that
/// terminates the workflow running under its id is judged as that `workflow terminate` too.
#[test]
fn starts_are_judged_as_the_signal_update_or_terminate_they_do_with_what_they_send() {
    let s = set(concat!(
        "  - {id: writes, decision: allow, reason: r, when: {commands: [workflow signal, workflow update execute, workflow start, workflow signal-with-start, workflow start-update-with-start]}}\n",
        "  - {id: no-refund-signals, decision: deny, reason: no refunds, when: {commands: [workflow signal], flags: {input: {matches: refund}}}}\n",
        "  - {id: no-refund-updates, decision: deny, reason: no refunds, when: {commands: [workflow update execute], flags: {input: {matches: refund}}}}\n",
        "  - {id: no-upd-x, decision: deny, reason: not that update id, when: {commands: [workflow update execute], flags: {update-id: {in: [upd-x]}}}}\n",
    ));
    let agent = Caller::new("agent");
    for (argv, want) in [
        (
            "temporal workflow signal-with-start -w wf-1 --signal-name go --signal-input \"refund\" --type T -t q",
            Some("tgate:signal-with-start"),
        ),
        (
            "temporal workflow signal-with-start -w wf-1 --signal-name go --signal-input \"ok\" --type T -t q",
            None,
        ),
        // The workflow's own input is not the signal's (review: it was carried as the signal's).
        (
            "temporal workflow signal-with-start -w wf-1 --signal-name go --input \"refund\" --signal-input \"ok\" --type T -t q",
            None,
        ),
        (
            "temporal workflow start-update-with-start -w wf-2 --update-name u --update-input \"refund\" --update-wait-for-stage accepted --type T -t q --id-conflict-policy UseExisting",
            Some("tgate:update-with-start"),
        ),
        (
            "temporal workflow start-update-with-start -w wf-2 --update-name u --update-id upd-x --update-wait-for-stage accepted --type T -t q --id-conflict-policy UseExisting",
            Some("tgate:update-with-start"),
        ),
        (
            "temporal workflow start-update-with-start -w wf-2 --update-name u --update-id upd-y --update-wait-for-stage accepted --type T -t q --id-conflict-policy UseExisting",
            None,
        ),
        // No rule allows `workflow terminate`.
        (
            "temporal workflow signal-with-start -w wf-3 --signal-name go --type T -t q --id-conflict-policy TerminateExisting",
            Some("tgate:terminates-existing"),
        ),
        (
            "temporal workflow start -w wf-3 --type T -t q --id-reuse-policy TerminateIfRunning",
            Some("tgate:terminates-existing"),
        ),
        (
            "temporal workflow start -w wf-3 --type T -t q --id-conflict-policy UseExisting",
            None,
        ),
    ] {
        let ev = s.evaluate(&cmd(argv), &agent, false);
        match want {
            Some(rule) => assert_eq!(
                (ev.decision, ev.rules.clone()),
                (Decision::Deny, vec![rule.to_owned()]),
                "{argv:?}: {}",
                ev.reason
            ),
            None => assert_eq!(ev.decision, Decision::Allow, "{argv:?}: {}", ev.reason),
        }
    }
    let ev = s.evaluate(
        &cmd(
            "temporal workflow start -w wf-3 --type T -t q --id-conflict-policy TerminateExisting",
        ),
        &agent,
        false,
    );
    assert_eq!(
        ev.reason,
        "`workflow start` with `-w wf-3` and `--id-conflict-policy TerminateExisting` terminates the workflow `wf-3` when it is running, and `workflow terminate -w wf-3` is denied here (tgate:no-rule: no rule allows `temporal workflow terminate` in namespace `default`)"
    );
}

/// A Nexus operation on one of Temporal's own endpoints (`__temporal_system`: the workflow
/// service's own operations, a signal-with-start among them, whose targets are in the input) is
/// denied, whatever allows Nexus operations (QA); a user's endpoint is judged by the rules.
#[test]
fn nexus_operations_on_temporals_own_endpoints_are_denied() {
    let s = set(
        "  - {id: all, decision: allow, reason: r, when: {classes: [read, write, destructive, admin]}}\n",
    );
    let agent = Caller::new("agent");
    for verb in ["start", "execute"] {
        for endpoint in ["__temporal_system", "__anything"] {
            let line = format!(
                "temporal nexus operation {verb} --endpoint {endpoint} --service temporal.api.workflowservice.v1.WorkflowService --operation SignalWithStartWorkflowExecution --operation-id op-1 -i '{{\"workflowId\":\"temporal-sys-scheduler:x\"}}'"
            );
            let ev = s.evaluate(&cmd(&line), &agent, false);
            assert_eq!(
                (ev.decision, ev.rules.clone()),
                (Decision::Deny, vec!["tgate:system-endpoint".to_owned()]),
                "{line}: {}",
                ev.reason
            );
            assert_eq!(
                ev.reason,
                format!(
                    "Nexus endpoint `{endpoint}` is one of Temporal's own: its operations act on workflows beyond what tgate can check"
                )
            );
        }
        let line = format!(
            "temporal nexus operation {verb} --endpoint payments --service s --operation o --operation-id op-1"
        );
        let ev = s.evaluate(&cmd(&line), &agent, false);
        assert_eq!(ev.decision, Decision::Allow, "{line}: {}", ev.reason);
    }
}

/// A start or schedule that marks its workflow with `TemporalNamespaceDivision` would pass for
/// one of Temporal's own (re-check QA: one marked `TemporalBatcher` took the namespace's batch
/// slot, and the next batch was refused); a Nexus endpoint targeting one of Temporal's task
/// queues would hand it requests.
#[test]
fn writes_marking_temporals_division_or_targeting_its_queues_are_denied() {
    let s = set(
        "  - {id: all, decision: allow, reason: r, when: {classes: [read, write, destructive, admin]}}\n",
    );
    let agent = Caller::new("agent");
    for argv in [
        "temporal workflow start --type T -t q -w job-3 --search-attribute TemporalNamespaceDivision=\"TemporalBatcher\"",
        "temporal workflow start --type T -t q -w job-3 --search-attribute Env=\"prod\" --search-attribute temporalNamespaceDivision=\"x\"",
        "temporal schedule create -s s --type T -t q -w x --interval 1h --schedule-search-attribute TemporalNamespaceDivision=\"TemporalScheduler\"",
        "temporal operator nexus endpoint create --name e --target-namespace default --target-task-queue temporal-sys-per-ns-tq",
    ] {
        let ev = s.evaluate(&cmd(argv), &agent, false);
        assert_eq!(
            (ev.decision, ev.rules.clone()),
            (Decision::Deny, vec!["tgate:internal-workflow".to_owned()]),
            "{argv:?}: {}",
            ev.reason
        );
    }
    let ev = s.evaluate(
        &cmd("temporal workflow start --type T -t q -w x --search-attribute Env=\"prod\""),
        &agent,
        false,
    );
    assert_eq!(ev.decision, Decision::Allow, "{}", ev.reason);
}

/// A Nexus operation's start that terminates the operation running under its id is judged as
/// that `nexus operation terminate` too (review).
#[test]
fn a_nexus_start_that_terminates_is_judged_as_the_terminate() {
    let s = set(concat!(
        "  - {id: starts, decision: allow, reason: r, when: {commands: [nexus operation start]}}\n",
        "  - {id: ends, decision: require_approval, reason: two people, when: {commands: [nexus operation terminate]}}\n",
    ));
    let agent = Caller::new("agent");
    let start = "temporal nexus operation start --endpoint e --service s --operation o --operation-id op1 --schedule-to-close-timeout 1m";
    let ev = s.evaluate(&cmd(start), &agent, false);
    assert_eq!(ev.decision, Decision::Allow, "{}", ev.reason);
    let ev = s.evaluate(
        &cmd(&format!("{start} --id-conflict-policy TerminateExisting")),
        &agent,
        false,
    );
    assert_eq!(
        (ev.decision, ev.rules.clone()),
        (Decision::Deny, vec!["tgate:terminates-existing".to_owned()]),
        "{}",
        ev.reason
    );
    assert!(
        ev.reason.contains(
            "`nexus operation terminate --operation-id op1` needs approval here (ends: two people)"
        ),
        "{}",
        ev.reason
    );
}

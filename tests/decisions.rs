//! Golden decisions: `tests/data/decisions.yaml` lists (policy, command line, caller, expected
//! decision, deciding rule ids), evasion attempts included. Every case must decide exactly so.
//! A case may give the caller's justification and check the gates the evaluation hands on (the
//! approvals needed and the rules whose rate limits apply).

use serde::Deserialize;
use tgate::policy::{Caller, Context, Decision, Policy, PolicySet};

#[derive(Deserialize)]
struct Group {
    policy: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    line: String,
    #[serde(default)]
    caller: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    expect: String,
    rules: Vec<String>,
    #[serde(default)]
    justification: Option<String>,
    /// Approvals needed (checked when given).
    #[serde(default)]
    approvals: Option<u32>,
    /// Ids of the rules whose rate limits apply (checked when given).
    #[serde(default)]
    rates: Option<Vec<String>>,
}

fn load(name: &str) -> PolicySet {
    let ctx = Context::default();
    let policy = if name == "builtin" {
        Policy::builtin(&ctx).unwrap()
    } else {
        let path = format!("{}/policies/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("policy file");
        Policy::load(&text, &path, &ctx).unwrap_or_else(|e| panic!("{e}"))
    };
    PolicySet::new(vec![policy])
}

#[test]
fn golden_decisions() {
    let groups: Vec<Group> =
        serde_yaml::from_str(include_str!("data/decisions.yaml")).expect("decisions.yaml");
    let mut total = 0;
    let mut failures = Vec::new();
    for g in &groups {
        let set = load(&g.policy);
        for c in &g.cases {
            total += 1;
            let caller = Caller {
                id: c.caller.clone().unwrap_or_else(|| "agent".to_owned()),
                groups: c.groups.clone(),
            };
            let ev = set.check_line_justified(
                &c.line,
                &caller,
                c.justification.as_deref(),
                &Context::default().default_namespace,
            );
            let mut got_rules = ev.rules.clone();
            got_rules.sort();
            let mut want_rules = c.rules.clone();
            want_rules.sort();
            if ev.decision.as_str() != c.expect || got_rules != want_rules {
                failures.push(format!(
                    "[{}] `{}`: expected {} {:?}, got {} {:?} ({})",
                    g.policy, c.line, c.expect, want_rules, ev.decision, got_rules, ev.reason
                ));
            }
            let approvals = ev.requires.approval.as_ref().map(|a| a.approvals);
            if c.approvals.is_some() && approvals != c.approvals {
                failures.push(format!(
                    "[{}] `{}`: expected {:?} approvals, got {approvals:?}",
                    g.policy, c.line, c.approvals
                ));
            }
            let rates: Vec<String> = ev.requires.rates.iter().map(|r| r.rule.clone()).collect();
            if let Some(want) = &c.rates
                && *want != rates
            {
                failures.push(format!(
                    "[{}] `{}`: expected rate limits of {want:?}, got {rates:?}",
                    g.policy, c.line
                ));
            }
        }
    }
    assert!(total >= 150, "only {total} cases");
    assert!(
        failures.is_empty(),
        "{} of {total} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn decisions_are_ordered_strictest_last() {
    assert!(Decision::Allow < Decision::RequireApproval);
    assert!(Decision::RequireApproval < Decision::Deny);
    assert_eq!(
        [Decision::Allow, Decision::Deny, Decision::RequireApproval]
            .into_iter()
            .max(),
        Some(Decision::Deny)
    );
}

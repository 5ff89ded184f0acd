//! Golden decisions: `tests/data/decisions.yaml` lists (policy, command line, caller, expected
//! decision, deciding rule ids), evasion attempts included. Every case must decide exactly so.

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
}

fn load(name: &str) -> PolicySet {
    let ctx = Context::default();
    let policy = if name == "builtin" {
        Policy::builtin(&ctx)
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
            let ev = set.check_line(&c.line, &caller);
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

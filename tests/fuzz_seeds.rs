//! The fuzz targets' bodies (`tgate::fuzz`) over the seeds `make fuzz` starts from: the parser
//! corpora, and each shipped policy with command lines of every decision. Keeps the targets
//! compiling with the library and their properties holding on known inputs; `make fuzz` explores
//! from here.

fn lines(file: &str) -> Vec<String> {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').next().unwrap().to_owned())
        .collect()
}

#[test]
fn lex_parse_holds_on_the_parser_corpora() {
    let mut seeds = lines("differential.txt");
    seeds.extend(lines("golden.txt"));
    assert!(seeds.len() > 700, "{} seeds", seeds.len());
    for line in &seeds {
        let text = line.strip_prefix("temporal ").unwrap_or(line);
        tgate::fuzz::lex_parse(text.as_bytes());
        // The argv form: words separated by NUL.
        if let Some(words) = shlex::split(text) {
            tgate::fuzz::lex_parse(words.join("\0").as_bytes());
        }
    }
}

#[test]
fn policy_holds_on_the_shipped_policies() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let mut policies = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        policies += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        for line in [
            "temporal workflow list -n payments",
            "temporal workflow list -n payments --limit 5000",
            "temporal workflow terminate -w a --reason INC-1 -n payments",
            "temporal workflow terminate -q 'WorkflowType=\"P\"' --yes -n payments",
            "temporal workflow signal -w a --name retry -n payments",
            "temporal workflow list; rm -rf ~",
            "temporal server start-dev",
        ] {
            tgate::fuzz::policy(format!("{text}\0{line}").as_bytes());
        }
        // A text cut short (its YAML broken, most likely) loads or falls back to the built-in
        // policy.
        let half: Vec<&str> = text.lines().take(text.lines().count() / 2).collect();
        tgate::fuzz::policy(format!("{}\0temporal workflow list", half.join("\n")).as_bytes());
    }
    assert!(policies >= 4, "{policies} policies");
}

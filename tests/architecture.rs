//! The layering holds: imports run one way, main → cli → app → http → graphql → service → context
//! → domain. Read from the source text, so a new `use` against the grain fails here, in review's
//! place, before the loop it starts grows.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The layers from the top; a module may name only modules of its own layer or below. Modules
/// not listed (`config`, `clock`, `db`, `error`, `storage`, `pagination`, `auth`, `notify`) are
/// the floor every layer stands on, and may not name any listed layer above `domain`.
const LAYERS: [&str; 9] = [
    "main", "cli", "seed", "app", "http", "graphql", "service", "context", "domain",
];

fn rank(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|layer| *layer == module)
        .unwrap_or(LAYERS.len())
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The crate modules a file names in code (`crate::x` and `bridgefund::x`), comments left out.
fn named_modules(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        for prefix in ["crate::", "bridgefund::"] {
            for (at, _) in code.match_indices(prefix) {
                let rest = &code[at + prefix.len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    names.insert(name);
                }
            }
        }
    }
    names
}

#[test]
fn imports_run_one_way() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut against_the_grain = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&root).unwrap();
        let module = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        for named in named_modules(&text) {
            let named_layer = LAYERS.contains(&named.as_str());
            let upward = if named == module {
                false
            } else if LAYERS.contains(&module.as_str()) {
                named_layer && rank(&named) < rank(&module)
            } else {
                // The floor may name only the domain and other floor modules.
                named_layer && named != "domain"
            };
            if upward {
                against_the_grain.push(format!("{} names {named}", relative.display()));
            }
        }
    }
    assert!(
        against_the_grain.is_empty(),
        "imports against the layering:\n{}",
        against_the_grain.join("\n")
    );
}

#[test]
fn the_domain_names_nothing_outside_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domain");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(!files.is_empty());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let outside: Vec<String> = named_modules(&text)
            .into_iter()
            .filter(|m| m != "domain")
            .collect();
        assert!(outside.is_empty(), "{} names {outside:?}", file.display());
    }
}

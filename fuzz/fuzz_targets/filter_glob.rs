//! Filters (`thv_model::filter`): name globs and case-insensitive values, decided as `docs/filters.md` says.
//!
//! The input is text, one item a line: `+n:GLOB` / `-n:GLOB` include or exclude a name glob, and the same with
//! `t` (tags), `r` (tiers), `p` (transports) and `c` (categories); `N:NAME` is a server name to decide on;
//! `T:`, `R:`, `P:` and `C:` give that server's tags, tier, transports and categories. Each decision is compared
//! with the documented semantics evaluated independently: globs by the `wildmatch` crate (`*` any run, `?` one
//! character; a glob without `/` also tried on the short name), values compared lower-cased character by
//! character, exclude winning over include, every non-empty include list needed. A filter and its normal form
//! must decide alike and have one digest.
#![no_main]

use libfuzzer_sys::fuzz_target;
use thv_model::filter::{Criteria, CriterionKind, Decision, Filter, ServerFacts, short_name};
use wildmatch::WildMatch;

fn list(criteria: &mut Criteria, kind: u8) -> Option<&mut Vec<String>> {
    Some(match kind {
        b'n' => &mut criteria.names,
        b't' => &mut criteria.tags,
        b'r' => &mut criteria.tiers,
        b'p' => &mut criteria.transports,
        b'c' => &mut criteria.categories,
        _ => return None,
    })
}

fn fold(s: &str) -> String {
    s.chars().flat_map(char::to_lowercase).collect()
}

/// Whether one value of `kind` matches the facts, by the documented rule.
fn matches(kind: CriterionKind, value: &str, facts: &ServerFacts<'_>) -> bool {
    let any = |candidates: &[&str]| candidates.iter().any(|c| fold(c) == fold(value));
    match kind {
        CriterionKind::Names => {
            let glob = WildMatch::new(value);
            glob.matches(facts.name) || (!value.contains('/') && facts.short_name.is_some_and(|s| glob.matches(s)))
        }
        CriterionKind::Tags => any(&facts.tags),
        CriterionKind::Tiers => any(facts.tier.as_slice()),
        CriterionKind::Transports => any(&facts.transports),
        CriterionKind::Categories => any(&facts.categories),
    }
}

fn expected_keep(filter: &Filter, facts: &ServerFacts<'_>) -> bool {
    let hit = |criteria: &Criteria, kind| criteria.values(kind).iter().any(|v| matches(kind, v, facts));
    let excluded = CriterionKind::ALL.into_iter().any(|kind| hit(&filter.exclude, kind));
    let included =
        CriterionKind::ALL.into_iter().all(|kind| filter.include.values(kind).is_empty() || hit(&filter.include, kind));
    !excluded && included
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut filter = Filter::default();
    let (mut names, mut tags, mut tier, mut transports, mut categories) =
        (Vec::new(), Vec::new(), None, Vec::new(), Vec::new());
    for line in text.lines() {
        let bytes = line.as_bytes();
        match bytes {
            [sign @ (b'+' | b'-'), kind, b':', ..] => {
                let side = if *sign == b'+' { &mut filter.include } else { &mut filter.exclude };
                if let Some(values) = list(side, *kind) {
                    values.push(line[3..].to_owned());
                }
            }
            [b'N', b':', ..] => names.push(&line[2..]),
            [b'T', b':', ..] => tags.push(&line[2..]),
            [b'R', b':', ..] => tier = Some(&line[2..]),
            [b'P', b':', ..] => transports.push(&line[2..]),
            [b'C', b':', ..] => categories.push(&line[2..]),
            _ => {}
        }
    }
    let compiled = filter.compile();
    let normal = filter.normalized();
    let normal_compiled = normal.compile();
    assert_eq!(filter.digest(), normal.digest(), "a filter and its normal form have different digests");
    let _ = filter.validate();
    for name in names {
        let facts = ServerFacts {
            name,
            short_name: short_name(name),
            tier,
            tags: tags.clone(),
            categories: categories.clone(),
            transports: transports.clone(),
        };
        let decision = compiled.decide_facts(&facts);
        assert_eq!(decision.is_keep(), expected_keep(&filter, &facts), "{name:?}: {decision:?} by {filter:?}");
        if let Decision::Excluded { kind, value } = decision {
            assert!(filter.exclude.values(kind).iter().any(|v| v == value), "{value:?} is not an exclude value");
        }
        assert_eq!(
            normal_compiled.decide_facts(&facts).is_keep(),
            decision.is_keep(),
            "{name:?}: the normal form decides otherwise"
        );
    }
});

//! Server names across registries: the ToolHive short name, which registry wins a name, and how a name a
//! person typed is resolved. One rule for the CLI (`thv show`, `thv search`) and the API (the aggregate
//! `/v0.1` view, `/api/v1/servers/{name}`); see `docs/names.md`.

use std::collections::HashSet;

/// The short name: the part after the single `/` of a full name (`io.github.stacklok/fetch` → `fetch`);
/// `None` when the name has no `/` or several (ToolHive's rule).
pub fn short_name(full: &str) -> Option<&str> {
    let (_, short) = full.split_once('/')?;
    (!short.contains('/')).then_some(short)
}

/// Merges catalogs given in priority order (the configuration's order of registries): the first catalog
/// that has a name wins every version of it, and later catalogs' versions of that name are left out,
/// deleted versions included in the claim. Items keep their catalog's order.
pub fn first_registry_wins<T, C>(catalogs: impl IntoIterator<Item = C>, name: impl Fn(&T) -> &str) -> Vec<T>
where
    C: IntoIterator<Item = T>,
{
    let mut claimed: HashSet<String> = HashSet::new();
    let mut merged = Vec::new();
    for catalog in catalogs {
        let mut mine: HashSet<String> = HashSet::new();
        for item in catalog {
            let item_name = name(&item);
            if claimed.contains(item_name) {
                continue;
            }
            if !mine.contains(item_name) {
                mine.insert(item_name.to_owned());
            }
            merged.push(item);
        }
        claimed.extend(mine);
    }
    merged
}

/// A name that resolves to no server, or to several.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// No full name is the query, and no server has it as its short name.
    #[error("no server named {0:?}")]
    NotFound(String),
    /// Several servers have the query as their short name.
    #[error("{query:?} is the short name of several servers ({}); use a full name", .candidates.join(", "))]
    Ambiguous {
        /// What was asked for.
        query: String,
        /// The full names it could mean, sorted.
        candidates: Vec<String>,
    },
}

/// Resolves `query` among the full names `names` (any order, repeats allowed): the name itself when it is
/// one of them, else the one name whose [`short_name`] is `query`.
pub fn resolve<'a>(names: impl IntoIterator<Item = &'a str>, query: &str) -> Result<&'a str, NameError> {
    let mut candidates: Vec<&'a str> = Vec::new();
    for name in names {
        if name == query {
            return Ok(name);
        }
        if short_name(name) == Some(query) {
            candidates.push(name);
        }
    }
    candidates.sort_unstable();
    candidates.dedup();
    match candidates.as_slice() {
        [one] => Ok(one),
        [] => Err(NameError::NotFound(query.to_owned())),
        many => Err(NameError::Ambiguous {
            query: query.to_owned(),
            candidates: many.iter().map(|n| (*n).to_owned()).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_follow_toolhive() {
        let cases = [
            ("io.github.stacklok/fetch", Some("fetch")),
            ("fetch", None),
            ("a/b/c", None),
            ("a/", Some("")),
            ("", None),
        ];
        for (full, want) in cases {
            assert_eq!(short_name(full), want, "{full:?}");
        }
    }

    #[test]
    fn the_first_catalog_wins_every_version_of_a_name() {
        let first = vec![("shared", "1"), ("mine", "1"), ("shared", "2")];
        let second = vec![("shared", "3"), ("other", "1"), ("other", "2")];
        let third = vec![("other", "3"), ("mine", "9"), ("last", "1")];
        let merged = first_registry_wins([first, second, third], |(name, _)| name);
        assert_eq!(
            merged,
            [("shared", "1"), ("mine", "1"), ("shared", "2"), ("other", "1"), ("other", "2"), ("last", "1")]
        );
        assert!(first_registry_wins(Vec::<Vec<(&str, &str)>>::new(), |(n, _)| n).is_empty());
    }

    #[test]
    fn a_full_name_wins_over_a_short_one() {
        let names = ["io.github.a/fetch", "fetch", "io.github.b/notes"];
        assert_eq!(resolve(names, "fetch"), Ok("fetch"), "a name that is the query itself");
        assert_eq!(resolve(names, "io.github.b/notes"), Ok("io.github.b/notes"));
        assert_eq!(resolve(names, "notes"), Ok("io.github.b/notes"));
    }

    #[test]
    fn short_names_must_be_unique_and_exactly_one_level_deep() {
        let names = ["io.github.a/fetch", "io.github.b/fetch", "io.github.a/fetch", "a/b/deep", "x/notes"];
        assert_eq!(
            resolve(names, "fetch"),
            Err(NameError::Ambiguous {
                query: "fetch".into(),
                candidates: vec!["io.github.a/fetch".into(), "io.github.b/fetch".into()],
            })
        );
        assert_eq!(resolve(names, "deep"), Err(NameError::NotFound("deep".into())), "a/b/deep has no short name");
        assert_eq!(resolve(names, "b/deep"), Err(NameError::NotFound("b/deep".into())), "not a suffix match");
        assert_eq!(resolve(["x/notes", "x/notes"], "notes"), Ok("x/notes"), "versions of one name count once");
        let err = resolve(names, "fetch").expect_err("ambiguous").to_string();
        assert_eq!(
            err,
            "\"fetch\" is the short name of several servers (io.github.a/fetch, io.github.b/fetch); use a full name"
        );
    }
}

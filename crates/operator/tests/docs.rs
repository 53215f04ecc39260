//! docs/operator.md: its reference part is the one rendered from the CRD schema and the condition enums, and it
//! names every annotation, label and reason the operator uses.

use std::path::PathBuf;

const BEGIN: &str = "<!-- BEGIN GENERATED REFERENCE -->\n";
const END: &str = "<!-- END GENERATED REFERENCE -->";

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/operator.md")
}

#[test]
fn the_reference_is_current() {
    let path = doc_path();
    let text = std::fs::read_to_string(&path).expect("docs/operator.md");
    let start = text.find(BEGIN).expect("begin marker") + BEGIN.len();
    let end = text.find(END).expect("end marker");
    let generated = thv_operator::reference::markdown();
    if std::env::var("THV_UPDATE_DOCS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, format!("{}{generated}{}", &text[..start], &text[end..])).expect("write");
        return;
    }
    assert!(
        text[start..end] == generated,
        "docs/operator.md's reference differs from the generated one; regenerate it with\n    \
         THV_UPDATE_DOCS=1 cargo test -p thv-operator --test docs"
    );
}

const JOBS_BEGIN: &str = "<!-- BEGIN GENERATED JOB REFERENCE -->\n";
const JOBS_END: &str = "<!-- END GENERATED JOB REFERENCE -->";

#[test]
fn the_job_reference_is_current_and_names_every_reason() {
    let path = doc_path();
    let text = std::fs::read_to_string(&path).expect("docs/operator.md");
    let start = text.find(JOBS_BEGIN).expect("begin marker") + JOBS_BEGIN.len();
    let end = text.find(JOBS_END).expect("end marker");
    let generated = thv_operator::reference::jobs_markdown();
    if std::env::var("THV_UPDATE_DOCS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, format!("{}{generated}{}", &text[..start], &text[end..])).expect("write");
        return;
    }
    assert!(
        text[start..end] == generated,
        "docs/operator.md's job reference differs from the generated one; regenerate it with\n    \
         THV_UPDATE_DOCS=1 cargo test -p thv-operator --test docs"
    );
    for reason in thv_operator::jobs::JobReason::ALL {
        assert!(generated.contains(&format!("| `{}` |", reason.as_str())), "{reason:?}");
    }
    for field in [
        "`spec.backoffLimit`",
        "`spec.ttlSecondsAfterFinished`",
        "`status.registries[].previousRevision`",
        "`status.export.digest`",
    ] {
        assert!(generated.contains(field), "{field}");
    }
}

#[test]
fn the_reference_covers_every_field_rule_and_reason() {
    let reference = thv_operator::reference::markdown();
    for field in [
        "`spec.source.git.authSecret.passwordKey`",
        "`spec.syncPolicy.retry.backoffInterval`",
        "`status.lastHandledSyncTrigger`",
    ] {
        assert!(reference.contains(field), "{field}");
    }
    for reason in thv_operator::conditions::Reason::ALL {
        assert!(reference.contains(&format!("| `{}` |", reason.as_str())), "{reason:?}");
    }
    assert!(reference.contains("syncPolicy.interval must be between 30s and 720h"));
}

#[test]
fn the_prose_names_the_annotation_and_labels() {
    let text = std::fs::read_to_string(doc_path()).expect("docs/operator.md");
    use thv_operator::labels::*;
    for name in [
        SYNC_TRIGGER_ANNOTATION,
        APP_NAME,
        MANAGED_BY,
        COMPONENT_API,
        COMPONENT_STORAGE,
        COMPONENT_OPERATOR,
        REGISTRY_LABEL,
    ] {
        assert!(text.contains(name), "{name}");
    }
    assert!(text.contains(&storage_config_map_name("<name>")) && text.contains(&api_endpoint("<name>", "<namespace>")));
}

#[test]
fn the_mcpserver_section_names_every_label_manager_and_reason() {
    let text = std::fs::read_to_string(doc_path()).expect("docs/operator.md");
    use thv_operator::mcpserver::*;
    for name in [
        REGISTRY_NAME_LABEL,
        REGISTRY_NAMESPACE_LABEL,
        SERVER_NAME_LABEL,
        TIER_LABEL,
        CATEGORY_LABEL,
        ENTRY_DIGEST_ANNOTATION,
        FIELD_MANAGER,
        USER_FIELD_MANAGER,
        thv_operator::controller::mcpservers::RECREATE_FIELD_MANAGER,
    ] {
        assert!(text.contains(&format!("`{name}`")), "{name}");
    }
    for reason in ServerReason::ALL {
        assert!(text.contains(&format!("| `{}` |", reason.as_str())), "{reason:?}");
    }
}

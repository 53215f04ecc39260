//! The sync pipeline and its scheduler (being built).

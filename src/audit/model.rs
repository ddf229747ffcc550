//! The audit chain's hashing rule. Pure; the database checks linkage, this computes the hashes.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// One entry as hashed. `details` is canonical JSON (sorted keys, no spaces): the exact stored text.
#[derive(Debug, Clone)]
pub struct EntryData<'a> {
    pub seq: i64,
    pub recorded_at: OffsetDateTime,
    pub actor_id: Option<i64>,
    pub actor_label: &'a str,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Option<&'a str>,
    pub details: &'a str,
}

/// SHA-256 over the previous hash and every field, each length-prefixed so that no two different
/// entries serialise alike.
pub fn entry_hash(prev_hash: &[u8], e: &EntryData<'_>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"ordo-audit-v1\n");
    h.update(prev_hash);
    let micros = e.recorded_at.unix_timestamp_nanos() / 1_000;
    let fields: [String; 8] = [
        e.seq.to_string(),
        micros.to_string(),
        e.actor_id.map(|v| v.to_string()).unwrap_or_default(),
        e.actor_label.to_string(),
        e.action.to_string(),
        e.entity.to_string(),
        e.entity_id.map(str::to_string).unwrap_or_else(|| "\u{0}".into()),
        e.details.to_string(),
    ];
    for f in &fields {
        h.update((f.len() as u64).to_be_bytes());
        h.update(f.as_bytes());
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(details: &str) -> EntryData<'_> {
        EntryData {
            seq: 1,
            recorded_at: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
            actor_id: Some(7),
            actor_label: "mario@example.org",
            action: "user.create",
            entity: "user",
            entity_id: Some("7"),
            details,
        }
    }

    #[test]
    fn any_change_changes_the_hash() {
        let zero = [0u8; 32];
        let a = entry_hash(&zero, &entry("{}"));
        assert_eq!(a, entry_hash(&zero, &entry("{}")));
        assert_ne!(a, entry_hash(&zero, &entry("{\"a\":1}")));
        assert_ne!(a, entry_hash(&[1u8; 32], &entry("{}")));
        let mut e = entry("{}");
        e.entity_id = None;
        assert_ne!(a, entry_hash(&zero, &e));
        let mut e = entry("{}");
        e.recorded_at += time::Duration::microseconds(1);
        assert_ne!(a, entry_hash(&zero, &e));
    }
}

-- A registration in one statement. The counter row (protocol_counters) and the audit chain's head are
-- the two rows every registration locks, and a row lock is held until COMMIT; taking them in the
-- middle of a transaction that still has documents and an audit entry to write made every other
-- writer wait through those round trips. protocol_register() writes the registration, its documents
-- and its audit entry in one call, so the locks are taken by the last statement before COMMIT (or by
-- the only one, in autocommit). Numbering is unchanged: the trigger protocol_assign_number still
-- assigns year and number in the inserting transaction.

-- The audit chain's hashing rule (src/audit/model.rs, entry_hash) in SQL, byte for byte: SHA-256 over
-- a tag, the previous hash and each field, length-prefixed (8 bytes, big-endian); a missing entity_id
-- is the one byte 0x00. The two are tested against each other (tests/app/audit.rs). STABLE, not
-- IMMUTABLE: convert_to and extract are stable, and only then are these inlined rather than planned at
-- every call (a tenfold difference).
CREATE FUNCTION audit_field(t text) RETURNS bytea LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
    SELECT int8send(octet_length(convert_to(t, 'UTF8'))::bigint) || convert_to(t, 'UTF8')
$$;

CREATE FUNCTION audit_entry_hash(prev_hash bytea, seq bigint, recorded_at timestamptz, actor_id bigint,
                                 actor_label text, action text, entity text, entity_id text,
                                 details text)
RETURNS bytea LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT sha256(convert_to(E'ordo-audit-v1\n', 'UTF8') || prev_hash
                  || audit_field(seq::text)
                  || audit_field((extract(epoch FROM recorded_at) * 1000000)::bigint::text)
                  || audit_field(coalesce(actor_id::text, ''))
                  || audit_field(actor_label)
                  || audit_field(action)
                  || audit_field(entity)
                  || coalesce(audit_field(entity_id), int8send(1) || decode('00', 'hex'))
                  || audit_field(details))
$$;

-- The documents' link to their registration may be checked later in the transaction, so that
-- protocol_register can write them before the registration and take the counter row as late as it
-- can. Everyone else still has it checked at once (INITIALLY IMMEDIATE).
ALTER TABLE protocol_documents ALTER CONSTRAINT protocol_documents_registration_id_fkey
    DEFERRABLE INITIALLY IMMEDIATE;

-- Registers an item with its documents and, when p_audit, its audit entry ('protocol.register', the
-- details given, a JSON object as compact text, with "registration_id" appended as its last key, as
-- Pending::finish writes it in Rust; entity_id is the key YYYY/NNNNNNN). Documents are either bytes
-- (p_doc_contents) or a kept message attachment (p_doc_attachments), one of the two per position.
-- Order: the id, the documents, the chain's head, then the registration (which locks the counter) and
-- the audit entry. Every transaction that both audits and registers takes the head before the counter
-- (a pratica audits its submission before protocolling it; protocol::service::begin locks the head
-- first too), so two registrations never wait for each other's lock in opposite orders.
CREATE FUNCTION protocol_register(
    p_aoo text, p_register text, p_at timestamptz, p_direction text,
    p_correspondent_name text, p_correspondent_cf text, p_correspondent_email text,
    p_subject text, p_attachments_description text, p_classification text,
    p_dossier_id bigint, p_request_id bigint, p_source text, p_registered_by bigint,
    p_doc_names text[], p_doc_types text[], p_doc_sizes integer[], p_doc_sha256 bytea[],
    p_doc_contents bytea[], p_doc_attachments bigint[],
    p_audit boolean, p_actor_id bigint, p_actor_label text, p_details text,
    OUT id bigint, OUT year integer, OUT number integer)
LANGUAGE plpgsql AS $$
DECLARE
    head audit_chain_head%ROWTYPE;
    entry_key text;
    details text;
BEGIN
    id := nextval(pg_get_serial_sequence('protocol_registrations', 'id'));

    SET CONSTRAINTS protocol_documents_registration_id_fkey DEFERRED;
    INSERT INTO protocol_documents (registration_id, position, file_name, content_type, size_bytes,
        sha256, content, attachment_id)
    SELECT protocol_register.id, d.position, d.name, d.type, d.size, d.sha, d.content, d.attachment
    FROM unnest(p_doc_names, p_doc_types, p_doc_sizes, p_doc_sha256, p_doc_contents, p_doc_attachments)
         WITH ORDINALITY AS d(name, type, size, sha, content, attachment, position);

    IF p_audit THEN
        SELECT * INTO head FROM audit_chain_head WHERE audit_chain_head.id FOR UPDATE;
    END IF;

    INSERT INTO protocol_registrations AS r (id, aoo, register, year, number, registered_at, direction,
        correspondent_name, correspondent_cf, correspondent_email, subject, attachments_description,
        classification, dossier_id, request_id, source, registered_by)
    OVERRIDING SYSTEM VALUE
    VALUES (id, p_aoo, p_register, 0, 0, p_at, p_direction, p_correspondent_name, p_correspondent_cf,
        p_correspondent_email, p_subject, p_attachments_description, p_classification, p_dossier_id,
        p_request_id, p_source, p_registered_by)
    RETURNING r.year, r.number INTO year, number;
    -- The documents' link is checked here, now that the registration exists.
    SET CONSTRAINTS protocol_documents_registration_id_fkey IMMEDIATE;

    IF p_audit THEN
        IF left(p_details, 1) <> '{' OR right(p_details, 1) <> '}' OR length(p_details) < 3 THEN
            RAISE EXCEPTION 'protocol_register: details must be a non-empty JSON object';
        END IF;
        entry_key := year || '/' || lpad(number::text, 7, '0');
        details := left(p_details, -1) || ',"registration_id":' || id || '}';
        INSERT INTO audit_log (seq, recorded_at, actor_id, actor_label, action, entity, entity_id,
            details, prev_hash, hash)
        VALUES (head.seq + 1, p_at, p_actor_id, p_actor_label, 'protocol.register', 'protocol',
            entry_key, details, head.hash,
            audit_entry_hash(head.hash, head.seq + 1, p_at, p_actor_id, p_actor_label,
                             'protocol.register', 'protocol', entry_key, details));
    END IF;
END;
$$;

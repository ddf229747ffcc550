-- Group commit for the protocol register. Registrations made on their own (back office, CLI) are
-- collected by ordo while the previous group is being written and written together, in one statement
-- and one transaction: protocol_register_many. Every registration serialises on the year's counter
-- row, which stays locked until COMMIT, so one registration per transaction pays a whole statement
-- and a whole commit for each number; a group pays them once. Numbering is unchanged: the trigger
-- protocol_assign_number gives each row its number, in the order of the group, and a group that fails
-- consumes no number (ordo then writes its registrations one by one, so that one bad registration
-- fails alone).

-- The counter row exists from a year's first registration on: update it, and insert it only when
-- missing. The upsert it replaces fired the counters' INSERT guard on every registration, since a
-- BEFORE INSERT trigger runs before the conflict is found. The guards are unchanged.
CREATE OR REPLACE FUNCTION protocol_assign_number() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.year := extract(year FROM NEW.registered_at AT TIME ZONE 'Europe/Rome')::integer;
    UPDATE protocol_counters AS c SET last_number = c.last_number + 1
    WHERE c.aoo = NEW.aoo AND c.register = NEW.register AND c.year = NEW.year
    RETURNING c.last_number INTO NEW.number;
    IF NOT FOUND THEN
        -- The year's first registration; two first registrations at once meet in ON CONFLICT.
        INSERT INTO protocol_counters AS c (aoo, register, year, last_number)
        VALUES (NEW.aoo, NEW.register, NEW.year, 1)
        ON CONFLICT (aoo, register, year) DO UPDATE SET last_number = c.last_number + 1
        RETURNING c.last_number INTO NEW.number;
    END IF;
    RETURN NEW;
END;
$$;

-- Registers n items (every p_ array but the documents' has one element per item, in order) with
-- their documents (p_doc_owner: the item, 1-based, of each document) and, for each item whose p_audit
-- is true, its audit entry, as protocol_register does for one. Returns one row per item: its position
-- in the arrays, id, year and number. Items are numbered in array order, so the caller orders them
-- by time. Locks: the audit chain's head first, then the counter (the order every path keeps).
CREATE FUNCTION protocol_register_many(
    p_aoo text, p_register text, p_at timestamptz[], p_direction text[],
    p_correspondent_name text[], p_correspondent_cf text[], p_correspondent_email text[],
    p_subject text[], p_attachments_description text[], p_classification text[],
    p_dossier_id bigint[], p_request_id bigint[], p_source text[], p_registered_by bigint[],
    p_doc_owner integer[], p_doc_names text[], p_doc_types text[], p_doc_sizes integer[],
    p_doc_sha256 bytea[], p_doc_contents bytea[], p_doc_attachments bigint[],
    p_audit boolean[], p_actor_id bigint[], p_actor_label text[], p_details text[])
RETURNS TABLE (item integer, id bigint, year integer, number integer)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    n integer := coalesce(cardinality(p_at), 0);
    ids bigint[];
    years integer[];
    numbers integer[];
    head audit_chain_head%ROWTYPE;
    e_seq bigint[] := '{}';
    e_at timestamptz[] := '{}';
    e_actor bigint[] := '{}';
    e_label text[] := '{}';
    e_key text[] := '{}';
    e_details text[] := '{}';
    e_prev bytea[] := '{}';
    e_hash bytea[] := '{}';
    entry_key text;
    details text;
    hash bytea;
BEGIN
    IF n = 0 THEN
        RETURN;
    END IF;
    IF cardinality(p_direction) <> n OR cardinality(p_correspondent_name) <> n
       OR cardinality(p_correspondent_cf) <> n OR cardinality(p_correspondent_email) <> n
       OR cardinality(p_subject) <> n OR cardinality(p_attachments_description) <> n
       OR cardinality(p_classification) <> n OR cardinality(p_dossier_id) <> n
       OR cardinality(p_request_id) <> n OR cardinality(p_source) <> n
       OR cardinality(p_registered_by) <> n OR cardinality(p_audit) <> n
       OR cardinality(p_actor_id) <> n OR cardinality(p_actor_label) <> n
       OR cardinality(p_details) <> n THEN
        RAISE EXCEPTION 'protocol_register_many: every item array must have % elements', n;
    END IF;
    FOR i IN 1 .. n LOOP
        IF p_audit[i] AND (left(p_details[i], 1) <> '{' OR right(p_details[i], 1) <> '}'
                           OR length(p_details[i]) < 3) THEN
            RAISE EXCEPTION 'protocol_register_many: details must be a non-empty JSON object';
        END IF;
    END LOOP;

    SELECT array_agg(nextval('protocol_registrations_id_seq'::regclass) ORDER BY g) INTO ids
    FROM generate_series(1, n) AS g;

    IF true = ANY (p_audit) THEN
        SELECT * INTO head FROM audit_chain_head WHERE audit_chain_head.id FOR UPDATE;
    END IF;

    WITH inserted AS (
        INSERT INTO protocol_registrations AS r (id, aoo, register, year, number, registered_at,
            direction, correspondent_name, correspondent_cf, correspondent_email, subject,
            attachments_description, classification, dossier_id, request_id, source, registered_by)
        OVERRIDING SYSTEM VALUE
        SELECT ids[g], p_aoo, p_register, 0, 0, p_at[g], p_direction[g], p_correspondent_name[g],
            p_correspondent_cf[g], p_correspondent_email[g], p_subject[g],
            p_attachments_description[g], p_classification[g], p_dossier_id[g], p_request_id[g],
            p_source[g], p_registered_by[g]
        FROM generate_series(1, n) AS g
        ORDER BY g
        RETURNING r.id, r.year, r.number)
    SELECT array_agg(inserted.year ORDER BY inserted.id), array_agg(inserted.number ORDER BY inserted.id)
    INTO years, numbers
    FROM inserted;

    INSERT INTO protocol_documents (registration_id, position, file_name, content_type, size_bytes,
        sha256, content, attachment_id)
    SELECT ids[d.owner], row_number() OVER (PARTITION BY d.owner ORDER BY d.o), d.name, d.type, d.size,
        d.sha, d.content, d.attachment
    FROM unnest(p_doc_owner, p_doc_names, p_doc_types, p_doc_sizes, p_doc_sha256, p_doc_contents,
                p_doc_attachments) WITH ORDINALITY AS d(owner, name, type, size, sha, content, attachment, o);

    IF head.id THEN
        -- Each entry continues the chain from the one before it (trigger audit_log_extend_chain
        -- checks every link and moves the head).
        FOR i IN 1 .. n LOOP
            CONTINUE WHEN NOT p_audit[i];
            entry_key := years[i] || '/' || lpad(numbers[i]::text, 7, '0');
            details := left(p_details[i], -1) || ',"registration_id":' || ids[i] || '}';
            hash := audit_entry_hash(head.hash, head.seq + 1, p_at[i], p_actor_id[i], p_actor_label[i],
                                     'protocol.register', 'protocol', entry_key, details);
            e_seq := e_seq || (head.seq + 1);
            e_at := e_at || p_at[i];
            e_actor := e_actor || p_actor_id[i];
            e_label := e_label || p_actor_label[i];
            e_key := e_key || entry_key;
            e_details := e_details || details;
            e_prev := e_prev || head.hash;
            e_hash := e_hash || hash;
            head.seq := head.seq + 1;
            head.hash := hash;
        END LOOP;
        INSERT INTO audit_log (seq, recorded_at, actor_id, actor_label, action, entity, entity_id,
            details, prev_hash, hash)
        SELECT e.seq, e.at, e.actor, e.label, 'protocol.register', 'protocol', e.key, e.details,
            e.prev, e.hash
        FROM unnest(e_seq, e_at, e_actor, e_label, e_key, e_details, e_prev, e_hash)
             AS e(seq, at, actor, label, key, details, prev, hash)
        ORDER BY e.seq;
    END IF;

    RETURN QUERY SELECT g, ids[g], years[g], numbers[g] FROM generate_series(1, n) AS g;
END;
$$;

-- The audit chain's head moves in one statement: the update finds the head only if the entry continues
-- it (same checks, same error, same lock as the SELECT … FOR UPDATE and UPDATE it replaces). A group
-- writes one entry per registration, so this runs once per registration.
CREATE OR REPLACE FUNCTION audit_log_extend_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head_seq bigint;
BEGIN
    UPDATE audit_chain_head SET seq = NEW.seq, hash = NEW.hash
    WHERE id AND seq = NEW.seq - 1 AND hash = NEW.prev_hash;
    IF NOT FOUND THEN
        SELECT seq INTO head_seq FROM audit_chain_head WHERE id;
        RAISE EXCEPTION 'audit_log entry % does not continue the chain (head %)', NEW.seq, head_seq
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;

-- The counter moves once per statement instead of once per registration. Until now the row trigger
-- protocol_assign_number ran an UPDATE of the counter row (and, nested, the counter guard) for every
-- registration: a group of eight paid eight statements, with their executor set-up and constraint
-- checks, inside the critical section every writer waits for. Now the registering functions lock the
-- counter row, give the numbers that follow it, and a statement trigger checks them and moves the
-- counter once. What the database guarantees does not change: a number exists only if its registration
-- committed, and the numbers of a year are 1, 2, 3… with no gap and no duplicate, whoever inserts:
--   * protocol_registrations_counted (after each INSERT statement) accepts the statement's numbers of a
--     year only if they are consecutive and continue the counter exactly (the first registration of a
--     year has number 1), and moves the counter to the last one; anything else is refused;
--   * the unique key (aoo, register, year, number) refuses a duplicate, including one written by a
--     concurrent transaction that did not lock the counter;
--   * the counter guards refuse any change to the counters but this trigger's (a counter only moves
--     forward, and only by registering).

-- Year from the registration's time (Europe/Rome), whatever the caller sent; the number is checked
-- by protocol_registrations_counted.
CREATE OR REPLACE FUNCTION protocol_assign_number() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.year := extract(year FROM NEW.registered_at AT TIME ZONE 'Europe/Rome')::integer;
    RETURN NEW;
END;
$$;

-- The last number given in a year, with the counter row locked until the end of the transaction (0
-- before the year's first registration: then a transaction-level advisory lock on the year stands in
-- for the row that does not exist yet, so that two first registrations of a year wait for each other
-- instead of both taking number 1).
CREATE FUNCTION protocol_last_number(p_aoo text, p_register text, p_year integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    last integer;
BEGIN
    SELECT c.last_number INTO last FROM protocol_counters AS c
    WHERE c.aoo = p_aoo AND c.register = p_register AND c.year = p_year FOR UPDATE;
    IF FOUND THEN
        RETURN last;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended(
        'protocol_counters/' || p_aoo || '/' || p_register || '/' || p_year, 0));
    -- A new statement, a new snapshot: the counter a concurrent first registration created is seen.
    SELECT c.last_number INTO last FROM protocol_counters AS c
    WHERE c.aoo = p_aoo AND c.register = p_register AND c.year = p_year FOR UPDATE;
    RETURN coalesce(last, 0);
END;
$$;

CREATE FUNCTION protocol_registrations_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    y record;
BEGIN
    FOR y IN SELECT a.aoo, a.register, a.year, min(a.number) AS lo, max(a.number) AS hi, count(*) AS n
             FROM added AS a GROUP BY a.aoo, a.register, a.year ORDER BY a.aoo, a.register, a.year LOOP
        IF y.hi - y.lo + 1 <> y.n THEN
            RAISE EXCEPTION 'protocol numbers % to % of % are not consecutive', y.lo, y.hi, y.year
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        UPDATE protocol_counters AS c SET last_number = y.hi
        WHERE c.aoo = y.aoo AND c.register = y.register AND c.year = y.year AND c.last_number = y.lo - 1;
        IF NOT FOUND THEN
            IF y.lo <> 1 OR EXISTS (SELECT FROM protocol_counters AS c
                                    WHERE c.aoo = y.aoo AND c.register = y.register AND c.year = y.year) THEN
                RAISE EXCEPTION 'protocol number % of % does not continue the register', y.lo, y.year
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            INSERT INTO protocol_counters (aoo, register, year, last_number)
            VALUES (y.aoo, y.register, y.year, y.hi);
        END IF;
    END LOOP;
    RETURN NULL;
END;
$$;
CREATE TRIGGER protocol_registrations_counted AFTER INSERT ON protocol_registrations
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION protocol_registrations_counted();

-- A counter only moves forward, and only through protocol_registrations_counted.
CREATE OR REPLACE FUNCTION protocol_counters_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR pg_trigger_depth() < 2 OR NEW.last_number <= OLD.last_number
       OR (NEW.aoo, NEW.register, NEW.year) IS DISTINCT FROM (OLD.aoo, OLD.register, OLD.year) THEN
        RAISE EXCEPTION 'protocol counters change only by registering: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE OR REPLACE FUNCTION protocol_counters_insert_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'protocol counters start only by registering' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;

-- protocol_register (migration 0016) with the number taken from the locked counter. Same order of
-- locks: the audit chain's head, then the counter.
CREATE OR REPLACE FUNCTION protocol_register(
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

    year := extract(year FROM p_at AT TIME ZONE 'Europe/Rome')::integer;
    number := protocol_last_number(p_aoo, p_register, year) + 1;
    INSERT INTO protocol_registrations AS r (id, aoo, register, year, number, registered_at, direction,
        correspondent_name, correspondent_cf, correspondent_email, subject, attachments_description,
        classification, dossier_id, request_id, source, registered_by)
    OVERRIDING SYSTEM VALUE
    VALUES (id, p_aoo, p_register, year, number, p_at, p_direction, p_correspondent_name,
        p_correspondent_cf, p_correspondent_email, p_subject, p_attachments_description,
        p_classification, p_dossier_id, p_request_id, p_source, p_registered_by)
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

-- protocol_register_many (migration 0017) with the numbers taken from the locked counter: each item
-- gets the next number of its year, in array order. Same order of locks: the audit chain's head, then
-- the counters (a group can span New Year's Eve: years in ascending order).
CREATE OR REPLACE FUNCTION protocol_register_many(
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
    y integer;
    ys integer[] := '{}';
    lasts integer[] := '{}';
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

    SELECT array_agg(extract(year FROM t.at AT TIME ZONE 'Europe/Rome')::integer ORDER BY t.g) INTO years
    FROM unnest(p_at) WITH ORDINALITY AS t(at, g);
    FOR y IN SELECT DISTINCT u FROM unnest(years) AS u ORDER BY u LOOP
        ys := ys || y;
        lasts := lasts || protocol_last_number(p_aoo, p_register, y);
    END LOOP;
    SELECT array_agg(s.num ORDER BY s.g) INTO numbers
    FROM (SELECT g, (lasts[array_position(ys, years[g])]
                     + row_number() OVER (PARTITION BY years[g] ORDER BY g))::integer AS num
          FROM generate_series(1, n) AS g) AS s;

    WITH inserted AS (
        INSERT INTO protocol_registrations AS r (id, aoo, register, year, number, registered_at,
            direction, correspondent_name, correspondent_cf, correspondent_email, subject,
            attachments_description, classification, dossier_id, request_id, source, registered_by)
        OVERRIDING SYSTEM VALUE
        SELECT ids[g], p_aoo, p_register, years[g], numbers[g], p_at[g], p_direction[g], p_correspondent_name[g],
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

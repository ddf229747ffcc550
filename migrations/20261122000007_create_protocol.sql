-- Protocol register (protocollo informatico, DPR 445/2000 art. 53-57; AgID guidelines 2021).
-- Numbers are assigned by the database itself, in the inserting transaction, from one counter row per
-- AOO, register and year (Europe/Rome): the row lock serialises registrations, and a transaction that
-- fails rolls its increment back with it, so a number exists only if its registration committed: no
-- gaps, no duplicates. Registrations, their documents and annulments are append-only.

-- The classification scheme (titolario), written from the configuration at start-up.
CREATE TABLE protocol_classes (
    code   TEXT PRIMARY KEY,
    name   TEXT NOT NULL,
    parent TEXT NULL REFERENCES protocol_classes (code)
);

-- Files (fascicoli): the registrations of one matter, e.g. one pratica.
CREATE TABLE protocol_dossiers (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    year           INTEGER NOT NULL,
    classification TEXT NOT NULL REFERENCES protocol_classes (code),
    subject        TEXT NOT NULL CHECK (length(subject) BETWEEN 1 AND 500),
    opened_at      TIMESTAMPTZ NOT NULL,
    opened_by      BIGINT NULL REFERENCES users (id),
    request_id     BIGINT NULL UNIQUE REFERENCES requests (id)
);

CREATE TABLE protocol_counters (
    aoo         TEXT NOT NULL,
    register    TEXT NOT NULL,
    year        INTEGER NOT NULL,
    last_number INTEGER NOT NULL CHECK (last_number BETWEEN 1 AND 9999999),
    PRIMARY KEY (aoo, register, year)
);

CREATE TABLE protocol_registrations (
    id                      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    aoo                     TEXT NOT NULL,
    register                TEXT NOT NULL,
    year                    INTEGER NOT NULL,
    number                  INTEGER NOT NULL,
    registered_at           TIMESTAMPTZ NOT NULL,
    direction               TEXT NOT NULL CHECK (direction IN ('in', 'out', 'internal')),
    correspondent_name      TEXT NOT NULL CHECK (length(correspondent_name) BETWEEN 1 AND 300),
    correspondent_cf        TEXT NOT NULL DEFAULT '',
    correspondent_email     TEXT NOT NULL DEFAULT '',
    subject                 TEXT NOT NULL CHECK (length(subject) BETWEEN 1 AND 500),
    attachments_description TEXT NOT NULL DEFAULT '',
    classification          TEXT NOT NULL REFERENCES protocol_classes (code),
    dossier_id              BIGINT NULL REFERENCES protocol_dossiers (id),
    request_id              BIGINT NULL REFERENCES requests (id),
    -- What caused it: 'manual' (back office), 'cli', 'request' (a pratica), later other modules.
    source                  TEXT NOT NULL,
    registered_by           BIGINT NULL REFERENCES users (id),
    CONSTRAINT protocol_registrations_number_key UNIQUE (aoo, register, year, number)
);
CREATE INDEX protocol_registrations_at_idx ON protocol_registrations (registered_at);
CREATE INDEX protocol_registrations_request_idx ON protocol_registrations (request_id) WHERE request_id IS NOT NULL;
CREATE INDEX protocol_registrations_dossier_idx ON protocol_registrations (dossier_id) WHERE dossier_id IS NOT NULL;
CREATE INDEX protocol_registrations_correspondent_idx ON protocol_registrations (lower(correspondent_name) text_pattern_ops);

-- The year and the number come from the database, whatever the caller sent.
CREATE FUNCTION protocol_assign_number() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.year := extract(year FROM NEW.registered_at AT TIME ZONE 'Europe/Rome')::integer;
    INSERT INTO protocol_counters AS c (aoo, register, year, last_number)
    VALUES (NEW.aoo, NEW.register, NEW.year, 1)
    ON CONFLICT (aoo, register, year) DO UPDATE SET last_number = c.last_number + 1
    RETURNING c.last_number INTO NEW.number;
    RETURN NEW;
END;
$$;
CREATE TRIGGER protocol_registrations_number BEFORE INSERT ON protocol_registrations
    FOR EACH ROW EXECUTE FUNCTION protocol_assign_number();

-- A counter only moves forward by one, and only through a registration.
CREATE FUNCTION protocol_counters_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR pg_trigger_depth() < 2 OR NEW.last_number <> OLD.last_number + 1
       OR (NEW.aoo, NEW.register, NEW.year) IS DISTINCT FROM (OLD.aoo, OLD.register, OLD.year) THEN
        RAISE EXCEPTION 'protocol counters change only by registering: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER protocol_counters_guard BEFORE UPDATE OR DELETE ON protocol_counters
    FOR EACH ROW EXECUTE FUNCTION protocol_counters_guard();
CREATE FUNCTION protocol_counters_insert_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 OR NEW.last_number <> 1 THEN
        RAISE EXCEPTION 'protocol counters start only by registering' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER protocol_counters_insert_guard BEFORE INSERT ON protocol_counters
    FOR EACH ROW EXECUTE FUNCTION protocol_counters_insert_guard();

-- The documents of a registration, with their SHA-256. A message attachment already kept (append-only)
-- in request_attachments is referenced rather than copied.
CREATE TABLE protocol_documents (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    registration_id BIGINT NOT NULL REFERENCES protocol_registrations (id),
    position        INTEGER NOT NULL,
    file_name       TEXT NOT NULL CHECK (length(file_name) BETWEEN 1 AND 200),
    content_type    TEXT NOT NULL,
    size_bytes      INTEGER NOT NULL CHECK (size_bytes >= 0),
    sha256          BYTEA NOT NULL CHECK (octet_length(sha256) = 32),
    content         BYTEA NULL,
    attachment_id   BIGINT NULL REFERENCES request_attachments (id),
    CHECK ((content IS NULL) <> (attachment_id IS NULL)),
    UNIQUE (registration_id, position)
);

CREATE TABLE protocol_annulments (
    registration_id BIGINT PRIMARY KEY REFERENCES protocol_registrations (id),
    annulled_at     TIMESTAMPTZ NOT NULL,
    annulled_by     BIGINT NOT NULL REFERENCES users (id),
    reason          TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
    -- The act authorising the annulment (e.g. "Provvedimento del Segretario n. 3/2026").
    act             TEXT NOT NULL CHECK (length(act) BETWEEN 1 AND 300)
);

-- The daily register (registro giornaliero di protocollo): produced once per closed day.
CREATE TABLE protocol_daily_registers (
    aoo          TEXT NOT NULL,
    register     TEXT NOT NULL,
    day          DATE NOT NULL,
    produced_at  TIMESTAMPTZ NOT NULL,
    entries      INTEGER NOT NULL,
    csv          BYTEA NOT NULL,
    csv_sha256   BYTEA NOT NULL CHECK (octet_length(csv_sha256) = 32),
    pdf          BYTEA NOT NULL,
    pdf_sha256   BYTEA NOT NULL CHECK (octet_length(pdf_sha256) = 32),
    PRIMARY KEY (aoo, register, day)
);

CREATE TRIGGER protocol_registrations_append_only BEFORE UPDATE OR DELETE ON protocol_registrations
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER protocol_registrations_no_truncate BEFORE TRUNCATE ON protocol_registrations
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER protocol_documents_append_only BEFORE UPDATE OR DELETE ON protocol_documents
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER protocol_documents_no_truncate BEFORE TRUNCATE ON protocol_documents
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER protocol_annulments_append_only BEFORE UPDATE OR DELETE ON protocol_annulments
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER protocol_annulments_no_truncate BEFORE TRUNCATE ON protocol_annulments
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER protocol_daily_registers_append_only BEFORE UPDATE OR DELETE ON protocol_daily_registers
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER protocol_daily_registers_no_truncate BEFORE TRUNCATE ON protocol_daily_registers
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER protocol_counters_no_truncate BEFORE TRUNCATE ON protocol_counters
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

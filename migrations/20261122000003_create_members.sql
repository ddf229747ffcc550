-- The register of members (Albo). Sections, sectors and special lists are configuration data (synced
-- from the configuration file at start), so an order of architects or geologists configures its own.
CREATE TABLE albo_sections (
    code     TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    position INTEGER NOT NULL
);
CREATE TABLE albo_sectors (
    code     TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    position INTEGER NOT NULL
);
CREATE TABLE albo_special_lists (
    code     TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    position INTEGER NOT NULL
);

-- Registration numbers: progressive, never reused. Taken inside the registering transaction, so a number
-- exists only if its registration committed.
CREATE TABLE registration_counter (
    id          BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
    last_number INTEGER NOT NULL CHECK (last_number >= 0)
);
INSERT INTO registration_counter (id, last_number) VALUES (TRUE, 0);

CREATE TABLE members (
    id                     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fiscal_code            TEXT NOT NULL,
    surname                TEXT NOT NULL,
    name                   TEXT NOT NULL,
    sex                    TEXT NOT NULL CHECK (sex IN ('M', 'F')),
    birth_date             DATE NOT NULL,
    birth_place            TEXT NOT NULL,
    birth_province         TEXT NOT NULL DEFAULT '',
    citizenship            TEXT NOT NULL DEFAULT 'italiana',
    residence_address      TEXT NOT NULL DEFAULT '',
    residence_cap          TEXT NOT NULL DEFAULT '',
    residence_municipality TEXT NOT NULL DEFAULT '',
    residence_province     TEXT NOT NULL DEFAULT '',
    domicile_address       TEXT NOT NULL DEFAULT '',
    domicile_cap           TEXT NOT NULL DEFAULT '',
    domicile_municipality  TEXT NOT NULL DEFAULT '',
    domicile_province      TEXT NOT NULL DEFAULT '',
    workplace_name         TEXT NOT NULL DEFAULT '',
    workplace_address      TEXT NOT NULL DEFAULT '',
    workplace_municipality TEXT NOT NULL DEFAULT '',
    email                  TEXT NOT NULL DEFAULT '',
    pec                    TEXT NOT NULL DEFAULT '',
    phone                  TEXT NOT NULL DEFAULT '',
    section                TEXT NOT NULL REFERENCES albo_sections (code),
    degree_class           TEXT NOT NULL DEFAULT '',
    degree_university      TEXT NOT NULL DEFAULT '',
    degree_year            INTEGER NULL,
    state_exam_year        INTEGER NULL,
    state_exam_seat        TEXT NOT NULL DEFAULT '',
    specialisations        TEXT NOT NULL DEFAULT '',
    registration_number    INTEGER NULL,
    registration_date      DATE NULL,
    -- Derived from the newest status event by a trigger; never written directly.
    status                 TEXT NOT NULL DEFAULT 'applicant'
                           CHECK (status IN ('applicant', 'active', 'suspended', 'cancelled')),
    -- Optional public fields the member currently consents to show (derived from member_consents).
    public_consents        TEXT[] NOT NULL DEFAULT '{}',
    -- Sector and special-list codes, sorted (derived from member_sectors / member_special_lists), so
    -- that lists of members need no per-row subquery.
    sectors                TEXT[] NOT NULL DEFAULT '{}',
    special_lists          TEXT[] NOT NULL DEFAULT '{}',
    user_id                BIGINT NULL REFERENCES users (id),
    -- Normalised "surname name" and "name surname" (lower case, no accents) for prefix search. Byte
    -- order (C collation): one btree serves both the prefix LIKE and the ORDER BY of the results.
    search_key             TEXT COLLATE "C" NOT NULL,
    search_key_alt         TEXT COLLATE "C" NOT NULL,
    created_at             TIMESTAMPTZ NOT NULL,
    updated_at             TIMESTAMPTZ NOT NULL,
    CONSTRAINT members_fiscal_code_key UNIQUE (fiscal_code),
    CONSTRAINT members_fiscal_code_format CHECK (fiscal_code ~ '^[A-Z0-9]{16}$'),
    CONSTRAINT members_registration_number_key UNIQUE (registration_number),
    CONSTRAINT members_user_id_key UNIQUE (user_id),
    CONSTRAINT members_names_not_blank CHECK (btrim(surname) <> '' AND btrim(name) <> ''),
    CONSTRAINT members_registration_together CHECK ((registration_number IS NULL) = (registration_date IS NULL))
);
CREATE INDEX members_public_search_idx ON members (search_key, id) WHERE status IN ('active', 'suspended');
CREATE INDEX members_public_search_alt_idx ON members (search_key_alt, id) WHERE status IN ('active', 'suspended');
CREATE INDEX members_search_idx ON members (search_key, id);
CREATE INDEX members_search_alt_idx ON members (search_key_alt, id);
CREATE INDEX members_domicile_municipality_idx ON members (lower(domicile_municipality));
CREATE INDEX members_status_idx ON members (status, section);

CREATE TABLE member_sectors (
    member_id   BIGINT NOT NULL REFERENCES members (id),
    sector_code TEXT NOT NULL REFERENCES albo_sectors (code),
    PRIMARY KEY (member_id, sector_code)
);
CREATE INDEX member_sectors_sector_idx ON member_sectors (sector_code, member_id);

CREATE TABLE member_special_lists (
    member_id BIGINT NOT NULL REFERENCES members (id),
    list_code TEXT NOT NULL REFERENCES albo_special_lists (code),
    since     DATE NULL,
    PRIMARY KEY (member_id, list_code)
);

-- The status history: append-only. The member's status is the status after the newest event.
CREATE TABLE member_status_events (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id         BIGINT NOT NULL REFERENCES members (id),
    kind              TEXT NOT NULL CHECK (kind IN ('application', 'registration', 'suspension', 'reinstatement',
                                                    'cancellation', 'transfer_in', 'transfer_out')),
    status_after      TEXT NOT NULL CHECK (status_after IN ('applicant', 'active', 'suspended', 'cancelled')),
    effective_date    DATE NOT NULL,
    until_date        DATE NULL,
    reason            TEXT NOT NULL DEFAULT '',
    resolution_number TEXT NOT NULL DEFAULT '',
    resolution_date   DATE NULL,
    protocol_number   TEXT NOT NULL DEFAULT '',
    note              TEXT NOT NULL DEFAULT '',
    recorded_at       TIMESTAMPTZ NOT NULL,
    recorded_by       BIGINT NULL REFERENCES users (id)
);
CREATE INDEX member_status_events_member_idx ON member_status_events (member_id, id);

-- Consents to show optional fields in the public Albo: append-only, with time and source.
CREATE TABLE member_consents (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id   BIGINT NOT NULL REFERENCES members (id),
    field       TEXT NOT NULL CHECK (field IN ('email', 'phone', 'address', 'specialisations', 'photo')),
    granted     BOOLEAN NOT NULL,
    source      TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    recorded_by BIGINT NULL REFERENCES users (id)
);
CREATE INDEX member_consents_member_idx ON member_consents (member_id, field, id);

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER member_status_events_append_only BEFORE UPDATE OR DELETE ON member_status_events
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER member_status_events_no_truncate BEFORE TRUNCATE ON member_status_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER member_consents_append_only BEFORE UPDATE OR DELETE ON member_consents
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER member_consents_no_truncate BEFORE TRUNCATE ON member_consents
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Statement-level: one UPDATE per INSERT statement, so bulk loads stay fast.
CREATE FUNCTION member_status_follow_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE members m SET status = latest.status_after
    FROM (SELECT DISTINCT ON (member_id) member_id, status_after
          FROM new_events ORDER BY member_id, id DESC) AS latest
    WHERE m.id = latest.member_id AND m.status IS DISTINCT FROM latest.status_after;
    RETURN NULL;
END;
$$;
CREATE TRIGGER member_status_events_set_status AFTER INSERT ON member_status_events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION member_status_follow_events();

CREATE FUNCTION member_consents_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE members m SET public_consents = current.fields
    FROM (SELECT t.member_id, ARRAY(
              SELECT field FROM (
                  SELECT DISTINCT ON (field) field, granted FROM member_consents c
                  WHERE c.member_id = t.member_id ORDER BY field, id DESC
              ) latest WHERE granted ORDER BY field
          ) AS fields
          FROM (SELECT DISTINCT member_id FROM new_consents) AS t) AS current
    WHERE m.id = current.member_id AND m.public_consents IS DISTINCT FROM current.fields;
    RETURN NULL;
END;
$$;
CREATE TRIGGER member_consents_set_public AFTER INSERT ON member_consents
    REFERENCING NEW TABLE AS new_consents
    FOR EACH STATEMENT EXECUTE FUNCTION member_consents_follow();

CREATE FUNCTION member_sectors_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE members m SET sectors = current.codes
    FROM (SELECT t.member_id, ARRAY(SELECT s.sector_code FROM member_sectors s
                                    WHERE s.member_id = t.member_id ORDER BY s.sector_code) AS codes
          FROM (SELECT DISTINCT member_id FROM changed) AS t) AS current
    WHERE m.id = current.member_id AND m.sectors IS DISTINCT FROM current.codes;
    RETURN NULL;
END;
$$;
CREATE TRIGGER member_sectors_after_insert AFTER INSERT ON member_sectors
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION member_sectors_follow();
CREATE TRIGGER member_sectors_after_delete AFTER DELETE ON member_sectors
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION member_sectors_follow();

CREATE FUNCTION member_special_lists_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE members m SET special_lists = current.codes
    FROM (SELECT t.member_id, ARRAY(SELECT l.list_code FROM member_special_lists l
                                    WHERE l.member_id = t.member_id ORDER BY l.list_code) AS codes
          FROM (SELECT DISTINCT member_id FROM changed) AS t) AS current
    WHERE m.id = current.member_id AND m.special_lists IS DISTINCT FROM current.codes;
    RETURN NULL;
END;
$$;
CREATE TRIGGER member_special_lists_after_insert AFTER INSERT ON member_special_lists
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION member_special_lists_follow();
CREATE TRIGGER member_special_lists_after_delete AFTER DELETE ON member_special_lists
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION member_special_lists_follow();

-- Status, consents, sectors and special lists are derived: only the triggers above may change them.
CREATE FUNCTION members_guard_derived() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 AND (NEW.status IS DISTINCT FROM OLD.status
                                   OR NEW.public_consents IS DISTINCT FROM OLD.public_consents
                                   OR NEW.sectors IS DISTINCT FROM OLD.sectors
                                   OR NEW.special_lists IS DISTINCT FROM OLD.special_lists) THEN
        RAISE EXCEPTION 'members.status, public_consents, sectors and special_lists follow their tables'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- Registration numbers are never changed or taken back once given.
    IF OLD.registration_number IS NOT NULL AND NEW.registration_number IS DISTINCT FROM OLD.registration_number THEN
        RAISE EXCEPTION 'registration number % cannot change', OLD.registration_number
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER members_guard_derived BEFORE UPDATE ON members
    FOR EACH ROW EXECUTE FUNCTION members_guard_derived();
CREATE TRIGGER members_no_delete BEFORE DELETE ON members
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

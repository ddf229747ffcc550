-- The video-access registry (SPEC §7, seed 002): camera sites and systems (Allegato A/B), the
-- operators' grants, the access register (art. 6.5), footage requests (art. 7-9) and retention alerts.
-- The grants' history, the access register and the requests' history are append-only: the database
-- refuses UPDATE, DELETE and TRUNCATE on them (refuse_change() of the members migration).

-- The CSV import learns the kind 'cameras'.
ALTER TABLE import_jobs DROP CONSTRAINT import_jobs_kind_check;
ALTER TABLE import_jobs ADD CONSTRAINT import_jobs_kind_check
    CHECK (kind IN ('members', 'protocol', 'cameras'));

-- Where cameras stand (Allegato B, "Posizione telecamere"): public data, shown on /videosorveglianza.
CREATE TABLE video_sites (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE CHECK (length(code) BETWEEN 1 AND 20),
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    latitude    NUMERIC(9, 6) NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude   NUMERIC(9, 6) NULL CHECK (longitude BETWEEN -180 AND 180),
    cameras     INTEGER NOT NULL DEFAULT 0 CHECK (cameras >= 0)
);

-- The systems (impianti, Allegato A): one numbered shooting point with its cameras.
CREATE TABLE video_systems (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number              INTEGER NOT NULL UNIQUE CHECK (number > 0),
    description         TEXT NOT NULL CHECK (length(description) BETWEEN 1 AND 300),
    site_id             BIGINT NULL REFERENCES video_sites (id),
    system_responsible  TEXT NOT NULL DEFAULT '',
    data_responsible    TEXT NOT NULL DEFAULT '',
    video               BOOLEAN NOT NULL,
    audio               BOOLEAN NOT NULL,
    ptz_cameras         INTEGER NOT NULL CHECK (ptz_cameras >= 0),
    ptz_vertical        BOOLEAN NOT NULL,
    ptz_horizontal      BOOLEAN NOT NULL,
    fixed_cameras       INTEGER NOT NULL CHECK (fixed_cameras >= 0),
    optical_zoom        TEXT NOT NULL DEFAULT '',
    digital_zoom        TEXT NOT NULL DEFAULT '',
    retention_days      INTEGER NOT NULL DEFAULT 7 CHECK (retention_days BETWEEN 1 AND 365),
    public_notice       TEXT NOT NULL DEFAULT '',
    import_job_id       BIGINT NULL REFERENCES import_jobs (id),
    updated_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX video_systems_site_idx ON video_systems (site_id);

-- Grants (art. 6.4): each row is one act of the manager, granting a level or revoking, with its date
-- and reason. The current grant of a person on a system is the latest act; the history stays.
CREATE TABLE video_grants (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         BIGINT NOT NULL REFERENCES users (id),
    system_id       BIGINT NOT NULL REFERENCES video_systems (id),
    level           TEXT NULL CHECK (level IN ('view', 'extract')),   -- NULL: revoked
    effective_on    DATE NOT NULL,
    reason          TEXT NOT NULL CHECK (length(btrim(reason)) BETWEEN 1 AND 1000),
    decided_by      BIGINT NOT NULL REFERENCES users (id),
    decided_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX video_grants_user_system_idx ON video_grants (user_id, system_id, id DESC);
CREATE TRIGGER video_grants_append_only BEFORE UPDATE OR DELETE ON video_grants
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER video_grants_no_truncate BEFORE TRUNCATE ON video_grants
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Footage requests (art. 7-9).
CREATE TABLE video_requests (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    purpose             TEXT NOT NULL CHECK (purpose IN ('a', 'b', 'c', 'd', 'e')),
    requester_name      TEXT NOT NULL CHECK (length(requester_name) BETWEEN 1 AND 200),
    requester_org       TEXT NOT NULL DEFAULT '',
    requester_email     TEXT NOT NULL DEFAULT '',
    motivation          TEXT NOT NULL CHECK (length(motivation) BETWEEN 1 AND 5000),
    footage_from        TIMESTAMPTZ NOT NULL,
    footage_to          TIMESTAMPTZ NOT NULL CHECK (footage_to > footage_from),
    system_ids          BIGINT[] NOT NULL CHECK (cardinality(system_ids) > 0),
    -- The authority's order to keep the footage (e.g. a public prosecutor's request): no retention alert.
    held_for            TEXT NOT NULL DEFAULT '',
    state               TEXT NOT NULL CHECK (state IN ('received', 'authorised', 'refused', 'extracted',
                                                       'reported', 'delivered', 'files_deleted', 'closed')),
    request_protocol_id BIGINT NOT NULL REFERENCES protocol_registrations (id),
    request_protocol    TEXT NOT NULL,          -- "2026/0000012", as people quote it
    -- The extraction (art. 9 b-c).
    extraction_kind     TEXT NULL CHECK (extraction_kind IN ('footage', 'frames')),
    third_parties_masked BOOLEAN NULL,
    extracted_files     INTEGER NULL CHECK (extracted_files > 0),
    extraction_note     TEXT NOT NULL DEFAULT '',
    encryption_method   TEXT NOT NULL DEFAULT '',
    handed_sha256       BYTEA NULL CHECK (octet_length(handed_sha256) = 32),
    extracted_by        BIGINT NULL REFERENCES users (id),
    extracted_at        TIMESTAMPTZ NULL,
    -- The verbale (art. 9 d-e): its PDF, protocolled.
    verbale_protocol_id BIGINT NULL REFERENCES protocol_registrations (id),
    verbale_protocol    TEXT NULL,
    verbale_pdf         BYTEA NULL,
    outcome             TEXT NOT NULL DEFAULT '',
    files_deleted_on    DATE NULL,
    created_by          BIGINT NOT NULL REFERENCES users (id),
    created_at          TIMESTAMPTZ NOT NULL,
    -- (d) and (e): never the whole footage, only single frames with third parties masked.
    CONSTRAINT video_requests_frames_only CHECK (
        purpose NOT IN ('d', 'e') OR extraction_kind IS NULL
        OR (extraction_kind = 'frames' AND third_parties_masked)),
    -- A request is closed only once the extracted files are deleted.
    CONSTRAINT video_requests_closed_after_deletion CHECK (
        state <> 'closed' OR extraction_kind IS NULL OR files_deleted_on IS NOT NULL),
    -- A transfer records how it was encrypted and the SHA-256 of what was handed over.
    CONSTRAINT video_requests_transfer_recorded CHECK (
        extraction_kind IS NULL OR (encryption_method <> '' AND handed_sha256 IS NOT NULL))
);
CREATE INDEX video_requests_state_idx ON video_requests (state, id DESC);

-- The people a police request authorises to view and take the footage, with their role (art. 7.3).
CREATE TABLE video_request_people (
    request_id  BIGINT NOT NULL REFERENCES video_requests (id),
    position    INTEGER NOT NULL,
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role        TEXT NOT NULL CHECK (length(role) BETWEEN 1 AND 200),
    PRIMARY KEY (request_id, position)
);
CREATE TRIGGER video_request_people_append_only BEFORE UPDATE OR DELETE ON video_request_people
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- The written request and its documents (PDF, JPEG, PNG by content, at most 10 MB each).
CREATE TABLE video_request_attachments (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id  BIGINT NOT NULL REFERENCES video_requests (id),
    file_name   TEXT NOT NULL,
    content_type TEXT NOT NULL,
    sha256      BYTEA NOT NULL CHECK (octet_length(sha256) = 32),
    content     BYTEA NOT NULL
);
CREATE TRIGGER video_request_attachments_append_only BEFORE UPDATE OR DELETE ON video_request_attachments
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- Every step of a request, in order: the request's history.
CREATE TABLE video_request_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id  BIGINT NOT NULL REFERENCES video_requests (id),
    state       TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    actor_id    BIGINT NOT NULL REFERENCES users (id),
    at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX video_request_events_request_idx ON video_request_events (request_id, id);
CREATE TRIGGER video_request_events_append_only BEFORE UPDATE OR DELETE ON video_request_events
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER video_request_events_no_truncate BEFORE TRUNCATE ON video_request_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- The access register (art. 6.5): every viewing session, who, when, which footage, which systems,
-- why, and whether anything was extracted. Nobody edits or deletes an entry.
CREATE TABLE video_access_log (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         BIGINT NOT NULL REFERENCES users (id),
    session_start   TIMESTAMPTZ NOT NULL,
    session_end     TIMESTAMPTZ NOT NULL CHECK (session_end >= session_start),
    footage_from    TIMESTAMPTZ NOT NULL,
    footage_to      TIMESTAMPTZ NOT NULL CHECK (footage_to >= footage_from),
    system_ids      BIGINT[] NOT NULL CHECK (cardinality(system_ids) > 0),
    purpose         TEXT NOT NULL CHECK (length(btrim(purpose)) BETWEEN 1 AND 1000),
    extracted       BOOLEAN NOT NULL,
    request_id      BIGINT NULL REFERENCES video_requests (id),
    recorded_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX video_access_log_user_idx ON video_access_log (user_id, session_start DESC);
CREATE INDEX video_access_log_start_idx ON video_access_log (session_start DESC);
CREATE TRIGGER video_access_log_append_only BEFORE UPDATE OR DELETE ON video_access_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER video_access_log_no_truncate BEFORE TRUNCATE ON video_access_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Retention alerts raised by the scheduled job: when each was first seen (one per request and kind).
CREATE TABLE video_retention_alerts (
    request_id  BIGINT NOT NULL REFERENCES video_requests (id),
    kind        TEXT NOT NULL CHECK (kind IN ('footage_pending', 'files_kept')),
    raised_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (request_id, kind)
);

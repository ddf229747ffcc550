-- CSV imports (SPEC §10). A job is one uploaded (or, from the CLI, named) file: what was detected in it,
-- how its columns map to fields, and the outcome of its last run. Runs hold an advisory lock on the job
-- for as long as their transaction lives, so a job left 'running' by a dead process is recognised.
CREATE TABLE import_jobs (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('members', 'protocol')),
    source         TEXT NOT NULL CHECK (source IN ('web', 'cli')),
    file_name      TEXT NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
    size_bytes     BIGINT NOT NULL CHECK (size_bytes >= 0),
    sha256         BYTEA NOT NULL CHECK (octet_length(sha256) = 32),
    -- The file itself for uploads (processes stay stateless); NULL for the CLI, which reads its own file.
    content        BYTEA NULL,
    encoding       TEXT NOT NULL,
    delimiter      TEXT NOT NULL,
    headers        TEXT[] NOT NULL,
    -- field key -> header position (0-based), as detected or as the administrator adjusted it.
    mapping        JSONB NOT NULL,
    total_rows     INTEGER NOT NULL CHECK (total_rows >= 0),
    state          TEXT NOT NULL CHECK (state IN ('ready', 'queued', 'running', 'done', 'refused', 'failed',
                                                  'interrupted')),
    mode           TEXT NULL CHECK (mode IN ('dry_run', 'atomic', 'valid_only')),
    processed_rows INTEGER NOT NULL DEFAULT 0,
    -- Counts and the first messages of the last run (JSON), and its rejected rows as CSV.
    summary        JSONB NULL,
    rejected_csv   BYTEA NULL,
    -- Set once a run wrote to the register: such a job cannot run again.
    committed      BOOLEAN NOT NULL DEFAULT FALSE,
    created_by     BIGINT NULL REFERENCES users (id),
    created_at     TIMESTAMPTZ NOT NULL,
    started_at     TIMESTAMPTZ NULL,
    finished_at    TIMESTAMPTZ NULL
);
CREATE INDEX import_jobs_created_idx ON import_jobs (created_at DESC);

-- Protocol registrations of the system used before ordo, kept as they were: their own register code,
-- numbers and dates (ordo's own numbering is untouched). Append-only.
CREATE TABLE protocol_legacy_entries (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    register       TEXT NOT NULL CHECK (length(register) BETWEEN 1 AND 50),
    year           INTEGER NOT NULL CHECK (year BETWEEN 1900 AND 2200),
    number         INTEGER NOT NULL CHECK (number BETWEEN 1 AND 9999999),
    registered_on  DATE NOT NULL,
    direction      TEXT NOT NULL CHECK (direction IN ('in', 'out', 'internal')),
    correspondent  TEXT NOT NULL CHECK (length(correspondent) BETWEEN 1 AND 300),
    subject        TEXT NOT NULL CHECK (length(subject) BETWEEN 1 AND 1000),
    classification TEXT NOT NULL DEFAULT '',
    note           TEXT NOT NULL DEFAULT '',
    import_job_id  BIGINT NOT NULL REFERENCES import_jobs (id),
    imported_at    TIMESTAMPTZ NOT NULL,
    CONSTRAINT protocol_legacy_entries_key UNIQUE (register, year, number)
);
CREATE INDEX protocol_legacy_entries_on_idx ON protocol_legacy_entries (registered_on);
CREATE TRIGGER protocol_legacy_entries_append_only BEFORE UPDATE OR DELETE ON protocol_legacy_entries
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER protocol_legacy_entries_no_truncate BEFORE TRUNCATE ON protocol_legacy_entries
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

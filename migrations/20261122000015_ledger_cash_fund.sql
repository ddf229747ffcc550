-- The cash fund at 1 January (fondo di cassa iniziale) of a financial year: what the treasury held when
-- the year began. With the year's riscossioni and pagamenti and the residui left at its end it gives the
-- result of administration (seed 004 art. 12 and 28). Recorded once: by hand (or journal) for the first
-- year kept in ordo, from the previous software's books; closing a year writes the next year's from its
-- own closing cash. NULL: not recorded yet.
ALTER TABLE ledger_years ADD COLUMN opening_cash NUMERIC(14, 2) NULL;

-- Journals applied by `ordo ledger apply`, by the SHA-256 of the file: the same file is never applied
-- twice (a second run is refused and writes nothing).
CREATE TABLE ledger_journals (
    sha256       BYTEA PRIMARY KEY CHECK (octet_length(sha256) = 32),
    file_name    TEXT NOT NULL,
    rows_applied INTEGER NOT NULL CHECK (rows_applied >= 0),
    applied_at   TIMESTAMPTZ NOT NULL,
    applied_by   BIGINT NULL REFERENCES users (id)
);
CREATE TRIGGER ledger_journals_append_only BEFORE UPDATE OR DELETE ON ledger_journals
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

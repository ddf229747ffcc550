-- Pratiche: every request a member makes (data change, PEC, and later certificates, enrolment, …) is one
-- row here with one workflow: submitted → in_review → approved / rejected → closed. The history is
-- append-only in request_events; requests.state follows the newest event (trigger).
CREATE TABLE requests (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('data_change', 'pec', 'photo')),
    member_id    BIGINT NOT NULL REFERENCES members (id),
    requested_by BIGINT NOT NULL REFERENCES users (id),
    state        TEXT NOT NULL DEFAULT 'submitted'
                 CHECK (state IN ('submitted', 'in_review', 'approved', 'rejected', 'closed')),
    subject      TEXT NOT NULL,
    -- Kind-specific content, e.g. {"before": {...}, "after": {...}} for a data change.
    payload      JSONB NOT NULL,
    submitted_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX requests_open_idx ON requests (submitted_at) WHERE state IN ('submitted', 'in_review');
CREATE INDEX requests_member_idx ON requests (member_id, id);

CREATE TABLE request_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id BIGINT NOT NULL REFERENCES requests (id),
    from_state TEXT NULL,
    to_state   TEXT NOT NULL CHECK (to_state IN ('submitted', 'in_review', 'approved', 'rejected', 'closed')),
    at         TIMESTAMPTZ NOT NULL,
    by_user    BIGINT NULL REFERENCES users (id),
    note       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX request_events_request_idx ON request_events (request_id, id);

CREATE TRIGGER request_events_append_only BEFORE UPDATE OR DELETE ON request_events
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER request_events_no_truncate BEFORE TRUNCATE ON request_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER requests_no_delete BEFORE DELETE ON requests
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

CREATE FUNCTION request_state_follow_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE requests r SET state = latest.to_state
    FROM (SELECT DISTINCT ON (request_id) request_id, to_state
          FROM new_events ORDER BY request_id, id DESC) AS latest
    WHERE r.id = latest.request_id AND r.state IS DISTINCT FROM latest.to_state;
    RETURN NULL;
END;
$$;
CREATE TRIGGER request_events_set_state AFTER INSERT ON request_events
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION request_state_follow_events();

-- The state and the content of a request never change by hand.
CREATE FUNCTION requests_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 AND NEW.state IS DISTINCT FROM OLD.state THEN
        RAISE EXCEPTION 'requests.state follows request_events' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.payload IS DISTINCT FROM OLD.payload OR NEW.kind IS DISTINCT FROM OLD.kind
       OR NEW.member_id IS DISTINCT FROM OLD.member_id OR NEW.submitted_at IS DISTINCT FROM OLD.submitted_at THEN
        RAISE EXCEPTION 'a submitted request cannot be rewritten' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER requests_guard BEFORE UPDATE ON requests FOR EACH ROW EXECUTE FUNCTION requests_guard();

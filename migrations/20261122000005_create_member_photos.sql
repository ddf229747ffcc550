-- Passport photos (fototessera): stored re-encoded (no metadata), shown only once the secretariat has
-- approved them (members.photo_id) and, in the public Albo, only with the member's consent.
CREATE TABLE member_photos (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id   BIGINT NOT NULL REFERENCES members (id),
    image       BYTEA NOT NULL,
    sha256      BYTEA NOT NULL CHECK (octet_length(sha256) = 32),
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    uploaded_at TIMESTAMPTZ NOT NULL,
    uploaded_by BIGINT NULL REFERENCES users (id)
);
CREATE INDEX member_photos_member_idx ON member_photos (member_id, id);
CREATE TRIGGER member_photos_append_only BEFORE UPDATE OR DELETE ON member_photos
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

ALTER TABLE members ADD COLUMN photo_id BIGINT NULL REFERENCES member_photos (id);

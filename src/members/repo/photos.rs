//! Passport photos.

use sqlx::PgConnection;
use time::OffsetDateTime;

pub struct NewPhoto<'a> {
    pub member_id: i64,
    pub jpeg: &'a [u8],
    pub sha256: &'a [u8],
    pub width: i32,
    pub height: i32,
    pub at: OffsetDateTime,
    pub by: i64,
}

pub async fn insert_photo(conn: &mut PgConnection, p: &NewPhoto<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO member_photos (member_id, image, sha256, width, height, uploaded_at, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        p.member_id,
        p.jpeg,
        p.sha256,
        p.width,
        p.height,
        p.at,
        p.by
    )
    .fetch_one(&mut *conn)
    .await
}

pub async fn set_photo(
    conn: &mut PgConnection,
    member_id: i64,
    photo_id: i64,
    now: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE members SET photo_id = $2, updated_at = $3 WHERE id = $1
         AND EXISTS (SELECT 1 FROM member_photos p WHERE p.id = $2 AND p.member_id = $1)",
        member_id,
        photo_id,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A photo with the member it belongs to.
pub async fn photo(conn: &mut PgConnection, photo_id: i64) -> sqlx::Result<Option<(i64, Vec<u8>)>> {
    let row = sqlx::query!(
        "SELECT member_id, image FROM member_photos WHERE id = $1",
        photo_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| (r.member_id, r.image)))
}

/// The approved photo of a member of the public register who consented to show it.
pub async fn public_photo(
    conn: &mut PgConnection,
    registration_number: i32,
) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar!(
        "SELECT p.image FROM members m JOIN member_photos p ON p.id = m.photo_id
         WHERE m.registration_number = $1 AND m.status IN ('active', 'suspended') AND 'photo' = ANY(m.public_consents)",
        registration_number
    )
    .fetch_optional(&mut *conn)
    .await
}

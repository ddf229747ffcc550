//! Passport photos: stored at upload, in use once approved.

use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;

use crate::audit::{self, Actor};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::members::repo;
use crate::state::AppState;

/// Stores an uploaded passport photo (already processed) for the member; returns its id. It shows
/// nowhere until approved (`set_photo`).
pub async fn store_photo(
    conn: &mut PgConnection,
    now: OffsetDateTime,
    user: &CurrentUser,
    member_id: i64,
    photo: &crate::members::photo::Processed,
) -> AppResult<i64> {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(&photo.jpeg).to_vec();
    let id = repo::insert_photo(
        conn,
        &repo::NewPhoto {
            member_id,
            jpeg: &photo.jpeg,
            sha256: &hash,
            width: photo.width as i32,
            height: photo.height as i32,
            at: now,
            by: user.id,
        },
    )
    .await?;
    Ok(id)
}

/// Makes an approved photo the member's photo, with its audit entry.
pub async fn set_photo(
    conn: &mut PgConnection,
    now: OffsetDateTime,
    actor: &Actor,
    member_id: i64,
    photo_id: i64,
) -> AppResult<()> {
    let member = repo::by_id(conn, member_id).await?.ok_or(AppError::NotFound)?;
    repo::set_photo(conn, member_id, photo_id, now).await?;
    audit::record(
        conn,
        now,
        audit::Event {
            actor,
            action: "member.photo",
            entity: "member",
            entity_id: Some(member_id.to_string()),
            details: json!({ "before": { "photo_id": member.photo_id }, "after": { "photo_id": photo_id } }),
        },
    )
    .await?;
    Ok(())
}

/// A photo for staff (any) or for its own member (`owner`): JPEG bytes.
pub async fn photo_bytes(state: &AppState, photo_id: i64, owner: Option<&CurrentUser>) -> AppResult<Vec<u8>> {
    let mut conn = state.pool.acquire().await?;
    let (member_id, bytes) = repo::photo(&mut conn, photo_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Some(user) = owner {
        let mine = repo::by_user(&mut conn, user.id).await?.map(|m| m.id);
        if mine != Some(member_id) {
            return Err(AppError::NotFound);
        }
    }
    Ok(bytes)
}

/// The JPEG of a photo, inside the caller's transaction (for documents that print it).
pub async fn photo_jpeg(conn: &mut PgConnection, photo_id: i64) -> AppResult<Option<Vec<u8>>> {
    Ok(repo::photo(conn, photo_id).await?.map(|(_, bytes)| bytes))
}

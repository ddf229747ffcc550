//! The public Albo: searches and pages, showing only what the law or the member's consent allows.

use super::{section_name, sector_name, special_list_name};
use crate::config::AlboConfig;
use crate::error::{AppError, AppResult};
use crate::members::model::{self, PublicFacts, PublicView, Status, format_address};
use crate::members::repo::{self, ListRow, SearchFilter};
use crate::state::AppState;

// --- public Albo ------------------------------------------------------------------------------

/// A public search result line: the view plus the number used for the link.
pub struct PublicLine {
    pub number: Option<i32>,
    pub view: PublicView,
}

pub fn public_facts<'a>(albo: &'a AlboConfig, r: &'a ListRow) -> PublicFacts<'a> {
    PublicFacts {
        registration_number: r.registration_number,
        registration_date: r.registration_date,
        surname: &r.surname,
        name: &r.name,
        birth_date: r.birth_date,
        section_name: section_name(albo, &r.section),
        sector_names: r.sectors.iter().map(|s| sector_name(albo, s)).collect(),
        special_list_names: r
            .special_lists
            .iter()
            .map(|s| special_list_name(albo, s))
            .collect(),
        domicile: format_address(
            &r.domicile_address,
            &r.domicile_cap,
            &r.domicile_municipality,
            &r.domicile_province,
        ),
        pec: &r.pec,
        status: Status::parse(&r.status).unwrap_or(Status::Cancelled),
        email: &r.email,
        phone: &r.phone,
        address: format_address(
            &r.residence_address,
            &r.residence_cap,
            &r.residence_municipality,
            &r.residence_province,
        ),
        specialisations: &r.specialisations,
        consents: &r.public_consents,
        has_photo: r.photo_id.is_some(),
    }
}

/// Only members in the public register (active, suspended) are ever searched here.
pub async fn public_search(
    state: &AppState,
    mut filter: SearchFilter,
    page: i64,
) -> AppResult<(Vec<PublicLine>, bool)> {
    filter.statuses = vec![Status::Active.as_str().into(), Status::Suspended.as_str().into()];
    filter.has_pec = None;
    filter.registered_from = None;
    filter.registered_to = None;
    let size = state.config.albo.page_size;
    let mut conn = state.pool.acquire().await?;
    let (rows, more) = match filter.name_prefix.take() {
        Some(prefix) => {
            repo::public_name_search(&mut conn, &filter, &prefix, size, page.max(0) * size).await?
        }
        None => repo::search(&mut conn, &filter, size, page.max(0) * size).await?,
    };
    let albo = &state.config.albo;
    let lines = rows
        .iter()
        .map(|r| PublicLine {
            number: r.registration_number,
            view: model::public_view(&public_facts(albo, r), &albo.public_fields),
        })
        .collect();
    Ok((lines, more))
}

pub async fn public_detail(state: &AppState, number: i32) -> AppResult<PublicView> {
    let filter = SearchFilter {
        registration_number: Some(number),
        statuses: vec![Status::Active.as_str().into(), Status::Suspended.as_str().into()],
        ..Default::default()
    };
    let mut conn = state.pool.acquire().await?;
    let (rows, _) = repo::search(&mut conn, &filter, 1, 0).await?;
    let row = rows.first().ok_or(AppError::NotFound)?;
    Ok(model::public_view(
        &public_facts(&state.config.albo, row),
        &state.config.albo.public_fields,
    ))
}

/// Municipalities of the public register, for the search form; kept for a minute per process.
pub async fn municipalities(state: &AppState) -> AppResult<std::sync::Arc<Vec<String>>> {
    if let Some(cached) = state.caches.municipalities.get() {
        return Ok(cached);
    }
    let mut conn = state.pool.acquire().await?;
    let list = std::sync::Arc::new(repo::municipalities(&mut conn).await?);
    state.caches.municipalities.put(list.clone());
    Ok(list)
}

pub async fn public_photo(state: &AppState, registration_number: i32) -> AppResult<Vec<u8>> {
    let mut conn = state.pool.acquire().await?;
    repo::public_photo(&mut conn, registration_number)
        .await?
        .ok_or(AppError::NotFound)
}

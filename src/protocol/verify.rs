//! `ordo protocol verify`: each year's numbers gapless and unique, each document's bytes still
//! matching the SHA-256 recorded at registration.

use sha2::{Digest, Sha256};

use super::repo;
use crate::config::ProtocolConfig;
use crate::error::AppResult;

/// One problem `ordo protocol verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Gap { year: i32, missing: i32 },
    Duplicate { year: i32, number: i32 },
    HashMismatch { registration: String, document: String },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Gap { year, missing } => write!(f, "{year}: number {missing:07} is missing"),
            Problem::Duplicate { year, number } => write!(f, "{year}: number {number:07} is used twice"),
            Problem::HashMismatch {
                registration,
                document,
            } => write!(
                f,
                "registration {registration}: document \"{document}\" does not match its SHA-256"
            ),
        }
    }
}

/// The gaps and duplicates in an ordered list of (year, number).
pub fn numbering_problems(numbers: &[(i32, i32)]) -> Vec<Problem> {
    let mut problems = vec![];
    let mut previous: Option<(i32, i32)> = None;
    for &(year, number) in numbers {
        let expected = match previous {
            Some((y, n)) if y == year => n + 1,
            _ => 1,
        };
        if Some((year, number)) == previous {
            problems.push(Problem::Duplicate { year, number });
        } else {
            for missing in expected..number {
                problems.push(Problem::Gap { year, missing });
            }
        }
        previous = Some((year, number));
    }
    problems
}

/// Checks the whole register: each year's numbers gapless and unique, each document's bytes still
/// matching the SHA-256 recorded at registration. Returns (registrations, documents, problems).
pub async fn verify(pool: &sqlx::PgPool, config: &ProtocolConfig) -> AppResult<(usize, usize, Vec<Problem>)> {
    let mut conn = pool.acquire().await?;
    let numbers = repo::numbers(&mut conn, &config.aoo_code, &config.register_code).await?;
    let mut problems = numbering_problems(&numbers);
    let mut after = 0;
    let mut documents = 0;
    loop {
        let batch = repo::documents_batch(&mut conn, after, 64).await?;
        let Some((last, _)) = batch.last() else { break };
        after = *last;
        for (_, d) in batch {
            documents += 1;
            if Sha256::digest(&d.content).as_slice() != d.sha256.as_slice() {
                problems.push(Problem::HashMismatch {
                    registration: format!("{}/{:07}", d.year, d.number),
                    document: d.file_name,
                });
            }
        }
    }
    Ok((numbers.len(), documents, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_and_duplicates_are_found_per_year() {
        assert!(numbering_problems(&[(2025, 1), (2025, 2), (2026, 1), (2026, 2)]).is_empty());
        assert_eq!(
            numbering_problems(&[(2025, 1), (2025, 3), (2026, 2), (2026, 2)]),
            vec![
                Problem::Gap {
                    year: 2025,
                    missing: 2
                },
                Problem::Gap {
                    year: 2026,
                    missing: 1
                },
                Problem::Duplicate {
                    year: 2026,
                    number: 2
                },
            ]
        );
    }
}

//! The video-access registry (SPEC §7, seed 002). This first step holds its rules (`model`); the
//! schema is `migrations/20261122000014_create_video.sql`.

pub mod model;

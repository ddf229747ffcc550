//! Reading a `multipart/form-data` body into text fields and files, within the configured body limit.
//! Every upload form goes through here, so a too-large or broken body is answered the same way.

use axum::extract::Multipart;
use axum::http::{HeaderMap, StatusCode, header};

use crate::error::{AppError, AppResult};

/// A file as the browser sent it: nothing about it is trusted yet.
pub struct Upload {
    pub field: String,
    pub file_name: String,
    pub bytes: Vec<u8>,
}

#[derive(Default)]
pub struct Form {
    pub fields: Vec<(String, String)>,
    pub files: Vec<Upload>,
}

impl Form {
    pub fn value(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The files sent in one field; a file input left empty (no name, no bytes) is not a file.
    pub fn files(&self, field: &str) -> impl Iterator<Item = &Upload> {
        self.files.iter().filter(move |f| f.field == field)
    }
}

fn broken(e: axum::extract::multipart::MultipartError, what: &str) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge
    } else {
        AppError::BadRequest(format!("{what}: riprova."))
    }
}

pub async fn read(headers: &HeaderMap, max_body_bytes: usize, mut multipart: Multipart) -> AppResult<Form> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > max_body_bytes) {
        return Err(AppError::PayloadTooLarge);
    }
    let mut form = Form::default();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| broken(e, "Il modulo inviato non è leggibile"))?
    {
        let name = field.name().unwrap_or_default().to_string();
        match field.file_name().map(str::to_string) {
            Some(file_name) => {
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| broken(e, "Il file non è arrivato per intero"))?;
                if !(file_name.is_empty() && bytes.is_empty()) {
                    form.files.push(Upload {
                        field: name,
                        file_name,
                        bytes: bytes.to_vec(),
                    });
                }
            }
            None => {
                let text = field
                    .text()
                    .await
                    .map_err(|e| broken(e, "Il modulo inviato non è leggibile"))?;
                form.fields.push((name, text));
            }
        }
    }
    Ok(form)
}

//! File downloads: the content type we determined (never the uploader's), and a Content-Disposition
//! that carries any file name safely (RFC 6266: an ASCII fallback plus the UTF-8 name).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// attr-char of RFC 5987: everything else is percent-encoded.
const ATTR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

pub fn content_disposition(file_name: &str) -> HeaderValue {
    let fallback: String = deunicode::deunicode(file_name)
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let value = format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{}",
        utf8_percent_encode(file_name, ATTR)
    );
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

pub fn file(file_name: &str, content_type: &str, bytes: Vec<u8>) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(header::CONTENT_DISPOSITION, content_disposition(file_name));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_survive_as_ascii_fallback_and_utf8() {
        let v = content_disposition("Ricevuta «bollo» città.pdf");
        let s = v.to_str().unwrap_or_default();
        assert_eq!(
            s,
            "attachment; filename=\"Ricevuta <<bollo>> citta.pdf\"; filename*=UTF-8''Ricevuta%20%C2%ABbollo%C2%BB%20citt%C3%A0.pdf"
        );
        let v = content_disposition("a\"b\\c.pdf");
        assert!(
            v.to_str()
                .unwrap_or_default()
                .starts_with("attachment; filename=\"a_b_c.pdf\"")
        );
    }
}

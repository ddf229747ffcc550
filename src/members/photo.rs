//! Passport photos: the upload is checked by content (JPEG or PNG, whatever its name says), decoded
//! within limits, scaled to passport size and re-encoded as JPEG, which drops every metadata block
//! (EXIF with GPS, camera serial numbers, …). Pure: bytes in, bytes out.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};

use crate::error::FieldError;

pub const MAX_UPLOAD_BYTES: usize = 5 * 1024 * 1024;
/// The stored image fits in this box (35×45 mm at about 430 dpi), aspect ratio kept.
const MAX_WIDTH: u32 = 600;
const MAX_HEIGHT: u32 = 800;
const MIN_SIDE: u32 = 200;

#[derive(Debug)]
pub struct Processed {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

fn err(message: impl Into<String>) -> FieldError {
    FieldError::new("photo", message)
}

pub fn process(upload: &[u8]) -> Result<Processed, FieldError> {
    if upload.is_empty() {
        return Err(err("Scegli il file della foto."));
    }
    if upload.len() > MAX_UPLOAD_BYTES {
        return Err(err(format!(
            "La foto è troppo grande ({:.1} MB): il massimo è 5 MB.",
            upload.len() as f64 / 1_048_576.0
        )));
    }
    let format = image::guess_format(upload)
        .map_err(|_| err("Il file non è un'immagine JPEG o PNG (il contenuto non corrisponde)."))?;
    if !matches!(format, ImageFormat::Jpeg | ImageFormat::Png) {
        return Err(err("Sono ammesse solo foto JPEG o PNG."));
    }
    let mut reader = ImageReader::with_format(Cursor::new(upload), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(8_000);
    limits.max_image_height = Some(8_000);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|_| err("L'immagine è danneggiata o troppo grande per essere letta."))?;
    if img.width() < MIN_SIDE || img.height() < MIN_SIDE {
        return Err(err(format!(
            "La foto è troppo piccola: servono almeno {MIN_SIDE}×{MIN_SIDE} pixel."
        )));
    }
    let scaled = if img.width() > MAX_WIDTH || img.height() > MAX_HEIGHT {
        img.resize(MAX_WIDTH, MAX_HEIGHT, image::imageops::FilterType::Lanczos3)
    } else {
        img
    };
    let rgb = scaled.to_rgb8();
    let mut jpeg = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 88);
    rgb.write_with_encoder(encoder)
        .map_err(|_| err("La foto non può essere elaborata."))?;
    Ok(Processed {
        jpeg,
        width: rgb.width(),
        height: rgb.height(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 255) as u8, (y % 255) as u8, 128]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn a_png_becomes_a_passport_sized_jpeg() {
        let p = process(&png(1200, 1600)).unwrap();
        assert_eq!((p.width, p.height), (600, 800));
        assert_eq!(image::guess_format(&p.jpeg).unwrap(), ImageFormat::Jpeg);
    }

    #[test]
    fn metadata_is_dropped() {
        // A JPEG with an EXIF (APP1) segment carrying a GPS-like marker string.
        let mut src = Vec::new();
        let img = image::RgbImage::from_pixel(300, 400, image::Rgb([200, 180, 160]));
        img.write_with_encoder(image::codecs::jpeg::JpegEncoder::new(&mut src))
            .unwrap();
        let exif = b"Exif\0\0GPS-SECRET-45.6495N-13.7768E";
        let mut with_exif = vec![0xFF, 0xD8, 0xFF, 0xE1];
        with_exif.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
        with_exif.extend_from_slice(exif);
        with_exif.extend_from_slice(&src[2..]);
        assert!(with_exif.windows(10).any(|w| w == b"GPS-SECRET"));
        let p = process(&with_exif).unwrap();
        assert!(!p.jpeg.windows(10).any(|w| w == b"GPS-SECRET"));
    }

    #[test]
    fn refusals_have_clear_messages() {
        assert!(process(b"").unwrap_err().message.contains("Scegli"));
        let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n";
        assert!(process(pdf).unwrap_err().message.contains("JPEG o PNG"));
        let big = vec![0u8; MAX_UPLOAD_BYTES + 1];
        assert!(process(&big).unwrap_err().message.contains("5 MB"));
        assert!(process(&png(50, 50)).unwrap_err().message.contains("piccola"));
        let mut truncated = png(400, 400);
        truncated.truncate(100);
        assert!(process(&truncated).is_err());
    }
}

//! QR codes as SVG (the `qrcode` crate), for the PDFs and the card's web page.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode, Version};

use crate::error::{AppError, AppResult};

fn render(code: &QrCode) -> String {
    code.render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build()
}

/// A QR code of the smallest version that holds `text` (error correction M).
pub fn svg(text: &str) -> AppResult<String> {
    let code =
        QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).map_err(AppError::internal)?;
    Ok(render(&code))
}

/// The pagoPA QR code: ISO/IEC 18004, version 4, error correction M (pagoPA notice guidelines).
pub fn pagopa_svg(payload: &str) -> AppResult<String> {
    let code = QrCode::with_version(payload.as_bytes(), Version::Normal(4), EcLevel::M)
        .map_err(AppError::internal)?;
    Ok(render(&code))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_pagopa_payload_fits_version_4_m() {
        let payload = "PAGOPA|002|304700000000012345|80017690320|1600";
        let code = qrcode::QrCode::with_version(payload, qrcode::Version::Normal(4), qrcode::EcLevel::M)
            .expect("fits");
        assert_eq!(code.width(), 33);
        assert!(super::pagopa_svg(payload).expect("svg").starts_with("<?xml"));
    }
}

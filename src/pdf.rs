//! PDF rendering with Typst.
//!
//! A [`Renderer`] holds the standard library and the embedded fonts (from
//! `typst-assets`); build it once at startup and share it (`Arc<Renderer>`).
//! Each [`Renderer::render`] call compiles one Typst template against a
//! throw-away, fully in-memory [`World`]:
//!
//! - the template is `/main.typ`;
//! - the JSON data is `/data.json` (`#let data = json("data.json")`);
//! - extra files (images, included `.typ` snippets) live at the root under the
//!   name given by the caller (`image("photo.jpg")`).
//!
//! There is no filesystem, network or package access at runtime. Rendering is
//! CPU-bound and synchronous: call it from `spawn_blocking` in async code.
//!
//! Template names: the embedded font families are `Libertinus Serif` (Typst's
//! default text font), `New Computer Modern`, `New Computer Modern Math` and
//! `DejaVu Sans Mono`. There is no sans-serif family.

use std::collections::HashMap;
use std::path::PathBuf;

use typst::diag::{FileError, FileResult, PackageError, Severity, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration, Smart};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World, WorldExt};
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, Timestamp};

/// Entry point of the compilation; fixed so its `FileId` is interned once.
const MAIN_PATH: &str = "main.typ";
/// Where the serialized `data` argument is exposed to templates.
const DATA_PATH: &str = "data.json";
/// Longest source excerpt quoted in an error message (in chars).
const SNIPPET_MAX: usize = 80;
/// Age (in renders) after which Typst's global memoization cache entries are
/// dropped. Without eviction the cache grows for the life of the process.
const CACHE_MAX_AGE: usize = 10;

static RENDERER: std::sync::OnceLock<Renderer> = std::sync::OnceLock::new();

/// The process-wide renderer, built on first use.
pub fn renderer() -> &'static Renderer {
    RENDERER.get_or_init(Renderer::new)
}

/// Renders off the async runtime with the process-wide renderer and default options (tagged,
/// deterministic). A template error is a bug of ours: it becomes an internal error.
pub async fn render_blocking(
    template: &'static str,
    data: serde_json::Value,
) -> crate::error::AppResult<Vec<u8>> {
    tokio::task::spawn_blocking(move || renderer().render(template, &data, &[]))
        .await
        .map_err(crate::error::AppError::internal)?
        .map_err(crate::error::AppError::internal)
}

/// Errors returned by [`Renderer`].
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// The template failed to compile (syntax, missing file, bad data, ...).
    #[error("template compilation failed:\n{0}")]
    Compile(String),
    /// The laid-out document could not be written as PDF.
    #[error("PDF export failed:\n{0}")]
    Export(String),
    /// The data could not be serialized to JSON.
    #[error("cannot serialize template data: {0}")]
    Data(#[from] serde_json::Error),
    /// An extra file name is not a valid relative virtual path.
    #[error("invalid virtual file name {name:?}: {reason}")]
    FileName { name: String, reason: String },
    /// [`Renderer::missing_glyphs`] was asked about an unknown font family.
    #[error("unknown font family {0:?}")]
    UnknownFont(String),
}

/// Per-render settings. `Default` gives a fully deterministic output: no
/// creation date in the PDF and no `datetime.today()`.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Value of `datetime.today()` in templates. `None` makes it an error.
    /// Passed in rather than read from the system so it comes from the app's
    /// clock (and tests stay reproducible).
    pub today: Option<time::Date>,
    /// PDF `CreationDate` (UTC), unless the template sets
    /// `#set document(date: ..)`. `None` writes no date.
    pub created: Option<time::PrimitiveDateTime>,
    /// Stable identifier for the document (e.g. `"tessera-2025-0042"`); its
    /// hash becomes the PDF document ID. `None` hashes title and author.
    pub ident: Option<String>,
    /// Write a tagged (accessible) PDF. Tagging a long table costs a lot of
    /// bytes (200-row example: ~238 KB tagged vs ~36 KB untagged).
    pub tagged: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            today: None,
            created: None,
            ident: None,
            tagged: true,
        }
    }
}

/// Result of [`Renderer::render_with`].
#[derive(Debug, Clone)]
pub struct RenderOutput {
    pub pdf: Vec<u8>,
    pub pages: usize,
    /// Non-fatal diagnostics (e.g. unknown font family), formatted like errors.
    pub warnings: Vec<String>,
}

/// Shared, immutable rendering state. `Send + Sync`.
pub struct Renderer {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("fonts", &self.fonts.len())
            .finish_non_exhaustive()
    }
}

impl Renderer {
    /// Parses the embedded fonts. Takes a few milliseconds; do it once.
    #[must_use]
    pub fn new() -> Self {
        // The font data is `'static` (compiled into the binary), so `Bytes`
        // wraps it without copying.
        let fonts: Vec<Font> = typst_assets::fonts()
            .flat_map(|data| Font::iter(Bytes::new(data)))
            .collect();
        let book = FontBook::from_fonts(&fonts);
        Self {
            library: LazyHash::new(Library::default()),
            book: LazyHash::new(book),
            fonts,
        }
    }

    /// Renders `template` (Typst source) with default [`RenderOptions`].
    ///
    /// # Errors
    /// See [`Renderer::render_with`].
    pub fn render(
        &self,
        template: &str,
        data: &serde_json::Value,
        files: &[(&str, Vec<u8>)],
    ) -> Result<Vec<u8>, PdfError> {
        self.render_with(template, data, files, &RenderOptions::default())
            .map(|out| out.pdf)
    }

    /// Renders `template` and also reports page count and warnings.
    ///
    /// `files` names are relative paths (`"photo.jpg"`, `"img/logo.svg"`).
    /// Keep them from a small fixed set: Typst interns every distinct path for
    /// the life of the process (at most 65 535), so never use user-supplied or
    /// random names.
    ///
    /// # Errors
    /// [`PdfError::Compile`] with all Typst diagnostics for template errors
    /// (including missing files and package imports), [`PdfError::FileName`]
    /// for a bad `files` name, [`PdfError::Data`] / [`PdfError::Export`] for
    /// serialization and PDF-writer failures.
    pub fn render_with(
        &self,
        template: &str,
        data: &serde_json::Value,
        files: &[(&str, Vec<u8>)],
        options: &RenderOptions,
    ) -> Result<RenderOutput, PdfError> {
        let world = RenderWorld::new(self, template, data, files, options.today)?;
        let result = world.compile(options);
        // Eviction only ages entries; concurrent renders merely lose cache hits.
        typst::comemo::evict(CACHE_MAX_AGE);
        result
    }

    /// Font family names available to templates, sorted.
    pub fn font_families(&self) -> Vec<String> {
        let mut names: Vec<String> = self.fonts.iter().map(|f| f.info().family.clone()).collect();
        names.sort();
        names.dedup();
        names
    }

    /// Characters of `text` that no face of `family` can draw (whitespace and
    /// control characters are ignored). Typst would fall back to another
    /// family for these, so an empty result means the text renders in the
    /// chosen family.
    ///
    /// # Errors
    /// [`PdfError::UnknownFont`] if no embedded font has that family name.
    pub fn missing_glyphs(&self, family: &str, text: &str) -> Result<Vec<char>, PdfError> {
        let faces: Vec<&Font> = self
            .fonts
            .iter()
            .filter(|f| f.info().family.eq_ignore_ascii_case(family))
            .collect();
        if faces.is_empty() {
            return Err(PdfError::UnknownFont(family.to_owned()));
        }
        let mut missing: Vec<char> = text
            .chars()
            .filter(|c| !c.is_whitespace() && !c.is_control())
            .filter(|&c| !faces.iter().any(|f| f.info().coverage.contains(u32::from(c))))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        Ok(missing)
    }
}

/// The in-memory world for one render.
struct RenderWorld<'a> {
    renderer: &'a Renderer,
    main: Source,
    /// Every readable file, including `main.typ` and `data.json`.
    files: HashMap<FileId, Bytes>,
    today: Option<Datetime>,
}

impl<'a> RenderWorld<'a> {
    fn new(
        renderer: &'a Renderer,
        template: &str,
        data: &serde_json::Value,
        extra: &[(&str, Vec<u8>)],
        today: Option<time::Date>,
    ) -> Result<Self, PdfError> {
        let main = Source::new(file_id(MAIN_PATH)?, template.to_owned());
        let mut files = HashMap::with_capacity(extra.len() + 2);
        // A view into the source's text, not a copy.
        files.insert(main.id(), Bytes::from_string(main.clone()));
        files.insert(file_id(DATA_PATH)?, Bytes::new(serde_json::to_vec(data)?));
        for (name, bytes) in extra {
            let id = file_id(name)?;
            if id == main.id() {
                return Err(PdfError::FileName {
                    name: (*name).to_owned(),
                    reason: "reserved for the template".to_owned(),
                });
            }
            // A caller-provided data.json deliberately overrides `data`.
            files.insert(id, Bytes::new(bytes.clone()));
        }
        Ok(Self {
            renderer,
            main,
            files,
            today: today.map(Datetime::Date),
        })
    }

    fn compile(&self, options: &RenderOptions) -> Result<RenderOutput, PdfError> {
        let warned = typst::compile::<PagedDocument>(self);
        let document = warned
            .output
            .map_err(|errs| PdfError::Compile(self.format(&errs)))?;

        let timestamp = options
            .created
            .map(|dt| Timestamp::new_utc(Datetime::Datetime(dt)));
        let pdf_options = PdfOptions {
            ident: options.ident.clone().map_or(Smart::Auto, Smart::Custom),
            timestamp,
            tagged: options.tagged,
            ..PdfOptions::default()
        };
        let pdf =
            typst_pdf::pdf(&document, &pdf_options).map_err(|errs| PdfError::Export(self.format(&errs)))?;

        Ok(RenderOutput {
            pdf,
            pages: document.pages().len(),
            warnings: warned.warnings.iter().map(|d| self.format_one(d)).collect(),
        })
    }

    fn format(&self, diags: &[SourceDiagnostic]) -> String {
        diags
            .iter()
            .map(|d| self.format_one(d))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// `error: main.typ:12:5: unknown variable: foo (at `foo`); hint: ...`
    fn format_one(&self, diag: &SourceDiagnostic) -> String {
        let severity = match diag.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut out = format!("{severity}: ");
        if let Some(location) = self.locate(diag.span) {
            out.push_str(&location);
            out.push_str(": ");
        }
        out.push_str(&diag.message);
        if let Some(snippet) = self.snippet(diag.span) {
            out.push_str(" (at `");
            out.push_str(&snippet);
            out.push_str("`)");
        }
        for hint in &diag.hints {
            out.push_str("; hint: ");
            out.push_str(&hint.v);
        }
        out
    }

    /// `path:line:col` for Typst sources, `path` for other files.
    fn locate(&self, span: typst::syntax::DiagSpan) -> Option<String> {
        let id = span.id()?;
        let path = id.vpath().get_without_slash().to_owned();
        let position = self.range(span).and_then(|range| {
            let source = self.source(id).ok()?;
            source.lines().byte_to_line_column(range.start)
        });
        Some(match position {
            Some((line, col)) => format!("{path}:{}:{}", line + 1, col + 1),
            None => path,
        })
    }

    fn snippet(&self, span: typst::syntax::DiagSpan) -> Option<String> {
        let range = self.range(span)?;
        let source = self.source(span.id()?).ok()?;
        let text = source.text().get(range)?;
        let line = text.lines().next()?.trim();
        let mut snippet: String = line.chars().take(SNIPPET_MAX).collect();
        if snippet.len() < text.trim().len() {
            snippet.push('…');
        }
        (!snippet.is_empty()).then_some(snippet)
    }
}

impl World for RenderWorld<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &self.renderer.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.renderer.book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            return Ok(self.main.clone());
        }
        // Extra `.typ` files can be `#import`ed / `#include`d.
        let bytes = self.file(id)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| FileError::InvalidUtf8)?;
        Ok(Source::new(id, text.to_owned()))
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if let VirtualRoot::Package(spec) = id.root() {
            return Err(FileError::Package(PackageError::Other(Some(
                format!("package imports are disabled ({spec})").into(),
            ))));
        }
        self.files
            .get(&id)
            .cloned()
            .ok_or_else(|| FileError::NotFound(PathBuf::from(id.vpath().get_with_slash())))
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.renderer.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        // The caller's date is already in the app's timezone; the offset
        // argument of `datetime.today(offset: ..)` is not honoured.
        self.today
    }
}

/// Interns a project-root path (`"photo.jpg"` -> `/photo.jpg`).
fn file_id(name: &str) -> Result<FileId, PdfError> {
    let vpath = VirtualPath::new(name).map_err(|err| PdfError::FileName {
        name: name.to_owned(),
        reason: err.to_string(),
    })?;
    Ok(RootedPath::new(VirtualRoot::Project, vpath).intern())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renderer_is_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Renderer>();
    }

    #[test]
    fn embedded_font_families() {
        let families = Renderer::new().font_families();
        for name in [
            "Libertinus Serif",
            "New Computer Modern",
            "New Computer Modern Math",
            "DejaVu Sans Mono",
        ] {
            assert!(
                families.iter().any(|f| f == name),
                "{name} missing from {families:?}"
            );
        }
    }

    #[test]
    fn italian_glyphs_are_covered() {
        let r = Renderer::new();
        let text = "àèéìòù ÀÈÉÌÒÙ € «» “” ’ – — … º ª";
        for family in ["Libertinus Serif", "New Computer Modern", "DejaVu Sans Mono"] {
            assert_eq!(
                r.missing_glyphs(family, text).unwrap(),
                Vec::<char>::new(),
                "{family}"
            );
        }
        assert!(matches!(
            r.missing_glyphs("Arial", "a"),
            Err(PdfError::UnknownFont(_))
        ));
    }

    #[test]
    fn compile_error_is_readable() {
        let err = Renderer::new()
            .render("Hello #foo(1)", &json!({}), &[])
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("main.typ:1:8"), "{msg}");
        assert!(msg.contains("unknown variable: foo"), "{msg}");
    }

    #[test]
    fn data_errors_point_at_template() {
        let tpl = "#let data = json(\"data.json\")\n= Soci\n#data.members.at(0).surname";
        let err = Renderer::new()
            .render(tpl, &json!({"members": []}), &[])
            .unwrap_err();
        let msg = err.to_string();
        eprintln!("{msg}");
        assert!(msg.contains("main.typ:3:"), "{msg}");
        assert!(msg.contains("array index out of bounds"), "{msg}");
    }

    #[test]
    fn warnings_are_reported() {
        let out = Renderer::new()
            .render_with(
                "#set text(font: \"Arial\")\nCiao",
                &json!({}),
                &[],
                &RenderOptions::default(),
            )
            .unwrap();
        assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
        assert!(
            out.warnings[0].starts_with("warning: main.typ:1:"),
            "{:?}",
            out.warnings
        );
        assert!(
            out.warnings[0].contains("unknown font family: arial"),
            "{:?}",
            out.warnings
        );
    }

    #[test]
    fn concurrent_renders() {
        let r = std::sync::Arc::new(Renderer::new());
        let pdfs: Vec<Vec<u8>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|i| {
                    let r = r.clone();
                    s.spawn(move || r.render("#json(\"data.json\").n", &json!({ "n": i % 2 }), &[]))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap().unwrap()).collect()
        });
        assert_eq!(pdfs[0], pdfs[2]);
        assert_ne!(pdfs[0], pdfs[1]);
    }

    #[test]
    fn packages_and_missing_files_are_rejected() {
        let r = Renderer::new();
        let err = r
            .render(r#"#import "@preview/cetz:0.3.0""#, &json!({}), &[])
            .unwrap_err();
        assert!(err.to_string().contains("package imports are disabled"), "{err}");
        let err = r.render(r#"#image("nope.png")"#, &json!({}), &[]).unwrap_err();
        assert!(err.to_string().contains("not found"), "{err}");
        let err = r.render(r#"#read("/etc/passwd")"#, &json!({}), &[]).unwrap_err();
        assert!(err.to_string().contains("not found"), "{err}");
    }

    #[test]
    fn data_files_today_and_metadata() {
        let r = Renderer::new();
        let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>"#;
        let tpl = r#"
            #set document(title: "Prova")
            #let data = json("data.json")
            = #data.name
            #image("logo.svg", width: 1cm)
            #datetime.today().display("[day]/[month]/[year]")
        "#;
        let opts = RenderOptions {
            today: time::Date::from_calendar_date(2025, time::Month::March, 7).ok(),
            created: time::Date::from_calendar_date(2025, time::Month::March, 7)
                .ok()
                .map(|d| d.with_hms(10, 0, 0).unwrap()),
            ident: Some("test-doc".into()),
            tagged: true,
        };
        let out = r
            .render_with(
                tpl,
                &json!({"name": "Città"}),
                &[("logo.svg", svg.to_vec())],
                &opts,
            )
            .unwrap();
        assert_eq!(out.pages, 1);
        assert!(out.pdf.starts_with(b"%PDF-"));
        assert!(
            out.pdf.windows(14).any(|w| w == b"D:202503071000"),
            "creation date missing"
        );

        // Without a date, `datetime.today()` is a compile error, not a panic.
        let err = r
            .render(tpl, &json!({"name": "x"}), &[("logo.svg", svg.to_vec())])
            .unwrap_err();
        assert!(matches!(err, PdfError::Compile(_)), "{err}");
    }
}

//! The site's files: the client bundle, the stylesheet, icons, the manifest, the offline
//! page. A release build carries them in the binary (the `embed-site` feature:
//! scripts/build-release.sh builds the site and its brotli and gzip copies before the
//! server, which embeds them with rust-embed), so deploying the portal is copying one
//! file. `--site-root` / `LEPTOS_SITE_ROOT` names a folder to serve instead
//! (development, and every build without the feature).

#[cfg(any(test, feature = "embed-site"))]
use axum::http::header;
#[cfg(feature = "embed-site")]
use axum::{body::Body, http::StatusCode};
use axum::{http::HeaderMap, response::Response};
use std::{borrow::Cow, path::PathBuf};

/// Where the site's files come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Site {
    /// A folder on disk (`--site-root` / `LEPTOS_SITE_ROOT`).
    Folder(PathBuf),
    /// The copy carried in the binary.
    Embedded,
}

#[cfg(feature = "embed-site")]
#[derive(rust_embed::Embed)]
#[folder = "../target/site/"]
#[allow_missing = true]
struct Files;

/// The folder served when none is named and the binary carries no site.
const DEFAULT_FOLDER: &str = "target/site";

impl Site {
    /// The named folder, else the binary's own copy, else `target/site`.
    pub fn choose(folder: Option<PathBuf>) -> Self {
        match folder {
            Some(f) => Site::Folder(f),
            None if embedded("pkg/portal.wasm").is_some() => Site::Embedded,
            None => {
                if cfg!(feature = "embed-site") {
                    tracing::warn!(
                        "this binary was built to carry its site but carries none (was the \
                         site built first?): serving {DEFAULT_FOLDER}"
                    );
                }
                Site::Folder(PathBuf::from(DEFAULT_FOLDER))
            }
        }
    }

    /// The folder, when the files are read from one.
    pub fn folder(&self) -> Option<&std::path::Path> {
        match self {
            Site::Folder(f) => Some(f),
            Site::Embedded => None,
        }
    }

    /// A file's bytes, by its path in the site (`pkg/portal.wasm`).
    pub fn read(&self, path: &str) -> Option<Cow<'static, [u8]>> {
        match self {
            Site::Folder(f) => std::fs::read(f.join(path)).ok().map(Cow::Owned),
            Site::Embedded => embedded(path),
        }
    }

    /// For logs: where the files come from.
    pub fn describe(&self) -> String {
        match self {
            Site::Folder(f) => format!("folder {}", f.display()),
            Site::Embedded => "embedded in the binary".into(),
        }
    }
}

/// An embedded file's bytes (none without the feature).
fn embedded(path: &str) -> Option<Cow<'static, [u8]>> {
    #[cfg(feature = "embed-site")]
    {
        Files::get(path).map(|f| f.data)
    }
    #[cfg(not(feature = "embed-site"))]
    {
        let _ = path;
        None
    }
}

/// Whether the request's `Accept-Encoding` accepts `coding` (a `q=0` refuses it).
#[cfg(any(test, feature = "embed-site"))]
fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            name.eq_ignore_ascii_case(coding) && !refused
        })
}

/// An embedded file as the answer to a GET: its brotli or gzip copy when the browser
/// accepts one, an `ETag` (and `304 Not Modified` for a matching `If-None-Match`), its
/// content type, and `cache_control`. `None` when the binary carries no such file.
pub fn embedded_response(
    path: &str,
    request: &HeaderMap,
    cache_control: &'static str,
) -> Option<Response> {
    #[cfg(feature = "embed-site")]
    {
        // Only names of files: no `..`, no empty segments (rust-embed looks names up in
        // its table, so nothing outside it can be reached anyway).
        if path.is_empty() || path.split('/').any(|s| s.is_empty() || s == "..") {
            return None;
        }
        let original = Files::get(path)?;
        let mime = original.metadata.mimetype().to_string();
        let (file, coding) = [("br", ".br"), ("gzip", ".gz")]
            .into_iter()
            .filter(|(coding, _)| accepts(request, coding))
            .find_map(|(coding, ext)| {
                Files::get(&format!("{path}{ext}"))
                    // A compressed copy older than its file is of another build.
                    .filter(|f| f.metadata.last_modified() >= original.metadata.last_modified())
                    .map(|f| (f, Some(coding)))
            })
            .unwrap_or((original, None));
        let hash = file.metadata.sha256_hash();
        let etag = format!("\"{}\"", hex::encode(&hash[..12]));
        let unchanged = request
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim() == etag || t.trim() == "*");
        let mut builder = Response::builder()
            .header(header::ETAG, &etag)
            .header(header::VARY, "accept-encoding")
            .header(header::CACHE_CONTROL, cache_control);
        if unchanged {
            return builder
                .status(StatusCode::NOT_MODIFIED)
                .body(Body::empty())
                .ok();
        }
        builder = builder.header(header::CONTENT_TYPE, mime);
        if let Some(coding) = coding {
            builder = builder.header(header::CONTENT_ENCODING, coding);
        }
        let body = match file.data {
            Cow::Borrowed(b) => Body::from(b),
            Cow::Owned(b) => Body::from(b),
        };
        builder.body(body).ok()
    }
    #[cfg(not(feature = "embed-site"))]
    {
        let _ = (path, request, cache_control);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_is_read_with_its_weights() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(
                header::ACCEPT_ENCODING,
                axum::http::HeaderValue::from_str(v)
                    .unwrap_or(axum::http::HeaderValue::from_static("")),
            );
            m
        };
        assert!(accepts(&h("gzip, deflate, br, zstd"), "br"));
        assert!(accepts(&h("gzip;q=1.0, br;q=0.5"), "br"));
        assert!(!accepts(&h("gzip, br;q=0"), "br"));
        assert!(accepts(&h("gzip, br;q=0"), "gzip"));
        assert!(!accepts(&h("identity"), "br"));
        assert!(!accepts(&HeaderMap::new(), "gzip"));
    }

    #[test]
    fn a_named_folder_wins() {
        assert_eq!(
            Site::choose(Some(PathBuf::from("/srv/site"))),
            Site::Folder(PathBuf::from("/srv/site"))
        );
    }
}

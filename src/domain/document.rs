//! What may be uploaded: a few document formats, recognised by their content as well as their
//! declared type (a renamed executable is not a PDF), with clean names and kinds.

/// Formats accepted for application documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentFormat {
    Pdf,
    Png,
    Jpeg,
    /// Word, Excel and OpenDocument files are ZIP containers.
    OfficeZip,
}

impl DocumentFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            DocumentFormat::Pdf => "application/pdf",
            DocumentFormat::Png => "image/png",
            DocumentFormat::Jpeg => "image/jpeg",
            DocumentFormat::OfficeZip => "application/zip",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("only PDF, PNG, JPEG and Office/OpenDocument files are accepted")]
    UnsupportedType,
    #[error("the file's content is not a {0} file")]
    ContentMismatch(&'static str),
    #[error("the file is empty")]
    Empty,
    #[error(
        "a document kind is 1 to 100 capital letters, digits or underscores, such as REGISTRATION_CERTIFICATE"
    )]
    InvalidKind,
}

const OFFICE_TYPES: [&str; 7] = [
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/zip",
];

/// The format of an upload, from its declared content type, checked against its first bytes.
pub fn check_format(declared: &str, content: &[u8]) -> Result<DocumentFormat, DocumentError> {
    if content.is_empty() {
        return Err(DocumentError::Empty);
    }
    let declared = declared
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let (format, magic): (DocumentFormat, &[u8]) = match declared.as_str() {
        "application/pdf" => (DocumentFormat::Pdf, b"%PDF-"),
        "image/png" => (DocumentFormat::Png, b"\x89PNG\r\n\x1a\n"),
        "image/jpeg" => (DocumentFormat::Jpeg, b"\xff\xd8\xff"),
        other if OFFICE_TYPES.contains(&other) => (DocumentFormat::OfficeZip, b"PK\x03\x04"),
        _ => return Err(DocumentError::UnsupportedType),
    };
    if content.starts_with(magic)
        && (format != DocumentFormat::OfficeZip || is_office_container(&declared, content))
    {
        Ok(format)
    } else {
        Err(DocumentError::ContentMismatch(match format {
            DocumentFormat::Pdf => "PDF",
            DocumentFormat::Png => "PNG",
            DocumentFormat::Jpeg => "JPEG",
            DocumentFormat::OfficeZip => "Office",
        }))
    }
}

/// Whether a ZIP file is the Office or OpenDocument container its declared type says (any of
/// them for `application/zip`). Any bytes can start with a ZIP header; the containers are told
/// apart by what the standards require of them, read without decompressing anything:
/// OpenDocument (ODF 1.2 part 3, 3.3) puts an uncompressed `mimetype` entry first holding the
/// media type; Office Open XML (ECMA-376 part 2) has `[Content_Types].xml` at the root, listed
/// in the ZIP's central directory with the parts of the application (`word/`, `xl/`, `ppt/`).
fn is_office_container(declared: &str, content: &[u8]) -> bool {
    const OOXML: [(&str, &str); 3] = [
        (OFFICE_TYPES[0], "word/"),
        (OFFICE_TYPES[1], "xl/"),
        (OFFICE_TYPES[2], "ppt/"),
    ];
    let generic = declared == "application/zip";
    if let Some(mimetype) = odf_mimetype(content) {
        return if generic {
            mimetype.starts_with("application/vnd.oasis.opendocument.")
        } else {
            mimetype == declared
        };
    }
    let Some(names) = zip_entry_names(content) else {
        return false;
    };
    if !names.iter().any(|name| name == "[Content_Types].xml") {
        return false;
    }
    OOXML
        .iter()
        .filter(|(ty, _)| generic || *ty == declared)
        .any(|(_, folder)| names.iter().any(|name| name.starts_with(folder)))
}

fn u16_at(bytes: &[u8], at: usize) -> Option<usize> {
    let b = bytes.get(at..at + 2)?;
    Some(u16::from_le_bytes([b[0], b[1]]) as usize)
}

fn u32_at(bytes: &[u8], at: usize) -> Option<usize> {
    let b = bytes.get(at..at + 4)?;
    usize::try_from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok()
}

/// The media type in an OpenDocument's first entry, if the file starts as one must.
fn odf_mimetype(content: &[u8]) -> Option<&str> {
    if !content.starts_with(b"PK\x03\x04") {
        return None;
    }
    let method = u16_at(content, 8)?;
    let stored = u32_at(content, 18)?;
    let name_len = u16_at(content, 26)?;
    let extra_len = u16_at(content, 28)?;
    let name = content.get(30..30 + name_len)?;
    if name != b"mimetype" || method != 0 || stored > 200 {
        return None;
    }
    let start = 30 + name_len + extra_len;
    std::str::from_utf8(content.get(start..start + stored)?).ok()
}

/// The entry names listed in a ZIP's central directory, found from its end record.
fn zip_entry_names(content: &[u8]) -> Option<Vec<String>> {
    const END_SIGNATURE: &[u8] = b"PK\x05\x06";
    const ENTRY_SIGNATURE: &[u8] = b"PK\x01\x02";
    // The end record is 22 bytes plus a comment of at most 65535.
    let search_from = content.len().saturating_sub(22 + 65_535);
    let end = (search_from..=content.len().checked_sub(22)?)
        .rev()
        .find(|&at| content.get(at..at + 4) == Some(END_SIGNATURE))?;
    let entries = u16_at(content, end + 10)?;
    let mut at = u32_at(content, end + 16)?;
    let mut names = Vec::with_capacity(entries.min(1024));
    for _ in 0..entries {
        if content.get(at..at + 4) != Some(ENTRY_SIGNATURE) {
            return None;
        }
        let name_len = u16_at(content, at + 28)?;
        let extra_len = u16_at(content, at + 30)?;
        let comment_len = u16_at(content, at + 32)?;
        let name = content.get(at + 46..at + 46 + name_len)?;
        names.push(String::from_utf8_lossy(name).into_owned());
        at += 46 + name_len + extra_len + comment_len;
    }
    Some(names)
}

/// A document kind such as `BUDGET` or `REGISTRATION_CERTIFICATE`, upper-cased.
pub fn parse_kind(text: &str) -> Result<String, DocumentError> {
    let kind = text.trim().to_ascii_uppercase();
    if kind.is_empty()
        || kind.len() > 100
        || !kind
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(DocumentError::InvalidKind);
    }
    Ok(kind)
}

/// A file name safe to show and to send back in a header: the last path segment, without control
/// characters or quotes, at most 255 characters.
pub fn clean_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(255)
        .collect();
    let cleaned = cleaned.trim().to_owned();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        "document".to_owned()
    } else {
        cleaned
    }
}

/// A name that says what a document is without who wrote it: its kind and the original
/// extension (when it is a short alphanumeric one), for reviewers of a blind call.
pub fn neutral_file_name(kind: &str, original: &str) -> String {
    let extension = original.rsplit_once('.').map(|(_, ext)| ext).filter(|ext| {
        (1..=5).contains(&ext.len()) && ext.chars().all(|c| c.is_ascii_alphanumeric())
    });
    match extension {
        Some(ext) => format!("{kind}.{}", ext.to_ascii_lowercase()),
        None => kind.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutral_names_keep_only_the_kind_and_extension() {
        assert_eq!(
            neutral_file_name("budget_plan", "Green Bridge budget.PDF"),
            "budget_plan.pdf"
        );
        assert_eq!(
            neutral_file_name("budget_plan", "Green Bridge"),
            "budget_plan"
        );
        assert_eq!(
            neutral_file_name("budget_plan", "report.Green Bridge"),
            "budget_plan"
        );
    }

    const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    const ODT: &str = "application/vnd.oasis.opendocument.text";

    /// A ZIP of stored (uncompressed) entries, as a minimal writer makes one.
    fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut directory = Vec::new();
        for (name, data) in entries {
            let offset = out.len() as u32;
            let header = |sig: &[u8], central: bool| {
                let mut h = sig.to_vec();
                if central {
                    h.extend_from_slice(&20u16.to_le_bytes());
                }
                h.extend_from_slice(&20u16.to_le_bytes()); // version needed
                h.extend_from_slice(&0u16.to_le_bytes()); // flags
                h.extend_from_slice(&0u16.to_le_bytes()); // stored
                h.extend_from_slice(&[0; 4]); // time, date
                h.extend_from_slice(&[0; 4]); // crc (not checked)
                h.extend_from_slice(&(data.len() as u32).to_le_bytes());
                h.extend_from_slice(&(data.len() as u32).to_le_bytes());
                h.extend_from_slice(&(name.len() as u16).to_le_bytes());
                h.extend_from_slice(&0u16.to_le_bytes()); // extra
                if central {
                    h.extend_from_slice(&[0; 6]); // comment, disk, internal attributes
                    h.extend_from_slice(&[0; 4]); // external attributes
                    h.extend_from_slice(&offset.to_le_bytes());
                }
                h.extend_from_slice(name.as_bytes());
                h
            };
            out.extend(header(b"PK\x03\x04", false));
            out.extend_from_slice(data);
            directory.extend(header(b"PK\x01\x02", true));
        }
        let start = out.len() as u32;
        out.extend_from_slice(&directory);
        out.extend_from_slice(b"PK\x05\x06");
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(directory.len() as u32).to_le_bytes());
        out.extend_from_slice(&start.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    #[test]
    fn office_files_are_recognised_by_their_container() {
        let docx = zip(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("_rels/.rels", b"<Relationships/>"),
            ("word/document.xml", b"<w:document/>"),
        ]);
        assert_eq!(check_format(DOCX, &docx), Ok(DocumentFormat::OfficeZip));
        assert_eq!(
            check_format("application/zip", &docx),
            Ok(DocumentFormat::OfficeZip)
        );
        let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
        assert!(
            check_format(xlsx, &docx).is_err(),
            "a Word file is not a workbook"
        );

        let odt = zip(&[("mimetype", ODT.as_bytes()), ("content.xml", b"<office/>")]);
        assert_eq!(check_format(ODT, &odt), Ok(DocumentFormat::OfficeZip));
        assert!(check_format("application/vnd.oasis.opendocument.spreadsheet", &odt).is_err());

        let plain = zip(&[("payload.exe", b"MZ\x90\x00"), ("word/x.xml", b"")]);
        assert_eq!(
            check_format(DOCX, &plain),
            Err(DocumentError::ContentMismatch("Office"))
        );
        assert!(check_format("application/zip", &plain).is_err());
        // Truncated or lying directories are refused, never read past the end.
        assert!(check_format(DOCX, &docx[..docx.len() - 5]).is_err());
        let mut lying = docx.clone();
        let at = lying.len() - 6;
        lying[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(check_format(DOCX, &lying).is_err());
    }

    #[test]
    fn declared_types_must_match_the_content() {
        assert_eq!(
            check_format("application/pdf", b"%PDF-1.7 ..."),
            Ok(DocumentFormat::Pdf)
        );
        assert_eq!(
            check_format("image/png", b"\x89PNG\r\n\x1a\nrest"),
            Ok(DocumentFormat::Png)
        );
        assert_eq!(
            check_format(DOCX, b"PK\x03\x04..."),
            Err(DocumentError::ContentMismatch("Office")),
            "a ZIP header alone is not a Word file"
        );
        assert_eq!(
            check_format("application/pdf", b"MZ\x90\x00"),
            Err(DocumentError::ContentMismatch("PDF"))
        );
    }

    #[test]
    fn other_types_and_empty_files_are_refused() {
        assert_eq!(
            check_format("application/x-msdownload", b"MZ"),
            Err(DocumentError::UnsupportedType)
        );
        assert_eq!(
            check_format("text/html", b"<html>"),
            Err(DocumentError::UnsupportedType)
        );
        assert_eq!(
            check_format("application/pdf", b""),
            Err(DocumentError::Empty)
        );
    }

    #[test]
    fn kinds_are_upper_snake_case() {
        assert_eq!(parse_kind(" budget_plan ").unwrap(), "BUDGET_PLAN");
        assert!(parse_kind("a b").is_err());
        assert!(parse_kind("").is_err());
    }

    #[test]
    fn file_names_lose_paths_and_header_breakers() {
        assert_eq!(clean_file_name(r"C:\Users\x\plan.pdf"), "plan.pdf");
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("a\r\n\"b.pdf"), "ab.pdf");
        assert_eq!(clean_file_name(".."), "document");
    }
}

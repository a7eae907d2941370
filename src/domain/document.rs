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
    if content.starts_with(magic) {
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
            check_format(
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                b"PK\x03\x04..."
            ),
            Ok(DocumentFormat::OfficeZip)
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

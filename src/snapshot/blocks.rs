//! `{% snapshot name %} ... {% endsnapshot %}` blocks: dbt's legacy way of
//! writing a snapshot, any number of them in one SQL file of
//! `snapshot-paths`.

use std::sync::LazyLock;

use regex::Regex;

use crate::diagnostic::{Diagnostic, Location};

static OPENING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{%-?\s*snapshot\s+([A-Za-z_][A-Za-z0-9_]*)\s*-?%\}").unwrap_or_else(|_| unreachable!())
});
static CLOSING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{%-?\s*endsnapshot\s*-?%\}").unwrap_or_else(|_| unreachable!()));

/// One snapshot block of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub name: String,
    /// What the block holds, between its tags: the snapshot's `raw_code`.
    pub body: String,
    /// The 1-based line of the opening tag.
    pub line: usize,
    /// The whole file with everything but the body blanked out (newlines
    /// kept), so that a problem found while rendering the body is reported
    /// at its line and column in the file.
    pub in_place: String,
}

/// The snapshot blocks of a file, in order. A block that is never closed is
/// an error at its opening tag.
pub fn find(path: &str, text: &str) -> Result<Vec<Block>, Diagnostic> {
    let mut blocks = Vec::new();
    let mut from = 0;
    while let Some(opening) = OPENING.captures_at(text, from) {
        let (Some(tag), Some(name)) = (opening.get(0), opening.get(1)) else {
            break;
        };
        let Some(closing) = CLOSING.find_at(text, tag.end()) else {
            return Err(
                Diagnostic::error(format!("snapshot `{}` has no `{{% endsnapshot %}}`", name.as_str()))
                    .at(Location::from_offset(path, text, tag.start(), tag.len()), Some(text))
                    .hint("end the block with `{% endsnapshot %}`"),
            );
        };
        let body = &text[tag.end()..closing.start()];
        let in_place: String = text
            .char_indices()
            .map(|(offset, character)| {
                let inside = offset >= tag.end() && offset < closing.start();
                if inside || character == '\n' {
                    character
                } else {
                    ' '
                }
            })
            .collect();
        blocks.push(Block {
            name: name.as_str().to_string(),
            body: body.to_string(),
            line: text[..tag.start()].matches('\n').count() + 1,
            in_place,
        });
        from = closing.end();
    }
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_block_with_its_line_and_body() {
        let text = "-- history\n{% snapshot a %}\nselect 1\n{% endsnapshot %}\n\n{%- snapshot b -%}select 2{%- endsnapshot -%}\n";
        let blocks = find("snapshots/s.sql", text).unwrap_or_default();
        assert_eq!(blocks.len(), 2);
        assert_eq!((blocks[0].name.as_str(), blocks[0].line), ("a", 2));
        assert_eq!(blocks[0].body, "\nselect 1\n");
        assert_eq!(blocks[0].in_place.lines().nth(2), Some("select 1"));
        assert_eq!(blocks[0].in_place.lines().count(), text.lines().count());
        assert_eq!(
            (blocks[1].name.as_str(), blocks[1].line, blocks[1].body.as_str()),
            ("b", 6, "select 2")
        );
    }

    #[test]
    fn an_unclosed_block_is_an_error_at_its_tag() {
        let error = find("snapshots/s.sql", "\n{% snapshot a %}\nselect 1\n").err();
        let location = error.and_then(|error| error.location.clone());
        assert_eq!(location.map(|location| location.line), Some(2));
    }
}

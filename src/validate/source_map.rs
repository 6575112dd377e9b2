//! Maps a position in a node's compiled SQL back to its source file.
//!
//! Compiled SQL is the raw file with its Jinja tags replaced by their output,
//! so outside Jinja the lines are identical. The map aligns the two texts line
//! by line, by content (a patience diff), and then handles what Jinja changed:
//!
//! - A line found unchanged in both maps exactly, column for column (allowing
//!   for changed indentation).
//! - A source line holding tags, such as `from {{ ref('orders') }} o`, is
//!   matched against the compiled lines as a pattern, the tags being wildcards.
//!   A position in its literal text maps exactly; a position inside a tag's
//!   output maps to the tag.
//! - A line no source line accounts for, such as the output of a macro or a
//!   loop, maps to the nearest tag that could have produced it, and is marked
//!   inexact so that the caller can show the compiled line as well.
//!
//! Lines inside a multi-line tag (`{{ config(...) }}` over several lines) never
//! match compiled text, even when they look alike (`)`).

use similar::{Algorithm, DiffTag};

/// Where a compiled position comes from in the source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourcePosition {
    /// 1-based line in the source file.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Characters to underline.
    pub length: usize,
    /// False when the position is a Jinja tag whose output holds the problem,
    /// rather than the problem itself.
    pub exact: bool,
}

/// The origin of every line of a compiled text.
#[derive(Debug)]
pub struct SourceMap {
    lines: Vec<Origin>,
}

#[derive(Debug, Clone)]
enum Origin {
    /// The same text as a source line; `shift` is the source column minus the
    /// compiled column (indentation may differ).
    Verbatim { line: usize, shift: isize },
    /// A source line with tags, matched as a pattern.
    Template { line: usize, pieces: Vec<MatchedPiece> },
    /// Made by a tag with no literal counterpart: points at the tag (0-based
    /// column and length in characters), or at the whole line.
    Generated { line: usize, column: usize, length: usize },
}

/// A piece of a matched template line, in 0-based character columns.
#[derive(Debug, Clone)]
struct MatchedPiece {
    compiled_start: usize,
    compiled_end: usize,
    source_start: usize,
    /// For a tag, its length in the source; `None` for literal text.
    tag_length: Option<usize>,
}

/// A piece of a source line: literal text, or (part of) a Jinja tag.
#[derive(Debug, Clone)]
enum Piece {
    Literal { text: String, start: usize },
    Tag { start: usize, length: usize, output: bool },
}

/// One source line, split into pieces.
#[derive(Debug)]
struct SourceLine {
    pieces: Vec<Piece>,
    /// The line holds some part of a tag.
    has_tag: bool,
    /// The line holds a `{{ ... }}` expression (as opposed to only statements
    /// and comments, which print nothing themselves).
    has_output: bool,
}

impl SourceMap {
    pub fn new(source: &str, compiled: &str) -> SourceMap {
        let source_lines: Vec<&str> = source.lines().collect();
        let compiled_lines: Vec<&str> = compiled.lines().collect();
        let split = split_lines(source);

        // Lines touched by Jinja get a key no compiled line can equal.
        #[derive(PartialEq, Eq, Hash, PartialOrd, Ord)]
        enum Key<'a> {
            Text(&'a str),
            Jinja(usize),
        }
        let source_keys: Vec<Key> = source_lines
            .iter()
            .enumerate()
            .map(|(index, line)| {
                if split.get(index).is_some_and(|line| line.has_tag) {
                    Key::Jinja(index)
                } else {
                    Key::Text(line.trim())
                }
            })
            .collect();
        let compiled_keys: Vec<Key> = compiled_lines.iter().map(|line| Key::Text(line.trim())).collect();

        let mut lines: Vec<Option<Origin>> = vec![None; compiled_lines.len()];
        let operations = similar::capture_diff_slices(Algorithm::Patience, &source_keys, &compiled_keys);
        for operation in operations {
            let (tag, source_range, compiled_range) = operation.as_tag_tuple();
            match tag {
                DiffTag::Equal => {
                    for (source_index, compiled_index) in source_range.zip(compiled_range) {
                        let shift = indent(source_lines[source_index]) as isize
                            - indent(compiled_lines[compiled_index]) as isize;
                        lines[compiled_index] = Some(Origin::Verbatim {
                            line: source_index + 1,
                            shift,
                        });
                    }
                }
                DiffTag::Delete => {}
                DiffTag::Insert | DiffTag::Replace => {
                    let mut cursor = source_range.start;
                    for compiled_index in compiled_range {
                        let origin = match_line(
                            compiled_lines[compiled_index],
                            &source_lines,
                            &split,
                            source_range.clone(),
                            &mut cursor,
                        );
                        lines[compiled_index] = Some(origin);
                    }
                }
            }
        }
        let lines = lines
            .into_iter()
            .map(|origin| {
                origin.unwrap_or(Origin::Generated {
                    line: 1,
                    column: 0,
                    length: 0,
                })
            })
            .collect();
        SourceMap { lines }
    }

    /// The source position of 1-based `line` and `column` of the compiled
    /// text, underlining `length` characters. A line past the end maps as the
    /// last line.
    pub fn position(&self, line: usize, column: usize, length: usize) -> Option<SourcePosition> {
        let index = line.max(1).min(self.lines.len()).checked_sub(1)?;
        let column = column.max(1) - 1;
        let length = length.max(1);
        Some(match &self.lines[index] {
            Origin::Verbatim { line, shift } => SourcePosition {
                line: *line,
                column: (column as isize + shift).max(0) as usize + 1,
                length,
                exact: true,
            },
            Origin::Template { line, pieces } => {
                // Past the end of the line (an unfinished query): past the end
                // of the source line too.
                if let Some(last) = pieces.last().filter(|last| column >= last.compiled_end) {
                    let source_end =
                        last.source_start + last.tag_length.unwrap_or(last.compiled_end - last.compiled_start);
                    return Some(SourcePosition {
                        line: *line,
                        column: source_end + (column - last.compiled_end) + 1,
                        length,
                        exact: true,
                    });
                }
                let piece = pieces
                    .iter()
                    .find(|piece| column >= piece.compiled_start && column < piece.compiled_end)
                    .or_else(|| pieces.last());
                match piece {
                    Some(MatchedPiece {
                        tag_length: Some(tag_length),
                        source_start,
                        ..
                    }) => SourcePosition {
                        line: *line,
                        column: source_start + 1,
                        length: *tag_length,
                        exact: false,
                    },
                    Some(piece) => SourcePosition {
                        line: *line,
                        column: piece.source_start + column.saturating_sub(piece.compiled_start) + 1,
                        length,
                        exact: true,
                    },
                    None => SourcePosition {
                        line: *line,
                        column: 1,
                        length: 1,
                        exact: false,
                    },
                }
            }
            Origin::Generated { line, column, length } => SourcePosition {
                line: *line,
                column: column + 1,
                length: (*length).max(1),
                exact: false,
            },
        })
    }
}

/// Finds the origin of a compiled line that the diff left unmatched, among
/// the source lines of its hunk (`range`, possibly empty for an insertion).
/// `cursor` keeps matches in order.
fn match_line(
    compiled: &str,
    source_lines: &[&str],
    split: &[SourceLine],
    range: std::ops::Range<usize>,
    cursor: &mut usize,
) -> Origin {
    // A source line with literal text and tags, matched as a pattern.
    let start = (*cursor).max(range.start);
    for (index, line) in split.iter().enumerate().take(range.end).skip(start) {
        let has_text = line
            .pieces
            .iter()
            .any(|piece| matches!(piece, Piece::Literal { text, .. } if !text.trim().is_empty()));
        if !line.has_tag || !has_text {
            continue;
        }
        if let Some(pieces) = match_template(compiled, &line.pieces) {
            *cursor = index;
            return Origin::Template {
                line: index + 1,
                pieces,
            };
        }
    }
    // A plain line that lost its end, such as a trailing `;`.
    for index in (*cursor).max(range.start)..range.end {
        let text = source_lines[index].trim();
        if !split[index].has_tag && !compiled.trim().is_empty() && text.starts_with(compiled.trim()) {
            *cursor = index;
            let shift = indent(source_lines[index]) as isize - indent(compiled) as isize;
            return Origin::Verbatim { line: index + 1, shift };
        }
    }
    // Output of a tag: the first expression at or after the cursor, then any
    // tag, in the hunk; for an insertion, the nearest tag before it.
    let in_hunk = (*cursor).max(range.start)..range.end;
    let candidates = in_hunk
        .clone()
        .find(|index| split[*index].has_output)
        .or_else(|| in_hunk.clone().find(|index| split[*index].has_tag))
        .or_else(|| {
            (0..range.start.min(split.len()))
                .rev()
                .find(|index| split[*index].has_output)
        })
        .or_else(|| (range.start..split.len()).find(|index| split[*index].has_output));
    match candidates {
        Some(index) => {
            let tag = split[index].pieces.iter().find_map(|piece| match piece {
                Piece::Tag {
                    start,
                    length,
                    output: true,
                } => Some((*start, *length)),
                _ => None,
            });
            let tag = tag.or_else(|| {
                split[index].pieces.iter().find_map(|piece| match piece {
                    Piece::Tag { start, length, .. } => Some((*start, *length)),
                    _ => None,
                })
            });
            let (column, length) = tag.unwrap_or((0, 0));
            Origin::Generated {
                line: index + 1,
                column,
                length,
            }
        }
        None => Origin::Generated {
            line: range.start.min(source_lines.len().saturating_sub(1)) + 1,
            column: 0,
            length: 0,
        },
    }
}

/// Matches a compiled line against a source line's pieces, tags matching any
/// text. Literal pieces are matched leftmost; indentation and trailing
/// whitespace are ignored.
fn match_template(compiled: &str, pieces: &[Piece]) -> Option<Vec<MatchedPiece>> {
    let compiled_indent = indent(compiled);
    let text: Vec<char> = compiled.trim().chars().collect();
    // Pieces with the source line's indentation taken off the first literal
    // and trailing whitespace off the last.
    let mut pieces: Vec<Piece> = pieces.to_vec();
    if let Some(Piece::Literal { text, start }) = pieces.first_mut() {
        let trimmed = text.trim_start();
        *start += text.chars().count() - trimmed.chars().count();
        *text = trimmed.to_string();
    }
    if let Some(Piece::Literal { text, .. }) = pieces.last_mut() {
        *text = text.trim_end().to_string();
    }
    pieces.retain(|piece| !matches!(piece, Piece::Literal { text, .. } if text.is_empty()));

    let mut matched = Vec::with_capacity(pieces.len());
    let mut position = 0;
    let count = pieces.len();
    for (index, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Literal { text: literal, start } => {
                let literal: Vec<char> = literal.chars().collect();
                let found = if index == 0 {
                    text.starts_with(&literal).then_some(0)
                } else if index == count - 1 {
                    let at = text.len().checked_sub(literal.len())?;
                    (at >= position && text[at..] == literal[..]).then_some(at)
                } else {
                    find_chars(&text[position..], &literal).map(|offset| position + offset)
                }?;
                if index + 1 == count && found + literal.len() != text.len() {
                    return None;
                }
                // The tag before this literal ends where the literal starts.
                if let Some(previous) = matched.last_mut() {
                    let previous: &mut MatchedPiece = previous;
                    if previous.tag_length.is_some() {
                        previous.compiled_end = found + compiled_indent;
                    }
                }
                matched.push(MatchedPiece {
                    compiled_start: found + compiled_indent,
                    compiled_end: found + literal.len() + compiled_indent,
                    source_start: *start,
                    tag_length: None,
                });
                position = found + literal.len();
            }
            Piece::Tag { start, length, .. } => {
                matched.push(MatchedPiece {
                    compiled_start: position + compiled_indent,
                    compiled_end: text.len() + compiled_indent,
                    source_start: *start,
                    tag_length: Some(*length),
                });
            }
        }
    }
    Some(matched)
}

fn find_chars(haystack: &[char], needle: &[char]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// Leading whitespace, in characters.
fn indent(line: &str) -> usize {
    line.chars().take_while(|character| character.is_whitespace()).count()
}

/// Splits every source line into literal text and Jinja tags. A tag may span
/// lines; each line gets the part of it that it holds.
fn split_lines(source: &str) -> Vec<SourceLine> {
    let tags = tag_spans(source);
    let mut lines = Vec::new();
    let mut line_start = 0;
    let mut tag_index = 0;
    for line in source.split('\n') {
        let line_end = line_start + line.len();
        let text = line.strip_suffix('\r').unwrap_or(line);
        let text_end = line_start + text.len();
        let mut pieces = Vec::new();
        let mut has_tag = false;
        let mut has_output = false;
        let mut offset = line_start;
        while tag_index < tags.len() && tags[tag_index].1 <= line_start {
            tag_index += 1;
        }
        let mut index = tag_index;
        while offset < text_end {
            let next_tag = tags.get(index).filter(|(start, _, _)| *start < text_end);
            match next_tag {
                Some(&(start, end, output)) => {
                    let tag_start = start.max(offset);
                    if tag_start > offset {
                        pieces.push(Piece::Literal {
                            text: source[offset..tag_start].to_string(),
                            start: source[line_start..offset].chars().count(),
                        });
                    }
                    let tag_end = end.min(text_end);
                    pieces.push(Piece::Tag {
                        start: source[line_start..tag_start].chars().count(),
                        length: source[tag_start..tag_end].chars().count(),
                        output,
                    });
                    has_tag = true;
                    has_output |= output;
                    offset = tag_end;
                    if end <= text_end {
                        index += 1;
                    }
                }
                None => {
                    pieces.push(Piece::Literal {
                        text: source[offset..text_end].to_string(),
                        start: source[line_start..offset].chars().count(),
                    });
                    offset = text_end;
                }
            }
        }
        lines.push(SourceLine {
            pieces,
            has_tag,
            has_output,
        });
        line_start = line_end + 1;
    }
    lines
}

/// Byte ranges of every Jinja tag (`{{ }}`, `{% %}`, `{# #}`), with whether
/// it is an expression. An unclosed tag runs to the end.
fn tag_spans(source: &str) -> Vec<(usize, usize, bool)> {
    let mut spans = Vec::new();
    let bytes = source.as_bytes();
    let mut offset = 0;
    while offset + 1 < bytes.len() {
        if bytes[offset] != b'{' {
            offset += 1;
            continue;
        }
        let closer = match bytes[offset + 1] {
            b'{' => "}}",
            b'%' => "%}",
            b'#' => "#}",
            _ => {
                offset += 1;
                continue;
            }
        };
        let end = source[offset + 2..]
            .find(closer)
            .map_or(source.len(), |found| offset + 2 + found + 2);
        let is_raw = closer == "%}" && source[offset + 2..end].trim_matches(['-', '+', ' ', '%', '}']).trim() == "raw";
        spans.push((offset, end, closer == "}}"));
        offset = end;
        if is_raw {
            // `{% raw %}...{% endraw %}` prints its body as it is.
            if let Some(found) = source[offset..].find("endraw") {
                let close = source[offset..].get(..found).and_then(|text| text.rfind("{%"));
                if let Some(close) = close {
                    offset += close;
                }
            }
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(source: &str, compiled: &str, line: usize, column: usize) -> SourcePosition {
        SourceMap::new(source, compiled)
            .position(line, column, 1)
            .expect("a position")
    }

    #[test]
    fn unchanged_lines_map_to_themselves_below_a_config_header() {
        let source =
            "{{\n    config(\n        materialized='table'\n    )\n}}\n\nselect\n    id,\n    name\nfrom raw\n";
        // The header renders to nothing, and the compiled SQL is trimmed.
        let compiled = "select\n    id,\n    name\nfrom raw";
        assert_eq!(
            position(source, compiled, 3, 5),
            SourcePosition {
                line: 9,
                column: 5,
                length: 1,
                exact: true
            }
        );
        assert_eq!(position(source, compiled, 4, 6).line, 10);
    }

    #[test]
    fn a_line_inside_a_multi_line_tag_never_matches() {
        let source = "{{ config(\n    materialized='table'\n) }}\nselect (\n  1\n)\n";
        let compiled = "select (\n  1\n)";
        assert_eq!(position(source, compiled, 3, 1).line, 6);
    }

    #[test]
    fn literal_text_around_a_ref_maps_exactly() {
        let source = "select *\nfrom {{ ref('orders') }} as o wher o.id = 1\n";
        let compiled = "select *\nfrom \"analytics\".\"orders\" as o wher o.id = 1";
        let column = compiled.lines().nth(1).and_then(|line| line.find("wher")).unwrap_or(0) + 1;
        assert_eq!(
            position(source, compiled, 2, column),
            SourcePosition {
                line: 2,
                column: 31,
                length: 1,
                exact: true
            }
        );
        // Inside the ref's output: the whole tag.
        assert_eq!(
            position(source, compiled, 2, 8),
            SourcePosition {
                line: 2,
                column: 6,
                length: 19,
                exact: false
            }
        );
    }

    #[test]
    fn macro_output_maps_to_the_call() {
        let source = "select\n    {{ star_columns() }}\nfrom t\n";
        let compiled = "select\n    a,\n    b,\n    c\nfrom t";
        assert_eq!(
            position(source, compiled, 3, 5),
            SourcePosition {
                line: 2,
                column: 5,
                length: 20,
                exact: false
            }
        );
        assert_eq!(position(source, compiled, 5, 1).line, 3);
    }

    #[test]
    fn conditional_blocks_and_repeated_lines_stay_in_order() {
        let source = "select *\nfrom a\n{% if is_incremental() %}\nwhere x > (select max(x) from {{ this }})\n{% endif %}\nunion all\nselect *\nfrom b\n";
        let incremental =
            "select *\nfrom a\n\nwhere x > (select max(x) from \"s\".\"t\")\n\nunion all\nselect *\nfrom b";
        assert_eq!(position(source, incremental, 4, 1).line, 4);
        assert_eq!(position(source, incremental, 8, 1).line, 8);
        let full = "select *\nfrom a\n\nunion all\nselect *\nfrom b";
        assert_eq!(position(source, full, 6, 6).line, 8);
        assert_eq!(position(source, full, 5, 1).line, 7);
    }

    #[test]
    fn a_stripped_semicolon_keeps_the_line() {
        let source = "select 1\nfrom t;\n";
        let compiled = "select 1\nfrom t";
        assert_eq!(position(source, compiled, 2, 6).line, 2);
        assert!(position(source, compiled, 2, 6).exact);
    }

    #[test]
    fn loops_map_each_output_line_to_the_loop_body() {
        let source = "select\n{% for column in ['a', 'b'] %}\n    {{ column }} as col_{{ column }},\n{% endfor %}\n    1 as one\n";
        let compiled = "select\n\n    a as col_a,\n\n    b as col_b,\n\n    1 as one";
        let mapped = position(source, compiled, 5, 7);
        assert_eq!(
            mapped,
            SourcePosition {
                line: 3,
                column: 18,
                length: 1,
                exact: true
            }
        );
    }

    #[test]
    fn the_end_of_a_line_that_ends_in_a_tag_maps_past_the_tag() {
        let source = "select 1\nfrom {{ this }}\n";
        let compiled = "select 1\nfrom \"s\".\"t\"";
        assert_eq!(
            position(source, compiled, 2, 13),
            SourcePosition {
                line: 2,
                column: 16,
                length: 1,
                exact: true
            }
        );
    }

    #[test]
    fn indentation_changes_shift_columns() {
        let source = "  select 1\n";
        let compiled = "select 1";
        assert_eq!(position(source, compiled, 1, 8).column, 10);
    }

    /// Property tests: any pair of texts maps without a panic, a text with
    /// no Jinja maps every position to itself, and literal text after a tag
    /// maps to where it was written. `PROPTEST_CASES` runs more (`bench/fuzz.sh`).
    mod fuzz {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn fuzz_source_map_never_panics(
                source in "[a-z {}%#()\\-\\n]{0,80}",
                compiled in "[a-z {}()\\n]{0,80}",
                line in 0usize..12,
                column in 0usize..40,
                length in 0usize..5,
            ) {
                let _ = SourceMap::new(&source, &compiled).position(line, column, length);
            }

            #[test]
            fn fuzz_source_map_unicode_never_panics(source in "\\PC{0,40}", compiled in "\\PC{0,40}", line in 0usize..5, column in 0usize..20) {
                let _ = SourceMap::new(&source, &compiled).position(line, column, 1);
            }

            #[test]
            fn fuzz_source_map_plain_text_maps_to_itself(lines in prop::collection::vec("[ ]{0,3}[a-z0-9,()*=']{1,20}", 1..12), pick in any::<prop::sample::Index>(), column in any::<prop::sample::Index>()) {
                let text = lines.join("\n");
                let map = SourceMap::new(&text, &text);
                let index = pick.index(lines.len());
                let column = column.index(lines[index].chars().count()) + 1;
                let position = map.position(index + 1, column, 1);
                prop_assert_eq!(position, Some(SourcePosition { line: index + 1, column, length: 1, exact: true }), "{}", text);
            }

            #[test]
            fn fuzz_source_map_text_after_a_tag_maps_exactly(
                prefix in "select [a-z]{1,6}, ",
                expression in "[a-z_]{1,8}",
                output in "[a-z0-9]{0,10}",
                suffix in " as [a-z]{1,6} from [a-z]{1,6}",
                before in prop::collection::vec("[a-z]{1,10}", 0..4),
            ) {
                let head = before.join("\n");
                let head = if head.is_empty() { String::new() } else { format!("{head}\n") };
                let source = format!("{head}{prefix}{{{{ {expression} }}}}{suffix}");
                let compiled = format!("{head}{prefix}{output}{suffix}");
                let line = before.len() + 1;
                let map = SourceMap::new(&source, &compiled);
                // The first character of the suffix, in both texts.
                let compiled_column = prefix.chars().count() + output.chars().count() + 1;
                // `{{ ` and ` }}` are three characters each.
                let source_column = prefix.chars().count() + expression.chars().count() + 7;
                prop_assert_eq!(
                    map.position(line, compiled_column, 1),
                    Some(SourcePosition { line, column: source_column, length: 1, exact: true }),
                    "{}\n---\n{}", source, compiled
                );
            }
        }
    }
}

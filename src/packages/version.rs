//! dbt's own semantic versions and version ranges, as `dbt deps` reads the
//! `version:` of a hub package: `">=1.0.0"`, `"<2.0.0"`, `"1.1.1"`, or a list.
//!
//! This is not Cargo's semver: dbt's rules differ (an exact version is a range
//! of one, bounds of a list intersect in order, a pre-release is only chosen
//! when asked for), and `dbt deps` must pick the same version as dbt would.
//! It owns parsing, comparison, intersection ([`reduce`]) and choosing the
//! highest version in a range ([`resolve_to_specific_version`]).

use std::cmp::Ordering;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matcher {
    GreaterThan,
    GreaterOrEqual,
    LessThan,
    LessOrEqual,
    Exact,
}

impl Matcher {
    fn as_str(self) -> &'static str {
        match self {
            Matcher::GreaterThan => ">",
            Matcher::GreaterOrEqual => ">=",
            Matcher::LessThan => "<",
            Matcher::LessOrEqual => "<=",
            Matcher::Exact => "=",
        }
    }
}

/// One version with its matcher, such as `>=1.0.0`, or an unbounded end of a
/// range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Specifier {
    pub matcher: Matcher,
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub prerelease: Option<String>,
    pub build: Option<String>,
    pub unbounded: bool,
}

/// A version string that is not a semantic version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a valid semantic version")]
pub struct InvalidVersion(pub String);

/// Two requirements that no version satisfies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not find a satisfactory version from options: {}", .0.join(", "))]
pub struct Incompatible(pub Vec<String>);

impl Specifier {
    fn unbounded() -> Self {
        Specifier {
            matcher: Matcher::Exact,
            major: 0,
            minor: 0,
            patch: 0,
            prerelease: None,
            build: None,
            unbounded: true,
        }
    }

    /// Parses `>=1.2.3`, `1.2.3-rc.1+build`, `=1.0.0` as dbt does.
    pub fn parse(text: &str) -> Result<Specifier, InvalidVersion> {
        let invalid = || InvalidVersion(text.to_string());
        let (matcher, rest) = [
            (">=", Matcher::GreaterOrEqual),
            ("<=", Matcher::LessOrEqual),
            (">", Matcher::GreaterThan),
            ("<", Matcher::LessThan),
            ("=", Matcher::Exact),
        ]
        .into_iter()
        .find_map(|(prefix, matcher)| text.strip_prefix(prefix).map(|rest| (matcher, rest)))
        .unwrap_or((Matcher::Exact, text));
        let (rest, build) = match rest.split_once('+') {
            Some((rest, build)) if build.split('.').all(|part| part.chars().all(is_alpha)) => {
                (rest, Some(build.to_string()))
            }
            Some(_) => return Err(invalid()),
            None => (rest, None),
        };
        let mut numbers = Vec::with_capacity(3);
        let mut remaining = rest;
        for index in 0..3 {
            let digits: String = remaining.chars().take_while(char::is_ascii_digit).collect();
            if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
                return Err(invalid());
            }
            numbers.push(digits.parse::<u64>().map_err(|_| invalid())?);
            remaining = &remaining[digits.len()..];
            if index < 2 {
                remaining = remaining.strip_prefix('.').ok_or_else(invalid)?;
            }
        }
        let prerelease = match remaining.strip_prefix('-').unwrap_or(remaining) {
            "" if remaining.is_empty() => None,
            "" => return Err(invalid()),
            tag if tag.split('.').all(valid_prerelease_part) => Some(tag.to_string()),
            _ => return Err(invalid()),
        };
        Ok(Specifier {
            matcher,
            major: numbers[0],
            minor: numbers[1],
            patch: numbers[2],
            prerelease,
            build,
            unbounded: false,
        })
    }

    pub fn is_lower_bound(&self) -> bool {
        !self.unbounded && matches!(self.matcher, Matcher::GreaterThan | Matcher::GreaterOrEqual)
    }

    pub fn is_upper_bound(&self) -> bool {
        !self.unbounded && matches!(self.matcher, Matcher::LessThan | Matcher::LessOrEqual)
    }

    pub fn is_exact(&self) -> bool {
        !self.unbounded && self.matcher == Matcher::Exact
    }

    /// The version without its matcher: `1.2.3-rc1`.
    pub fn version_string(&self) -> String {
        let mut text = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if let Some(prerelease) = &self.prerelease {
            text.push('-');
            text.push_str(prerelease);
        }
        if let Some(build) = &self.build {
            text.push('+');
            text.push_str(build);
        }
        text
    }

    /// dbt's comparison, in which the matchers break ties: `<1.0.0` is below
    /// `<=1.0.0`, and an upper bound is below a lower bound of the same version.
    pub fn compare(&self, other: &Specifier) -> Ordering {
        if self.unbounded || other.unbounded {
            return Ordering::Equal;
        }
        let numbers = (self.major, self.minor, self.patch).cmp(&(other.major, other.minor, other.patch));
        if numbers != Ordering::Equal {
            return numbers;
        }
        match (&self.prerelease, &other.prerelease) {
            (None, None) => {}
            (None, Some(_)) => {
                return if self.matcher == Matcher::LessThan {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (Some(_), None) => return Ordering::Less,
            (Some(mine), Some(theirs)) => {
                let order = compare_prerelease(mine, theirs);
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
        use Matcher::*;
        let equal = matches!(
            (self.matcher, other.matcher),
            (GreaterOrEqual, LessOrEqual) | (LessOrEqual, GreaterOrEqual)
        );
        if equal {
            return Ordering::Equal;
        }
        let less = (self.matcher == LessThan && other.matcher == LessOrEqual)
            || (other.matcher == GreaterThan && self.matcher == GreaterOrEqual)
            || (self.is_upper_bound() && other.is_lower_bound());
        if less {
            return Ordering::Less;
        }
        let greater = (other.matcher == LessThan && self.matcher == LessOrEqual)
            || (self.matcher == GreaterThan && other.matcher == GreaterOrEqual)
            || (self.is_lower_bound() && other.is_upper_bound());
        if greater {
            return Ordering::Greater;
        }
        Ordering::Equal
    }

    fn to_range(&self) -> Range {
        match self.matcher {
            Matcher::Exact => Range {
                start: self.clone(),
                end: self.clone(),
            },
            Matcher::GreaterThan | Matcher::GreaterOrEqual => Range {
                start: self.clone(),
                end: Specifier::unbounded(),
            },
            Matcher::LessThan | Matcher::LessOrEqual => Range {
                start: Specifier::unbounded(),
                end: self.clone(),
            },
        }
    }
}

impl fmt::Display for Specifier {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.unbounded {
            return formatter.write_str("*");
        }
        write!(formatter, "{}{}", self.matcher.as_str(), self.version_string())
    }
}

fn is_alpha(character: char) -> bool {
    character.is_ascii_alphanumeric() || character == '-'
}

fn valid_prerelease_part(part: &str) -> bool {
    if part.is_empty() || !part.chars().all(is_alpha) {
        return false;
    }
    let numeric = part.chars().all(|character| character.is_ascii_digit());
    !numeric || part == "0" || !part.starts_with('0')
}

/// Dotted pre-release tags compared part by part, numbers below words.
fn compare_prerelease(mine: &str, theirs: &str) -> Ordering {
    for (left, right) in mine.split('.').zip(theirs.split('.')) {
        let order = match (left.parse::<u64>(), right.parse::<u64>()) {
            (Ok(left), Ok(right)) => left.cmp(&right),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            (Err(_), Err(_)) => left.cmp(right),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    // dbt compares the lengths of the whole strings here.
    mine.len().cmp(&theirs.len())
}

/// The versions a requirement allows: a lower and an upper end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub start: Specifier,
    pub end: Specifier,
}

impl Range {
    pub fn any() -> Range {
        Range {
            start: Specifier::unbounded(),
            end: Specifier::unbounded(),
        }
    }

    fn intersect(&self, other: &Range) -> Option<Range> {
        let (start, end) = if self.start.is_exact() && other.start.is_exact() {
            let exact = (self.start.compare(&other.start) == Ordering::Equal).then(|| self.start.clone())?;
            (exact.clone(), exact)
        } else {
            (
                combine_lower(&self.start, &other.start)?,
                combine_upper(&self.end, &other.end)?,
            )
        };
        if start.compare(&end) == Ordering::Greater {
            return None;
        }
        Some(Range { start, end })
    }

    fn contains(&self, version: &Specifier) -> bool {
        let mut range = version.to_range();
        for bound in [&self.start, &self.end] {
            if bound.unbounded {
                continue;
            }
            match range.intersect(&bound.to_range()) {
                Some(reduced) => range = reduced,
                None => return false,
            }
        }
        true
    }
}

impl fmt::Display for Range {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ends: Vec<String> = [&self.start, &self.end]
            .into_iter()
            .filter(|end| !end.unbounded)
            .map(Specifier::to_string)
            .collect();
        if ends.is_empty() {
            formatter.write_str("ANY")
        } else {
            formatter.write_str(&ends.join(", "))
        }
    }
}

fn combine_lower(first: &Specifier, second: &Specifier) -> Option<Specifier> {
    if second.unbounded {
        return Some(first.clone());
    }
    if first.unbounded {
        return Some(second.clone());
    }
    match (first.is_exact(), second.is_exact()) {
        (false, false) => Some(if first.compare(second) == Ordering::Less {
            second.clone()
        } else {
            first.clone()
        }),
        (true, _) => lower_with_exact(second, first),
        (false, true) => lower_with_exact(first, second),
    }
}

fn lower_with_exact(lower: &Specifier, exact: &Specifier) -> Option<Specifier> {
    let order = lower.compare(exact);
    (order == Ordering::Less || (order == Ordering::Equal && lower.matcher == Matcher::GreaterOrEqual))
        .then(|| exact.clone())
}

fn combine_upper(first: &Specifier, second: &Specifier) -> Option<Specifier> {
    if second.unbounded {
        return Some(first.clone());
    }
    if first.unbounded {
        return Some(second.clone());
    }
    match (first.is_exact(), second.is_exact()) {
        (false, false) => Some(if first.compare(second) == Ordering::Greater {
            second.clone()
        } else {
            first.clone()
        }),
        (true, _) => upper_with_exact(second, first),
        (false, true) => upper_with_exact(first, second),
    }
}

fn upper_with_exact(upper: &Specifier, exact: &Specifier) -> Option<Specifier> {
    let order = upper.compare(exact);
    (order == Ordering::Greater || (order == Ordering::Equal && upper.matcher == Matcher::LessOrEqual))
        .then(|| exact.clone())
}

/// The intersection of every requirement, in dbt's order: the last one first,
/// then the others from the first.
pub fn reduce(specifiers: &[Specifier]) -> Result<Range, Incompatible> {
    let mut bounded: Vec<&Specifier> = specifiers.iter().filter(|specifier| !specifier.unbounded).collect();
    let Some(last) = bounded.pop() else {
        return Ok(Range::any());
    };
    let incompatible = || Incompatible(specifiers.iter().map(Specifier::to_string).collect());
    let mut range = last.to_range();
    for specifier in bounded {
        range = range.intersect(&specifier.to_range()).ok_or_else(incompatible)?;
    }
    Ok(range)
}

/// The highest of `available` (version strings) inside `range`, as written.
pub fn resolve_to_specific_version<'a>(range: &Range, available: &[&'a str]) -> Option<&'a str> {
    let mut best: Option<(Specifier, &'a str)> = None;
    for text in available {
        let Ok(version) = Specifier::parse(text) else { continue };
        if !range.contains(&version) {
            continue;
        }
        if best
            .as_ref()
            .is_none_or(|(current, _)| current.compare(&version) == Ordering::Less)
        {
            best = Some((version, text));
        }
    }
    best.map(|(_, text)| text)
}

/// The versions that may be installed, lowest first: pre-releases only when
/// `prerelease` is set.
pub fn filter_installable<'a>(versions: &[&'a str], prerelease: bool) -> Vec<&'a str> {
    let mut installable: Vec<(Specifier, &'a str)> = versions
        .iter()
        .filter_map(|text| Specifier::parse(text).ok().map(|version| (version, *text)))
        .filter(|(version, _)| prerelease || version.prerelease.is_none())
        .collect();
    installable.sort_by(|(left, _), (right, _)| left.compare(right));
    installable.into_iter().map(|(_, text)| text).collect()
}

/// Whether `version` (such as dvt's dbt version) meets every requirement.
pub fn satisfies(version: &Specifier, requirements: &[Specifier]) -> bool {
    let mut all = vec![version.clone()];
    all.extend(requirements.iter().cloned());
    requirements.is_empty() || reduce(&all).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specifiers(texts: &[&str]) -> Vec<Specifier> {
        texts.iter().map(|text| Specifier::parse(text).unwrap()).collect()
    }

    #[test]
    fn parses_dbt_versions() {
        let version = Specifier::parse(">=1.2.3-rc.1+build.5").unwrap();
        assert_eq!(version.matcher, Matcher::GreaterOrEqual);
        assert_eq!((version.major, version.minor, version.patch), (1, 2, 3));
        assert_eq!(version.prerelease.as_deref(), Some("rc.1"));
        assert_eq!(version.to_string(), ">=1.2.3-rc.1+build.5");
        assert_eq!(Specifier::parse("0.9.0b1").unwrap().prerelease.as_deref(), Some("b1"));
        for bad in ["1.0", "01.0.0", ">=1.0.0, <2.0.0", "v1.0.0", "1.0.0-", ""] {
            assert!(Specifier::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ranges_intersect_like_dbt() {
        let range = reduce(&specifiers(&[">=1.0.0", "<2.0.0"])).unwrap();
        assert_eq!(range.to_string(), ">=1.0.0, <2.0.0");
        let range = reduce(&specifiers(&[">=1.0.0", "<2.0.0", ">=1.1.0", "<1.3.0"])).unwrap();
        assert_eq!(range.to_string(), ">=1.1.0, <1.3.0");
        let range = reduce(&specifiers(&["1.1.1", ">=1.0.0"])).unwrap();
        assert_eq!(range.to_string(), "=1.1.1, =1.1.1");
        assert!(reduce(&specifiers(&[">=1.0.0", "<1.0.0"])).is_err());
        assert!(reduce(&specifiers(&["1.0.0", "1.0.1"])).is_err());
        assert!(reduce(&specifiers(&["<1.0.0", ">1.0.0"])).is_err());
        assert_eq!(reduce(&[]).unwrap().to_string(), "ANY");
    }

    #[test]
    fn picks_the_highest_installable_version() {
        let available = ["0.9.6", "1.0.0", "1.1.1", "1.3.0", "2.0.0-b1", "2.0.0"];
        let installable = filter_installable(&available, false);
        assert_eq!(installable, ["0.9.6", "1.0.0", "1.1.1", "1.3.0", "2.0.0"]);
        let range = reduce(&specifiers(&[">=1.0.0", "<2.0.0"])).unwrap();
        assert_eq!(resolve_to_specific_version(&range, &installable), Some("1.3.0"));
        let range = reduce(&specifiers(&[">=1.0.0", "<=1.1.1"])).unwrap();
        assert_eq!(resolve_to_specific_version(&range, &installable), Some("1.1.1"));
        let range = reduce(&specifiers(&[">2.0.0"])).unwrap();
        assert_eq!(resolve_to_specific_version(&range, &installable), None);
        let with_prerelease = filter_installable(&available, true);
        assert_eq!(with_prerelease[4], "2.0.0-b1");
    }

    #[test]
    fn checks_require_dbt_version() {
        let dbt = Specifier::parse("1.10.0").unwrap();
        assert!(satisfies(&dbt, &specifiers(&[">=1.3.0", "<2.0.0"])));
        assert!(!satisfies(&dbt, &specifiers(&[">=1.0.0", "<1.9.0"])));
        assert!(satisfies(&dbt, &[]));
    }
}

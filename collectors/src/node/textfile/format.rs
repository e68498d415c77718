//! The textfile collector's parser of the Prometheus text exposition format (version 0.0.4), with the rules
//! of the Go parser node_exporter uses (`expfmt.TextParser` of prometheus/common): `# HELP` (with `\\` and `\n`
//! escapes) and `# TYPE` lines, other comments ignored, label values with `\"`, `\\` and `\n` escapes,
//! untyped as the default type, summaries and histograms grouped from their `_sum`, `_count`, `_bucket` and
//! `quantile` lines, optional integer timestamps, and the same errors: a last line without a newline, a
//! trailing blank after a value, a second HELP or TYPE line, duplicate label names, `__name__` as a label.

use std::collections::HashMap;

use crate::error::ParseError;

/// The type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextType {
    Counter,
    Gauge,
    Untyped,
    Summary,
    Histogram,
}

/// The value of one series of a family.
#[derive(Debug, Clone, PartialEq)]
pub enum TextValue {
    /// A counter, gauge or untyped value.
    Simple(f64),
    Summary {
        count: u64,
        sum: f64,
        /// `(quantile, value)` in file order.
        quantiles: Vec<(f64, f64)>,
    },
    Histogram {
        count: u64,
        sum: f64,
        /// `(upper bound, cumulative count)` in file order.
        buckets: Vec<(f64, u64)>,
    },
}

/// One series: its labels (without `quantile`/`le` for summaries and histograms) in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct TextMetric {
    pub labels: Vec<(String, String)>,
    pub value: TextValue,
    /// The timestamp in milliseconds, when the line carried one.
    pub timestamp_ms: Option<i64>,
}

/// A metric family as parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct TextFamily {
    pub name: String,
    pub help: Option<String>,
    pub kind: TextType,
    pub metrics: Vec<TextMetric>,
}

struct Fam {
    name: String,
    help: Option<String>,
    kind: Option<TextType>,
    metrics: Vec<TextMetric>,
}

fn is_label_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_label_cont(b: u8) -> bool {
    is_label_start(b) || b.is_ascii_digit()
}

fn is_name_start(b: u8) -> bool {
    is_label_start(b) || b == b':'
}

fn is_name_cont(b: u8) -> bool {
    is_label_cont(b) || b == b':'
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Go's `strconv.ParseFloat` as the text parser calls it (no `p`, `P` or `_`).
fn parse_float(s: &str) -> Option<f64> {
    if s.is_empty() || s.contains(['p', 'P', '_']) {
        return None;
    }
    s.parse().ok()
}

/// A cursor over one line (without its `\n`).
struct Line<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Line<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn skip_blanks(&mut self) {
        while self.peek().is_some_and(is_blank) {
            self.i += 1;
        }
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a str {
        let start = self.i;
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
        // Only ASCII bytes or whole runs of non-blank bytes are taken, always at UTF-8 boundaries of a str.
        std::str::from_utf8(&self.b[start..self.i]).unwrap_or("")
    }

    fn token(&mut self) -> &'a str {
        self.take_while(|b| !is_blank(b))
    }

    fn rest(&self) -> &'a [u8] {
        &self.b[self.i..]
    }
}

/// The state of one parse.
#[derive(Default)]
struct Parser {
    fams: Vec<Fam>,
    by_name: HashMap<String, usize>,
    /// Summary and histogram series by (family, sorted labels).
    groups: HashMap<(usize, Vec<(String, String)>), usize>,
}

/// What a sample name means for its family.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Plain,
    Sum,
    Count,
}

fn strip_suffix<'s>(name: &'s str, suffix: &str) -> Option<&'s str> {
    name.strip_suffix(suffix).filter(|base| !base.is_empty())
}

impl Parser {
    fn create(&mut self, name: &str) -> usize {
        self.fams.push(Fam {
            name: name.to_string(),
            help: None,
            kind: None,
            metrics: Vec::new(),
        });
        self.by_name.insert(name.to_string(), self.fams.len() - 1);
        self.fams.len() - 1
    }

    /// The family `name` belongs to: itself, or the summary/histogram whose `_sum`/`_count`/`_bucket` it is.
    fn family_of(&mut self, name: &str) -> (usize, Part) {
        if let Some(&i) = self.by_name.get(name) {
            return (i, Part::Plain);
        }
        let part = |n: &str| {
            if strip_suffix(n, "_count").is_some() {
                Part::Count
            } else if strip_suffix(n, "_sum").is_some() {
                Part::Sum
            } else {
                Part::Plain
            }
        };
        let summary_base = strip_suffix(name, "_count").or_else(|| strip_suffix(name, "_sum"));
        if let Some(&i) = summary_base.and_then(|b| self.by_name.get(b)) {
            if self.fams[i].kind == Some(TextType::Summary) {
                return (i, part(name));
            }
        }
        let hist_base = summary_base.or_else(|| strip_suffix(name, "_bucket"));
        if let Some(&i) = hist_base.and_then(|b| self.by_name.get(b)) {
            if self.fams[i].kind == Some(TextType::Histogram) {
                return (i, part(name));
            }
        }
        (self.create(name), Part::Plain)
    }

    fn comment(&mut self, l: &mut Line) -> Result<(), String> {
        l.skip_blanks();
        if l.peek().is_none() {
            return Ok(());
        }
        let keyword = l.token();
        if l.peek().is_none() || (keyword != "HELP" && keyword != "TYPE") {
            return Ok(());
        }
        l.skip_blanks();
        let name = l.take_while(is_name_cont);
        let name = if name.bytes().next().is_some_and(is_name_start) {
            name
        } else {
            l.i -= name.len();
            ""
        };
        match l.peek() {
            None => return Ok(()),
            Some(b) if !is_blank(b) => return Err("invalid metric name in comment".into()),
            _ => {}
        }
        let (fam, _) = self.family_of(name);
        l.skip_blanks();
        if l.peek().is_none() {
            return Ok(());
        }
        let f = &mut self.fams[fam];
        if keyword == "HELP" {
            if f.help.is_some() {
                return Err(format!("second HELP line for metric name {:?}", f.name));
            }
            let mut help = Vec::with_capacity(l.rest().len());
            let mut it = l.rest().iter();
            while let Some(&b) = it.next() {
                if b == b'\\' {
                    match it.next() {
                        Some(b'\\') => help.push(b'\\'),
                        Some(b'n') => help.push(b'\n'),
                        Some(&c) => {
                            return Err(format!("invalid escape sequence '\\{}'", c as char))
                        }
                        None => return Err("invalid escape sequence '\\\n'".into()),
                    }
                } else {
                    help.push(b);
                }
            }
            f.help = Some(String::from_utf8_lossy(&help).into_owned());
        } else {
            if f.kind.is_some() {
                return Err(format!(
                    "second TYPE line for metric name {:?}, or TYPE reported after samples",
                    f.name
                ));
            }
            let t = String::from_utf8_lossy(l.rest());
            f.kind = Some(match t.to_ascii_uppercase().as_str() {
                "COUNTER" => TextType::Counter,
                "GAUGE" => TextType::Gauge,
                "UNTYPED" => TextType::Untyped,
                "SUMMARY" => TextType::Summary,
                "HISTOGRAM" => TextType::Histogram,
                _ => return Err(format!("unknown metric type {t:?}")),
            });
        }
        Ok(())
    }

    fn label_value(l: &mut Line) -> Result<String, String> {
        let mut v = Vec::new();
        loop {
            match l.peek() {
                None => {
                    return Err(format!(
                        "label value {:?} contains unescaped new-line",
                        String::from_utf8_lossy(&v)
                    ))
                }
                Some(b'"') => {
                    l.i += 1;
                    break;
                }
                Some(b'\\') => {
                    l.i += 1;
                    match l.peek() {
                        Some(c @ (b'"' | b'\\')) => v.push(c),
                        Some(b'n') => v.push(b'\n'),
                        Some(c) => {
                            return Err(format!("invalid escape sequence '\\{}'", c as char))
                        }
                        None => return Err("invalid escape sequence '\\\n'".into()),
                    }
                    l.i += 1;
                }
                Some(c) => {
                    v.push(c);
                    l.i += 1;
                }
            }
        }
        String::from_utf8(v).map_err(|e| {
            format!(
                "invalid label value {:?}",
                String::from_utf8_lossy(e.as_bytes())
            )
        })
    }

    fn sample(&mut self, l: &mut Line) -> Result<(), String> {
        let name = l.take_while(is_name_cont);
        if !name.bytes().next().is_some_and(is_name_start) {
            return Err("invalid metric name".into());
        }
        let (fam, part) = self.family_of(name);
        let kind = *self.fams[fam].kind.get_or_insert(TextType::Untyped);
        let fname = self.fams[fam].name.clone();
        l.skip_blanks();
        let mut labels: Vec<(String, String)> = Vec::new();
        let mut quantile = f64::NAN;
        let mut bucket = f64::NAN;
        if l.peek() == Some(b'{') {
            l.i += 1;
            loop {
                l.skip_blanks();
                if l.peek() == Some(b'}') {
                    l.i += 1;
                    l.skip_blanks();
                    break;
                }
                let lname = l.take_while(is_label_cont);
                if !lname.bytes().next().is_some_and(is_label_start) {
                    return Err(format!("invalid label name for metric {fname:?}"));
                }
                if lname == "__name__" {
                    return Err("label name \"__name__\" is reserved".into());
                }
                let special = (kind == TextType::Summary && lname == "quantile")
                    || (kind == TextType::Histogram && lname == "le");
                l.skip_blanks();
                if l.peek() != Some(b'=') {
                    return Err(format!(
                        "expected '=' after label name, found {:?}",
                        l.peek().map(|b| b as char).unwrap_or('\n')
                    ));
                }
                l.i += 1;
                if !special && labels.iter().any(|(k, _)| k == lname) {
                    return Err(format!("duplicate label names for metric {fname:?}"));
                }
                l.skip_blanks();
                if l.peek() != Some(b'"') {
                    return Err(format!(
                        "expected '\"' at start of label value, found {:?}",
                        l.peek().map(|b| b as char).unwrap_or('\n')
                    ));
                }
                l.i += 1;
                let value = Self::label_value(l)?;
                if special {
                    let f = parse_float(&value).ok_or_else(|| {
                        format!("expected float as value for '{lname}' label, got {value:?}")
                    })?;
                    if lname == "quantile" {
                        quantile = f;
                    } else {
                        bucket = f;
                    }
                } else {
                    labels.push((lname.to_string(), value));
                }
                l.skip_blanks();
                match l.peek() {
                    Some(b',') => l.i += 1,
                    Some(b'}') => {
                        l.i += 1;
                        l.skip_blanks();
                        break;
                    }
                    _ => {
                        return Err(format!(
                            "unexpected end of label value {:?}",
                            labels.last().map(|(_, v)| v.as_str()).unwrap_or("")
                        ))
                    }
                }
            }
        }
        let tok = l.token();
        let value =
            parse_float(tok).ok_or_else(|| format!("expected float as value, got {tok:?}"))?;
        let timestamp_ms = if l.peek().is_some() {
            l.skip_blanks();
            let t = l.token();
            let ts: i64 = t
                .parse()
                .map_err(|_| format!("expected integer as timestamp, got {t:?}"))?;
            if !l.rest().is_empty() {
                return Err(format!(
                    "spurious string after timestamp: {:?}",
                    String::from_utf8_lossy(l.rest())
                ));
            }
            Some(ts)
        } else {
            None
        };

        let metrics = &mut self.fams[fam].metrics;
        match kind {
            TextType::Counter | TextType::Gauge | TextType::Untyped => metrics.push(TextMetric {
                labels,
                value: TextValue::Simple(value),
                timestamp_ms,
            }),
            TextType::Summary | TextType::Histogram => {
                let mut key = labels.clone();
                key.sort();
                let idx = *self.groups.entry((fam, key)).or_insert_with(|| {
                    metrics.push(TextMetric {
                        labels,
                        value: if kind == TextType::Summary {
                            TextValue::Summary {
                                count: 0,
                                sum: 0.0,
                                quantiles: Vec::new(),
                            }
                        } else {
                            TextValue::Histogram {
                                count: 0,
                                sum: 0.0,
                                buckets: Vec::new(),
                            }
                        },
                        timestamp_ms: None,
                    });
                    metrics.len() - 1
                });
                let m = &mut metrics[idx];
                if timestamp_ms.is_some() {
                    m.timestamp_ms = timestamp_ms;
                }
                match (&mut m.value, part) {
                    (
                        TextValue::Summary { count, .. } | TextValue::Histogram { count, .. },
                        Part::Count,
                    ) => *count = value as u64,
                    (
                        TextValue::Summary { sum, .. } | TextValue::Histogram { sum, .. },
                        Part::Sum,
                    ) => *sum = value,
                    (TextValue::Summary { quantiles, .. }, Part::Plain) if !quantile.is_nan() => {
                        quantiles.push((quantile, value))
                    }
                    (TextValue::Histogram { buckets, .. }, Part::Plain) if !bucket.is_nan() => {
                        buckets.push((bucket, value as u64))
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

/// Parse a text exposition. Families are returned in order of first appearance; families without samples
/// are dropped.
pub fn parse_text_format(text: &str) -> Result<Vec<TextFamily>, ParseError> {
    let mut p = Parser::default();
    let mut lines = text.split('\n').peekable();
    let mut n = 0;
    while let Some(raw) = lines.next() {
        n += 1;
        let mut l = Line {
            b: raw.as_bytes(),
            i: 0,
        };
        l.skip_blanks();
        let is_last = lines.peek().is_none();
        if is_last {
            // The text after the last newline: only blanks may remain.
            if l.peek().is_some() {
                return Err(ParseError::new(format!(
                    "text format parsing error in line {n}: unexpected end of input stream"
                )));
            }
            break;
        }
        let r = match l.peek() {
            None => Ok(()),
            Some(b'#') => {
                l.i += 1;
                p.comment(&mut l)
            }
            Some(_) => p.sample(&mut l),
        };
        r.map_err(|m| ParseError::new(format!("text format parsing error in line {n}: {m}")))?;
    }
    Ok(p.fams
        .into_iter()
        .filter(|f| !f.metrics.is_empty())
        .map(|f| TextFamily {
            name: f.name,
            help: f.help,
            kind: f.kind.unwrap_or(TextType::Untyped),
            metrics: f.metrics,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fam<'a>(fs: &'a [TextFamily], name: &str) -> &'a TextFamily {
        fs.iter().find(|f| f.name == name).unwrap()
    }

    #[test]
    fn parses_types_help_labels_and_escapes() {
        let t = "# HELP a_total Line one\\nback\\\\slash.\n# TYPE a_total counter\n\
                 a_total{x=\"q\\\"uote\",y=\"new\\nline\",} 3\n\
                 # just a comment\n\n  b{ z = \"1\" } -Inf\nb 2\n# TYPE c gauge\nc\t+5e3\n";
        let fs = parse_text_format(t).unwrap();
        let a = fam(&fs, "a_total");
        assert_eq!(a.kind, TextType::Counter);
        assert_eq!(a.help.as_deref(), Some("Line one\nback\\slash."));
        assert_eq!(
            a.metrics[0].labels,
            vec![
                ("x".to_string(), "q\"uote".to_string()),
                ("y".to_string(), "new\nline".to_string())
            ]
        );
        let b = fam(&fs, "b");
        assert_eq!(b.kind, TextType::Untyped);
        assert_eq!(b.help, None);
        assert_eq!(b.metrics[0].value, TextValue::Simple(f64::NEG_INFINITY));
        assert_eq!(b.metrics.len(), 2);
        assert_eq!(fam(&fs, "c").metrics[0].value, TextValue::Simple(5000.0));
    }

    #[test]
    fn groups_summaries_and_histograms() {
        let t = "# TYPE s summary\ns{q=\"a\",quantile=\"0.5\"} 1\ns{quantile=\"0.9\",q=\"a\"} 2\n\
                 s_sum{q=\"a\"} 10\ns_count{q=\"a\"} 4\n\
                 # TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 3\nh_sum 0.7\nh_count 3\n";
        let fs = parse_text_format(t).unwrap();
        assert_eq!(fs.len(), 2);
        let s = fam(&fs, "s");
        assert_eq!(s.metrics.len(), 1);
        assert_eq!(
            s.metrics[0].value,
            TextValue::Summary {
                count: 4,
                sum: 10.0,
                quantiles: vec![(0.5, 1.0), (0.9, 2.0)]
            }
        );
        assert_eq!(
            fam(&fs, "h").metrics[0].value,
            TextValue::Histogram {
                count: 3,
                sum: 0.7,
                buckets: vec![(0.1, 1), (f64::INFINITY, 3)]
            }
        );
    }

    #[test]
    fn reports_timestamps() {
        let fs = parse_text_format("a 1 1700000000000\n").unwrap();
        assert_eq!(fs[0].metrics[0].timestamp_ms, Some(1_700_000_000_000));
    }

    #[test]
    fn rejects_what_the_go_parser_rejects() {
        for bad in [
            "a 1",                    // no final newline
            "a 1 \n",                 // blank after the value
            "a x\n",                  // not a number
            "a 1_0\n",                // Go-specific: no underscores
            "a{b=\"1\",b=\"2\"} 1\n", // duplicate label
            "a{__name__=\"x\"} 1\n",  // reserved label
            "a{b=\"\\x\"} 1\n",       // bad escape
            "a{b=\"open} 1\n",        // unterminated value
            "a{b=1} 1\n",             // unquoted value
            "a{1b=\"x\"} 1\n",        // bad label name
            "{b=\"x\"} 1\n",          // no name
            "a 1 2 3\n",              // spurious text after timestamp
            "a 1 x\n",                // bad timestamp
            "# TYPE a foo\na 1\n",    // unknown type
            "# TYPE a gauge\n# TYPE a counter\na 1\n",
            "# HELP a x\n# HELP a y\na 1\n",
            "a 1\n# TYPE a gauge\n", // TYPE after samples
            "# HELP a bad \\t escape\na 1\n",
            "# TYPE a{ gauge\n", // bad name in comment
            "a 1\r\n",           // CR is not a blank
        ] {
            assert!(parse_text_format(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn accepts_edge_cases() {
        for good in [
            "",
            "\n\n  \n",
            "  ",
            "# HELP\n# TYPE a\n# HELP a\n#\n",
            "a{} 1\n",
            "a{b=\"x\",} NaN\n",
            "a 1 -5\n",
            "# TYPE a GAUGE\na 1\n",
        ] {
            assert!(parse_text_format(good).is_ok(), "rejected {good:?}");
        }
        // A family with only HELP/TYPE lines has no samples and is dropped.
        assert!(parse_text_format("# HELP a x\n# TYPE a gauge\n")
            .unwrap()
            .is_empty());
    }
}

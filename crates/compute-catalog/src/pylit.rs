//! A small reader for Python literals (`{'a': [1, 2.0, 'x']}`), as found in catalog `GpuInfo`.
//!
//! The catalogs write GPU details with Python's `repr`, so strings use single quotes and the
//! constants are `True`, `False` and `None`. A JSON parser rejects that. This reader accepts
//! dicts, lists, tuples, strings in either quote style, integers, floats and the three
//! constants (and JSON's `true`, `false`, `null`), and nothing else. It never panics and
//! refuses input nested deeper than [`MAX_DEPTH`].

/// Deepest nesting accepted, so hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 32;

/// A parsed Python literal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PyValue {
    /// `None`.
    None,
    /// `True` or `False`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A list or tuple.
    List(Vec<Self>),
    /// A dict, in source order.
    Dict(Vec<(Self, Self)>),
}

impl PyValue {
    /// Returns the value under string key `key` of a dict.
    pub(crate) fn get(&self, key: &str) -> Option<&Self> {
        match self {
            Self::Dict(items) => items
                .iter()
                .find(|(k, _)| matches!(k, Self::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Returns the text of a string.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Returns the items of a list.
    pub(crate) fn as_list(&self) -> Option<&[Self]> {
        match self {
            Self::List(items) => Some(items),
            _ => None,
        }
    }

    /// Returns a number as `f64`, for integers and floats alike.
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Int(n) => Some(*n as f64),
            Self::Float(x) if x.is_finite() => Some(*x),
            _ => None,
        }
    }

    /// Returns a non-negative whole number, accepting `8` and `8.0` but not `8.5` or `-1`.
    pub(crate) fn as_count(&self) -> Option<u64> {
        match self {
            Self::Int(n) => u64::try_from(*n).ok(),
            Self::Float(x) if x.is_finite() && *x >= 0.0 && x.fract() == 0.0 && *x < 1e15 => {
                Some(*x as u64)
            }
            _ => None,
        }
    }
}

/// Parses one literal that must fill the whole text (surrounding white space allowed).
pub(crate) fn parse(text: &str) -> Result<PyValue, String> {
    let mut p = Parser {
        bytes: text.as_bytes(),
        text,
        pos: 0,
    };

    let value = p.value(0)?;
    p.skip_ws();

    if p.pos != p.bytes.len() {
        return Err(format!("unexpected text at byte {}", p.pos));
    }
    Ok(value)
}

struct Parser<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn value(&mut self, depth: usize) -> Result<PyValue, String> {
        if depth > MAX_DEPTH {
            return Err(format!("nested deeper than {MAX_DEPTH} levels"));
        }
        self.skip_ws();

        match self.peek() {
            Some(b'{') => self.dict(depth),
            Some(b'[') => self.seq(b']', depth),
            Some(b'(') => self.seq(b')', depth),
            Some(q @ (b'\'' | b'"')) => self.string(q).map(PyValue::Str),
            Some(b'-' | b'+' | b'.' | b'0'..=b'9') => self.number(),
            Some(c) if c.is_ascii_alphabetic() => self.word(),
            Some(_) => Err(format!("unexpected character at byte {}", self.pos)),
            None => Err("unexpected end of text".to_owned()),
        }
    }

    fn dict(&mut self, depth: usize) -> Result<PyValue, String> {
        self.pos += 1;
        let mut items = Vec::new();

        loop {
            self.skip_ws();
            if self.eat(b'}') {
                return Ok(PyValue::Dict(items));
            }
            let key = self.value(depth + 1)?;
            self.skip_ws();
            if !self.eat(b':') {
                return Err(format!("expected `:` at byte {}", self.pos));
            }
            let value = self.value(depth + 1)?;
            items.push((key, value));
            self.skip_ws();
            if !self.eat(b',') && self.peek() != Some(b'}') {
                return Err(format!("expected `,` or `}}` at byte {}", self.pos));
            }
        }
    }

    fn seq(&mut self, close: u8, depth: usize) -> Result<PyValue, String> {
        self.pos += 1;
        let mut items = Vec::new();

        loop {
            self.skip_ws();
            if self.eat(close) {
                return Ok(PyValue::List(items));
            }
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            if !self.eat(b',') && self.peek() != Some(close) {
                return Err(format!(
                    "expected `,` or `{}` at byte {}",
                    close as char, self.pos
                ));
            }
        }
    }

    fn string(&mut self, quote: u8) -> Result<String, String> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();

        loop {
            let rest = self.text.get(self.pos..).unwrap_or("");
            let Some(c) = rest.chars().next() else {
                return Err(format!("string opened at byte {start} is not closed"));
            };
            self.pos += c.len_utf8();
            match c {
                c if c as u32 == u32::from(quote) => return Ok(out),
                '\\' => out.push(self.escape()?),
                c => out.push(c),
            }
        }
    }

    fn escape(&mut self) -> Result<char, String> {
        let c = self.peek().ok_or("string ends inside an escape")?;
        self.pos += 1;

        Ok(match c {
            b'n' => '\n',
            b't' => '\t',
            b'r' => '\r',
            b'0' => '\0',
            b'\\' | b'\'' | b'"' => c as char,
            b'x' => {
                let hex = self
                    .text
                    .get(self.pos..self.pos + 2)
                    .ok_or("short \\x escape")?;
                self.pos += 2;
                let code = u8::from_str_radix(hex, 16).map_err(|_| "bad \\x escape")?;
                char::from(code)
            }
            _ => return Err(format!("unknown escape at byte {}", self.pos - 1)),
        })
    }

    fn number(&mut self) -> Result<PyValue, String> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E' | b'_') {
                self.pos += 1;
            } else {
                break;
            }
        }

        let text = self.text[start..self.pos].replace('_', "");
        if let Ok(n) = text.parse::<i64>() {
            return Ok(PyValue::Int(n));
        }
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(PyValue::Float(x)),
            _ => Err(format!("malformed number at byte {start}")),
        }
    }

    fn word(&mut self) -> Result<PyValue, String> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            self.pos += 1;
        }

        match &self.text[start..self.pos] {
            "None" | "null" => Ok(PyValue::None),
            "True" | "true" => Ok(PyValue::Bool(true)),
            "False" | "false" => Ok(PyValue::Bool(false)),
            _ => Err(format!("unknown name at byte {start}")),
        }
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.pos += 1;
        }
        hit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_aws_gpu_info() {
        let text = "{'Gpus': [{'Name': 'V100', 'Manufacturer': 'NVIDIA', 'Count': 8, \
                    'LogicalGpuCount': 8, 'GpuPartitionSize': 1.0, 'Workloads': ['ml-ai'], \
                    'MemoryInfo': {'SizeInMiB': 16384}}], 'TotalGpuMemoryInMiB': 131072}";

        let value = parse(text).unwrap();

        let gpu = &value.get("Gpus").unwrap().as_list().unwrap()[0];
        assert_eq!(gpu.get("Name").unwrap().as_str(), Some("V100"));
        assert_eq!(gpu.get("Count").unwrap().as_count(), Some(8));
        let size = gpu.get("MemoryInfo").unwrap().get("SizeInMiB").unwrap();
        assert_eq!(size.as_count(), Some(16384));
        assert_eq!(
            value.get("TotalGpuMemoryInMiB").unwrap().as_count(),
            Some(131072)
        );
    }

    #[test]
    fn counts_accept_floats_that_are_whole() {
        let value = parse("[8.0, 8, 8.5, -1, 1e3]").unwrap();

        let counts: Vec<_> = value
            .as_list()
            .unwrap()
            .iter()
            .map(PyValue::as_count)
            .collect();

        assert_eq!(counts, [Some(8), Some(8), None, None, Some(1000)]);
    }

    #[test]
    fn strings_constants_and_tuples() {
        let value = parse(r#"{"a": 'it\'s', 'b': (True, False, None), 'c': "\x41"}"#).unwrap();

        assert_eq!(value.get("a").unwrap().as_str(), Some("it's"));
        assert_eq!(
            value.get("b").unwrap(),
            &PyValue::List(vec![
                PyValue::Bool(true),
                PyValue::Bool(false),
                PyValue::None
            ])
        );
        assert_eq!(value.get("c").unwrap().as_str(), Some("A"));
        assert_eq!(
            parse("{'é': 'ü'}").unwrap().get("é").unwrap().as_str(),
            Some("ü")
        );
    }

    #[test]
    fn rejects_malformed_input_without_panicking() {
        let deep = "[".repeat(100) + &"]".repeat(100);
        for bad in [
            "",
            "{",
            "{'a' 1}",
            "{'a': 1",
            "['x'",
            "'open",
            "{'a': nan}",
            "[1,,2]",
            "1 2",
            "{'a': 1}}",
            "'\\q'",
            "'\\x4'",
            "--",
            "{1: [}",
            &deep,
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}

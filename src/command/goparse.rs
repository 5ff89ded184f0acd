//! Go's value syntaxes, as pflag and the CLI's flag types read them: `strconv.ParseBool`,
//! `strconv.ParseInt(s, 0, 64)`, `strconv.ParseFloat(s, 32)`, `time.ParseDuration` (plus the CLI's
//! `d` unit) and `time.Parse(time.RFC3339, s)`. Each returns Go's own error text, so tgate's messages
//! read like the CLI's.

/// `strconv.ParseBool`.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!(
            "strconv.ParseBool: parsing {}: invalid syntax",
            quote(s)
        )),
    }
}

/// Go's `%q` (`strconv.Quote`) for the strings we print: printable characters stay, `"` and `\`
/// are escaped, and so are controls (which the lexer refuses before any of these messages).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `time.quote`, which the `time` package's errors use instead of `%q`: every byte outside
/// printable ASCII as `\xNN` (`"é"` is `"\xc3\xa9"`), `"` and `\` escaped with a backslash.
pub fn time_quote(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() + 2);
    out.push('"');
    for &c in b {
        match c {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(c));
            }
            0x20..0x80 => out.push(char::from(c)),
            _ => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push('"');
    out
}

/// Go's `underscoreOK`: underscores only between digits, or between a base prefix and a digit.
fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    let b = if !b.is_empty() && (b[0] == b'-' || b[0] == b'+') {
        &b[1..]
    } else {
        b
    };
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1] | 0x20, b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1] | 0x20 == b'x';
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || hex && (c | 0x20).is_ascii_hexdigit() {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// `strconv.ParseInt(s, 0, 64)`.
pub fn parse_int(s: &str) -> Result<i64, String> {
    let syntax = || format!("strconv.ParseInt: parsing {}: invalid syntax", quote(s));
    let range = || format!("strconv.ParseInt: parsing {}: value out of range", quote(s));
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return Err(syntax());
    }
    let (radix, digits) = {
        let lower = body.as_bytes();
        if lower.len() >= 2 && lower[0] == b'0' && (lower[1] | 0x20) == b'x' {
            (16, &body[2..])
        } else if lower.len() >= 2 && lower[0] == b'0' && (lower[1] | 0x20) == b'b' {
            (2, &body[2..])
        } else if lower.len() >= 2 && lower[0] == b'0' && (lower[1] | 0x20) == b'o' {
            (8, &body[2..])
        } else if lower[0] == b'0' && lower.len() > 1 {
            (8, &body[1..])
        } else {
            (10, body)
        }
    };
    let mut underscores = false;
    let mut value: u64 = 0;
    let mut overflow = false;
    let mut any = false;
    for c in digits.chars() {
        if c == '_' {
            underscores = true;
            continue;
        }
        let d = c.to_digit(radix).ok_or_else(syntax)?;
        any = true;
        match value
            .checked_mul(radix as u64)
            .and_then(|v| v.checked_add(d as u64))
        {
            Some(v) => value = v,
            None => overflow = true,
        }
    }
    // A bare "0x" has no digits; a leading "0" alone (octal "0") is fine.
    if !(any || radix == 8 && digits.is_empty() && body.len() == 1) {
        return Err(syntax());
    }
    if underscores && !underscore_ok(s) {
        return Err(syntax());
    }
    if overflow {
        return Err(range());
    }
    if neg {
        if value > i64::MAX as u64 + 1 {
            return Err(range());
        }
        Ok((value as i128).wrapping_neg() as i64)
    } else if value > i64::MAX as u64 {
        Err(range())
    } else {
        Ok(value as i64)
    }
}

/// `strconv.ParseFloat(s, 32)`: decimal and hexadecimal (`0x1p-2`) forms, `inf`/`infinity`/`nan`
/// in any case, and Go's underscore rule.
pub fn parse_float32(s: &str) -> Result<f32, String> {
    let syntax = || format!("strconv.ParseFloat: parsing {}: invalid syntax", quote(s));
    let range = || {
        format!(
            "strconv.ParseFloat: parsing {}: value out of range",
            quote(s)
        )
    };
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let special = match lower.as_str() {
        "inf" | "infinity" => Some(f32::INFINITY),
        "nan" if body.len() == s.len() => Some(f32::NAN),
        _ => None,
    };
    if let Some(v) = special {
        return Ok(if neg { -v } else { v });
    }
    if body.contains('_') && !underscore_ok(s) {
        return Err(syntax());
    }
    let clean: String = body.chars().filter(|&c| c != '_').collect();
    let cb = clean.as_bytes();
    let v: f32 = if cb.len() > 2 && cb[0] == b'0' && (cb[1] | 0x20) == b'x' {
        parse_hex_float(&clean[2..]).ok_or_else(syntax)? as f32
    } else {
        // Go's decimal grammar: digits [. digits] [e [+-] digits], at least one mantissa digit.
        let b = clean.as_bytes();
        let mut i = 0;
        let mut mant = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
            mant += 1;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
                mant += 1;
            }
        }
        if mant == 0 {
            return Err(syntax());
        }
        if i < b.len() && (b[i] | 0x20) == b'e' {
            i += 1;
            if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                i += 1;
            }
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return Err(syntax());
            }
        }
        if i != b.len() {
            return Err(syntax());
        }
        // Correctly rounded to f32, as Go's ParseFloat(s, 32) is.
        clean.parse::<f32>().map_err(|_| syntax())?
    };
    if v.is_infinite() {
        return Err(range());
    }
    Ok(if neg { -v } else { v })
}

/// Mantissa `h[.h]` and mandatory binary exponent `p[+-]d`, as Go requires for hex floats.
fn parse_hex_float(s: &str) -> Option<f64> {
    let (mant, exp) = s.split_once(['p', 'P'])?;
    let exp: i32 = {
        let e = exp.strip_prefix('+').unwrap_or(exp);
        if e.is_empty()
            || !e
                .trim_start_matches('-')
                .bytes()
                .all(|b| b.is_ascii_digit())
        {
            return None;
        }
        e.parse().ok()?
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int.chars() {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    Some(v * 2f64.powi(exp))
}

/// The CLI's `FlagDuration`: every `<number>d` is first rewritten to hours (`1.5d` → `36.000000h`,
/// six decimals as Go's `%f` prints them), then Go's `time.ParseDuration` reads the result. Error
/// texts therefore show the rewritten string, as the CLI's do.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    if !s.contains('d') {
        return go_parse_duration(s);
    }
    // Compiled only when needed: a process's first regex costs ~0.25 ms (docs/benchmarks.md).
    static DAYS: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let days = DAYS.get_or_init(|| {
        regex::Regex::new(r"([0-9]+(\.[0-9]*)?|(\.[0-9]+))d").expect("static regex")
    });
    let rewritten = days.replace_all(s, |c: &regex::Captures<'_>| {
        let num = &c[0][..c[0].len() - 1];
        match num.parse::<f64>() {
            Ok(v) => format!("{:.6}h", 24.0 * v),
            Err(_) => c[0].to_owned(),
        }
    });
    go_parse_duration(&rewritten)
}

/// Go's `time.ParseDuration`: units `ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`.
fn go_parse_duration(s: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", time_quote(s.as_bytes()));
    let orig = s;
    let mut s = s;
    let mut neg = false;
    if let Some(rest) = s.strip_prefix('-') {
        neg = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        // Go requires the component to start with a digit or '.'.
        let b = s.as_bytes();
        if !(b[0] == b'.' || b[0].is_ascii_digit()) {
            return Err(invalid());
        }
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &s[..int_len];
        s = &s[int_len..];
        let mut frac_part = "";
        if let Some(rest) = s.strip_prefix('.') {
            let n = rest.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &rest[..n];
            s = &rest[n..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_len = s
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map(|(i, _)| i)
            .unwrap_or(s.len());
        let unit = &s[..unit_len];
        s = &s[unit_len..];
        if unit.is_empty() {
            return Err(format!(
                "time: missing unit in duration {}",
                time_quote(orig.as_bytes())
            ));
        }
        let per: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    time_quote(unit.as_bytes()),
                    time_quote(orig.as_bytes())
                ));
            }
        };
        let int: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        let mut v = int.checked_mul(per).ok_or_else(invalid)?;
        if !frac_part.is_empty() {
            // Go keeps the fraction's leading digits that fit and truncates.
            let mut scale: u128 = 1;
            let mut f: u128 = 0;
            for d in frac_part.bytes().take(30) {
                f = f * 10 + (d - b'0') as u128;
                scale *= 10;
            }
            v += f * per / scale;
        }
        total = total.checked_add(v).ok_or_else(invalid)?;
        if total > i64::MAX as u128 + u128::from(neg) {
            return Err(invalid());
        }
    }
    let t = total as i128;
    Ok(if neg { (-t) as i64 } else { t as i64 })
}

/// `time.Parse(time.RFC3339, s)`: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, read as Go reads it:
/// element by element, each range checked as soon as it is read (month, hour, minute, second, the
/// offset's hour then minute), the day against its month's length only at the end. The hour may
/// have one digit (Go reads layout element `15` without a fixed width); a fraction is accepted
/// although the layout has none (its first nine digits count, the rest are dropped); a
/// lower-case `t`/`z` is refused. The instant as Unix seconds and nanoseconds, as Go's `Unix()`
/// and `Nanosecond()`; the error in Go's words.
pub fn parse_timestamp(s: &str) -> Result<(i64, i32), String> {
    let b = s.as_bytes();
    let mut at = 0usize;
    let rest = |at: usize| b.get(at..).unwrap_or_default();
    let syntax = |at: usize, elem: &str| {
        format!(
            "parsing time {} as \"2006-01-02T15:04:05Z07:00\": cannot parse {} as {}",
            time_quote(b),
            time_quote(rest(at)),
            time_quote(elem.as_bytes())
        )
    };
    let range = |what: &str| format!("parsing time {}: {what} out of range", time_quote(b));
    let digit = |i: usize| {
        b.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|c| u32::from(c - b'0'))
    };
    // Go's `getnum`: two digits, or (not `fixed`) one when the next is not a digit.
    let num = |at: &mut usize, fixed: bool, elem: &str| -> Result<u32, String> {
        let first = digit(*at).ok_or_else(|| syntax(*at, elem))?;
        match digit(*at + 1) {
            Some(second) => {
                *at += 2;
                Ok(first * 10 + second)
            }
            None if fixed => Err(syntax(*at, elem)),
            None => {
                *at += 1;
                Ok(first)
            }
        }
    };
    let lit = |at: &mut usize, c: u8, elem: &str| -> Result<(), String> {
        if b.get(*at) == Some(&c) {
            *at += 1;
            Ok(())
        } else {
            Err(syntax(*at, elem))
        }
    };
    let year = match (0..4).map(digit).collect::<Option<Vec<u32>>>() {
        Some(d) => d.iter().fold(0, |y, d| y * 10 + d),
        None => return Err(syntax(0, "2006")),
    };
    at += 4;
    lit(&mut at, b'-', "-")?;
    let month = num(&mut at, true, "01")?;
    if !(1..=12).contains(&month) {
        return Err(range("month"));
    }
    lit(&mut at, b'-', "-")?;
    let day = num(&mut at, true, "02")?;
    lit(&mut at, b'T', "T")?;
    let hour = num(&mut at, false, "15")?;
    if hour >= 24 {
        return Err(range("hour"));
    }
    lit(&mut at, b':', ":")?;
    let min = num(&mut at, true, "04")?;
    if min >= 60 {
        return Err(range("minute"));
    }
    lit(&mut at, b':', ":")?;
    let sec = num(&mut at, true, "05")?;
    if sec >= 60 {
        return Err(range("second"));
    }
    let mut nanos = 0i32;
    if matches!(b.get(at), Some(b'.' | b',')) && digit(at + 1).is_some() {
        at += 1;
        let mut scale = 100_000_000;
        while let Some(d) = digit(at) {
            nanos += d as i32 * scale;
            scale /= 10;
            at += 1;
        }
    }
    let mut offset = 0i64;
    if b.get(at) == Some(&b'Z') {
        at += 1;
    } else {
        // Go's `Z07:00` without a `Z`: six bytes with a `:` fourth, whatever the others; the hour
        // (bytes 2-3) then the minute (5-6) read as two digits each (the minute only if the hour
        // was), each range checked, and only then the sign. So a range error wins over a bad sign
        // or minute (`+25:6x`, `x25:00`), and Go names the last field out of range.
        let bad = || syntax(at, "Z07:00");
        if b.len() < at + 6 || b[at + 3] != b':' {
            return Err(bad());
        }
        let two = |i: usize| Some(digit(i)? * 10 + digit(i + 1)?);
        let hour = two(at + 1);
        let minute = hour.and(two(at + 4));
        let (oh, om) = (hour.unwrap_or(0), minute.unwrap_or(0));
        if om > 60 {
            return Err(range("time zone offset minute"));
        }
        if oh > 24 {
            return Err(range("time zone offset hour"));
        }
        let sign = match b[at] {
            b'+' => 1,
            b'-' => -1,
            _ => return Err(bad()),
        };
        if minute.is_none() {
            return Err(bad());
        }
        offset = i64::from(oh * 3600 + om * 60) * sign;
        at += 6;
    }
    if at != b.len() {
        return Err(format!(
            "parsing time {}: extra text: {}",
            time_quote(b),
            time_quote(rest(at))
        ));
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let mdays = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if day < 1 || day > mdays[month as usize - 1] {
        return Err(range("day"));
    }
    let local = days_from_civil(i64::from(year), month, day) * 86_400
        + i64::from(hour * 3600 + min * 60 + sec);
    Ok((local - offset, nanos))
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_follow_go_base_zero() {
        assert_eq!(parse_int("10"), Ok(10));
        assert_eq!(parse_int("0x10"), Ok(16));
        assert_eq!(parse_int("0X1f"), Ok(31));
        assert_eq!(parse_int("010"), Ok(8));
        assert_eq!(parse_int("0o17"), Ok(15));
        assert_eq!(parse_int("0b101"), Ok(5));
        assert_eq!(parse_int("1_000"), Ok(1000));
        assert_eq!(parse_int("-5"), Ok(-5));
        assert_eq!(parse_int("+5"), Ok(5));
        assert_eq!(parse_int("0"), Ok(0));
        assert_eq!(parse_int("-9223372036854775808"), Ok(i64::MIN));
        assert!(
            parse_int("9223372036854775808")
                .unwrap_err()
                .contains("out of range")
        );
        for bad in [
            "", "abc", "1_", "_1", "1__0", "0x", "08", "1.5", " 1", "1e3", "--1",
        ] {
            assert!(
                parse_int(bad).unwrap_err().contains("invalid syntax"),
                "{bad}"
            );
        }
        assert_eq!(
            parse_int("abc").unwrap_err(),
            "strconv.ParseInt: parsing \"abc\": invalid syntax"
        );
    }

    #[test]
    fn floats_follow_go() {
        assert_eq!(parse_float32("1.5"), Ok(1.5));
        assert_eq!(parse_float32(".5"), Ok(0.5));
        assert_eq!(parse_float32("5."), Ok(5.0));
        assert_eq!(parse_float32("1e3"), Ok(1000.0));
        assert_eq!(parse_float32("1_000.5"), Ok(1000.5));
        assert_eq!(parse_float32("0x1p-2"), Ok(0.25));
        assert_eq!(parse_float32("Inf"), Ok(f32::INFINITY));
        assert_eq!(parse_float32("-infinity"), Ok(f32::NEG_INFINITY));
        assert!(parse_float32("NaN").unwrap().is_nan());
        assert!(parse_float32("1e39").unwrap_err().contains("out of range"));
        // Found by fuzzing: a multi-byte character where a hex prefix could be.
        for bad in [
            "",
            ".",
            "e3",
            "1e",
            "abc",
            "0x1",
            "1_",
            "1.5.5",
            "+nan",
            ".\u{fffd}5",
            "\u{e9}x1",
        ] {
            assert!(parse_float32(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_follow_go_plus_days() {
        const S: i64 = 1_000_000_000;
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("5s"), Ok(5 * S));
        assert_eq!(parse_duration("1h30m"), Ok(5400 * S));
        assert_eq!(parse_duration("1.5h"), Ok(5400 * S));
        assert_eq!(parse_duration("1d2h"), Ok(26 * 3600 * S));
        assert_eq!(parse_duration("1.5d"), Ok(36 * 3600 * S));
        assert_eq!(parse_duration("-1m"), Ok(-60 * S));
        assert_eq!(parse_duration("300ms"), Ok(300_000_000));
        assert_eq!(parse_duration("1µs"), Ok(1000));
        assert_eq!(parse_duration(".5s"), Ok(S / 2));
        assert_eq!(
            parse_duration("5").unwrap_err(),
            "time: missing unit in duration \"5\""
        );
        assert_eq!(
            parse_duration("5x").unwrap_err(),
            "time: unknown unit \"x\" in duration \"5x\""
        );
        assert_eq!(
            parse_duration("1dd").unwrap_err(),
            "time: unknown unit \"hd\" in duration \"24.000000hd\""
        );
        assert_eq!(
            parse_duration("-10d12.25h"),
            Ok(-(252 * 3600 + 15 * 60) * S)
        );
        assert_eq!(
            parse_duration("8m7h6d5d4h3m"),
            Ok(((11 * 24 + 11) * 3600 + 11 * 60) * S)
        );
        for bad in ["", "s", "-", ".s", "1.5.5s", "h1", "d", "xd"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_duration("3000000h").is_err());
    }

    #[test]
    fn timestamps_follow_rfc3339_layout() {
        for ok in [
            "2024-01-01T00:00:00Z",
            "2024-01-01T00:00:00.123456789Z",
            "2024-02-29T23:59:59+05:30",
            "2024-01-01T00:00:00-07:00",
        ] {
            assert!(parse_timestamp(ok).is_ok(), "{ok}");
        }
        // The instant, against `date -u -d ... +%s`.
        for (text, want) in [
            ("1970-01-01T00:00:00Z", (0, 0)),
            ("2024-02-29T23:59:59+05:30", (1_709_231_399, 0)),
            ("2024-01-01T00:00:00-07:00", (1_704_092_400, 0)),
            ("1969-12-31T23:59:59.5Z", (-1, 500_000_000)),
            ("0001-01-01T00:00:00Z", (-62_135_596_800, 0)),
            ("9999-12-31T23:59:59Z", (253_402_300_799, 0)),
            // Nine digits count; a tenth is dropped, not rounded.
            (
                "2024-01-01T00:00:00.1234567899Z",
                (1_704_067_200, 123_456_789),
            ),
            ("2024-01-01T00:00:00,25Z", (1_704_067_200, 250_000_000)),
            // A one-digit hour, as Go reads layout element `15`.
            ("2024-01-01T1:00:00Z", (1_704_070_800, 0)),
        ] {
            assert_eq!(parse_timestamp(text), Ok(want), "{text}");
        }
        // Each range is checked as its field is read, as Go does (messages from the CLI 1.9.1).
        for (text, error) in [
            (
                "2026-01-01T00:00:00+25:00",
                "time zone offset hour out of range",
            ),
            (
                "2026-01-01T00:00:00+01:61",
                "time zone offset minute out of range",
            ),
            (
                "2026-01-01T00:00:00+25:61",
                "time zone offset minute out of range",
            ),
            ("2026-13-01T00:00:00+0100", "month out of range"),
            ("2026-01-01T25:00:00+0100", "hour out of range"),
            ("2026-01-01T00:60:00+0100", "minute out of range"),
            ("2026-13-01T00:00:00Zjunk", "month out of range"),
            ("2026-01-01T24:00:00+25:00", "hour out of range"),
            ("2026-01-01T1:0:00Z", "cannot parse \"0:00Z\" as \"04\""),
            ("2026-02-30T00:00:00Zjunk", "extra text: \"junk\""),
        ] {
            let got = parse_timestamp(text).unwrap_err();
            assert!(got.ends_with(error), "{text}: {got}");
        }
        assert_eq!(
            parse_timestamp("2024-01-01").unwrap_err(),
            "parsing time \"2024-01-01\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"\" as \"T\""
        );
        for bad in [
            "2023-02-29T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01t00:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00Zx",
            "2024-13-01T00:00:00Z",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
    }
}

//! Query options of SensorThings collections: `$top`, `$skip`, `$count`, `$orderby` and
//! `$filter` (comparisons of a property with a literal, joined by `and`, `or`, `not` and
//! parentheses), turned into SQL over whitelisted columns with every value bound.

use crate::StaError;
use crate::entity::{EntitySet, Kind, Property};
use chrono::{DateTime, Utc};

/// Entities per page when `$top` is not given (as FROST-Server).
pub const DEFAULT_TOP: i64 = 100;
/// Most entities per page.
pub const MAX_TOP: i64 = 10_000;

/// A value bound into a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    /// A whole number.
    Int(i64),
    /// A number.
    Float(f64),
    /// Text.
    Text(String),
    /// An instant.
    Time(DateTime<Utc>),
}

/// The query options of one request.
#[derive(Debug, Clone)]
pub struct Query {
    /// Page size.
    pub top: i64,
    /// Entities skipped.
    pub skip: i64,
    /// Whether `@iot.count` is wanted.
    pub count: bool,
    /// `ORDER BY` over whitelisted columns (always ending in `id` for stable pages).
    pub order_sql: String,
    /// The `$filter` as SQL on the set's rows (aliased `e`), placeholders from the first
    /// free number given to [`Query::parse`].
    pub filter_sql: Option<String>,
    /// Values of those placeholders, in order.
    pub binds: Vec<Bind>,
}

impl Query {
    /// Reads the options of `raw` (a URL query string) for `set`; placeholders in the
    /// filter start at `$first`.
    pub fn parse(set: EntitySet, raw: &str, first: usize) -> Result<Self, StaError> {
        let mut query = Query {
            top: DEFAULT_TOP,
            skip: 0,
            count: false,
            order_sql: "e.id".into(),
            filter_sql: None,
            binds: Vec::new(),
        };
        for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
            match key.as_ref() {
                "$top" => query.top = whole(&key, &value)?.min(MAX_TOP),
                "$skip" => query.skip = whole(&key, &value)?,
                "$count" => {
                    query.count = match value.as_ref() {
                        "true" => true,
                        "false" => false,
                        _ => return Err(StaError::BadRequest(format!("$count is true or false, not '{value}'"))),
                    }
                }
                "$orderby" => query.order_sql = order_by(set, &value)?,
                "$filter" => {
                    let mut parser = Parser { set, tokens: tokens(&value)?, at: 0, binds: Vec::new(), first };
                    let sql = parser.expression()?;
                    if let Some(extra) = parser.tokens.get(parser.at) {
                        return Err(StaError::BadRequest(format!("$filter: unexpected '{extra}'")));
                    }
                    query.filter_sql = Some(sql);
                    query.binds = parser.binds;
                }
                "$select" | "$expand" | "$resultFormat" => {
                    return Err(StaError::BadRequest(format!("{key} is not supported by diaba; ask without it")));
                }
                other if other.starts_with('$') => {
                    return Err(StaError::BadRequest(format!("unknown query option {other}")));
                }
                _ => {}
            }
        }
        Ok(query)
    }
}

fn whole(key: &str, value: &str) -> Result<i64, StaError> {
    value
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| StaError::BadRequest(format!("{key} is a whole number ≥ 0, not '{value}'")))
}

/// `phenomenonTime desc, id` → `e.phenomenon_time DESC, e.id ASC, e.id`.
fn order_by(set: EntitySet, text: &str) -> Result<String, StaError> {
    let mut terms = Vec::new();
    for term in text.split(',').map(str::trim) {
        let mut words = term.split_whitespace();
        let name = words.next().ok_or_else(|| StaError::BadRequest("$orderby: empty term".into()))?;
        let property = known(set, name)?;
        // Clients write the direction in either case (FROST's Python client sends DESC).
        let direction = match words.next().map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => "ASC",
            Some("desc") => "DESC",
            Some(other) => return Err(StaError::BadRequest(format!("$orderby: '{other}' is not asc or desc"))),
        };
        terms.push(format!("e.{} {direction}", property.column));
    }
    terms.push("e.id".into());
    Ok(terms.join(", "))
}

fn known(set: EntitySet, name: &str) -> Result<&'static Property, StaError> {
    set.property(name).ok_or_else(|| {
        let names: Vec<&str> = set.properties().iter().map(|p| p.name).collect();
        StaError::BadRequest(format!(
            "{} have no property '{name}' to query; they have {}",
            set.name(),
            names.join(", ")
        ))
    })
}

/// Words, quoted strings and parentheses of a filter.
fn tokens(text: &str) -> Result<Vec<String>, StaError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '(' || c == ')' {
            out.push(c.to_string());
            chars.next();
        } else if c == '\'' {
            chars.next();
            let mut literal = String::from("'");
            loop {
                match chars.next() {
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        literal.push('\'');
                    }
                    Some('\'') => break,
                    Some(c) => literal.push(c),
                    None => return Err(StaError::BadRequest("$filter: unterminated string".into())),
                }
            }
            out.push(literal);
        } else {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '(' || c == ')' {
                    break;
                }
                word.push(c);
                chars.next();
            }
            out.push(word);
        }
    }
    Ok(out)
}

struct Parser {
    set: EntitySet,
    tokens: Vec<String>,
    at: usize,
    binds: Vec<Bind>,
    first: usize,
}

impl Parser {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(String::as_str)
    }

    fn next(&mut self) -> Result<String, StaError> {
        let token =
            self.tokens.get(self.at).cloned().ok_or_else(|| StaError::BadRequest("$filter ends too soon".into()))?;
        self.at += 1;
        Ok(token)
    }

    fn expression(&mut self) -> Result<String, StaError> {
        let mut sql = self.conjunction()?;
        while self.peek() == Some("or") {
            self.at += 1;
            sql = format!("({sql} OR {})", self.conjunction()?);
        }
        Ok(sql)
    }

    fn conjunction(&mut self) -> Result<String, StaError> {
        let mut sql = self.unary()?;
        while self.peek() == Some("and") {
            self.at += 1;
            sql = format!("({sql} AND {})", self.unary()?);
        }
        Ok(sql)
    }

    fn unary(&mut self) -> Result<String, StaError> {
        match self.peek() {
            Some("not") => {
                self.at += 1;
                Ok(format!("(NOT {})", self.unary()?))
            }
            Some("(") => {
                self.at += 1;
                let inner = self.expression()?;
                if self.peek() != Some(")") {
                    return Err(StaError::BadRequest("$filter: a '(' is not closed".into()));
                }
                self.at += 1;
                Ok(inner)
            }
            _ => self.comparison(),
        }
    }

    fn comparison(&mut self) -> Result<String, StaError> {
        let name = self.next()?;
        if self.peek() == Some("(") {
            return Err(StaError::BadRequest(format!("$filter: the function {name}() is not supported by diaba")));
        }
        let property = known(self.set, &name)?;
        let op = match self.next()?.as_str() {
            "eq" => "=",
            "ne" => "<>",
            "gt" => ">",
            "ge" => ">=",
            "lt" => "<",
            "le" => "<=",
            other => {
                return Err(StaError::BadRequest(format!(
                    "$filter: '{other}' is not a comparison (eq ne gt ge lt le)"
                )));
            }
        };
        let literal = self.next()?;
        self.binds.push(value(property, &literal)?);
        let placeholder = self.first + self.binds.len() - 1;
        Ok(format!("e.{} {op} ${placeholder}", property.column))
    }
}

/// A literal read as `property`'s kind.
fn value(property: &Property, literal: &str) -> Result<Bind, StaError> {
    let wrong = |expected: &str| {
        StaError::BadRequest(format!("$filter: {} is compared with {expected}, not {literal}", property.name))
    };
    let unquoted = literal.strip_prefix('\'');
    match property.kind {
        Kind::Id => literal.parse().map(Bind::Int).map_err(|_| wrong("a whole number")),
        Kind::Number => {
            literal.parse::<f64>().ok().filter(|x| x.is_finite()).map(Bind::Float).ok_or_else(|| wrong("a number"))
        }
        Kind::Text => unquoted.map(|s| Bind::Text(s.to_string())).ok_or_else(|| wrong("a 'quoted string'")),
        Kind::Time => DateTime::parse_from_rfc3339(unquoted.unwrap_or(literal))
            .map(|t| Bind::Time(t.with_timezone(&Utc)))
            .map_err(|_| wrong("an ISO 8601 instant such as 2026-11-30T10:00:00Z")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(set: EntitySet, text: &str) -> Result<(String, Vec<Bind>), StaError> {
        let raw: String = form_urlencoded::Serializer::new(String::new()).append_pair("$filter", text).finish();
        let q = Query::parse(set, &raw, 2)?;
        Ok((q.filter_sql.unwrap(), q.binds))
    }

    #[test]
    fn filters_become_sql_over_known_columns_with_every_value_bound() {
        let (sql, binds) = filter(
            EntitySet::Observations,
            "phenomenonTime ge 2026-11-30T00:00:00Z and (result gt 1.9 or not result lt 0)",
        )
        .unwrap();
        assert_eq!(sql, "(e.phenomenon_time >= $2 AND (e.result > $3 OR (NOT e.result < $4)))");
        assert_eq!(binds[1], Bind::Float(1.9));
        assert!(filter(EntitySet::Things, "name eq 'Trạm Cần Thơ' 'x'").is_err(), "a stray literal");
        let (_, binds) = filter(EntitySet::Things, "name eq 'O''Brien'").unwrap();
        assert_eq!(binds, vec![Bind::Text("O'Brien".into())]);
    }

    #[test]
    fn what_cannot_be_read_is_refused_with_the_reason() {
        for (text, says) in [
            ("result gt 'high'", "compared with a number"),
            ("owner eq 'x'", "no property 'owner'"),
            ("result gt 1; DROP TABLE x", "compared with a number, not 1;"),
            ("result gt 1 DROP TABLE x", "unexpected 'DROP'"),
            ("substringof('a', name)", "not supported"),
            ("result between 1", "not a comparison"),
            ("(result gt 1", "not closed"),
            ("phenomenonTime gt yesterday", "ISO 8601"),
        ] {
            let error = filter(EntitySet::Observations, text).unwrap_err().to_string();
            assert!(error.contains(says), "{text}: {error}");
        }
        assert!(Query::parse(EntitySet::Things, "$top=-1", 1).is_err());
        assert!(Query::parse(EntitySet::Things, "$expand=Datastreams", 1).is_err());
        let q = Query::parse(EntitySet::Observations, "$top=5&$skip=10&$count=true&$orderby=phenomenonTime%20desc", 1)
            .unwrap();
        assert_eq!((q.top, q.skip, q.count), (5, 10, true));
        assert_eq!(q.order_sql, "e.phenomenon_time DESC, e.id");
    }
}

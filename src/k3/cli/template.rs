//! The part of Go's text/template that `docker inspect --format` users type,
//! evaluated on JSON: fields (`{{.State.Pid}}`), `json`, `index`, `len`,
//! `join`, `upper`, `lower`, pipes (`{{.Config.Env | json}}`), `range` (with
//! `$k, $v :=`), `if`/`else`, `$` for the root, and `{{-`/`-}}` trimming.
//! Values print as Go prints them (`[a b]`, `map[k:v]`, `<no value>`); a field
//! the object lacks is an error naming it, as docker's is.

use serde_json::Value;

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Expr(String),
    Range {
        key: Option<String>,
        val: Option<String>,
        expr: String,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
    If {
        expr: String,
        then: Vec<Node>,
        otherwise: Vec<Node>,
    },
}

/// What ends a list of nodes while parsing.
enum Closer {
    Eof,
    End,
    Else,
}

impl Template {
    /// Parses `src`; the error says what is malformed.
    pub fn parse(src: &str) -> Result<Template, String> {
        let tokens = lex(src)?;
        let mut it = tokens.into_iter().peekable();
        let (nodes, end) = parse_nodes(&mut it)?;
        match end {
            Closer::Eof => Ok(Template { nodes }),
            Closer::End => Err("unexpected `{{end}}`".into()),
            Closer::Else => Err("unexpected `{{else}}`".into()),
        }
    }

    /// The text of the template applied to `root`.
    pub fn render(&self, root: &Value) -> Result<String, String> {
        let mut out = String::new();
        let mut vars = vec![("$".to_string(), root.clone())];
        render(&self.nodes, root, &mut vars, &mut out)?;
        Ok(out)
    }
}

#[derive(Debug)]
enum Tok {
    Text(String),
    Action(String),
}

fn lex(src: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(i) = rest.find("{{") {
        let mut text = &rest[..i];
        let after = &rest[i + 2..];
        let (trim_left, after) = match after.strip_prefix("- ") {
            Some(a) => (true, a),
            None => (false, after),
        };
        if trim_left {
            text = text.trim_end();
        }
        if !text.is_empty() {
            out.push(Tok::Text(text.to_string()));
        }
        let close = find_close(after).ok_or("unclosed action: no `}}`")?;
        let mut action = &after[..close];
        let mut next = &after[close + 2..];
        if let Some(a) = action.strip_suffix(" -") {
            action = a;
            next = next.trim_start();
        }
        out.push(Tok::Action(action.trim().to_string()));
        rest = next;
    }
    if !rest.is_empty() {
        out.push(Tok::Text(rest.to_string()));
    }
    Ok(out)
}

/// The `}}` that closes an action, skipping quoted strings.
fn find_close(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut quote = None;
    while i < b.len() {
        match (quote, b[i]) {
            (None, b'"' | b'`') => quote = Some(b[i]),
            (Some(q), c) if c == q => quote = None,
            (Some(b'"'), b'\\') => i += 1,
            (None, b'}') if b.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

type Toks = std::iter::Peekable<std::vec::IntoIter<Tok>>;

fn parse_nodes(it: &mut Toks) -> Result<(Vec<Node>, Closer), String> {
    let mut nodes = Vec::new();
    while let Some(t) = it.next() {
        let a = match t {
            Tok::Text(s) => {
                nodes.push(Node::Text(s));
                continue;
            }
            Tok::Action(a) => a,
        };
        let (word, rest) = a.split_once(' ').unwrap_or((&a, ""));
        let rest = rest.trim().to_string();
        match word {
            "end" => return Ok((nodes, Closer::End)),
            "else" => return Ok((nodes, Closer::Else)),
            "range" | "if" => {
                if rest.is_empty() {
                    return Err(format!("`{{{{{word}}}}}` needs a value"));
                }
                let (body, end) = parse_nodes(it)?;
                let otherwise = match end {
                    Closer::Else => match parse_nodes(it)? {
                        (o, Closer::End) => o,
                        _ => return Err(format!("`{{{{{word}}}}}` without `{{{{end}}}}`")),
                    },
                    Closer::End => Vec::new(),
                    Closer::Eof => return Err(format!("`{{{{{word}}}}}` without `{{{{end}}}}`")),
                };
                nodes.push(if word == "if" {
                    Node::If {
                        expr: rest,
                        then: body,
                        otherwise,
                    }
                } else {
                    let (key, val, expr) = range_vars(&rest)?;
                    Node::Range {
                        key,
                        val,
                        expr,
                        body,
                        otherwise,
                    }
                });
            }
            "with" | "define" | "template" | "block" => {
                return Err(format!("`{word}` is not supported"));
            }
            _ if a.starts_with("/*") => {}
            _ => nodes.push(Node::Expr(a)),
        }
    }
    Ok((nodes, Closer::Eof))
}

/// `$k, $v := EXPR`, `$v := EXPR` or `EXPR`.
fn range_vars(s: &str) -> Result<(Option<String>, Option<String>, String), String> {
    let Some((vars, expr)) = s.split_once(":=") else {
        return Ok((None, None, s.to_string()));
    };
    let names: Vec<String> = vars.split(',').map(|v| v.trim().to_string()).collect();
    if names.iter().any(|n| !n.starts_with('$') || n.len() < 2) {
        return Err(format!("invalid range variables `{}`", vars.trim()));
    }
    let expr = expr.trim().to_string();
    match names.as_slice() {
        [v] => Ok((None, Some(v.clone()), expr)),
        [k, v] => Ok((Some(k.clone()), Some(v.clone()), expr)),
        _ => Err(format!("too many range variables `{}`", vars.trim())),
    }
}

type Vars = Vec<(String, Value)>;

fn render(nodes: &[Node], dot: &Value, vars: &mut Vars, out: &mut String) -> Result<(), String> {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Expr(e) => out.push_str(&show(&eval(e, dot, vars)?)),
            Node::If {
                expr,
                then,
                otherwise,
            } => {
                let branch = if truthy(&eval(expr, dot, vars)?) {
                    then
                } else {
                    otherwise
                };
                render(branch, dot, vars, out)?;
            }
            Node::Range {
                key,
                val,
                expr,
                body,
                otherwise,
            } => {
                let items: Vec<(Value, Value)> = match eval(expr, dot, vars)? {
                    Value::Array(a) => a
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| (Value::from(i), v))
                        .collect(),
                    Value::Object(m) => {
                        let mut kv: Vec<_> =
                            m.into_iter().map(|(k, v)| (Value::String(k), v)).collect();
                        kv.sort_by(|a, b| a.0.as_str().cmp(&b.0.as_str()));
                        kv
                    }
                    Value::Null => Vec::new(),
                    other => {
                        return Err(format!("range over `{}`: not a list or map", show(&other)))
                    }
                };
                if items.is_empty() {
                    render(otherwise, dot, vars, out)?;
                }
                for (k, v) in items {
                    let mark = vars.len();
                    if let Some(name) = key {
                        vars.push((name.clone(), k));
                    }
                    if let Some(name) = val {
                        vars.push((name.clone(), v.clone()));
                    }
                    let r = render(body, &v, vars, out);
                    vars.truncate(mark);
                    r?;
                }
            }
        }
    }
    Ok(())
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// Evaluates a pipeline: `cmd | cmd ...`, each later command taking the value
/// before it as its last argument.
fn eval(expr: &str, dot: &Value, vars: &Vars) -> Result<Value, String> {
    let words = split_words(expr)?;
    let mut stages = words.split(|w| w == "|");
    let first = stages.next().unwrap_or_default();
    let mut v = call(first, None, dot, vars)?;
    for stage in stages {
        v = call(stage, Some(v), dot, vars)?;
    }
    Ok(v)
}

fn call(words: &[String], piped: Option<Value>, dot: &Value, vars: &Vars) -> Result<Value, String> {
    let (name, args) = words.split_first().ok_or("empty command")?;
    let mut vals = args
        .iter()
        .map(|a| operand(a, dot, vars))
        .collect::<Result<Vec<_>, _>>()?;
    let was_piped = piped.is_some();
    vals.extend(piped);
    let want = |n: usize| -> Result<(), String> {
        if vals.len() == n {
            Ok(())
        } else {
            Err(format!(
                "`{name}` wants {n} argument(s), got {}",
                vals.len()
            ))
        }
    };
    match name.as_str() {
        "json" => {
            want(1)?;
            Ok(Value::String(
                serde_json::to_string(&vals[0]).unwrap_or_default(),
            ))
        }
        "len" => {
            want(1)?;
            match &vals[0] {
                Value::Array(a) => Ok(a.len().into()),
                Value::Object(m) => Ok(m.len().into()),
                Value::String(s) => Ok(s.len().into()),
                v => Err(format!("len of `{}`", show(v))),
            }
        }
        "upper" | "lower" => {
            want(1)?;
            let s = show(&vals[0]);
            Ok(Value::String(if name == "upper" {
                s.to_uppercase()
            } else {
                s.to_lowercase()
            }))
        }
        "join" => {
            want(2)?;
            let sep = show(&vals[1]);
            let items = vals[0].as_array().ok_or("`join` wants a list")?;
            Ok(Value::String(
                items.iter().map(show).collect::<Vec<_>>().join(&sep),
            ))
        }
        "index" => {
            let (mut v, keys) = vals.split_first().ok_or("`index` wants a value")?;
            for k in keys {
                v = match (v, k) {
                    (Value::Object(m), Value::String(s)) => m.get(s).unwrap_or(&Value::Null),
                    (Value::Array(a), Value::Number(n)) => {
                        let i = n.as_u64().and_then(|i| usize::try_from(i).ok());
                        i.and_then(|i| a.get(i))
                            .ok_or_else(|| format!("index `{n}` out of range"))?
                    }
                    _ => return Err(format!("cannot index `{}` with `{}`", show(v), show(k))),
                };
            }
            Ok(v.clone())
        }
        _ if !was_piped && args.is_empty() => operand(name, dot, vars),
        _ if name.starts_with(['.', '$', '"', '`']) => Err(format!(
            "`{name}` is not a function (cannot take arguments)"
        )),
        _ => Err(format!("function `{name}` not defined")),
    }
}

/// A field chain (`.A.B`, `$v.A`, `.`), a string or a number.
fn operand(w: &str, dot: &Value, vars: &Vars) -> Result<Value, String> {
    if let Some(s) = w.strip_prefix('"') {
        return serde_json::from_str(&format!("\"{s}")).map_err(|_| format!("bad string {w}"));
    }
    if let Some(s) = w.strip_prefix('`') {
        return Ok(Value::String(s.trim_end_matches('`').to_string()));
    }
    if let Ok(n) = w.parse::<i64>() {
        return Ok(n.into());
    }
    match w {
        "true" => return Ok(Value::Bool(true)),
        "false" => return Ok(Value::Bool(false)),
        _ => {}
    }
    let (base, path) = if let Some(p) = w.strip_prefix('$') {
        let (name, path) = p.find('.').map_or((p, ""), |i| (&p[..i], &p[i..]));
        let name = format!("${name}");
        let v = vars
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
            .ok_or_else(|| format!("undefined variable `{name}`"))?;
        (v, path)
    } else if w.starts_with('.') {
        (dot, w)
    } else {
        return Err(format!("function `{w}` not defined"));
    };
    let mut v = base;
    let mut seen = String::new();
    for field in path.split('.').filter(|f| !f.is_empty()) {
        v = match v {
            Value::Object(m) => m.get(field).ok_or_else(|| {
                let at = if seen.is_empty() {
                    ".".to_string()
                } else {
                    seen.clone()
                };
                format!("no field `{field}` in `{at}`")
            })?,
            Value::Null => return Ok(Value::Null),
            _ => return Err(format!("`{seen}` has no fields (looking for `{field}`)")),
        };
        seen.push('.');
        seen.push_str(field);
    }
    Ok(v.clone())
}

/// Words of an action; quoted strings stay whole (quotes kept), `|` is a word.
fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '`' => {
                cur.push(c);
                loop {
                    let d = chars
                        .next()
                        .ok_or_else(|| format!("unterminated string in `{s}`"))?;
                    cur.push(d);
                    if d == '\\' && c == '"' {
                        cur.push(chars.next().unwrap_or('\\'));
                    } else if d == c {
                        break;
                    }
                }
            }
            '|' => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                out.push("|".into());
            }
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            '(' | ')' => return Err(format!("parentheses are not supported in `{s}`")),
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

/// A value as Go's template prints it.
pub fn show(v: &Value) -> String {
    match v {
        Value::Null => "<no value>".into(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => format!("[{}]", a.iter().map(show).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => {
            let mut kv: Vec<_> = m.iter().collect();
            kv.sort_by(|a, b| a.0.cmp(b.0));
            let body: Vec<String> = kv.iter().map(|(k, v)| format!("{k}:{}", show(v))).collect();
            format!("map[{}]", body.join(" "))
        }
    }
}

/// `--format` of the observing verbs: `json` (pretty JSON, as docker's), else a template.
pub fn format(fmt: &str, v: &Value) -> Result<String, String> {
    if fmt == "json" {
        return Ok(serde_json::to_string_pretty(v).unwrap_or_default());
    }
    Template::parse(fmt)?.render(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(t: &str, v: &Value) -> String {
        Template::parse(t).and_then(|t| t.render(v)).unwrap()
    }

    fn err(t: &str, v: &Value) -> String {
        Template::parse(t).and_then(|t| t.render(v)).unwrap_err()
    }

    fn doc() -> Value {
        json!({
            "Name": "web",
            "State": {"Pid": 42, "Status": "running", "ExitCode": 0, "OOMKilled": false, "Running": true},
            "NetworkSettings": {"IPAddress": "10.0.0.2", "Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}},
            "Config": {"Env": ["A=1", "B=2"], "Cmd": ["sleep", "100"], "Image": "alpine", "Labels": {}},
            "Nothing": null
        })
    }

    #[test]
    fn fields_as_docker_prints_them() {
        let d = doc();
        assert_eq!(r("{{.State.Pid}}", &d), "42");
        assert_eq!(r("{{.NetworkSettings.IPAddress}}", &d), "10.0.0.2");
        assert_eq!(
            r("{{.Name}} {{.State.Status}} {{.State.ExitCode}}", &d),
            "web running 0"
        );
        assert_eq!(
            r("{{.State.OOMKilled}}/{{.State.Running}}", &d),
            "false/true"
        );
        assert_eq!(r("{{.Config.Cmd}}", &d), "[sleep 100]");
        assert_eq!(r("{{.Config.Labels}}", &d), "map[]");
        assert_eq!(r("{{.Nothing}}", &d), "<no value>");
        assert_eq!(
            r("{{.State}}", &d),
            "map[ExitCode:0 OOMKilled:false Pid:42 Running:true Status:running]"
        );
        assert_eq!(r("pid={{ .State.Pid }}\n", &d), "pid=42\n");
        assert_eq!(r("{{.}}", &json!("x")), "x");
    }

    #[test]
    fn json_index_and_pipes() {
        let d = doc();
        assert_eq!(
            r("{{json .Config}}", &d),
            r#"{"Cmd":["sleep","100"],"Env":["A=1","B=2"],"Image":"alpine","Labels":{}}"#
        );
        assert_eq!(r("{{.Config.Env | json}}", &d), r#"["A=1","B=2"]"#);
        assert_eq!(r("{{index .Config.Env 1}}", &d), "B=2");
        assert!(err("{{(index .Config.Env 1)}}", &d).contains("parentheses"));
        assert_eq!(
            r(r#"{{index .NetworkSettings.Ports "80/tcp" 0 | json}}"#, &d),
            r#"{"HostIp":"0.0.0.0","HostPort":"8080"}"#
        );
        assert_eq!(r(r#"{{join .Config.Env ","}}"#, &d), "A=1,B=2");
        assert_eq!(
            r("{{len .Config.Env}} {{upper .State.Status}}", &d),
            "2 RUNNING"
        );
    }

    #[test]
    fn range_if_and_variables() {
        let d = doc();
        assert_eq!(r("{{range .Config.Env}}[{{.}}]{{end}}", &d), "[A=1][B=2]");
        assert_eq!(
            r(
                "{{range $p, $b := .NetworkSettings.Ports}}{{$p}} -> {{index $b 0 | json}}{{end}}",
                &d
            ),
            r#"80/tcp -> {"HostIp":"0.0.0.0","HostPort":"8080"}"#
        );
        assert_eq!(
            r("{{range $i, $e := .Config.Cmd}}{{$i}}={{$e}};{{end}}", &d),
            "0=sleep;1=100;"
        );
        assert_eq!(
            r("{{range .Config.Labels}}x{{else}}none{{end}}", &d),
            "none"
        );
        assert_eq!(r("{{if .State.Running}}up{{else}}down{{end}}", &d), "up");
        assert_eq!(r("{{if .State.ExitCode}}bad{{end}}ok", &d), "ok");
        assert_eq!(
            r("{{range .Config.Env}}{{$.Name}}:{{.}} {{end}}", &d),
            "web:A=1 web:B=2 "
        );
        assert_eq!(r("a  {{- .Name -}}  b", &d), "awebb");
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let d = doc();
        assert_eq!(err("{{.State.Nope}}", &d), "no field `Nope` in `.State`");
        assert_eq!(err("{{.Nope}}", &d), "no field `Nope` in `.`");
        assert!(err("{{.Name", &d).contains("no `}}`"));
        assert!(err("{{range .Config.Env}}x", &d).contains("without `{{end}}`"));
        assert!(err("{{end}}", &d).contains("unexpected"));
        assert!(err("{{frob .Name}}", &d).contains("function `frob` not defined"));
        assert!(err("{{$x}}", &d).contains("undefined variable `$x`"));
        assert!(err("{{json .A .B}}", &json!({"A": 1, "B": 2})).contains("wants 1"));
        assert!(err("{{range .Name}}{{end}}", &d).contains("not a list"));
        assert!(err("{{with .Name}}{{end}}", &d).contains("not supported"));
    }

    #[test]
    fn json_format_is_pretty_json() {
        assert_eq!(
            format("json", &json!({"a": 1})).unwrap(),
            "{\n  \"a\": 1\n}"
        );
        assert_eq!(format("{{.a}}", &json!({"a": 1})).unwrap(), "1");
    }
}

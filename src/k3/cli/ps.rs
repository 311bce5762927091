//! `k3 ps` / `k3 ls` (`-a`, `-q`, `-f KEY=VALUE`, `--format table|json|TEMPLATE`):
//! docker's columns (CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS, PORTS, NAMES)
//! and filters, the same whether the rows come from the database or the daemon.

use clap::{Args, ValueEnum};

use crate::cli::template::Template;
use crate::cli::{print_json, Failure};
use k3_engine::container::filter::{state_word, PsFilter};
use k3_engine::container::list::{self, Summary};
use k3_engine::container::when::human_duration;
use k3_engine::context::Engine;

/// Output format of a listing.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    /// A table for people
    Table,
    /// JSON
    Json,
}

/// `k3 ps` arguments.
#[derive(Args, Debug)]
pub struct PsArgs {
    /// Show stopped containers too
    #[arg(long, short = 'a')]
    pub all: bool,
    /// Print container ids only
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// `table`, `json`, or a Go template per container (`{{.ID}} {{.Status}}`;
    /// fields ID, Image, Command, CreatedAt, RunningFor, Status, State, Ports, Names)
    #[arg(long, default_value = "table", allow_hyphen_values = true, value_parser = ps_format)]
    pub format: String,
    /// Keep only matching containers (repeatable; docker's keys: `label=KEY[=VALUE]`,
    /// `name=REGEX`, `id=REGEX`, `status=created|running|paused|exited`,
    /// `ancestor=IMAGE`, `exited=CODE`; one key's values OR-ed, except `label`'s,
    /// different keys AND-ed; `status` also looks at stopped containers)
    #[arg(long, short = 'f', value_name = "KEY=VALUE")]
    pub filter: Vec<String>,
}

/// The parsed `--filter`s, or the failure naming the bad one.
pub fn filters(a: &PsArgs) -> Result<PsFilter, Failure> {
    PsFilter::parse(&a.filter).map_err(|e| Failure {
        error: Box::new(k3_engine::container::ContainerError::from(e).into()),
        json: a.format == "json",
        input: serde_json::json!(a.filter),
        container_id: None,
    })
}

/// `table`, `json`, or a template that parses and has an action (`yaml` is a typo,
/// not a template printing `yaml` per row).
fn ps_format(s: &str) -> Result<String, String> {
    if s == "table" || s == "json" {
        return Ok(s.to_string());
    }
    if !s.contains("{{") {
        return Err("want `table`, `json` or a Go template such as `{{.ID}}`".into());
    }
    Template::parse(s).map(|_| s.to_string())
}

/// `k3 ps`.
pub fn run(ctx: &mut Engine, a: PsArgs) -> Result<i32, Failure> {
    let filter = filters(&a)?;
    let all = list::list_filtered(ctx, a.all, &filter).map_err(|e| Failure {
        error: Box::new(e.into()),
        json: a.format == "json",
        input: serde_json::Value::Null,
        container_id: None,
    })?;
    print(&a, &all, k3_engine::db::now())
}

/// Prints `rows` as `a` asks (also for the rows the daemon sent).
pub fn print(a: &PsArgs, rows: &[Summary], now: i64) -> Result<i32, Failure> {
    if a.quiet {
        rows.iter().for_each(|c| println!("{}", c.id));
        return Ok(0);
    }
    match a.format.as_str() {
        "json" => print_json(&rows),
        "table" => print!("{}", table(rows, now)),
        t => {
            let tpl = Template::parse(t).map_err(|e| bad_format(t, e))?;
            for r in rows {
                let line = tpl
                    .render(&docker_row(r, now))
                    .map_err(|e| bad_format(t, e))?;
                println!("{line}");
            }
        }
    }
    Ok(0)
}

fn bad_format(t: &str, why: String) -> Failure {
    Failure {
        error: Box::new(
            k3_engine::container::ContainerError::from(k3_engine::options::OptionsError {
                option: "format",
                value: t.to_string(),
                reason: why,
            })
            .into(),
        ),
        json: false,
        input: serde_json::json!(t),
        container_id: None,
    }
}

/// docker's COMMAND cell: quoted, cut at 20 characters with `…`.
fn command_cell(cmd: &str) -> String {
    let n = cmd.chars().count();
    if n > 20 {
        format!("\"{}…\"", cmd.chars().take(19).collect::<String>())
    } else {
        format!("\"{cmd}\"")
    }
}

/// The fields a `--format` template sees, with docker's names.
pub fn docker_row(r: &Summary, now: i64) -> serde_json::Value {
    let state = state_word(r);
    serde_json::json!({
        "ID": r.id,
        "Image": r.image,
        "Command": command_cell(&r.command),
        "CreatedAt": k3_oci::time::format_rfc3339(r.created_at, 0),
        "RunningFor": format!("{} ago", human_duration(now - r.created_at)),
        "Status": r.status_text(now),
        "State": state,
        "Ports": r.port_text,
        "Names": r.name,
    })
}

/// The table: docker's columns, each as wide as its widest cell plus three spaces.
pub fn table(rows: &[Summary], now: i64) -> String {
    let head = [
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.image.clone(),
                command_cell(&r.command),
                format!("{} ago", human_duration(now - r.created_at)),
                r.status_text(now),
                r.port_text.clone(),
                r.name.clone(),
            ]
        })
        .collect();
    tabulate(&head, &cells)
}

/// Left-aligned columns separated by three spaces (the last one unpadded).
pub fn tabulate(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut width: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            s.push_str(c);
            if i < last {
                s.push_str(&" ".repeat(width[i] - c.chars().count() + 3));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(head.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use k3_engine::db::container_state::Status;

    fn row(status: Status) -> Summary {
        Summary {
            id: "web".into(),
            name: "web".into(),
            image: "alpine".into(),
            command: "sleep 1000".into(),
            status,
            pid: None,
            exit_code: Some(0),
            created_at: 1000,
            started_at: Some(1000),
            stopped_at: Some(1100),
            ip: None,
            ports: vec![],
            paused: false,
            port_text: "0.0.0.0:8080->80/tcp".into(),
            restart_count: 0,
            labels: Default::default(),
            image_id: String::new(),
        }
    }

    #[test]
    fn docker_columns_and_wording() {
        let t = table(
            &[
                row(Status::Running),
                row(Status::Stopped),
                row(Status::Created),
            ],
            1003 + 120,
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[0],
            "CONTAINER ID   IMAGE    COMMAND        CREATED         STATUS                      PORTS                  NAMES"
        );
        assert_eq!(
            lines[1],
            "web            alpine   \"sleep 1000\"   2 minutes ago   Up 2 minutes                0.0.0.0:8080->80/tcp   web"
        );
        assert!(
            lines[2].contains("   Exited (0) 23 seconds ago   "),
            "{}",
            lines[2]
        );
        assert!(lines[3].contains("   Created   "), "{}", lines[3]);
    }

    #[test]
    fn long_commands_are_cut_as_docker_cuts_them() {
        assert_eq!(
            command_cell("sh -c 'sleep 1000; echo done'"),
            "\"sh -c 'sleep 1000; …\""
        );
        assert_eq!(command_cell("true"), "\"true\"");
    }

    #[test]
    fn template_rows() {
        let mut r = row(Status::Running);
        r.paused = true;
        let v = docker_row(&r, 1003);
        assert_eq!(v["Status"], "Up 3 seconds (Paused)");
        assert_eq!(v["State"], "paused");
        assert_eq!(v["RunningFor"], "3 seconds ago");
        let t = Template::parse("{{.Names}} {{.Ports}}").unwrap();
        assert_eq!(t.render(&v).unwrap(), "web 0.0.0.0:8080->80/tcp");
    }
}

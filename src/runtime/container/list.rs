//! `list`: every container under the root, as a table, JSON, or ids only.

use crate::container::state::{view, StateView};
use crate::container::GlobalFlags;
use crate::error::OutputError;
use crate::statedir::{list_ids, ContainerDir};
use crate::Result;

/// Output shapes of `list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns, as runc prints them.
    Table,
    /// A JSON array of states.
    Json,
    /// Ids only, one a line.
    Quiet,
}

/// Views of every readable container.
pub fn views(ctx: &GlobalFlags) -> Result<Vec<StateView>> {
    let mut out = Vec::new();
    for id in list_ids(&ctx.root)? {
        let dir = ContainerDir::new(&ctx.root, &id);
        if let Ok(st) = dir.load() {
            out.push(view(&dir, &st));
        }
    }
    Ok(out)
}

/// `k3rt list` rendered.
pub fn list(ctx: &GlobalFlags, format: Format) -> Result<String> {
    let vs = views(ctx)?;
    Ok(match format {
        Format::Json => serde_json::to_string(&vs).map_err(|source| OutputError::Encode {
            what: "list",
            source,
        })?,
        Format::Quiet => vs.iter().map(|v| format!("{}\n", v.id)).collect(),
        Format::Table => render_table(&vs),
    })
}

fn render_table(vs: &[StateView]) -> String {
    let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
        .map(String::from)
        .to_vec()];
    for v in vs {
        rows.push(vec![
            v.id.clone(),
            v.pid.to_string(),
            v.status.to_string(),
            v.bundle.display().to_string(),
            v.created.clone(),
            v.owner.clone(),
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    rows.iter()
        .map(|r| {
            let cells: Vec<String> = r
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            format!("{}\n", cells.join("   ").trim_end())
        })
        .collect()
}

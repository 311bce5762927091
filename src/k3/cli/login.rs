//! `k3 login` and `k3 logout`: credentials in the file k3 reads when it
//! pulls and pushes (docker's `config.json` shape; `--auth-file`,
//! `K3_AUTH_FILE`, default `ROOT/auth.json`).

use std::io::{BufRead, IsTerminal, Write};

use clap::Args;

use crate::cli::globals::{other, pull_options, Failure, Globals, Root};
use k3_engine::image::auth::{self, Credentials};
use k3_engine::image::pull;
use k3_engine::image::reference;
use k3_engine::image::registry::Registry;

/// `k3 login` arguments.
#[derive(Args, Debug)]
pub struct LoginArgs {
    /// User name (asked on the terminal when left out).
    #[arg(long, short)]
    pub username: Option<String>,
    /// Password (visible in `ps`: prefer `--password-stdin`).
    #[arg(long, short, conflicts_with = "password_stdin")]
    pub password: Option<String>,
    /// Read the password from stdin.
    #[arg(long)]
    pub password_stdin: bool,
    /// The registry (`HOST[:PORT]`); the default registry if left out.
    pub registry: Option<String>,
}

/// `k3 logout` arguments.
#[derive(Args, Debug)]
pub struct LogoutArgs {
    /// The registry (`HOST[:PORT]`); the default registry if left out.
    pub registry: Option<String>,
}

/// `HOST[:PORT]` as a registry: a scheme and trailing `/` are dropped.
fn registry_host(ctx: &Root, given: Option<&str>) -> Result<String, Failure> {
    let raw = given.unwrap_or(&ctx.default_registry);
    let host = raw
        .strip_prefix("https://")
        .or_else(|| raw.strip_prefix("http://"))
        .unwrap_or(raw)
        .trim_end_matches('/');
    if host.is_empty() || host.contains('/') || host.contains('@') {
        return Err(other(anyhow::anyhow!(
            "invalid registry `{raw}`: use `HOST[:PORT]`"
        )));
    }
    Ok(host.to_string())
}

fn ask(prompt: &str) -> Result<String, Failure> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(other(anyhow::anyhow!(
            "{prompt} missing: give `--username`/`--password-stdin` when stdin is not a terminal"
        )));
    }
    eprint!("{prompt}: ");
    std::io::stderr().flush().map_err(other)?;
    let mut line = String::new();
    stdin.lock().read_line(&mut line).map_err(other)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// `k3 login`.
pub fn login(ctx: &Root, cli: &Globals, a: &LoginArgs) -> Result<(), Failure> {
    let host = registry_host(ctx, a.registry.as_deref())?;
    let username = match &a.username {
        Some(u) => u.clone(),
        None => ask("Username")?,
    };
    let password = if a.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(other)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        match &a.password {
            Some(p) => p.clone(),
            None => ask("Password")?,
        }
    };
    if username.is_empty() || password.is_empty() {
        return Err(other(anyhow::anyhow!(
            "invalid credentials: the username and the password must not be empty"
        )));
    }
    let opts = pull_options(ctx, cli);
    let r = reference::parse(&format!("{host}/k3-login"), &ctx.default_registry)
        .map_err(|e| other(anyhow::anyhow!(e).context(format!("invalid registry `{host}`"))))?;
    let creds = Credentials { username, password };
    Registry::new(pull::endpoint(&r, "", &opts), Some(creds.clone()))
        .check_login()
        .map_err(|e| other(anyhow::anyhow!(e).context(format!("login to `{host}` failed"))))?;
    auth::save_credentials(&opts.auth_file, &host, &creds).map_err(other)?;
    println!("Login Succeeded!");
    Ok(())
}

/// `k3 logout`.
pub fn logout(ctx: &Root, cli: &Globals, a: &LogoutArgs) -> Result<(), Failure> {
    let host = registry_host(ctx, a.registry.as_deref())?;
    let opts = pull_options(ctx, cli);
    auth::remove_credentials(&opts.auth_file, &host).map_err(other)?;
    println!("Removed login credentials for {host}");
    Ok(())
}

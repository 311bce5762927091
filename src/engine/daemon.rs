//! `k3 serve`: the daemon. Blocks SIGINT/SIGTERM before any thread starts,
//! reconciles the records with reality (after a crash), starts the
//! listeners, the restart supervisor and the webhook deliverer, then waits
//! for a signal and runs seed 001's shutdown (a second signal forces it).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{SigSet, Signal};

use crate::api::server::{self, ServerError};
use crate::api::session::{self, Sessions};
use crate::container::ContainerError;
use crate::error::{chain_message, EngineError};
use crate::supervisor::{restart, shutdown, webhooks, DaemonConfig, Shared};

/// Where the daemon listens.
#[derive(Debug, Clone)]
pub struct Listen {
    /// The unix socket the API listens on.
    pub socket: PathBuf,
    /// `127.0.0.1:PORT`.
    pub tcp: Option<String>,
    /// Required on TCP.
    pub token: Option<String>,
    /// How long a browser session lives, seconds.
    pub session_ttl: u64,
}

/// Why the daemon could not run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The API server failed.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// The engine could not be opened.
    #[error(transparent)]
    Engine(#[from] Box<EngineError>),
    /// A container operation at startup or shutdown failed.
    #[error(transparent)]
    Container(#[from] ContainerError),
    /// TCP without a token.
    #[error("`--listen {0}` needs `--token-file`")]
    NoToken(String),
    /// No session secret could be made.
    #[error("cannot read /dev/urandom for the login token")]
    Random(#[source] std::io::Error),
    /// Signal setup failed.
    #[error("cannot block signals")]
    Signals(#[source] nix::Error),
}

/// The default socket: `/run/k3/k3.sock` for the default root, else
/// `ROOT/k3.sock` (private roots get private daemons).
pub fn default_socket(root: &Path, default_root: &Path) -> PathBuf {
    if root == default_root {
        PathBuf::from("/run/k3/k3.sock")
    } else {
        root.join("k3.sock")
    }
}

fn signals() -> Result<SigSet, DaemonError> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    set.thread_block().map_err(DaemonError::Signals)?;
    // SAFETY: ignoring SIGPIPE process-wide: a client that goes away must
    // end its stream with EPIPE, not end the daemon.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    Ok(set)
}

fn spawn_signal_thread(set: SigSet, shared: Arc<Shared>, tx: std::sync::mpsc::Sender<()>) {
    std::thread::spawn(move || loop {
        if let Ok(sig) = set.wait() {
            eprintln!(
                "k3 serve: {sig}: shutting down{}",
                if shared.stopping() { " now" } else { "" }
            );
            shared.request_stop();
            let _ = tx.send(());
        }
    });
}

/// Prints where the dashboard is: over TCP the one-time login URL (a
/// browser exchanges it for a session cookie), else the unix socket.
fn print_dashboard(socket: &Path, base: Option<&str>, sessions: Option<&Sessions>) {
    match (base, sessions.and_then(Sessions::one_time)) {
        (Some(b), Some(once)) => {
            eprintln!("k3 serve: dashboard: {b}/?token={once} (one-time login URL; then {b}/login with the token file's token)")
        }
        _ => eprintln!(
            "k3 serve: dashboard: over the unix socket: curl --unix-socket {} http://k3/",
            socket.display()
        ),
    }
}

/// Runs the daemon until a signal; returns after the shutdown.
pub fn run(cfg: DaemonConfig, listen: Listen) -> Result<(), DaemonError> {
    let set = signals()?;
    if let (Some(addr), None) = (&listen.tcp, &listen.token) {
        return Err(DaemonError::NoToken(addr.clone()));
    }
    let shared = Arc::new(Shared::new(cfg));
    let mut ctx = shared.cfg.ctx().map_err(Box::new)?;
    let changed = shutdown::reconcile(&mut ctx)?;
    eprintln!(
        "k3 serve: reconciled {} container(s): {}",
        changed.len(),
        changed.join(" ")
    );
    let unix = Arc::new(server::bind_unix(&listen.socket)?);
    let tcp = match &listen.tcp {
        Some(a) => Some(Arc::new(server::bind_tcp(a)?)),
        None => None,
    };
    let sessions = match &listen.token {
        Some(t) => Some(Arc::new(Sessions::new(
            t.clone(),
            listen.session_ttl,
            session::random_id().map_err(DaemonError::Random)?,
        ))),
        None => None,
    };
    let (tx, rx) = std::sync::mpsc::channel();
    spawn_signal_thread(set, Arc::clone(&shared), tx);
    let mut threads = Vec::new();
    for (srv, gate) in [
        (Some(Arc::clone(&unix)), None),
        (tcp.clone(), sessions.clone()),
    ] {
        if let Some(srv) = srv {
            let sh = Arc::clone(&shared);
            threads.push(std::thread::spawn(move || server::serve(srv, sh, gate)));
        }
    }
    let sh = Arc::clone(&shared);
    let sup = std::thread::spawn(move || restart::run(&sh));
    let sh = Arc::clone(&shared);
    let hooks = std::thread::spawn(move || webhooks::run(&sh));
    let base = tcp.as_deref().and_then(server::base_url);
    eprintln!(
        "k3 serve: listening on {}{}",
        listen.socket.display(),
        base.as_ref().map_or(String::new(), |b| format!(" and {b}"))
    );
    print_dashboard(&listen.socket, base.as_deref(), sessions.as_deref());
    let _ = rx.recv();
    let _ = sup.join();
    match shutdown::shutdown(&mut ctx, &shared) {
        Ok(r) => eprintln!(
            "k3 serve: stopped: SIGTERM to {:?}, SIGKILL to {:?}",
            r.termed, r.killed
        ),
        Err(e) => eprintln!("k3 serve: shutdown: {}", chain_message(&e)),
    }
    unix.unblock();
    if let Some(t) = &tcp {
        t.unblock();
    }
    for t in threads {
        let _ = t.join();
    }
    let _ = hooks.join();
    let _ = std::fs::remove_file(&listen.socket);
    std::thread::sleep(Duration::from_millis(10));
    eprintln!("k3 serve: bye");
    Ok(())
}

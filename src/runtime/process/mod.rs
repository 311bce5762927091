//! Making the container init: the parent↔child channel, the clone (with an
//! intermediate process when namespaces are joined), and the init sequence that
//! runs inside the new namespaces until the user's program is exec'd.

pub mod channel;
pub mod exec;
pub mod finish;
pub mod init;
pub mod join;
pub mod reaper;
pub mod spawn;
pub mod tty;

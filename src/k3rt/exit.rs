//! Exit codes: what k3rt itself exits with for a container's status.

/// A process's exit status as this process's exit code (0..=255).
pub fn exit_code(status: i32) -> u8 {
    u8::try_from(status.clamp(0, 255)).unwrap_or(u8::MAX)
}

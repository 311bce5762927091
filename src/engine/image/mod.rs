//! Images: reference parsing, the registry client (distribution protocol),
//! manifests, safe layer unpacking and the pull that ties them up.

pub mod archive;
pub mod auth;
pub mod filter;
pub mod glob;
pub mod layer;
pub mod manifest;
pub mod progress;
pub mod pull;
pub mod push;
pub mod reference;
pub mod registry;
pub mod unpack;

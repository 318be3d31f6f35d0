//! The API tests' kit: the workspace's test kit (`cvat-testkit`: the real server on a free port,
//! requests, users, shapes), re-exported so every module can `use crate::common::*`.

pub use cvat_testkit::*;

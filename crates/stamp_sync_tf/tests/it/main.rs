//! The integration tests of stamp_sync_tf.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod tf_buffer;
mod tf_differential;
mod tf_filter;

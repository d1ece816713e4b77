"""rclpy's own message_filters tests, unchanged, with `message_filters`
resolving to stamp_sync.message_filters."""

import sys

import stamp_sync.message_filters

sys.modules["message_filters"] = stamp_sync.message_filters

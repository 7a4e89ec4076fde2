"""The analytics pages: dashboard, one post's history, connections, tracked URLs, notes."""

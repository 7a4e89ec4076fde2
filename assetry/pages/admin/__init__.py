"""The admin area under /admin: one module per page, each with its own state."""

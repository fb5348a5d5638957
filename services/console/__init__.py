"""The operators' and auditors' web console: the log live, any order's timeline across the four
services, the pipeline's health with its dead letters, and the refunds and claims waiting.
Server-rendered HTML with htmx (vendored in ``static/``), built on the log, never on a copy."""

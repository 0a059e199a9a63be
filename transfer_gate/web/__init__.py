"""HTTP layer: the JSON API, problem documents and (later) the officer and auditor pages."""

"""Cross-cutting infrastructure with no clinic domain in it: rate limits, lockout, the
client's address, session lifetime and storage, log filters, error pages, constraint
messages, raw rows, no-store caching, static finders, CSV escaping, username confusables,
the job runner's error log.

It imports Django and third-party packages only, except the two infrastructure tables
whose migrations live in clinic (`RateLimitBucket`, `JobError`). Every app may import it."""

"""The project package: settings, the URLconf that composes the apps, WSGI, environment
readers and deployment checks. It may import every app; no app imports it, except
`dyad.lib`."""

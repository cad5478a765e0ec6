"""The query side: read model, JSON views, HTTP API and dashboard."""

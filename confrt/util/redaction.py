"""The one marker that stands in for a secret in every output confrt writes."""

REDACTED = "[redacted]"

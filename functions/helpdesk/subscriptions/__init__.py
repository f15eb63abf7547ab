"""Outbound webhook subscriptions (model, admin service)."""

"""Messenger, web and phone channels: verification, normalizing, sending."""

"""Telegram handlers: thin functions that read the update, call the domain, render and reply."""

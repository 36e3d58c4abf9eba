"""An offline Telegram Bot API for the tests and the terminal demo (no network at all)."""

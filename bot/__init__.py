"""支书助手: a Telegram assistant for the Party branch secretary of a social organization."""

__version__ = "0.1.0"

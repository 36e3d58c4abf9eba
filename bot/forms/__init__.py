"""Guided conversations declared as data and run by one engine (see engine.py)."""

from bot.forms.engine import Choice, Form, FormEngine, NotNow, Outcome, Refused, Step, Turn

__all__ = ["Choice", "Form", "FormEngine", "NotNow", "Outcome", "Refused", "Step", "Turn"]

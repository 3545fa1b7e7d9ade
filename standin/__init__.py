"""Local stand-ins of the chat platforms, so the bot runs end to end without a network."""

from standin.telegram import FakeTelegram, SentMessage, Upload

__all__ = ["FakeTelegram", "SentMessage", "Upload"]

"""The command layer: every command, menu and form step declared once for every channel.

Transport adapters (``handlers`` for Telegram, ``zalo``) → this layer → ``domain`` → ``storage``.
"""

"""The Zalo adapter: the same domain services as the Telegram handlers, over the Zalo Bot API.

Zalo has no buttons, edits or callback queries: choices are numbered and typed back. Nothing
here imports ``telegram``.
"""

CHANNEL = "zalo"

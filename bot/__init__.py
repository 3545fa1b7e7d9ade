"""Wiring of vstbpn-bot: settings, the Telegram application, the CLI and the demo."""

"""Telegram adapter: parse an update, call one domain service, render one translated reply."""

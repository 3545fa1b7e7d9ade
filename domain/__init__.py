"""Domain services: registration, units, forms, calendar, reminders, broadcasts.

Nothing here imports a chat transport (``telegram``): a channel is an adapter on top.
"""

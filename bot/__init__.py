"""Indaba: the engine of a chat bot for Communities of Practice."""

"""Inventory: one single-writer virtual actor per product owns its stock."""

"""Orders: one single-writer virtual actor per order drives the order state machine."""

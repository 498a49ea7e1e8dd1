"""Pure domain pieces shared by every layer: no I/O imports here."""

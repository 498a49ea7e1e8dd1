"""Identity and access: accounts, passwords, tokens, roles."""

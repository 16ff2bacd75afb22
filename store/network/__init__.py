"""The network: units, collection points (their codes, tokens, scans, bulk import), staff
accounts, members and informants, topic calls (选题)."""

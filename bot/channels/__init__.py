"""Messaging channels, one folder each, behind the interface the lead's restructure defines."""

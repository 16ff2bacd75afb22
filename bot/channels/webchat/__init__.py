"""The web chat channel: visitors talk in the browser (`web/chat.py` turns their requests into
`Inbound`); console feedback reaches them as a line of their transcript (`channel`)."""

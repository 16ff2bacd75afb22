"""What goes out: the outbox of messages owed to reporters and staff, staff notices, the web
chat's transcript. Sending itself is each channel's (bot/channels/)."""

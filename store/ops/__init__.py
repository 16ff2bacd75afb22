"""Running minyi: what is being handled now (`logctx`, for the log lines), the figures health
checks and metrics read (`health`), and whole-instance backup and restore (`backup`)."""

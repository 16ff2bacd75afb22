"""The channel-neutral conversation engine."""

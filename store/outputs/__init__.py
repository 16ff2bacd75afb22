"""What the office produces: journal issues, reporting upward, statistics, posters."""

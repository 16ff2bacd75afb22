"""Handling after intake: the review chain (初审 → 审核 → 审定), decline templates, transfers to
departments (转办, 督办) and leaders' instructions (批示)."""

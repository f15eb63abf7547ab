"""Search without a search cluster: a token index kept in the table (see store/search_tokens.py)."""

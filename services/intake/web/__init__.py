"""The employer web platform: pages served by intake on its own port, over the same use cases
as the HTTP API."""

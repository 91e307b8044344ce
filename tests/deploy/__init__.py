"""Tests of deploy/local and of the shared infrastructure fixtures."""
